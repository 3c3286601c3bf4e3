"""InstrumentedPool against the real servers: gauges vs the server's own count, limits, leaks."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from types import SimpleNamespace
from typing import Any

import pytest
from dbutils.pooled_db import TooManyConnectionsError

from pooltui.core import probes
from pooltui.core.config import PoolConfig, validate
from pooltui.core.errors import BadInput, CannotConnect, RunFailed
from pooltui.core.pool import InstrumentedPool, PoolEvent
from pooltui.core.targets import parse_dsn

DEADLINE_S = 10.0
BACKENDS = ["pg_dsn", "mysql_dsn", "odbc_pg_dsn", "odbc_mysql_dsn", "sqlite_dsn"]
SERVERS = ["pg_dsn", "mysql_dsn", "odbc_pg_dsn", "odbc_mysql_dsn"]


def eventually(read: Callable[[], Any], want: Any, what: str) -> Any:
    """Poll ``read()`` until it returns ``want`` or the deadline passes (servers lag a little)."""
    deadline = time.monotonic() + DEADLINE_S
    pause = threading.Event()
    while True:
        got = read()
        if got == want or time.monotonic() > deadline:
            assert got == want, f"{what}: wanted {want!r}, still {got!r} after {DEADLINE_S} s"
            return got
        pause.wait(0.02)


def server_count(pool: InstrumentedPool) -> int | None:
    """The server's own count of this pool's connections (None: SQLite has no server)."""
    return probes.count_connections_by(pool.target, pool.tag, pool.server_ids())


@pytest.fixture(params=BACKENDS)
def dsn(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(request.param)


@pytest.fixture(params=SERVERS)
def server_dsn(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(request.param)


@pytest.fixture
def pools():
    """Build pools through this; every one is closed at the end, even when the test fails."""
    with ExitStack() as stack:

        def build(target: Any, config: PoolConfig, **kwargs: Any) -> InstrumentedPool:
            return stack.enter_context(InstrumentedPool(target, config, **kwargs))

        yield build


def checkout(pool: InstrumentedPool, stack: ExitStack, n: int, shareable: bool = True) -> list:
    return [stack.enter_context(pool.connection(shareable)) for _ in range(n)]


def select_one(con: Any) -> Any:
    cursor = con.cursor()
    try:
        cursor.execute("SELECT 1")
        return cursor.fetchall()[0][0]
    finally:
        cursor.close()


# --- configuration ------------------------------------------------------------------------


def test_refuses_a_config_that_validation_refuses(sqlite_dsn):
    target = parse_dsn(sqlite_dsn)
    hang = PoolConfig(mincached=4, maxcached=0, maxconnections=2, blocking=True)
    first_error = next(f for f in validate(hang, target.facts).findings if f.level == "error")
    with pytest.raises(BadInput) as caught:
        InstrumentedPool(target, hang)
    assert str(caught.value) == first_error.message


def test_tag_default_is_unique_per_pool(sqlite_dsn, pools):
    target = parse_dsn(sqlite_dsn)
    first, second = pools(target, PoolConfig()), pools(target, PoolConfig())
    assert first.tag.startswith("pooltui-") and second.tag.startswith("pooltui-")
    assert first.tag != second.tag
    assert pools(target, PoolConfig(), tag="mine").tag == "mine"
    assert first.target is target and first.validation.ok


# --- gauges against the server ------------------------------------------------------------


def test_gauges_agree_with_the_server(dsn, pools):
    target = parse_dsn(dsn)
    pool = pools(target, PoolConfig(maxconnections=8, maxcached=8, mincached=1))
    assert pool.snapshot().idle == 1 and len(pool.initial_connect_times) == 1
    k, j = 3, 2
    with ExitStack() as held:
        cons = checkout(pool, held, k)
        with ExitStack() as returned:
            checkout(pool, returned, j)
        assert [select_one(con) for con in cons] == [1] * k
        stats = pool.snapshot()
        assert (stats.checked_out, stats.idle, stats.open) == (k, j, k + j)
        assert stats.connects == k + j and stats.closes == 0 and stats.checkouts == k + j
        assert stats.peak_checked_out == k + j and stats.peak_open == k + j
        if target.backend != "sqlite":
            eventually(lambda: server_count(pool), stats.open, "server count while held")
        if target.kind in ("postgresql", "mysql"):
            assert len(pool.server_ids()) == k + j
    stats = pool.snapshot()
    assert (stats.checked_out, stats.idle, stats.open) == (0, k + j, k + j)
    assert stats.hold.count == k + j and stats.acquire.count == k + j
    assert stats.connect.count == k + j  # the 1 from mincached was reused, so k+j-1 new + 1


def test_overflow_connections_are_closed_on_return(server_dsn, pools):
    target = parse_dsn(server_dsn)
    pool = pools(target, PoolConfig(maxcached=2, maxconnections=5))
    with ExitStack() as held:
        checkout(pool, held, 5)
        stats = pool.snapshot()
        assert (stats.checked_out, stats.open, stats.overflow) == (5, 5, 3)
        eventually(lambda: server_count(pool), 5, "server count with 5 out")
    stats = pool.snapshot()
    assert (stats.idle, stats.closes, stats.open, stats.overflow) == (2, 3, 2, 0)
    assert stats.peak_overflow == 3 and stats.maxcached == 2 and stats.maxconnections == 5
    eventually(lambda: server_count(pool), 2, "server count after returning all")


def test_close_closes_every_connection_even_those_still_held(server_dsn):
    target = parse_dsn(server_dsn)
    pool = InstrumentedPool(target, PoolConfig(maxcached=2, maxconnections=6, mincached=2))
    stack = ExitStack()
    try:
        checkout(pool, stack, 4)  # 2 from the idle cache, 2 new; still held at close()
        eventually(lambda: server_count(pool), 4, "server count before close")
        pool.close()
        assert pool.snapshot().open == 0 and pool.server_ids() == set()
        eventually(lambda: server_count(pool), 0, "server count after close")
        pool.close()  # idempotent
        with pytest.raises(RunFailed), pool.connection():
            pass
    finally:
        stack.close()  # the callers give their (closed) connections back late: no error
    stats = pool.snapshot()
    assert stats.open == 0 and stats.idle == 0 and stats.closes == 4
    eventually(lambda: server_count(pool), 0, "server count after late returns")


# --- limits ---------------------------------------------------------------------------------


def test_blocking_false_rejects_at_the_limit(server_dsn, pools):
    pool = pools(parse_dsn(server_dsn), PoolConfig(maxconnections=2, blocking=False))
    with ExitStack() as held:
        checkout(pool, held, 2)
        with pytest.raises(TooManyConnectionsError), pool.connection():
            pass
        stats = pool.snapshot()
        assert stats.rejections == 1 and stats.checkouts == 2 and stats.waiting == 0
    with pool.connection() as con:  # free again once returned
        assert select_one(con) == 1
    assert pool.snapshot().checkouts == 3


def test_blocking_true_shows_the_waiter(dsn, pools):
    pool = pools(parse_dsn(dsn), PoolConfig(maxconnections=1, blocking=True))
    got_it = threading.Event()

    def waiter() -> None:
        with pool.connection() as con:
            select_one(con)
            got_it.set()

    with ExitStack() as held:
        checkout(pool, held, 1)
        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        eventually(lambda: pool.snapshot().waiting, 1, "waiting gauge")
        assert not got_it.is_set()
    thread.join(DEADLINE_S)
    assert got_it.is_set() and not thread.is_alive()
    stats = pool.snapshot()
    assert stats.waiting == 0 and stats.peak_waiting == 1
    assert stats.checkouts == 2 and stats.open == 1 and stats.peak_checked_out == 1


@pytest.mark.parametrize("name", ["sqlite_dsn", "pg_dsn", "mysql_dsn"])
def test_the_oldest_waiter_gauge_ages_while_a_caller_waits(name, request, pools):
    """PgBouncer's maxwait: the age of the longest current wait rises while a caller waits
    for the connection the test holds, drops to 0 when it is served, and its peak is then
    the whole wait."""
    pool = pools(parse_dsn(request.getfixturevalue(name)), PoolConfig(maxconnections=1))
    served = threading.Event()

    def waiter() -> None:
        with pool.connection() as con:
            select_one(con)
        served.set()

    seen: list[float] = []
    with ExitStack() as held:
        checkout(pool, held, 1)
        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        deadline = time.monotonic() + DEADLINE_S
        pause = threading.Event()
        while not seen or seen[-1] <= 300.0:  # until the wait is visibly older than 0.3 s
            assert time.monotonic() < deadline, f"the oldest wait never passed 300 ms: {seen}"
            stats = pool.snapshot(timings=False)
            if stats.waiting:
                seen.append(stats.oldest_wait_ms)
                assert stats.peak_oldest_wait_ms >= stats.oldest_wait_ms
            pause.wait(0.02)
        assert not served.is_set()
        assert seen == sorted(seen) and seen[0] < seen[-1], "the age did not keep rising"
    thread.join(DEADLINE_S)
    assert served.is_set()
    stats = pool.snapshot()
    assert stats.oldest_wait_ms == 0.0 and stats.waiting == 0
    # the wait went on after the last look: its peak is the whole wait, the longest acquire
    assert stats.peak_oldest_wait_ms >= seen[-1]
    assert stats.peak_oldest_wait_ms == stats.acquire.max


def test_maxshared_is_honoured_on_psycopg(pg_dsn, pools):
    target = parse_dsn(pg_dsn)
    pool = pools(target, PoolConfig(maxshared=2, maxconnections=4, maxcached=4))
    assert pool.validation.effective.maxshared == 2
    assert pool._pool._maxshared == 2  # DBUtils saw threadsafety 2 through the creator
    with ExitStack() as held:
        cons = checkout(pool, held, 4)
        assert [select_one(con) for con in cons] == [1, 1, 1, 1]
        stats = pool.snapshot()
        assert stats.checkouts == 4 and stats.shared == 2 and stats.peak_shared == 2
        assert stats.open == 2 and stats.checked_out == 2
        eventually(lambda: server_count(pool), 2, "server connections behind 4 shared checkouts")
    stats = pool.snapshot()
    assert stats.shared == 0 and stats.idle == 2


def test_maxshared_is_zeroed_on_pymysql(mysql_dsn, pools):
    target = parse_dsn(mysql_dsn)
    pool = pools(target, PoolConfig(maxshared=2, maxconnections=4, maxcached=4))
    assert pool.validation.effective.maxshared == 0 and pool._pool._maxshared == 0
    assert any(f.param == "maxshared" and f.level == "warning" for f in pool.validation.findings)
    with ExitStack() as held:
        checkout(pool, held, 4)
        stats = pool.snapshot()
        assert stats.shared == 0 and stats.checked_out == 4 and stats.open == 4
        eventually(lambda: server_count(pool), 4, "one server connection per checkout")


def test_counts_stay_consistent_under_concurrent_churn(pg_dsn, pools):
    pool = pools(parse_dsn(pg_dsn), PoolConfig(maxconnections=4, maxcached=2, blocking=True))
    threads, per_thread = 8, 100
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with pool.connection() as con:
                    if i % 10 == 0:
                        select_one(con)
        except BaseException as exc:  # surfaced by the assertion below
            failures.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert failures == [] and not any(w.is_alive() for w in workers)
    stats = pool.snapshot()
    assert stats.checkouts == threads * per_thread
    assert stats.acquire.count == stats.hold.count == threads * per_thread
    assert stats.checked_out == 0 and stats.waiting == 0
    assert stats.open == stats.connects - stats.closes == stats.idle
    assert 1 <= stats.idle <= 2  # returns beyond maxcached were closed
    assert stats.peak_checked_out <= 4 and stats.peak_open <= 4
    eventually(lambda: server_count(pool), stats.open, "server count after the churn")


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("pg_dsn", PoolConfig(mincached=2, maxcached=2, ping=1, ping_query="SELECT 1")),
        ("mysql_dsn", PoolConfig(mincached=2, maxcached=2, ping=1)),
    ],
)
def test_reconnects_after_a_server_kill_are_counted(name, config, request, pools):
    target = parse_dsn(request.getfixturevalue(name))
    pool = pools(target, config)
    before = pool.server_ids()
    assert len(before) == 2
    assert probes.terminate_sessions(target, before) == 2
    with ExitStack() as held:
        cons = checkout(pool, held, 2)  # ping finds both dead; DBUtils reopens them
        assert [select_one(con) for con in cons] == [1, 1]
        stats = pool.snapshot()
        assert (stats.connects, stats.closes, stats.open) == (4, 2, 2)
        assert pool.server_ids().isdisjoint(before) and len(pool.server_ids()) == 2
        eventually(lambda: server_count(pool), 2, "server count after reconnecting")


# --- connect failures -----------------------------------------------------------------------


def test_refused_connect_is_cannot_connect_and_counted(pools):
    target = parse_dsn("postgresql://postgres@127.0.0.1:1/test")
    events: list[PoolEvent] = []
    with pytest.raises(CannotConnect):
        InstrumentedPool(target, PoolConfig(mincached=1, maxcached=1))
    pool = pools(target, PoolConfig(), on_event=events.append)
    with pytest.raises(CannotConnect) as caught, pool.connection():
        pass
    stats = pool.snapshot()
    assert stats.connect_errors == 1 and stats.connects == 0 and stats.open == 0
    assert stats.waiting == 0
    assert [e.kind for e in events] == ["connect_failed"]
    assert events[0].message == str(caught.value)


class _GatedSqlite:
    """A DB-API module over real sqlite3 whose connect can be held at a gate or made to fail."""

    threadsafety = sqlite3.threadsafety
    OperationalError = sqlite3.OperationalError
    InterfaceError = sqlite3.InterfaceError
    InternalError = sqlite3.InternalError

    def __init__(self, path: str, *, fail_after: int | None = None) -> None:
        self.path = path
        self.fail_after = fail_after
        self.calls = 0
        self.opened: list[sqlite3.Connection] = []
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.gate.set()

    def connect(self, **kwargs: Any) -> sqlite3.Connection:
        self.calls += 1
        self.entered.set()
        assert self.gate.wait(DEADLINE_S), "the test never opened the gate"
        if self.fail_after is not None and self.calls > self.fail_after:
            return sqlite3.connect("/nonexistent-dir/x.db", check_same_thread=False)
        con = sqlite3.connect(self.path, check_same_thread=False)
        self.opened.append(con)
        return con


def gated_target(sqlite_dsn: str, module: _GatedSqlite) -> Any:
    """The real SQLite target with its driver module swapped for the gated one."""
    real = parse_dsn(sqlite_dsn)
    return SimpleNamespace(
        kind=real.kind,
        backend=real.backend,
        redacted=real.redacted,
        facts=real.facts,
        database=real.database,
        module=lambda: module,
        connect_kwargs=lambda tag: {},
        session_tag=real.session_tag,
        backend_id=lambda raw: None,
        guard_session=real.guard_session,
        abort_connection=real.abort_connection,
    )


def test_refused_connect_in_the_constructor_closes_what_it_opened(sqlite_dsn):
    module = _GatedSqlite(sqlite_dsn.removeprefix("sqlite:///"), fail_after=2)
    events: list[PoolEvent] = []
    with pytest.raises(CannotConnect):
        InstrumentedPool(
            gated_target(sqlite_dsn, module),
            PoolConfig(mincached=4, maxcached=4),
            on_event=events.append,
        )
    assert module.calls == 3 and len(module.opened) == 2
    assert [e.kind for e in events] == ["connect_failed"]
    for con in module.opened:  # the two that did open were closed, not left to the GC
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            con.execute("SELECT 1")


def test_snapshot_does_not_block_while_a_connect_holds_the_pool_lock(sqlite_dsn, pools):
    module = _GatedSqlite(sqlite_dsn.removeprefix("sqlite:///"))
    pool = pools(gated_target(sqlite_dsn, module), PoolConfig(maxconnections=4))
    module.gate.clear()
    module.entered.clear()

    def use() -> None:
        with pool.connection() as con:
            select_one(con)

    first = threading.Thread(target=use, daemon=True)
    first.start()
    assert module.entered.wait(DEADLINE_S)  # the connect is in progress, under the pool lock
    gated_at = time.perf_counter()
    second = threading.Thread(target=use, daemon=True)
    second.start()
    snapshots: list[Any] = []
    reader = threading.Thread(
        target=lambda: snapshots.append(eventually(pool.in_flight, 1, "queued")),
        daemon=True,
    )
    reader.start()
    reader.join(DEADLINE_S)
    try:
        assert not reader.is_alive(), "snapshot() blocked behind the connect"
        assert snapshots == [1]
        stats = pool.snapshot()
        assert stats.open == 0 and stats.checked_out == 0 and stats.connects == 0
        # queued on the pool lock behind the connect, not waiting for a connection: the
        # connections are far from out (what the lock costs it shows as lock time)
        assert stats.waiting == 0
        # the connecting thread really holds the pool lock while snapshot() answered
        assert pool._pool._lock.acquire(blocking=False) is False
    finally:
        gate_held_s = time.perf_counter() - gated_at
        module.gate.set()
        first.join(DEADLINE_S)
        second.join(DEADLINE_S)
    stats = pool.snapshot()
    assert stats.checkouts == 2 and stats.waiting == 0 and stats.peak_waiting == 0
    assert 1 <= stats.connects <= 2
    # the gated connect ran under the pool lock for at least as long as the gate was shut
    lock = stats.under_lock
    assert lock.connects == stats.connects
    assert lock.connect_ms >= gate_held_s * 1000.0
    assert lock.resets == 2 and lock.pings == 0  # sqlite3 has no ping(): nothing to time


# --- warm-up, interval, queries --------------------------------------------------------------


def test_open_idle_parks_connections_and_times_them(server_dsn, pools):
    pool = pools(parse_dsn(server_dsn), PoolConfig(maxcached=3, maxconnections=4))
    times = pool.open_idle(3)
    assert len(times) == 3 and all(t > 0 for t in times)
    stats = pool.snapshot()
    assert (stats.idle, stats.open, stats.checkouts, stats.connects) == (3, 3, 0, 3)
    eventually(lambda: server_count(pool), 3, "server count after warm-up")
    assert pool.open_idle(3) == []  # already warm: nothing new to open
    with pytest.raises(BadInput):
        pool.open_idle(5)


def test_reset_interval_zeroes_counters_and_sets_peaks_to_now(sqlite_dsn, pools):
    pool = pools(parse_dsn(sqlite_dsn), PoolConfig(maxcached=4, maxconnections=4))
    with ExitStack() as held:
        checkout(pool, held, 3)
    pool.record_query(0.002)
    pool.record_query(0.5, failed=True)
    before = pool.snapshot()
    assert before.query.count == 2 and before.query_errors == 1 and before.peak_checked_out == 3
    assert before.query.max == pytest.approx(500.0)
    with ExitStack() as held:
        checkout(pool, held, 1)
        pool.reset_interval()
        stats = pool.snapshot()
    assert (stats.checkouts, stats.connects, stats.closes, stats.query_errors) == (0, 0, 0, 0)
    assert stats.acquire.count == 0 and stats.query.count == 0 and stats.connect.count == 0
    assert (stats.peak_checked_out, stats.peak_idle, stats.peak_open) == (1, 2, 3)
    assert stats.open == 3  # the gauge is not a counter: reset leaves it alone
    after = pool.snapshot()
    assert after.peak_idle == 3 and after.hold.count == 1 and after.checkouts == 0


# --- leak detection ---------------------------------------------------------------------------


def hold_a_connection_past_the_threshold(pool: InstrumentedPool, events: list[PoolEvent]) -> None:
    with pool.connection() as con:
        select_one(con)
        eventually(lambda: pool.check_leaks(), 1, "held connection reported as a leak")
        assert [e.kind for e in events] == ["leak"]
        assert pool.snapshot().leaks == 1
        assert pool.check_leaks() == 1 and len(events) == 1  # reported once only


@pytest.mark.parametrize("name", ["pg_dsn", "sqlite_dsn"])
def test_leak_detector_reports_the_acquiring_stack(name, request, pools):
    events: list[PoolEvent] = []
    pool = pools(
        parse_dsn(request.getfixturevalue(name)),
        PoolConfig(maxconnections=2),
        leak_threshold_s=0.05,
        on_event=events.append,
    )
    with pool.connection() as quick:
        select_one(quick)
    assert pool.check_leaks() == 0 and events == []
    hold_a_connection_past_the_threshold(pool, events)
    assert [e.kind for e in events] == ["leak", "leak_returned"]
    leak = events[0]
    assert "hold_a_connection_past_the_threshold" in leak.detail
    assert "test_leak_detector_reports_the_acquiring_stack" in leak.detail
    assert "0.05 s" in leak.message and leak.at <= events[1].at
    assert pool.snapshot().leaks == 0


def held_stack_lines(pool: InstrumentedPool) -> list[tuple[str, int]]:
    """The (function, line) pairs of the one checkout the detector watches now."""
    [(_started, stack, _thread)] = pool.leak_detector.watched.values()
    return [(code.co_name, line) for code, line in stack]


def test_leak_detector_takes_each_checkouts_own_stack(sqlite_dsn, pools):
    """A watched checkout keeps its own acquiring stack: one from another line, or through
    another caller, is told apart from the one before."""
    pool = pools(parse_dsn(sqlite_dsn), PoolConfig(maxconnections=2), leak_threshold_s=60)
    seen: list[list[tuple[str, int]]] = []

    def checkout_here() -> None:
        with pool.connection():
            seen.append(held_stack_lines(pool))

    def first_caller() -> None:
        for _ in range(2):
            checkout_here()

    def second_caller() -> None:
        checkout_here()

    first_caller()
    second_caller()
    with pool.connection():
        seen.append(held_stack_lines(pool))
    callers = [[name for name, _line in stack[:2]] for stack in seen]
    assert callers[:3] == [
        ["checkout_here", "first_caller"],
        ["checkout_here", "first_caller"],
        ["checkout_here", "second_caller"],
    ]
    assert seen[0] == seen[1]  # the same call site twice: the same stack
    test_name = "test_leak_detector_takes_each_checkouts_own_stack"
    assert seen[3][0][0] == seen[2][2][0] == test_name
    assert seen[3][0][1] != seen[2][2][1]  # the test's own checkout, not its second_caller()
    assert pool.leak_detector.watched == {}


def test_a_leak_returned_after_a_reset_does_not_mark_the_new_intervals_report():
    """A borrower that took its Late before reset() and returns after it must not mark
    whichever report of the new interval now has its old index."""
    from pooltui.core.pool.leaks import LeakDetector

    events: list[str] = []
    detector = LeakDetector(0.01, lambda kind, _message, _detail: events.append(kind))
    long_ago = time.perf_counter() - 1.0
    detector.watched[1] = (long_ago, (), "first")
    assert detector.check() == 1 and events == ["leak"]
    first = detector.late.pop(1)  # what the first borrower's release takes
    del detector.watched[1]
    detector.reset()  # a new interval, while that release is still in the pool
    detector.watched[2] = (long_ago, (), "second")
    assert detector.check() == 1
    detector.returned(first)
    [report] = detector.reports()
    assert report.thread == "second" and not report.returned  # the second is still held
    assert events == ["leak", "leak", "leak_returned"]


def leak_watched_pool(
    pools: Callable[..., InstrumentedPool], dsn: str, *, maxconnections: int, threshold_s: float
) -> tuple[InstrumentedPool, list[PoolEvent]]:
    events: list[PoolEvent] = []
    pool = pools(
        parse_dsn(dsn),
        PoolConfig(maxconnections=maxconnections),
        leak_threshold_s=threshold_s,
        on_event=events.append,
    )
    return pool, events


def hold_in_a_load_loop(pool: InstrumentedPool, holding: threading.Event, done: threading.Event):
    """A load loop's worker: one connection at a time, held until ``done``."""
    borrower = pool.borrower(one_at_a_time=True)
    con = borrower.acquire()
    acquired_at = borrower.acquired_at
    try:
        select_one(con)
        holding.set()
        done.wait(30)
    finally:
        borrower.release(con, acquired_at)
    quick = borrower.acquire()  # and one more, returned at once: never a leak
    borrower.release(quick, borrower.acquired_at)


