"""What the console prints when it crashes: a traceback without local variables or secrets.

Textual 8's crash report is rich's Traceback with ``show_locals=True``: every frame's variables,
so a password typed into the connect screen (``password_raw = 'TopSecret99'``) is printed to
the terminal and to whatever captures it. pooltui's app renders crashes here instead: the same
traceback (it is what a bug report needs) with no locals, every text in it redacted.
"""

from __future__ import annotations

from collections.abc import Iterable

import rich
from rich.console import RenderableType
from rich.traceback import Trace, Traceback
from textual.worker import WorkerFailed

from pooltui.core.errors import redact


def _redact_trace(trace: Trace, secrets: list[str]) -> None:
    """Redact, in place, every text of the trace that comes from the program's data."""
    for stack in trace.stacks:
        stack.exc_value = redact(stack.exc_value, secrets)
        stack.notes = [redact(note, secrets) for note in stack.notes]
        if stack.syntax_error is not None:
            stack.syntax_error.line = redact(stack.syntax_error.line, secrets)
            stack.syntax_error.msg = redact(stack.syntax_error.msg, secrets)
        for frame in stack.frames:
            frame.locals = None
            frame.line = redact(frame.line, secrets)
        for group_member in stack.exceptions:
            _redact_trace(group_member, secrets)


def crash_report(error: BaseException, secrets: Iterable[str]) -> RenderableType:
    """The traceback of ``error`` (a failed worker's own exception), no locals, no secret."""
    if isinstance(error, WorkerFailed):
        error = error.error
    trace = Traceback.extract(type(error), error, error.__traceback__, show_locals=False)
    _redact_trace(trace, [s for s in secrets if s])
    return Traceback(trace, width=None, show_locals=False, suppress=[rich])
