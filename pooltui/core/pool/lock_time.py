"""The time DBUtils holds its pool lock for a round trip: connects, pings and resets.

PooledDB.connection() opens a new connection (``steady_connection``) or pings an idle one
(``_ping_check``) while it holds its pool lock, and ``cache()`` rolls a returned connection back
(``_reset``) under the same lock: every other caller of connection() and every return waits
meanwhile, however many connections are idle. pooltui times these three where they already
cost a round trip (the creator, the raw connection's ``ping`` and ``rollback``, the ping_query
pinger), so the plain checkout of a driver without ``ping()`` gains nothing, and counts them only
when the calling thread holds the pool lock (a ping before execute, ``ping`` 4, or a reconnect
in DBUtils' failover runs on a checked-out connection, outside it).

The totals need no lock of pooltui's: they are written only by the thread that holds the pool
lock, so one writer at a time; the sampler reads them racily (each read is atomic).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from time import perf_counter
from typing import Any

KINDS = ("connect", "ping", "reset")  # in the order the report and the finding name them


def _never() -> bool:
    return False


@dataclass(frozen=True)
class LockTime:
    """Per run: how long (ms) and how often the pool lock was held for each round trip."""

    connect_ms: float = 0.0
    connects: int = 0
    ping_ms: float = 0.0
    pings: int = 0
    reset_ms: float = 0.0
    resets: int = 0

    @property
    def total_ms(self) -> float:
        return self.connect_ms + self.ping_ms + self.reset_ms

    def ms(self, kind: str) -> float:
        value: float = getattr(self, f"{kind}_ms")
        return value

    def count(self, kind: str) -> int:
        value: int = getattr(self, f"{kind}s")
        return value

    def largest(self) -> str:
        """The kind (connect, ping or reset) that held the lock longest."""
        return max(KINDS, key=self.ms)

    def __add__(self, other: LockTime) -> LockTime:
        """Two pools' figures (a fleet's processes): they add."""
        return LockTime(
            self.connect_ms + other.connect_ms,
            self.connects + other.connects,
            self.ping_ms + other.ping_ms,
            self.pings + other.pings,
            self.reset_ms + other.reset_ms,
            self.resets + other.resets,
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: each kind's total ms and count, and the total."""
        out: dict[str, Any] = {
            kind: {"total_ms": round(self.ms(kind), 3), "count": self.count(kind)} for kind in KINDS
        }
        out["total_ms"] = round(self.total_ms, 3)
        return out


class LockClock:
    """The running totals (seconds) behind LockTime; ``held`` says whether the calling thread
    holds the pool lock (set once the PooledDB exists: its constructor's connects count as
    not held, nobody waits for them)."""

    __slots__ = ("connect_s", "connects", "held", "ping_s", "pings", "reset_s", "resets")

    def __init__(self) -> None:
        self.held: Callable[[], bool] = _never
        self.connect_s = self.ping_s = self.reset_s = 0.0
        self.connects = self.pings = self.resets = 0

    def zero(self) -> None:
        """The start of a run (nothing holds the pool lock for a round trip then)."""
        self.connect_s = self.ping_s = self.reset_s = 0.0
        self.connects = self.pings = self.resets = 0

    def add_connect(self, seconds: float) -> None:
        """A connect attempt (the creator: connect, guards, setsession), failed or not."""
        if self.held():
            self.connect_s += seconds
            self.connects += 1

    def read(self) -> LockTime:
        return LockTime(
            self.connect_s * 1000.0,
            self.connects,
            self.ping_s * 1000.0,
            self.pings,
            self.reset_s * 1000.0,
            self.resets,
        )


def timed_rollback(rollback: Callable[[], Any], clock: LockClock) -> Callable[[], None]:
    """The driver's rollback, timed when it runs under the pool lock (DBUtils' reset on return:
    a round trip per request on PostgreSQL and MySQL with reset=True)."""

    def timed() -> None:
        started = perf_counter()
        try:
            rollback()
        finally:
            if clock.held():
                clock.reset_s += perf_counter() - started
                clock.resets += 1

    return timed


def timed_ping(ping: Callable[..., Any], clock: LockClock) -> Callable[..., Any]:
    """The driver's ping() (DBUtils calls ``ping(False)``, then ``ping()`` on a TypeError),
    timed when it runs under the pool lock (the check at checkout, ``ping`` 1)."""

    def timed(*args: Any) -> Any:
        started = perf_counter()
        try:
            return ping(*args)
        finally:
            if clock.held():
                clock.ping_s += perf_counter() - started
                clock.pings += 1

    return timed


def timed_sql_pinger(sql: str, clock: LockClock) -> Callable[[Any], bool]:
    """A ping_query as DBUtils' own SQL pinger runs it (a cursor, execute, close; a failure means
    dead), given to PooledDB as its documented ``ping=(flags, callable)``, and timed when it runs
    under the pool lock."""

    def pinger(con: Any) -> bool:
        started = perf_counter()
        try:
            cursor = con.cursor()
            try:
                cursor.execute(sql)
            finally:
                with suppress(Exception):
                    cursor.close()
        finally:
            if clock.held():
                clock.ping_s += perf_counter() - started
                clock.pings += 1
        return True

    return pinger