def test_a_load_loops_leak_is_read_off_its_borrower_and_shows_where_it_holds(pg_dsn, pools):
    """A load loop's checkouts are not recorded (leaks.ScannedBorrower): check() reads the
    borrower's checkout, reports it with the stack its thread holds it at, and its return
    with the whole hold."""
    from pooltui.core.pool.leaks import HOLDING, ScannedBorrower

    pool, events = leak_watched_pool(pools, pg_dsn, maxconnections=2, threshold_s=0.05)
    holding, done = threading.Event(), threading.Event()
    worker = threading.Thread(
        target=hold_in_a_load_loop, args=(pool, holding, done), name="loop-worker"
    )
    worker.start()
    try:
        assert holding.wait(10)
        [borrower] = pool.leak_detector.scanned
        assert type(borrower) is ScannedBorrower and pool.leak_detector.watched == {}
        eventually(lambda: pool.check_leaks(), 1, "the loop's held connection as a leak")
        assert pool.check_leaks() == 1 and [e.kind for e in events] == ["leak"]  # once
        [report] = pool.leak_reports()
        assert report.thread == "loop-worker" and report.stack_at == HOLDING
        assert "hold_in_a_load_loop" in events[0].detail
        assert "has the stack it is held at" in events[0].message
        assert "hold_in_a_load_loop" in report.stack
    finally:
        done.set()
        worker.join(10)
    assert [e.kind for e in events] == ["leak", "leak_returned"]
    [report] = pool.leak_reports()
    assert report.returned and report.held_s > 0.05
    assert borrower.acquired_at == 0.0 and borrower.late is None
    assert pool.check_leaks() == 0 and len(events) == 2  # the quick checkout: nothing


