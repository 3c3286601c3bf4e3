"""The load engine: the run loop of a burst of requests against a pool (a PoolLike).

The load package: ``arrivals`` (when open-loop requests arrive: a pure schedule), ``warmup``,
``results`` (what a run reports, and merging results), and this module (the run loop, the stop
path, outages and stalls). The names front ends use (``run``, ``warm_up``, ``RunResult``,
``Sample``, ``REJECTED``, ...) are all reachable as ``engine.<name>``.

The engine owns its threads (plain daemon threads, never the console's asyncio loop) and keeps
the per-request path lean, because `bench/overhead.py` holds it to >= 0.95 of a bare PooledDB
loop: each thread counts into its own `_Tally` and its own histogram shards (no shared counters,
no locks of the engine's). The calling thread samples: every `sample_interval_s` it reads the
interval as the difference of two histogram snapshots and calls `on_sample`, until every worker
has ended.

Patterns:
- ``steady``: closed loop, `threads` workers back to back (``think_ms`` between requests).
- ``poisson``, ``bursty``: open loop, pgbench ``-R`` style. A dispatcher waits for each time
  of the pattern's schedule (arrivals.py: seeded, reproducible) and queues the *scheduled*
  arrival times for up to `threads` workers; latency counts from the scheduled arrival (waiting
  for a free worker is part of it) and the schedule lag is the start of service minus the
  scheduled arrival. An arrival that finds ``QUEUE_PER_THREAD * threads`` already queued is
  dropped and counted as an ``overload`` error.

Every end of a run (its duration, its request count, a fatal failure, a stop) goes through one
stop path in run(): the workers' waits wake (``_Run.ending``), requests still in flight get
END_GRACE_S to finish, then the statements still running are cancelled on the server (again
every STOP_POLL_S, from a thread of its own so a dead server cannot stall the loop), and after
CANCEL_WAIT_S the connections' sockets are cut, so a frozen server or a cancel that did not reach
it cannot keep the run, or the pool's close(), waiting.

A lost server is not a failing workload: connection-class failures (errors.failure_class, by the
driver's code) back off exponentially and retry until the server answers again, the run ends, or
``give_up_after_s`` passes, and the run reports each outage (when it began, when the first
request succeeded again, the requests it failed). A run whose requests stop completing while
some are in flight reports a stall (the server stopped answering) live and in the result.
"""

from __future__ import annotations

import itertools
import queue
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from time import perf_counter, process_time
from typing import TYPE_CHECKING, Any

from dbutils.pooled_db import TooManyConnectionsError

from pooltui.core.config import SessionGuards, Workload, validate_workload
from pooltui.core.errors import (
    CONNECTION,
    FULL,
    SQL,
    WRITE,
    BadInput,
    SetupFailed,
    describe_db_error,
    driver_said,
    failure_class,
)
from pooltui.core.load import arrivals
from pooltui.core.load.arrivals import BURST_PHASE_S, BURST_QUIET_DIVISOR
from pooltui.core.load.client_cpu import ClientCpu, client_saturated, machine_cores
from pooltui.core.load.collector import without_full_collections
from pooltui.core.load.notes import RunNote
from pooltui.core.load.results import (
    WAITED_S,
    Outage,
    RunHistograms,
    RunResult,
    Sample,
    Stall,
    ThreadFigures,
    WarmupResult,
    merge_results,
)
from pooltui.core.load.warmup import warm_up
from pooltui.core.numbers import count as counted
from pooltui.core.numbers import ms, rate, seconds
from pooltui.core.pool.histogram import (
    EMPTY,
    PENDING,
    HistogramSnapshot,
    LatencyHistogram,
    snapshot_of,
)

if TYPE_CHECKING:
    from pooltui.core.pool.protocol import BorrowerLike, PoolLike

__all__ = [
    "BURST_PHASE_S",
    "BURST_QUIET_DIVISOR",
    "END_GRACE_S",
    "FATAL_AFTER",
    "FETCH_BATCH",
    "OVERLOAD",
    "REJECTED",
    "REJECTED_BACKOFF_S",
    "Outage",
    "RunHistograms",
    "RunResult",
    "Sample",
    "Stall",
    "WarmupResult",
    "error_kind",
    "merge_results",
    "run",
    "warm_up",
]

