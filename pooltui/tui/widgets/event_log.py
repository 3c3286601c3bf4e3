"""The console's event log: one timestamped line per thing worth knowing (warm-up done, leak...).

Lines are kept as plain (kind, text) entries too, so tests and the command palette can read the
log without scraping the screen. ``timestamp`` is a class attribute so snapshot tests can freeze it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.events import Resize
from textual.widgets import RichLog

from pooltui.core.load.notes import RunNote

# event kinds that mean trouble (red) and that deserve attention (yellow); the rest is neutral
ERROR_KINDS = frozenset(
    {
        "error",
        "connection_lost",
        "connect_failed",
        "run_failed",
        "leak",
        "warmup_failed",
        "run_errors",
    }
)
WARNING_KINDS = frozenset({"warning", "stopped", "leak_returned", *RunNote})  # + a run's notes
GOOD_KINDS = frozenset({"warmup_done", "run_finished", "connected"})


class EventLog(RichLog):
    """A scrolling log; ``add(kind, text)`` appends ``HH:MM:SS text`` coloured by kind."""

    DEFAULT_CSS = """
    EventLog {
        height: 1fr;
        min-height: 3;
        background: $surface;
        overflow-y: auto;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        /* the scrollbar's column is kept from the start: a line wrapped before the log
           overflowed would otherwise lose its last character under the scrollbar */
        scrollbar-gutter: stable;
    }
    """

    timestamp: ClassVar[Callable[[], str]] = staticmethod(lambda: time.strftime("%H:%M:%S"))
    MAX_ENTRIES = 500

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            max_lines=self.MAX_ENTRIES,
            wrap=True,
            markup=False,
            highlight=False,
            min_width=20,
            id=id,
            classes=classes,
        )
        self._entries: deque[tuple[str, str]] = deque(maxlen=self.MAX_ENTRIES)
        # the newest line, how often it came in a row, and where its lines start (counted from
        # the log's first line ever): a repeat replaces it with one line and a count
        self._last: tuple[str, str] | None = None
        self._repeats = 0
        self._last_start = 0
        self._lines: deque[Text] = deque(maxlen=self.MAX_ENTRIES)  # as written, to re-wrap
        self._wrapped_at = 0  # the width the lines were wrapped to

    @property
    def entries(self) -> list[tuple[str, str]]:
        """Every (kind, text) still in the log, oldest first."""
        return list(self._entries)

    def texts(self, kind: str | None = None) -> list[str]:
        """The texts of the entries (of one kind only when ``kind`` is given)."""
        return [text for k, text in self._entries if kind is None or k == kind]

    def _style_for(self, kind: str) -> str:
        theme = self.app.current_theme
        if kind in ERROR_KINDS:
            return theme.error or "red"
        if kind in WARNING_KINDS:
            return theme.warning or "yellow"
        if kind in GOOD_KINDS:
            return theme.success or "green"
        return ""

    def clear(self) -> EventLog:
        self._last = None
        super().clear()
        return self

    def repeats(self) -> int:
        """How many times in a row the newest line came (shown after it as a count)."""
        return self._repeats

    def add(self, kind: str, text: str) -> None:
        """Append one event; the newest line is kept in view. The same event again, right
        after itself (77 lost connections), is one line with a count, not 77 lines."""
        self._entries.append((kind, text))
        start = self._start_line + len(self.lines)
        if (kind, text) == self._last and self._size_known and self._last_start >= self._start_line:
            self._repeats += 1
            del self.lines[self._last_start - self._start_line :]  # RichLog's own line list
            self._line_cache.clear()
            start = self._last_start
        else:
            self._last, self._repeats = (kind, text), 1
        self._last_start = start
        stamp = type(self).timestamp()
        line = Text(stamp + " ", style="dim")
        line.append(text, style=self._style_for(kind))
        if self._repeats > 1:
            line.append(f" (×{self._repeats:,})", style="bold")  # noqa: RUF001
            if self._lines:
                self._lines.pop()  # the count replaces the line it repeats
        self._lines.append(line)
        self.write(line, shrink=True)
        if not self._size_known:  # written later, where this count cannot find it
            self._last = None

    def on_resize(self, event: Resize) -> None:
        """RichLog wraps a line once, at the width it had then: after a resize every line is
        written again, so a line written while narrow does not stay wrapped when wide."""
        super().on_resize(event)  # RichLog writes what waited for a known size
        width = self.scrollable_content_region.width
        if width == self._wrapped_at:
            return
        first = self._wrapped_at == 0
        self._wrapped_at = width
        if first or not self._lines:
            return
        self.clear()
        for line in self._lines:
            # shrink: wrapped to the new width (without it a line is written at its own
            # length, one row, and cut at the border)
            self.write(line, shrink=True, scroll_end=False)
        self.scroll_end(animate=False)
