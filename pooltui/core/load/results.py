"""What a run and a warm-up report (``RunResult``, ``Sample``, ``WarmupResult``, ``Outage``,
``Stall``), and how results merge.

A RunResult keeps its histograms (``RunHistograms``: snapshots, not only percentile summaries),
so the results of several runs, or of several processes running the same workload at once (a
fleet), merge exactly: ``merge_results(a, b)`` (also ``a + b``) gives the percentiles one
histogram fed every sample of both would give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from pooltui.core.config import PoolConfig, SessionGuards, Workload
from pooltui.core.load.client_cpu import ClientCpu
from pooltui.core.load.notes import RunNote
from pooltui.core.pool.histogram import EMPTY, HistogramSnapshot, Summary
from pooltui.core.pool.lock_time import LockTime

if TYPE_CHECKING:
    from pooltui.core.pool import LeakReport
    from pooltui.core.pool.stats import PoolStats

# An acquire longer than this waited for another caller (a connection, or the pool lock behind
# a connect, ping or rollback): one served from the idle cache takes microseconds, tens with a
# checkout ping on loopback. 2**-10 s (0.977 ms) is a bucket edge of the histograms, so a
# thread's count of waits is exact, not interpolated.
WAITED_S = 2.0**-10
# A thread served less than this share of the mean thread's successful requests is starved:
# a tenth is far outside what scheduling noise does to threads running the same loop.
STARVED_SHARE = 0.1
# The application acquire timeouts the what-if asks about (DBUtils itself has none).
TIMEOUT_LADDER_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)


def jain_index(values: Sequence[float]) -> float | None:
    """Jain's fairness index (sum x)^2 / (n sum x^2): 1 when every thread got the same, 1/n
    when one got everything; None when there is nothing to share (no thread, none served)."""
    squares = sum(x * x for x in values)
    if not values or not squares:
        return None
    return sum(values) ** 2 / (len(values) * squares)


@dataclass(frozen=True)
class ThreadFigures:
    """One worker thread's share of a run: what its fairness figures are computed from."""

    name: str
    requests: int  # attempted: ok + failed
    ok: int
    checkouts: int  # connections it was handed
    waits: int  # acquires longer than WAITED_S
    longest_wait_ms: float  # its longest acquire, an unfinished one included
    waiting_ms: float = 0.0  # still waiting in connection() at the end, this long so far

    def as_dict(self) -> dict[str, Any]:
        return {
            "thread": self.name,
            "requests": self.requests,
            "ok": self.ok,
            "checkouts": self.checkouts,
            "waits": self.waits,
            "longest_wait_ms": round(self.longest_wait_ms, 3),
            "waiting_ms": round(self.waiting_ms, 3),
        }


@dataclass(frozen=True)
class RunHistograms:
    """A run's histograms as snapshots (seconds): what its Summaries were read from."""

    latency: HistogramSnapshot = EMPTY  # whole successful requests
    acquire: HistogramSnapshot = EMPTY  # the pool's own timings
    query: HistogramSnapshot = EMPTY
    hold: HistogramSnapshot = EMPTY
    connect: HistogramSnapshot = EMPTY
    schedule_lag: HistogramSnapshot = EMPTY  # empty for the closed loop

    def __add__(self, other: RunHistograms) -> RunHistograms:
        """Each histogram merged with its namesake: exact."""
        return RunHistograms(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


@dataclass(frozen=True)
class WarmupResult:
    """What pre-opening connections cost, and what it buys: cold vs warm acquire."""

    opened: int  # connections opened for the warm-up (incl. PooledDB's mincached)
    connect_ms: list[float]  # their connect times, in order
    cold_acquire_ms: float  # an acquire that has to open a connection
    warm_acquire_ms: float  # an acquire served from the idle cache, after the warm-up
    duration_s: float
    idle: int = 0  # idle connections ready after the warm-up
    cold_measured: bool = True  # False: the pool was already warm, cold = median connect time

    def as_dict(self) -> dict[str, Any]:
        """The ``warmup`` member of ``bench --json``."""
        return {
            "opened": self.opened,
            "idle": self.idle,
            "connect_ms": [round(ms, 3) for ms in self.connect_ms],
            "cold_acquire_ms": round(self.cold_acquire_ms, 3),
            "warm_acquire_ms": round(self.warm_acquire_ms, 3),
            "cold_measured": self.cold_measured,
            "duration_s": round(self.duration_s, 3),
        }


@dataclass(frozen=True)
class Sample:
    """One tick of a run for the live plots: a pool snapshot and the last interval's figures."""

    elapsed_s: float
    stats: PoolStats
    interval_requests: int  # requests that ended in the interval (ok + failed)
    interval_errors: int
    errors: int  # failed requests since the run began
    throughput_rps: float  # successful requests per second in the interval
    p95_ms: float  # request latency (acquire + query + hold) in the interval
    p95_acquire_ms: float
    schedule_lag_ms: float  # p95 schedule lag in the interval; 0 for the closed loop
    stalled_s: float = 0.0  # how long no request has completed while some are in flight
    outage_s: float = 0.0  # how long the server has been unreachable (0: it answers)
    interval_s: float = 0.0  # how long the interval was (its rates are over this)
    final: bool = False  # the run's last sample: its interval ends when the workers did
    client_cores: float = 0.0  # the client process's CPU in the interval, in cores
    client_saturated: bool = False  # ... at the ceiling of what its Python threads can use


@dataclass
class Outage:
    """The server could not be reached: from the first connection-class failure to the first
    request that succeeded again (``ended_s`` None: not within the run). Seconds since the run
    began."""

    started_s: float
    failed: int = 0  # requests that failed while it lasted
    ended_s: float | None = None
    error: str = ""  # the first failure, one sentence

    @property
    def recovery_s(self) -> float | None:
        return None if self.ended_s is None else self.ended_s - self.started_s

    def as_dict(self) -> dict[str, Any]:
        recovery = self.recovery_s
        return {
            "started_s": round(self.started_s, 3),
            "ended_s": None if self.ended_s is None else round(self.ended_s, 3),
            "recovery_s": None if recovery is None else round(recovery, 3),
            "failed_requests": self.failed,
            "error": self.error,
        }


@dataclass
class Stall:
    """No request completed while some were in flight (a frozen server, a lock): from the last
    completion before it to the first after it (``ended_s`` None: still at the end)."""

    started_s: float
    in_flight: int = 0  # the most requests in flight seen while it lasted
    ended_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_s": round(self.started_s, 3),
            "ended_s": None if self.ended_s is None else round(self.ended_s, 3),
            "in_flight": self.in_flight,
        }


