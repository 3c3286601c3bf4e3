"""What one checkout carries: the lease (timing, and the leak detector's record) and the per-thread
stats the hot path counts into without a lock."""

from __future__ import annotations

import linecache
from types import CodeType, TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pooltui.core.histogram import Shard
    from pooltui.core.pool import InstrumentedPool

STACK_LIMIT = 40


class ThreadStats:
    """One thread's checkouts, the peaks it saw and its histogram shards: written by that thread
    only, so no lock."""

    __slots__ = ("acquire", "checkouts", "hold", "peak_checked_out", "peak_idle", "peak_shared",
                 "peak_waiting", "query")

    def __init__(self, acquire: Shard, hold: Shard, query: Shard) -> None:
        self.acquire, self.hold, self.query = acquire, hold, query
        self.checkouts = self.peak_checked_out = self.peak_idle = 0
        self.peak_shared = self.peak_waiting = 0


class Lease:
    """``with pool.connection() as con``: times acquire and hold."""

    __slots__ = ("_con", "_pool", "_shareable", "started")
    tracked = False  # a TrackedLease when the leak detector is on

    def __init__(self, pool: InstrumentedPool, shareable: bool) -> None:
        self._pool = pool
        self._shareable = shareable
        self._con: Any = None

    def __enter__(self) -> Any:
        self._con = self._pool._acquire(self, self._shareable)
        return self._con

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        con, self._con = self._con, None
        if con is not None:
            self._pool._release(self, con)


class TrackedLease(Lease):
    """A lease the leak detector watches: who took it, from where, and whether it was reported."""

    __slots__ = ("reported", "stack", "thread")
    tracked = True

    def __init__(self, pool: InstrumentedPool, shareable: bool) -> None:
        super().__init__(pool, shareable)
        self.reported = False
        self.stack: list[tuple[CodeType, int]] = []
        self.thread = ""


def grab_stack(frame: Any) -> list[tuple[CodeType, int]]:
    """The acquiring stack as (code, line) pairs: cheap now, formatted only if it leaks."""
    out = []
    while frame is not None and len(out) < STACK_LIMIT:
        out.append((frame.f_code, frame.f_lineno))
        frame = frame.f_back
    return out


def format_stack(stack: list[tuple[CodeType, int]]) -> str:
    """Outermost call first, like a traceback."""
    lines = []
    for code, lineno in reversed(stack):
        lines.append(f'  File "{code.co_filename}", line {lineno}, in {code.co_name}')
        source = linecache.getline(code.co_filename, lineno).strip()
        if source:
            lines.append(f"    {source}")
    return "\n".join(lines)
