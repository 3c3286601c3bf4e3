"""One run in full: its figures against the baseline's, and the configuration it ran with.

The history table can only show a few columns; this is where a person checks *why* a run was
faster or slower (acquire wait or query time? churn? rejections?) before loading its settings.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Static

from pooltui.core.diagnosis.rules import run_findings
from pooltui.core.history import RunRecord, relative
from pooltui.core.load.notes import RunNote
from pooltui.core.pool.lock_time import KINDS
from pooltui.core.pool.stats import COUNTERS as STATS_COUNTERS
from pooltui.core.pool.stats import GAUGES
from pooltui.core.report import tail_lines
from pooltui.tui.screens.dialog import DialogScreen
from pooltui.tui.screens.profiles import toml_value

PEAKS = GAUGES
COUNTERS = (*STATS_COUNTERS, "leaks")  # reconnects included: the stats module names them all
TIMINGS = (
    ("latency", "latency"),
    ("acquire", "acquire wait"),
    ("query", "query"),
    ("hold", "hold"),
    ("schedule_lag", "schedule lag"),
)
PERCENTILES = ("p50", "p95", "p99", "p999", "max")


def delta_text(value: float, base: float, better: str | None) -> Text:
    """ "+12.3 %" coloured green when better, red when worse; ``better`` is "up"/"down"/None."""
    change = relative(value, base)
    if change is not None and abs(change) < 0.0005:
        return Text("=", style="dim")
    rising = value > base
    style = "dim" if better is None else "green" if rising == (better == "up") else "red"
    return Text(f"{value - base:+g}" if change is None else f"{change:+.1%}", style=style)


def _fmt(value: float) -> str:
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


def figure_rows(record: RunRecord) -> list[tuple[str, float | int, str | None]]:
    """(label, value, which way is better) for every figure the screen shows."""
    result = record.result
    rows: list[tuple[str, float | int, str | None]] = [
        ("throughput (req/s)", result.throughput_rps, "up"),
        ("requests", result.requests, None),
        ("errors", result.errors, "down"),
        ("duration (s)", result.duration_s, None),
        *tail_rows(record),
    ]
    for attr, label in TIMINGS:
        summary = getattr(result, attr)
        if attr == "schedule_lag" and not summary.count:
            continue
        rows += [
            (f"{label} {p.replace('p999', 'p99.9')} (ms)", getattr(summary, p), "down")
            for p in PERCENTILES
        ]
    rows += [(f"peak {name}", getattr(result.pool, f"peak_{name}"), None) for name in PEAKS]
    rows += [(name, getattr(result.pool, name), None) for name in COUNTERS]
    rows += lock_rows(record)
    rows += [("client CPU (cores)", result.client.cores, None)]
    return rows


def lock_rows(record: RunRecord) -> list[tuple[str, float | int, str | None]]:
    """The round trips DBUtils made holding its pool lock ("lock: ..."): each kind's total (ms)
    and count."""
    lock = record.result.pool.under_lock
    rows: list[tuple[str, float | int, str | None]] = []
    for kind in KINDS:
        rows += [
            (f"lock: {kind} (ms)", lock.ms(kind), "down"),
            (f"lock: {kind}s", lock.count(kind), None),
        ]
    return rows


def tail_rows(record: RunRecord) -> list[tuple[str, float | int, str | None]]:
    """The tail's figures: how evenly the threads were served and what was left waiting."""
    result = record.result
    rows: list[tuple[str, float | int, str | None]] = []
    fairness = result.fairness
    if fairness is not None:
        rows.append(("fairness (Jain, 1 = even)", fairness, "up"))
        rows.append(("starved threads", len(result.starved), "down"))
    rows.append(("peak oldest wait (ms)", result.pool.peak_oldest_wait_ms, "down"))
    rows.append(("still waiting at the end", result.unfinished_waits, "down"))
    return rows


def _compared_with(record: RunRecord, baseline: RunRecord | None) -> RunRecord | None:
    """The baseline to compare ``record`` against: none when it is the baseline itself."""
    return baseline if baseline is not None and baseline.number != record.number else None


def figures_table(record: RunRecord, baseline: RunRecord | None) -> Table:
    """The run's figures, with the baseline's and the relative change when there is one."""
    other = _compared_with(record, baseline)
    table = Table(box=None, padding=(0, 1), header_style="bold", expand=False)
    table.add_column("figure")
    table.add_column(f"run {record.number}", justify="right")
    if other is not None:
        table.add_column(f"baseline {other.number}", justify="right")
        table.add_column("change", justify="right")
    base_rows = (
        {label: value for label, value, _ in figure_rows(other)} if other is not None else {}
    )
    for label, value, better in figure_rows(record):
        cells: list[Any] = [Text(label), Text(_fmt(value))]
        if other is not None:
            base = base_rows.get(label)
            cells += (
                [Text("-"), Text("")]
                if base is None
                else [Text(_fmt(base)), delta_text(float(value), float(base), better)]
            )
        table.add_row(*cells)
    return table


