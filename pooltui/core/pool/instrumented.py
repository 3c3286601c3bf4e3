"""InstrumentedPool: a real DBUtils PooledDB, with the gauges, counters and timings it lacks.

PooledDB publishes nothing, so pooltui counts from the outside (research/pools.md §1.3-1.5):

* the creator is wrapped: every connect is timed and counted, and the raw connection is handed
  to DBUtils inside a thin proxy whose ``close()`` counts the close and forgets the server id;
* ``connection()`` is wrapped: acquire wait, checkouts, rejections and hold time;
* the few private PooledDB fields the gauges need (the checked-out count, the idle and shared
  caches, the threads parked in the pool's Condition) are read without the pool lock. Each read
  is atomic under the GIL; taking the lock would stall the sampler behind a connect, which
  PooledDB performs while holding it. Every private DBUtils name pooltui uses is in
  ``_dbutils.py``, checked when the pool is built.

The hot path takes no lock of ours: DBUtils already serialises every checkout and return on its
pool lock (and makes round trips under it: ping, rollback), so every microsecond pooltui adds
to a request is paid several times over in a saturated burst. Each thread checks out through a
``Borrower`` of its own (leases.py) that counts checkouts, peaks and timings into fields and
histogram shards only it writes, and flags itself while it is inside connection()
(snapshot() sums and maxes them all). Our bookkeeping lock (``_mutex``) guards only the rare
paths (connects, closes, rejections, leak records) and is never held while waiting for the pool
lock, so the lock order is always pool lock -> ``_mutex``.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from time import monotonic, perf_counter
from typing import Any

from pooltui.core.config import PoolConfig, SessionGuards, pooled_db_kwargs, validate
from pooltui.core.drivers.base import Target
from pooltui.core.errors import (
    CONNECTION,
    BadInput,
    CannotConnect,
    RunFailed,
    SetupFailed,
    describe_db_error,
    driver_said,
    failure_class,
)
from pooltui.core.pool import _dbutils
from pooltui.core.pool.histogram import HistogramSnapshot, LatencyHistogram
from pooltui.core.pool.leaks import LeakDetector, LeakReport, ScannedBorrower
from pooltui.core.pool.leases import Borrower, Lease
from pooltui.core.pool.lock_time import LockClock, timed_sql_pinger
from pooltui.core.pool.raw_connection import RawConnection, proxy_class
from pooltui.core.pool.stats import PoolStats, overflow_of

_TAGS = itertools.count(1)
CLOSE_WAIT_S = 2.0  # close(): how long a connection another thread still uses may take to close
ABORTED_CLOSE_WAIT_S = 0.5  # the same after abort_all(): only a connect in progress can block
MAX_OPENED_IDS = 10_000  # session ids kept for the closing check (the tag finds the rest on PG)

__all__ = ["InstrumentedPool", "LeakReport", "PoolEvent"]


@dataclass(frozen=True)
class PoolEvent:
    """Something the event log shows: ``at`` is ``time.monotonic()``."""

    kind: str
    message: str
    at: float
    detail: str = ""


# who found a lost connection (the DBUtils method), in words: "found dead by tough_method" means
# nothing to a person
FOUND_DEAD_BY = {
    "_ping_check": "the checkout ping found it dead",
    "tough_method": "a statement found it dead and ran again on a new connection",
    "_cursor": "opening a cursor found it dead",
    "rollback": "the rollback at its return found it dead",
    "commit": "a commit found it dead",
}


def new_tag(target: Target) -> str:
    """A new pool's session tag: this process's id and its pool number, after the DSN's own
    application_name / program_name if it has one (the server shows both)."""
    return target.session_tag(f"pooltui-{os.getpid()}-{next(_TAGS)}")


class InstrumentedPool:
    """A PooledDB over ``target`` with ``config``, counted as it is used. See the module doc."""

    def __init__(
        self,
        target: Target,
        config: PoolConfig,
        *,
        leak_threshold_s: float | None = None,
        on_event: Callable[[PoolEvent], None] | None = None,
        tag: str | None = None,
        guards: SessionGuards | None = None,
    ) -> None:
        self.target = target
        self.config = config
        self.guards = guards or SessionGuards()
        self.validation = validate(config, target.facts).require_ok()
        _dbutils.require_installed()
        self.leak_detector = LeakDetector(leak_threshold_s, self.emit)
        # the DSN's own application_name / program_name stays visible, as the tag's prefix
        self.tag = tag or new_tag(target)
        self.leak_threshold_s = leak_threshold_s
        self.on_event = on_event
        self._module = target.module()
        self._connect_kwargs = target.connect_kwargs(self.tag)
        self._proxy = proxy_class(self._module)
        self._mutex = threading.Lock()
        self._closed = False
        self._raws: set[RawConnection] = set()
        # open: connects - closes, except that a connection DBUtils replaced counts as gone
        # when its replacement opens (old -> new until the old one's close; see _open_after)
        self._open = 0
        self._replaced: dict[RawConnection, RawConnection] = {}
        self._lock_clock = LockClock()  # round trips under the pool lock (lock_time.py)
        self._sids: set[int] = set()
        self._opened_sids: set[int] = set()  # every session it ever opened: the closing check
        self._local = threading.local()
        self._borrowers: list[Borrower] = []
        self._collect = threading.local()
        self._acquire_h, self._query_h = LatencyHistogram(), LatencyHistogram()
        self._hold_h, self._connect_h = LatencyHistogram(), LatencyHistogram()
        self._zero_counters()
        self._peaks = [0] * 6  # checked_out idle shared open overflow waiting
        self._built = False  # PooledDB's constructor is still opening mincached
        self._initial_reported = False  # the warm-up has reported initial_connect_times
        kwargs = pooled_db_kwargs(self.validation.effective)
        # pooltui runs setsession itself, after its guards, so a failure names its step
        self._setsession = tuple(kwargs.pop("setsession") or ())
        kwargs["setsession"] = None
        ping_query = self.validation.effective.ping_query
        if ping_query:  # DBUtils' own SQL pinger, timed under the pool lock (lock_time.py)
            kwargs["ping"] = (
                self.validation.effective.ping,
                timed_sql_pinger(ping_query, self._lock_clock),
            )
        self._interrupting = False
        self._aborted = False  # abort_all() cut every socket: close() need not cancel first
        self._try_session_once()
        self._collect.times = []
        try:
            # opens mincached connections now; validate() refused the mincached > maxconnections
            # case that would block here forever
            self._pool = _dbutils.make_pool(self._create, self._module, self._is_fatal, **kwargs)
            self.internals = _dbutils.bind(self._pool)
            self._lock_clock.held = self.internals.lock_held
        except BaseException:
            self._closed = True
            self._force_close_all()
            raise
        finally:
            self.initial_connect_times: tuple[float, ...] = tuple(self._collect.times)
            self._collect.times = None
        self._maxcached = self.internals.maxcached
        self._maxconnections = self.internals.maxconnections
        self._maxshared = self.internals.maxshared
        self._built = True
        self._raise_peaks()

    # --- connecting ------------------------------------------------------------------------

    def _create(self, replacing: _dbutils.Replacing | None) -> RawConnection:
        """The creator DBUtils calls; ``replacing`` says who replaces which lost connection.

        Timed as a whole (connect, guards, setsession) when DBUtils holds its pool lock
        meanwhile: at a checkout from an empty idle cache, or replacing a connection the ping
        at checkout found dead.
        """
        started = perf_counter()
        try:  # a failed reconnect raises: it replaced nothing
            proxy = self._connect(replacing.old if replacing is not None else None)
        finally:
            self._lock_clock.add_connect(perf_counter() - started)
        if replacing is not None:
            self._count_replacement(replacing.caller, recycled=replacing.recycled)
        return proxy

    def _connect(self, replaces: Any = None) -> RawConnection:
        """Open, prepare and register a connection; ``replaces``: the one DBUtils will close
        once this one is stored (it counts as gone from now: see _forget)."""
        self._check_open()
        if self._aborted:  # DBUtils reconnects after a failed rollback, failover or not: a stop
            # that cut the sockets must not wait for a connect to a server that does not answer
            raise CannotConnect(
                "The run is stopping: pooltui opens no connection until the next run."
            )
        started = perf_counter()
        try:
            raw = self._module.connect(**self._connect_kwargs)
        except Exception as exc:
            with self._mutex:
                self._connect_errors += 1
            message = describe_db_error(exc, self.target)
            self.emit("connect_failed", message)
            raise CannotConnect(message) from exc
        elapsed = perf_counter() - started
        self._connect_h.record(elapsed)
        try:
            sid = self.target.backend_id(raw)
        except Exception:
            sid = None
        self._prepare(raw)
        proxy = self._proxy(raw, self, sid)
        with self._mutex:
            closed = self._closed
            if not closed:
                self._raws.add(proxy)
                if sid is not None:
                    self._sids.add(sid)
                    if len(self._opened_sids) < MAX_OPENED_IDS:
                        self._opened_sids.add(sid)
                self._connects += 1
                gone = replaces in self._raws and replaces not in self._replaced
                if gone:
                    self._replaced[replaces] = proxy
                self._open += 0 if gone else 1  # one store: the sampler never sees both
        if closed:  # close() ran while we were connecting: do not leave it open
            raw.close()
            self._check_open()
        times = getattr(self._collect, "times", None)
        if times is not None:
            times.append(elapsed)
        self._raise_peaks()
        return proxy

    def _prepare(self, raw: Any) -> None:
        """Bind a new connection by the guards, then run the user's setsession; either failure
        closes it and says which step failed (DBUtils would only re-raise the driver's error)."""
        step, sql = "guard", "pooltui's read-only and statement-timeout settings"
        try:
            self.target.guard_session(raw, self.guards)
            step = "setsession"
            cursor = raw.cursor()
            try:
                for sql in self._setsession:
                    cursor.execute(sql)
            finally:
                cursor.close()
        except Exception as exc:
            with suppress(Exception):
                raw.close()
            if step == "setsession":
                message = (
                    f"The setsession statement {sql!r} failed on a new connection "
                    f"({driver_said(exc, self.target)}): fix it or remove it."
                )
            else:
                message = (
                    f"Applying {sql} failed on a new connection: "
                    f"{describe_db_error(exc, self.target)}"
                )
            raise SetupFailed(message, step) from exc

    def _try_session_once(self) -> None:
        """Run setsession and the ping_query once on a connection of their own before the pool
        exists: a failing one would otherwise surface only as errors in every request (or, for
        the ping, as DBUtils silently reconnecting at every checkout)."""
        ping_query = self.validation.effective.ping_query
        if not (self._setsession or ping_query):
            return
        try:  # a connection of pooltui's own, not the pool's: not in the pool's counters
            raw = self._module.connect(**self._connect_kwargs)
        except Exception as exc:
            raise CannotConnect(describe_db_error(exc, self.target)) from exc
        try:
            self._prepare(raw)
        except SetupFailed as failed:  # the user's own statement: bad input, not a failed run
            raise BadInput(str(failed)) from failed.__cause__
        try:
            if ping_query:
                cursor = raw.cursor()
                try:
                    cursor.execute(ping_query)
                    if cursor.description is not None:
                        cursor.fetchall()
                except Exception as exc:
                    raise BadInput(
                        f"The ping_query {ping_query!r} fails "
                        f"({driver_said(exc, self.target)}): fix it or leave it "
                        "empty, or DBUtils would take every connection for dead and "
                        "reconnect at each check."
                    ) from exc
                finally:
                    cursor.close()
        finally:
            with suppress(Exception):
                raw.close()

    def _is_fatal(self, error: BaseException, reexecuting: bool) -> bool:
        """DBUtils' isfatal: may it reconnect and run the statement again? Only when the
        connection itself failed (by the driver's error code), never for a SQL error, and
        never for a statement pooltui cancelled to stop a run (see interrupt()).
        ``reexecuting``: DBUtils would run a failed execute again (not just a new cursor)."""
        if self._interrupting or failure_class(error) != CONNECTION:
            return False
        if reexecuting:
            with self._mutex:
                self._reexecutions += 1
        return True

    def _forget(self, proxy: RawConnection) -> bool:
        """Count a close once; False when it was already closed (or never registered)."""
        with self._mutex:
            if proxy not in self._raws:
                return False
            self._raws.discard(proxy)
            if proxy._sid is not None:
                self._sids.discard(proxy._sid)
            self._closes += 1
            self._open -= self._open_after_close(proxy)
            return True

    def _open_after_close(self, proxy: RawConnection) -> int:
        """How much closing ``proxy`` lowers ``open`` (under ``_mutex``): 0 for a replaced
        connection (gone since its replacement opened), and 0 for a replacement closed before
        the one it replaced (which is open again: DBUtils kept it, its retry failed)."""
        replaced = self._replaced
        if not replaced:
            return 1
        if replaced.pop(proxy, None) is not None:
            return 0
        for old, new in replaced.items():
            if new is proxy:
                del replaced[old]
                return 0
        return 1

    def _count_replacement(self, caller: str, *, recycled: bool) -> None:
        """A connect that replaces a connection DBUtils found dead (or recycled by maxusage).

        DBUtils opens a *new* connection only while building a SteadyDBConnection (its
        ``__init__``); every other caller of the creator (the ping check, the failover in
        execute, a failed rollback or commit) is replacing one behind the caller's back, which
        DBUtils never reports. The server killed it, restarted, or timed it out.
        """
        with self._mutex:
            self._reconnects += 1
        if recycled:
            return  # the expected recycling after maxusage statements: counted, not alarming
        # the same words every time, so the console folds a storm of them into one counted line
        found = FOUND_DEAD_BY.get(caller, "DBUtils found it dead")
        self.emit(
            "connection_lost",
            f"A connection was lost ({found}); DBUtils replaced it with a new one.",
        )

    def open_idle(self, count: int) -> list[float]:
        """Warm-up: make ``count`` connections sit in the idle cache; their connect times (s).

        Checks out ``count`` dedicated connections at once (idle ones first, new ones opened) and
        returns them all. Only connections it had to open are timed, so after PooledDB's own
        ``mincached`` pre-opening (see ``initial_connect_times``) the list may be short or empty.
        Not counted as checkouts: warm-up is not the workload.
        """
        if count < 0:
            raise BadInput(f"The warm-up count is {count} but must be 0 or more.")
        if self._maxconnections and count > self._maxconnections:
            raise BadInput(
                f"A warm-up of {count} connections exceeds maxconnections="
                f"{self._maxconnections}: warm up at most {self._maxconnections}."
            )
        if self._maxcached and count > self._maxcached:
            raise BadInput(
                f"A warm-up of {count} connections exceeds maxcached={self._maxcached}"
                f", so the extra ones would be closed on return: warm up at most "
                f"{self._maxcached} or raise maxcached."
            )
        self._check_open()
        held: list[Any] = []
        times: list[float] = []
        self._collect.times = times
        try:
            for _ in range(count):
                held.append(self.internals.dedicated_connection())
        finally:
            self._collect.times = None
            for con in held:
                con.close()
            self._raise_peaks()
        return times

    # --- checkout / return -----------------------------------------------------------------

    def connection(self, shareable: bool = True) -> Lease:
        """``with pool.connection() as con``: a DBUtils pooled connection, timed and counted."""
        return Lease(self, shareable)

    def borrower(self, one_at_a_time: bool = False) -> Borrower:
        """The calling thread's way into the pool (made on its first checkout, and anew after
        reset_interval). A load loop keeps it: ``acquire``/``release`` are the cheapest path.
        ``one_at_a_time``: this thread holds at most one connection and always returns it (a
        load loop), so leak detection reads its checkouts instead of recording each. A
        thread's first borrower decides, except that a checkout not made one at a time
        (``with pool.connection()``) on a load loop's thread gets a borrower of its own: it
        may be nested, or outlive the loop's."""
        local = self._local
        mine: Borrower | None = getattr(local, "borrower", None)
        if mine is None:
            return self._new_borrower("borrower", one_at_a_time)
        if one_at_a_time or not isinstance(mine, ScannedBorrower):
            return mine
        other: Borrower | None = getattr(local, "other", None)
        return other if other is not None else self._new_borrower("other", False)

    def _new_borrower(self, slot: str, one_at_a_time: bool) -> Borrower:
        """Made, counted in snapshots and (scanned) watched for leaks, kept in ``slot``."""
        mine = self.leak_detector.borrower_class(one_at_a_time)(self)
        with self._mutex:  # with reset_interval's: a borrower made during one is not lost
            if isinstance(mine, ScannedBorrower):
                self.leak_detector.scan(mine)
            self._borrowers.append(mine)
            setattr(self._local, slot, mine)
        return mine

    def _count_rejection(self) -> None:
        with self._mutex:
            self._rejections += 1

    def interrupt(self, cursors: list[Any]) -> int:
        """Stop: cancel the statements running on these cursors of checked-out connections;
        how many were asked.

        From now until reset_interval(), a failing statement is not "fatal" for DBUtils, so its
        failover does not quietly open a new connection and run the cancelled statement again.
        """
        self._interrupting = True
        running = []
        for cursor in cursors:  # DBUtils' SteadyDBCursor: its connection's proxy, its raw cursor
            raw, driver_cursor = _dbutils.cursor_parts(cursor)
            if isinstance(raw, RawConnection):
                running.append((raw._con, raw._sid, driver_cursor))
        try:
            return self.target.cancel_statements(running)
        except Exception:  # the server is gone: nothing is running there any more
            return 0

    def abort_all(self) -> int:
        """The last resort of a stop: cut every open connection's socket (Target.abort_connection)
        so threads blocked on a frozen server, or on a statement its cancel did not reach, return
        at once; DBUtils finds the connections dead and reopens them when next used. How many
        were cut."""
        self._interrupting = self._aborted = True
        with self._mutex:
            raws = list(self._raws)
        return sum(self.target.abort_connection(proxy._con) for proxy in raws)

    def guard_sessions(self, guards: SessionGuards) -> None:
        """Make ``guards`` hold for the connections opened from now on and for the idle ones (a
        run whose duration, statement timeout or allow_writes differs from the last one's). Call
        it between runs: it takes the pool lock while it sets each idle connection."""
        if guards == self.guards:
            return
        self.guards = guards
        self._check_open()
        with self.internals.lock:
            for steady in self.internals.idle:  # SteadyDBConnections around our proxies
                raw = _dbutils.raw_of(steady)
                if isinstance(raw, RawConnection):
                    with suppress(Exception):  # a dead idle connection: DBUtils replaces it
                        self.target.guard_session(raw._con, guards)

    def leak_reports(self) -> list[LeakReport]:
        """The leaks reported since the interval began (the run's), oldest first."""
        return self.leak_detector.reports()

    def acquire_snapshot(self) -> HistogramSnapshot:
        """The acquire-wait histogram as it is now (the engine's interval p95 is a difference)."""
        return self._acquire_h.snapshot()

    def timing_snapshots(self) -> dict[str, HistogramSnapshot]:
        """The four timing histograms as they are now (a run result keeps them: mergeable)."""
        return {
            "acquire": self._acquire_h.snapshot(),
            "query": self._query_h.snapshot(),
            "hold": self._hold_h.snapshot(),
            "connect": self._connect_h.snapshot(),
        }

    def take_initial_connect_times(self) -> tuple[float, ...]:
        """``initial_connect_times`` the first time it is asked (the first warm-up reports
        PooledDB's own pre-opening), an empty tuple after."""
        with self._mutex:
            reported, self._initial_reported = self._initial_reported, True
        return () if reported else self.initial_connect_times

    def record_query(self, seconds: float, failed: bool = False) -> None:
        """A statement the caller timed (the pool does not wrap execute()); the engine records
        through its borrower instead, without this call per request."""
        self.borrower().query_shard.record(seconds)  # record, not add: it folds as it goes
        if failed:
            self.count_query_error()

    def count_query_error(self) -> None:
        with self._mutex:
            self._query_errors += 1

    # --- gauges ----------------------------------------------------------------------------

    def _gauges(self) -> tuple[int, int, int, int, int, int]:
        """checked_out, idle, shared, open, overflow, waiting; lock-free reads.

        ``waiting`` counts callers waiting for a connection: the threads parked in the pool's
        Condition (``_lock._waiters``) because maxconnections are out. Callers queued on the
        pool lock itself (behind a connect, ping or rollback, or just each other) are not
        waiting for a connection, and with blocking=False nobody ever is: what the lock costs
        them is the lock time (``under_lock``) and their acquire wait.
        """
        internals = self.internals
        opened = self._open
        return (
            internals.checked_out(),
            len(internals.idle),
            len(internals.shared or ()),
            opened,
            overflow_of(opened, self._maxcached),
            len(internals.waiters),
        )

    def in_flight(self) -> int:
        """Requests between acquire and release, or waiting in acquire: lock-free."""
        internals = self.internals
        return internals.checked_out() + max(len(internals.waiters), self._inside() - 1, 0)

    def _inside(self) -> int:
        """Callers inside PooledDB.connection() now (each thread's borrower says)."""
        return sum(1 for borrower in list(self._borrowers) if borrower.inside)

    def _oldest_wait(self, borrowers: list[Borrower]) -> tuple[float, float]:
        """(the age of the oldest wait in connection() now, the longest wait since the
        interval began, finished or not), in seconds: read off the borrowers' wait start times
        and their shards, by the sampler, never on the hot path. The longest wait is what the
        oldest-waiter age peaked at: a wait's age is largest just before it ends."""
        now = perf_counter()
        starts = [started for started in (b.inside for b in borrowers) if started]
        oldest = now - min(starts) if starts else 0.0
        longest = max((b.acquire_shard.largest() for b in borrowers), default=0.0)
        return max(oldest, 0.0), max(oldest, longest)

    def _raise_peaks(self, gauges: tuple[int, ...] | None = None) -> None:
        if gauges is None:
            if not self._built:  # still inside PooledDB's constructor
                return
            gauges = self._gauges()
        with self._mutex:
            peaks = self._peaks
            for i, value in enumerate(gauges):
                if value > peaks[i]:
                    peaks[i] = value

    def snapshot(self, *, timings: bool = True) -> PoolStats:
        """Gauges, peaks, counters, timings. Never takes the pool lock (a connect may hold it).

        ``timings=False`` leaves the four summaries empty: merging every thread's histogram
        shards is the costly part, and a live sample only draws gauges and counters.
        """
        gauges = self._gauges()
        leaks = self.check_leaks()
        self._raise_peaks(gauges)
        with self._mutex:
            peaks = list(self._peaks)
            borrowers = list(self._borrowers)
            counters = (
                0,
                self._connects,
                self._connect_errors,
                self._closes,
                self._rejections,
                self._query_errors,
                self._reconnects,
                self._reexecutions,
            )
        checkouts = 0
        for mine in borrowers:  # what each thread counted on the hot path, without a lock
            checkouts += mine.checkouts
            peaks[0] = max(peaks[0], mine.peak_checked_out)
            peaks[1] = max(peaks[1], mine.peak_idle)
            peaks[2] = max(peaks[2], mine.peak_shared)
            peaks[5] = max(peaks[5], mine.peak_waiting)
        counters = (checkouts, *counters[1:])
        checked_out, idle, shared, opened, overflow, waiting = gauges
        oldest_wait, longest_wait = self._oldest_wait(borrowers)
        return PoolStats(
            checked_out=checked_out,
            idle=idle,
            shared=shared,
            open=opened,
            overflow=overflow,
            waiting=waiting,
            peak_checked_out=peaks[0],
            peak_idle=peaks[1],
            peak_shared=peaks[2],
            peak_open=peaks[3],
            peak_overflow=peaks[4],
            peak_waiting=peaks[5],
            checkouts=counters[0],
            connects=counters[1],
            connect_errors=counters[2],
            closes=counters[3],
            rejections=counters[4],
            query_errors=counters[5],
            reconnects=counters[6],
            reexecutions=counters[7],
            **(
                {
                    "acquire": self._acquire_h.summary(),
                    "query": self._query_h.summary(),
                    "hold": self._hold_h.summary(),
                    "connect": self._connect_h.summary(),
                }
                if timings
                else {}
            ),
            maxconnections=self._maxconnections,
            maxcached=self._maxcached,
            maxshared=self._maxshared,
            leaks=leaks,
            oldest_wait_ms=oldest_wait * 1000.0,
            peak_oldest_wait_ms=longest_wait * 1000.0,
            under_lock=self._lock_clock.read(),
        )

    def _zero_counters(self) -> None:
        self._connects = self._connect_errors = 0
        self._closes = self._rejections = self._query_errors = self._reconnects = 0
        self._reexecutions = 0

    def reset_interval(self) -> None:
        """Start of a run: counters and timings to zero, peaks to the current values.

        Every thread gets fresh stats; a request in flight across the reset (none, when a run
        starts) would count into the stats being dropped.
        """
        gauges = self._gauges()
        self._interrupting = self._aborted = False
        with self._mutex:
            self._zero_counters()
            self._lock_clock.zero()
            self.leak_detector.reset()
            self._peaks[:] = gauges
            self._borrowers = []
            self._local = threading.local()
        for hist in (self._acquire_h, self._query_h, self._hold_h, self._connect_h):
            hist.reset()

    def server_ids(self) -> set[int]:
        """Server session ids (backend pid / thread id) of the connections open now."""
        with self._mutex:
            return set(self._sids)

    def opened_ids(self) -> set[int]:
        """Server session ids of every connection this pool has opened, closed or not: after
        close(), what the server must no longer have."""
        with self._mutex:
            return set(self._opened_sids)

    # --- events and leaks ------------------------------------------------------------------

    def emit(self, kind: str, message: str, detail: str = "") -> None:
        """Send a PoolEvent to ``on_event``; a failing callback must not break the pool."""
        callback = self.on_event
        if callback is None:
            return
        with suppress(Exception):  # the front end's problem, not the run's
            callback(PoolEvent(kind, message, monotonic(), detail))

    def check_leaks(self) -> int:
        """Report (once) every connection held past the threshold; the number held past it now.

        HikariCP's leakDetectionThreshold, without its timer thread (leaks.py): the engine calls
        this on every sample (and snapshot() does), which is often enough for a threshold in
        seconds.
        """
        return self.leak_detector.check()

    # --- closing ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RunFailed("The pool is closed: build a new one to open connections again.")

    def _force_close_all(self) -> None:
        with self._mutex:
            remaining = list(self._raws)
        for proxy in remaining:
            with suppress(Exception):  # already broken: it is closed as far as we can tell
                proxy.close()

    def _busy_raws(self) -> list[RawConnection]:
        """Open connections not in the idle cache: checked out (or being pinged or set up)."""
        idle = {id(_dbutils.raw_of(steady)) for steady in list(self.internals.idle)}
        with self._mutex:
            return [proxy for proxy in self._raws if id(proxy) not in idle]

    @property
    def unclosed(self) -> int:
        """Connections this pool opened and has not been able to close (after close(): ones a
        thread was still blocked on CLOSE_WAIT_S after their sockets were cut)."""
        with self._mutex:
            return len(self._raws)

    def close(self) -> None:
        """Close every connection this pool opened, idle, shared or still held. Idempotent, and
        bounded: it never waits behind a thread blocked on one of them.

        PooledDB.close() only closes idle and shared connections; the ones callers still hold
        are closed through our proxies, and the creator refuses to open new ones from now on.
        A driver's close() can wait for a read another thread is blocked in (PyMySQL's buffered
        reader has a lock; sqlite3 its connection mutex), and PooledDB.close() for the pool
        lock a thread holds while it pings a frozen server: so the closing runs in a thread of
        its own, and if it has not finished after CLOSE_WAIT_S every socket is cut
        (abort_all) and it gets CLOSE_WAIT_S more. ``unclosed`` then says what is left.
        """
        with self._mutex:
            if self._closed:
                return
            self._closed = True
        self._interrupting = True  # no failover reconnect from here on
        busy = [] if self._aborted else self._busy_raws()

        def close_everything() -> None:
            if busy:  # what a caller still runs on them ends on the server first
                with suppress(Exception):
                    self.target.cancel_statements([(p._con, p._sid, None) for p in busy])
            with suppress(Exception):  # a broken connection is closed as far as we can tell
                self._pool.close()
            self._force_close_all()

        closer = threading.Thread(target=close_everything, daemon=True, name="pooltui-close")
        closer.start()
        if self._aborted:  # the sockets are cut already: what still blocks will not unblock
            closer.join(ABORTED_CLOSE_WAIT_S)
            return
        closer.join(CLOSE_WAIT_S)
        if closer.is_alive():
            self.abort_all()
            closer.join(CLOSE_WAIT_S)

    def __enter__(self) -> InstrumentedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"InstrumentedPool({self.target.redacted!r}, tag={self.tag!r})"
