"""Fleet mode: W spawned processes, each with its own pool, against one real server.

The server's own count of the fleet's sessions must equal the processes' gauges and be 0 after
the run, after a stop, after a killed process; the fleet's figures are exact merges.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import one_sentence, run_cli

from pooltui.core.checks import capacity_problem
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.drivers.base import ServerInfo
from pooltui.core.fleet import FleetSample, run_fleet, share_workload
from pooltui.core.pool.histogram import LatencyHistogram
from pooltui.core.probes import count_connections_by, count_groups
from pooltui.core.targets import demo_target, parse_dsn

ROOT = Path(__file__).resolve().parent.parent
PINNED = PoolConfig(mincached=2, maxcached=2, maxconnections=2)  # open is 2 from build to close


@pytest.fixture(params=["pg_dsn", "mysql_dsn"])
def server_dsn(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(request.param)


def test_fleet_server_count_equals_the_processes_gauges_and_is_zero_after(server_dsn):
    target = parse_dsn(server_dsn)
    fleet = run_fleet(target, PINNED, Workload(threads=2, duration_s=2.0, hold_ms=10), 3)
    assert [p.ok for p in fleet.processes] == [True] * 3, [p.error for p in fleet.processes]
    ready = fleet.ready_census
    assert ready is not None and ready.server == ready.open_gauges == 6
    assert ready.per_process == (2, 2, 2)
    assert fleet.census, "the server was never counted during the run"
    assert fleet.peak_server == fleet.peak_open_sum == 6
    # while every process runs (the end is a race between a process's close and its report)
    running = [c for c in fleet.census if c.elapsed_s < 1.5]
    assert running and all(c.server == c.open_gauges == 6 for c in running), fleet.census
    assert fleet.left.sessions == 0 and fleet.left.verified
    # asked afresh, by each process's tag (PostgreSQL) and every id it reported (MySQL)
    assert fleet.result is not None
    for outcome in fleet.processes:
        assert outcome.left.sessions == 0
    assert len({p.pid for p in fleet.processes}) == 3 and os.getpid() not in {
        p.pid for p in fleet.processes
    }


def test_fleet_result_is_the_exact_merge_of_its_processes(tmp_path):
    """A SQLite fleet (pure tier): the merged figures are read off the added histograms."""
    target = demo_target()
    fleet = run_fleet(target, PoolConfig(maxconnections=2), Workload(threads=2, duration_s=0.4), 2)
    merged = fleet.result
    assert merged is not None and all(p.ok for p in fleet.processes)
    results = [p.result for p in fleet.processes]
    latency = results[0].histograms.latency + results[1].histograms.latency
    assert merged.latency == latency.summary()
    assert merged.latency.count == sum(r.latency.count for r in results) > 0
    assert merged.requests == sum(r.requests for r in results)
    assert merged.throughput_rps == pytest.approx(sum(r.throughput_rps for r in results))
    assert sorted(t.name for t in merged.per_thread) == sorted(
        f"p{i}/pooltui-worker-{j}" for i in range(2) for j in range(2)
    )


def test_a_process_whose_unmeasured_run_failed_makes_no_measured_run():
    """What ends a process's unmeasured run (here a query the server rejects every time)
    ends its measured one the same way: the process reports that error instead of a second
    run of it."""
    query = "SELECT * FROM pooltui_no_such_table"
    workload = Workload(threads=1, duration_s=5.0, query=query)
    fleet = run_fleet(demo_target(), PoolConfig(maxconnections=1), workload, 2, warmup_run_s=1.0)
    assert len(fleet.processes) == 2 and fleet.result is None
    for p in fleet.processes:
        assert p.warmup_run is not None and p.warmup_run.fatal_error
        assert p.result is None and p.error == p.warmup_run.fatal_error and not p.died


def test_merged_percentiles_equal_those_of_the_concatenated_samples():
    """Snapshots pickled as the processes send them, added: the percentiles one histogram fed
    every sample gives, where averaging the processes' percentiles is wrong."""
    rng = np.random.default_rng(14)
    parts = [
        rng.lognormal(-7.0, 0.5, 3000),
        rng.lognormal(-6.0, 1.0, 500),
        rng.lognormal(-5.0, 0.3, 1500),
    ]
    snapshots = []
    for samples in parts:
        hist = LatencyHistogram()
        for value in samples:
            hist.record(float(value))
        snapshots.append(pickle.loads(pickle.dumps(hist.snapshot())))
    merged = snapshots[0] + snapshots[1] + snapshots[2]
    whole = LatencyHistogram()
    for value in np.concatenate(parts):
        whole.record(float(value))
    for q in (50.0, 95.0, 99.0, 99.9):
        assert merged.percentile(q) == whole.percentile(q)
    assert merged.summary() == whole.summary()
    averaged = sum(s.percentile(99.0) for s in snapshots) / 3
    assert abs(averaged - whole.percentile(99.0)) > 0.05 * whole.percentile(99.0)


