"""Gauges as the lines of one widget, each repainted alone when its figures change.

Why not a column of ``Gauge`` widgets: Textual's compositor renders every widget whose
container overlaps a frame's dirty regions, whole, from its line cache, so seven gauge widgets
were seven of the ~21 widgets each frame of a burst rendered (five frames a second) even when
one of them had changed. One widget with a row per gauge is one render per frame, and a
changed row dirties only its own line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from pooltui.tui.widgets.gauge import GAUGE_COMPONENTS, GAUGE_STYLES, GaugeRow


class GaugeStack(Widget):
    """Named gauge rows, top to bottom, a hidden one (``show(name, False)``) left out."""

    COMPONENT_CLASSES: ClassVar[set[str]] = GAUGE_COMPONENTS
    DEFAULT_CSS = f"""
    GaugeStack {{
        width: 1fr;
        height: auto;
        {GAUGE_STYLES}
    }}
    """

    def __init__(
        self,
        rows: Iterable[tuple[str, GaugeRow]],
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._rows = dict(rows)

    def row(self, name: str) -> GaugeRow:
        """The row called ``name`` (its figures; what it draws is ``text(name)``)."""
        return self._rows[name]

    @property
    def rows(self) -> list[GaugeRow]:
        """The rows shown, top to bottom (read off the rows: nothing to keep in step)."""
        return [row for row in self._rows.values() if row.display]

    def update(
        self,
        name: str,
        value: int,
        maximum: int | None = None,
        mark: int | None = None,
        *,
        text: str | None = None,
    ) -> None:
        """As ``GaugeRow.update`` on row ``name``; only its line is repainted, and only when
        its drawing changed."""
        row = self._rows[name]
        if row.update(value, maximum, mark, text=text) and row.display:
            self.refresh(Region(0, self.rows.index(row), self.size.width, 1))

    def set_value_width(self, width: int) -> None:
        """One value column for every row, so their bars start and end in the same columns."""
        changed = [row.set_value_width(width) for row in self._rows.values()]
        if any(changed):
            self.refresh()

    def show(self, name: str, shown: bool) -> None:
        """Show or leave out row ``name`` (the stack's height follows)."""
        row = self._rows[name]
        if row.display != shown:
            row.display = shown
            self.refresh(layout=True)

    def text(self, name: str) -> str:
        """Row ``name`` as it is drawn at the stack's width (what a test reads)."""
        return Content.assemble(
            *self._rows[name].parts(self.size.width, self.get_visual_style)
        ).plain

    def render_line(self, y: int) -> Strip:
        rows = self.rows
        if y >= len(rows):
            return Strip.blank(self.size.width, self.rich_style)
        return rows[y].strip(self.size.width, self.get_visual_style)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return max((row.content_width() for row in self.rows), default=0)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.rows)
