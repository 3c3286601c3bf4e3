"""The load engine against the real servers: warm-up, the three patterns, bounds, stop, errors."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict
from typing import Any

import pytest

from pooltui.core import probes
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.diagnosis.rules import run_findings
from pooltui.core.errors import BadInput
from pooltui.core.load import engine
from pooltui.core.load.notes import RunNote
from pooltui.core.load.results import STARVED_SHARE
from pooltui.core.numbers import ms
from pooltui.core.pool import InstrumentedPool, PoolEvent
from pooltui.core.report import format_run

DEADLINE_S = 10.0
TIMINGS = ("p50", "p95", "p99", "max", "mean")


def eventually(read: Callable[[], Any], want: Any, what: str) -> None:
    """Poll until ``read()`` gives ``want`` (a server ends a session a little after close)."""
    deadline = time.monotonic() + DEADLINE_S
    pause = threading.Event()
    while (got := read()) != want and time.monotonic() < deadline:
        pause.wait(0.02)
    assert got == want, f"{what}: wanted {want!r}, still {got!r} after {DEADLINE_S} s"


def server_count(pool: InstrumentedPool, ids: set[int] | None = None) -> int:
    return probes.count_connections_by(
        pool.target, pool.tag, pool.server_ids() if ids is None else ids
    )


@pytest.fixture(params=["pg_dsn", "mysql_dsn"])
def server_dsn(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(request.param)


@pytest.fixture(params=["sqlite_dsn", "pg_dsn", "mysql_dsn"])
def any_dsn(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(request.param)


def assert_consistent(result: engine.RunResult) -> None:
    """What every finished run must satisfy, whatever happened in it."""
    assert result.errors == sum(result.error_kinds.values())
    assert result.latency.count == result.requests - result.errors
    assert result.pool.checked_out == 0, "a connection was left checked out"
    if result.duration_s > 0:
        ok = result.requests - result.errors
        assert result.throughput_rps == pytest.approx(ok / result.duration_s)


# --- warm-up -------------------------------------------------------------------------------


def test_warm_up_opens_connections_the_server_sees(server_dsn: str, pools) -> None:
    events: list[PoolEvent] = []
    pool = pools(server_dsn, PoolConfig(maxcached=4, maxconnections=4), on_event=events.append)
    assert server_count(pool) == 0

    warm = engine.warm_up(pool, 3)

    assert warm.opened == 3 and len(warm.connect_ms) == 3
    assert all(ms > 0 for ms in warm.connect_ms)
    assert warm.cold_measured and warm.idle == 3
    assert warm.warm_acquire_ms > 0 and warm.cold_acquire_ms > 0
    assert pool.snapshot().open == 3
    assert server_count(pool) == 3
    assert [e.kind for e in events] == ["warmup_done"]
    assert json.loads(json.dumps(warm.as_dict()))["opened"] == 3
    ids = pool.server_ids()
    pool.close()
    eventually(lambda: server_count(pool, ids), 0, "server sessions after close")


def test_warm_up_defaults_to_mincached_and_reports_preopened(pg_dsn: str, pools) -> None:
    pool = pools(pg_dsn, PoolConfig(mincached=3, maxcached=4, maxconnections=4))

    warm = engine.warm_up(pool)  # PooledDB opened mincached already: the first warm-up says so

    assert warm.opened == 3 and warm.idle == 3
    assert not warm.cold_measured  # nothing was cold any more: estimated from the connects
    assert warm.cold_acquire_ms > 0
    assert server_count(pool) == 3
    again = engine.warm_up(pool)
    assert again.opened == 0 and again.idle == 3
    with pytest.raises(BadInput):
        engine.warm_up(pool, 5)  # more than maxconnections


# --- steady --------------------------------------------------------------------------------


def test_steady_run_on_each_backend(any_dsn: str, pools) -> None:
    pool = pools(any_dsn, PoolConfig(mincached=2, maxcached=4, maxconnections=4))
    samples: list[engine.Sample] = []

    result = engine.run(
        pool,
        Workload(threads=4, duration_s=0.6, query="SELECT 1"),
        on_sample=samples.append,
        sample_interval_s=0.2,
    )

    assert result.requests > 0 and result.errors == 0 and not result.error_kinds
    assert result.throughput_rps == pytest.approx(result.requests / result.duration_s)
    assert result.pool.checkouts == result.requests
    assert result.query.count == result.requests
    assert not result.stopped and result.fatal_error is None
    assert result.pool.peak_checked_out <= 4
    assert samples and sum(s.interval_requests for s in samples) == result.requests
    assert all(s.interval_errors == 0 for s in samples)
    assert_consistent(result)


def test_odbc_smoke(odbc_pg_dsn: str, pools) -> None:
    pool = pools(odbc_pg_dsn, PoolConfig(maxcached=2, maxconnections=2))
    result = engine.run(pool, Workload(threads=2, duration_s=0.4))
    assert result.requests > 0 and result.errors == 0
    assert result.driver == "pyodbc"
    assert_consistent(result)


def test_requests_bound_is_exact(any_dsn: str, pools) -> None:
    pool = pools(any_dsn, PoolConfig(maxcached=3, maxconnections=3))
    result = engine.run(pool, Workload(threads=3, duration_s=60, requests=37))
    assert result.requests == 37 and result.errors == 0
    assert result.pool.checkouts == 37
    assert not result.stopped
    assert_consistent(result)


def test_requests_bound_is_exact_in_the_open_loop(pg_dsn: str, pools) -> None:
    pool = pools(pg_dsn, PoolConfig(maxcached=3, maxconnections=3))
    result = engine.run(
        pool, Workload(threads=3, duration_s=60, requests=25, pattern="poisson", rate=200), seed=5
    )
    assert result.requests == 25 and result.errors == 0
    assert result.schedule_lag.count == 25
    assert_consistent(result)


def test_stop_from_another_thread_ends_the_run(pg_dsn: str, pools) -> None:
    pool = pools(pg_dsn, PoolConfig(maxcached=4, maxconnections=4))
    stop, sampled = threading.Event(), threading.Event()

    def stopper() -> None:
        sampled.wait(DEADLINE_S)
        stop.set()

    thread = threading.Thread(target=stopper)
    thread.start()
    workload = Workload(threads=4, duration_s=60, hold_ms=5)
    result = engine.run(
        pool, workload, stop=stop, on_sample=lambda s: sampled.set(), sample_interval_s=0.1
    )
    thread.join()

    assert sampled.is_set()
    assert result.stopped and result.fatal_error is None
    assert result.duration_s < workload.duration_s
    assert result.requests > 0
    assert result.noted(RunNote.STOPPED), result.events
    assert result.as_dict()["stopped"] is True
    assert_consistent(result)


def test_stop_already_set_runs_nothing(sqlite_dsn: str, pools) -> None:
    pool = pools(sqlite_dsn, PoolConfig())
    stop = threading.Event()
    stop.set()
    result = engine.run(pool, Workload(threads=2, duration_s=60), stop=stop)
    assert result.requests == 0 and result.stopped
    assert_consistent(result)


# --- open loop ------------------------------------------------------------------------------


def test_saturated_poisson_run_shows_waits_and_schedule_lag(pg_dsn: str, pools) -> None:
    # 2 connections held 20 ms serve at most 100 requests/s; 300/s arrive: a queue must build
    pool = pools(pg_dsn, PoolConfig(mincached=2, maxcached=2, maxconnections=2))
    samples: list[engine.Sample] = []
    workload = Workload(threads=4, duration_s=1.0, pattern="poisson", rate=300, hold_ms=20)

    result = engine.run(pool, workload, on_sample=samples.append, seed=3)

    served = result.requests - result.errors
    assert served > 0
    assert result.pool.peak_waiting >= 1  # threads blocked in connection()
    assert result.pool.peak_checked_out == 2
    assert result.schedule_lag.count == served
    assert result.schedule_lag.p95 > workload.hold_ms  # arrivals waited behind whole holds
    assert result.latency.max >= result.schedule_lag.max  # latency counts from the arrival
    assert any(s.schedule_lag_ms > 0 for s in samples)
    assert set(result.error_kinds) <= {engine.OVERLOAD}
    assert result.fatal_error is None
    assert_consistent(result)


def test_bursty_run_has_quiet_phases(sqlite_dsn: str, pools) -> None:
    config = PoolConfig(maxcached=2, maxconnections=2)
    steady = Workload(threads=2, duration_s=1.5, pattern="poisson", rate=200)
    bursty = Workload(threads=2, duration_s=1.5, pattern="bursty", rate=200)
    flat = engine.run(pools(sqlite_dsn, config), steady, seed=11)
    burst = engine.run(pools(sqlite_dsn, config), bursty, seed=11)
    assert burst.requests > 0 and burst.errors == 0
    # 1 s at 200/s then 0.5 s at 20/s: about 210 arrivals against about 300
    assert burst.requests < 0.85 * flat.requests
    assert burst.schedule_lag.count == burst.requests
    assert_consistent(burst)


# --- errors ---------------------------------------------------------------------------------


def test_non_blocking_pool_counts_rejections(pg_dsn: str, pools) -> None:
    pool = pools(pg_dsn, PoolConfig(maxcached=2, maxconnections=2, blocking=False))
    result = engine.run(pool, Workload(threads=6, duration_s=0.6, hold_ms=10))
    assert result.error_kinds.get(engine.REJECTED, 0) > 0
    assert result.error_kinds[engine.REJECTED] == result.pool.rejections
    assert result.requests > result.errors  # the ones that got a connection succeeded
    assert result.fatal_error is None  # rejections are the pool's answer, not a broken workload
    assert result.pool.peak_checked_out <= 2
    assert result.noted(RunNote.REJECTED), result.events
    assert_consistent(result)


def test_failing_query_ends_with_a_fatal_sentence(any_dsn: str, pools) -> None:
    pool = pools(any_dsn, PoolConfig(maxcached=2, maxconnections=2))
    workload = Workload(threads=2, duration_s=60, query="SELEC 1")

    result = engine.run(pool, workload)  # no exception

    assert result.fatal_error is not None
    assert "\n" not in result.fatal_error and result.fatal_error.endswith(".")
    assert result.errors == result.requests >= engine.FATAL_AFTER
    assert result.duration_s < workload.duration_s and not result.stopped
    assert result.pool.query_errors == result.errors
    assert result.as_dict()["fatal_error"] == result.fatal_error
    assert_consistent(result)


def test_on_sample_that_raises_does_not_end_the_run(sqlite_dsn: str, pools) -> None:
    def broken(sample: engine.Sample) -> None:
        raise RuntimeError("front end bug")

    pool = pools(sqlite_dsn, PoolConfig(maxconnections=2))
    result = engine.run(
        pool, Workload(threads=2, duration_s=0.3), on_sample=broken, sample_interval_s=0.1
    )
    assert result.requests > 0 and result.errors == 0
    assert "on_sample raised RuntimeError" in result.noted(RunNote.ON_SAMPLE_FAILED)
    assert_consistent(result)


def test_impossible_workload_is_bad_input(sqlite_dsn: str, pools) -> None:
    pool = pools(sqlite_dsn, PoolConfig())
    with pytest.raises(BadInput):
        engine.run(pool, Workload(threads=0))
    with pytest.raises(BadInput):
        engine.run(pool, Workload(pattern="poisson", rate=0))
    assert pool.snapshot().checkouts == 0


@pytest.mark.parametrize("backend", ["pg_dsn", "mysql_dsn"])
def test_sessions_killed_mid_burst_are_survived(
    backend: str, request: pytest.FixtureRequest, pools
) -> None:
    pool = pools(
        request.getfixturevalue(backend), PoolConfig(mincached=4, maxcached=4, maxconnections=4)
    )
    killed: set[int] = set()
    ended: list[int] = []
    samples: list[engine.Sample] = []

    def on_sample(sample: engine.Sample) -> None:
        samples.append(sample)
        if not ended:  # first sample: the server kills every connection of the pool
            killed.update(pool.server_ids())
            ended.append(probes.terminate_sessions(pool.target, killed))
            ended.append(len(samples))

    result = engine.run(
        pool,
        Workload(threads=4, duration_s=1.2, hold_ms=2),
        on_sample=on_sample,
        sample_interval_s=0.2,
    )

    assert ended and ended[0] >= 1
    assert result.fatal_error is None and not result.stopped
    after = samples[ended[1] :]
    assert any(s.interval_requests - s.interval_errors > 0 for s in after), (
        "no request succeeded after the kill"
    )
    # DBUtils' failover reopens a killed connection on its next use and re-runs the statement,
    # so the kill shows as reconnects (and as errors only when a retry fails too)
    assert result.pool.connects >= 1
    assert result.pool.reconnects >= 1, "the replaced connections were not counted"
    assert result.noted(RunNote.RECONNECTED), result.events
    assert pool.server_ids().isdisjoint(killed)
    assert server_count(pool) == pool.snapshot().open
    assert_consistent(result)
    ids = pool.server_ids()
    pool.close()
    eventually(lambda: server_count(pool, ids), 0, "server sessions after close")


# --- the bench --json object ------------------------------------------------------------------


def test_as_dict_is_the_bench_json_object_without_a_password(pg_dsn: str, pools) -> None:
    scheme, rest = pg_dsn.split("://", 1)
    userinfo, where = rest.split("@", 1)
    user, _, secret = userinfo.partition(":")
    secret = secret or "s3cr3t-pw"  # trust auth on the test server ignores it
    pool = pools(
        f"{scheme}://{user}:{secret}@{where}",
        PoolConfig(mincached=2, maxcached=1, maxconnections=3),
    )
    result = engine.run(pool, Workload(threads=2, duration_s=0.3), server_version="15.x")

    data = json.loads(json.dumps(result.as_dict()))

    for key in (
        "requests",
        "errors",
        "duration_s",
        "throughput_rps",
        "workload",
        "schedule_lag_ms",
        "error_kinds",
        "query_ms",
        "stopped",
        "events",
        "event_kinds",
    ):
        assert key in data
    for key in ("latency_ms", "acquire_ms", "hold_ms"):
        assert set(TIMINGS) <= set(data[key])
    assert data["requests"] == result.requests
    assert data["pool"]["checkouts"] == result.requests
    assert data["config"] == asdict(pool.validation.effective) | {"setsession": []}
    assert data["config"]["maxcached"] == 2  # DBUtils raises maxcached to mincached
    assert data["target"] == {
        "dsn": pool.target.redacted,
        "driver": "psycopg",
        "server_version": "15.x",
    }
    assert "***" in data["target"]["dsn"]
    assert secret not in json.dumps(data)
    assert secret not in repr(result)


def test_every_event_has_its_kind_and_the_json_keeps_both(sqlite_dsn: str, pools) -> None:
    def broken(sample: engine.Sample) -> None:
        raise RuntimeError("front end bug")

    pool = pools(sqlite_dsn, PoolConfig(maxconnections=1, blocking=False))
    result = engine.run(
        pool,
        Workload(threads=4, duration_s=0.3, hold_ms=20),
        on_sample=broken,
        sample_interval_s=0.1,
    )
    assert len(result.event_kinds) == len(result.events)
    assert all(isinstance(kind, RunNote) for kind in result.event_kinds)
    assert {RunNote.REJECTED, RunNote.ON_SAMPLE_FAILED} <= set(result.event_kinds)
    assert result.noted(RunNote.REJECTED) == [
        text
        for text in result.events
        if text.endswith("requests rejected: the pool was at maxconnections and blocking is off")
    ]
    data = json.loads(json.dumps(result.as_dict()))
    assert data["events"] == result.events  # the texts stay a list of sentences
    assert data["event_kinds"] == [str(kind) for kind in result.event_kinds]
    assert "rejected" in data["event_kinds"] and "on_sample_failed" in data["event_kinds"]


SLOW_QUERIES = {  # each would run for minutes: only the stop's cancel can end it early
    "pg_dsn": "SELECT pg_sleep(600)",
    "mysql_dsn": "SELECT SLEEP(600)",
    "odbc_pg_dsn": "SELECT pg_sleep(600)",
    "odbc_mysql_dsn": "SELECT SLEEP(600)",
    "sqlite_dsn": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < 4000000000) SELECT count(*) FROM c",
}


def running_statements(pool: InstrumentedPool, ids: set[int]) -> int:
    """Statements the server is still executing for these sessions (asked through the pool's
    own driver: ODBC too)."""
    listed = ",".join(str(i) for i in sorted(ids)) or "NULL"
    sql = {
        "postgresql": f"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
        f"AND pid IN ({listed})",
        "mysql": f"SELECT count(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' "
        f"AND ID IN ({listed})",
    }[pool.target.backend]
    con = pool.target.connect()
    try:
        cur = con.cursor()
        cur.execute(sql)
        return cur.fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize("backend", sorted(SLOW_QUERIES))
def test_stop_cancels_the_statements_still_running(backend: str, request, pools) -> None:
    pool = pools(request.getfixturevalue(backend), PoolConfig(maxconnections=3))
    stop = threading.Event()

    def on_sample(sample: engine.Sample) -> None:
        if sample.stats.checked_out == 3:  # every worker is inside its endless statement
            stop.set()

    result = engine.run(
        pool,
        Workload(threads=3, duration_s=600, query=SLOW_QUERIES[backend]),
        stop=stop,
        on_sample=on_sample,
        sample_interval_s=0.1,
    )

    assert result.stopped and result.errors == 0 and result.fatal_error is None
    assert any("cancel 3 statements" in text for text in result.noted(RunNote.CANCELLED)), (
        result.events
    )
    assert pool.snapshot().checked_out == 0
    # DBUtils' failover did not quietly run the cancelled statements again
    assert pool.snapshot().reconnects == 0
    if pool.target.backend != "sqlite":
        assert len(pool.server_ids()) == 3
        eventually(
            lambda: running_statements(pool, pool.server_ids()),
            0,
            "statements still running on the server after the stop",
        )
    # the pool is fine for the next run: failures are fatal for DBUtils again
    after = engine.run(pool, Workload(threads=1, requests=5, duration_s=60, query="SELECT 1"))
    assert after.requests == 5 and after.errors == 0


def test_stop_runs_nothing_for_callers_still_waiting_for_a_connection(pg_dsn, pools) -> None:
    """Twice as many threads as connections: the waiters get a connection after the cancel, and
    must give it back instead of starting their ten-minute statement."""
    pool = pools(pg_dsn, PoolConfig(maxconnections=3))
    stop = threading.Event()

    def on_sample(sample: engine.Sample) -> None:
        if sample.stats.checked_out == 3 and sample.stats.waiting >= 3:
            stop.set()

    result = engine.run(
        pool,
        Workload(threads=6, duration_s=600, query=SLOW_QUERIES["pg_dsn"]),
        stop=stop,
        on_sample=on_sample,
        sample_interval_s=0.1,
    )

    assert result.stopped and result.errors == 0 and result.requests == 0
    assert any("cancel 3 statements" in text for text in result.noted(RunNote.CANCELLED)), (
        result.events
    )
    eventually(
        lambda: running_statements(pool, pool.server_ids()),
        0,
        "statements still running on the server after the stop",
    )


def test_a_stop_the_dispatcher_passes_on_first_still_cancels_at_once(pg_dsn, pools) -> None:
    """The open loop's dispatcher sees the stop in its own wait and raises the workers' flag
    before run()'s loop does; run() must still cancel the running statements then, not at the
    next sample, which here is a minute away."""
    pool = pools(pg_dsn, PoolConfig(maxconnections=2))
    stop = threading.Event()

    def stop_once_both_statements_run() -> None:
        eventually(lambda: pool.snapshot().checked_out, 2, "both statements running")
        stop.set()

    stopper = threading.Thread(target=stop_once_both_statements_run)
    stopper.start()
    started = time.perf_counter()
    result = engine.run(
        pool,
        Workload(
            threads=2, duration_s=600, pattern="poisson", rate=500, query=SLOW_QUERIES["pg_dsn"]
        ),
        stop=stop,
        sample_interval_s=60.0,
        seed=3,
    )
    elapsed = time.perf_counter() - started
    stopper.join()
    assert result.stopped
    assert any("cancel 2 statements" in text for text in result.noted(RunNote.CANCELLED)), (
        result.events
    )
    assert elapsed < 60.0, "the cancel waited for the next sample"


# --- the tail: fairness, starvation, unfinished waits ---------------------------------------


def test_per_thread_table_adds_up_to_the_run(any_dsn: str, pools) -> None:
    """Each worker's row, read at the end off its tally and its acquire shard, sums to the
    run's own counts, and the fairness figures are the ones the rows give."""
    pool = pools(any_dsn, PoolConfig(maxconnections=2, maxcached=2))
    result = engine.run(pool, Workload(threads=4, duration_s=0.6))

    rows = result.per_thread
    assert [t.name for t in rows] == [f"pooltui-worker-{i}" for i in range(4)]
    assert sum(t.requests for t in rows) == result.requests
    assert sum(t.ok for t in rows) == result.requests - result.errors
    assert sum(t.checkouts for t in rows) == result.pool.checkouts
    assert max(t.longest_wait_ms for t in rows) == pytest.approx(result.acquire.max)
    assert all(0 <= t.waits <= t.checkouts for t in rows)
    oks = [t.ok for t in rows]
    assert result.fairness == pytest.approx(sum(oks) ** 2 / (len(oks) * sum(x * x for x in oks)))
    assert 1 / len(rows) <= result.fairness <= 1.0
    mean = sum(oks) / len(oks)
    assert result.starved == [t for t in rows if t.ok < STARVED_SHARE * mean]
    assert result.unfinished_waits == 0 and not result.noted(RunNote.STILL_WAITING)
    data = json.loads(json.dumps(result.as_dict()))
    assert [row["ok"] for row in data["per_thread"]] == oks
    assert data["fairness"]["threads"] == 4
    assert data["fairness"]["starved"] == len(result.starved)
    assert data["acquire_ms"]["p999"] == round(result.acquire.p999, 3)
    assert result.acquire.p99 <= result.acquire.p999 <= result.acquire.max


