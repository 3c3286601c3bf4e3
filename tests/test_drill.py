"""Fault drills: the timeline read off the samples, the advice, and `pooltui drill` end to end on
PostgreSQL and MariaDB through the fault proxy (the shared servers themselves are untouched)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pooltui.cli import main
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.errors import BadInput
from pooltui.core.faults import drill
from pooltui.core.load.engine import Sample
from pooltui.core.pool.stats import PoolStats
from pooltui.core.report import format_drills
from pooltui.core.targets import parse_dsn

DT = drill.SAMPLE_INTERVAL_S
FAULT = ("--fault-s", "0.5")
SECRET = "s3cret-drill-pw"


def sample(at: float, ok: int, failed: int = 0, p95_ms: float = 1.0) -> Sample:
    return Sample(
        elapsed_s=at,
        stats=PoolStats(),
        interval_requests=ok + failed,
        interval_errors=failed,
        errors=0,
        throughput_rps=ok / DT,
        p95_ms=p95_ms,
        p95_acquire_ms=0.1,
        schedule_lag_ms=0.0,
    )


def run(*figures: tuple[int, int, float]) -> list[Sample]:
    """Samples every DT from DT on: (ok, failed, p95_ms) each."""
    return [
        sample(round((i + 1) * DT, 3), ok, failed, p95)
        for i, (ok, failed, p95) in enumerate(figures)
    ]


NORMAL = (100, 0, 1.0)


# --- the timeline ----------------------------------------------------------------------------


def test_errors_are_detected_and_the_first_clean_interval_after_the_fault_is_recovery():
    samples = run(
        *[NORMAL] * 10,
        (100, 0, 1.0),
        (10, 40, 1.0),
        (0, 50, 0.0),
        (0, 50, 0.0),
        (0, 50, 0.0),
        (20, 5, 1.0),
        (100, 0, 1.0),
        *[NORMAL] * 3,
    )
    t = drill.read_timeline(samples, fault_start_s=1.0, fault_end_s=1.5, end_s=2.0)
    assert t.symptom == "errors" and t.detected_after_s == pytest.approx(0.2)
    assert t.recovered_after_s == pytest.approx(0.2)  # 1.6 still failed, 1.7 is clean
    assert (t.before.requests, t.before.failed) == (1000, 0)
    # during: the intervals wholly inside 1.0-1.5 s, so 1.1 s (normal) to 1.5 s
    assert (t.during.requests, t.during.failed) == (300, 190)
    assert t.after.failed == 5 and t.before.throughput_rps == pytest.approx(1000.0)


def test_no_completion_is_a_stall_and_a_high_p95_is_slow():
    stalled = run(*[NORMAL] * 10, (0, 0, 0.0), *[NORMAL] * 10)
    t = drill.read_timeline(stalled, 1.0, 1.5, 2.1)
    assert (t.symptom, t.detected_after_s) == ("stalled", pytest.approx(0.1))
    slow = run(*[NORMAL] * 10, *[(100, 0, 50.0)] * 5, *[NORMAL] * 5)
    t = drill.read_timeline(slow, 1.0, 1.5, 2.0)
    assert t.symptom == "slow" and t.recovered_after_s == pytest.approx(0.1)
    mild = run(*[NORMAL] * 10, *[(100, 0, 2.5)] * 5, *[NORMAL] * 5)  # 2.5 x: within noise
    assert drill.read_timeline(mild, 1.0, 1.5, 2.0).detected_after_s is None


def test_a_quiet_baseline_makes_an_empty_interval_no_stall_and_a_dead_run_no_recovery():
    quiet = run(*[(1, 0, 1.0)] * 10, (0, 0, 0.0), *[(1, 0, 1.0)] * 10)
    assert drill.read_timeline(quiet, 1.0, 1.5, 2.1).detected_after_s is None
    dead = run(*[NORMAL] * 10, *[(0, 30, 0.0)] * 10)
    t = drill.read_timeline(dead, 1.0, 1.5, 2.0)
    assert t.recovered_after_s is None and t.symptom == "errors"
    ended = run(*[NORMAL] * 10, (0, 30, 0.0), NORMAL)  # the closing tick after a fatal end
    assert drill.read_timeline(ended, 1.0, 1.5, end_s=1.1).recovered_after_s is None


# --- plans and refusals ----------------------------------------------------------------------


def test_each_scenario_has_a_fault_and_impossible_plans_are_refused():
    lengths = {name: drill.plan_fault(name, 2.0).length_s for name in drill.SCENARIOS}
    assert lengths == {
        "latency": 2.0,
        "freeze": 2.0,
        "reset": 0.0,
        "down": 2.0,
        "idle-kill": 2.0,
        "restart": drill.RESTART_S,
    }
    duration, at = drill.drill_duration(drill.plan_fault("down", 2.0))
    assert at == pytest.approx(duration / 3) and duration - at - 2.0 >= drill.MIN_AFTER_S
    for bad in (
        lambda: drill.plan_fault("flood"),
        lambda: drill.plan_fault("down", 0),
        lambda: drill.drill_duration(drill.plan_fault("down", 2.0), 3.0),
    ):
        with pytest.raises(BadInput) as caught:
            bad()
        assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("dsn", "says"),
    [
        ("sqlite:///anything.db", "no network"),
        ("postgresql://postgres@10.20.30.40:5432/test", "not a loopback"),
        ("mysql://root@db.example.com/test", "not a loopback"),
    ],
)
def test_the_cli_refuses_targets_it_must_not_break(capsys, dsn, says):
    assert main(["drill", "--dsn", dsn, "--scenario", "reset"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and says in err and err.count("\n") == 1


# --- advice and the text report --------------------------------------------------------------


def report(scenario: str, dsn: str, **figures: Any) -> drill.DrillReport:
    timeline = drill.read_timeline(run(*[NORMAL] * 20), 0.7, 1.2, 2.0)
    fields: dict[str, Any] = {
        "scenario": scenario,
        "target": parse_dsn(dsn).redacted,
        "fault": "a fault",
        "fault_at_s": 0.7,
        "fault_s": 0.5,
        "duration_s": 2.0,
        "timeline": timeline,
        "requests": 2000,
        "requests_failed": 0,
        "retried_statements": 0,
        "retried_from": "reconnects",
        "reconnects": 0,
        "connect_errors": 0,
        "connections_left": 0,
        "error_kinds": {},
        "proxy": {},
        "advice": (),
    }
    fields.update(figures)
    return drill.DrillReport(**fields)


def advice_for(scenario: str, dsn: str, config: PoolConfig, **figures: Any) -> str:
    seen = report(scenario, dsn, **figures)
    return " ".join(drill.advise(seen, config, Workload(), parse_dsn(dsn)))


def test_idle_kill_advice_names_the_ping_that_would_have_caught_it():
    pg, my = "postgresql://u@127.0.0.1/db", "mysql://u@127.0.0.1/db"
    killed = {"retried_statements": 8, "reconnects": 8}
    assert "ping_query='SELECT 1'" in advice_for("idle-kill", pg, PoolConfig(ping=1), **killed)
    assert "ping=1 would have found" in advice_for("idle-kill", my, PoolConfig(ping=0), **killed)
    quiet = advice_for("idle-kill", pg, PoolConfig(ping=1))  # nothing killed: no ping advice
    assert "would have found" not in quiet and "maxcached" in quiet
    checked = advice_for("idle-kill", my, PoolConfig(ping=1), **killed)
    assert "checkout ping found 8" in checked


def test_advice_follows_what_was_seen_not_the_scenario_alone():
    pg = "postgresql://u@127.0.0.1/db"
    left = advice_for("reset", pg, PoolConfig(), connections_left=2)
    assert "2 of the pool's sessions were still open" in left
    fatal = advice_for(
        "down",
        pg,
        PoolConfig(),
        requests_failed=40,
        fatal_error="The server at x closed the connection.",
    )
    assert "40 requests failed" in fatal and "ended early" in fatal
    assert (
        advice_for("reset", pg, PoolConfig())
        == "Nothing went wrong that a pool setting could have changed."
    )


def test_the_text_report_has_a_row_per_drill_and_says_what_failed():
    good = report("reset", "postgresql://u:pw@127.0.0.1/db", advice=("Keep it.",))
    bad = report(
        "down",
        "postgresql://u:pw@127.0.0.1/db",
        connections_left=3,
        timeline=drill.read_timeline(run(*[NORMAL] * 7, *[(0, 9, 0.0)] * 13), 0.7, 1.2, 2.0),
    )
    text = format_drills([good, bad])
    rows = {line.split()[0]: line for line in text.splitlines()}
    assert rows["reset"].endswith("ok") and "not seen" in rows["reset"]
    assert "not recovered; 3 left open" in rows["down"]
    assert "0.10 s (errors)" in rows["down"] and "  - Keep it." in text and "pw" not in text
    assert good.ok and not bad.ok


# --- the CLI on the real servers -------------------------------------------------------------


@pytest.fixture(params=["pg_dsn", "mysql_dsn"])
def server_dsn(request: pytest.FixtureRequest) -> str:
    dsn = request.getfixturevalue(request.param)
    if dsn.startswith("postgresql"):  # trust auth ignores it: the output must not show it
        scheme, rest = dsn.split("://", 1)
        user, host = rest.split("@", 1)
        dsn = f"{scheme}://{user}:{SECRET}@{host}"
    return dsn


def drill_json(capsys: pytest.CaptureFixture[str], dsn: str, *args: str) -> tuple[int, dict]:
    code = main(["drill", "--dsn", dsn, *args, "--json"])
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    return code, json.loads(out)


def assert_sane(result: dict[str, Any]) -> None:
    """What every drill's JSON must satisfy, whatever the fault did."""
    assert result["connections_left"] == 0, result
    assert result["requests"] > 0 and 0 <= result["requests_failed"] <= result["requests"]
    assert sum(result["error_kinds"].values()) == result["requests_failed"]
    assert result["retried_statements"] >= 0 and result["retried_from"] in (
        "reconnects",
        "reexecutions",
    )
    phases = result["phases"]
    assert phases["before"]["requests"] > 0 and phases["before"]["failed"] == 0
    detected = result["detected_after_s"]
    assert detected is None or 0 <= detected <= result["duration_s"]
    assert result["advice"] and all(a.endswith(".") for a in result["advice"])


