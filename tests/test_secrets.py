"""Issue #9 §5: no password leaves through a DSN split, a usage error, pqopt, or a crash of the
CLI; and a MySQL password is sent as UTF-8, so non-ASCII passwords log in."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from cli_helpers import run_cli

from pooltui.core.errors import BadInput, redact
from pooltui.core.export import to_python, to_toml
from pooltui.core.profiles import Profile, dsn_has_password, load_profile, strip_password
from pooltui.core.targets import dsn_secrets, parse_dsn

REPO = Path(__file__).resolve().parents[1]


# --- an unencoded '?' in the password ---------------------------------------------------------


def test_an_unencoded_question_mark_stays_in_the_password() -> None:
    dsn = "postgresql://app:hunter2?x@127.0.0.1/db"
    target = parse_dsn(dsn)
    assert (target.host, target.user, target.database) == ("127.0.0.1", "app", "db")
    assert target.secrets() == ("hunter2?x",)
    for text in (target.redacted, strip_password(dsn), repr(target)):
        assert "hunter2" not in text
    assert dsn_has_password(dsn)


def test_an_at_sign_in_a_query_value_is_not_a_password() -> None:
    target = parse_dsn("postgresql://app@127.0.0.1:5432/db?application_name=me@laptop")
    assert (target.host, target.user, target.port) == ("127.0.0.1", "app", 5432)
    assert dict(target._params)["application_name"] == "me@laptop"


def test_a_port_error_never_quotes_the_userinfo() -> None:
    """``user:password/db`` (the '@host' forgotten): the password is where a port would be."""
    for dsn in ("postgresql://app:hunter2/db", "mysql://app:hunter2?x/db"):
        with pytest.raises(BadInput) as info:
            parse_dsn(dsn)
        assert "port" in str(info.value) and "hunter2" not in str(info.value)


# --- argparse echoes what was typed -------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("--dns", "postgresql://app:Echo-Pw1@h/db"),  # top level: invalid choice
        ("--dns=postgresql://app:Echo-Pw1@h/db", "check"),  # unrecognized arguments
        ("bench", "--threads", "postgresql://app:Echo-Pw1@h/db"),  # a subparser's type error
        ("--dns", "postgresql://app:Echo Pw1@h/db"),  # a space: no pattern sees it
        ("--dns", "odbc:Driver={x};PWD={Echo;Pw1}"),
    ],
)
def test_usage_errors_never_echo_a_password(capsys, argv) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == "", err
    assert err.startswith("pooltui: ") and err.count("\n") == 1
    assert "Echo" not in err and "Pw1" not in err


def test_an_internal_error_prints_a_redacted_traceback(tmp_path) -> None:
    """A bug reaching main() is a traceback for the report, never with the password in it."""
    script = (
        "import sys, pooltui.cli as cli\n"
        "def boom(args):\n"
        "    raise ValueError('cannot use ' + args.dsn)\n"
        "cli.COMMANDS['check'] = boom\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, "check", "--dsn", "postgresql://app:Bug-Pw-7@127.0.0.1/db"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ValueError" in result.stderr
    assert "Bug-Pw-7" not in result.stderr


# --- secrets inside an ODBC value (psqlODBC's pqopt) --------------------------------------------


PQOPT_SECRET = "Pq-Secret-42"


def test_pqopt_secrets_are_masked_and_stripped() -> None:
    dsn = (
        f"odbc:Driver={{PostgreSQL Unicode}};Server=h;Uid=u;"
        f"pqopt={{password={PQOPT_SECRET} sslpassword='a b' sslmode=disable}}"
    )
    target = parse_dsn(dsn)
    assert set(target.secrets()) >= {PQOPT_SECRET, "a b"}
    assert "pqopt={password=*** sslpassword=*** sslmode=disable};" in target.redacted
    assert strip_password(dsn).endswith("pqopt={sslmode=disable};")
    assert dsn_has_password(dsn) and PQOPT_SECRET in dsn_secrets(dsn)
    code = target.python_connect_code(target.password_env)
    assert "pqopt's password: add it yourself" in code
    for text in (
        target.redacted,
        strip_password(dsn),
        code,
        repr(target),
        redact(f"failed: {PQOPT_SECRET}", target),
        redact(f"pqopt={{password={PQOPT_SECRET}}}"),
    ):
        assert PQOPT_SECRET not in text and "a b" not in text
    only = "odbc:Driver={PostgreSQL Unicode};Server=h;pqopt={password=x};"
    assert strip_password(only) == "odbc:Driver={PostgreSQL Unicode};Server=h;"


def test_pqopt_password_is_not_shown_by_check_nor_exported(capsys, tmp_path, odbc_pg_dsn) -> None:
    dsn = odbc_pg_dsn + f"pqopt={{password={PQOPT_SECRET}}};"
    code, out, err = run_cli(capsys, "check", "--dsn", dsn)
    assert code == 0, err
    assert "PostgreSQL" in out and "pqopt={password=***}" in out
    profile = tmp_path / "p.toml"
    code, _, err = run_cli(capsys, "export", "--dsn", dsn, "--format", "toml", "-o", str(profile))
    assert code == 0, err
    code, python, err = run_cli(capsys, "export", "--dsn", dsn, "--format", "python")
    assert code == 0, err
    for text in (
        out,
        err,
        python,
        profile.read_text(encoding="utf-8"),
        to_toml(Profile(name="p", dsn=dsn)),
        to_python(parse_dsn(dsn), Profile("p").pool),
    ):
        assert PQOPT_SECRET not in text
    assert load_profile(profile).dsn == odbc_pg_dsn  # the profile loads back, secret-free


# --- a MySQL password that is not latin-1 -------------------------------------------------------


UTF8_USER, UTF8_PASSWORD = "pooltui_utf8", "pässwörd€"


@pytest.fixture
def utf8_mysql_user(mysql_dsn: str) -> Iterator[str]:
    """A real MariaDB user whose password needs UTF-8; dropped again whatever happens."""
    import pymysql

    admin = pymysql.connect(
        host="127.0.0.1",
        port=3306,
        user="root",
        database="test",
        charset="utf8mb4",
        autocommit=True,
    )
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP USER IF EXISTS '{UTF8_USER}'@'127.0.0.1'")
            cursor.execute(
                f"CREATE USER '{UTF8_USER}'@'127.0.0.1' IDENTIFIED BY %s", (UTF8_PASSWORD,)
            )
            cursor.execute(f"GRANT SELECT ON test.* TO '{UTF8_USER}'@'127.0.0.1'")
        yield f"mysql://{UTF8_USER}@127.0.0.1:3306/test"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP USER IF EXISTS '{UTF8_USER}'@'127.0.0.1'")
        admin.close()


def test_a_non_ascii_mysql_password_logs_in(utf8_mysql_user, monkeypatch, tmp_path) -> None:
    in_dsn = utf8_mysql_user.replace("@", ":" + quote(UTF8_PASSWORD, safe="") + "@", 1)
    monkeypatch.setenv("MYSQL_PWD", UTF8_PASSWORD)
    for target in (
        parse_dsn(in_dsn),
        parse_dsn(utf8_mysql_user, password=UTF8_PASSWORD),
        parse_dsn(utf8_mysql_user),
    ):
        con = target.connect()
        try:
            cursor = con.cursor()
            cursor.execute("SELECT CURRENT_USER()")
            assert cursor.fetchone()[0] == f"{UTF8_USER}@127.0.0.1"
        finally:
            con.close()
    # the exported code logs in the same way, with the password from the environment
    script = tmp_path / "exported.py"
    script.write_text(to_python(parse_dsn(utf8_mysql_user), Profile("p").pool), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "MYSQL_PWD": UTF8_PASSWORD},
    )
    assert result.returncode == 0, result.stderr
    assert "pool works: (1,)" in result.stdout
