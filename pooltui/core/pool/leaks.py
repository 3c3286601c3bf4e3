"""Leak detection (HikariCP's leakDetectionThreshold) for an InstrumentedPool, all of it.

While the detector is on, a thread checks out through one of two borrowers:

- a ``ScannedBorrower`` where it holds one connection at a time and always returns it (a load
  loop's worker: the engine asks for one). It is the plain Borrower, registered: ``check``
  reads each one's ``acquired_at`` and, for a checkout past the threshold, takes the stack
  its thread is at then (it still holds the connection there). Its checkout pays nothing
  for being watched, which matters: in a saturated pool every other thread waits for the
  connection a thread holds (a stack kept per checkout cost 64 threads on 8 connections 4.6 %
  of their throughput on a slow machine, bench/leak_detection.py).
- a ``WatchedBorrower`` anywhere else (``with pool.connection()``, nested checkouts, code that
  may drop a connection and move on): it registers every checkout with its acquiring stack,
  since the thread may be elsewhere when the leak is found.

``LeakDetector.check`` (run by every ``snapshot()`` and every engine sample: no timer thread of
its own) reports once each connection held past the threshold, as a ``leak`` event with that
stack, and a ``leak_returned`` event when it comes back, always after its ``leak`` (a stack
is formatted outside the lock, and a return meanwhile waits for it: ``Late.announced``). While
it is off, threads use the plain Borrower and no stack is taken.
"""

from __future__ import annotations

import linecache
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from time import perf_counter
from types import CodeType, FrameType
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
    # whose stack: the checkout's (ACQUIRED) or the holding thread's when the leak was found
    # (HOLDING: a load loop's worker, ScannedBorrower)
    stack_at: str = "acquired"

    def as_dict(self) -> dict[str, Any]:
        return {
            "held_s": round(self.held_s, 3),
            "returned": self.returned,
            "thread": self.thread,
            "stack": self.stack,
            "stack_at": self.stack_at,
        }

    @property
    def stack_title(self) -> str:
        """What the stack is, for a report's line before it."""
        return "acquired at" if self.stack_at == ACQUIRED else "held at, when found"


ACQUIRED, HOLDING = "acquired", "holding"


Stack = tuple[tuple[CodeType, int], ...]  # (code, line) pairs, innermost first
# A checkout the detector watches: when it was handed over, the acquiring stack, the thread.
# A tuple, made in C: what runs while a connection is held costs a saturated pool most.
Checkout = tuple[float, Stack, str]


class Late:
    """A watched checkout held past the threshold and reported: its report's index in the
    interval's list of reports (None past MAX_LEAK_REPORTS), and that list: after reset()
    the index means another checkout's report in the new list. ``announced``: its ``leak``
    event is out; a return before that waits in ``returned_after`` for ``check`` to say it
    after the leak (a return must never be read before the leak it ends)."""

    __slots__ = ("announced", "checkout", "report", "reports", "returned_after")

    def __init__(self, checkout: Checkout) -> None:
        self.checkout = checkout  # a scanned checkout's stack: where it was held when found
        self.report: int | None = None
        self.reports: list[LeakReport] | None = None
        self.announced = False
        self.returned_after: float | None = None