FATAL_AFTER = 20  # failures in a row of one worker (no success between) end the run
QUEUE_PER_THREAD = 10  # open loop: arrivals allowed to wait per worker before dropping
JOIN_GRACE_S = 1.0  # after the stop path, how long a worker may take to leave
STOP_POLL_S = 0.05  # how soon a stop reaches the workers' flag (see _Run.stopping)
END_GRACE_S = 0.5  # at the run's natural end, what in flight may take to finish
CANCEL_WAIT_S = 2.0  # after the first cancel, before the connections' sockets are cut
ABORT_WAIT_S = 1.0  # after cutting them, before run() returns without those threads
STALLED_CANCEL_WAIT_S = 0.5  # CANCEL_WAIT_S while the run is stalled (nothing completes)
BACKOFF_START_S = 0.05  # a connection failure's first back-off; it doubles up to
BACKOFF_MAX_S = 1.0  # this, with jitter, until a request succeeds again
STALL_AFTER_S = 2.0  # no request completed for this (plus hold_ms) while some are in
# flight: the server has stopped answering
FETCH_BATCH = 1000  # rows fetched at a time: a huge result is read in bounded steps
# A closed-loop worker with no think time waits this long after the pool rejected its request
# (blocking=False at maxconnections), as an application would answer the rejection rather than
# ask again at once: retried in a hot loop, 8 threads made a million rejections in 5 s and the
# run measured the client's CPU, not the pool. About one hold of a fast query, so a connection
# freed meanwhile is soon taken; ~100 tries a second per thread cost the client next to nothing.
REJECTED_BACKOFF_S = 0.01
OUTAGE_GAP_S = 1.0  # failures this close after a success belong to the same outage
MAX_EVENTS = 50

REJECTED = "rejected"  # error kind: TooManyConnectionsError (blocking=False, pool full)
OVERLOAD = "overload"  # error kind: open-loop arrival dropped, too many already waiting


def error_kind(exc: BaseException) -> str:
    """A short name for the error table: the class, plus the driver's error code if it has one."""
    if isinstance(exc, TooManyConnectionsError):
        return REJECTED
    from pooltui.core.drivers import error_code  # an error path: the import is a dict lookup

    name = type(exc).__name__
    code = error_code(exc)  # the driver's: PyMySQL (2013, "Lost ..."), pyodbc ("08S01", ...)
    return f"{name}({code})" if code is not None else name


class _Tally:
    """One thread's counters: only that thread writes them; the sampler reads them racily."""

    __slots__ = (
        "borrower",
        "cancelled",
        "consecutive",
        "ended",
        "failed",
        "full",
        "kinds",
        "lost",
        "ok",
        "rows",
        "running",
        "troubled",
    )

    def __init__(self) -> None:
        self.ok = self.failed = self.consecutive = self.cancelled = self.lost = self.rows = 0
        self.full = 0  # failures because the server had no free slot ("too many connections")
        self.running: Any = None  # the cursor while its statement runs: a stop cancels it
        self.kinds: dict[str, int] = {}
        self.ended = 0.0
        self.troubled = False  # a failure (or an outage) since its last success
        self.borrower: BorrowerLike | None = None  # its way into the pool: read at the end