def test_a_return_while_its_leak_is_told_comes_after_the_leak(sqlite_dsn, pools, monkeypatch):
    """check() formats a leak's stack outside its lock: a load loop's connection returned
    meanwhile is said after its leak, never before it (an event log read "returned" first)."""
    from pooltui.core.pool import leaks

    pool, events = leak_watched_pool(pools, sqlite_dsn, maxconnections=1, threshold_s=0.05)
    holding, done = threading.Event(), threading.Event()
    worker = threading.Thread(target=hold_in_a_load_loop, args=(pool, holding, done))
    formatted = leaks.format_stack

    def returned_while_formatting(stack: leaks.Stack) -> str:
        done.set()  # the worker returns its connection now, before the leak is emitted
        worker.join(10)
        return formatted(stack)

    worker.start()
    try:
        assert holding.wait(10)
        monkeypatch.setattr(leaks, "format_stack", returned_while_formatting)
        eventually(lambda: pool.check_leaks(), 1, "the loop's held connection as a leak")
    finally:
        done.set()
        worker.join(10)
    assert [e.kind for e in events] == ["leak", "leak_returned"]
    [report] = pool.leak_reports()
    assert report.returned and report.held_s > 0.05


def test_a_watched_return_before_its_leak_is_told_waits_for_it(monkeypatch):
    """The same for a watched checkout: the return seen while the leak is formatted is said
    after it; one whose leak was never told (back before check saw it) says nothing."""
    from pooltui.core.pool import leaks

    events: list[str] = []
    detector = leaks.LeakDetector(0.01, lambda kind, _message, _detail: events.append(kind))
    long_ago = time.perf_counter() - 1.0
    detector.watched[1] = (long_ago, (), "worker")
    formatted = leaks.format_stack

    def returned_while_formatting(stack: leaks.Stack) -> str:
        late = detector.late.pop(1)  # what the borrower's release does
        del detector.watched[1]
        detector.returned(late)
        assert events == []  # not before its leak
        return formatted(stack)

    monkeypatch.setattr(leaks, "format_stack", returned_while_formatting)
    assert detector.check() == 1
    assert events == ["leak", "leak_returned"]
    [report] = detector.reports()
    assert report.returned
    never_told = leaks.Late((long_ago, (), "other"))
    detector.returned(never_told)
    assert events == ["leak", "leak_returned"]


