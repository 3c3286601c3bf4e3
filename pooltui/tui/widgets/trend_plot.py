"""A small live line plot of recent values, drawn in braille (Memray-style, no dependency).

One header row (title, last value, max) above a braille plot: each cell holds 2 by 4 dots, so a
5-row widget 40 columns wide plots the last 80 samples at 16 vertical levels. The samples live
in a bounded deque, so a plot fed for hours uses constant memory; rendering depends only on
the samples and the size, so snapshots are stable.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import ClassVar

from rich.segment import Segment
from textual.content import Content
from textual.strip import Strip
from textual.style import Style
from textual.widget import Widget

BRAILLE_BASE = 0x2800
# Dot bits by [row][column] inside one braille cell (Unicode braille pattern numbering).
BRAILLE_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


def format_number(value: float) -> str:
    """Compact, fixed-rule formatting: about three significant digits, no exponent. The
    decimals follow the value as it will read once rounded: 9.996 is "10.0", not "10.00"."""
    magnitude = abs(value)
    if magnitude >= 99.95:
        return f"{value:,.0f}"
    if magnitude >= 9.995:
        return f"{value:.1f}"
    return f"{value:.2f}"


def braille_rows(values: list[float], columns: int, rows: int) -> list[str]:
    """The plot as ``rows`` strings of ``columns`` cells, newest sample at the right edge.

    The y scale runs from min(0, lowest) to the highest visible value; consecutive samples
    are joined by a vertical run of dots so the line stays continuous. A NaN (a sample with no
    figure: nothing completed in its interval) is a gap: no dot, and no join across it.
    """
    width, height = columns * 2, rows * 4
    if width <= 0 or height <= 0:
        return [""] * max(rows, 0)
    visible = values[-width:]
    cells = [[0] * columns for _ in range(rows)]
    known = [value for value in visible if not math.isnan(value)]
    if known:
        low = min(0.0, min(known))
        high = max(known)
        span = (high - low) or 1.0
        offset = width - len(visible)
        previous: int | None = None
        for index, value in enumerate(visible):
            if math.isnan(value):
                previous = None
                continue
            y = height - 1 - int((value - low) / span * (height - 1) + 0.5)
            top, bottom = (y, y) if previous is None else (min(y, previous), max(y, previous))
            x = offset + index
            for dot_y in range(top, bottom + 1):
                cells[dot_y // 4][x // 2] |= BRAILLE_DOTS[dot_y % 4][x % 2]
            previous = y
    return ["".join(chr(BRAILLE_BASE + bits) if bits else " " for bits in row) for row in cells]


class TrendPlot(Widget):
    """``push()`` a value per sample; the header shows the last value and the window's max."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "trendplot--title",
        "trendplot--value",
        "trendplot--line",
    }

    DEFAULT_CSS = """
    TrendPlot {
        width: 1fr;
        height: 5;
        text-wrap: nowrap;
        text-overflow: clip;
        & > .trendplot--title { color: $foreground; text-style: bold; }
        & > .trendplot--value { color: $foreground-muted; }
        & > .trendplot--line { color: $primary; }
    }
    """

    def __init__(
        self,
        title: str,
        unit: str = "",
        *,
        capacity: int = 120,
        whole: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``capacity`` bounds the samples kept (and the header's max window); ``whole``
        plots a count (the header shows ``3``, not ``3.00``)."""
        if capacity < 1:
            raise ValueError("TrendPlot capacity must be at least 1")
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self.unit = unit
        self.whole = whole
        self._values: deque[float] = deque(maxlen=capacity)
        self._run_figure: float | None = None  # the finished run's own figure (show_run)
        self._version = 0  # bumped by every change of the samples: the rows' cache key
        self._rows: tuple[tuple[int, int, int], list[str]] = ((-1, 0, 0), [])

    @property
    def capacity(self) -> int:
        return self._values.maxlen or 0

    @property
    def values(self) -> tuple[float, ...]:
        """The samples kept, oldest first (a copy: the deque stays private)."""
        return tuple(self._values)

    @property
    def last(self) -> float | None:
        """The newest sample (None: none yet, or it had no figure)."""
        if not self._values or math.isnan(self._values[-1]):
            return None
        return self._values[-1]

    @property
    def maximum(self) -> float | None:
        """The highest sample kept (None: none has a figure)."""
        known = [value for value in self._values if not math.isnan(value)]
        return max(known) if known else None

    def push(self, value: float | None, *, draw: bool = True) -> None:
        """Append one sample; the oldest drops out once ``capacity`` is reached (``draw``
        False: kept for the next ``draw()``, so a caller can draw less often than it samples).
        None: the interval has no figure (nothing completed in it, so no latency): a gap on
        the plot and ``-`` in the header, not a 0 that reads as instant."""
        self._values.append(math.nan if value is None else float(value))
        self._version += 1
        if draw:
            self.refresh()

    def draw(self) -> None:
        """Repaint with the samples pushed so far."""
        self.refresh()

    def set_values(self, values: Iterable[float]) -> None:
        """Replace every sample (only the last ``capacity`` are kept)."""
        self._values.clear()
        self._values.extend(float(value) for value in values)
        self._version += 1
        self.refresh()

    def show_run(self, value: float | None) -> None:
        """After a run, the header gives the whole run's figure (``run 5,744 req/s``) where it
        gave the last sample's: at 80 columns "last" is cut, and a last 0.2 s window of
        11,763 req/s read as the run's figure beside a Runs row of 5,744. None: the last."""
        self._run_figure = value
        self.refresh()

    def clear(self) -> None:
        self._values.clear()
        self._version += 1
        self._run_figure = None
        self.refresh()

    def _number(self, value: float) -> str:
        return f"{value:,.0f}" if self.whole else format_number(value)

    def _with_unit(self, value: float) -> str:
        text = self._number(value)
        return f"{text} {self.unit}" if self.unit else text

    def header_text(self, width: int | None = None) -> tuple[str, str]:
        """(title, summary) fitted to ``width``: the summary drops words before the title.

        Widest form ``last 12.3 ms  max 40.0 ms`` (``run`` after show_run), then ``12.3 ms  max
        40.0``, then ``12.3 ms``, then ``12.3``; ``no data`` (or ``-``) before the first sample.
        """
        highest = self.maximum
        if highest is None:
            forms = ["no data", "-"]
        else:
            run = self._run_figure
            word, shown = ("last", self.last) if run is None else ("run", run)
            last = "-" if shown is None else self._with_unit(shown)
            forms = [
                f"{word} {last}  max {self._with_unit(highest)}",
                f"{last}  max {self._number(highest)}",
                last,
                "-" if shown is None else self._number(shown),  # the unit goes before the title
            ]
        if width is None:
            return self.title, forms[0]
        for summary in forms:
            if len(self.title) + 1 + len(summary) <= width:
                return self.title, summary
        summary = forms[-1][:width]
        return self.title[: max(width - len(summary) - 1, 0)], summary

    def _header(self, width: int) -> list[tuple[str, Style]]:
        title, summary = self.header_text(width)
        gap = max(width - len(title) - len(summary), 0 if not title else 1)
        return [
            (title, self.get_visual_style("trendplot--title")),
            (" " * gap, self.visual_style),
            (summary, self.get_visual_style("trendplot--value")),
        ]

    def _plot_rows(self, width: int, rows: int) -> list[str]:
        """The braille rows, drawn once per change of the samples or the size: Textual asks
        for each row of the plot apart."""
        key = (self._version, width, rows)
        if self._rows[0] != key:
            self._rows = (key, braille_rows(list(self._values), width, rows))
        return self._rows[1]

    def render(self) -> Content:
        """The plot as Content (what a test reads); Textual draws ``render_line``'s strips."""
        width, height = self.size
        header = Content.assemble(*self._header(width))
        line_style: Style = self.get_visual_style("trendplot--line")
        rows = self._plot_rows(width, height - 1)
        return Content("\n").join([header, *(Content.styled(row, line_style) for row in rows)])

    def render_line(self, y: int) -> Strip:
        """One row as segments, not Content: the four plots repaint 2.5 times a second in a
        burst, and Content's path cost ~5x this (bench/ui_responsiveness.py)."""
        width, height = self.size
        if y == 0:
            return Strip([Segment(text, style.rich_style) for text, style in self._header(width)])
        rows = self._plot_rows(width, height - 1)
        if y - 1 >= len(rows):
            return Strip.blank(width, self.rich_style)
        return Strip([Segment(rows[y - 1], self.get_visual_style("trendplot--line").rich_style)])
