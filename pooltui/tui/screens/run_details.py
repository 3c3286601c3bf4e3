"""One row of the history in full: its figures against the baseline's, its repeats, the A/B
comparison it was part of (each figure's verdict and interval), and the configuration it ran
with.

The history table can only show a few columns; this is where a person checks *why* a run was
faster or slower (acquire wait or query time? churn? rejections?) and how far its repeats spread
before loading its settings. A group of repeats reads as in the table: central figures as the
median with their band, tails and counts as the worst run.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Static

from pooltui.core.compare.display import change_cells, client_bound_note, tail_line
from pooltui.core.compare.noise import Verdict
from pooltui.core.compare.runner import FIGURES as COMPARED
from pooltui.core.compare.runner import Comparison, changes
from pooltui.core.diagnosis.rules import run_findings
from pooltui.core.errors import explain_error_kind
from pooltui.core.history import OTHER_TARGET, Delta, Figure, RunGroup, RunHistory, RunRecord
from pooltui.core.load.notes import RunNote
from pooltui.core.numbers import figure as number
from pooltui.core.pool.lock_time import KINDS
from pooltui.core.pool.stats import COUNTERS as STATS_COUNTERS
from pooltui.core.pool.stats import GAUGES
from pooltui.core.report import leak_lines, tail_lines
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
TAILS = ("p999", "max")  # read off the worst repeat, never a median
# (label, how one run's value is read) of the repeats' list: the figures that vary run to run
REPEAT_COLUMNS = (
    ("req/s", lambda r: number(r.throughput_rps, "req/s")),
    ("p95 ms", lambda r: number(r.latency.p95, "ms")),
    ("acq p95", lambda r: number(r.acquire.p95, "ms")),
    ("acq max", lambda r: number(r.acquire.max, "ms")),
    ("errors", lambda r: number(r.errors, "")),
)


VERDICT_STYLES = {
    Verdict.BETTER: "bold green",
    Verdict.WORSE: "bold red",
    Verdict.NOISE: "dim",
    Verdict.SAME: "dim",
    Verdict.UNKNOWN: "yellow",
}


def _as_shown(value: float, whole: bool, unit: str) -> str:
    """The shared number format: a whole count whole, any other figure by its unit."""
    return number(value, "" if whole else unit or "value")


# (label, one run's value, unit, which way is better (True up, False down, None neither),
# central: the median and its band, else the worst run)
Row = tuple[str, Any, str, bool | None, bool]


def figure_rows(record: RunRecord) -> list[Row]:
    """Every figure the screen shows, for one run."""
    result = record.result
    rows: list[Row] = [
        ("throughput (req/s)", result.throughput_rps, "req/s", True, True),
        ("requests", result.requests, "", None, True),
        ("errors", result.errors, "", False, False),
        ("duration (s)", result.duration_s, "s", None, True),
        *tail_rows(record),
    ]
    for attr, label in TIMINGS:
        summary = getattr(result, attr)
        if attr == "schedule_lag" and not summary.count:
            continue
        rows += [
            (
                f"{label} {p.replace('p999', 'p99.9')} (ms)",
                getattr(summary, p),
                "ms",
                False,
                p not in TAILS,
            )
            for p in PERCENTILES
        ]
    rows += [
        (f"peak {name}", getattr(result.pool, f"peak_{name}"), "", None, False) for name in PEAKS
    ]
    rows += [(name, getattr(result.pool, name), "", None, False) for name in COUNTERS]
    rows += lock_rows(record)
    rows += [("client CPU (cores)", result.client.cores, "", None, False)]
    return rows


def lock_rows(record: RunRecord) -> list[Row]:
    """The round trips DBUtils made holding its pool lock ("lock: ..."): each kind's total (ms)
    and count, the worst repeat's."""
    lock = record.result.pool.under_lock
    rows: list[Row] = []
    for kind in KINDS:
        rows += [
            (f"lock: {kind} (ms)", lock.ms(kind), "ms", False, False),
            (f"lock: {kind}s", lock.count(kind), "", None, False),
        ]
    return rows