@dataclass(frozen=True)
class PoolLock:
    """One pool's lock over its run: the round trips DBUtils made holding it, and the waits
    and the time they are a share of. A fleet's processes each have a pool and so a lock of
    their own: the lock finding reads the busiest one, as a sum or a mean over processes hides
    the process whose callers queue behind it."""

    process: int  # the fleet process's index (0: the only pool)
    under_lock: LockTime
    duration_s: float
    waited_ms: float  # every acquire's wait added (exact: the mean times the count)
    spent_ms: float  # every successful request's latency added
    peak_checked_out: int = 0

    @classmethod
    def of(cls, result: RunResult, process: int = 0) -> PoolLock:
        """A single pool's run as its lock's figures."""
        return cls(
            process,
            result.pool.under_lock,
            result.duration_s,
            result.acquire.mean * result.acquire.count,
            result.latency.mean * result.latency.count,
            result.pool.peak_checked_out,
        )

    @property
    def of_run(self) -> float:
        """The share of the run the lock was held for round trips."""
        return self.under_lock.total_ms / 1000.0 / self.duration_s if self.duration_s > 0 else 0.0

    def after(self, other: PoolLock) -> PoolLock:
        """This pool's run, then ``other`` on the same pool: everything adds, the peak is the
        higher."""
        return PoolLock(
            self.process,
            self.under_lock + other.under_lock,
            self.duration_s + other.duration_s,
            self.waited_ms + other.waited_ms,
            self.spent_ms + other.spent_ms,
            max(self.peak_checked_out, other.peak_checked_out),
        )