class _Run:
    """One run: what its threads share (plain attributes, read without locks) and the sampler."""

    def __init__(
        self, pool: PoolLike, workload: Workload, stop: threading.Event, seed: int | None
    ) -> None:
        self.pool, self.workload, self.stop, self.seed = pool, workload, stop, seed
        self.query = workload.query
        self.hold_s = workload.hold_ms / 1000.0
        self.think_s = workload.think_ms / 1000.0
        # after a rejection: the closed loop's think time (its loop waits it), else a back-off;
        # the open loop's workers take the next arrival, whose schedule bounds them already
        closed = not arrivals.is_open_loop(workload.pattern)
        self.rejected_wait_s = REJECTED_BACKOFF_S if closed and not self.think_s else 0.0
        self.limit = workload.requests
        self.read_only = not workload.allow_writes
        self.give_up_s = workload.give_up_after_s
        self.tickets = itertools.count()
        self.workers = workload.threads
        self.exits = itertools.count(1)
        self.finished = threading.Event()  # set by the last worker to leave
        self.ending = threading.Event()  # the stop path began: holds, think and back-off
        # waits wake, the dispatcher stops
        self.halt = False  # a fatal failure: end now
        self.exhausted = False  # every `requests` ticket has been taken
        self.stopped = False  # a worker left because of `stop`
        # `stop` as the workers read it: a plain flag, set within STOP_POLL_S of the Event by
        # run()'s loop (or by a worker whose wait ended). Event.is_set() is a Python call, and
        # the workers ask twice per request, right where a woken thread waits for the GIL to
        # take the pool lock (see leases.py).
        self.stopping = stop.is_set()
        self.fatal: BaseException | None = None
        self.fatal_note: tuple[RunNote, str] | None = None
        self.gave_up = ""  # the sentence when give_up_after_s passed
        self.tallies = [_Tally() for _ in range(workload.threads + 1)]  # + the dispatcher
        self.arrivals: queue.SimpleQueue[float | None] = queue.SimpleQueue()
        self.start = self.deadline = 0.0
        # the run's histograms (lock-free per-thread shards); the sampler reads each interval
        # as the difference between its snapshot and the previous tick's
        # (acquire waits are the pool's own histogram: recording them twice would tax every
        # request)
        self.latency, self.lag = LatencyHistogram(), LatencyHistogram()
        self.previous: tuple[HistogramSnapshot, ...] = (EMPTY, EMPTY, EMPTY)
        self.last = (0.0, 0, 0)  # when the last tick was, ok and failed then
        self.cpu_started = 0.0  # the process's CPU time (process_time) when the run began
        self.cpu_last = (0.0, 0.0)  # the wall and CPU clocks at the last tick
        self.cores = machine_cores()
        self.events: list[str] = []
        self.event_kinds: list[RunNote] = []
        self.interrupted: set[tuple[int, int]] = set()  # statements the stop path cancelled
        # outages and stalls: rare paths, under a lock of their own
        self.trouble = threading.Lock()
        self.outage: Outage | None = None
        self.outage_error: BaseException | None = None
        self.outages: list[Outage] = []
        self.stall: Stall | None = None
        self.stalls: list[Stall] = []
        self.stall_after_s = STALL_AFTER_S + self.hold_s
        self.progress = (0.0, -1)  # when the completed count last moved, and it

    # --- the workers' side ------------------------------------------------------------------

    def requester(self, tally: _Tally) -> Callable[[float], float]:
        """This worker's request: acquire, query, hold, release, count the outcome, return when
        it ended (``perf_counter``); never raises.

        Built once per worker with all it touches bound: it runs once per request on every
        thread, and in a saturated burst each µs of Python here costs the pool being measured
        throughput (leases.py says why), so nothing is looked up twice.
        """
        # one connection at a time, always returned (the finally below): leak detection reads
        # this worker's checkouts instead of recording each (pool/leaks.py)
        borrower = tally.borrower = self.pool.borrower(one_at_a_time=True)
        acquire, release, record_query = borrower.acquire, borrower.release, borrower.record_query
        latency = self.latency.shard()
        record_latency, unfolded, fold_latency = latency.add, latency.unfolded, latency.fold
        count_query_error = self.pool.count_query_error
        ending, query, hold_s = self.ending, self.query, self.hold_s
        hold = ending.wait
        rejected_wait = self.rejected_wait_s
        returns_rows: bool | None = None  # the same query every time: learnt on first use

        def request(scheduled: float) -> float:
            nonlocal returns_rows
            step, cut = "connect", False
            try:
                con = acquire()
                acquired_at = borrower.acquired_at  # the statement's timing starts here too
                try:
                    if self.stopping:  # waited for a connection past the end: run nothing
                        tally.cancelled += 1
                        return perf_counter()
                    step = "query"
                    try:
                        cur = con.cursor()
                        tally.running = cur
                        try:
                            cur.execute(query)
                            if returns_rows is None:  # asked once: psycopg builds it anew
                                returns_rows = cur.description is not None
                            if returns_rows:  # the first batch here: no call more per request
                                fetched = len(cur.fetchmany(FETCH_BATCH))
                                if fetched < FETCH_BATCH:
                                    tally.rows += fetched
                                else:
                                    cut = self.fetch_rest(cur, tally, fetched)
                        finally:
                            tally.running = None
                            cur.close()
                    except Exception:
                        record_query(perf_counter() - acquired_at)
                        count_query_error()
                        raise
                    record_query(perf_counter() - acquired_at)
                    if hold_s and hold(hold_s):  # the run ended during the hold
                        self.stopping = cut = True
                    if unfolded() >= PENDING:  # here, not after the return (see leases.py)
                        fold_latency()
                finally:
                    release(con, acquired_at)
                done = perf_counter()
            except TooManyConnectionsError:  # the pool's fault, not the workload's: never fatal
                tally.failed += 1
                tally.kinds[REJECTED] = tally.kinds.get(REJECTED, 0) + 1
                if rejected_wait and ending.wait(rejected_wait):  # a failed request: go on
                    self.stopping = True
                return perf_counter()
            except Exception as exc:
                if (self.stopping or ending.is_set()) and failure_class(exc) not in (SQL, WRITE):
                    self.stopping = True  # cut short by the end (cancelled, cut): not failed
                    tally.cancelled += 1
                else:
                    self.failed(tally, exc, exc.step if isinstance(exc, SetupFailed) else step)
                return perf_counter()
            if cut:
                tally.cancelled += 1
                return done
            tally.ok += 1
            if tally.troubled:
                self.cleared(tally, done)
            record_latency(done - scheduled)
            return done

        return request

    def fetch_rest(self, cur: Any, tally: _Tally, count: int) -> bool:
        """Read the rest of a result FETCH_BATCH rows at a time, counting them; True when the end
        of the run cut it short (a result of millions of rows must not hold a run past its end)."""
        batch: Any = range(FETCH_BATCH)  # the first batch was full
        while len(batch) == FETCH_BATCH:
            if self.stopping or perf_counter() >= self.deadline:
                tally.rows += count
                return True
            batch = cur.fetchmany(FETCH_BATCH)
            count += len(batch)
        tally.rows += count
        return False

    def failed(self, tally: _Tally, exc: BaseException, step: str) -> None:
        """Count a failed request by the step that failed and the driver's error code. A lost
        server backs off and waits for it to return; a refused write ends the run at once;
        FATAL_AFTER other failures in a row mean the workload cannot work at all."""
        kind = f"{step}: {error_kind(exc)}"
        tally.failed += 1
        tally.kinds[kind] = tally.kinds.get(kind, 0) + 1
        tally.troubled = True
        failure = failure_class(exc)
        if failure == FULL:
            tally.full += 1  # a fleet attributes these to its processes together
        if failure in (CONNECTION, FULL):
            self.lost_server(tally, exc)
            return
        if failure == WRITE and self.read_only:
            self.fail_run(exc)
            return
        tally.consecutive += 1
        if tally.consecutive >= FATAL_AFTER:
            self.fail_run(
                exc, (RunNote.FATAL, f"stopped after {FATAL_AFTER} failures in a row ({kind})")
            )

    def fail_run(self, exc: BaseException, note: tuple[RunNote, str] | None = None) -> None:
        if self.fatal is None:
            self.fatal, self.fatal_note = exc, note
        self.halt = True

    def lost_server(self, tally: _Tally, exc: BaseException) -> None:
        """The server cannot be reached: record the outage, then back off (doubling, with
        jitter) so a restart is waited out instead of ending the run."""
        now = perf_counter()
        with self.trouble:
            if self.outage is None:
                self.outage, self.outage_error = Outage(now - self.start), exc
                for other in self.tallies:  # any worker's next success ends it
                    other.troubled = True
            outage = self.outage
            outage.failed += 1
        if self.give_up_s and now - self.start - outage.started_s > self.give_up_s:
            self.gave_up = (
                f"The server could not be reached for more than {self.give_up_s:g} s "
                f"({driver_said(exc, self.pool.target)}), so the run gave up: check "
                "the server, or raise give_up_after_s (--give-up-after) to wait "
                "longer."
            )
            self.fail_run(
                exc,
                (
                    RunNote.GAVE_UP,
                    "gave up after the server was unreachable for "
                    f"more than {self.give_up_s:g} s (give_up_after_s)",
                ),
            )
            return
        delay = min(BACKOFF_MAX_S, BACKOFF_START_S * 2 ** min(tally.lost, 16))
        tally.lost += 1
        if self.ending.wait(delay * (0.5 + random.random() / 2)):
            self.stopping = True

    def cleared(self, tally: _Tally, now: float) -> None:
        """A success after a failure: the back-off restarts, and an open outage has ended."""
        tally.consecutive = tally.lost = 0
        tally.troubled = False
        if self.outage is not None:
            with self.trouble:
                if self.outage is not None:
                    self.outage.ended_s = now - self.start
                    self.outages.append(self.outage)
                    self.outage = None

    def leave(self, tally: _Tally) -> None:
        tally.ended = perf_counter()
        if (
            self.stop.is_set()
            and tally.ended < self.deadline
            and not self.exhausted
            and not self.halt
        ):
            self.stopped = True  # left because of the stop, not at a natural end
        if next(self.exits) == self.workers:
            self.finished.set()

    def closed_loop(self, tally: _Tally) -> None:
        """A steady worker: requests back to back until the end."""
        ending, deadline, think_s, limit = self.ending, self.deadline, self.think_s, self.limit
        tickets = self.tickets
        try:
            request = self.requester(tally)
            t0 = perf_counter()
            while not (self.halt or self.stopping):
                if t0 >= deadline:
                    break
                if limit and next(tickets) >= limit:  # itertools.count is atomic under the GIL
                    self.exhausted = True
                    break
                t0 = request(t0)  # the next one starts as this one ends
                if think_s:
                    if ending.wait(think_s):
                        self.stopping = True
                        break
                    t0 = perf_counter()
        except Exception as exc:  # a bug must not hang the run: count it and leave
            self.failed(tally, exc, "engine")
        finally:
            self.leave(tally)

    def open_loop(self, tally: _Tally) -> None:
        """Serve queued arrivals; latency counts from the scheduled arrival."""
        get, deadline = self.arrivals.get, self.deadline
        lag = self.lag.shard()
        try:
            request = self.requester(tally)
            while True:
                scheduled = get()
                if scheduled is None or self.halt or self.stopping:
                    break
                t0 = perf_counter()
                if t0 >= deadline:
                    break
                lag.record(t0 - scheduled)
                request(scheduled)
        except Exception as exc:
            self.failed(tally, exc, "engine")
        finally:
            self.leave(tally)

    def dispatch(self, tally: _Tally) -> None:
        """Queue the schedule's arrival times as they come due; always release the workers at
        the end."""
        ending = self.ending
        put, qsize = self.arrivals.put, self.arrivals.qsize
        bound, issued = QUEUE_PER_THREAD * self.workers, 0
        due = arrivals.schedule(
            self.workload.pattern, self.workload.rate, self.start, self.deadline, self.seed
        )
        try:
            for at in due:
                if self.halt:
                    break
                if self.limit and issued >= self.limit:
                    self.exhausted = True
                    break
                delay = at - perf_counter()
                if (delay > 0 and ending.wait(delay)) or ending.is_set():
                    self.stopping = True  # the workers need not wait for run() to notice
                    break
                issued += 1
                if qsize() >= bound:
                    tally.failed += 1
                    tally.kinds[OVERLOAD] = tally.kinds.get(OVERLOAD, 0) + 1
                else:
                    put(at)
            else:  # the schedule ran out before the deadline: the run still lasts its duration
                # (ending there would rate the run over less time than its arrivals had)
                rest = self.deadline - perf_counter()
                if rest > 0 and ending.wait(rest):
                    self.stopping = True
        except Exception as exc:
            self.failed(tally, exc, "engine")
        finally:
            tally.ended = perf_counter()
            for _ in range(self.workers):
                put(None)

    # --- the sampler's side (the calling thread) -----------------------------------------------

    def running(self) -> Iterator[Any]:
        """The cursors whose statements run now, each statement counted once in interrupted."""
        for tally in self.tallies:
            cursor = tally.running
            if cursor is not None:
                self.interrupted.add((id(tally), tally.ok + tally.failed + tally.cancelled))
                yield cursor

    def counts(self) -> tuple[int, int]:
        return sum(t.ok for t in self.tallies), sum(t.failed for t in self.tallies)

    def watch_progress(self, now: float, completed: int) -> None:
        """Open a stall when nothing completed for stall_after_s while requests are in flight;
        close it at the next completion."""
        since, last = self.progress
        if completed != last:
            self.progress = (now, completed)
            if self.stall is not None:
                self.stall.ended_s = now - self.start
                self.stalls.append(self.stall)
                self.stall = None
            return
        in_flight = self.pool.in_flight()
        if in_flight and now - since > self.stall_after_s:
            if self.stall is None:
                self.stall = Stall(since - self.start)
                self.note(
                    RunNote.STALL,
                    f"no request completed for {seconds(now - since)} while {in_flight} "
                    "were in flight (a frozen server, a lock, or slower statements)",
                )
            self.stall.in_flight = max(self.stall.in_flight, in_flight)

    def tick(
        self, now: float, on_sample: Callable[[Sample], None] | None, *, final: bool = False
    ) -> None:
        """Check for leaks and stalls; report the interval since the last tick to ``on_sample``.

        An interval's latencies are the run's histograms now minus at the previous tick: the
        workers are never interrupted and no sample falls between two intervals. The ``final``
        tick's ``now`` is when the workers ended, so its rate is over the time they ran, and its
        sample says how short that interval is (a front end does not plot a rate over a sliver).
        """
        ok, failed = self.counts()
        self.watch_progress(now, ok + failed + sum(t.cancelled for t in self.tallies))
        at, last_ok, last_failed = self.last
        self.last = (now, ok, failed)
        if on_sample is None:
            self.pool.check_leaks()  # otherwise the sample's snapshot() checks them
            return
        current = (self.latency.snapshot(), self.pool.acquire_snapshot(), self.lag.snapshot())
        latency, acquire, lag = (
            now_ - before for now_, before in zip(current, self.previous, strict=True)
        )
        self.previous = current
        outage = self.outage
        span = now - at
        wall, cpu = perf_counter(), process_time()  # the client's CPU: read now, not at `now`
        wall_before, cpu_before = self.cpu_last
        self.cpu_last = (wall, cpu)
        client_cores = (cpu - cpu_before) / (wall - wall_before) if wall > wall_before else 0.0
        sample = Sample(
            elapsed_s=now - self.start,
            stats=self.pool.snapshot(timings=False),
            interval_requests=ok + failed - last_ok - last_failed,
            interval_errors=failed - last_failed,
            errors=failed,
            throughput_rps=(ok - last_ok) / span if span > 0 else 0.0,
            p95_ms=latency.percentile(95.0) * 1000.0,
            p95_acquire_ms=acquire.percentile(95.0) * 1000.0,
            schedule_lag_ms=lag.percentile(95.0) * 1000.0,
            stalled_s=now - self.progress[0] if self.stall is not None else 0.0,
            outage_s=now - self.start - outage.started_s if outage is not None else 0.0,
            interval_s=span,
            final=final,
            client_cores=client_cores,
            client_saturated=client_saturated(client_cores, self.cores),
        )
        try:
            on_sample(sample)
        except Exception as exc:  # the front end's callback must not end the run
            self.note(RunNote.ON_SAMPLE_FAILED, f"on_sample raised {error_kind(exc)}")

    def note(self, kind: RunNote, text: str) -> None:
        if len(self.events) < MAX_EVENTS and text not in self.events:
            self.events.append(text)
            self.event_kinds.append(kind)