def test_sqlite_starves_threads_through_the_unfair_handoff(sqlite_dsn: str, pools) -> None:
    """DBUtils' Condition is not FIFO. On SQLite a request is a few µs of C with the GIL held,
    so a thread returning its connection still holds the GIL when it asks again, finds the
    connection it just returned idle and takes it, while the woken waiter is still waiting for
    the GIL. 8 threads on 4 connections starve some threads in about 4 runs of 5 on this 2-core
    machine (Jain 0.5-0.85); on 2 connections 5-6 of the 8 threads are starved in every run,
    so the test uses 2. (PostgreSQL and MariaDB are fair here: the rollback on return is a
    round trip that gives the GIL away.)"""
    pool = pools(sqlite_dsn, PoolConfig(maxconnections=2, maxcached=2))
    result = engine.run(pool, Workload(threads=8, duration_s=3.0, hold_ms=0))

    assert result.errors == 0
    starved = result.starved
    assert starved, [(t.name, t.ok) for t in result.per_thread]
    assert result.fairness is not None and result.fairness < 1.0
    mean = sum(t.ok for t in result.per_thread) / 8
    # a starved thread waited: its longest wait is far beyond what a served request takes
    assert all(t.ok < STARVED_SHARE * mean for t in starved)
    assert max(t.longest_wait_ms for t in starved) > result.acquire.p99
    (finding,) = [f for f in run_findings(result) if "unfair handoff" in f.message]
    assert finding.level == "warning"
    assert f"{len(starved)} of 8 threads were starved" in finding.message
    assert f"Jain's fairness {result.fairness:.2f}" in finding.message
    assert f"acquire max was {ms(result.acquire.max)}" in finding.message
    text = format_run(result)
    assert f"{len(starved)} starved" in text and "finding: " in text
    assert "p99.9" in text
    # the text names the least served (a tie goes to the longest wait), not all of them
    least = min(result.per_thread, key=lambda t: (t.ok, -t.longest_wait_ms))
    most = max(result.per_thread, key=lambda t: t.ok)
    assert least.name in text and f"{most.name} " not in text