def tail_rows(record: RunRecord) -> list[Row]:
    """The tail's figures: how evenly the threads were served and what was left waiting (the
    worst repeat's: a tail is never a median)."""
    result = record.result
    rows: list[Row] = []
    fairness = result.fairness
    if fairness is not None:
        rows.append(("fairness (Jain, 1 = even)", fairness, "", True, False))
        rows.append(("starved threads", len(result.starved), "", False, False))
    rows.append(("peak oldest wait (ms)", result.pool.peak_oldest_wait_ms, "ms", False, False))
    rows.append(("still waiting at the end", result.unfinished_waits, "", False, False))
    return rows


def group_figures(group: RunGroup) -> dict[str, tuple[Figure, bool]]:
    """Each label's Figure over the group's runs, and whether one run's value is whole."""
    per_run = [{row[0]: row for row in figure_rows(run)} for run in group.runs]
    out: dict[str, tuple[Figure, bool]] = {}
    for label, (_, value, unit, better, central) in per_run[0].items():
        values = tuple(float(rows[label][1]) for rows in per_run if label in rows)
        out[label] = (Figure(values, unit, better, central), isinstance(value, int))
    return out


def describe(figure: Figure, whole: bool) -> str:
    """One value as the run's column shows it; repeats add their band (or say it is the worst)."""
    shown = _as_shown(figure.value, whole, figure.unit)
    spread = figure.spread
    if figure.n < 2 or spread.low == spread.high:
        return shown
    if not figure.central:
        return f"{shown} (worst)"
    relative = spread.relative
    if relative is None or spread.near_zero:
        return f"{shown} ±{_as_shown((spread.high - spread.low) / 2, whole, figure.unit)}"
    return f"{shown} ±{relative * 100:.1f} %"


def delta_text(delta: Delta) -> Text:
    """ "+12.3%" (or "+0.4 ms" from a base within noise of zero) green when better, red when
    worse, dim within the noise or where neither way is better."""
    relative = delta.relative
    if delta.difference == 0 or (relative is not None and abs(relative) < 0.0005):
        return Text("=", style="dim")
    better = delta.better
    style = "dim" if better is None else "green" if better else "red"
    return Text(delta.describe(), style=style)


def _compared_with(group: RunGroup, baseline: RunGroup | None) -> RunGroup | None:
    """The baseline to compare ``group`` against: none when it is the baseline itself."""
    return baseline if baseline is not None and baseline.number != group.number else None


def _title(group: RunGroup) -> str:
    """A column's header: the run, or how many runs (their numbers are in the summary)."""
    return f"run {group.number}" if group.n == 1 else f"{group.n} runs"


def figures_table(group: RunGroup, baseline: RunGroup | None) -> Table:
    """The figures, with the baseline's and the change when there is one."""
    other = _compared_with(group, baseline)
    table = Table(box=None, padding=(0, 1), header_style="bold", expand=False)
    table.add_column("figure")
    table.add_column(_title(group), justify="right")
    if other is not None:
        table.add_column(f"baseline {other.number}", justify="right")
        table.add_column("change", justify="right")
    theirs = group_figures(other) if other is not None else {}
    # against another target a change is the target's, not the pool's: none is computed
    other_target = other is not None and other.target != group.target
    for row, (label, (figure, whole)) in enumerate(group_figures(group).items()):
        cells: list[Any] = [Text(label), Text(describe(figure, whole))]
        if other is not None:
            base = theirs.get(label)
            if base is None:
                cells += [Text("-"), Text("")]
            elif other_target:
                cells += [Text(describe(*base)), Text("" if row else OTHER_TARGET, style="dim")]
            else:
                cells += [Text(describe(*base)), delta_text(Delta(figure, base[0]))]
        table.add_row(*cells)
    return table


