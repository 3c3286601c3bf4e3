"""The tune screen: parameters on the left; gauges, live plots, run history and events on the right.

The screen owns everything a user does in the console: warm-up, burst, repeats, stop, baseline,
run details, and the modal screens (connect, profiles, export, the wizard); the app holds the
session and keeps quit and help. What runs now is reactive (``running``, ``stopping``), and
``check_action`` disables the keys that cannot act now, so the footer and the palette only
offer what works.

Repeats (``r``) are a series of bursts of one configuration: each is an ordinary burst, and the
handler of one's ``BurstFinished`` records it into the series' group and starts the next, so a
stop ends the burst running and the series with it. An A/B comparison (``a``: the baseline's
configuration against the sliders', A/B/B/A) is one worker around ``compare.runner``, on two
pools of its own; each run it reports becomes a row's run, and the verdicts open in the details.

Warm-ups and bursts run in thread workers that never touch a widget: they build the pool when
the sliders changed since it was built, call the engine, and post messages (``messages.py``)
that the handlers here apply on the UI thread. A burst's ``on_sample`` posts ``StatsSampled``
every 0.2 s (coalesced when the UI is busy); between runs a 0.5 s timer reads the pool's
lock-free snapshot, so the gauges always show the pool as it is.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.events import DescendantFocus
from textual.reactive import var
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Header, Input, Static, TextArea
from textual.worker import Worker, WorkerState

from pooltui.core import checks
from pooltui.core.checks import refuse_beyond_capacity
from pooltui.core.compare.runner import ROUND, Side
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.diagnosis.rules import run_findings
from pooltui.core.errors import (
    CONNECTION,
    BadInput,
    CannotConnect,
    describe_db_error,
    explain_error_kind,
    failure_class,
)
from pooltui.core.history import describe_changes
from pooltui.core.host.job import comparison as hosted_comparison
from pooltui.core.host.job import run_hosted
from pooltui.core.load import collector, engine
from pooltui.core.numbers import count, figure, ms, rate
from pooltui.core.pool.stats import PoolStats
from pooltui.core.profiles import Profile
from pooltui.tui.messages import (
    BurstFailed,
    BurstFinished,
    ComparisonFailed,
    ComparisonFinished,
    ComparisonRunFinished,
    FleetFinished,
    FleetSampled,
    PoolBuilt,
    PoolClosed,
    PoolEventOccurred,
    StatsSampled,
    TargetChecked,
    TargetCheckFailed,
    TargetRechecked,
    WarmupFailed,
    WarmupFinished,
)
from pooltui.tui.screens.run_details import verdicts_line
from pooltui.tui.widgets.event_log import EventLog
from pooltui.tui.widgets.fleet_panel import FleetPanel
from pooltui.tui.widgets.history_table import HistoryTable
from pooltui.tui.widgets.live_panel import LivePanel, plottable
from pooltui.tui.widgets.param_panel import ParamPanel
from pooltui.tui.widgets.slider import Slider

if TYPE_CHECKING:
    from pooltui.core.diagnosis.recommend import Recommendation
    from pooltui.core.history import RunGroup, RunRecord
    from pooltui.core.host import HostedPool
    from pooltui.core.pool import PoolEvent
    from pooltui.core.targets import Target
    from pooltui.tui.app import PoolTuiApp
    from pooltui.tui.screens.wizard import WizardMemory

# the panels' own keys (k9s-style jumps: digits work in every terminal and tmux, alt+letter
# does not everywhere), each said in its panel's title: (key, panel, title)
PANEL_KEYS = (
    ("1", "params", "Parameters"),
    ("2", "history", "Runs"),
    ("3", "events", "Events"),
    ("4", "findings", "Findings"),
)
PANEL_TITLES = (
    ("#params", "1 Parameters"),
    ("#events", "3 Events"),
)
# pool events the screen reports itself, with more context than the pool has
OWN_EVENTS = frozenset({"run_finished"})


@dataclass
class Series:
    """The repeats running now: one configuration, ``total`` runs, one group in the history."""

    config: PoolConfig
    workload: Workload
    total: int
    group: int | None  # a run of the group the repeats join; None until the first one is in
    done: int = 0


@dataclass
class AbRuns:
    """The A/B comparison running now: its runs so far and the group each side's runs join."""

    sides: dict[str, Side]
    baseline: int  # the baseline group A's configuration comes from
    total: int
    done: int = 0
    groups: dict[str, int] = field(default_factory=dict)  # side -> a run of its group
    numbers: list[int] = field(default_factory=list)  # the history numbers of its runs


RECHECK_TIMEOUT_S = 3.0  # trying a dead target again before a run: a connect, this long at most


def unreachable(error: BaseException) -> bool:
    """The failure says the server could not be reached (not a bad query or a full pool)."""
    return isinstance(error, CannotConnect) or failure_class(error) == CONNECTION


PALETTE_KEY_WIDTH = 14  # the footer's "▏^p palette" at its right end
MAX_FOOTER_ROWS = 3


