"""The headless CLI: JSON keys, exit codes, one-sentence errors, no secret, nothing left open."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pooltui.cli import main
from pooltui.core.profiles import load_profile
from pooltui.core.targets import parse_dsn

SUMMARY_KEYS = {"p50", "p95", "p99", "max", "mean"}
SECRET = "s3cret-pw"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def our_sessions_on_pg() -> int:
    """Sessions this process's pools still hold on PostgreSQL (their tag carries our pid)."""
    import psycopg

    with psycopg.connect("host=127.0.0.1 dbname=test user=postgres") as con:
        row = con.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %s",
            (f"pooltui-{os.getpid()}-%",),
        ).fetchone()
    return row[0]


def with_password(dsn: str) -> str:
    """The same DSN with a password in it (trust auth ignores it on PostgreSQL)."""
    scheme, rest = dsn.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{SECRET}@{host}"


def test_bench_json_has_the_documented_keys(capsys, pg_dsn):
    code, out, err = run_cli(
        capsys,
        "bench",
        "--dsn",
        with_password(pg_dsn),
        "--threads",
        "4",
        "--requests",
        "200",
        "--set",
        "maxconnections=4",
        "--set",
        "mincached=2",
        "--set",
        "maxcached=4",
        "--warmup",
        "--json",
    )
    assert code == 0, err
    payload = json.loads(out)
    for key in ("requests", "errors", "duration_s", "throughput_rps", "pool", "config", "target"):
        assert key in payload
    for key in ("latency_ms", "acquire_ms", "hold_ms"):
        assert set(payload[key]) >= SUMMARY_KEYS, key
    assert payload["requests"] == 200 and payload["errors"] == 0
    assert payload["config"]["maxconnections"] == 4
    pool = payload["pool"]
    for key in (
        "checked_out",
        "idle",
        "open",
        "overflow",
        "waiting",
        "peak_open",
        "checkouts",
        "connects",
        "rejections",
        "query_errors",
    ):
        assert key in pool, key
    assert pool["checkouts"] == 200
    assert payload["target"]["driver"] == "psycopg"
    assert payload["target"]["server_version"]
    assert "***" in payload["target"]["dsn"]
    assert SECRET not in out + err
    assert our_sessions_on_pg() == 0


def test_bench_normalising_is_reported_in_the_effective_config(capsys, mysql_dsn):
    code, out, err = run_cli(
        capsys,
        "bench",
        "--dsn",
        mysql_dsn,
        "--requests",
        "20",
        "--json",
        "--set",
        "mincached=3",
        "--set",
        "maxcached=1",
        "--set",
        "maxshared=4",
        "--set",
        "maxconnections=2",
    )
    assert code == 0, err
    config = json.loads(out)["config"]
    # DBUtils raises maxcached to mincached, zeroes maxshared on PyMySQL, raises maxconnections
    assert config["maxcached"] == 3
    assert config["maxshared"] == 0
    assert config["maxconnections"] == 4


def test_bench_text_output_on_sqlite(capsys, sqlite_dsn):
    code, out, err = run_cli(
        capsys,
        "bench",
        "--dsn",
        sqlite_dsn,
        "--threads",
        "2",
        "--requests",
        "50",
        "--query",
        "SELECT count(*) FROM items",
    )
    assert code == 0, err
    assert "50 requests, 0 errors" in out
    assert "acquire" in out and "p95" in out


@pytest.mark.parametrize(
    ("argv", "expected_code", "words"),
    [
        (["bench", "--dsn", "oracle://x@127.0.0.1/db"], 2, "scheme"),
        (["bench", "--dsn", "postgresql://postgres@127.0.0.1:1/test"], 3, "127.0.0.1:1"),
        (["bench", "--set", "mincached=5", "--set", "maxconnections=2"], 2, "hangs"),
        (["bench", "--set", "maxcached=-1"], 2, "maxcached"),
        (["bench", "--set", "nonsense=3"], 2, "nonsense"),
        (["bench", "--threads", "0"], 2, "threads"),
        (["bench", "--profile", "no-such-profile"], 2, "no-such-profile"),
        (["export"], 2, "format"),
        (["frobnicate"], 2, "frobnicate"),
    ],
)
def test_bad_input_is_one_sentence_and_an_exit_code(capsys, argv, expected_code, words):
    code, out, err = run_cli(capsys, *argv)
    assert code == expected_code
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pooltui: "), err
    assert words in lines[0]
    assert "Traceback" not in err


def test_wrong_credentials_and_missing_database(capsys, mysql_dsn, pg_dsn):
    code, _, err = run_cli(capsys, "check", "--dsn", "mysql://root:wrong@127.0.0.1:3306/test")
    assert code == 3 and "wrong" not in err.replace("wrong password", "")
    assert "password" in err.lower() or "denied" in err.lower()
    code, _, err = run_cli(
        capsys, "check", "--dsn", pg_dsn.rsplit("/", 1)[0] + "/no_such_database_here"
    )
    assert code == 3 and "no_such_database_here" in err