def repeats_table(group: RunGroup) -> Table:
    """Each run of a group: the figures that vary from one repeat to the next."""
    table = Table(box=None, padding=(0, 1), header_style="bold", expand=False)
    table.add_column("run")
    for label, _ in REPEAT_COLUMNS:
        table.add_column(label, justify="right")
    for run in group.runs:
        result = run.result
        cells = [Text(f"#{run.number}" + (" (stopped)" if result.stopped else ""))]
        cells += [Text(read(result)) for _, read in REPEAT_COLUMNS]
        table.add_row(*cells)
    return table


def verdicts_line(comparison: Comparison) -> str:
    """One log line: which figures B made better or worse; the rest is within noise."""
    if not comparison.differences:
        return "A/B: no pair of runs completed: nothing to compare"
    by_verdict: dict[Verdict, list[str]] = {}
    for figure in COMPARED:
        difference = comparison.differences.get(figure.name)
        if difference is not None:
            by_verdict.setdefault(difference.verdict, []).append(figure.label)
    parts = [
        f"{verdict}: {', '.join(by_verdict[verdict])}"
        for verdict in Verdict
        if verdict in by_verdict
    ]
    pairs = len(comparison.pairs)
    return f"A/B done, {pairs} pair{'s' if pairs != 1 else ''}: " + "; ".join(parts)


def comparison_text(comparison: Comparison) -> Text:
    """What the comparison was: the sides, their runs in the history, the pairs judged."""
    a, b = comparison.a, comparison.b
    runs = "".join(run.side for run in comparison.runs)
    text = Text("A/B comparison", style="bold")
    text.append(f" (A/B/B/A, {len(comparison.runs)} runs {runs}, ")
    text.append(f"{len(comparison.pairs)} pairs: each B run against the A run beside it; ")
    text.append("each change over its 95 % interval)\n")
    changed = changes(a, b)
    text.append(f"A: {a.label}; B: {b.label}, ")
    text.append(f"changing {', '.join(changed)}" if changed else "the same configuration as A")
    text.append(f"\n{tail_line(comparison)}" if comparison.differences else "")
    if comparison.differences and len(comparison.pairs) < 2:
        text.append("\nOne pair only: no noise estimate; more rounds (repeats) give a verdict.")
    if not comparison.differences:
        text.append("\nNo pair of runs completed: nothing to compare.", style="yellow")
    note = client_bound_note(comparison)
    if note:  # why identical sides can differ by half on SQLite
        text.append(f"\n{note}", style="yellow")
    return text


def comparison_table(comparison: Comparison) -> Table:
    """Per figure: A and B with their noise, the change over its 95 % interval, the verdict
    (the unit in the figure's name, the interval under the change, one cell between columns:
    it fits 80 columns)."""
    table = Table(box=None, padding=(0, 1, 0, 0), header_style="bold", expand=False)
    for header in ("figure", "A", "B", "B vs A", "verdict"):
        table.add_column(header, justify="left" if header in ("figure", "verdict") else "right")
    for figure in COMPARED:
        difference = comparison.differences.get(figure.name)
        if difference is None:
            continue
        change, interval = change_cells(difference, figure)
        interval = interval.rsplit("]", 1)[0] + "]"  # its unit is the change's, just above
        unit = f" ({figure.unit})" if figure.unit == "ms" else ""  # throughput is per second
        table.add_row(
            Text(figure.label + unit),
            Text(difference.a.describe()),
            Text(difference.b.describe()),
            Text(f"{change}\n{interval}"),
            Text(str(difference.verdict), style=VERDICT_STYLES.get(difference.verdict, "")),
        )
    return table