def footer_rows(widths: list[int], width: int) -> int:
    """How many rows keys of these widths need in a grid of equal columns ``width`` wide (at
    most MAX_FOOTER_ROWS: past that the keys are cut, the palette still has them all)."""
    for rows in range(1, MAX_FOOTER_ROWS):
        columns = -(-len(widths) // rows)
        if not widths or (sum(widths) <= width if rows == 1 else columns * max(widths) <= width):
            return rows
    return MAX_FOOTER_ROWS


class WrappingFooter(Footer):
    """When the keys do not fit on one row (a narrow screen, or many keys) they wrap onto two
    or three (app.tcss, ``-wrapped``), so every one still shows; ctrl+p is then the header's
    icon."""

    _drawn: tuple[tuple[str, str, bool], ...] | None = None  # the keys composed last

    def _keys_now(self) -> tuple[tuple[str, str, bool], ...]:
        return tuple(
            (key, active.binding.description, active.enabled)
            for key, active in self.screen.active_bindings.items()
            if active.binding.show
        )

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Recompose only when the keys shown changed: each recompose lays the whole screen
        out again (a burst's start cost its first frames), and Textual signals more often
        than the keys change. When only keys' states changed (a run starts or ends: w, b, r
        greyed, s enabled), the keys drawn are enabled or disabled in place."""
        now = self._keys_now()
        drawn = self._drawn
        if drawn is not None and now != drawn and [k[:2] for k in now] == [k[:2] for k in drawn]:
            enabled = {active.binding.action: active.enabled for _, _, active in self._shown()}
            for key in self.query("FooterKey"):  # Footer's own keys, queried by type name
                action = getattr(key, "action", None)
                if action in enabled:  # Footer greys a key by this class; a click on one
                    key.set_class(not enabled[action], "-disabled")  # goes through the key
            self._drawn = now
            return
        if now != drawn:
            super().bindings_changed(screen)

    def _shown(self) -> list[tuple[str, str, ActiveBinding]]:
        return [
            (key, active.binding.description, active)
            for key, active in self.screen.active_bindings.items()
            if active.binding.show
        ]

    def compose(self) -> ComposeResult:
        # before the first bindings signal Footer composes nothing: nothing drawn yet
        self._drawn = self._keys_now() if self._bindings_ready else None
        keys = list(super().compose())
        # a key is drawn " k Description ": its two texts and three cells of padding
        shown: dict[str, Binding] = {}
        for active in self.screen.active_bindings.values():
            if active.binding.show:
                shown.setdefault(active.binding.action, active.binding)
        widths = [
            len(self.app.get_key_display(binding)) + len(binding.description) + 3
            for binding in shown.values()
        ]
        needed = sum(widths) + (PALETTE_KEY_WIDTH if self.show_command_palette else 0)
        width = self.screen.size.width
        wrap = self.screen.has_class("-narrow") or 0 < width < needed
        self.set_class(wrap, "-wrapped")
        if wrap:
            keys = [key for key in keys if not key.has_class("-command-palette")]
            rows = max(2, footer_rows(widths, width)) if width else 2
            self.styles.height = rows
            self.styles.grid_size_columns = max(1, -(-len(keys) // rows))  # one per key
        else:
            self.styles.height = 1
        yield from keys


class TuneScreen(Screen[None]):
    """Change a parameter, warm up, run a burst, watch it, compare it with the baseline."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "warm_up", "Warm up"),
        Binding("b", "burst", "Burst"),
        Binding("r", "repeat", "Repeat"),
        Binding("a", "compare", "A/B"),
        Binding("s", "stop", "Stop"),
        Binding("m", "mark_baseline", "Baseline"),
        Binding("B", "baseline_by_number", "Baseline #", show=False),
        Binding("d", "diagnose", "Diagnose"),
        Binding("t", "sweep", "Sweep"),
        Binding("c", "connect", "Connect"),
        Binding("p", "profiles", "Profile"),
        Binding("e", "export", "Export"),
        Binding("f", "fleet", "Fleet processes", show=False),  # widgets/fleet_panel.py
        Binding("1", "jump('params')", "Panels", key_display="1-4"),
        *(Binding(key, f"jump({panel!r})", title, show=False) for key, panel, title in PANEL_KEYS),
        Binding("escape", "leave_field", "Leave the field"),
    ]
    # the actions a single key (a letter, a digit) runs: while an input field has focus the
    # key is typed there, so these leave the footer and the palette (check_action) and escape
    # leaves the field. Read off BINDINGS, so a key added there is covered.
    LETTER_ACTIONS: ClassVar[frozenset[str]] = frozenset(
        binding.action.split("(")[0]
        for binding in BINDINGS
        if isinstance(binding, Binding)
        and all(len(key.strip()) == 1 for key in binding.key.split(","))
    )
    #: what runs now: "warm-up", "burst", "comparison" or None; the keys follow (check_action)
    running: var[str | None] = var(None, init=False, bindings=True)
    #: the running burst was asked to stop (s again does nothing)
    stopping: var[bool] = var(False, init=False, bindings=True)
    # typed by Screen (whose annotation mypy reads as an instance variable's): not re-declared
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide"), (150, "-huge")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall"), (40, "-towering")]
    POLL_INTERVAL_S = 0.5
    SAMPLE_INTERVAL_S = 0.2

    def __init__(self) -> None:
        super().__init__()
        self._run_id = 0
        self._collector_held = False  # this screen holds core/load/collector (a run goes on)
        self._stop: threading.Event | None = None
        self._run_errors = 0
        self._burst_number = 0
        self._run_threads = 0
        self._elapsed = 0.0
        self._trouble = ""  # an outage or a stall the running burst reports now
        self._client_cpu_logged = False  # the running burst said its client is saturated
        self._duration = 0.0
        self._status_text: str | Text = ""
        self._series: Series | None = None  # the repeats running now
        self._ab: AbRuns | None = None  # the A/B comparison running now
        # why the target is known to be dead (a failed check, a run that lost the server), ""
        # when it is not: a run then tries it again first (_recheck)
        self._dead = ""
        self._rechecking = False
        self._last_param: Widget | None = None  # the control 1 focuses again
        self._wizard_memory: WizardMemory | None = None  # the wizard's answers, kept
        self._live: LivePanel | None = None
        self._status_line: Static | None = None

    @property
    def pooltui(self) -> PoolTuiApp:
        return cast("PoolTuiApp", self.app)

    @property
    def panel(self) -> ParamPanel:
        return self.query_one(ParamPanel)

    @property
    def events(self) -> EventLog:
        return self.query_one(EventLog)

    @property
    def live(self) -> LivePanel:
        """The live panel, looked up once (never recomposed): a sample's handler walked the
        DOM for it three times, and the status line once more."""
        if self._live is None:
            self._live = self.query_one(LivePanel)
        return self._live

    @property
    def status_line(self) -> Static:
        """The status line under the header, looked up once too."""
        if self._status_line is None:
            self._status_line = self.query_one("#status", Static)
        return self._status_line

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        app = self.pooltui
        yield Header()
        yield Static(id="status", markup=False)  # the whole width: at 80 columns it is not cut
        with Horizontal(id="main"):
            yield ParamPanel(
                app.profile.pool, app.profile.workload, app.session.target.facts, id="params"
            )
            with VerticalScroll(id="dash"):
                yield LivePanel(id="livepanel")
                yield FleetPanel(id="fleet")
                yield HistoryTable(id="history")
                yield EventLog(id="events")
        yield WrappingFooter()

    def on_mount(self) -> None:
        app = self.pooltui
        for selector, title in PANEL_TITLES:
            self.query_one(selector).border_title = title
        self.query_one(HistoryTable).key_hint = "2 "
        self._show_limits()
        self.query_one(HistoryTable).show(app.history)
        self.events.add("info", f"console opened on {app.session.target.redacted}")
        self._say_session_name(app.session.target)
        from pooltui.core.profiles import profile_misfits

        misfit = profile_misfits(app.profile, app.session.target)
        if misfit:
            self.events.add("warning", misfit)
            self.notify(misfit, title="Profile", severity="warning", timeout=15)
        self._show_status()
        self.set_interval(self.POLL_INTERVAL_S, self._poll)
        if app.check_target_on_start:
            self.check_target(app.session.target)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that cannot act now are shown disabled (None): no run starts beside another,
        only a running burst or comparison stops, a baseline needs a run, A/B a baseline.
        While an input field has focus its letters are typed there: the letter keys leave
        the footer (False) and escape, which leaves the field, is offered instead."""
        typing = self._typing()
        if action == "leave_field":
            return typing
        if typing and action in self.LETTER_ACTIONS:
            return False
        if action in ("warm_up", "burst", "repeat"):
            return None if self.running else True
        if action == "compare":
            return None if self.running or self.pooltui.history.baseline is None else True
        if action == "stop":
            stoppable = self.running in ("burst", "comparison")
            return True if stoppable and not self.stopping else None
        if action in ("mark_baseline", "details", "baseline_by_number", "note_run"):
            return True if len(self.pooltui.history) else None
        if action == "delete_run":
            return True if len(self.pooltui.history) and not self.running else None
        return True

    def _typing(self) -> bool:
        """An input field has focus: a letter typed now goes into it."""
        return isinstance(self.focused, Input | TextArea)

    def on_screen_suspend(self) -> None:
        """A modal on top shows its own footer: this one would show beneath it."""
        self.query_one(WrappingFooter).display = False

    def on_screen_resume(self) -> None:
        self.query_one(WrappingFooter).display = True

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        """Focus moved: the footer follows (an input field hides the letter keys)."""
        if self.panel in event.widget.ancestors:
            self._last_param = event.widget
        self.refresh_bindings()

    def action_jump(self, panel: str) -> None:
        """A panel's own key: focus it (its border turns heavy) and bring it into view."""
        params = self.panel
        if panel == "params":
            last = self._last_param
            target = last if last is not None and last.is_attached else params
            if target is params:
                target = params.query_one(Slider)
            target.focus()
        elif panel == "findings":
            params.focus()
            params.scroll_to_widget(params.query_one("#findings"), animate=False, top=True)
        else:
            widget = self.query_one(f"#{panel}")
            widget.focus()
            self.query_one("#dash", VerticalScroll).scroll_to_widget(widget, animate=False)

    def action_leave_field(self) -> None:
        """Escape in an input field: focus its panel, so the next letter is a key again."""
        if self._typing():
            self.panel.focus()

    def on_resize(self) -> None:
        """Below 100 columns the footer wraps and leaves ctrl+p to the header's icon."""
        footer = self.query_one(WrappingFooter)
        footer.show_command_palette = self.size.width >= 100
        footer.refresh(recompose=True)

    # --- status and gauges --------------------------------------------------------------------

    def _show_status(self, stats: PoolStats | None = None) -> None:
        """One line: what runs, or why nothing can, or what the next run will do (``stats``: the
        pool's snapshot when the caller has just taken one)."""
        panel, session = self.panel, self.pooltui.session
        text: str | Text
        if self.running == "burst":
            series = self._series
            running = (  # a series' line as short as a burst's: 80 columns show ~40
                f"repeat {series.done + 1}/{series.total} (#{self._burst_number})"
                if series
                else f"burst #{self._burst_number} running"
            )
            # the time runs on the live box's title, not here: a status line spanning the
            # screen repainted 5 times a second made every frame repaint the whole width
            stop = " · stopping…" if self.stopping else " · s stops"
            text = f"▶ {running}{self._trouble}{stop}"
            self.live.show_elapsed(f"{self._elapsed:.0f} / {self._duration:g} s")
        elif self.running == "comparison" and self._ab is not None:
            ab = self._ab
            text = (
                f"▶ A/B run {min(ab.done + 1, ab.total)}/{ab.total}"
                + self._trouble
                + (" · stopping…" if self.stopping else " · s stops")
            )
            self.live.show_elapsed(f"{self._elapsed:.0f} s")
        elif self.running:
            text = f"▶ {self.running}…"
        elif not panel.is_ok:
            error = panel.first_error()
            text = Text(
                f"✖ refused: {error.message if error else ''}",
                style=self.app.current_theme.error or "red",
            )
        elif self._dead:  # not "ready": the last try found nothing there
            text = Text(
                "✖ the target did not answer: w or b tries it again, c connects elsewhere",
                style=self.app.current_theme.error or "red",
            )
        elif session.pool is None:
            text = "ready · no pool yet: w warms up, b runs a burst"
        elif session.pool.closed:  # its process died (the run's failure said how)
            text = "ready · the pool's process ended: the next run builds a new pool"
        elif session.needs_build(panel.validation.requested):  # the controls, read once
            text = "ready · the parameters changed: the next run rebuilds the pool"
        else:
            if stats is None:
                stats = session.pool.snapshot(timings=False)
            opened = stats.open  # 0 after a dead server: say so, not "open"
            # the count first: at 80 columns the line is cut after ~40 characters
            text = (
                f"ready · {opened} connection{'' if opened == 1 else 's'} open · w warms "
                f"up, b runs a burst · pool {session.pool.tag}"
            )
        if text != self._status_text:  # one fixed row: no layout pass needed
            self._status_text = text
            self.status_line.update(text, layout=False)

    def _show_limits(self) -> None:
        effective = self.panel.validation.effective
        self._show_stats(
            PoolStats(
                maxconnections=effective.maxconnections,
                maxcached=effective.maxcached,
                maxshared=effective.maxshared,
            ),
            self.panel.workload.threads,
        )

    def _show_stats(self, stats: PoolStats, threads: int, *, running: bool = False) -> None:
        self.live.show_stats(stats, threads, self._run_errors, running=running)

    def _poll(self) -> None:
        """Between runs: the pool as it is now (a lock-free read, it never blocks)."""
        pool = self.pooltui.session.pool
        if self.running not in ("burst", "comparison") and pool is not None:
            stats = pool.snapshot(timings=False)  # only gauges and counters are drawn
            self._show_stats(stats, self.panel.workload.threads)
            self._show_status(stats)  # its count of open connections, too

    @on(ParamPanel.Changed)
    def _params_changed(self, event: ParamPanel.Changed) -> None:
        if self.pooltui.session.pool is None and not self.running:
            self._show_limits()
        self._show_status()

    # --- actions ------------------------------------------------------------------------------

    def _can_start(self, what: str) -> bool:
        """Nothing else runs (the key is disabled then) and the configuration is accepted."""
        if self.running:
            return False
        panel = self.panel
        if not panel.is_ok:
            error = panel.first_error()
            message = error.message if error else "the configuration is refused"
            self.notify(f"Cannot {what}: {message}", severity="error", timeout=8)
            return False
        return True

    def watch_running(self, _before: str | None, now: str | None) -> None:
        """No full pass of the garbage collector over the console's heap while a run is
        measured: one took 100 ms of the UI thread in a 5 s burst (core/load/collector)."""
        self._hold_collector(now is not None)

    def _hold_collector(self, hold: bool) -> None:
        """Hold the collector once while a run goes on; give it back when it ends or the
        screen goes (quitting mid-run left it held for the rest of the process)."""
        if hold and not self._collector_held:
            collector.hold()
        elif not hold and self._collector_held:
            collector.release()
        self._collector_held = hold

    def _start(self, what: str) -> int:
        self._run_id += 1
        self.stopping = False
        # the last run's client-CPU note (and one held for its next second) goes with it
        self.live.show_client_cpu(None)
        self.running = what
        self._show_status()
        return self._run_id

    def _finish(self) -> None:
        self.live.show_elapsed("")  # the box's title says a run goes on
        self.running = None
        self.stopping = False
        self._stop = None
        self._series = None
        self._ab = None
        self._show_status()

    def _recheck(self, action: str) -> bool:
        """A target known to be dead is tried again before ``action`` runs (True: wait for the
        answer, TargetRechecked runs the action if the target answers now)."""
        if not self._dead:
            return False
        if not self._rechecking:
            self._rechecking = True
            target = self.pooltui.session.target
            self.events.add("info", f"{target.redacted} did not answer last time: trying it again")
            self._try_target(target, action)
        return True

    @work(thread=True, exit_on_error=False, group="check")
    def _try_target(self, target: Target, action: str) -> None:
        """One connect, closed at once: does the target answer now?"""
        try:
            target.connect(timeout_s=RECHECK_TIMEOUT_S).close()
        except Exception as error:
            self.post_message(TargetRechecked(target, describe_db_error(error, target), action))
        else:
            self.post_message(TargetRechecked(target, None, action))

    @on(TargetRechecked)
    def _target_rechecked(self, message: TargetRechecked) -> None:
        self._rechecking = False
        if message.target is not self.pooltui.session.target:
            return
        if message.error is not None:
            self._dead = message.error
            # the error names the host and port; the DSN is in the title: a toast at 80
            # columns broke it mid-word and ran its sentence into the error's
            sentence = f"Still no answer, so no run started. {message.error}"
            self.events.add("error", sentence)
            self.notify(sentence, title="Target down", severity="error", timeout=10)
            return
        self._dead = ""
        self.events.add("connected", f"{message.target.redacted} answers again")
        getattr(self, f"action_{message.action}")()

    def _note_dead(self, why: str) -> None:
        """The target did not answer: the next run tries it again before it starts."""
        self._dead = why or "it did not answer"
        self._show_status()

    def action_warm_up(self) -> None:
        if not self._can_start("warm up") or self._recheck("warm_up"):
            return
        config = self.panel.config
        rebuild = self.pooltui.session.needs_build(config)
        run_id = self._start("warm-up")
        self.events.add("info", "warming up" + (": building the pool" if rebuild else ""))
        self._warm_up(run_id, config)

    def action_burst(self) -> None:
        if not self._can_start("start a burst") or self._recheck("burst"):
            return
        self._start_burst(self.panel.config, self.panel.workload)

    def action_repeat(self) -> None:
        """Run the current configuration ``repeats`` times; the runs form one group (joining
        the newest run's when it ran this configuration to its end)."""
        if not self._can_start("repeat the configuration") or self._recheck("repeat"):
            return
        session, panel = self.pooltui.session, self.panel
        config, workload, total = panel.config, panel.workload, panel.repeats
        processes = self.query_one(FleetPanel).processes  # a fleet's repeats join a fleet's
        joins = self.pooltui.history.repeatable(
            config, workload, session.target.redacted, processes
        )
        self._series = Series(config, workload, total, joins)
        self.events.add(
            "info",
            f"repeating the configuration {total} time{'s' if total != 1 else ''}"
            + (f", with run #{joins}" if joins is not None else ""),
        )
        self._start_burst(config, workload)

    def _start_burst(self, config: PoolConfig, workload: Workload) -> None:
        """One burst (a plain one, or the next of a series) through the one burst worker."""
        session = self.pooltui.session
        self._stop = session.start_run()
        self._run_errors, self._elapsed, self._trouble = 0, 0.0, ""
        self._client_cpu_logged = False
        self._run_threads, self._duration = workload.threads, workload.duration_s
        self.live.clear_plots()
        run_id = self._start("burst")
        rebuild = " (building the pool)" if session.needs_build(config) else ""
        self._burst_number = self.pooltui.history.next_number
        series = self._series
        self.events.add(
            "info",
            f"burst #{self._burst_number} started"
            + (f" (repeat {series.done + 1} of {series.total})" if series else "")
            + f": {count(workload.threads, 'thread')}, {workload.duration_s:g} s{rebuild}",
        )
        processes = self.query_one(FleetPanel).processes
        if processes > 1:
            self._fleet_burst(run_id, config, workload, self._stop, processes)
            return
        self._burst(run_id, config, workload, self._stop, warm=series is not None)

    def action_compare(self) -> None:
        """A/B: the baseline's configuration (A) against the sliders' (B), alternated A/B/B/A
        for ``repeats`` rounds on two warm pools of their own; every figure gets a verdict."""
        if not self._can_start("compare with the baseline") or self._recheck("compare"):
            return
        session, panel, history = self.pooltui.session, self.panel, self.pooltui.history
        base = history.baseline_group()
        if base is None:  # the key is disabled without a baseline
            return
        if base.target != session.target.redacted:
            self.notify(
                f"The baseline ran on {base.target}: connect there (c), or mark a run on "
                f"{session.target.redacted} as the baseline (m).",
                title="Cannot compare",
                severity="warning",
                timeout=10,
            )
            return
        rounds = panel.repeats
        sides = {
            "A": Side(base.config, base.workload, f"baseline {base.numbers()}"),
            "B": Side(panel.config, panel.workload, "the sliders"),
        }
        self._ab = AbRuns(sides, base.number, total=len(ROUND) * rounds)
        self._stop = session.start_run()
        self._run_errors, self._elapsed, self._trouble = 0, 0.0, ""
        self._run_threads = max(side.workload.threads for side in sides.values())
        self.live.clear_plots()
        run_id = self._start("comparison")
        b_changes = describe_changes(base, panel.config, panel.workload, base.target)
        self.events.add(
            "info",
            f"A/B started: A = baseline {base.numbers()}, B = the sliders ({b_changes}); "
            f"{rounds} round{'s' if rounds != 1 else ''} of A/B/B/A, {len(ROUND) * rounds} "
            "runs on two pools of their own",
        )
        self._compare(run_id, sides, rounds, self._stop)

    def action_stop(self) -> None:
        """Stop the running burst (and the series it is part of) or comparison (the key is
        disabled when neither runs)."""
        stoppable = self.running in ("burst", "comparison")
        if not stoppable or self._stop is None or self.stopping:
            return
        self._stop.set()
        self.stopping = True
        what = (
            "the A/B comparison"
            if self.running == "comparison"
            else "the repeats"
            if self._series
            else "the burst"
        )
        self.events.add("stopped", f"stopping {what}…")
        self._show_status()

    def action_mark_baseline(self) -> None:
        history, table = self.pooltui.history, self.query_one(HistoryTable)
        number = table.selected_number
        if number is None:  # no run yet: the key is disabled
            return
        group = history.group(number)
        what = f"run #{number}" if group is None or group.n == 1 else f"runs {group.numbers()}"
        if history.baseline == number:
            history.mark_baseline(None)
            self.events.add("info", f"{what} no longer the baseline")
        else:
            history.mark_baseline(number)
            self.events.add("info", f"{what} the baseline")
        table.show(history)

    def action_baseline_by_number(self) -> None:
        """Type the number of the run whose group becomes the baseline (0 or empty: none)."""
        from pooltui.tui.screens.prompt import PromptScreen

        history = self.pooltui.history

        def check(text: str) -> str:
            text = text.strip().lstrip("#")
            if text in ("", "0"):
                return ""
            if not text.isdigit() or history.get(int(text)) is None:
                numbers = ", ".join(f"#{r.number}" for r in history.records[-8:])
                return f"There is no run {text}: type one of the runs ({numbers}), or 0 for none."
            return ""

        def chosen(text: str | None) -> None:
            if text is None:
                return
            text = text.strip().lstrip("#")
            number = int(text) if text.isdigit() and int(text) else None
            history.mark_baseline(number)
            table = self.query_one(HistoryTable)
            table.show(history)
            if number is None:
                self.events.add("info", "no baseline")
                return
            table.move_to(history.baseline or number)
            group = history.baseline_group()
            self.events.add("info", f"runs {group.numbers() if group else number} the baseline")

        current = history.baseline
        self.app.push_screen(
            PromptScreen(
                "The number of the run to compare every run with (0: no baseline)",
                str(current or ""),
                title="Baseline",
                placeholder="run number, e.g. 3",
                check=check,
            ),
            chosen,
        )

    def action_note_run(self) -> None:
        """Write a note on the selected run's row (kept with the run; empty removes it)."""
        from pooltui.tui.screens.prompt import PromptScreen

        history, table = self.pooltui.history, self.query_one(HistoryTable)
        number = table.selected_number
        group = history.group(number) if number is not None else None
        if group is None:
            return

        def written(text: str | None) -> None:
            if text is None:
                return
            history.annotate(group.number, text)
            table.show(history)
            note = history.note(group.number)
            self.events.add(
                "info",
                f"note on {group.numbers()}: {note}"
                if note
                else f"note on {group.numbers()} removed",
            )

        self.app.push_screen(
            PromptScreen(
                f"A note on run {group.numbers()}",
                history.note(group),
                title="Note",
                placeholder="e.g. after the index change",
            ),
            written,
        )

    def action_delete_run(self) -> None:
        """Delete the selected row (all its repeats) after a confirmation; numbers stay."""
        from pooltui.tui.screens.confirm import ConfirmScreen

        history, table = self.pooltui.history, self.query_one(HistoryTable)
        number = table.selected_number
        group = history.group(number) if number is not None else None
        if group is None or self.running:
            return
        runs = "run" if group.n == 1 else f"the {group.n} runs"

        def answered(yes: bool | None) -> None:
            if not yes or self.running:
                return
            removed = history.remove(group.number)
            table.show(history)
            if removed:
                self.events.add("info", f"deleted {runs} {group.numbers()} from the history")

        base = (
            " It is the baseline: there will be none." if history.baseline == group.number else ""
        )
        self.app.push_screen(
            ConfirmScreen(
                f"Delete {runs} {group.numbers()} from the history for good?{base}",
                yes="Delete",
                title="Delete runs",
            ),
            answered,
        )

    def action_details(self) -> None:
        """The selected row's details (enter on the table; the palette's "Run details")."""
        number = self.query_one(HistoryTable).selected_number
        group = self.pooltui.history.group(number) if number is not None else None
        if group is not None:
            self.show_details(group)

    @on(DataTable.RowSelected, "#history")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        group = self.pooltui.history.group(int(event.row_key.value or 0))
        if group is not None:
            self.show_details(group)

    def load_config(self, config: PoolConfig, workload: Workload, why: str) -> None:
        """Put a configuration (a profile, a past run) into the sliders."""
        self.panel.load(config, workload)
        self.events.add("info", why)

    def target_changed(self, target: Target) -> None:
        """The console switched targets: the same values may mean something else there."""
        self._dead = ""
        self._show_status()
        self.panel.set_facts(target.facts)
        self.events.add("connected", f"now on {target.redacted}")
        self._say_session_name(target)
        self._restart_counters()

    def _say_session_name(self, target: Target) -> None:
        """The DSN names its sessions: say that the name is kept, before pooltui's tag."""
        name = target.session_name
        if name:
            tag = target.session_tag("pooltui-<pid>-<n>")
            self.events.add("info", f"the DSN's session name {name} is kept: the server sees {tag}")

    def _restart_counters(self) -> None:
        """A new pool (built, or none yet on a new target): every counter the console shows
        is that pool's, so the errors of the last pool's run go too (the pool's own counters
        start at zero with it)."""
        self._run_errors = 0
        pool = self.pooltui.session.pool
        if pool is None:
            self._show_limits()
        else:
            self._show_stats(pool.snapshot(), self.panel.workload.threads)

    # --- the modal screens (they open on top of this screen only: their keys are its own) ----

    def current_profile(self) -> Profile:
        """What the console would save or export now: the sliders under the profile's name."""
        app, panel = self.pooltui, self.panel
        return Profile(
            name=app.profile.name,
            description=app.profile.description,
            dsn=app.dsn,
            pool=panel.config,
            workload=panel.workload,
        )

    def show_details(self, group: RunGroup) -> None:
        """A row's figures, repeats and configuration; its "load" puts that configuration back."""
        from pooltui.tui.screens.run_details import RunDetailsScreen

        def closed(load: bool | None) -> None:
            if load:
                self.load_config(
                    group.config, group.workload, f"loaded run #{group.number}'s configuration"
                )

        self.app.push_screen(RunDetailsScreen(self.pooltui.history, group), closed)

    def action_connect(self) -> None:
        from pooltui.tui.screens.connect import ConnectScreen

        if self.running:
            self.notify("Stop the run before connecting elsewhere (press s).", severity="warning")
            return
        screen = ConnectScreen()
        self.app.push_screen(screen, lambda target: self._connected(target, screen.report))

    def _connected(self, target: Target | None, report: checks.CheckReport | None) -> None:
        if target is None or self.running:
            return
        old_pool = self.pooltui.use_target(target)
        self.target_changed(target)
        if old_pool is not None:
            self._close_pool(old_pool)
        if report is not None and report.target == target.redacted:  # the screen just checked it
            self.post_message(TargetChecked(target, report))
        else:
            self.check_target(target)

    def action_profiles(self) -> None:
        from pooltui.core.profiles import profile_misfits
        from pooltui.tui.screens.confirm import ConfirmScreen
        from pooltui.tui.screens.profiles import ProfilesScreen

        def load(profile: Profile, misfit: str) -> None:
            self.pooltui.use_profile(profile)
            self.load_config(
                profile.pool, profile.workload, f"profile {profile.name} loaded into the sliders"
            )
            if misfit:
                self.events.add("warning", misfit)

        def chosen(profile: Profile | None) -> None:
            if profile is None:
                return
            misfit = profile_misfits(profile, self.pooltui.session.target)
            if not misfit:
                load(profile, "")
                return
            self.app.push_screen(
                ConfirmScreen(
                    f"{misfit} Load it into the sliders anyway?", yes="Load", title="Profile"
                ),
                lambda yes: load(profile, misfit) if yes else None,
            )

        self.app.push_screen(ProfilesScreen(self.current_profile()), chosen)

    def action_diagnose(self) -> None:
        """The wizard: measure, ask, recommend, verify; "apply" moves the sliders."""
        from pooltui.tui.screens.wizard import WizardScreen

        if self.running:
            self.notify(
                "Stop the run before diagnosing (press s): the wizard runs its own bursts.",
                severity="warning",
            )
            return
        panel = self.panel

        screen = WizardScreen(
            self.pooltui.session.target,
            panel.config,
            panel.workload,
            remembered=self._wizard_memory,
        )

        def applied(recommendation: Recommendation | None) -> None:
            self._wizard_memory = screen.memory  # the answers given, for the next time
            if recommendation is None:
                return
            workload, verified = self.panel.workload, screen.applied_workload
            why = "the wizard's recommendation is in the sliders"
            if verified is not None:  # the verification's load, so a burst reproduces it
                workload = replace(
                    workload,
                    threads=verified.threads,
                    pattern=verified.pattern,
                    rate=verified.rate,
                    hold_ms=verified.hold_ms,
                    query=verified.query,
                )
                why += (
                    f", with the load verify used ({verified.threads} threads, "
                    f"{verified.pattern} {rate(verified.rate)}, hold {ms(verified.hold_ms)})"
                )
            self.load_config(recommendation.config, workload, why)

        self.app.push_screen(screen, applied)

    def action_sweep(self) -> None:
        """pooltui tune in the console (tui/screens/sweep.py); "apply" moves the sliders."""
        from pooltui.tui.screens.sweep import SweepScreen

        if self.running:
            self.notify("Stop the run before tuning (press s): the sweep runs its own pools.")
            return

        def applied(winner: tuple[PoolConfig, Workload] | None) -> None:
            if winner is not None:
                self.load_config(*winner, "the tune's winner is in the sliders")

        panel = self.panel
        self.app.push_screen(
            SweepScreen(self.pooltui.session.target, panel.config, panel.workload), applied
        )

    def action_export(self) -> None:
        from pooltui.core.history_store import stored_runs
        from pooltui.tui.screens.export import ExportScreen

        self.app.push_screen(
            ExportScreen(
                self.current_profile(),
                self.pooltui.session.target,
                runs=stored_runs(self.pooltui.history),
            )
        )

    # --- the target and the old pools, in workers ---------------------------------------------

    @work(thread=True, exit_on_error=False, group="check")
    def check_target(self, target: Target) -> None:
        """Connect, time a query, read the server's limits: an unreachable server says so."""
        try:
            report = checks.check_target(target)
        except Exception as error:
            self.post_message(TargetCheckFailed(describe_db_error(error, target), target))
        else:
            self.post_message(TargetChecked(target, report))

    @work(thread=True, exit_on_error=False, group="pool-close")
    def _close_pool(self, pool: HostedPool) -> None:
        """Closing may wait for a connect in progress: never on the UI thread."""
        try:
            pool.close()
        finally:
            self.post_message(PoolClosed())

    @on(TargetChecked)
    def _target_checked(self, message: TargetChecked) -> None:
        if message.target is not self.pooltui.session.target:
            return
        self._dead = ""
        self._show_status()
        report = message.report
        limit = report.server.max_connections
        self.events.add(
            "connected",
            f"{report.server.described}: connect "
            f"{ms(report.latencies.connect_ms)}, query {ms(report.latencies.query_ms)}"
            + (f", max_connections {limit}" if limit else ""),
        )

    @on(TargetCheckFailed)
    def _target_failed(self, message: TargetCheckFailed) -> None:
        if message.target is None or message.target is self.pooltui.session.target:
            self._note_dead(message.error)
        self.events.add("error", message.error)
        self.notify(message.error, title="Cannot use the target", severity="error", timeout=10)

    @on(PoolClosed)
    def _pool_closed(self, message: PoolClosed) -> None:
        self.events.add("info", "the previous pool is closed")

    # --- workers (never touch a widget: post a message) ---------------------------------------

    def _pool_event(self, event: PoolEvent) -> None:
        """The pool's callback, from any thread."""
        self.post_message(PoolEventOccurred(event.kind, event.message))

    def _ensure_pool(self, config: PoolConfig, *, warm: bool = False) -> HostedPool:
        """The session's pool for ``config``; ``warm``: one built now is warmed up first."""
        pool, built = self.pooltui.session.ensure(config, self._pool_event)
        if built:
            self.post_message(PoolBuilt(pool.tag))
            if warm:
                pool.warm_up()
        return pool

    @work(thread=True, exit_on_error=False, group="pool-work")
    def _warm_up(self, run_id: int, config: PoolConfig) -> None:

        try:
            result = self._ensure_pool(config).warm_up()
        except Exception as error:
            target = self.pooltui.session.target
            self.post_message(
                WarmupFailed(run_id, describe_db_error(error, target), unreachable(error))
            )
        else:
            self.post_message(WarmupFinished(run_id, result))

    @work(thread=True, exit_on_error=False, group="pool-work")
    def _burst(
        self,
        run_id: int,
        config: PoolConfig,
        workload: Workload,
        stop: threading.Event,
        *,
        warm: bool = False,
    ) -> None:
        """``warm``: a pool built for this run is warmed up first (a repeat must not measure
        the connects a fresh pool makes when the others ran warm)."""

        def on_sample(sample: engine.Sample) -> None:
            self.post_message(StatsSampled(run_id, sample))

        # the run's threads are in the pool's own process (core/host): the console's drawing
        # and its collections no longer take the GIL from them
        try:
            pool = self._ensure_pool(config, warm=warm)
            refuse_beyond_capacity(pool, workload)
            result = pool.run(
                workload, stop=stop, on_sample=on_sample, sample_interval_s=self.SAMPLE_INTERVAL_S
            )
        except Exception as error:
            target = self.pooltui.session.target
            self.post_message(
                BurstFailed(run_id, describe_db_error(error, target), unreachable(error))
            )
        else:
            self.post_message(BurstFinished(run_id, config, workload, result))

    @work(thread=True, exit_on_error=False, group="pool-work")
    def _fleet_burst(
        self,
        run_id: int,
        config: PoolConfig,
        workload: Workload,
        stop: threading.Event,
        processes: int,
    ) -> None:
        """A burst in ``processes`` spawned processes, each with its own pool (core/fleet):
        refused first when the server cannot hold them; the merged result is the history's."""
        from pooltui.core.fleet import FleetSample, run_fleet
        from pooltui.core.probes import probe_server

        target = self.pooltui.session.target

        def on_sample(sample: FleetSample) -> None:
            self.post_message(FleetSampled(run_id, sample))

        try:
            server = probe_server(target)
            problem = checks.capacity_problem(server, config, workload, target, processes=processes)
            if problem:
                raise BadInput(problem)
            fleet = run_fleet(
                target,
                config,
                workload,
                processes,
                stop=stop,
                on_sample=on_sample,
                sample_interval_s=self.POLL_INTERVAL_S,
                server=server,
                quiet=True,
            )
        except (OSError, RuntimeError) as error:  # spawning: no process could start
            self.post_message(
                BurstFailed(run_id, f"The fleet's processes could not start: {error}.")
            )
            return
        except Exception as error:
            self.post_message(BurstFailed(run_id, describe_db_error(error, target)))
            return
        self.post_message(FleetFinished(run_id, fleet))
        if fleet.result is None:
            self.post_message(BurstFailed(run_id, fleet.fatal_error or "no process ran"))
        else:
            self.post_message(BurstFinished(run_id, config, workload, fleet.result))

    def action_fleet(self) -> None:
        """Show or hide the fleet panel: with it shown, bursts run in its processes."""
        fleet = self.query_one(FleetPanel)
        shown = fleet.toggle()
        # its one control takes the focus (the next arrow key sets the processes, not a pool
        # slider); hidden, it hands the focus back to the parameters
        if shown:
            self.call_after_refresh(fleet.query_one("#processes", Slider).focus)
        elif self.focused is not None and fleet in self.focused.ancestors_with_self:
            self.panel.focus()
        self.events.add(
            "info",
            "fleet shown: bursts run in the processes it sets, each with its own pool"
            if shown
            else "fleet hidden: bursts run in the console's own pool",
        )

    @on(FleetSampled)
    def _fleet_sampled(self, message: FleetSampled) -> None:
        if message.run_id == self._run_id:
            self.query_one(FleetPanel).show_sample(message.sample)

    @on(FleetFinished)
    def _fleet_finished(self, message: FleetFinished) -> None:
        if message.run_id != self._run_id:
            return
        fleet = message.fleet
        self.query_one(FleetPanel).show_result(fleet)
        for failed in fleet.failed:
            self.events.add("run_failed", f"fleet {failed.name}: {failed.error}")
        for event in fleet.events:
            self.events.add("info", event)
        self.events.add("info", f"fleet of {fleet.size}: {fleet.left.sentence()}")

    @work(thread=True, exit_on_error=False, group="pool-work")
    def _compare(
        self, run_id: int, sides: dict[str, Side], rounds: int, stop: threading.Event
    ) -> None:
        """The comparison's runner builds, warms and closes its own two pools, in a process
        of its own (core/host/job.py) as the bursts beside it in the Runs table ran."""
        session = self.pooltui.session

        def on_report(kind: str, payload: Any) -> None:
            if kind == "progress":
                self.post_message(ComparisonRunFinished(run_id, payload))
            elif kind == "sample":
                _side, sample = payload
                self.post_message(StatsSampled(run_id, sample))

        try:
            comparison = run_hosted(
                hosted_comparison,
                session.target,
                sides["A"],
                sides["B"],
                rounds,
                session.leak_threshold_s,
                stop=stop,
                on_report=on_report,
            )
        except Exception as error:
            self.post_message(ComparisonFailed(run_id, describe_db_error(error, session.target)))
        else:
            self.post_message(ComparisonFinished(run_id, comparison))

    # --- what the workers report --------------------------------------------------------------

    @on(PoolBuilt)
    def _pool_built(self, message: PoolBuilt) -> None:
        self.events.add("pool_built", f"pool {message.tag} built")
        if self.running != "burst":  # a burst restarted them itself and its samples follow
            self._restart_counters()

    @on(PoolEventOccurred)
    def _pool_event_occurred(self, message: PoolEventOccurred) -> None:
        if message.kind not in OWN_EVENTS:
            self.events.add(message.kind, message.message)

    @on(WarmupFinished)
    def _warm_up_finished(self, message: WarmupFinished) -> None:
        if message.run_id == self._run_id:
            self._finish()
            self._poll()

    @on(WarmupFailed)
    def _warm_up_failed(self, message: WarmupFailed) -> None:
        if message.run_id == self._run_id:
            self._finish()
            if message.unreachable:
                self._note_dead(message.error)
            self.events.add("warmup_failed", f"warm-up failed: {message.error}")
            self.notify(message.error, title="Warm-up failed", severity="error", timeout=10)

    @on(StatsSampled)
    def _sampled(self, message: StatsSampled) -> None:
        if message.run_id != self._run_id or self.running not in ("burst", "comparison"):
            return
        sample = message.sample
        self._run_errors = sample.errors  # a running total: coalesced samples lose nothing
        self._elapsed = sample.elapsed_s
        self._note_trouble(sample)
        with self.app.batch_update():
            self._note_client_cpu(sample)
            self._show_stats(sample.stats, self._run_threads, running=not sample.final)
            live = self.live
            if plottable(sample, self.SAMPLE_INTERVAL_S):
                # an interval in which nothing completed has no latency: a gap on the plots
                # and "-" in their headers, not a 0.00 ms that reads as instant (a stall)
                ended = sample.interval_requests > 0
                live.push(
                    sample.throughput_rps,
                    sample.p95_ms if ended else None,
                    sample.p95_acquire_ms if ended or sample.p95_acquire_ms else None,
                    sample.stats.waiting,
                )
            if sample.final:
                live.flush_plots()
            self._show_status()

    def _note_client_cpu(self, sample: engine.Sample) -> None:
        """The client's own CPU at its ceiling, live: on the plots while it lasts, in the log
        the first time in a run (the run's note says it for the whole run at the end)."""
        if sample.final:  # its CPU interval includes the end of the run
            return
        saturated = sample.client_saturated
        self.live.show_client_cpu(sample.client_cores if saturated else None, live=True)
        if saturated and not self._client_cpu_logged:
            self._client_cpu_logged = True
            self.events.add(
                "warning",
                f"the client uses {figure(sample.client_cores, 'cores')} cores of CPU: the client, "
                "not the pool, may set this run's ceiling",
            )

    def _note_trouble(self, sample: engine.Sample) -> None:
        """An outage or a stall, live: in the status line while it lasts, in the log when it
        begins and ends."""
        if sample.outage_s:
            trouble = f" · server unreachable {sample.outage_s:.1f} s, retrying"
        elif sample.stalled_s:
            trouble = f" · nothing completed for {sample.stalled_s:.1f} s"
        else:
            trouble = ""
        began, ended = trouble and not self._trouble, self._trouble and not trouble
        if began:
            self.events.add(
                "error",
                trouble.removeprefix(" · ")
                + (
                    " (backing off)" if sample.outage_s else ": the server may be frozen or blocked"
                ),
            )
        elif ended:
            self.events.add("info", "requests complete again")
        self._trouble = trouble

    @on(BurstFinished)
    def _burst_finished(self, message: BurstFinished) -> None:
        if message.run_id != self._run_id:
            return
        result = message.result
        history = self.pooltui.history
        series = self._series
        whole = not result.stopped and not result.fatal_error  # a run cut short is no repeat
        lost = result.outages[-1] if result.outages else None
        if lost is not None and lost.ended_s is None:  # the server was gone at the end
            self._note_dead(lost.error)
        elif result.requests > result.errors:
            self._dead = ""
        joins = series.group if series is not None and whole else None
        joined = history.get(joins) if joins is not None else None
        if joined is not None and not joined.same_setup(
            message.config, message.workload, result.target, result.processes
        ):  # a fleet that lost a process ran in fewer: a group of its own, not a repeat
            joins = None
        record = history.add(message.config, message.workload, result, repeats=joins)
        self._run_errors = result.errors
        going_on = series is not None and self._series_goes_on(series, record, whole)
        if not going_on:
            self._finish()
        self._show_stats(result.pool, message.workload.threads)
        table = self.query_one(HistoryTable)
        table.show(history)
        table.move_to(record.group)
        log = self.events
        log.add(
            "run_finished",
            f"run #{record.number} finished: {rate(result.throughput_rps, ' req/s')}, "
            f"p95 {ms(result.latency.p95)}, {count(result.errors, 'error')}",
        )
        if result.error_kinds:
            kinds = ", ".join(
                f"{explain_error_kind(k)} ×{n:,}"  # noqa: RUF001
                for k, n in sorted(result.error_kinds.items())
            )
            log.add("run_errors", f"run #{record.number} errors: {kinds}")
        for kind, line in zip(result.event_kinds, result.events, strict=True):
            log.add(kind, line)  # a run note's kind (core.load.notes.RunNote) is a warning
        for advice in run_findings(result):  # starvation, the pool lock: what the run showed
            log.add("warning", f"run #{record.number}: {advice.message}")
        self._trouble = ""
        client = result.client  # the plots now show the whole run: so do their headers
        live = self.live
        live.show_client_cpu(client.cores if client.saturated else None)
        live.show_run(  # a run in which nothing completed has no p95: its last sample's "-"
            result.throughput_rps,
            result.latency.p95 if result.latency.count else None,
            result.acquire.p95 if result.acquire.count else None,
        )
        unrecovered = next((o for o in result.outages if o.ended_s is None), None)
        if result.fatal_error:
            self.notify(
                result.fatal_error,
                title=f"Run #{record.number} failed",
                severity="error",
                timeout=10,
            )
        elif unrecovered is not None:
            self.notify(
                f"The server was unreachable from {unrecovered.started_s:.1f} s to the "
                f"end of the run: {unrecovered.error}",
                title=f"Run #{record.number}: server unreachable",
                severity="error",
                timeout=10,
            )
        if series is not None and going_on:
            self._start_burst(series.config, series.workload)
        else:
            self._ended(record, series)

    def _series_goes_on(self, series: Series, record: RunRecord, whole: bool) -> bool:
        """Count a finished repeat in; True when the series runs another one (not after a stop,
        a run cut short, the last one, or once the console is quitting)."""
        if whole and series.group is None:
            series.group = record.number
        series.done += 1
        going_on = series.done < series.total and not self.stopping
        return whole and going_on and not self.pooltui.quitting

    def _ended(self, record: RunRecord, series: Series | None) -> None:
        """A burst or a series is over: the group's band, and the baseline sentence when it
        ran the baseline's exact setup."""
        history = self.pooltui.history
        group = history.group(record.number)
        if group is None:
            return
        if series is not None:
            ran = series.done
            if ran < series.total:
                self.events.add("stopped", f"repeats ended after {ran} of {series.total} runs")
            if group.n > 1:
                self.events.add("run_finished", group.describe())
        note = history.same_as_baseline(group)
        if note is not None:
            self.events.add("info", note)

    @on(ComparisonRunFinished)
    def _comparison_run_finished(self, message: ComparisonRunFinished) -> None:
        """An A or B run is in: a run of its side's group (a run cut short stands alone)."""
        ab = self._ab
        if message.run_id != self._run_id or ab is None:
            return
        done, history = message.done, self.pooltui.history
        result, side = done.result, ab.sides[done.side]
        whole = not result.stopped and not result.fatal_error
        record = history.add(
            side.config,
            side.workload,
            result,
            repeats=ab.groups.get(done.side) if whole else None,
        )
        if whole:
            ab.groups.setdefault(done.side, record.number)
        ab.numbers.append(record.number)
        ab.done = done.index
        self._run_errors = result.errors
        table = self.query_one(HistoryTable)
        table.show(history)
        table.move_to(record.group)
        self.events.add(
            "run_finished",
            f"A/B run {done.index}/{done.total} ({done.side}) is run #{record.number}: "
            f"{rate(result.throughput_rps, ' req/s')}, p95 {ms(result.latency.p95)}, "
            f"{count(result.errors, 'error')}",
        )
        self._show_status()

    @on(ComparisonFinished)
    def _comparison_finished(self, message: ComparisonFinished) -> None:
        ab = self._ab
        if message.run_id != self._run_id or ab is None:
            return
        comparison, history = message.comparison, self.pooltui.history
        outcome = comparison.outcome
        history.add_comparison(comparison, ab.numbers)
        self._finish()
        self.query_one(HistoryTable).show(history)
        log = self.events
        log.add("run_finished", verdicts_line(comparison))
        log.add("info" if not outcome.left_open else "error", f"A/B: {outcome.closed_sentence()}")
        if outcome.fatal_error:
            log.add("run_failed", f"A/B ended on a failed run: {outcome.fatal_error}")
            self.notify(outcome.fatal_error, title="A/B failed", severity="error", timeout=10)
        if outcome.stopped:
            log.add("stopped", f"A/B stopped after {len(comparison.runs)} of {ab.total} runs")
        b_group = ab.groups.get("B")
        group = history.group(b_group) if b_group is not None else None
        if group is not None and comparison.differences and self.app.screen is self:
            self.show_details(group)

    @on(ComparisonFailed)
    def _comparison_failed(self, message: ComparisonFailed) -> None:
        if message.run_id != self._run_id:
            return
        self._finish()
        self.events.add("run_failed", f"A/B could not run: {message.error}")
        self.notify(message.error, title="A/B failed", severity="error", timeout=10)

    @on(BurstFailed)
    def _burst_failed(self, message: BurstFailed) -> None:
        if message.run_id != self._run_id:
            return
        self._finish()
        if message.unreachable:
            self._note_dead(message.error)
        self.events.add("run_failed", f"burst failed: {message.error}")
        self.notify(message.error, title="Burst failed", severity="error", timeout=10)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A bug in a worker must not leave the screen thinking a run is still going."""
        if event.state == WorkerState.ERROR and event.worker.group == "pool-work":
            error = event.worker.error
            self._finish()
            self.events.add("error", f"internal error: {type(error).__name__}")
            self.notify(
                f"The run stopped on an internal error ({type(error).__name__}).", severity="error"
            )

    def on_unmount(self) -> None:
        self.pooltui.session.stop_runs()
        self._hold_collector(False)
