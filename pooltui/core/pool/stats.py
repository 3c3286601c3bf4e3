"""PoolStats: one point-in-time picture of an InstrumentedPool, the names every front end shows.

PooledDB publishes none of these numbers; ``instrumented.py`` counts them. The gauge names are fixed
by the design (TUI, ``bench --json`` and the docs use them). Gauges are read without the pool
lock, so they are each exact but not a consistent set (HikariCP documents the same caveat):
``checked_out + idle`` may differ from ``open`` by a connection that is being handed over.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from pooltui.core.pool.histogram import Summary
from pooltui.core.pool.lock_time import LockTime

GAUGES = ("checked_out", "idle", "shared", "open", "overflow", "waiting")
COUNTERS = (
    "checkouts",
    "connects",
    "connect_errors",
    "closes",
    "rejections",
    "query_errors",
    "reconnects",
    "reexecutions",
)
TIMINGS = ("acquire", "query", "hold", "connect")


def overflow_of(open_now: int, maxcached: int) -> int:
    """Open connections beyond ``maxcached``: the ones PooledDB closes when they come back.

    ``maxcached`` is PooledDB's analogue of SQLAlchemy's ``pool_size`` (research/pools.md §1.5);
    with ``maxcached = 0`` (unlimited idle cache) nothing is ever closed on return, so 0.
    """
    if maxcached <= 0:
        return 0
    return max(0, open_now - maxcached)


@dataclass(frozen=True)
class PoolStats:
    """Gauges, their peaks since the interval began, counters, timings (ms) and limits."""

    # gauges: right now
    checked_out: int = 0  # handed out to callers (PooledDB._connections; a shared one once)
    idle: int = 0  # in the idle cache
    shared: int = 0  # in the shared cache
    open: int = 0  # connects - closes: what the server sees for this pool's tag (a connection
    # DBUtils replaced counts as gone when its replacement opens: it opens that one first)
    overflow: int = 0  # open beyond maxcached: closed when returned (churn)
    waiting: int = 0  # callers blocked in connection()
    # high-water marks since the interval began
    peak_checked_out: int = 0
    peak_idle: int = 0
    peak_shared: int = 0
    peak_open: int = 0
    peak_overflow: int = 0
    peak_waiting: int = 0
    # counters since the interval began
    checkouts: int = 0
    connects: int = 0
    connect_errors: int = 0
    closes: int = 0
    rejections: int = 0  # TooManyConnectionsError (blocking=False at the limit)
    query_errors: int = 0
    reconnects: int = 0  # connections DBUtils replaced while in use or at checkout (lost, recycled)
    reexecutions: int = 0  # statements DBUtils ran again after a lost connection (failover)
    # timings since the interval began, in milliseconds
    acquire: Summary = field(default_factory=Summary)
    query: Summary = field(default_factory=Summary)
    hold: Summary = field(default_factory=Summary)
    connect: Summary = field(default_factory=Summary)
    # effective limits (0 = unlimited, as in PooledDB)
    maxconnections: int = 0
    maxcached: int = 0
    maxshared: int = 0  # the shared gauge's limit (0: no sharing, the console hides it)
    # connections held past the leak threshold right now (0 when the detector is off)
    leaks: int = 0
    # the oldest waiter (PgBouncer's maxwait): how long the caller waiting longest in
    # connection() has waited so far, and the most that was seen since the interval began
    # (completed waits included: the longest wait). Milliseconds, read by the sampler.
    oldest_wait_ms: float = 0.0
    peak_oldest_wait_ms: float = 0.0
    # since the interval began: connects, pings and resets made under DBUtils' pool lock
    under_lock: LockTime = field(default_factory=LockTime)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape: gauges, peaks, counters, limits flat; timings as ``<name>_ms`` dicts."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in TIMINGS:
                out[f"{f.name}_ms"] = value.as_dict()
            elif isinstance(value, float):
                out[f.name] = round(value, 3)
            elif isinstance(value, LockTime):
                out[f.name] = value.as_dict()
            else:
                out[f.name] = value
        return out
