"""A one-row gauge for a pool count against its limit: ``open [██████░░░░|░░░] 6/8``.

The limit is ``maxconnections`` and the optional mark is ``maxcached`` (connections above it
are closed on return), so the mark sits *between* cells and never hides part of the fill.
Rendering is a pure function of (value, maximum, mark, width): no animation, so snapshots
are stable and a gauge shows exactly what the last stats sample said.

``GaugeRow`` is a gauge's figures and drawing; ``Gauge`` shows one row as a widget, and
``GaugeStack`` (gauge_stack.py) shows many as the lines of one widget.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import ClassVar

from rich.segment import Segment
from textual.content import Content
from textual.geometry import Size
from textual.strip import Strip
from textual.style import Style
from textual.widget import Widget


class GaugeRow:
    """A gauge's figures and how its row is drawn, in whatever widget shows it.

    Being full is a choice of component styles at render time, not a CSS class on a node: a
    saturated pool flips between 7/8 and 8/8 on every sample, and each class change makes
    Textual restyle the node, which cost a burst in the console ~8 % of the GIL's time.
    ``calm_when_full``: a full row is drawn as any other (a full idle cache is no alarm).
    """

    FILL = "█"
    EMPTY = "░"
    MARK = "|"
    UNLIMITED = "∞"

    def __init__(
        self,
        label: str,
        *,
        maximum: int | None = None,
        label_width: int | None = None,
        value_width: int = 0,
        calm_when_full: bool = False,
    ) -> None:
        """``maximum`` None or 0 means unlimited (DBUtils' 0).

        ``label_width`` and ``value_width`` (a minimum) fix those columns so a stack aligns.
        """
        self.label = label
        self.calm_when_full = calm_when_full
        self.display = True  # a stack leaves a hidden row out (the shared gauge, unshared)
        self._label_width = len(label) if label_width is None else label_width
        self._min_value_width = value_width
        self._value = 0
        self._maximum = maximum or 0
        self._mark = 0
        self._text: str | None = None  # shown instead of value/maximum (an age, not a count)

    @property
    def value(self) -> int:
        return self._value

    @property
    def maximum(self) -> int:
        """0 when unlimited."""
        return self._maximum

    @property
    def mark(self) -> int:
        """0 when no mark is drawn."""
        return self._mark

    @property
    def is_full(self) -> bool:
        return 0 < self._maximum <= self._value

    def _drawn(self) -> tuple[object, ...]:
        return (self._value, self._maximum, self._mark, self._text, self._min_value_width)

    def update(
        self,
        value: int,
        maximum: int | None = None,
        mark: int | None = None,
        *,
        text: str | None = None,
    ) -> bool:
        """Show ``value``; ``maximum``/``mark`` replace the current ones when given. Returns
        whether the row's drawing changed.

        ``maximum=0`` means unlimited, ``mark=0`` removes the mark; None keeps what was set,
        so a stats tick can pass only the value. ``text`` replaces the ``value/maximum`` after
        the bar (a gauge of milliseconds says its unit); None shows the counts.
        """
        before = self._drawn()
        self._text = text
        self._value = max(0, int(value))
        if maximum is not None:
            self._maximum = max(0, int(maximum))
        if mark is not None:
            self._mark = max(0, int(mark))
        return self._drawn() != before

    def set_value_width(self, width: int) -> bool:
        """The value column's width (a minimum): a stack of gauges given one width has its
        bars start and end in the same columns, whatever each one's limit. Returns whether
        it changed."""
        changed = width != self._min_value_width
        self._min_value_width = width
        return changed

    def value_text(self) -> str:
        """``6/8``, or ``6/∞`` when unlimited (or the ``text`` the last update gave)."""
        if self._text is not None:
            return self._text
        limit = str(self._maximum) if self._maximum else self.UNLIMITED
        return f"{self._value}/{limit}"

    def _value_width(self) -> int:
        """Wide enough for ``max/max`` so the bar keeps its length as the value moves."""
        limits = 2 * len(str(self._maximum)) + 1 if self._text is None else 0
        return max(self._min_value_width, len(self.value_text()), limits)

    def _mark_cell(self, cells: int) -> int | None:
        """Boundary (0..cells) before which the mark is drawn, or None for no mark."""
        if not (0 < self._mark < self._maximum):
            return None
        return int(self._mark * cells / self._maximum + 0.5)

    def _filled_cells(self, cells: int) -> int:
        """Whole cells filled; a non-zero value shows at least one, a non-full one leaves one."""
        if self._maximum == 0 or self._value == 0:
            return 0
        if self._value >= self._maximum:
            return cells
        filled = int(self._value * cells / self._maximum + 0.5)
        return min(max(filled, 1), cells - 1)

    def parts(self, width: int, style: Callable[[str], Style]) -> list[tuple[str, Style]]:
        """The row, ``width`` cells wide, as (text, style) runs: the label, the bar with its
        mark, the value. ``style`` gives a component class's style."""
        label_columns = self._label_width + 1 if self._label_width else 0
        value_width = self._value_width()
        has_mark = 0 < self._mark < self._maximum
        cells = max(width - label_columns - 3 - has_mark - value_width, 1)
        filled = self._filled_cells(cells)
        mark_cell = self._mark_cell(cells)
        bounds = [0, cells] if mark_cell is None else [0, mark_cell, cells]
        full = "-full" if self.is_full and not self.calm_when_full else ""
        empty = style("gauge--empty-unlimited" if self._maximum == 0 else "gauge--empty")
        parts: list[tuple[str, Style]] = []
        if self._label_width:
            label = self.label[: self._label_width].ljust(self._label_width)
            parts.append((label + " ", style("gauge--label")))
        parts.append(("[", empty))
        for index, (start, end) in enumerate(pairwise(bounds)):
            if index:
                parts.append((self.MARK, style("gauge--mark")))
            fill_end = min(max(filled, start), end)
            parts.append((self.FILL * (fill_end - start), style(f"gauge--bar{full}")))
            parts.append((self.EMPTY * (end - fill_end), empty))
        parts.append(("]", empty))
        parts.append((" " + self.value_text().rjust(value_width), style(f"gauge--value{full}")))
        return parts

    def strip(self, width: int, style: Callable[[str], Style]) -> Strip:
        """The row as segments, not Content: a saturated pool's gauges repaint on every
        sample, and Content's path (spans, offsets for selection) cost ~5x this."""
        return Strip([Segment(text, part.rich_style) for text, part in self.parts(width, style)])

    def content_width(self) -> int:
        """The row's natural width: its label and value columns and a 20-cell bar."""
        label_columns = self._label_width + 1 if self._label_width else 0
        return label_columns + 2 + 20 + 1 + self._value_width()


GAUGE_STYLES = """
    & > .gauge--label { color: $foreground; }
    & > .gauge--bar { color: $success; }
    & > .gauge--empty { color: $foreground 25%; }
    & > .gauge--empty-unlimited { color: $foreground 12%; }
    & > .gauge--mark { color: $warning; text-style: bold; }
    & > .gauge--value { color: $foreground; }
    & > .gauge--bar-full { color: $error; }
    & > .gauge--value-full { color: $error; text-style: bold; }
"""
GAUGE_COMPONENTS = {
    "gauge--label",
    "gauge--bar",
    "gauge--bar-full",
    "gauge--empty",
    "gauge--empty-unlimited",
    "gauge--mark",
    "gauge--value",
    "gauge--value-full",
}


class Gauge(Widget):
    """One gauge as a widget of one row, drawn in the ``-full`` styles when the value
    reaches a set maximum (``-unlimited`` on the node when there is none). Its figures are
    its ``row``'s."""

    COMPONENT_CLASSES: ClassVar[set[str]] = GAUGE_COMPONENTS
    DEFAULT_CSS = f"""
    Gauge {{
        width: 1fr;
        height: 1;
        {GAUGE_STYLES}
    }}
    """

    FILL = GaugeRow.FILL
    EMPTY = GaugeRow.EMPTY
    MARK = GaugeRow.MARK
    UNLIMITED = GaugeRow.UNLIMITED

    def __init__(
        self,
        label: str,
        *,
        maximum: int | None = None,
        label_width: int | None = None,
        value_width: int = 0,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``maximum`` None or 0 means unlimited (DBUtils' 0).

        ``label_width`` and ``value_width`` (a minimum) fix those columns so a stack aligns.
        """
        super().__init__(name=name, id=id, classes=classes)
        self.row = GaugeRow(
            label, maximum=maximum, label_width=label_width, value_width=value_width
        )
        self._apply_classes()

    def update(
        self,
        value: int,
        maximum: int | None = None,
        mark: int | None = None,
        *,
        text: str | None = None,
    ) -> None:
        """As ``GaugeRow.update``; repainted when the drawing changed."""
        if self.row.update(value, maximum, mark, text=text):
            self._apply_classes()
            self.refresh()

    def set_value_width(self, width: int) -> None:
        """As ``GaugeRow.set_value_width``."""
        if self.row.set_value_width(width):
            self.refresh()

    def _apply_classes(self) -> None:
        self.set_class(self.row.maximum == 0, "-unlimited")  # changes with the limit only

    def render(self) -> Content:
        """The row as Content (what a test reads); Textual draws ``render_line``'s strip."""
        return Content.assemble(*self.row.parts(self.size.width, self.get_visual_style))

    def render_line(self, y: int) -> Strip:
        if y:
            return Strip.blank(self.size.width, self.rich_style)
        return self.row.strip(self.size.width, self.get_visual_style)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.row.content_width()