class LeakDetector:
    """The watched checkouts of one pool and the leaks reported since the interval began.

    ``watched`` maps the id of each held pooled connection (alive, so unique, while held) to
    its checkout; ``late`` those of them already reported. The borrowers set and pop both
    without a lock (a dict's set and pop are atomic under the GIL); ``check`` copies ``watched``
    and makes sure a checkout it reports is still held. ``scanned``: the ScannedBorrowers,
    each holding at most one checkout (its ``acquired_at``, 0.0 while it holds none).
    ``threshold_s`` None: off.
    """

    def __init__(self, threshold_s: float | None, emit: Callable[[str, str, str], None]) -> None:
        if threshold_s is not None and not threshold_s > 0:
            raise BadInput(f"The leak threshold is {threshold_s} s but must be more than 0.")
        self.threshold_s = threshold_s
        self.emit = emit
        self.watched: dict[int, Checkout] = {}
        self.late: dict[int, Late] = {}
        self.scanned: list[ScannedBorrower] = []
        self._lock = threading.Lock()
        self._reports: list[LeakReport] = []

    def borrower_class(self, one_at_a_time: bool = False) -> type[Borrower]:
        """What a thread checks out through: the plain Borrower unless the detector is on;
        ``one_at_a_time``: the thread holds at most one connection and always returns it."""
        if self.threshold_s is None:
            return Borrower
        return ScannedBorrower if one_at_a_time else WatchedBorrower

    def scan(self, borrower: ScannedBorrower) -> None:
        """Watch a ScannedBorrower's checkouts from now on."""
        with self._lock:
            self.scanned.append(borrower)

    def check(self) -> int:
        """Report (once) every connection held past the threshold; the number held past it."""
        threshold = self.threshold_s
        if threshold is None:
            return 0
        now = perf_counter()
        held_past = 0
        fresh: list[Late] = []
        with self._lock:
            for key, checkout in list(self.watched.items()):
                started = checkout[0]
                if now - started <= threshold:
                    continue
                late = self.late.get(key)
                if late is None or late.checkout is not checkout:
                    late = self.late[key] = Late(checkout)
                    if self.watched.get(key) is not checkout:  # returned meanwhile
                        self.late.pop(key, None)
                        continue
                    if len(self._reports) < MAX_LEAK_REPORTS:  # its place, taken now: a
                        # return before its stack is formatted below marks it returned
                        late.report, late.reports = len(self._reports), self._reports
                        self._reports.append(LeakReport(now - started, checkout[2], ""))
                    fresh.append(late)
                else:  # its report says how long it has been now
                    self._amend(late, held_s=now - started)
                held_past += 1
            scanned_past, found = self._scan(now, threshold)
            held_past += scanned_past
        for late, holding in [*((late, False) for late in fresh), *found]:
            started, stack, thread = late.checkout
            try:
                text = format_stack(stack)
            except Exception:  # a leak is told whatever its stack (and its return after it)
                text = "(its stack could not be read)"
            if holding and not text:
                text = "(its thread has ended)"
            with self._lock:
                self._amend(late, stack=text)
            whose = "it is held at" if holding else "that took it"
            self.emit(
                "leak",
                f"A connection has been held for {seconds(now - started)}, "
                f"longer than the leak threshold of {threshold:g} s, by thread "
                f"{thread}; the run's leak report has the stack {whose}.",
                text,
            )
            with self._lock:
                late.announced = True
                held = late.returned_after
            if held is not None:  # it came back while its stack was formatted
                self._emit_returned(late, held)
        return held_past

    def _scan(self, now: float, threshold: float) -> tuple[int, list[tuple[Late, bool]]]:
        """Under the lock: how many scanned checkouts are past the threshold, and those of
        them reported now (with True: their stack is where the thread holds it).

        A borrower's release clears ``acquired_at`` and then reads ``late``; here ``late`` is
        set and then ``acquired_at`` read again. So either the release sees the flag (and
        reports the return in came_back, under this lock) or this sees the release (and
        reports nothing): the GIL runs each thread's two steps in its order. The thread's
        frame is read and walked between the two reads of ``acquired_at``: the checkout
        (begun before ``now``) was held throughout, so every frame walked is one the thread
        held it in (the walk can yield the GIL, so the innermost may since have returned)."""
        past = 0
        fresh: list[tuple[Late, bool]] = []
        for borrower in self.scanned:
            started = borrower.acquired_at
            if not started or now - started <= threshold:
                continue
            late = borrower.late
            if late is not None and late.checkout[0] == started:  # reported: how long now
                self._amend(late, held_s=now - started)
                past += 1
                continue
            thread = borrower.thread_name
            stack = grab_stack(sys._current_frames().get(borrower.thread_ident))
            late = borrower.late = Late((started, stack, thread))
            if borrower.acquired_at != started:  # returned meanwhile
                borrower.late = None
                continue
            if len(self._reports) < MAX_LEAK_REPORTS:
                late.report, late.reports = len(self._reports), self._reports
                self._reports.append(LeakReport(now - started, thread, "", stack_at=HOLDING))
            fresh.append((late, True))
            past += 1
        return past, fresh

    def came_back(self, borrower: Borrower, acquired_at: float) -> None:
        """A ScannedBorrower's reported checkout is back (its release saw ``late``)."""
        with self._lock:
            late, borrower.late = borrower.late, None
        if late is not None and late.checkout[0] == acquired_at:  # else: not reported (check)
            self.returned(late)

    def returned(self, late: Late) -> None:
        """A reported connection came back: say so (after its leak event: ``check`` says it
        if that is not out yet), and let its report carry the whole hold."""
        held = perf_counter() - late.checkout[0]
        with self._lock:
            self._amend(late, held_s=held, returned=True)
            if not late.announced:
                late.returned_after = held
                return
        self._emit_returned(late, held)

    def _emit_returned(self, late: Late, held: float) -> None:
        thread = late.checkout[2]
        self.emit(
            "leak_returned",
            f"A connection reported as leaked was returned after {seconds(held)} "
            f"(thread {thread}).",
            "",
        )

    def _amend(self, late: Late, **changes: Any) -> None:
        """Under the lock: ``late``'s report, changed, if it has one in this interval's list
        (reset() starts a new list, where its index means another checkout's report)."""
        if late.report is not None and late.reports is self._reports:
            self._reports[late.report] = replace(self._reports[late.report], **changes)

    def reports(self) -> list[LeakReport]:
        """The leaks reported since the interval began, oldest first."""
        with self._lock:
            return list(self._reports)

    def reset(self) -> None:
        """Start of an interval: forget the reports (watched checkouts stay watched, and those
        already reported are not reported again)."""
        with self._lock:
            self._reports = []
            for late in self.late.values():
                late.report = None
            # a new interval's threads get new borrowers (InstrumentedPool.reset_interval):
            # the old ones stay scanned only while they still hold a connection
            self.scanned = [b for b in self.scanned if b.acquired_at]