def test_a_leak_whose_stack_cannot_be_read_is_still_told_and_so_is_its_return(monkeypatch):
    from pooltui.core.pool import leaks

    events: list[str] = []
    detector = leaks.LeakDetector(0.01, lambda kind, _message, _detail: events.append(kind))
    detector.watched[1] = (time.perf_counter() - 1.0, (), "worker")

    def unreadable(_stack: leaks.Stack) -> str:
        raise OSError("source gone")

    monkeypatch.setattr(leaks, "format_stack", unreadable)
    assert detector.check() == 1 and events == ["leak"]
    [report] = detector.reports()
    assert report.stack == "(its stack could not be read)"
    detector.returned(detector.late.pop(1))
    assert events == ["leak", "leak_returned"]


def test_a_lease_on_a_load_loops_thread_is_watched_not_scanned(sqlite_dsn, pools):
    """A load loop's thread that also checks out with ``pool.connection()`` gets a watched
    borrower for it: a lease may be nested or outlive the loop's checkout, which a scanned
    borrower (one checkout at a time) would lose."""
    from pooltui.core.pool.leaks import ScannedBorrower, WatchedBorrower

    pool, _events = leak_watched_pool(pools, sqlite_dsn, maxconnections=2, threshold_s=60)
    loop = pool.borrower(one_at_a_time=True)
    con = loop.acquire()
    with pool.connection() as inner:  # nested, on the same thread
        select_one(inner)
        assert type(pool.borrower()) is WatchedBorrower
        assert len(pool.leak_detector.watched) == 1  # the lease, with its stack
        assert loop.acquired_at  # the loop's checkout is still seen
    loop.release(con, loop.acquired_at)
    assert type(loop) is ScannedBorrower and pool.borrower(one_at_a_time=True) is loop
    assert pool.leak_detector.scanned == [loop] and pool.leak_detector.watched == {}


