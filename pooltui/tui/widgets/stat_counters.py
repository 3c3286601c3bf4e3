"""A compact grid of named counters (connects, rejections, errors, closes...).

A counter that went up since the previous ``update`` is drawn with the
``statcounters--changed`` style, so a burst of rejections catches the eye on the tick it
happens and fades on the next quiet one: no timers, and the rendering depends only on the
last two updates, so snapshots are stable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.segment import Segment
from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.style import Style
from textual.widget import Widget

GAP = "   "


def format_count(value: float) -> str:
    """Thousands separators; floats keep one decimal."""
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


class StatCounters(Widget):
    """``update(mapping)`` shows each counter as ``label value`` in as many columns as fit."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "statcounters--label",
        "statcounters--value",
        "statcounters--changed",
    }

    DEFAULT_CSS = """
    StatCounters {
        width: 1fr;
        height: auto;
        text-wrap: nowrap;
        text-overflow: clip;
        & > .statcounters--label { color: $foreground-muted; }
        & > .statcounters--value { color: $foreground; }
        & > .statcounters--changed { color: $warning; text-style: bold; }
    }
    """

    def __init__(
        self,
        names: Sequence[str] = (),
        *,
        labels: Mapping[str, str] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``names`` fixes the order (shown as 0 until updated); others append as they come.

        ``labels`` maps a counter name to its display text (default: ``_`` becomes a space).
        """
        super().__init__(name=name, id=id, classes=classes)
        self._labels = dict(labels or {})
        self._values: dict[str, float] = dict.fromkeys(names, 0)
        self._changed: frozenset[str] = frozenset()
        self._updated = False

    @property
    def values(self) -> dict[str, float]:
        return dict(self._values)

    @property
    def changed(self) -> frozenset[str]:
        """Names that increased in the last update (empty after the first one)."""
        return self._changed

    def update(self, mapping: Mapping[str, float]) -> None:
        """Show new values; highlight those above the previous update's.

        The first update only sets the baseline: nothing is highlighted, because the
        counters did not "just" grow, they were simply never shown before.
        """
        previous = self._values if self._updated else {}
        rows, drawn = self._rows(), self._row_keys()
        self._changed = frozenset(
            key for key, value in mapping.items() if key in previous and value > previous[key]
        )
        self._values = {**self._values, **mapping}
        self._updated = True
        self.set_class(bool(self._changed), "-changed")
        if self._rows() != rows:
            # a re-layout only when the height changes: a count growing a digit (999 ->
            # 1,000) widens the cells, and a layout pass mid-burst costs ~25 ms of the GIL
            self.refresh(layout=True)
            return
        now = self._row_keys()
        if len(now) != len(drawn):
            self.refresh()
            return
        # only the rows that changed: in a burst, checkouts grow on every update and the
        # rest sit still
        width = self.size.width
        for row, (old, new) in enumerate(zip(drawn, now, strict=True)):
            if old != new:
                self.refresh(Region(0, row, width, 1))

    def _rows(self) -> int:
        """The rows the counters take at the current width: all the layout depends on (the
        width is the container's, 1fr)."""
        return self.get_content_height(self.size, self.size, self.size.width)

    def label_for(self, name: str) -> str:
        return self._labels.get(name, name.replace("_", " "))

    def _cells(self) -> tuple[list[tuple[str, str, str]], int, int]:
        """(name, label, value) per counter, and the label and value column widths."""
        cells = [(k, self.label_for(k), format_count(v)) for k, v in self._values.items()]
        label_width = max((len(label) for _, label, _ in cells), default=0)
        value_width = max((len(value) for _, _, value in cells), default=0)
        return cells, label_width, value_width

    def _columns(self, width: int) -> int:
        _, label_width, value_width = self._cells()
        cell_width = label_width + 1 + value_width
        return max(1, (width + len(GAP)) // (cell_width + len(GAP)))

    def _row_keys(self) -> list[tuple[tuple[str, str, bool], ...]]:
        """What each row shows: (label, value, highlighted) per cell."""
        cells, label_width, value_width = self._cells()
        columns = self._columns(self.size.width)
        return [
            tuple(
                (label.ljust(label_width), value.rjust(value_width), name in self._changed)
                for name, label, value in cells[start : start + columns]
            )
            for start in range(0, len(cells), columns)
        ]

    def _line_parts(self, row: tuple[tuple[str, str, bool], ...]) -> list[tuple[str, Style]]:
        label_style = self.get_visual_style("statcounters--label")
        styles: dict[bool, Style] = {
            False: self.get_visual_style("statcounters--value"),
            True: self.get_visual_style("statcounters--changed"),
        }
        parts: list[tuple[str, Style]] = []
        for index, (label, value, changed) in enumerate(row):
            if index:
                parts.append((GAP, self.visual_style))
            parts.append((label + " ", label_style))
            parts.append((value, styles[changed]))
        return parts

    def render(self) -> Content:
        """The counters as Content (what a test reads); Textual draws ``render_line``'s."""
        lines = [Content.assemble(*self._line_parts(row)) for row in self._row_keys()]
        return Content("\n").join(lines)

    def render_line(self, y: int) -> Strip:
        """One row as segments, not Content (see update: only changed rows repaint)."""
        rows = self._row_keys()
        if y >= len(rows):
            return Strip.blank(self.size.width, self.rich_style)
        return Strip([Segment(text, style.rich_style) for text, style in self._line_parts(rows[y])])

    def get_content_width(self, container: Size, viewport: Size) -> int:
        cells, label_width, value_width = self._cells()
        cell_width = label_width + 1 + value_width
        return len(cells) * (cell_width + len(GAP)) - len(GAP) if cells else 0

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        count = len(self._values)
        return max(1, -(-count // self._columns(width)))