def test_a_killed_process_is_reported_and_its_sessions_are_gone(server_dsn):
    target = parse_dsn(server_dsn)
    killed: list[int] = []

    def kill_one(sample: FleetSample) -> None:
        if not killed and all(s is not None for s in sample.samples):
            pid = sample.pids[1]
            assert pid is not None
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)

    fleet = run_fleet(
        target, PINNED, Workload(threads=2, duration_s=1.5, hold_ms=20), 3, on_sample=kill_one
    )
    assert killed, "the run ended before every process had sampled"
    dead = fleet.processes[1]
    assert dead.died and dead.result is None and dead.pid == killed[0]
    assert "SIGKILL" in (dead.error or "")
    assert dead.left.sessions == 0 and dead.left.verified
    assert count_connections_by(target, dead.tag, set()) == 0
    assert [p.ok for p in fleet.processes] == [True, False, True]
    assert any("SIGKILL" in e and "went on" in e for e in fleet.events)
    assert fleet.result is not None
    assert {t.name.split("/")[0] for t in fleet.result.per_thread} == {"p0", "p2"}
    assert fleet.left.sessions == 0 and fleet.left.verified


def test_a_stop_ends_every_process_and_closes_every_connection(pg_dsn):
    target = parse_dsn(pg_dsn)
    stop = threading.Event()

    def stop_when_running(sample: FleetSample) -> None:
        if all(s is not None for s in sample.samples):
            stop.set()

    fleet = run_fleet(
        target,
        PINNED,
        Workload(threads=2, duration_s=30.0, hold_ms=20),
        2,
        stop=stop,
        on_sample=stop_when_running,
    )
    assert fleet.stopped and all(p.ok and p.result.stopped for p in fleet.processes)
    assert max(p.result.duration_s for p in fleet.processes) < 10.0
    assert fleet.left.sessions == 0 and fleet.left.verified
    assert count_groups(target, [(p.tag, set()) for p in fleet.processes]) == [0, 0]


def test_sigint_to_bench_processes_exits_130_with_nothing_left(pg_dsn):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pooltui",
            "bench",
            "--dsn",
            pg_dsn,
            "--processes",
            "2",
            "--threads",
            "2",
            "--duration",
            "30",
            "--hold-ms",
            "20",
            "--set",
            "maxconnections=2",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    target = parse_dsn(pg_dsn)
    tags = [f"pooltui-{proc.pid}-f1p{i}" for i in range(2)]
    try:
        deadline = 200  # x 0.1 s: spawning two interpreters on a loaded machine
        while sum(count_groups(target, [(t, set()) for t in tags])) < 4 and deadline:
            deadline -= 1
            assert proc.poll() is None, proc.communicate()
            threading.Event().wait(0.1)
        assert deadline, "the fleet never opened its connections"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "every connection was closed" in err
    assert "fleet: 2 processes" in out
    assert count_groups(target, [(t, set()) for t in tags]) == [0, 0]


