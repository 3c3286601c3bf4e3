"""The run history as a table: one row per run, each figure with its delta against the baseline.

New runs are appended (the table is not rebuilt), so the cursor and the scroll position
survive a burst finishing; only moving the baseline rebuilds the rows, keeping the cursor.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from pooltui.core.history import HIGHER_IS_BETTER, RunHistory, RunRecord

LABEL_WIDTH = 18
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
)
FIGURES = tuple(figure for _, _, figure in COLUMNS if figure is not None)
# a change smaller than this is shown as no change (measurement noise)
NOISE = 0.02


def format_figure(key: str, value: float) -> str:
    """How a figure reads in a cell: counts whole, rates and milliseconds with sane digits."""
    if key in ("errors", "peak_open"):
        return f"{int(value):,}"
    if key == "throughput":
        return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"
    return f"{value:.1f}" if value >= 100 else f"{value:.2f}"


def format_delta(key: str, delta: float | None, value: float) -> str:
    """``+12%``, ``-3%``, ``±0%``; ``new`` when the baseline had 0 of it (no ratio exists)."""
    if delta is None:
        return "new" if value else ""
    if abs(delta) < 0.005:
        return "±0%"
    return f"{delta:+.0%}"


class HistoryTable(DataTable):
    """``show(history)`` brings the table up to date; the row key is the run number.

    Without a baseline a row is one line of figures; with one, each row is two lines, the
    figure over its delta, so every column stays narrow enough for an 80-column terminal.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Details", show=True),
    ]

    DEFAULT_CSS = """
    HistoryTable {
        height: 1fr;
        min-height: 4;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, id=id, classes=classes)
        self._baseline: int | None = None

    def on_mount(self) -> None:
        for key, header, _ in COLUMNS:
            self.add_column(header, key=key, width=LABEL_WIDTH if key == "label" else None)

    @property
    def selected_number(self) -> int | None:
        """The run number under the cursor, or None when the table is empty."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return int(row_key.value) if row_key.value is not None else None

    def _colour(self, key: str, delta: float | None, value: float) -> str:
        """Green for better, red for worse than the baseline, none within the noise."""
        theme = self.app.current_theme
        if delta is None:
            worse = key == "errors" and value > 0
            return (theme.error or "red") if worse else ""
        if abs(delta) < NOISE:
            return ""
        better = (delta > 0) == (key in HIGHER_IS_BETTER)
        return (theme.success or "green") if better else (theme.error or "red")

    def _cells(self, history: RunHistory, record: RunRecord) -> list[Text]:
        """The row's cells, one line each without a baseline, value over delta with one."""
        figures = record.figures()
        two_lines = history.baseline is not None
        is_baseline = history.baseline == record.number
        delta = history.delta(record) if two_lines else {}
        label = ("(stopped) " if record.result.stopped else "") + record.label
        room = LABEL_WIDTH * (2 if two_lines else 1)
        if len(label) > room:
            label = label[: room - 1] + "…"
        cells = [
            Text(
                f"{record.number}" + ("\n★" if is_baseline else ""),
                style="bold" if is_baseline else "",
            ),
            Text(label, no_wrap=not two_lines, overflow="ellipsis"),
        ]
        error_style = self.app.current_theme.error or "red"
        for figure in FIGURES:
            value = figures[figure]
            text = Text(format_figure(figure, value), no_wrap=True, justify="right")
            if figure == "errors" and value > 0:
                text.stylize(error_style)
            if two_lines:
                change = delta[figure]
                shown = "base" if is_baseline else format_delta(figure, change, value)
                text.append(
                    "\n" + shown,
                    style=self._colour(figure, change, value) if not is_baseline else "dim",
                )
            cells.append(text)
        return cells

    def show(self, history: RunHistory) -> None:
        """Add the runs not shown yet; rebuild the rows when the baseline changed."""
        if history.baseline != self._baseline:
            self._baseline = history.baseline
            selected = self.selected_number
            self.clear()
            for record in history.records:
                self._add(history, record)
            if selected is not None and str(selected) in self.rows:
                self.move_cursor(row=self.get_row_index(str(selected)))
            return
        for record in history.records:
            if str(record.number) not in self.rows:
                self._add(history, record)

    def _add(self, history: RunHistory, record: RunRecord) -> None:
        self.add_row(
            *self._cells(history, record),
            key=str(record.number),
            height=2 if history.baseline is not None else 1,
        )

    def move_to_last(self) -> None:
        """Put the cursor on the newest run."""
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)
