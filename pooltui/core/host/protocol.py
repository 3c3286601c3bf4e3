"""What the console and its pool's process say to each other over their pipe.

Every message is a ``(kind, payload)`` pair of picklable values. The parent sends CALL (an
operation with an id), STOP (the running call's stop) and CLOSE; the child sends READY once
its pool is built, STATE (the pool now: gauges, counters, timings and session ids) after
every call and every POLL_S between them, EVENT for each pool event, SAMPLE during a run,
DONE or FAILED for each call, and CLOSED when its pool is closed, just before it exits.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from pooltui.core.config import PoolConfig
    from pooltui.core.pool.stats import PoolStats
    from pooltui.core.targets import Target

# parent -> child
CALL, STOP, CLOSE = "call", "stop", "close"
# child -> parent
READY, STATE, EVENT, SAMPLE, DONE, FAILED, CLOSED = (
    "ready",
    "state",
    "event",
    "sample",
    "done",
    "failed",
    "closed",
)
# the operations a CALL names
WARM_UP, RUN = "warm_up", "run"
POLL_S = 0.5  # between calls the child reports its pool this often (the console polls at 0.5 s)


@dataclass(frozen=True)
class HostSpec:
    """What the child builds (pickled into it)."""

    target: Target
    config: PoolConfig
    tag: str  # chosen by the parent: the console's pid and pool number, as in-process
    leak_threshold_s: float | None = None
    quiet: bool = True  # the child's stdout and stderr go to /dev/null (the console owns them)


@dataclass(frozen=True)
class HostState:
    """The pool as the child last saw it: what ``HostedPool.snapshot`` returns without
    waiting for the child."""

    stats: PoolStats
    server_ids: frozenset[int]
    opened_ids: frozenset[int]
    unclosed: int = 0


@dataclass(frozen=True)
class Failure:
    """Why a call (or the build) failed, as the parent raises it: ``kind`` is the error class
    the console tells apart (``bad_input``, ``cannot_connect`` or ``run_failed``)."""

    sentence: str
    kind: str


class Channel:
    """One end of the pipe: sends from any thread, never raises (a peer that has gone cannot
    be told anything; the sender still closes what it holds)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()

    def send(self, kind: str, payload: Any = None) -> bool:
        try:
            with self.lock:
                self.conn.send((kind, payload))
        except (OSError, ValueError, EOFError):
            return False
        return True


def failure_sentence(exc: BaseException, target: Target) -> str:
    """A failure as the parent shows it: pooltui's own sentence, a driver's error described,
    or a bug's redacted last frame (never a secret)."""
    from pooltui.core.drivers import driver_for_error
    from pooltui.core.errors import PooltuiError, describe_db_error, redact

    if isinstance(exc, PooltuiError):
        return redact(str(exc), target)
    if driver_for_error(exc) is not None:  # a driver's error: described as everywhere else
        return describe_db_error(exc, target)
    last = "".join(traceback.format_exception_only(exc)).strip()
    return redact(f"internal error in the process: {last}", target)