@pytest.mark.parametrize("name", ["sqlite_dsn", "pg_dsn"])
def test_callers_still_waiting_at_the_end_count_with_their_wait(name: str, request, pools) -> None:
    """No survivorship bias: the run's two workers wait for the one connection the test holds
    all run long; when the run ends they are still waiting, and their waits so far are in the
    acquire figures (not in the checkouts), with a note of their own. The live samples show the
    oldest waiter ageing meanwhile."""
    pool = pools(request.getfixturevalue(name), PoolConfig(maxconnections=1))
    stop = threading.Event()
    ages: list[float] = []

    def on_sample(sample: engine.Sample) -> None:
        if sample.stats.waiting:
            ages.append(sample.stats.oldest_wait_ms)
        if ages and ages[-1] > 300.0:
            stop.set()

    with ExitStack() as held:
        held.enter_context(pool.connection())
        before = time.perf_counter()
        result = engine.run(
            pool,
            Workload(threads=2, duration_s=60.0),
            stop=stop,
            on_sample=on_sample,
            sample_interval_s=0.05,
        )
        after = time.perf_counter()
    assert ages == sorted(ages) and ages[-1] > 300.0, ages
    assert result.stopped and result.requests == 0
    assert result.unfinished_waits == 2
    assert ages[-1] < result.unfinished_wait_max_ms <= (after - before) * 1000.0
    assert result.pool.checkouts == 0  # nobody was handed a connection
    assert result.acquire.count == 2  # but both waits count, as long as they had lasted
    assert result.acquire.max == pytest.approx(result.unfinished_wait_max_ms)
    assert result.pool.peak_oldest_wait_ms >= ages[-1]
    for row in result.per_thread:
        assert row.checkouts == 0 and row.waits == 1
        assert row.waiting_ms > 300.0 and row.longest_wait_ms == row.waiting_ms
    # the oldest waiter's age, as the last sample saw it, went on growing to the end
    assert max(row.waiting_ms for row in result.per_thread) > ages[-1]
    (note,) = result.noted(RunNote.STILL_WAITING)
    assert note.startswith("2 callers were still waiting for a connection at the end")
    assert ms(result.unfinished_wait_max_ms) in note
    # an application timeout at any rung below those waits would have failed both
    assert result.timeout_what_if() and all(s == 1.0 for _, s in result.timeout_what_if())
    data = json.loads(json.dumps(result.as_dict()))
    assert data["unfinished_waits"]["count"] == 2
    assert "still_waiting" in data["event_kinds"]
