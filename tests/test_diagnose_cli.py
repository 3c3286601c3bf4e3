"""`pooltui diagnose` through cli.main (and once through a real subprocess), in every output form.

Without a target nothing is measured; with --dsn the real PostgreSQL and MariaDB are measured.
The recommendation printed must be the one diagnosis.recommend gives for the same answers, so the
tests recompute it and compare, instead of trusting hard-coded figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pooltui.cli import main
from pooltui.core.config import PoolConfig, validate
from pooltui.core.diagnosis.recommend import ANSWER_NAMES, answers_from_mapping, recommend
from pooltui.core.profiles import load_profile
from pooltui.core.targets import driver_facts, parse_dsn

REFUSED_DSN = "postgresql://postgres@127.0.0.1:1/test"
SQLITE = driver_facts("sqlite3")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["diagnose", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def config_of(data: dict) -> PoolConfig:
    values = dict(data)
    values["setsession"] = tuple(values["setsession"])
    return PoolConfig(**values)


# --- no target: answers only ----------------------------------------------------------------------


def test_no_answers_text_says_every_answer_was_assumed(capsys):
    code, out, err = run(capsys)
    assert code == 0, err
    assert "no target (nothing measured" in out
    assumed = out.split("Assumed (not given, not measured", 1)[1]
    for name in ANSWER_NAMES:
        assert f"{name} = " in assumed, name
    assert "Prediction at peak" in out and "P(wait)" in out
    expected = recommend(answers_from_mapping({}), PoolConfig(), SQLITE)
    for change in expected.changes:
        assert f"{change.param}: {change.old!r} -> {change.new!r}" in out
    assert "Measured:" not in out


def test_json_marks_only_the_missing_answers_assumed(capsys):
    data = run_json(
        capsys,
        "--threads",
        "6",
        "--rate",
        "100",
        "--hold-ms",
        "20",
        "--symptom",
        "exhaustion",
        "--symptom",
        "churn",
        "--shape",
        "bursty",
    )
    given = {"threads_per_process", "peak_rate_per_s", "hold_ms", "symptoms", "shape"}
    assert set(data["assumed"]) == set(ANSWER_NAMES) - given
    assert data["answers"]["threads_per_process"] == 6
    assert data["answers"]["symptoms"] == ["churn", "exhaustion"]
    assert data["measured"] is None and data["target"] is None
    answers = answers_from_mapping(
        {
            "threads_per_process": 6,
            "peak_rate_per_s": 100.0,
            "hold_ms": 20.0,
            "shape": "bursty",
            "symptoms": ["exhaustion", "churn"],
        }
    )
    expected = recommend(answers, PoolConfig(), SQLITE)
    assert config_of(data["config"]) == expected.config
    assert [c["param"] for c in data["changes"]] == [c.param for c in expected.changes]
    assert data["prediction"]["p_wait"] == pytest.approx(expected.prediction.p_wait)
    assert data["prediction_before"]["utilisation"] == pytest.approx(
        expected.prediction_before.utilisation
    )


def test_current_configuration_comes_from_set_and_is_the_old_value(capsys):
    data = run_json(
        capsys,
        "--set",
        "maxconnections=2",
        "--set",
        "blocking=false",
        "--threads",
        "8",
        "--rate",
        "150",
        "--symptom",
        "exhaustion",
    )
    assert data["current"]["maxconnections"] == 2 and data["current"]["blocking"] is False
    changes = {c["param"]: c for c in data["changes"]}
    assert changes["blocking"]["old"] is False and changes["blocking"]["new"] is True
    assert changes["maxconnections"]["old"] == 2
    assert "TooManyConnectionsError" in changes["blocking"]["why"]
    assert data["prediction_before"]["p_reject"] > 0 and data["prediction"]["p_reject"] == 0


def test_answers_file_is_read_and_options_beat_it(capsys, tmp_path: Path):
    answers = tmp_path / "answers.toml"
    answers.write_text(
        "threads_per_process = 4\npeak_rate_per_s = 80\ngoal = "
        '"fewest_connections"\nsymptoms = ["churn"]\n',
        encoding="utf-8",
    )
    data = run_json(capsys, "--answers", str(answers), "--threads", "6")
    assert data["answers"]["threads_per_process"] == 6  # the option wins
    assert data["answers"]["peak_rate_per_s"] == 80.0
    assert data["answers"]["goal"] == "fewest_connections"
    assert data["answers"]["symptoms"] == ["churn"]
    for name in ("threads_per_process", "peak_rate_per_s", "goal", "symptoms"):
        assert name not in data["assumed"]
    assert "hold_ms" in data["assumed"]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "does not exist"),
        ("threads_per_process = [", "not valid TOML"),
        ("thread = 8\n", "'thread' is not an answer"),
        ('threads_per_process = "eight"\n', "threads_per_process must be a whole number"),
        ("peak_rate_per_s = -5\n", "peak_rate_per_s must be above 0"),
    ],
)
def test_broken_answers_files_are_refused_with_exit_2(capsys, tmp_path: Path, content, says):
    path = tmp_path / "answers.toml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "--answers", str(path))
    assert code == 2
    assert out == ""
    assert says in err and err.startswith("pooltui: ") and "Traceback" not in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--threads", "0"], "threads_per_process must be a whole number of at least 1"),
        (["--rate", "0"], "peak_rate_per_s must be above 0"),
        (["--peak-to-average", "0.5"], "peak_to_average must be at least 1"),
        (["--threads", "1", "--rate", "1000", "--hold-ms", "20"], "could never keep up"),
        (["--hold-ms", "1", "--query-ms", "5"], "shorter than query_ms"),
        (["--threads", "eight"], "invalid int value"),
        (["--symptom", "sadness"], "invalid choice"),
    ],
)
def test_impossible_answers_exit_2_with_the_reason(capsys, argv, says):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert says in err and "Traceback" not in err


# --- targets --------------------------------------------------------------------------------------


def test_unreachable_dsn_given_explicitly_is_exit_3(capsys):
    code, out, err = run(capsys, "--dsn", REFUSED_DSN)
    assert code == 3
    assert out == ""
    assert "Nothing accepted the connection at 127.0.0.1:1" in err
    assert "--no-measure" in err and err.count("\n") == 1


def test_unreachable_profile_target_warns_and_uses_the_answers(capsys, tmp_path: Path):
    profile = tmp_path / "p.toml"
    profile.write_text(
        f'name = "app"\n[target]\ndsn = "{REFUSED_DSN}"\n[pool]\nmaxconnections = 3\n',
        encoding="utf-8",
    )
    code, out, err = run(capsys, "--profile", str(profile), "--threads", "4", "--json")
    assert code == 0
    assert "warning:" in err and "127.0.0.1:1" in err
    data = json.loads(out)
    assert data["measured"] is None
    assert data["current"]["maxconnections"] == 3
    assert {"connect_ms", "query_ms"} <= set(data["assumed"])


def test_no_measure_measures_nothing(capsys, pg_dsn):
    data = run_json(capsys, "--dsn", pg_dsn, "--no-measure")
    assert data["measured"] is None
    assert data["target"] == parse_dsn(pg_dsn).redacted
    assert "connect_ms" in data["assumed"]


def server_max_connections(dsn: str) -> int:
    target = parse_dsn(dsn)
    con = target.connect()
    try:
        cur = con.cursor()
        cur.execute(
            "SHOW max_connections"
            if target.backend == "postgresql"
            else "SELECT @@GLOBAL.max_connections"
        )
        return int(cur.fetchone()[0])
    finally:
        con.close()


@pytest.mark.parametrize("dsn_fixture", ["pg_dsn", "mysql_dsn"])
def test_measured_figures_replace_the_assumed_ones(capsys, request, dsn_fixture):
    dsn = request.getfixturevalue(dsn_fixture)
    data = run_json(capsys, "--dsn", dsn, "--threads", "6")
    measured = data["measured"]
    assert measured["connect_ms"] > 0 and measured["query"] == "SELECT 1"
    assert measured["representative"] is False
    assert measured["server"]["max_connections"] == server_max_connections(dsn)
    assert data["driver"] == parse_dsn(dsn).facts.module_name
    assert "connect_ms" not in data["assumed"]
    assert "query_ms" in data["assumed"]  # SELECT 1 is a round trip, not the app's query
    assert any("connect_ms is the" in text and "measured" in text for text in data["assumptions"])


@pytest.mark.parametrize("dsn_fixture", ["pg_dsn", "mysql_dsn"])
def test_a_representative_query_is_timed_and_becomes_query_ms(capsys, request, dsn_fixture):
    dsn = request.getfixturevalue(dsn_fixture)
    query = "SELECT count(*) FROM information_schema.tables"
    code, out, err = run(capsys, "--dsn", dsn, "--query", query)
    assert code == 0, err
    assert "Measured: connect " in out and query in out
    data = run_json(capsys, "--dsn", dsn, "--query", query)
    assert data["measured"]["representative"] is True
    assert "query_ms" not in data["assumed"] and "query" not in data["assumed"]
    assert any("query_ms is the" in text for text in data["assumptions"])


def test_a_query_that_fails_is_one_sentence(capsys, pg_dsn):
    code, out, err = run(capsys, "--dsn", pg_dsn, "--query", "SELECT * FROM no_such_table_x")
    assert code == 1
    assert out == "" and "The query failed" in err and "Traceback" not in err


def test_the_password_never_appears_in_any_output(capsys, pg_dsn):
    secret = "s3cr3t-pw-77"
    dsn = pg_dsn.replace("postgres@", f"postgres:{secret}@")  # trust auth ignores it
    for form in ([], ["--json"], ["--format", "toml"]):
        code, out, err = run(capsys, "--dsn", dsn, *form)
        assert code == 0, err
        assert secret not in out and secret not in err


# --- TOML profile out, bench in -------------------------------------------------------------------


def test_toml_output_is_a_profile_bench_runs(capsys, pg_dsn, tmp_path: Path):
    path = tmp_path / "recommended.toml"
    code, out, err = run(
        capsys,
        "--dsn",
        pg_dsn,
        "--threads",
        "6",
        "--rate",
        "100",
        "--hold-ms",
        "20",
        "--format",
        "toml",
        "-o",
        str(path),
    )
    assert code == 0 and out == ""
    assert str(path) in err
    profile = load_profile(path)
    data = run_json(capsys, "--dsn", pg_dsn, "--threads", "6", "--rate", "100", "--hold-ms", "20")
    assert profile.pool == config_of(data["config"])
    assert profile.dsn == pg_dsn
    assert profile.workload.pattern == "poisson" and profile.workload.rate == 100.0
    assert profile.workload.threads == 6
    assert profile.workload.hold_ms == pytest.approx(20.0)  # SELECT 1 runs, the rest is held

    code = main(["bench", "--profile", str(path), "--requests", "50", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert result["requests"] == 50 and result["errors"] == 0
    effective = validate(profile.pool, parse_dsn(pg_dsn).facts).effective
    assert config_of(result["config"]) == effective


def test_toml_without_target_has_no_dsn_and_loads(capsys, tmp_path: Path):
    code, out, err = run(capsys, "--threads", "4", "--rate", "20", "--format", "toml")
    assert code == 0, err
    data = tomllib.loads(out)
    assert "target" not in data
    path = tmp_path / "p.toml"
    path.write_text(out, encoding="utf-8")
    assert load_profile(path).workload.threads == 4


def test_a_real_subprocess_prints_json_and_exits_0(tmp_path: Path):
    """The installed entry point, as a script would call it: stdout is the JSON, nothing else."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pooltui",
            "diagnose",
            "--threads",
            "8",
            "--rate",
            "120",
            "--shape",
            "bursty",
            "--peak-to-average",
            "4",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "XDG_DATA_HOME": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path),
        },
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["answers"]["shape"] == "bursty" and data["answers"]["peak_to_average"] == 4.0
    assert "shape" not in data["assumed"] and "goal" in data["assumed"]

    bad = subprocess.run(
        [sys.executable, "-m", "pooltui", "diagnose", "--rate", "-1"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert "peak_rate_per_s must be above 0" in bad.stderr
