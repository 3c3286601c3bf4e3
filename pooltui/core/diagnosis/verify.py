"""The measuring half of the diagnosis: the target's figures, and a recommendation put to the test.

``measure_target`` times a connect and a query and reads the server's limits: the answers the
wizard and ``pooltui diagnose`` measure instead of asking. ``compare`` runs the same open-loop
burst on the old and the new pool. The diagnosis predicts with queueing models; this module
measures the quantities those models name, on the real server, so the wizard, the accuracy
bench and the tests compare like with like:

* P(wait): the fraction of acquires that found every connection of the pool busy when they
  arrived (Erlang C's event). PooledDB publishes no such counter, so ``WaitCountingPool`` wraps
  the instrumented pool and counts the connections its callers hold: an arrival that finds
  ``held >= maxconnections`` will have to wait. This is exact to the model's definition and
  immune to the GIL's scheduling noise, which a pure timing threshold is not; the timed figure
  (acquires slower than ``threshold_s``) is reported beside it.
* mean and p95 wait: the acquire times (every acquire, waiting or not, as W_q counts them).
* the offered load: the measured arrival rate at the pool times the measured mean occupancy of
  a connection (from the acquire until DBUtils has it back in its idle cache, so the rollback
  ``reset=True`` makes under the pool lock counts, as it keeps the connection from others).

Both runs use the same seed, so they see the same Poisson arrival schedule.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING, Any

from pooltui.core.checks import check_target
from pooltui.core.config import MAX_THREADS, PoolConfig, Workload, validate_workload
from pooltui.core.diagnosis.recommend import Measurements
from pooltui.core.errors import BadInput
from pooltui.core.load import engine
from pooltui.core.pool import InstrumentedPool
from pooltui.core.pool.leases import Lease

if TYPE_CHECKING:
    from collections.abc import Callable

    from pooltui.core.config import SessionGuards, Validation
    from pooltui.core.diagnosis.recommend import Answers
    from pooltui.core.load.engine import RunResult
    from pooltui.core.pool import BorrowerLike, LeakReport
    from pooltui.core.pool.histogram import HistogramSnapshot
    from pooltui.core.pool.stats import PoolStats
    from pooltui.core.probes import ServerInfo
    from pooltui.core.targets import Target

WAIT_THRESHOLD_S = 0.001  # an acquire slower than this counts as a (timed) wait
VERIFY_DURATION_S = 4.0
VERIFY_SEED = 20240601


@dataclass(frozen=True)
class TargetFigures:
    """What pooltui measured on the target before recommending anything."""

    connect_ms: float  # median of a few connects
    query_ms: float  # median time of ``query``
    query: str  # the timed query: the representative one, else SELECT 1
    representative: bool  # the user's query: its time is the answer query_ms
    server: ServerInfo
    samples: int = 3  # connects and queries timed (each figure is their median)

    def measurements(self) -> Measurements:
        """The diagnosis' input; a SELECT 1 round trip is not the application's query time."""
        return Measurements(
            connect_ms=self.connect_ms,
            query_ms=self.query_ms if self.representative else None,
            server=self.server,
        )


# samples of a workload's query (its median is the answer query_ms and goes into the hold): a
# report's first run may read cold pages, so one sample could be far from the typical time
QUERY_SAMPLES = 5


def measure_target(
    target: Target, query: str | None = None, *, representative: bool | None = None
) -> TargetFigures:
    """Connect and query times and the server's limits: CannotConnect if down, RunFailed if the
    query fails. ``query`` (the user's, or a workload's own, SELECT 1 included) is timed
    QUERY_SAMPLES times and its median kept; without it the SELECT 1 round trip, 3 times.
    ``representative`` (default: a query was given) says its time is the application's
    query_ms; a workload's default SELECT 1 is timed for its hold but is not."""
    timed = query or "SELECT 1"
    report = check_target(target, timed, QUERY_SAMPLES if query else 3)
    return TargetFigures(
        report.latencies.connect_ms,
        report.latencies.query_ms,
        timed,
        bool(query) if representative is None else representative,
        report.server,
        report.latencies.samples,
    )


