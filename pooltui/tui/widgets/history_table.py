"""The run history as a table: one row per group of runs, each figure with its delta against the
baseline.

A group is one configuration run once or repeated (``r``): its central figures read as the
median over the repeats' band (``412`` over ``±4%``), its tails and counts as the worst run (over
``max``), so the band costs a line, not columns. Rows are updated in place and new groups
appended, so the cursor and the scroll position survive a burst finishing; moving the baseline
(every row gains its delta line) or a run becoming a group (its band line) rebuilds the rows,
keeping the cursor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from pooltui.core.history import OTHER_TARGET, Delta, RunGroup, RunHistory, format_value

LABEL_WIDTH = 18  # the "changed" column at its narrowest when it is shown
LABEL_MAX_WIDTH = 40  # and at its widest: what is left of the row goes to it
# the acquire tail beside its p95: a p95 of 0.00 ms can hide threads that waited the whole run
TAIL_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("acquire_p999", "acq99.9", "acquire_p999"),
    ("acquire_max", "acqmax", "acquire_max"),
)
# (column key, header, figure key or None for text columns)
COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("number", "#", None),
    ("label", "changed", None),
    ("throughput", "req/s", "throughput"),
    ("p50", "p50", "p50"),
    ("p95", "p95", "p95"),
    ("p99", "p99", "p99"),
    ("acquire_p95", "acq95", "acquire_p95"),
    *TAIL_COLUMNS,
    ("errors", "errors", "errors"),
    ("peak_open", "open", "peak_open"),
    ("when", "when", None),  # when the group's first run ran: today's time, an older date
)
# which columns a narrow table keeps, first kept first: at 80 columns a user still sees the
# throughput, p95, acquire p95 and max, errors and every delta; the run details have the rest
PRIORITY = (
    "number",
    "throughput",
    "p95",
    "acquire_p95",
    "acquire_max",
    "errors",
    "label",
    "p50",
    "p99",
    "peak_open",
    "when",
    "acquire_p999",
)
HEADERS = {key: header for key, header, _ in COLUMNS}
TEXT_COLUMNS = frozenset(key for key, _, figure in COLUMNS if figure is None)
FIGURES = tuple(figure for _, _, figure in COLUMNS if figure is not None)


def when(at: float, now: float | None = None) -> str:
    """When a run ran, in local time: ``14:03`` today, ``11-28`` another day of this year,
    ``2025-11-28`` before it (a run from before the history was kept: "")."""
    if at <= 0:
        return ""
    moment = datetime.fromtimestamp(at)
    today = datetime.fromtimestamp(time.time() if now is None else now)
    if moment.date() == today.date():
        return moment.strftime("%H:%M")
    return moment.strftime("%m-%d" if moment.year == today.year else "%Y-%m-%d")


@dataclass(frozen=True)
class Layout:
    """The columns shown, their widths (empty: each as wide as its cells) and the padding."""

    columns: tuple[str, ...]
    widths: tuple[int, ...]
    padding: int


class HistoryTable(DataTable):
    """``show(history)`` brings the table up to date; the row key is the group's number.

    A row is a line of figures, a line of the repeats' bands for a group, and a line of deltas
    when there is a baseline, so every column stays narrow. The columns shown are those of
    PRIORITY that fit the table's width (picked again on a resize and when a figure grows),
    what is left goes to "changed"; the baseline is the first row and stays pinned (a fixed
    row) while the others scroll.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Details", show=True),
        Binding("n", "screen.note_run", "Note"),
        Binding("x,delete", "screen.delete_run", "Delete"),
    ]

    key_hint = ""  # the panel's key, before its title ("2 Runs ...")

    DEFAULT_CSS = """
    HistoryTable {
        height: 1fr;
        min-height: 4;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, id=id, classes=classes)
        self._baseline: int | None = None
        self._shown: dict[str, list[Text]] = {}  # the cells each row shows, by row key
        self._cells_of: dict[str, dict[str, Text]] = {}  # every column's cell, by row key
        self._labels: dict[str, str] = {}  # the "changed" text of each row, uncut
        self._heights: dict[str, int] = {}
        self._history: RunHistory | None = None
        self._layout = Layout((), (), 1)

    def on_mount(self) -> None:
        self._set_columns(Layout(tuple(key for key, _, _ in COLUMNS), (), 1))

    def _set_columns(self, layout: Layout) -> None:
        self._layout = layout
        self.cell_padding = layout.padding
        widths = dict(zip(layout.columns, layout.widths, strict=False))
        for key in layout.columns:
            header = Text(HEADERS[key], justify="left" if key in TEXT_COLUMNS else "right")
            self.add_column(header, key=key, width=widths.get(key))

    @property
    def columns_shown(self) -> tuple[str, ...]:
        """The keys of the columns shown now, in their order."""
        return self._layout.columns

    def _fit(self, rows_height: int) -> Layout:
        """The columns that fit the width now (in COLUMNS order) and their widths: with a
        cell's padding on both sides when they fit so, else with one column between them.

        ``rows_height``: the lines the rows will take once shown. The table's virtual size is
        the rows shown so far: a row an A/B run adds that makes them scroll brings a vertical
        scrollbar, which a fit read off the old rows did not leave room for (the last column
        was cut, and a resize then fitted to the stale height again)."""
        width = self.size.width
        header = self.header_height if self.show_header else 0
        if rows_height + header > self.size.height:  # the rows scroll: a scrollbar shows
            width -= self.styles.scrollbar_size_vertical
        if width <= 0:
            return self._layout
        content = {}
        for key in HEADERS:
            if key == "label":
                content[key] = LABEL_WIDTH
                continue
            lines = [line for cells in self._cells_of.values() for line in cells[key].split()]
            content[key] = max([len(HEADERS[key]), *(line.cell_len for line in lines)])
        wanted = PRIORITY[: PRIORITY.index("label")]  # what 80 columns must still show
        roomy = sum(content[key] + 2 for key in wanted) <= width
        gap = 2 if roomy else 1  # padding 1 on both sides, or one blank column in the width

        def needs(key: str) -> int:
            """Its width with its gap; packed, the first column (#, flush left) needs none:
            the blank on the left of the right-aligned figure after it parts them (at 80
            columns the column it saves is the one errors needed beside an A/B's rows)."""
            return content[key] + (0 if not roomy and key == "number" else gap)

        chosen: list[str] = []
        used = 0
        for key in PRIORITY:
            if used + needs(key) <= width or key == "number":
                chosen.append(key)
                used += needs(key)
        if "label" in chosen:
            longest = max((len(label) for label in self._labels.values()), default=0)
            room = LABEL_WIDTH + width - used
            content["label"] = max(LABEL_WIDTH, min(LABEL_MAX_WIDTH, longest, room))
        columns = tuple(key for key in HEADERS if key in chosen)
        if roomy:
            return Layout(columns, tuple(content[key] for key in columns), 1)
        return Layout(columns, tuple(needs(key) for key in columns), 0)

    def on_resize(self) -> None:
        if self._history is not None:
            self.show(self._history)

    @property
    def selected_number(self) -> int | None:
        """The group number under the cursor, or None when the table is empty."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return int(row_key.value) if row_key.value is not None else None

    def _colour(self, delta: Delta | None, key: str, value: float) -> str:
        """Green for better, red for worse than the baseline, none within the noise."""
        theme = self.app.current_theme
        if delta is None or delta.better is None:
            worse = delta is None and key == "errors" and value > 0
            return (theme.error or "red") if worse else ""
        return (theme.success or "green") if delta.better else (theme.error or "red")

    @staticmethod
    def _height(history: RunHistory, group: RunGroup) -> int:
        """Figures, then the band of a group's repeats, then the delta with a baseline."""
        return 1 + (group.n > 1) + (history.baseline is not None)

    def _cells(self, history: RunHistory, group: RunGroup) -> dict[str, Text]:
        """Every column's cell: each figure's value, its band (a group), its delta (a
        baseline); the label uncut (``_row`` fits it to its column)."""
        figures = group.figures()
        deltas = history.delta(group)
        no_delta = history.no_delta(group)  # another target: a "-" for each delta, and why
        is_baseline = history.baseline == group.number
        note = history.note(group)
        label = ("(stopped) " if group.stopped else "") + history.changes(group)
        label = f"“{note}” {label}" if note else label
        self._labels[str(group.number)] = label
        # the number, how many runs (on the band's line: no wider a column), the baseline's star
        number = str(group.number) + (f"\n×{group.n}" if group.n > 1 else "")  # noqa: RUF001
        cells = {
            "number": Text(
                number + ("\n★" if is_baseline else ""), style="bold" if is_baseline else ""
            ),
            "label": Text(label),
            "when": Text(when(group.first.at), style="dim", no_wrap=True),
        }
        error_style = self.app.current_theme.error or "red"
        for key in FIGURES:
            figure = figures[key]
            text = Text(format_value(figure.value, figure.unit), no_wrap=True, justify="right")
            if key == "errors" and figure.value > 0:
                text.stylize(error_style)
            if group.n > 1:
                text.append("\n" + figure.band(), style="dim")
            if no_delta is not None:
                text.append("\n-", style="dim")
            if deltas is not None:
                delta = deltas[key]
                if is_baseline:
                    text.append("\nbase", style="dim")
                else:
                    text.append(
                        "\n" + delta.describe(compact=True),
                        style=self._colour(delta, key, figure.value),
                    )
            cells[key] = text
        return cells

    def _row(self, key: str) -> list[Text]:
        """The cells of the columns shown, the label cut to its column's lines."""
        cells = self._cells_of[key]
        height = self._heights[key]
        label = self._labels[key]
        layout = self._layout
        label_width = dict(zip(layout.columns, layout.widths, strict=False)).get(
            "label", LABEL_WIDTH
        ) - (1 - layout.padding)
        room = label_width * height
        if len(label) > room:
            label = label[: room - 1] + "…"
        row = []
        for column in self._layout.columns:
            if column == "label":
                row.append(Text(label, no_wrap=height == 1, overflow="ellipsis"))
            else:
                row.append(cells[column])
        return row

    def show(self, history: RunHistory) -> None:
        """Bring every row up to date: new groups appended, grown ones updated in place; the
        rows are rebuilt when the baseline moved, a run became a group (a row's height) or
        the columns that fit changed."""
        self._history = history
        self.border_title = self.key_hint + (
            "Runs (ms, changed vs row above)"
            if history.baseline is None
            else "Runs (ms, Δ vs baseline)"
        )
        # a row against another target has "-" for its deltas: the table's foot says why, at
        # every width (the "changed" column that says it too is left out at 80 columns)
        others = [group.number for group in history.groups if history.no_delta(group)]
        self.border_subtitle = (
            f"no Δ for {', '.join(f'#{n}' for n in others[-3:])}"
            f"{' and more' if len(others) > 3 else ''}: {OTHER_TARGET}"
            if others
            else ""
        )
        groups = list(history.groups)
        if history.baseline is not None:  # the baseline first, pinned: every row's reference
            groups = sorted(groups, key=lambda group: group.number != history.baseline)
        # every group's cells afresh (a deleted group's must not widen a column)
        self._cells_of = {str(group.number): self._cells(history, group) for group in groups}
        heights = {str(group.number): self._height(history, group) for group in groups}
        regrown = any(self._heights.get(key, height) != height for key, height in heights.items())
        regrown = regrown or any(key.value not in heights for key in self.rows)  # deleted
        layout = self._fit(sum(heights.values()))
        refit = layout != self._layout
        if history.baseline != self._baseline or regrown or refit:
            self._baseline = history.baseline
            selected = self.selected_number
            self.clear(columns=refit)
            if refit:
                self._set_columns(layout)
            self._shown.clear()
            self._heights.clear()
            for group in groups:
                self._add(history, group)
            self.fixed_rows = 1 if history.baseline is not None and groups else 0
            if selected is not None and str(selected) in self.rows:
                self.move_cursor(row=self.get_row_index(str(selected)))
            return
        for group in groups:
            key = str(group.number)
            if key not in self.rows:
                self._add(history, group)
                continue
            cells = self._row(key)
            for column, old, new in zip(self._layout.columns, self._shown[key], cells, strict=True):
                if old != new:
                    self.update_cell(key, column, new, update_width=True)
            self._shown[key] = cells

    def _add(self, history: RunHistory, group: RunGroup) -> None:
        key = str(group.number)
        self._heights[key] = height = self._height(history, group)
        self._shown[key] = cells = self._row(key)
        self.add_row(*cells, key=key, height=height)

    def move_to_last(self) -> None:
        """Put the cursor on the newest row."""
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def move_to(self, number: int) -> None:
        """Put the cursor on group ``number``'s row, and the table in view: on a short
        screen (80x24) the dashboard scrolls and the table starts below its fold, so a run
        that just finished would otherwise show only the first row, not its own."""
        if str(number) in self.rows:
            self.move_cursor(row=self.get_row_index(str(number)))
            self.call_after_refresh(self.scroll_visible, animate=False)