@dataclass(frozen=True)
class RunResult:
    """A finished run. Latency and throughput count successful requests only."""

    requests: int  # requests attempted: ok + failed (incl. rejected, overload)
    errors: int
    duration_s: float
    throughput_rps: float  # successful requests per second
    latency: Summary  # whole request; from the scheduled arrival in the open loop
    acquire: Summary  # the pool's own timings (pool.py)
    query: Summary
    hold: Summary
    schedule_lag: Summary  # empty for the closed loop
    error_kinds: dict[str, int]
    pool: PoolStats  # final snapshot
    config: PoolConfig  # the effective configuration (after DBUtils' normalising)
    target: str  # the redacted DSN
    driver: str
    workload: Workload
    server_version: str | None = None
    stopped: bool = False  # ended early because `stop` was set
    fatal_error: str | None = None  # one sentence when requests kept failing
    events: list[str] = field(default_factory=list)  # one sentence each
    event_kinds: list[RunNote] = field(default_factory=list)  # the kind of each of events
    cancelled: int = 0  # requests the end of the run cut short (not errors)
    rows: int = 0  # rows the queries returned, all fetched in FETCH_BATCH steps
    outages: list[Outage] = field(default_factory=list)
    stalls: list[Stall] = field(default_factory=list)
    leaks: list[LeakReport] = field(default_factory=list)
    guards: SessionGuards = field(default_factory=SessionGuards)
    # what merges exactly; not compared: the Summaries above are what a result reads as
    histograms: RunHistograms = field(default_factory=RunHistograms, compare=False)
    # the tail: every worker thread's share (fairness is read off it), and the callers still
    # waiting in connection() at the end (their waits so far are in ``acquire``, not in
    # ``pool.checkouts``)
    per_thread: list[ThreadFigures] = field(default_factory=list)
    unfinished_waits: int = 0
    unfinished_wait_max_ms: float = 0.0
    # failed requests the server refused for want of a free slot ("too many connections",
    # FULL): what a fleet's headroom check attributes to the fleet
    server_full: int = 0

    @property
    def fairness(self) -> float | None:
        """Jain's index on the threads' successful requests (None without threads or any)."""
        return jain_index([t.ok for t in self.per_thread])

    @property
    def starved(self) -> list[ThreadFigures]:
        """The threads served less than STARVED_SHARE of the mean thread's successes."""
        if not self.per_thread:
            return []
        floor = STARVED_SHARE * sum(t.ok for t in self.per_thread) / len(self.per_thread)
        return [t for t in self.per_thread if t.ok < floor]

    def timeout_what_if(self) -> list[tuple[float, float]]:
        """(timeout s, share of acquires that took longer) for each TIMEOUT_LADDER_S rung below
        the longest acquire: the requests an application acquire timeout of that many seconds
        would have failed (the unfinished waits count too). Read off the acquire histogram, so
        exact at a bucket edge and otherwise within the samples of the bucket holding the
        timeout (within 1.6 % of it); empty for a result built without histograms."""
        acquire = self.histograms.acquire
        return [(t, acquire.fraction_above(t)) for t in TIMEOUT_LADDER_S if t < acquire.max]

    client: ClientCpu = field(default_factory=ClientCpu)  # pooltui's own CPU during the run
    # how many processes ran it at once, each with its own pool (a fleet; 1: one pool), and
    # each one's pool lock (empty for one pool: its own figures are the lock's)
    processes: int = 1
    pool_locks: tuple[PoolLock, ...] = ()

    @property
    def locks(self) -> tuple[PoolLock, ...]:
        """Each pool's lock figures: one per process of a fleet, else the run's own."""
        return self.pool_locks or (PoolLock.of(self),)

    def __add__(self, other: RunResult) -> RunResult:
        """``merge_results(self, other)``."""
        return merge_results(self, other)

    def noted(self, kind: RunNote) -> list[str]:
        """The texts of the events of one kind."""
        return [text for k, text in zip(self.event_kinds, self.events, strict=True) if k == kind]

    def as_dict(self) -> dict[str, Any]:
        """The ``pooltui bench --json`` object (design.md, "Headless CLI")."""
        config = self.config.as_dict()
        return {
            "requests": self.requests,
            "errors": self.errors,
            "duration_s": round(self.duration_s, 3),
            "throughput_rps": round(self.throughput_rps, 3),
            "latency_ms": self.latency.as_dict(),
            "acquire_ms": self.acquire.as_dict(),
            "hold_ms": self.hold.as_dict(),
            "query_ms": self.query.as_dict(),
            "schedule_lag_ms": self.schedule_lag.as_dict(),
            "error_kinds": dict(sorted(self.error_kinds.items())),
            "pool": self.pool.as_dict(),
            "config": config,
            "target": {
                "dsn": self.target,
                "driver": self.driver,
                "server_version": self.server_version,
            },
            "workload": asdict(self.workload),
            "stopped": self.stopped,
            "fatal_error": self.fatal_error,
            "events": list(self.events),
            "event_kinds": [str(kind) for kind in self.event_kinds],
            "cancelled": self.cancelled,
            "rows": self.rows,
            "server_full": self.server_full,
            "outages": [o.as_dict() for o in self.outages],
            "stalls": [st.as_dict() for st in self.stalls],
            "leaks": [leak.as_dict() for leak in self.leaks],
            "session": {
                "read_only": self.guards.read_only,
                "statement_timeout_ms": round(self.guards.statement_timeout_s * 1000),
            },
            "client_cpu": self.client.as_dict(),
            "processes": self.processes,
            **self._tail_dict(),
        }

    def _tail_dict(self) -> dict[str, Any]:
        """The tail's members of the JSON: fairness, the per-thread table, the unfinished
        waits and the acquire-timeout what-if."""
        fairness = self.fairness
        return {
            "fairness": {
                "jain": None if fairness is None else round(fairness, 4),
                "threads": len(self.per_thread),
                "starved": len(self.starved),
                "starved_below_share": STARVED_SHARE,
                "wait_threshold_ms": round(WAITED_S * 1000.0, 4),
            },
            "per_thread": [t.as_dict() for t in self.per_thread],
            "unfinished_waits": {
                "count": self.unfinished_waits,
                "max_ms": round(self.unfinished_wait_max_ms, 3),
            },
            "acquire_timeout_what_if": [
                {"timeout_ms": round(t * 1000.0, 3), "failed_share": round(share, 6)}
                for t, share in self.timeout_what_if()
            ],
        }