def test_reset_and_idle_kill_drills_recover_and_leave_nothing_open(capsys, server_dsn):
    code, payload = drill_json(
        capsys,
        server_dsn,
        "--scenario",
        "reset",
        "--scenario",
        "idle-kill",
        *FAULT,
        "--duration",
        "2.4",
    )
    reset, idle = payload["drills"]
    for result in (reset, idle):
        assert_sane(result)
        assert result["recovered"] and result["ok"], result
    assert reset["proxy"]["reset"] >= 1 and reset["reconnects"] >= 1
    assert idle["proxy"]["idle_killed"] >= 1 and idle["reconnects"] >= 1
    assert idle["requests_failed"] == 0, "DBUtils replaces an idle-killed connection"
    assert code == 0 and payload["ok"] is True and SECRET not in payload["target"]


@pytest.fixture(scope="module")
def down_drills() -> dict[str, tuple[int, dict]]:
    return {}


def down_drill(capsys, server_dsn: str, cache: dict[str, tuple[int, dict]]) -> tuple[int, dict]:
    """The down drill on this server, run once for the two tests that read it."""
    if server_dsn not in cache:
        code, payload = drill_json(
            capsys, server_dsn, "--scenario", "down", *FAULT, "--duration", "3.0"
        )
        cache[server_dsn] = (code, payload["drills"][0])
    return cache[server_dsn]


def test_a_down_drill_counts_the_failed_requests_and_leaves_nothing_open(
    capsys, server_dsn, down_drills
):
    _, result = down_drill(capsys, server_dsn, down_drills)
    assert_sane(result)
    assert result["requests_failed"] > 0 and result["symptom"] in ("errors", "slow", "stalled")
    assert result["detected_after_s"] is not None
    assert result["detected_after_s"] <= 0.5 + drill.DETECT_GRACE_S
    assert result["proxy"]["refused"] >= 1 and result["connect_errors"] >= 1
    if result["fatal_error"]:  # it names the server, not the drill's proxy
        port = parse_dsn(server_dsn).port
        assert f"127.0.0.1:{port} (through the drill's proxy)" in result["fatal_error"]


def test_a_down_drill_recovers_within_the_run(capsys, server_dsn, down_drills):
    code, result = down_drill(capsys, server_dsn, down_drills)
    assert result["fatal_error"] is None, result["fatal_error"]
    # a connect that began before the server came back may still fail just after: what
    # counts is that the run went on and served cleanly again
    assert result["recovered"] and result["phases"]["after"]["requests"] > 0
    assert code == 0