class _StopPath:
    """How run() ends, whatever ended it: wake the waits, give what is in flight END_GRACE_S
    (none after a stop or a fatal failure), cancel what still runs on the server every
    STOP_POLL_S from a thread of its own (a cancel to a dead server can take seconds), cut the
    sockets after CANCEL_WAIT_S (at once while the run is stalled: a server that does not
    answer does not take a cancel either), and give up waiting ABORT_WAIT_S later."""

    def __init__(self, state: _Run) -> None:
        self.state = state
        self.cancel_from: float | None = None
        self.aborted_at: float | None = None
        self.canceller: threading.Thread | None = None

    @property
    def begun(self) -> bool:
        return self.cancel_from is not None

    def begin(self, now: float, *, at_once: bool) -> None:
        self.cancel_from = now if at_once else now + END_GRACE_S
        self.advance(now)

    def advance(self, now: float) -> bool:
        """One step of the stop path; True when run() must stop waiting for the workers."""
        if self.cancel_from is None or now < self.cancel_from:
            return False
        if not self.state.ending.is_set():  # from here nothing new starts, and waits wake
            self.state.stopping = True
            self.state.ending.set()
        if self.canceller is None or not self.canceller.is_alive():
            cursors = list(self.state.running())
            if cursors:
                self.canceller = threading.Thread(
                    target=self.state.pool.interrupt,
                    args=(cursors,),
                    daemon=True,
                    name="pooltui-cancel",
                )
                self.canceller.start()
        # while nothing completes (a frozen server, or one too slow to take a cancel soon) the
        # cancel gets STALLED_CANCEL_WAIT_S, not the whole CANCEL_WAIT_S, before the cut
        stall = self.state.stall
        wait = STALLED_CANCEL_WAIT_S if stall is not None else CANCEL_WAIT_S
        if self.aborted_at is None and now >= self.cancel_from + wait:
            self.aborted_at = now
            cut = self.state.pool.abort_all()
            why = (
                f"nothing had completed for {seconds(now - self.state.progress[0])}"
                if stall is not None
                else f"their statements had not ended {CANCEL_WAIT_S:g} s after the cancel"
            )
            self.state.note(
                RunNote.CONNECTIONS_CUT,
                f"pooltui cut {counted(cut, 'connection')} at the end: {why} (DBUtils reopens "
                "them when next used)",
            )
        return self.aborted_at is not None and now >= self.aborted_at + ABORT_WAIT_S


