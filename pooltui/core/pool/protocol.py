"""What the load engine and the verify step need of a pool: ``PoolLike`` and ``BorrowerLike``.

InstrumentedPool is the pool; the verify step's WaitCountingPool (core/diagnosis/verify.py)
wraps one to count waits and delegates the rest explicitly. Both are typed against this, so a
member the engine starts using is one the wrapper must provide (mypy says so), instead of being
passed through a ``__getattr__``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pooltui.core.config import SessionGuards, Validation
    from pooltui.core.pool.histogram import HistogramSnapshot
    from pooltui.core.pool.leaks import LeakReport
    from pooltui.core.pool.stats import PoolStats
    from pooltui.core.targets import Target


class BorrowerLike(Protocol):
    """One thread's way in (leases.Borrower): the hot path's acquire and release."""

    @property
    def acquired_at(self) -> float:
        """When the last acquire() handed its connection over (perf_counter)."""
        ...

    @property
    def record_query(self) -> Callable[[float], None]:
        """Count one statement's seconds (the engine times its statements itself)."""
        ...

    def acquire(self, shareable: bool = True) -> Any: ...

    def release(self, con: Any, acquired_at: float) -> None: ...

    @property
    def inside(self) -> float:
        """When this thread's current wait in connection() began (perf_counter); 0.0: none."""
        ...

    def acquire_snapshot(self) -> HistogramSnapshot:
        """This thread's finished acquire waits (a run's per-thread table reads it at the end)."""
        ...


class PoolLike(Protocol):
    """The pool as the engine (core/load) and warm-up use it; see InstrumentedPool for each."""

    @property
    def target(self) -> Target: ...

    @property
    def validation(self) -> Validation: ...

    @property
    def guards(self) -> SessionGuards: ...

    def borrower(self, one_at_a_time: bool = False) -> BorrowerLike:
        """The calling thread's borrower; ``one_at_a_time``: it holds at most one connection
        at a time and always returns it (a load loop: leak detection can then read, not
        record, its checkouts)."""
        ...

    def connection(self, shareable: bool = True) -> AbstractContextManager[Any]: ...

    def guard_sessions(self, guards: SessionGuards) -> None: ...

    def reset_interval(self) -> None: ...

    def snapshot(self, *, timings: bool = True) -> PoolStats: ...

    def acquire_snapshot(self) -> HistogramSnapshot: ...

    def timing_snapshots(self) -> dict[str, HistogramSnapshot]: ...

    def count_query_error(self) -> None: ...

    def in_flight(self) -> int: ...

    def check_leaks(self) -> int: ...

    def leak_reports(self) -> list[LeakReport]: ...

    def interrupt(self, cursors: list[Any]) -> int: ...

    def abort_all(self) -> int: ...

    def emit(self, kind: str, message: str, detail: str = "") -> None: ...

    def open_idle(self, count: int) -> list[float]: ...

    def take_initial_connect_times(self) -> tuple[float, ...]: ...