def test_a_scanned_release_with_a_stale_flag_reports_nothing(sqlite_dsn, pools):
    """The flag check() set for a checkout that ended before it was seen (the race _scan
    guards against) is dropped by the next release, which reports no return."""
    from pooltui.core.pool.leaks import Late

    pool, events = leak_watched_pool(pools, sqlite_dsn, maxconnections=1, threshold_s=60)
    borrower = pool.borrower(one_at_a_time=True)
    con = borrower.acquire()
    borrower.late = Late((borrower.acquired_at - 1.0, (), "earlier"))  # another checkout's
    borrower.release(con, borrower.acquired_at)
    assert borrower.late is None and events == []


def test_leak_detector_off_costs_no_stack(sqlite_dsn, pools):
    events: list[PoolEvent] = []
    pool = pools(parse_dsn(sqlite_dsn), PoolConfig(), on_event=events.append)
    with pool.connection():
        assert pool.check_leaks() == 0 and pool.leak_detector.watched == {}
        assert type(pool.borrower()).__name__ == "Borrower"  # no stack taken per checkout
    assert events == [] and pool.snapshot().leaks == 0
    with pytest.raises(BadInput):
        InstrumentedPool(parse_dsn(sqlite_dsn), PoolConfig(), leak_threshold_s=0)