@without_full_collections  # a full pass would stall every worker at once
def run(
    pool: PoolLike,
    workload: Workload,
    *,
    stop: threading.Event | None = None,
    on_sample: Callable[[Sample], None] | None = None,
    sample_interval_s: float = 0.25,
    server_version: str | None = None,
    seed: int | None = None,
) -> RunResult:
    """Run one workload against the pool and measure it; a failing database never raises.

    Ends at `duration_s`, after `requests` (if > 0), when `stop` is set, or after a fatal
    failure (FATAL_AFTER in a row, a refused write, or a server unreachable past
    give_up_after_s; then `fatal_error` says why), always through the stop path (_StopPath):
    nothing pooltui started is left running on the server. Calls `on_sample` every
    `sample_interval_s` and once at the end. Applies the workload's session guards (read-only,
    statement timeout) and resets the pool's interval stats first; does not close the pool.
    `seed` makes the open loop's arrivals reproducible. BadInput for a workload no run can
    honour.
    """
    problems = [f for f in validate_workload(workload) if f.level == "error"]
    if problems:
        raise BadInput(problems[0].message)
    if not sample_interval_s > 0:
        raise BadInput(f"sample_interval_s is {sample_interval_s:g} but must be more than 0.")
    stop = stop if stop is not None else threading.Event()
    pool.guard_sessions(SessionGuards.of(workload))
    state = _Run(pool, workload, stop, seed)
    open_loop = arrivals.is_open_loop(workload.pattern)
    threads = [
        threading.Thread(
            target=state.open_loop if open_loop else state.closed_loop,
            args=(state.tallies[i],),
            daemon=True,
            name=_worker_name(i),
        )
        for i in range(workload.threads)
    ]
    if open_loop:
        threads.append(
            threading.Thread(
                target=state.dispatch,
                args=(state.tallies[-1],),
                daemon=True,
                name="pooltui-dispatcher",
            )
        )

    pool.reset_interval()
    state.cpu_started = process_time()
    state.start = perf_counter()
    state.cpu_last = (state.start, state.cpu_started)
    state.deadline = state.start + workload.duration_s
    state.last = (state.start, 0, 0)
    state.progress = (state.start, 0)
    for thread in threads:
        thread.start()
    next_tick = state.start + sample_interval_s
    ending = _StopPath(state)
    while True:
        wake = min(next_tick, perf_counter() + STOP_POLL_S)
        if state.finished.wait(max(0.0, wake - perf_counter())):
            break
        now = perf_counter()
        if now >= next_tick:
            state.tick(now, on_sample)
            next_tick = max(next_tick + sample_interval_s, now + sample_interval_s / 2)
        if not ending.begun and (stop.is_set() or state.halt or now >= state.deadline):
            ending.begin(now, at_once=stop.is_set() or state.halt)
            if stop.is_set() and not state.halt and now < state.deadline:
                state.stopped = True  # even if a worker blocked on a dead server never leaves
        if ending.advance(now):
            break
    state.halt = True
    join_end = perf_counter() + JOIN_GRACE_S
    for thread in threads:
        thread.join(max(0.0, join_end - perf_counter()))
    client = ClientCpu(
        process_time() - state.cpu_started, perf_counter() - state.start, state.cores
    )
    busy = sum(thread.is_alive() for thread in threads)
    if busy:
        state.note(
            RunNote.THREADS_BLOCKED,
            f"{counted(busy, 'thread')} still blocked after the stop path (their statements "
            "were cancelled and their connections cut); they end with the process",
        )
    ended = perf_counter() if busy else max(t.ended for t in state.tallies)
    unserved = 0
    while not state.arrivals.empty():
        unserved += state.arrivals.get_nowait() is not None
    if unserved:
        state.note(
            RunNote.UNSERVED, f"{unserved} arrivals were still waiting for a thread at the end"
        )
    # the last interval ends when the workers did (not after the joins): what completed after
    # the previous tick is rated over the time it had, however short
    state.tick(max(ended, state.last[0]), on_sample, final=True)
    return _result(state, max(ended - state.start, 0.0), server_version, open_loop, client)