def settings_table(group: RunGroup, baseline: RunGroup | None) -> Table:
    """The target, pool configuration and workload; values unlike the baseline's marked."""
    other = _compared_with(group, baseline)
    compare = other is not None
    table = Table(box=None, padding=(0, 1), header_style="bold")
    table.add_column("parameter")
    table.add_column(_title(group))
    if other is not None:
        table.add_column(f"baseline {other.number}")
    sections: list[tuple[str, list[tuple[str, object, object]]]] = [
        (
            "target",
            [
                ("dsn", group.target, other.target if other else group.target),
                # a fleet: this many processes, each with its own pool (1: the console's)
                ("processes", group.processes, other.processes if other else group.processes),
            ],
        ),
    ]
    for section, mine, theirs in (
        ("pool", group.config, other.config if other else None),
        ("workload", group.workload, other.workload if other else None),
    ):
        rows = [
            (f.name, getattr(mine, f.name), getattr(theirs or mine, f.name)) for f in fields(mine)
        ]
        sections.append((section, rows))
    for section, rows in sections:
        table.add_row(Text(f"[{section}]", style="cyan"))
        for name, value, base in rows:
            style = "bold yellow" if compare and base != value else ""
            shown = str(value) if section == "target" else toml_value(value)
            cells = [Text(name, style=style), Text(shown, style=style)]
            if compare:
                cells.append(Text(str(base) if section == "target" else toml_value(base), "dim"))
            table.add_row(*cells)
    return table


def summary_text(history: RunHistory, group: RunGroup) -> Text:
    """The header: what the run (or the repeats) was, how it ended, what failed."""
    baseline = history.baseline_group()
    first = group.first.result
    if group.n == 1:
        heading = f"Run {group.number}: {history.changes(group)}\n"
    else:
        heading = f"Runs {group.numbers()} ({group.n} runs of one configuration): "
        heading += f"{history.changes(group)}\n"
    text = Text(heading, style="bold")
    state = "stopped early" if first.stopped else "finished"
    if group.n > 1:
        state = f"{group.n} runs finished"
    text.append(f"{state} against {first.target} ({first.driver}")
    text.append(f", {first.server_version})" if first.server_version else ")")
    if group.first.at > 0:
        moment = datetime.fromtimestamp(group.first.at).astimezone()
        text.append(f" on {moment:%Y-%m-%d %H:%M:%S %Z}")
    note_text = history.note(group)
    if note_text:
        text.append(f"\nNote: {note_text}", style="italic")
    if group.n > 1:
        text.append(
            "\nMedians with the band of the repeats (± half their range); errors, maxima, "
            "peaks and counters are the worst run's.",
            style="dim",
        )
    if baseline is None:
        text.append(
            "\nNo baseline yet: mark a run as the baseline (m) to compare against it.", style="dim"
        )
    elif baseline.number == group.number:
        text.append("\nThis is the baseline.", style="dim")
    note = history.same_as_baseline(group)
    if note is not None:
        text.append(f"\n{note[0].upper()}{note[1:]}.", style="bold")
    for run in group.runs:
        result = run.result
        where = f"run {run.number}: " if group.n > 1 else ""
        if result.fatal_error:
            text.append(f"\n{where}{result.fatal_error}", style="bold red")
        if result.error_kinds:
            kinds = ", ".join(
                f"{explain_error_kind(kind)}: {n:,}"
                for kind, n in sorted(result.error_kinds.items())
            )
            text.append(f"\n{where}errors by kind: {kinds}", style="red")
        if result.client.saturated:
            noted = result.noted(RunNote.CLIENT_SATURATED) or [result.client.sentence()]
            text.append(f"\n{where}{noted[0][:1].upper()}{noted[0][1:]}.", style="yellow")
    return text


def tail_text(record: RunRecord) -> Text:
    """Fairness with the least-served threads, the acquire-timeout what-if and the findings
    (starvation, the pool lock): the same lines as the text summary, the findings in the
    warning colour."""
    findings = {f"finding: {advice.message}" for advice in run_findings(record.result)}
    lines = tail_lines(record.result)
    return Text("\n").join(Text(line, style="yellow" if line in findings else "") for line in lines)


