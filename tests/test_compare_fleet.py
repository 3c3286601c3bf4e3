"""`compare --processes W`: every run of A/B/B/A is a fleet of W processes, each with its own
fresh pool, judged on the fleet's exact merge; the headroom check counts W x each side's
connections, and no process leaves a session on the server."""

from __future__ import annotations

import json
import os
import signal

import pytest
from cli_helpers import one_sentence, run_cli, signal_when
from test_compare import pg_sessions_tagged

from pooltui.core import probes
from pooltui.core.compare.runner import RunDone, Side, run_comparison
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.errors import BadInput
from pooltui.core.targets import parse_dsn

RUN_S = 0.3
W = 2
A = Side(PoolConfig(maxconnections=2), Workload(threads=2, duration_s=RUN_S), "A")
B = Side(PoolConfig(maxconnections=2), Workload(threads=2, duration_s=RUN_S, hold_ms=2), "B")


def test_a_fleet_comparison_judges_merged_runs_and_leaves_no_session(pg_dsn):
    target = parse_dsn(pg_dsn)
    done: list[RunDone] = []
    comparison = run_comparison(target, A, B, 1, on_progress=done.append, processes=W)
    assert [d.side for d in done] == list("ABBA") and all(d.pool is None for d in done)
    assert comparison.processes == W and comparison.outcome.fatal_error is None
    for run in comparison.runs:  # each run merges W processes of 2 threads
        names = {t.name.split("/")[0] for t in run.result.per_thread}
        assert names == {f"p{i}" for i in range(W)} and len(run.result.per_thread) == 2 * W
        assert run.complete and run.result.requests > 0
        assert int(run.result.histograms.latency.counts.sum()) == (
            run.result.requests - run.result.errors
        )
    assert len(comparison.pairs) == 2 and comparison.differences
    assert all(d.verdict for d in comparison.differences.values())
    # each fleet made the unmeasured run a fresh pool makes, before its go: one per run
    unmeasured = comparison.outcome.unmeasured
    assert [key for key, _ in unmeasured] == list("ABBA")
    assert set(comparison.outcome.warmup_runs) == {"A", "B"}
    assert all(warm.requests > 0 and warm.duration_s <= RUN_S + 0.5 for _, warm in unmeasured)
    closed = comparison.outcome.closed
    assert set(closed) == {"A", "B"} and comparison.outcome.left_open == 0
    assert all(left.verified and left.server for left in closed.values())
    # the server's own count of every fleet's processes this test ran, by their tag prefix
    assert pg_sessions_tagged(target, f"pooltui-{os.getpid()}-f%") == 0


def test_two_fleets_must_fit_on_the_server_at_once(pg_dsn):
    """Each fleet alone fits, both together do not: refused before any process starts."""
    target = parse_dsn(pg_dsn)
    server = probes.probe_server(target)
    free = server.usable_connections - server.connections_in_use
    each = free // (2 * W) + 1  # W x each fits once, not twice
    big = PoolConfig(maxconnections=each)
    with pytest.raises(BadInput, match="the other fleet of the comparison takes") as caught:
        run_comparison(target, Side(big, A.workload), Side(big, B.workload, "B"), 1, processes=W)
    assert str(caught.value).startswith(f"B: This fleet of {W} processes")
    assert f"{W} x {each} = {W * each} connections" in str(caught.value)


def test_compare_refuses_a_fleet_the_server_cannot_hold(capsys, pg_dsn):
    code, out, err = run_cli(
        capsys,
        *("compare", "--dsn", pg_dsn, "--processes", "40", "--threads", "10"),
        *("--set", "maxconnections=10", "--duration", "0.3", "--rounds", "1"),
    )
    sentence = one_sentence(err.strip().splitlines()[-1])  # after the settings' warnings
    assert code == 2 and not out and "Traceback" not in err
    assert "A: This fleet of 40 processes" in sentence and "40 x 10 = 400 connections" in sentence
    assert "per process" in sentence


def test_compare_processes_json_says_the_fleet_and_that_nothing_is_left(capsys, pg_dsn):
    code, out, err = run_cli(
        capsys,
        *("compare", "--dsn", pg_dsn, "--processes", str(W), "--threads", "2"),
        *("--set", "maxconnections=2", "--duration", str(RUN_S), "--rounds", "1"),
        *("--b-set", "hold_ms=2", "--json"),
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["processes"] == W and payload["order"] == "ABBA"
    assert payload["figures"] and all(f["verdict"] for f in payload["figures"].values())
    assert all(c["sessions_left"] == 0 and c["verified"] for c in payload["closed"].values())
    assert err.count("pooltui: run ") == 4


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_a_fleet_comparison_and_every_process_closes(signum, pg_dsn):
    target = parse_dsn(pg_dsn)

    def b_fleet_running(err: str, pid: int) -> bool:
        """A's fleet finished; B's fleet of 20 s runs, each of its W processes with 2 sessions."""
        return "run 1/4 (A)" in err and pg_sessions_tagged(target, f"pooltui-{pid}-f2p%") >= 2 * W

    ended = signal_when(
        [
            *("compare", "--dsn", pg_dsn, "--threads", "2", "--set", "maxconnections=2"),
            *("--duration", str(RUN_S), "--rounds", "1", "--processes", str(W)),
            *("--b-set", "hold_ms=2", "--b-set", "duration_s=20"),
        ],
        b_fleet_running,
        signum,
    )
    assert ended.returncode == 128 + signum, ended.err
    assert ended.after_s < 15  # not B's 20 s
    assert "run 3/4" not in ended.err and "Traceback" not in ended.err
    assert "every connection was closed" in ended.err
    assert pg_sessions_tagged(target, f"pooltui-{ended.pid}-%") == 0  # every process's