def test_stats_as_dict_has_the_json_shape(sqlite_dsn, pools):
    pool = pools(parse_dsn(sqlite_dsn), PoolConfig(maxconnections=3, maxcached=2))
    with pool.connection() as con:
        select_one(con)
    data = pool.snapshot().as_dict()
    for name in (
        "checked_out",
        "idle",
        "shared",
        "open",
        "overflow",
        "waiting",
        "peak_open",
        "checkouts",
        "connects",
        "connect_errors",
        "closes",
        "rejections",
        "query_errors",
        "maxconnections",
        "maxcached",
        "leaks",
    ):
        assert isinstance(data[name], int), name
    for name in ("acquire_ms", "query_ms", "hold_ms", "connect_ms"):
        assert set(data[name]) == {"p50", "p95", "p99", "p999", "max", "mean", "count"}
    for name in ("oldest_wait_ms", "peak_oldest_wait_ms"):
        assert isinstance(data[name], float), name
    assert data["oldest_wait_ms"] == 0.0  # nobody waits now
    assert data["peak_oldest_wait_ms"] == data["acquire_ms"]["max"]  # the one wait there was
    assert data["checkouts"] == 1 and data["hold_ms"]["count"] == 1
    assert data["maxconnections"] == 3 and data["idle"] == 1