def leaks_text(record: RunRecord) -> Text:
    """The run's leak reports, each with its stack (the event log only says one was found)."""
    entries = []
    for entry in leak_lines(record.result):
        head, _, stack = entry.partition("\n")
        text = Text(head, style="yellow")
        if stack:
            text.append("\n" + stack, style="dim")
        entries.append(text)
    return Text("\n").join(entries)


class RunDetailsScreen(DialogScreen[bool]):
    """A history row's figures, repeats and settings; ``l`` dismisses True to load its
    configuration."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("l", "load", "Load this configuration"),
    ]

    DEFAULT_CSS = """
    RunDetailsScreen > #dialog {
        width: 120; height: 1fr; max-height: 60; margin: 1 0;
    }
    RunDetailsScreen #summary { height: auto; padding-bottom: 1; }
    RunDetailsScreen #body { height: 1fr; scrollbar-size-vertical: 1; }
    RunDetailsScreen #tail { height: auto; padding-bottom: 1; }
    RunDetailsScreen #tail.-empty { display: none; }
    RunDetailsScreen #leaks { height: auto; padding-bottom: 1; }
    RunDetailsScreen #leaks.-empty { display: none; }
    RunDetailsScreen #tables { height: auto; }
    RunDetailsScreen #tables.-narrow { layout: vertical; }
    RunDetailsScreen #tables.-narrow > Static { width: 1fr; padding: 0 0 1 0; }
    RunDetailsScreen #figures { width: auto; min-width: 50; padding-right: 4; }
    RunDetailsScreen #settings { width: 1fr; min-width: 40; }
    RunDetailsScreen #repeats { height: auto; padding-bottom: 1; }
    RunDetailsScreen #comparison-summary { height: auto; }
    RunDetailsScreen #comparison { height: auto; padding: 1 0; }
    RunDetailsScreen #buttons { height: auto; padding-top: 1; }
    RunDetailsScreen #buttons > Button { margin-right: 1; }
    """

    def __init__(self, history: RunHistory, group: RunGroup) -> None:
        super().__init__()
        self.history = history
        self.group = group
        self.baseline = history.baseline_group()

    @property
    def record(self) -> RunRecord:
        """The row's first run (a single run's only one)."""
        return self.group.first

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = (
                "A/B comparison"
                if self.history.comparison(self.group) is not None
                else "Run details"
                if self.group.n == 1
                else "Repeats"
            )
            with VerticalScroll(id="body"):
                yield Static(summary_text(self.history, self.group), id="summary")
                comparison = self.history.comparison(self.group)
                if comparison is not None:
                    yield Static(comparison_text(comparison), id="comparison-summary")
                    yield Static(comparison_table(comparison), id="comparison")
                if self.group.n > 1:
                    yield Static(repeats_table(self.group), id="repeats")
                tail = tail_text(self.group.runs[-1])  # the latest repeat's tail, in full
                yield Static(tail, id="tail", classes="" if tail.plain else "-empty")
                leaks = leaks_text(self.group.runs[-1])
                yield Static(leaks, id="leaks", classes="" if leaks.plain else "-empty")
                with Horizontal(id="tables"):
                    yield Static(figures_table(self.group, self.baseline), id="figures")
                    yield Static(settings_table(self.group, self.baseline), id="settings")
            with Horizontal(id="buttons"):
                yield Button("Load this configuration", id="load", variant="primary")
                yield Button("Close", id="close")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#body", VerticalScroll).focus()

    def on_resize(self) -> None:
        """Side by side when there is room, one under the other on a narrow terminal or for
        repeats (their bands widen the figures)."""
        narrow = self.size.width < 110 or self.group.n > 1
        self.query_one("#tables").set_class(narrow, "-narrow")

    def action_load(self) -> None:
        self.dismiss(True)

    def action_close(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        (self.action_load if event.button.id == "load" else self.action_close)()