class ScannedBorrower(Borrower):
    """A load loop's borrower while the detector is on: the plain Borrower's checkout,
    untouched, for a thread that holds one connection at a time and always returns it;
    LeakDetector.check reads its ``acquired_at`` (see the module doc)."""

    __slots__ = ("thread_ident", "thread_name")

    def __init__(self, owner: InstrumentedPool) -> None:
        super().__init__(owner)
        thread = threading.current_thread()  # a borrower serves one thread
        self.thread_name = thread.name
        self.thread_ident = thread.ident or 0  # the pool registers it (LeakDetector.scan)


class WatchedBorrower(Borrower):
    """A borrower while the leak detector is on, for a thread that may hold several
    connections or drop one and move on: every checkout is registered with its acquiring
    stack, since the thread may be elsewhere when the leak is found. A load loop's worker
    does not pay this (ScannedBorrower), so the stack is simply walked: ~3 us a checkout."""

    __slots__ = ("_late", "_thread", "_watched")

    def __init__(self, owner: InstrumentedPool) -> None:
        super().__init__(owner)
        detector = owner.leak_detector
        self._watched, self._late = detector.watched, detector.late
        self._thread = threading.current_thread().name  # a borrower serves one thread

    def acquire(self, shareable: bool = True) -> Any:
        stack = grab_stack(sys._getframe(1))
        con = Borrower.acquire(self, shareable)
        self._watched[id(con)] = (self.acquired_at, stack, self._thread)
        return con

    def release(self, con: Any, acquired_at: float) -> None:
        key = id(con)
        self._watched.pop(key, None)
        late = self._late.pop(key, None)
        try:
            Borrower.release(self, con, acquired_at)
        finally:
            if late is not None:
                self._owner.leak_detector.returned(late)


_POOLTUI_FRAMES = frozenset({__file__, leases.__file__})


def grab_stack(frame: FrameType | None) -> Stack:
    """The acquiring stack as (code, line) pairs, pooltui's own lease frames left out: cheap
    now, formatted only if it leaks."""
    out: list[tuple[CodeType, int]] = []
    while frame is not None and len(out) < STACK_LIMIT:
        code = frame.f_code
        if code.co_filename not in _POOLTUI_FRAMES:
            out.append((code, frame.f_lineno))
        frame = frame.f_back
    return tuple(out)


def format_stack(stack: Stack) -> str:
    """Outermost call first, like a traceback."""
    lines = []
    for code, lineno in reversed(stack):
        lines.append(f'  File "{code.co_filename}", line {lineno}, in {code.co_name}')
        source = linecache.getline(code.co_filename, lineno).strip()
        if source:
            lines.append(f"    {source}")
    return "\n".join(lines)
