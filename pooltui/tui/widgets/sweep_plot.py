"""A figure against pool size, in braille: the measured points, a fitted curve, marks.

pooltui's own braille drawing (trend_plot.braille_rows' cells) rather than a plotting library:
textual-plot and textual-plotext could not be checked against textual 8.2.8 here, and two
series on a shared x axis with a few marks is little code. Each cell holds 2 x 4 dots; a cell
with a measured point is drawn in the points' colour, the curve's cells in the curve's. The
last row is the axis: the sizes at both ends, ``k`` under the knee and ``*`` under N*.
Rendering depends only on the data and the size, so snapshots are stable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import ClassVar

from textual.content import Content
from textual.widget import Widget

from pooltui.tui.widgets.trend_plot import BRAILLE_BASE, BRAILLE_DOTS, format_number


def plot_cells(
    points: Sequence[tuple[float, float]],
    curve: Callable[[float], float] | None,
    x_range: tuple[float, float],
    columns: int,
    rows: int,
) -> tuple[list[list[int]], list[list[bool]], float]:
    """(dot bits per cell, which cells hold a point, the y scale's top)."""
    width, height = columns * 2, rows * 4
    bits = [[0] * columns for _ in range(rows)]
    marked = [[False] * columns for _ in range(rows)]
    if width <= 0 or height <= 0:
        return bits, marked, 0.0
    low_x, high_x = x_range
    span_x = (high_x - low_x) or 1.0

    def dot_x(x: float) -> int:
        return min(width - 1, max(0, round((x - low_x) / span_x * (width - 1))))

    samples: list[tuple[int, float]] = []
    if curve is not None:
        for dx in range(width):
            value = curve(low_x + dx / max(width - 1, 1) * span_x)
            if math.isfinite(value):
                samples.append((dx, value))
    top = max([y for _, y in points] + [y for _, y in samples] + [0.0]) or 1.0

    def dot_y(y: float) -> int:
        return height - 1 - min(height - 1, max(0, round(y / top * (height - 1))))

    previous: int | None = None
    for dx, value in samples:
        y = dot_y(value)
        first, last = (y, y) if previous is None else (min(y, previous), max(y, previous))
        for yy in range(first, last + 1):
            bits[yy // 4][dx // 2] |= BRAILLE_DOTS[yy % 4][dx % 2]
        previous = y
    for x, value in points:
        dx, y = dot_x(x), dot_y(value)
        for yy in (y, min(height - 1, y + 1)):  # two dots tall: a point reads as a point
            bits[yy // 4][dx // 2] |= BRAILLE_DOTS[yy % 4][dx % 2]
        marked[y // 4][dx // 2] = True
    return bits, marked, top


# the glyphs under the axis and what they mark (sweep.py puts them there)
MARK_NAMES = {"k": "k knee", "*": "* peak (N*)"}


def axis_row(x_range: tuple[float, float], columns: int, marks: Sequence[tuple[float, str]]) -> str:
    """The bottom row: the first and last size, the marks under their columns."""
    low_x, high_x = x_range
    row = [" "] * columns
    if columns <= 0:
        return ""
    span = (high_x - low_x) or 1.0
    for x, glyph in marks:
        column = min(columns - 1, max(0, round((x - low_x) / span * (columns * 2 - 1)) // 2))
        row[column] = glyph
    left, right = format_number(low_x).rstrip("0").rstrip("."), f"{high_x:g}"
    for i, ch in enumerate(left[: columns // 2]):
        if row[i] == " ":
            row[i] = ch
    for i, ch in enumerate(right[-(columns // 2) :]):
        j = columns - len(right) + i
        if 0 <= j < columns and row[j] == " ":
            row[j] = ch
    return "".join(row)


class SweepPlot(Widget):
    """``show(points, curve, marks)``: points (size, value), curve (size -> value) or None."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "sweepplot--title",
        "sweepplot--points",
        "sweepplot--curve",
        "sweepplot--axis",
    }

    DEFAULT_CSS = """
    SweepPlot {
        width: 1fr;
        height: 10;
        text-wrap: nowrap;
        text-overflow: clip;
        & > .sweepplot--title { color: $foreground; text-style: bold; }
        & > .sweepplot--points { color: $accent; text-style: bold; }
        & > .sweepplot--curve { color: $primary; }
        & > .sweepplot--axis { color: $foreground-muted; }
    }
    """

    def __init__(
        self,
        title: str,
        unit: str = "",
        *,
        lower_is_better: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self.unit = unit
        # a latency's best is its lowest: "best" over the highest p95 named the worst size
        self.lower_is_better = lower_is_better
        self.points: tuple[tuple[float, float], ...] = ()
        self.curve: Callable[[float], float] | None = None
        self.marks: tuple[tuple[float, str], ...] = ()
        self.x_range: tuple[float, float] = (1.0, 2.0)

    def show(
        self,
        points: Sequence[tuple[float, float]],
        *,
        x_range: tuple[float, float],
        curve: Callable[[float], float] | None = None,
        marks: Sequence[tuple[float, str]] = (),
    ) -> None:
        """Replace what is drawn (the handler's state; the widget only draws it)."""
        self.points = tuple((float(x), float(y)) for x, y in points)
        self.curve = curve
        self.marks = tuple(marks)
        self.x_range = x_range
        self.refresh()

    def render(self) -> Content:
        width, height = self.size
        rows = max(1, height - 2)
        bits, marked, top = plot_cells(self.points, self.curve, self.x_range, width, rows)
        pick = min if self.lower_is_better else max
        best = pick((y for _, y in self.points), default=None)
        summary = (
            "no points yet"
            if best is None
            else f"best {format_number(best)}{' ' + self.unit if self.unit else ''}"
            f"  top {format_number(top)}"
        )
        # the axis marks say what they are: a lone "k" where the smallest size was is a riddle
        legend = "  ".join(MARK_NAMES[glyph] for glyph in sorted({g for _, g in self.marks}))
        if legend and len(self.title) + len(summary) + len(legend) + 4 <= width:
            summary = f"{legend}  {summary}"
        gap = max(1, width - len(self.title) - len(summary))
        header = Content.assemble(
            (self.title, self.get_visual_style("sweepplot--title")),
            " " * gap,
            (summary, self.get_visual_style("sweepplot--axis")),
        )
        point_style = self.get_visual_style("sweepplot--points")
        curve_style = self.get_visual_style("sweepplot--curve")
        lines = [header]
        for r in range(rows):
            cells = [
                (
                    chr(BRAILLE_BASE + bits[r][c]) if bits[r][c] else " ",
                    point_style if marked[r][c] else curve_style,
                )
                for c in range(width)
            ]
            lines.append(Content.assemble(*cells))
        axis = axis_row(self.x_range, width, self.marks)
        lines.append(Content.styled(axis, self.get_visual_style("sweepplot--axis")))
        return Content("\n").join(lines)