def _added(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for key, count in b.items():
        out[key] = out.get(key, 0) + count
    return out


def _merged_stats(a: PoolStats, b: PoolStats, histograms: RunHistograms) -> PoolStats:
    """Two pools' final snapshots as one fleet's: gauges, peaks, counters, leaks and the time
    under the pool lock add (a sum of peaks is an upper bound: the two need not have peaked at
    once), limits add (0, no limit, stays 0), the four timings come from the merged
    histograms."""
    summed = {
        f.name: getattr(a, f.name) + getattr(b, f.name)
        for f in fields(a)
        if isinstance(getattr(a, f.name), int)
    }
    for limit in ("maxconnections", "maxcached"):
        if not (getattr(a, limit) and getattr(b, limit)):
            summed[limit] = 0
    return replace(
        a,
        **summed,
        # an age does not add: the fleet's oldest waiter is the older of the two
        oldest_wait_ms=max(a.oldest_wait_ms, b.oldest_wait_ms),
        peak_oldest_wait_ms=max(a.peak_oldest_wait_ms, b.peak_oldest_wait_ms),
        acquire=histograms.acquire.summary(),
        query=histograms.query.summary(),
        hold=histograms.hold.summary(),
        connect=histograms.connect.summary(),
        under_lock=a.under_lock + b.under_lock,
    )


def _merged_events(a: RunResult, b: RunResult) -> tuple[list[RunNote], list[str]]:
    """a's events, then b's that a did not note, each with its kind: (event_kinds, events)."""
    pairs = list(zip(a.event_kinds, a.events, strict=True))
    pairs += [pair for pair in zip(b.event_kinds, b.events, strict=True) if pair not in pairs]
    return [kind for kind, _ in pairs], [text for _, text in pairs]


def merge_results(a: RunResult, b: RunResult) -> RunResult:
    """One result for two runs of the same workload that ran at the same time (two processes
    of a fleet, or one process's runs merged as if they had).

    Counts add (requests, errors, cancelled, rows, each error kind); the histograms merge
    exactly and every Summary is read from the merged ones (a result built without snapshots
    merges as empty); the duration is the longer of the two and throughput the sum of both
    (rates of processes running at once add); the pool figures add (see ``_merged_stats``);
    outages, stalls, leaks and events are kept from both (times stay relative to each run's
    own start); the per-thread tables concatenate (fairness is recomputed over all threads)
    and the unfinished waits add; the processes add and each pool's lock is kept apart;
    stopped if either stopped, the first fatal error; the configuration, target, driver,
    workload, server version and session guards are ``a``'s.
    """
    histograms = a.histograms + b.histograms
    event_kinds, events = _merged_events(a, b)
    return replace(
        a,
        requests=a.requests + b.requests,
        errors=a.errors + b.errors,
        duration_s=max(a.duration_s, b.duration_s),
        throughput_rps=a.throughput_rps + b.throughput_rps,
        latency=histograms.latency.summary(),
        acquire=histograms.acquire.summary(),
        query=histograms.query.summary(),
        hold=histograms.hold.summary(),
        schedule_lag=histograms.schedule_lag.summary(),
        error_kinds=_added(a.error_kinds, b.error_kinds),
        pool=_merged_stats(a.pool, b.pool, histograms),
        stopped=a.stopped or b.stopped,
        fatal_error=a.fatal_error or b.fatal_error,
        event_kinds=event_kinds,
        events=events,
        cancelled=a.cancelled + b.cancelled,
        rows=a.rows + b.rows,
        outages=a.outages + b.outages,
        stalls=a.stalls + b.stalls,
        leaks=a.leaks + b.leaks,
        histograms=histograms,
        per_thread=a.per_thread + b.per_thread,
        unfinished_waits=a.unfinished_waits + b.unfinished_waits,
        unfinished_wait_max_ms=max(a.unfinished_wait_max_ms, b.unfinished_wait_max_ms),
        server_full=a.server_full + b.server_full,
        client=a.client + b.client,
        processes=a.processes + b.processes,
        pool_locks=a.locks + b.locks,
    )
