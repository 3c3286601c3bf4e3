"""What every slider, gauge and key means, in one scrollable page.

The parameter texts come from ``config.PARAMETER_HELP`` (the same sentences the CLI and the
docs use), so the help never drifts from what the validation says.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Markdown

from pooltui.core.config import PARAMETER_HELP, POOL_FIELDS, WORKLOAD_FIELDS
from pooltui.tui.screens.dialog import DialogScreen

GAUGE_HELP: dict[str, str] = {
    "checked_out": "Connections handed out to callers right now (a shared connection counts "
    "once). At maxconnections, the next caller waits or is rejected.",
    "idle": "Open connections parked in the idle cache, ready for the next checkout without a "
    "connect. At most maxcached of them are kept.",
    "shared": "Connections in the shared cache (maxshared, drivers with threadsafety 2 only).",
    "open": "Connections open right now (connects minus closes): what the server sees for this "
    "pool's application_name / program_name.",
    "overflow": "Open connections beyond maxcached: they are closed when returned, so a steady "
    "overflow means connect/close churn.",
    "waiting": "Callers blocked in connection() right now, waiting for a free connection "
    "(blocking=True at maxconnections).",
    "oldest wait": "How long the caller waiting longest in connection() has waited so far "
    "(PgBouncer's maxwait), against its peak this run (the longest wait, finished or not). "
    "A bar that keeps filling while others are served is a starved thread: DBUtils' "
    "handoff is not first come, first served.",
    "peaks": "peak_checked_out, peak_idle, peak_shared, peak_open, peak_overflow, peak_waiting: "
    "the high-water mark of each gauge during the current run.",
    "counters": "checkouts, connects, connect_errors, closes, rejections (TooManyConnections "
    "with blocking=False), query_errors: totals for the current run.",
    "histograms": "acquire wait, query, hold (lease) and connect times, as p50 / p95 / p99 / "
    "p99.9 / max / mean in milliseconds. Acquire wait is the time spent waiting for the pool "
    "(a caller still waiting when the run ends counts with its wait so far).",
}

KEYS: tuple[tuple[str, str], ...] = (
    ("w", "warm up: pre-open mincached connections, compare cold and warm acquire"),
    ("b", "run a burst with the current workload"),
    (
        "r",
        "repeat: run the current configuration `repeats` times (the Measuring slider, "
        "default 3); the runs form one row with their noise band",
    ),
    (
        "a",
        "A/B: the baseline's configuration against the current one, A/B/B/A for `repeats` "
        "rounds; each figure's verdict (better, worse, within noise) and 95 % interval",
    ),
    ("s", "stop the running burst (and the repeats it is one of) or A/B comparison"),
    ("m", "mark the selected run as the baseline"),
    ("c", "connect to another database"),
    ("e", "export the configuration as TOML, Python or a locustfile"),
    ("p", "profiles: load one, or save the current settings"),
    ("d", "diagnose: the guided wizard that recommends a configuration"),
    ("t", "tune sweep: measure the pool size curve, search, prove; a applies the winner"),
    ("f", "fleet: show the processes slider; a burst then runs in that many processes"),
    ("enter", "details of the selected run"),
    ("n", "a note on the selected run (kept with the history)"),
    ("x / delete", "delete the selected run from the history (asks first)"),
    ("B", "make a run the baseline by its number"),
    ("1-4", "the panels' own keys: 1 parameters, 2 runs, 3 events, 4 findings"),
    ("escape", "leave an input field: its letters are typed into it, not keys"),
    ("?", "this help"),
    ("ctrl+p", "command palette: every action by name"),
    ("ctrl+q", "quit"),
)


def help_markdown(keys: Iterable[tuple[str, str]] = KEYS) -> str:
    """The help page as Markdown: parameters, workload, gauges, keys."""

    def section(title: str, names: Iterable[str], texts: dict[str, str]) -> list[str]:
        lines = [f"## {title}", ""]
        lines += [f"- **`{name}`**: {texts[name]}" for name in names if name in texts]
        return [*lines, ""]

    lines = [
        "# pooltui help",
        "",
        "Change one thing, run a burst, compare with the baseline: every run lands in the "
        "history with its change against the baseline run.",
        "",
        "Runs on one machine differ by several percent from one run to the next, so repeat a "
        "configuration (`r`) before crediting a change: the repeats form one row whose "
        "throughput and latencies are the median, with the repeats' band (`±4%`) under it, "
        "and whose errors and peaks are the worst run's (`max` under it). A delta from a baseline "
        "figure that is itself within noise of zero (acquire p95 0.00 ms, 0 errors) is a "
        "difference (`+0.4ms`), never a ratio; a delta inside the repeats' band is not "
        "coloured. The `changed` column says how a row differs from the baseline (target, "
        "a fleet's processes, pool and workload), or from the row above while there is no "
        "baseline; a run on another target than the baseline's has no delta (`-`: the "
        "targets differ, not the pools). `a` alternates "
        "the baseline's configuration (A) with the current one (B), A/B/B/A, and says for each "
        "figure whether B is better, worse or within noise, with the 95 % interval.",
        "",
    ]
    lines += section("Pool parameters (PooledDB)", POOL_FIELDS, PARAMETER_HELP)
    lines += section("Workload", WORKLOAD_FIELDS, PARAMETER_HELP)
    lines += section("Gauges", GAUGE_HELP, GAUGE_HELP)
    lines += ["## Keys", "", "| key | action |", "|---|---|"]
    lines += [f"| `{key}` | {action} |" for key, action in keys]
    return "\n".join(lines) + "\n"


class HelpScreen(DialogScreen[None]):
    """The help page; escape or q closes it."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
    ]

    DEFAULT_CSS = """
    HelpScreen > #dialog {
        width: 110; height: 1fr; max-height: 44; margin: 1 0;
    }
    HelpScreen #page { height: 1fr; }
    """

    def __init__(self, keys: Iterable[tuple[str, str]] | None = None) -> None:
        super().__init__()
        self._markdown = help_markdown(KEYS if keys is None else keys)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Help"
            with VerticalScroll(id="page"):
                yield Markdown(self._markdown, id="help")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#page", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
