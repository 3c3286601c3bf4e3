"""Leak detection (HikariCP's leakDetectionThreshold) for an InstrumentedPool, all of it.

While the detector is on, each thread checks out through a ``WatchedBorrower``, which registers
every checkout with its acquiring stack and unregisters it on return; ``LeakDetector.check``
(run by every ``snapshot()`` and every engine sample: no timer thread of its own) reports once
each connection held past the threshold, as a ``leak`` event with that stack, and a
``leak_returned`` event when it comes back. While it is off, threads use the plain Borrower and
no stack is taken: the hot path pays nothing for it.
"""

from __future__ import annotations

import linecache
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from time import perf_counter
from types import CodeType
from typing import TYPE_CHECKING, Any

from pooltui.core.errors import BadInput
from pooltui.core.numbers import seconds
from pooltui.core.pool import leases
from pooltui.core.pool.leases import Borrower

if TYPE_CHECKING:
    from pooltui.core.pool.instrumented import InstrumentedPool

STACK_LIMIT = 40
MAX_LEAK_REPORTS = 100


@dataclass(frozen=True)
class LeakReport:
    """A connection held past the leak threshold: for how long (the whole hold once it came
    back, else as long as it had been held when last seen), by whom, from where."""

    held_s: float
    thread: str
    stack: str
    returned: bool = False  # it came back: held_s is the whole hold

    def as_dict(self) -> dict[str, Any]:
        return {
            "held_s": round(self.held_s, 3),
            "returned": self.returned,
            "thread": self.thread,
            "stack": self.stack,
        }


class LeakWatch:
    """A checkout the leak detector watches: when, by whom, from where, whether reported."""

    __slots__ = ("report", "reported", "stack", "started", "thread")

    def __init__(self, started: float, stack: list[tuple[CodeType, int]]) -> None:
        self.started = started
        self.stack = stack
        self.thread = threading.current_thread().name
        self.reported = False
        self.report: int | None = None  # its index in the detector's reports


class LeakDetector:
    """The watched checkouts of one pool and the leaks reported since the interval began.

    ``watched`` is a dict keyed by the id of the pooled connection, which is alive, and so
    unique, while it is held; a dict's set and pop are atomic under the GIL, and ``check``
    copies it before reading. ``threshold_s`` None: off.
    """

    def __init__(self, threshold_s: float | None, emit: Callable[[str, str, str], None]) -> None:
        if threshold_s is not None and not threshold_s > 0:
            raise BadInput(f"The leak threshold is {threshold_s} s but must be more than 0.")
        self.threshold_s = threshold_s
        self.emit = emit
        self.watched: dict[int, LeakWatch] = {}
        self._lock = threading.Lock()
        self._reports: list[LeakReport] = []

    def borrower_class(self) -> type[Borrower]:
        """What a thread checks out through: the plain Borrower unless the detector is on."""
        return Borrower if self.threshold_s is None else WatchedBorrower

    def check(self) -> int:
        """Report (once) every connection held past the threshold; the number held past it."""
        threshold = self.threshold_s
        if threshold is None:
            return 0
        now = perf_counter()
        with self._lock:
            late = [
                watch for watch in list(self.watched.values()) if now - watch.started > threshold
            ]
            fresh = [watch for watch in late if not watch.reported]
            for watch in fresh:
                watch.reported = True
        with self._lock:  # the reports of those still held say how long they have been now
            for watch in late:
                if watch.report is not None and watch.report < len(self._reports):
                    self._reports[watch.report] = replace(
                        self._reports[watch.report], held_s=now - watch.started
                    )
        for watch in fresh:
            stack = format_stack(watch.stack)
            with self._lock:
                if len(self._reports) < MAX_LEAK_REPORTS:
                    watch.report = len(self._reports)
                    self._reports.append(LeakReport(now - watch.started, watch.thread, stack))
            self.emit(
                "leak",
                f"A connection has been held for {seconds(now - watch.started)}, "
                f"longer than the leak threshold of {threshold:g} s, by thread "
                f"{watch.thread}; the stack that acquired it follows.",
                stack,
            )
        return len(late)

    def returned(self, watch: LeakWatch) -> None:
        """A watched connection came back: say so if it had been reported, and let its report
        carry the whole hold."""
        if not watch.reported:
            return
        held = perf_counter() - watch.started
        with self._lock:
            if watch.report is not None and watch.report < len(self._reports):
                self._reports[watch.report] = replace(
                    self._reports[watch.report], held_s=held, returned=True
                )
        self.emit(
            "leak_returned",
            f"A connection reported as leaked was returned after "
            f"{seconds(held)} (thread {watch.thread}).",
            "",
        )

    def reports(self) -> list[LeakReport]:
        """The leaks reported since the interval began, oldest first."""
        with self._lock:
            return list(self._reports)

    def reset(self) -> None:
        """Start of an interval: forget the reports (watched checkouts stay watched)."""
        with self._lock:
            self._reports = []
            for watch in self.watched.values():
                watch.report = None


class WatchedBorrower(Borrower):
    """A borrower while the leak detector is on: every checkout is registered with its stack."""

    __slots__ = ("_detector", "_watched")

    def __init__(self, owner: InstrumentedPool) -> None:
        super().__init__(owner)
        self._detector = owner.leak_detector
        self._watched = self._detector.watched

    def acquire(self, shareable: bool = True) -> Any:
        con = super().acquire(shareable)
        self._watched[id(con)] = LeakWatch(self.acquired_at, grab_stack(sys._getframe(1)))
        return con

    def release(self, con: Any, acquired_at: float) -> None:
        watch = self._watched.pop(id(con), None)
        try:
            super().release(con, acquired_at)
        finally:
            if watch is not None:
                self._detector.returned(watch)


_POOLTUI_FRAMES = frozenset({__file__, leases.__file__})


def grab_stack(frame: Any) -> list[tuple[CodeType, int]]:
    """The acquiring stack as (code, line) pairs, pooltui's own lease frames left out: cheap
    now, formatted only if it leaks."""
    out: list[tuple[CodeType, int]] = []
    while frame is not None and len(out) < STACK_LIMIT:
        code = frame.f_code
        if code.co_filename not in _POOLTUI_FRAMES:
            out.append((code, frame.f_lineno))
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
