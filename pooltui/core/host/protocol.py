"""What the console and its pool's process say to each other over their pipe.

Every message is a ``(kind, payload)`` pair of picklable values. The parent sends CALL (an
operation with an id), STOP (the running call's stop) and CLOSE; the child sends READY once
its pool is built, STATE (the pool now: gauges, counters, timings and session ids) after
every call and every POLL_S between them, EVENT for each pool event, SAMPLE during a run,
DONE or FAILED for each call, and CLOSED when its pool is closed, just before it exits.
"""

from __future__ import annotations

import os
import signal
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

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


def failure_of(exc: BaseException, target: Target) -> Failure:
    """The error class the console tells apart, and its sentence."""
    from pooltui.core.errors import CONNECTION, BadInput, CannotConnect, failure_class

    if isinstance(exc, BadInput):
        kind = "bad_input"
    elif isinstance(exc, CannotConnect) or failure_class(exc) == CONNECTION:
        kind = "cannot_connect"
    else:
        kind = "run_failed"
    return Failure(failure_sentence(exc, target), kind)


def raised(failure: Failure) -> Exception:
    """The child's failure as the error class the console tells apart."""
    from pooltui.core.errors import BadInput, CannotConnect, RunFailed

    if failure.kind == "bad_input":
        return BadInput(failure.sentence)
    if failure.kind == "cannot_connect":
        return CannotConnect(failure.sentence)
    return RunFailed(failure.sentence)


def death_sentence(process: BaseProcess, who: str) -> str:
    """Why a child's pipe ended before it answered (it is reaped here)."""
    process.join(1.0)
    code = process.exitcode
    if code is not None and code < 0:
        how = f"was killed by {signal.Signals(-code).name}"
    elif code is not None:
        how = f"ended with exit code {code}"
    else:
        how = "stopped answering"
    return f"{who} {how}: its connections closed with it (the next run builds a new pool)."


def settle_child(on_terminate: Callable[[], None], *, quiet: bool = True) -> None:
    """What every child of the console does first: ``quiet``, its stdout and stderr go to
    /dev/null (nothing a library prints may land on the console's screen); SIGINT and SIGHUP
    are ignored (a terminal sends them to the whole process group, and the console, which
    owns the signals, tells its children what to do); SIGTERM calls ``on_terminate``."""
    if quiet:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: on_terminate())
