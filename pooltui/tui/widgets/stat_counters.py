"""A compact grid of named counters (connects, rejections, errors, closes...).

A counter that went up since the previous ``update`` is drawn with the
``statcounters--changed`` style, so a burst of rejections catches the eye on the tick it
happens and fades on the next quiet one: no timers, and the rendering depends only on the
last two updates, so snapshots are stable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from textual.content import Content
from textual.geometry import Size
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
        self._changed = frozenset(
            key for key, value in mapping.items() if key in previous and value > previous[key]
        )
        rows = self._rows()
        self._values = {**self._values, **mapping}
        self._updated = True
        self.set_class(bool(self._changed), "-changed")
        # a re-layout only when the height changes: a count growing a digit (999 -> 1,000)
        # widens the cells, and a layout pass mid-burst costs ~25 ms of the workers' GIL
        self.refresh(layout=self._rows() != rows)

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

    def render(self) -> Content:
        cells, label_width, value_width = self._cells()
        columns = self._columns(self.size.width)
        label_style = self.get_visual_style("statcounters--label")
        styles: dict[bool, Style] = {
            False: self.get_visual_style("statcounters--value"),
            True: self.get_visual_style("statcounters--changed"),
        }
        lines: list[Content] = []
        for start in range(0, len(cells), columns):
            parts: list[str | tuple[str, Style]] = []
            for index, (name, label, value) in enumerate(cells[start : start + columns]):
                if index:
                    parts.append(GAP)
                parts.append((label.ljust(label_width) + " ", label_style))
                parts.append((value.rjust(value_width), styles[name in self._changed]))
            lines.append(Content.assemble(*parts))
        return Content("\n").join(lines)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        cells, label_width, value_width = self._cells()
        cell_width = label_width + 1 + value_width
        return len(cells) * (cell_width + len(GAP)) - len(GAP) if cells else 0

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        count = len(self._values)
        return max(1, -(-count // self._columns(width)))