def test_invalid_profile_names_the_file_and_key(capsys, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "x"\n[pool]\nmaxcached = "many"\n')
    code, _, err = run_cli(capsys, "bench", "--profile", str(broken))
    assert code == 2
    assert "broken.toml" in err and "pool.maxcached" in err
    broken.write_text("name = [unclosed\n")
    code, _, err = run_cli(capsys, "export", "--format", "toml", "--profile", str(broken))
    assert code == 2 and "broken.toml" in err


def test_a_failing_query_ends_the_run_with_exit_1(capsys, pg_dsn):
    code, out, err = run_cli(
        capsys,
        "bench",
        "--dsn",
        pg_dsn,
        "--threads",
        "2",
        "--duration",
        "2",
        "--query",
        "SELEC 1",
        "--json",
    )
    assert code == 1
    assert json.loads(out)["errors"] > 0
    assert "SELEC" in err and "Traceback" not in err
    assert our_sessions_on_pg() == 0


def test_export_toml_round_trips_through_profile(capsys, tmp_path, pg_dsn):
    out_file = tmp_path / "tuned.toml"
    code, _, err = run_cli(
        capsys,
        "export",
        "--dsn",
        with_password(pg_dsn),
        "--format",
        "toml",
        "--name",
        "tuned",
        "--set",
        "maxconnections=12",
        "--set",
        "ping_query=SELECT 1",
        "--set",
        "hold_ms=2.5",
        "-o",
        str(out_file),
    )
    assert code == 0, err
    text = out_file.read_text()
    assert SECRET not in text
    profile = load_profile(out_file)
    assert profile.name == "tuned"
    assert profile.pool.maxconnections == 12 and profile.pool.ping_query == "SELECT 1"
    assert profile.workload.hold_ms == 2.5
    # and exporting that profile again gives the same text
    code, again, _ = run_cli(capsys, "export", "--profile", str(out_file), "--format", "toml")
    assert code == 0 and again == text


def test_export_python_builds_the_same_pool(capsys, tmp_path, mysql_dsn):
    code, out, err = run_cli(
        capsys,
        "export",
        "--dsn",
        mysql_dsn,
        "--format",
        "python",
        "--set",
        "maxconnections=6",
        "--set",
        "mincached=2",
        "--set",
        "maxcached=3",
        "--set",
        "blocking=false",
    )
    assert code == 0, err
    script = tmp_path / "pool_config.py"
    script.write_text(out)
    probe = (
        f"import runpy; ns = runpy.run_path({str(script)!r}); p = ns['pool'];"
        "print(p._maxconnections, p._maxcached, p._blocking, len(p._idle_cache)); p.close()"
    )
    env = dict(os.environ, MYSQL_PWD="")
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["6", "3", "False", "2"]


def test_check_json_reports_driver_and_server(capsys, pg_dsn):
    code, out, err = run_cli(capsys, "check", "--dsn", pg_dsn, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["driver"]["module_name"] == "psycopg"
    assert report["driver"]["can_share"] is True and report["driver"]["can_ping"] is False
    assert report["server"]["max_connections"] > 0
    assert report["connect_ms"] > 0


def test_cli_subprocess_keeps_stdout_clean_and_imports_no_textual(tmp_path, sqlite_dsn):
    code = (
        "import sys; from pooltui.cli import main; rc = main(sys.argv[1:]);"
        "print('textual' in sys.modules, file=sys.stderr); sys.exit(rc)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "bench", "--dsn", sqlite_dsn, "--requests", "10", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["requests"] == 10
    assert result.stderr.strip().splitlines()[-1] == "False"


def test_profile_dsn_is_used_when_no_dsn_is_given(capsys, tmp_path, sqlite_dsn):
    profile = tmp_path / "local.toml"
    profile.write_text(
        f'name = "local"\n[target]\ndsn = "{sqlite_dsn}"\n'
        '[workload]\nthreads = 2\nquery = "SELECT count(*) FROM items"\n'
    )
    code, out, err = run_cli(
        capsys, "bench", "--profile", str(profile), "--requests", "10", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["target"]["dsn"] == parse_dsn(sqlite_dsn).redacted


def test_demo_database_is_the_default_target(capsys):
    code, out, err = run_cli(capsys, "bench", "--requests", "20", "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["target"]["driver"] == "sqlite3"
    assert Path(payload["target"]["dsn"].removeprefix("sqlite:///")).name == "demo.db"


def test_options_before_the_subcommand_are_kept(capsys, pg_dsn):
    code, out, err = run_cli(
        capsys, "--dsn", pg_dsn, "--set", "maxconnections=3", "export", "--format", "toml"
    )
    assert code == 0, err
    assert "maxconnections = 3" in out and "127.0.0.1:5432" in out
    code, _, err = run_cli(capsys, "--dsn", "postgresql://postgres@127.0.0.1:1/test", "check")
    assert code == 3 and "127.0.0.1:1" in err


def test_a_connect_timeout_in_the_dsn_is_honoured(pg_dsn):
    from pooltui.core.targets import parse_dsn

    target = parse_dsn(pg_dsn + "?connect_timeout=17")
    con = target.connect()
    try:
        assert con.info.get_parameters()["connect_timeout"] == "17"
    finally:
        con.close()