def _worker_name(index: int) -> str:
    return f"pooltui-worker-{index}"


def _thread_figures(state: _Run) -> tuple[list[ThreadFigures], list[float]]:
    """Every worker's share of the run, read at its end off the worker's tally and its
    borrower's acquire shard (nothing on the hot path), and the waits still unfinished then
    (seconds so far): a caller blocked in connection() when the run ends waited at least that
    long, and leaving it out would make the wait figures look better than they were."""
    now = perf_counter()
    figures: list[ThreadFigures] = []
    unfinished: list[float] = []
    for index, tally in enumerate(state.tallies[: state.workers]):
        borrower = tally.borrower
        waits = borrower.acquire_snapshot() if borrower is not None else EMPTY
        started = borrower.inside if borrower is not None else 0.0
        waiting = max(now - started, 0.0) if started else 0.0
        if started:
            unfinished.append(waiting)
        figures.append(
            ThreadFigures(
                name=_worker_name(index),
                requests=tally.ok + tally.failed,
                ok=tally.ok,
                checkouts=waits.count,
                waits=round(waits.count_above(WAITED_S)) + (waiting > WAITED_S),
                longest_wait_ms=max(waits.max, waiting) * 1000.0,
                waiting_ms=waiting * 1000.0,
            )
        )
    return figures, unfinished