def test_maxusage_recycling_is_counted_but_not_reported_as_lost(sqlite_dsn, pools):
    events: list[PoolEvent] = []
    pool = pools(
        parse_dsn(sqlite_dsn),
        PoolConfig(maxusage=3, maxconnections=1, maxcached=1),
        on_event=events.append,
    )
    for _ in range(10):
        with pool.connection() as con:
            cur = con.cursor()
            cur.execute("SELECT 1")
            cur.fetchall()
            cur.close()
    stats = pool.snapshot()
    assert stats.reconnects >= 2  # DBUtils reopened the connection after every 3 statements
    assert stats.connects == 1 + stats.reconnects
    assert not [e for e in events if e.kind == "connection_lost"]


def test_a_reconnect_that_fails_replaces_nothing(pg_dsn, pools):
    """The server kills the session and refuses new ones: DBUtils' reconnect fails (and is
    swallowed by its ping), which is a connect error, not a replaced connection."""
    events: list[PoolEvent] = []
    pool = pools(
        parse_dsn(pg_dsn),
        PoolConfig(mincached=1, maxcached=1, maxconnections=1, ping_query="SELECT 1"),
        on_event=events.append,
    )
    pool._connect_kwargs["port"] = 1  # from now on every connect is really refused
    probes.terminate_sessions(pool.target, pool.server_ids())
    with pytest.raises(Exception), pool.connection() as con:  # noqa: B017 - the driver's own
        con.cursor().execute("SELECT 1")
    stats = pool.snapshot()
    assert stats.connect_errors >= 1 and stats.reconnects == 0
    assert not [e for e in events if e.kind == "connection_lost"]
