"""DSN parsing, redaction, driver facts, connecting for real, exported connect code, the demo."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest
from db_helpers import scalar, unique_tag

from pooltui.core.errors import BadInput, CannotConnect, redact
from pooltui.core.targets import FORMS, Target, demo_target, driver_facts, parse_dsn

SECRET = "s3cr3t-Pw"  # a password no server here accepts or echoes


@pytest.fixture(autouse=True)
def _no_password_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PGPASSWORD", "MYSQL_PWD", "POOLTUI_ODBC_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def _no_secret(target: Target, *texts: str, secret: str = SECRET) -> None:
    for text in (repr(target), str(target), target.redacted, *texts):
        assert secret not in text


# --- the four forms --------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "POSTGRESQL"])
def test_postgresql_url(scheme: str) -> None:
    target = parse_dsn(f"{scheme}://app@db.example:6432/shop")
    assert (target.kind, target.backend, target.facts.module_name) == (
        "postgresql",
        "postgresql",
        "psycopg",
    )
    assert (target.host, target.port, target.user, target.database) == (
        "db.example",
        6432,
        "app",
        "shop",
    )
    assert target.password_env == "PGPASSWORD"
    kwargs = target.connect_kwargs(None)
    assert {k: kwargs[k] for k in ("host", "port", "dbname", "user")} == {
        "host": "db.example",
        "port": 6432,
        "dbname": "shop",
        "user": "app",
    }
    assert "password" not in kwargs and "application_name" not in kwargs


@pytest.mark.parametrize("scheme", ["mysql", "mariadb"])
def test_mysql_url(scheme: str) -> None:
    target = parse_dsn(f"{scheme}://root@127.0.0.1/test")
    assert (target.kind, target.backend, target.facts.module_name) == ("mysql", "mysql", "pymysql")
    assert (target.port, target.database, target.password_env) == (3306, "test", "MYSQL_PWD")
    assert target.connect_kwargs(None)["database"] == "test"


def test_default_port_and_empty_parts() -> None:
    pg = parse_dsn("postgresql:///test")
    assert (pg.host, pg.port, pg.user, pg.database) == ("", 5432, "", "test")
    assert "host" not in pg.connect_kwargs() and "user" not in pg.connect_kwargs()


def test_percent_decoding() -> None:
    target = parse_dsn(
        "postgresql://us%40er:p%40ss%3Aw%2Fx@%2Fvar%2Frun%2Fpostgresql/my%20db"
        "?application_name=a%20b"
    )
    assert (target.user, target.host, target.database) == ("us@er", "/var/run/postgresql", "my db")
    kwargs = target.connect_kwargs()
    assert kwargs["password"] == "p@ss:w/x" and kwargs["application_name"] == "a b"
    assert "p%40ss" not in target.redacted and ":***@" in target.redacted


def test_mysql_socket_host_becomes_unix_socket() -> None:
    target = parse_dsn("mysql://root@%2Frun%2Fmysqld%2Fmysqld.sock/test")
    assert target.connect_kwargs()["unix_socket"] == "/run/mysqld/mysqld.sock"


def test_ipv6_host() -> None:
    target = parse_dsn("postgresql://u@[::1]:5433/d")
    assert (target.host, target.port) == ("::1", 5433)
    assert "[::1]:5433" in target.redacted


def test_query_params_pass_through_with_types() -> None:
    pg = parse_dsn("postgresql://u@h/d?sslmode=require&connect_timeout=7&options=-c%20x%3D1")
    kwargs = pg.connect_kwargs()
    assert (kwargs["sslmode"], kwargs["connect_timeout"], kwargs["options"]) == (
        "require",
        "7",
        "-c x=1",
    )
    my = parse_dsn("mysql://u@h/d?charset=utf8mb4&read_timeout=2.5&autocommit=true")
    kwargs = my.connect_kwargs()
    assert (kwargs["charset"], kwargs["read_timeout"], kwargs["autocommit"]) == (
        "utf8mb4",
        2.5,
        True,
    )


def test_pg_query_overrides_url_parts() -> None:
    target = parse_dsn("postgresql://u@h:1/d?host=/tmp&port=5544&dbname=other&user=v")
    assert (target.host, target.port, target.database, target.user) == ("/tmp", 5544, "other", "v")


@pytest.mark.parametrize(
    ("dsn", "fragment"),
    [
        ("postgresql://u@h/d?bogus=1", "unknown parameter 'bogus'"),
        ("mysql://u@h/d?sslmode=require", "unknown parameter 'sslmode'"),
        ("postgresql://u@h/d?sslmode=1&sslmode=2", "twice"),
        ("postgresql://u@h/d?sslmode=maybe", "sslmode='maybe'"),
        ("postgresql://u@h/d?connect_timeout=soon", "not a whole number"),
        ("postgresql://u@h:99999/d", "port (after the host's ':') is not a number from 1 to 65535"),
        ("postgresql://u@h:abc/d", "port (after the host's ':') is not a number from 1 to 65535"),
        ("postgresql://u@h/d?port=-5", "port -5"),
        ("postgresql://u@h1:5432,h2:5432/d", "several hosts"),
        ("postgresql://u@[::1/d", "IPv6"),
        ("mysql://u@h/d?charset=klingon", "charset='klingon'"),
        ("mysql://u@h/d?autocommit=perhaps", "autocommit='perhaps'"),
        ("mysql://u@h/d?connect_timeout=0", "connect_timeout='0'"),
        ("postgresql:u@h/d", "postgresql://"),
    ],
)
def test_bad_url_is_bad_input(dsn: str, fragment: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_dsn(dsn)
    assert fragment in str(info.value)
    assert info.value.exit_code == 2


def test_unknown_scheme_names_the_four_forms() -> None:
    for dsn in ("oracle://scott:tiger@h/d", "", "just words"):
        with pytest.raises(BadInput) as info:
            parse_dsn(dsn)
        message = str(info.value)
        assert all(form in message for form in FORMS)
        assert "tiger" not in message
    with pytest.raises(BadInput, match="'oracle'"):
        parse_dsn("oracle://h/d")


def test_secret_query_param_is_masked_even_when_invalid() -> None:
    with pytest.raises(BadInput) as info:
        parse_dsn(f"mysql://u@h/d?ssl_key_password={SECRET}&bogus=1")
    assert SECRET not in str(info.value)


# --- sqlite ----------------------------------------------------------------------------------


def test_sqlite_absolute_and_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absolute = parse_dsn(f"sqlite:///{tmp_path}/a.db")
    assert (absolute.kind, absolute.backend, absolute.database) == (
        "sqlite",
        "sqlite",
        str(tmp_path / "a.db"),
    )
    monkeypatch.chdir(tmp_path)
    relative = parse_dsn("sqlite:///sub/b%20c.db?timeout=2")
    assert relative.database == str(tmp_path / "sub" / "b c.db")
    kwargs = relative.connect_kwargs("ignored-tag")
    assert kwargs["check_same_thread"] is False and kwargs["timeout"] == 2.0
    assert kwargs["uri"] is True and kwargs["database"].endswith("?mode=rw")
    assert relative.password_env == "" and not relative.has_password


@pytest.mark.parametrize(
    ("dsn", "fragment"),
    [
        ("sqlite:///:memory:", "in-memory"),
        ("sqlite:///", "in-memory"),
        ("sqlite://", "three slashes"),
        ("sqlite://host/x.db", "three slashes"),
        ("sqlite:///x.db?cache=shared", "unknown parameter 'cache'"),
        ("sqlite:///x.db?mode=memory", "mode='memory'"),
    ],
)
def test_sqlite_refusals(dsn: str, fragment: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_dsn(dsn)
    assert fragment in str(info.value)


def test_sqlite_connection_works_across_threads(sqlite_dsn: str) -> None:
    target = parse_dsn(sqlite_dsn)
    con = target.connect("tag")
    try:
        assert target.backend_id(con) is None
        seen: list[int] = []
        worker = threading.Thread(
            target=lambda: seen.append(con.execute("SELECT count(*) FROM items").fetchone()[0])
        )
        worker.start()
        worker.join(10)
        assert seen == [20]  # check_same_thread=False: no ProgrammingError in the other thread
    finally:
        con.close()


def test_sqlite_never_creates_a_missing_file(tmp_path: Path) -> None:
    target = parse_dsn(f"sqlite:///{tmp_path}/missing.db")
    with pytest.raises(CannotConnect) as info:
        target.connect()
    assert "cannot be opened" in str(info.value) and str(tmp_path) in str(info.value)
    assert not (tmp_path / "missing.db").exists()


# --- ODBC ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("driver", "backend"),
    [
        ("PostgreSQL Unicode", "postgresql"),
        ("MariaDB Unicode", "mysql"),
        ("MySQL ODBC 8.0 Driver", "mysql"),
        ("SQLite3", "sqlite"),
        ("ODBC Driver 18 for SQL Server", "unknown"),
    ],
)
def test_odbc_backend_from_driver(driver: str, backend: str) -> None:
    target = parse_dsn(f"odbc:Driver={{{driver}}};Server=127.0.0.1;Database=x")
    assert (target.kind, target.backend, target.facts.module_name) == ("odbc", backend, "pyodbc")
    assert target.password_env == "POOLTUI_ODBC_PASSWORD"


def test_odbc_braces_and_escapes() -> None:
    target = parse_dsn(
        "odbc: DRIVER={PostgreSQL Unicode} ; Server=127.0.0.1;Port=5433;"
        "Database={we;ird}}db};UID=joe;PWD={a;b}}c}"
    )
    assert (target.host, target.port, target.database, target.user) == (
        "127.0.0.1",
        5433,
        "we;ird}db",
        "joe",
    )
    kwargs = target.connect_kwargs()
    assert kwargs["Database"] == "{we;ird}}db}" and kwargs["PWD"] == "{a;b}}c}"
    assert "a;b" not in target.redacted and "PWD=***;" in target.redacted
    _no_secret(target, secret="a;b}c")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("Driver={x};Server", "no '='"),
        ("Driver={x;Server=1", "never closes"),
        ("Driver={x}y;Server=1", "after its closing"),
        ("Driver={x};server=1;SERVER=2", "twice"),
    ],
)
def test_odbc_refusals(text: str, fragment: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_dsn("odbc:" + text)
    assert fragment in str(info.value)


def test_odbc_tag_goes_into_pqopt_for_postgresql_only() -> None:
    pg = parse_dsn("odbc:Driver={PostgreSQL Unicode};Server=h;pqopt={search_path=s}")
    assert (
        pg.connect_kwargs("pooltui-1-2")["pqopt"] == "{search_path=s application_name=pooltui-1-2}"
    )
    assert (
        "pqopt" not in pg.connect_kwargs(None)
        or "application_name" not in pg.connect_kwargs(None)["pqopt"]
    )
    maria = parse_dsn("odbc:Driver={MariaDB Unicode};Server=h")
    assert not any("pooltui-1-2" in str(v) for v in maria.connect_kwargs("pooltui-1-2").values())


def test_odbc_module_turns_driver_manager_pooling_off(odbc_pg_dsn: str) -> None:
    module = parse_dsn(odbc_pg_dsn).module()
    assert module.__name__ == "pyodbc" and module.pooling is False


# --- passwords and redaction -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "env"),
    [
        ("postgresql://u@h/d", "PGPASSWORD"),
        ("mysql://u@h/d", "MYSQL_PWD"),
        ("odbc:Driver={MariaDB Unicode};Server=h;UID=u", "POOLTUI_ODBC_PASSWORD"),
    ],
)
def test_password_sources_in_order(dsn: str, env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "PWD" if dsn.startswith("odbc") else "password"

    def password(target: Target) -> str | None:
        value = target.connect_kwargs().get(key)
        if isinstance(value, bytes):  # PyMySQL gets the UTF-8 bytes
            value = value.decode("utf-8")
        return value.strip("{}") if value else None

    assert password(parse_dsn(dsn)) is None and not parse_dsn(dsn).has_password
    monkeypatch.setenv(env, "from-env")
    assert password(parse_dsn(dsn)) == "from-env"
    assert password(parse_dsn(dsn, password="from-arg")) == "from-arg"
    in_dsn = dsn.replace("u@", "u:from-dsn@") if "://" in dsn else dsn + ";PWD=from-dsn"
    assert password(parse_dsn(in_dsn, password="from-arg")) == "from-dsn"
    target = parse_dsn(in_dsn)
    assert target.has_password and target.password_env == env
    _no_secret(target, secret="from-dsn")


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://app:{SECRET}@127.0.0.1/shop",
        f"postgresql://app@127.0.0.1/shop?password={SECRET}",
        f"postgresql://app@127.0.0.1/shop?sslpassword={SECRET}",
        f"mysql://app:{SECRET}@127.0.0.1/shop",
        f"odbc:Driver={{PostgreSQL Unicode}};Server=127.0.0.1;PWD={SECRET}",
        f"odbc:Driver={{MariaDB Unicode}};Server=127.0.0.1;Password={{{SECRET}}}",
    ],
)
def test_no_password_in_repr_or_redacted(dsn: str) -> None:
    target = parse_dsn(dsn)
    assert "***" in target.redacted
    _no_secret(target, target.python_connect_code(target.password_env), repr(target.facts))


def test_password_argument_never_shown() -> None:
    target = parse_dsn("postgresql://app@127.0.0.1/shop", password=SECRET)
    assert target.connect_kwargs()["password"] == SECRET
    assert "***" not in target.redacted  # the DSN had none: nothing to mask
    _no_secret(target, target.python_connect_code("PGPASSWORD"))


def test_redact_masks_secret_in_all_forms() -> None:
    secret = "p@ss w}rd"
    text = (
        f"raw {secret}; url-encoded p%40ss%20w%7Drd; plus p%40ss+w%7Drd; "
        f"odbc PWD={{p@ss w}}}}rd}}; postgresql://u:other@h/d password=abc;x"
    )
    cleaned = redact(text, secret)
    for leaked in (secret, "p%40ss", "other", "abc"):
        assert leaked not in cleaned
    assert "postgresql://u:***@h/d" in cleaned
    target = parse_dsn(f"mysql://u:{SECRET}@h/d")
    assert redact(f"failed with {SECRET}", target) == "failed with ***"
    assert redact("nothing to hide", None) == "nothing to hide"


# --- driver facts ------------------------------------------------------------------------------


def test_driver_facts_come_from_the_installed_modules() -> None:
    import psycopg
    import pymysql
    import pyodbc

    for module, can_ping in ((psycopg, False), (pymysql, True), (pyodbc, False), (sqlite3, False)):
        facts = driver_facts(module.__name__)
        assert facts.threadsafety == module.threadsafety
        assert facts.can_share == (module.threadsafety >= 2)
        assert facts.can_ping is can_ping
        assert all(note.endswith(".") for note in facts.notes)
    assert any("ping_query" in note for note in driver_facts("psycopg").notes)
    assert any("pyodbc.pooling = False" in n for n in driver_facts("pyodbc").notes)
    assert any("check_same_thread=False" in n for n in driver_facts("sqlite3").notes)
    assert any("round trip" in n and "reset" in n for n in driver_facts("pymysql").notes)


# --- connecting for real -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "session_sql", "tag_sql"),
    [
        ("pg_dsn", "SELECT pg_backend_pid()", "SELECT current_setting('application_name')"),
        ("mysql_dsn", "SELECT CONNECTION_ID()", None),
        ("odbc_pg_dsn", "SELECT pg_backend_pid()", "SELECT current_setting('application_name')"),
        ("odbc_mysql_dsn", "SELECT CONNECTION_ID()", None),
    ],
)
def test_connect_tags_and_reports_session_id(fixture, session_sql, tag_sql, request) -> None:
    target = parse_dsn(request.getfixturevalue(fixture))
    tag = unique_tag()
    con = target.connect(tag)
    try:
        assert target.backend_id(con) == scalar(con, session_sql)
        if tag_sql:
            assert scalar(con, tag_sql) == tag
    finally:
        con.close()


def test_mysql_connect_timeout_does_not_bound_queries(mysql_dsn: str) -> None:
    target = parse_dsn(mysql_dsn)
    con = target.connect(timeout_s=1)
    try:
        assert con._read_timeout is None  # the DSN set none: a long query is not cut at 1 s
    finally:
        con.close()


@pytest.mark.parametrize("fixture", ["pg_dsn", "mysql_dsn", "odbc_pg_dsn", "odbc_mysql_dsn"])
def test_exported_code_connects_without_writing_the_password(fixture, request, monkeypatch) -> None:
    target = parse_dsn(request.getfixturevalue(fixture), password=SECRET)
    code = target.python_connect_code(target.password_env)
    assert SECRET not in code and target.password_env in code
    # trust auth (PG) and root's empty password (MariaDB): the env var's value is what counts
    monkeypatch.setenv(target.password_env, "")
    namespace: dict = {}
    exec(compile(code, "<exported>", "exec"), namespace)
    con = namespace["creator"].connect(**namespace["connect_kwargs"])
    try:
        assert scalar(con, "SELECT 1") == 1
    finally:
        con.close()


def test_exported_sqlite_code_connects(sqlite_dsn: str) -> None:
    code = parse_dsn(sqlite_dsn).python_connect_code("")
    assert "import os" not in code
    namespace: dict = {}
    exec(compile(code, "<exported>", "exec"), namespace)
    con = namespace["creator"].connect(**namespace["connect_kwargs"])
    try:
        assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 20
    finally:
        con.close()


def test_demo_target_is_created_once(tmp_path: Path) -> None:
    first = demo_target()
    path = Path(first.database)
    assert path.name == "demo.db" and path.is_relative_to(Path(os.environ["XDG_DATA_HOME"]))
    stamp = path.stat().st_mtime_ns, path.stat().st_ino
    second = demo_target()
    assert second == first and (path.stat().st_mtime_ns, path.stat().st_ino) == stamp
    con = first.connect()
    try:
        columns = [row[1] for row in con.execute("PRAGMA table_info(orders)")]
        count, low, high = con.execute(
            "SELECT count(*), min(amount), max(amount) FROM orders"
        ).fetchone()
    finally:
        con.close()
    assert columns == ["id", "customer", "amount", "created"]
    assert 100 <= count <= 1000 and 0 < low <= high
    assert not list(path.parent.glob(".demo-*"))  # no temporary file left behind


def test_demo_target_rebuilds_a_damaged_file() -> None:
    path = Path(demo_target().database)
    path.write_bytes(b"not a database at all")
    con = demo_target().connect()
    try:
        assert con.execute("SELECT count(*) FROM orders").fetchone()[0] > 0
    finally:
        con.close()