def _merged(outages: list[Outage]) -> list[Outage]:
    """One outage where the server flapped: a request that succeeded less than OUTAGE_GAP_S
    before the next failure (a shutdown still serving some statements, a connect racing the
    restart) does not mean the server was back."""
    merged: list[Outage] = []
    for outage in outages:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.ended_s is not None
            and outage.started_s - last.ended_s < OUTAGE_GAP_S
        ):
            last.ended_s, last.failed = outage.ended_s, last.failed + outage.failed
        else:
            merged.append(outage)
    return merged


def _result(
    state: _Run,
    duration_s: float,
    server_version: str | None,
    open_loop: bool,
    client: ClientCpu,
) -> RunResult:
    """Fold the tallies and histograms into the RunResult, once the threads have ended."""
    latency, lag = state.latency, state.lag
    pool = state.pool
    ok, failed = state.counts()
    kinds: dict[str, int] = {}
    for tally in state.tallies:
        for kind, count in tally.kinds.items():
            kinds[kind] = kinds.get(kind, 0) + count
    outages = list(state.outages)
    if state.outage is not None:  # still unreachable at the end
        outages.append(state.outage)
    outages = _merged(outages)
    if outages and state.outage_error is not None:
        outages[0].error = describe_db_error(state.outage_error, pool.target)
    for outage in outages:
        recovery = outage.recovery_s
        state.note(
            RunNote.OUTAGE,
            f"the server was unreachable from {seconds(outage.started_s)}"
            + (f" for {seconds(recovery)}" if recovery is not None else " to the end")
            + f" ({counted(outage.failed, 'request')} failed; pooltui backed off and retried)",
        )
    stalls = list(state.stalls)
    if state.stall is not None:
        stalls.append(state.stall)
    fatal = None
    if state.fatal is not None:
        fatal = state.gave_up or describe_db_error(state.fatal, pool.target)
        if state.fatal_note:
            state.note(*state.fatal_note)
    elif state.stopped:
        state.note(RunNote.STOPPED, f"stopped on request after {seconds(duration_s)}")
    if state.interrupted:
        target = pool.target  # SQLite's statements are interrupted in this process, no server
        asked = target.dialect.product if target.dialect.is_file else "the server"
        state.note(
            RunNote.CANCELLED,
            f"the end of the run asked {asked} to cancel "
            f"{counted(len(state.interrupted), 'statement')} still running",
        )
    if kinds.get(OVERLOAD):
        state.note(
            RunNote.OVERLOAD,
            f"{kinds[OVERLOAD]} arrivals dropped: {QUEUE_PER_THREAD * state.workers} "
            "were already waiting for a thread",
        )
    if kinds.get(REJECTED):
        state.note(
            RunNote.REJECTED,
            f"{kinds[REJECTED]} requests rejected: the pool was at maxconnections and "
            "blocking is off",
        )
    stats = pool.snapshot()
    timings = pool.timing_snapshots()  # the threads have ended: these agree with stats
    per_thread, unfinished = _thread_figures(state)
    if unfinished:
        state.note(
            RunNote.STILL_WAITING,
            f"{len(unfinished)} callers were still waiting for a connection at the end, the "
            f"longest for {ms(max(unfinished) * 1000.0)}: their waits so far count in the "
            "acquire figures (not as checkouts)",
        )
    acquire = timings["acquire"] + snapshot_of(unfinished)
    stats = replace(stats, acquire=acquire.summary())
    histograms = RunHistograms(
        latency=latency.snapshot(),
        acquire=acquire,
        query=timings["query"],
        hold=timings["hold"],
        connect=timings["connect"],
        schedule_lag=lag.snapshot() if open_loop else EMPTY,
    )
    if stats.reconnects:
        state.note(
            RunNote.RECONNECTED,
            f"DBUtils replaced {counted(stats.reconnects, 'connection')} that were lost (killed by "
            "the server, cut at a stop) or used up (maxusage)",
        )
    if stats.reexecutions:
        # a read-only session (the default workload) cannot have written: say what it means
        # for the application's writes, not that this run's did run twice
        consequence = (
            "harmless for this read-only workload, but an application's write that had "
            "reached the server would run twice (wrap writes in begin() ... commit())"
            if state.read_only
            else "a write that had reached the server ran twice"
        )
        state.note(
            RunNote.REEXECUTED,
            f"DBUtils ran {counted(stats.reexecutions, 'statement')} again after losing "
            f"{'its' if stats.reexecutions == 1 else 'their'} connection: {consequence}",
        )
    if client.saturated:
        state.note(
            RunNote.CLIENT_SATURATED, client.sentence(embedded=not pool.target.driver.has_server)
        )
    result = RunResult(
        requests=ok + failed,
        errors=failed,
        duration_s=duration_s,
        throughput_rps=ok / duration_s if duration_s > 0 else 0.0,
        latency=histograms.latency.summary(),
        acquire=stats.acquire,  # the unfinished waits included
        query=stats.query,
        hold=stats.hold,
        schedule_lag=histograms.schedule_lag.summary(),
        error_kinds=kinds,
        pool=stats,
        config=pool.validation.effective,
        target=pool.target.redacted,
        driver=pool.target.facts.module_name,
        workload=state.workload,
        server_version=server_version,
        stopped=state.stopped and fatal is None,
        fatal_error=fatal,
        events=state.events,
        event_kinds=state.event_kinds,
        cancelled=sum(t.cancelled for t in state.tallies),
        rows=sum(t.rows for t in state.tallies),
        server_full=sum(t.full for t in state.tallies),
        outages=outages,
        stalls=stalls,
        leaks=pool.leak_reports(),
        guards=pool.guards,
        histograms=histograms,
        per_thread=per_thread,
        unfinished_waits=len(unfinished),
        unfinished_wait_max_ms=max(unfinished, default=0.0) * 1000.0,
        client=client,
    )
    pool.emit(
        "run_finished",
        f"Run finished: {counted(result.requests, 'request')}, "
        f"{counted(result.errors, 'error')}, {rate(result.throughput_rps, ' req/s')}.",
    )
    return result