def settings_table(record: RunRecord, baseline: RunRecord | None) -> Table:
    """The pool configuration and workload of the run; values unlike the baseline's marked."""
    other = _compared_with(record, baseline)
    compare = other is not None
    table = Table(box=None, padding=(0, 1), header_style="bold")
    table.add_column("parameter")
    table.add_column(f"run {record.number}")
    if other is not None:
        table.add_column(f"baseline {other.number}")
    for section, mine, theirs in (
        ("pool", record.config, baseline.config if baseline else None),
        ("workload", record.workload, baseline.workload if baseline else None),
    ):
        table.add_row(Text(f"[{section}]", style="cyan"))
        for f in fields(mine):
            value = getattr(mine, f.name)
            other = getattr(theirs, f.name) if theirs is not None else value
            style = "bold yellow" if compare and other != value else ""
            cells = [Text(f.name, style=style), Text(toml_value(value), style=style)]
            if compare:
                cells.append(Text(toml_value(other), style="dim"))
            table.add_row(*cells)
    return table


def summary_text(record: RunRecord, baseline: RunRecord | None) -> Text:
    """The header: what the run was, how it ended, what failed."""
    result = record.result
    text = Text(f"Run {record.number}: {record.label}\n", style="bold")
    state = "stopped early" if result.stopped else "finished"
    text.append(f"{state} against {result.target} ({result.driver}")
    text.append(f", {result.server_version})" if result.server_version else ")")
    if baseline is None:
        text.append(
            "\nNo baseline yet: mark a run as the baseline (m) to compare against it.", style="dim"
        )
    elif baseline.number == record.number:
        text.append("\nThis run is the baseline.", style="dim")
    if result.fatal_error:
        text.append(f"\n{result.fatal_error}", style="bold red")
    if result.error_kinds:
        kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(result.error_kinds.items()))
        text.append(f"\nerrors by kind: {kinds}", style="red")
    if result.client.saturated:
        noted = result.noted(RunNote.CLIENT_SATURATED) or [result.client.sentence()]
        text.append(f"\n{noted[0][:1].upper()}{noted[0][1:]}.", style="yellow")
    return text


def tail_text(record: RunRecord) -> Text:
    """Fairness with the least-served threads, the acquire-timeout what-if and the findings
    (starvation): the same lines as the text summary, the findings in the warning colour."""
    findings = {f"finding: {advice.message}" for advice in run_findings(record.result)}
    lines = tail_lines(record.result)
    return Text("\n").join(Text(line, style="yellow" if line in findings else "") for line in lines)


class RunDetailsScreen(DialogScreen[bool]):
    """A run's figures and settings; ``l`` dismisses True to load its configuration."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("l", "load", "Load this configuration"),
    ]

    DEFAULT_CSS = """
    RunDetailsScreen > #dialog {
        width: 120; height: 1fr; max-height: 60; margin: 1 0;
    }
    RunDetailsScreen #summary { height: auto; padding-bottom: 1; }
    RunDetailsScreen #tail { height: auto; padding-bottom: 1; }
    RunDetailsScreen #tail.-empty { display: none; }
    RunDetailsScreen #body { height: 1fr; }
    RunDetailsScreen #tables { height: auto; }
    RunDetailsScreen #tables.-narrow { layout: vertical; }
    RunDetailsScreen #tables.-narrow > Static { width: 1fr; padding: 0 0 1 0; }
    RunDetailsScreen #figures { width: auto; min-width: 50; padding-right: 4; }
    RunDetailsScreen #settings { width: 1fr; min-width: 40; }
    RunDetailsScreen #buttons { height: auto; padding-top: 1; }
    RunDetailsScreen #buttons > Button { margin-right: 1; }
    """

    def __init__(self, record: RunRecord, baseline: RunRecord | None) -> None:
        super().__init__()
        self.record = record
        self.baseline = baseline

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Run details"
            yield Static(summary_text(self.record, self.baseline), id="summary")
            with VerticalScroll(id="body"):
                tail = tail_text(self.record)
                yield Static(tail, id="tail", classes="" if tail.plain else "-empty")
                with Horizontal(id="tables"):
                    yield Static(figures_table(self.record, self.baseline), id="figures")
                    yield Static(settings_table(self.record, self.baseline), id="settings")
            with Horizontal(id="buttons"):
                yield Button("Load this configuration", id="load", variant="primary")
                yield Button("Close", id="close")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#body", VerticalScroll).focus()

    def on_resize(self) -> None:
        """Side by side when there is room, one under the other on a narrow terminal."""
        self.query_one("#tables").set_class(self.size.width < 110, "-narrow")

    def action_load(self) -> None:
        self.dismiss(True)

    def action_close(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        (self.action_load if event.button.id == "load" else self.action_close)()
