"""The pool configuration (PooledDB's own parameters) and the workload a run applies to it."""

from __future__ import annotations

from dataclasses import dataclass

PATTERNS = ("steady", "bursty", "poisson")


@dataclass(frozen=True)
class PoolConfig:
    """PooledDB keyword arguments, same names; pooltui's defaults are a sane starting point."""

    mincached: int = 0
    maxcached: int = 0
    maxshared: int = 0
    maxconnections: int = 0
    blocking: bool = True
    maxusage: int = 0
    setsession: tuple[str, ...] = ()
    reset: bool = True
    ping: int = 1
    ping_query: str = ""


@dataclass(frozen=True)
class Workload:
    """What one run asks of the pool: who asks, how often, what they run and how long they hold."""

    threads: int = 8
    duration_s: float = 5.0
    requests: int = 0
    query: str = "SELECT 1"
    hold_ms: float = 0.0
    pattern: str = "steady"
    rate: float = 0.0
    think_ms: float = 0.0