@dataclass(frozen=True)
class Measured:
    """One configuration under one burst: what the models predict, as measured."""

    config: PoolConfig  # the effective configuration (after DBUtils' normalising)
    limit: int  # connections the callers can hold at once (pool limit, capped by threads)
    arrivals: int  # acquires attempted at the pool
    rejections: int  # TooManyConnectionsError (blocking=False at the limit)
    errors: int  # every failed request, rejections and dropped arrivals included
    p_wait: float  # fraction of arrivals that found every connection busy
    p_wait_timed: float  # fraction of acquires slower than the threshold
    mean_wait_ms: float
    p95_wait_ms: float
    hold_ms: float  # measured mean occupancy of a connection, return included: the model's W_s
    rate_per_s: float  # measured arrival rate at the pool
    throughput_rps: float
    result: RunResult

    @property
    def offered_load(self) -> float:
        """Measured A = arrival rate x mean hold (Little's law), in Erlangs."""
        return self.rate_per_s * self.hold_ms / 1000.0

    @property
    def utilisation(self) -> float:
        return self.offered_load / self.limit if self.limit else 0.0

    @property
    def p_reject(self) -> float:
        return self.rejections / self.arrivals if self.arrivals else 0.0


class _CountingBorrower:
    """A thread's borrower seen through the counter: arrival state, acquire, occupancy."""

    __slots__ = ("_counter", "_inner", "_record_query")

    def __init__(self, counter: WaitCountingPool, inner: BorrowerLike) -> None:
        self._counter = counter
        self._inner = inner
        self._record_query = inner.record_query

    @property
    def acquired_at(self) -> float:
        return self._inner.acquired_at

    @property
    def record_query(self) -> Callable[[float], None]:
        return self._record_query

    @property
    def inside(self) -> float:
        return self._inner.inside

    def acquire_snapshot(self) -> HistogramSnapshot:
        return self._inner.acquire_snapshot()

    def acquire(self, shareable: bool = True) -> Any:
        counter = self._counter
        counter._arrive()
        started = perf_counter()
        con = self._inner.acquire(shareable)  # TooManyConnectionsError: not held
        counter._acquired(self._inner.acquired_at - started)
        return con

    def release(self, con: Any, acquired_at: float) -> None:
        try:
            self._inner.release(con, acquired_at)
        finally:
            # counted as busy until DBUtils has it back in the idle cache (its rollback on
            # return runs under the pool lock): until then no arrival can have it
            self._counter._released(perf_counter() - acquired_at)


class WaitCountingPool:
    """An InstrumentedPool seen through a counter of waits: a PoolLike whose checkouts are
    counted, everything else the engine uses delegated to the pool, member by member.

    ``limit`` is the most connections callers can hold at once (0 = unbounded: nobody waits).
    With ``maxshared`` > 0 connections are shared and the held count means nothing, so only the
    timed figure is meaningful then.
    """

    def __init__(self, pool: InstrumentedPool, threshold_s: float = WAIT_THRESHOLD_S) -> None:
        self._pool = pool
        self._threshold = threshold_s
        self._lock = threading.Lock()
        self.limit = pool.validation.effective.maxconnections
        self.arrivals = 0
        self.found_full = 0
        self.slow = 0
        self.busy_sum_s = 0.0  # connection occupancy: acquired until back in the idle cache
        self.released = 0
        self._held = 0

    def borrower(self, one_at_a_time: bool = False) -> _CountingBorrower:
        return _CountingBorrower(self, self._pool.borrower(one_at_a_time))

    def connection(self, shareable: bool = True) -> Lease:
        return Lease(self, shareable)  # through borrower() above: counted too

    # --- the rest of PoolLike, delegated ------------------------------------------------------

    @property
    def target(self) -> Target:
        return self._pool.target

    @property
    def validation(self) -> Validation:
        return self._pool.validation

    @property
    def guards(self) -> SessionGuards:
        return self._pool.guards

    def guard_sessions(self, guards: SessionGuards) -> None:
        self._pool.guard_sessions(guards)

    def reset_interval(self) -> None:
        self._pool.reset_interval()

    def snapshot(self, *, timings: bool = True) -> PoolStats:
        return self._pool.snapshot(timings=timings)

    def acquire_snapshot(self) -> HistogramSnapshot:
        return self._pool.acquire_snapshot()

    def timing_snapshots(self) -> dict[str, HistogramSnapshot]:
        return self._pool.timing_snapshots()

    def count_query_error(self) -> None:
        self._pool.count_query_error()

    def in_flight(self) -> int:
        return self._pool.in_flight()

    def check_leaks(self) -> int:
        return self._pool.check_leaks()

    def leak_reports(self) -> list[LeakReport]:
        return self._pool.leak_reports()

    def interrupt(self, cursors: list[Any]) -> int:
        return self._pool.interrupt(cursors)

    def abort_all(self) -> int:
        return self._pool.abort_all()

    def emit(self, kind: str, message: str, detail: str = "") -> None:
        self._pool.emit(kind, message, detail)

    def open_idle(self, count: int) -> list[float]:
        return self._pool.open_idle(count)

    def take_initial_connect_times(self) -> tuple[float, ...]:
        return self._pool.take_initial_connect_times()

    def _arrive(self) -> None:
        with self._lock:
            self.arrivals += 1
            if self.limit and self._held >= self.limit:
                self.found_full += 1

    def _acquired(self, seconds: float) -> None:
        with self._lock:
            self._held += 1
            if seconds > self._threshold:
                self.slow += 1

    def _released(self, seconds: float) -> None:
        with self._lock:
            self._held -= 1
            self.released += 1
            self.busy_sum_s += seconds


