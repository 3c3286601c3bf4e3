"""One thread's way into an InstrumentedPool: the checkout/return hot path and what it counts.

Every request of a burst passes through ``Borrower.acquire`` and ``Borrower.release``, and in a
saturated burst every microsecond of Python there is paid several times over: the thread that
holds DBUtils' pool lock across a round trip (the checkout ping, the rollback on return) has to
win the GIL back from the threads running this code. So a borrower is built once per thread
with everything bound (the PooledDB's ``connection``, its own histogram shards, the lists the
gauges read), counts into fields only its own thread writes (no lock), and hands the acquire
time back to its caller instead of allocating a lease object per checkout.
"""

from __future__ import annotations

from time import perf_counter
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pooltui.core.pool._dbutils import CHECKED_OUT, TooManyConnectionsError
from pooltui.core.pool.histogram import PENDING, HistogramSnapshot

if TYPE_CHECKING:
    from pooltui.core.pool.instrumented import InstrumentedPool
    from pooltui.core.pool.leaks import Late
    from pooltui.core.pool.protocol import PoolLike


class Borrower:
    """One thread's checkouts, the peaks it saw and its histogram shards: written by that thread
    only, so no lock. ``InstrumentedPool.snapshot()`` sums and maxes every thread's."""

    __slots__ = (
        "_add_hold",
        "_add_wait",
        "_close_pool",
        "_connection",
        "_idle",
        "_owner",
        "_shared",
        "_state",
        "_unfolded",
        "_waiters",
        "acquire_shard",
        "acquired_at",
        "hold_shard",
        "inside",
        "late",
        "peak_checked_out",
        "peak_idle",
        "peak_shared",
        "peak_waiting",
        "query_shard",
        "record_query",
    )

    def __init__(self, owner: InstrumentedPool) -> None:
        self._owner = owner
        internals = owner.internals  # DBUtils' live objects, bound once (see _dbutils.py)
        self._connection = internals.connection
        self._close_pool = internals.pooled.close
        self._state = internals.state  # state[CHECKED_OUT]: PooledDB's checked-out count
        self._waiters = internals.waiters
        self._idle = internals.idle
        self._shared = internals.shared  # None unless the pool shares connections
        self.acquire_shard = owner._acquire_h.shard()
        self.hold_shard = owner._hold_h.shard()
        self.query_shard = owner._query_h.shard()
        # the shards' C-level appends, folded by release() (see histogram.Shard)
        self._add_wait, self._add_hold = self.acquire_shard.add, self.hold_shard.add
        self._unfolded = self.hold_shard.unfolded
        self.record_query = self.query_shard.add  # the engine times its own statements
        self.peak_checked_out = self.peak_idle = self.peak_shared = self.peak_waiting = 0
        # when this thread entered PooledDB.connection() (perf_counter), 0.0 while it is not
        # inside: the sampler counts the waiting and ages the oldest wait from it, and a run's
        # end counts a wait still unfinished (a float store costs what the bool's did)
        self.inside = 0.0
        # when the last acquire() handed its connection over, 0.0 once it is back: a load
        # loop's borrower holds one at a time, and the leak detector reads its age from here
        # (leaks.ScannedBorrower)
        self.acquired_at = 0.0
        self.late: Late | None = None  # that checkout, once reported as leaked

    @property
    def checkouts(self) -> int:
        """Connections handed out: one acquire wait is recorded for each."""
        return self.acquire_shard.count()

    # The peaks are read where they are sure to be seen and where no other thread waits for
    # this one: a gauge's peak is its value just before the first event that lowers it. So
    # checked out, shared and parked are read just before a return, idle just before a
    # checkout. Right after PooledDB.connection() or close() has released the pool lock, a
    # woken thread is waiting for the GIL to take that lock: as little as possible runs there.

    def acquire(self, shareable: bool = True) -> Any:
        """A DBUtils pooled connection; ``acquired_at`` says when it was handed over."""
        idle = len(self._idle)
        if idle > self.peak_idle:
            self.peak_idle = idle
        self.inside = started = perf_counter()
        try:
            con = self._connection(shareable)  # a closed pool's creator refuses to connect
        except TooManyConnectionsError:
            self._owner._count_rejection()
            raise
        finally:
            self.inside = 0.0
        self.acquired_at = now = perf_counter()
        if self._owner._closed:  # closed while we waited: hand nothing out
            self.acquired_at = 0.0  # and hold nothing (a scanned borrower's leak is read here)
            con.close()
            self._owner._check_open()
        self._add_wait(now - started)
        return con

    def release(self, con: Any, acquired_at: float) -> None:
        """Give ``con`` back (DBUtils rolls it back and caches or closes it); count the hold."""
        self.acquired_at = 0.0  # before ``late`` is read below: see LeakDetector.check
        self._add_hold(perf_counter() - acquired_at)
        if self._unfolded() >= PENDING:  # one return per checkout: the three fill alike
            self.settle()
        checked_out = self._state[CHECKED_OUT]
        if checked_out > self.peak_checked_out:
            self.peak_checked_out = checked_out
        if self._shared is not None:
            shared = len(self._shared)
            if shared > self.peak_shared:
                self.peak_shared = shared
        parked = len(self._waiters)
        if parked > self.peak_waiting:
            self.peak_waiting = parked
        try:
            con.close()
        finally:
            if self._owner._closed:  # returned after close(): not to sit in the idle cache
                self._close_pool()
            if self.late is not None:  # a scanned checkout reported as leaked: it is back
                self._owner.leak_detector.came_back(self, acquired_at)

    def acquire_snapshot(self) -> HistogramSnapshot:
        """This thread's finished acquire waits (its share of a run's per-thread table)."""
        return self.acquire_shard.snapshot()

    def settle(self) -> None:
        """Fold the buffered timings into the histograms' buckets."""
        self.acquire_shard.fold()
        self.hold_shard.fold()
        self.query_shard.fold()


class Lease:
    """``with pool.connection() as con``: a checkout through the calling thread's borrower
    (of any PoolLike: the verify step's counting pool too)."""

    __slots__ = ("_con", "_pool", "_shareable", "acquired_at")

    def __init__(self, pool: PoolLike, shareable: bool) -> None:
        self._pool = pool
        self._shareable = shareable
        self._con: Any = None
        self.acquired_at = 0.0

    def __enter__(self) -> Any:
        borrower = self._pool.borrower()
        self._con = borrower.acquire(self._shareable)
        self.acquired_at = borrower.acquired_at
        return self._con

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        con, self._con = self._con, None
        if con is not None:
            # this thread's borrower now: a lease held across reset_interval counts in the new
            self._pool.borrower().release(con, self.acquired_at)
