"""Issue #9 §7: inputs at and past the edge are one sentence with the right exit code, never a
traceback, an overflow or a misleading explanation; stdout that cannot be written ends cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import one_sentence, run_cli

from pooltui.core.config import (
    PoolConfig,
    Workload,
    max_open_connections,
    validate,
    validate_workload,
)
from pooltui.core.diagnosis.recommend import Answers, validate_answers
from pooltui.core.diagnosis.verify import verify_workload
from pooltui.core.errors import BadInput
from pooltui.core.profiles import load_profile
from pooltui.core.targets import driver_facts, parse_dsn

REPO = Path(__file__).resolve().parents[1]


def pooltui(*argv: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pooltui", *argv],
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        **kwargs,
    )


# --- numbers that are digits to str.isdigit() only ---------------------------------------------


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://u@127.0.0.1:²/d",
        "mysql://u@127.0.0.1:³/d",
        "postgresql://u@127.0.0.1/d?port=²",
        "postgresql://u@127.0.0.1/d?connect_timeout=³",
        "odbc:Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=²;",
    ],
)
def test_superscript_ports_are_bad_input(capsys, dsn: str) -> None:
    with pytest.raises(BadInput):
        parse_dsn(dsn)
    code, _, err = run_cli(capsys, "check", "--dsn", dsn)
    assert code == 2 and "number" in one_sentence(err)


@pytest.mark.parametrize(
    "dsn",
    [
        "mysql://u@127.0.0.1/d?read_timeout=inf",
        "mysql://u@127.0.0.1/d?read_timeout=nan",
        "mysql://u@127.0.0.1/d?connect_timeout=1e308",
        "sqlite:///x.db?timeout=nan",
        "sqlite:///x.db?timeout=inf",
        "sqlite:///x.db?timeout=-5",
    ],
)
def test_timeouts_must_be_finite_and_bounded(dsn: str) -> None:
    with pytest.raises(BadInput, match="timeout"):
        parse_dsn(dsn)
    assert parse_dsn(
        dsn.split("?")[0] + "?timeout=0"
        if dsn.startswith("sqlite")
        else dsn.split("?")[0] + "?read_timeout=30"
    ).kind in ("sqlite", "mysql")


# --- profiles nested past reason ----------------------------------------------------------------


@pytest.mark.parametrize("depth", [20, 5000])
def test_a_deeply_nested_toml_is_a_sentence(capsys, tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.toml"
    path.write_text('name = "deep"\n[pool]\nsetsession = ' + "[" * depth + "]" * depth + "\n")
    with pytest.raises(BadInput, match="nests arrays or tables"):
        load_profile(path)
    code, _, err = run_cli(capsys, "export", "--format", "toml", "--profile", str(path))
    assert code == 2 and "nests" in one_sentence(err)
    answers = tmp_path / "answers.toml"
    answers.write_text("symptoms = " + "[" * depth + "]" * depth + "\n")
    code, _, err = run_cli(capsys, "diagnose", "--answers", str(answers))
    assert code == 2 and "nests" in one_sentence(err)


# --- stdout that cannot be written ---------------------------------------------------------------


def test_a_closed_pipe_ends_quietly(sqlite_dsn: str) -> None:
    """``pooltui bench --json | head -c 10``, with the reader gone before anything is written."""
    proc = pooltui(
        "bench",
        "--dsn",
        sqlite_dsn,
        "--json",
        "--requests",
        "20",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 1
    assert err == ""


def test_a_full_disk_on_stdout_is_one_sentence(sqlite_dsn: str) -> None:
    with open("/dev/full", "w") as full:
        proc = pooltui("check", "--dsn", sqlite_dsn, stdout=full, stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "cannot write the results to stdout (No space left on device)" in one_sentence(err)


# --- unbounded numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hold_ms", 1e308),
        ("think_ms", 1e308),
        ("rate", 1e308),
        ("hold_ms", 3600001.0),
    ],
)
def test_waits_are_bounded(field: str, value: float) -> None:
    workload = Workload(pattern="poisson", **({"rate": 10.0} | {field: value}))
    errors = [f for f in validate_workload(workload) if f.level == "error"]
    assert [f.param for f in errors] == [field]
    assert validate_workload(Workload(hold_ms=3_599_000.0, duration_s=3600, think_ms=5.0)) == ()


def test_a_verification_burst_refuses_a_hold_no_wait_can_take() -> None:
    """The wizard's and diagnose's burst: answers may pass the keep-up check at a tiny rate."""
    answers = Answers(threads_per_process=8, peak_rate_per_s=1e-300, hold_ms=1e300)
    validate_answers(answers)
    with pytest.raises(BadInput, match="hold_ms"):
        verify_workload(answers)


def test_an_enormous_hold_is_refused_before_connecting(capsys, sqlite_dsn: str) -> None:
    code, _, err = run_cli(
        capsys, "bench", "--dsn", sqlite_dsn, "--hold-ms", "1e308", "--requests", "5"
    )
    assert code == 2 and "hold_ms" in one_sentence(err) and "SQLite" not in err


def test_mincached_beyond_the_open_file_limit_is_refused() -> None:
    limit = max_open_connections()
    assert limit is not None and limit > 0
    facts = driver_facts("psycopg")
    validation = validate(PoolConfig(mincached=100000), facts)
    assert not validation.ok
    message = validation.errors()[0].message
    assert validation.errors()[0].param == "mincached" and f"at most {limit}" in message
    assert validate(PoolConfig(mincached=min(limit, 50)), facts).ok


# --- words that said the wrong thing ------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "bench", "export", "diagnose", None])
def test_an_empty_dsn_is_bad_input(capsys, command: str | None) -> None:
    argv = ["--dsn", "  "] if command is None else [command, "--dsn", ""]
    if command == "export":
        argv += ["--format", "toml"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == "" and "--dsn is empty" in one_sentence(err)


@pytest.mark.parametrize("command", [None, "bench", "export"])
def test_an_empty_profile_is_bad_input(capsys, command: str | None) -> None:
    argv = ["--profile", ""] if command is None else [command, "--profile", " "]
    if command == "export":
        argv += ["--format", "toml"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == "" and "--profile is empty" in one_sentence(err)


def test_a_huge_database_name_is_named_as_too_long(capsys, pg_dsn: str, mysql_dsn: str) -> None:
    for dsn, limit in ((pg_dsn, "at most 63"), (mysql_dsn, "at most 64")):
        code, _, err = run_cli(capsys, "check", "--dsn", dsn.rsplit("/", 1)[0] + "/" + "d" * 10000)
        assert code == 2 and "database name is 10000" in one_sentence(err) and limit in err
    user = "u" * 64
    with pytest.raises(BadInput, match="user name is 64 bytes long"):
        parse_dsn(f"postgresql://{user}@127.0.0.1/test")
    with pytest.raises(BadInput, match="database name is 65 characters"):
        parse_dsn("odbc:Driver={MariaDB Unicode};Server=127.0.0.1;Database=" + "d" * 65)


def test_a_database_name_the_server_refuses_is_not_called_a_query_error(
    capsys, mysql_dsn: str
) -> None:
    code, _, err = run_cli(capsys, "check", "--dsn", mysql_dsn + "%20")  # "test ": MariaDB 1102
    assert code == 3 and "refuses the database name 'test '" in one_sentence(err)
    assert "fix the SQL" not in err


def test_a_text_file_is_not_a_sqlite_database(capsys, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("these are notes, not a database\n" * 20)
    code, out, err = run_cli(capsys, "check", "--dsn", f"sqlite:///{text}")
    assert code == 3 and out == "" and "is not a SQLite database" in one_sentence(err)
    assert text.read_text().startswith("these are notes")


@pytest.mark.parametrize("name", ["", " "])
def test_a_blank_export_name_is_refused(capsys, name: str) -> None:
    for form in ("toml", "python"):
        code, out, err = run_cli(capsys, "export", "--format", form, "--name", name)
        assert code == 2 and out == "" and "--name is blank" in one_sentence(err)