def test_the_fleet_headroom_refusal_names_what_fits_per_process():
    server = ServerInfo("15", 100, 3, 10, None, None, "PostgreSQL")
    target = parse_dsn("postgresql://app@db.example:5432/shop")
    config = PoolConfig(maxconnections=30)
    workload = Workload(threads=30)
    assert capacity_problem(server, config, workload, target) is None  # one process fits
    problem = capacity_problem(server, config, workload, target, processes=4)
    assert problem is not None
    assert "4 x 30 = 120 connections" in problem and "87 free" in problem
    assert f"at most {server.free_per_process(4)} per process" in problem
    assert server.free_per_process(4) == 21
    assert capacity_problem(server, config, workload, target, processes=2) is None


def test_bench_refuses_a_fleet_the_server_cannot_hold(capsys, pg_dsn):
    code, out, err = run_cli(
        capsys,
        "bench",
        "--dsn",
        pg_dsn,
        "--processes",
        "40",
        "--threads",
        "10",
        "--set",
        "maxconnections=10",
        "--duration",
        "1",
    )
    sentence = one_sentence(err)
    assert code == 2 and not out
    assert "40 x 10 = 400 connections" in sentence and "per process" in sentence


def test_share_workload_splits_requests_and_rate_not_threads():
    workload = Workload(threads=4, requests=10, rate=90.0, pattern="poisson")
    shares = [share_workload(workload, i, 3) for i in range(3)]
    assert [s.requests for s in shares] == [4, 3, 3]
    assert all(s.threads == 4 and s.rate == 30.0 for s in shares)


def test_one_shared_pooler_waits_less_than_private_pools_of_the_same_connections():
    from pooltui.core.diagnosis.fleet import compare_pooler

    comparison = compare_pooler(4, 3, rate_per_s=2000.0, hold_s=0.004)
    assert comparison is not None
    assert comparison.private.server_connections == comparison.shared.server_connections == 12
    assert comparison.shared.mean_wait_ms < comparison.private.mean_wait_ms
    assert comparison.shared.wait_probability < comparison.private.wait_probability
    assert comparison.shared_enough is not None and comparison.shared_enough < 12
    # 4 x 3 connections at 8 busy on average: 2 per process of 3, so the private pools keep up
    assert comparison.private.mean_wait_ms != float("inf")


def test_diagnose_measure_fleet_refuses_a_fleet_the_server_cannot_hold(capsys, pg_dsn):
    code, out, err = run_cli(
        capsys,
        "diagnose",
        "--dsn",
        pg_dsn,
        "--processes",
        "200",
        "--threads",
        "8",
        "--rate",
        "100",
        "--set",
        "maxconnections=8",
        "--measure-fleet",
    )
    assert code == 2 and not out
    sentence = one_sentence(err)
    assert "200 processes" in sentence and "fewer processes" in sentence


def test_bench_processes_json_has_every_process_and_the_merge(capsys, sqlite_dsn):
    import json

    code, out, err = run_cli(
        capsys,
        "bench",
        "--dsn",
        sqlite_dsn,
        "--processes",
        "2",
        "--threads",
        "2",
        "--duration",
        "0.3",
        "--json",
    )
    assert code == 0, err
    payload = json.loads(out)
    fleet = payload["fleet"]
    assert fleet["processes"] == 2 and fleet["threads_per_process"] == 2
    assert payload["processes"] == 2  # the merged result says how many processes made it
    assert [p["result"]["processes"] for p in fleet["per_process"]] == [1, 1]
    per = fleet["per_process"]
    assert [p["ok"] for p in per] == [True, True]
    assert payload["requests"] == sum(p["result"]["requests"] for p in per) > 0
    assert len(payload["per_thread"]) == 4
    assert payload["closed"]["sessions_left"] == 0
    assert fleet["pooler"] is None  # SQLite has no external pooler to compare with