def verify_workload(
    answers: Answers, *, query_ms: float | None = None, duration_s: float = VERIFY_DURATION_S
) -> Workload:
    """The peak of the answered workload as one process sees it: Poisson at the peak rate.

    The run executes the representative query (or SELECT 1 when there is none) and then holds
    the connection for the rest of the answered hold time; ``query_ms`` is that query's measured
    time (for SELECT 1 it is taken as 0: the whole hold is then slept).
    """
    if answers.threads_per_process > MAX_THREADS:
        raise BadInput(
            f"A verification burst runs at most {MAX_THREADS} threads, not "
            f"{answers.threads_per_process}; verify with fewer threads per process."
        )
    if answers.query:
        query = answers.query
        spent = query_ms if query_ms is not None else answers.query_ms
    else:
        query, spent = "SELECT 1", 0.0
    workload = Workload(
        threads=answers.threads_per_process,
        duration_s=duration_s,
        query=query,
        hold_ms=max(0.0, answers.hold_ms - spent),
        pattern="poisson",
        rate=answers.peak_rate_per_s / answers.processes,
    )
    refused = [f for f in validate_workload(workload) if f.level == "error"]
    if refused:  # e.g. a hold of 1e300 ms, which Event.wait cannot take
        raise BadInput(f"The answers cannot be verified with a burst: {refused[0].message}")
    return workload


def measure(
    target: Target,
    config: PoolConfig,
    workload: Workload,
    *,
    stop: threading.Event | None = None,
    seed: int | None = VERIFY_SEED,
    threshold_s: float = WAIT_THRESHOLD_S,
    warm: bool = False,
) -> Measured:
    """Build a pool with ``config``, run ``workload`` through the wait counter, close the pool.

    ``warm`` first opens the pool's ``mincached`` connections (at least one) as the console's
    warm-up does; without it the pool starts as an application's would, with PooledDB's own
    ``mincached`` connections only.
    """
    pool = InstrumentedPool(target, config)
    try:
        if warm:
            engine.warm_up(pool)
        counter = WaitCountingPool(pool, threshold_s)
        result = engine.run(counter, workload, stop=stop, seed=seed)
    finally:
        pool.close()
    limit = counter.limit or workload.threads
    limit = min(limit, workload.threads)
    hold_ms = counter.busy_sum_s / counter.released * 1000.0 if counter.released else 0.0
    arrivals = counter.arrivals
    return Measured(
        config=result.config,
        limit=limit,
        arrivals=arrivals,
        rejections=result.error_kinds.get(engine.REJECTED, 0),
        errors=result.errors,
        # without blocking an arrival that finds the pool full is rejected, it never waits
        p_wait=counter.found_full / arrivals if arrivals and result.config.blocking else 0.0,
        # the pool's own acquire histogram: every acquire, waiting or not, as W_q counts them
        p_wait_timed=counter.slow / result.acquire.count if result.acquire.count else 0.0,
        mean_wait_ms=result.acquire.mean,
        p95_wait_ms=result.acquire.p95,
        hold_ms=hold_ms,
        rate_per_s=arrivals / result.duration_s if result.duration_s > 0 else 0.0,
        throughput_rps=result.throughput_rps,
        result=result,
    )


def compare(
    target: Target,
    current: PoolConfig,
    recommended: PoolConfig,
    workload: Workload,
    *,
    stop: threading.Event | None = None,
    seed: int | None = VERIFY_SEED,
) -> tuple[Measured, Measured | None]:
    """The same burst on the current and the recommended pool, one after the other.

    The second is None when ``stop`` was set during the first (the wizard was closed).
    """
    before = measure(target, current, workload, stop=stop, seed=seed)
    if stop is not None and stop.is_set():
        return before, None
    return before, measure(target, recommended, workload, stop=stop, seed=seed)
