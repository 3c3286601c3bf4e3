"""The console: the app object, the session it holds (target, pool, history) and its entry point.

The app owns what outlives a screen: the target, the one pool built from the sliders, the run
history and the profile. The tune screen does the work; the app makes sure that quitting stops
the burst, waits for the worker and closes every connection, however the console is left.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.widgets import Input

from pooltui.core import checks
from pooltui.core.config import PoolConfig
from pooltui.core.diagnosis.recommend import Recommendation
from pooltui.core.errors import PooltuiError, RunFailed, describe_db_error
from pooltui.core.history import RunHistory, RunRecord
from pooltui.core.pool import InstrumentedPool, PoolEvent
from pooltui.core.profiles import Profile, find_profile, load_profile, strip_password
from pooltui.core.targets import PASSWORD_ENVS, Target, demo_target, dsn_secrets, parse_dsn
from pooltui.tui.commands import PoolCommands, command_bindings, help_for
from pooltui.tui.crash import crash_report
from pooltui.tui.messages import PoolClosed, TargetChecked, TargetCheckFailed
from pooltui.tui.screens.tune import TuneScreen

DEFAULT_LEAK_THRESHOLD_S = 10.0


class PoolSession:
    """The target and the one pool built for it; used from the UI thread and from workers.

    Building and closing may block (PooledDB opens mincached connections in its constructor,
    closing waits for a connect in progress), so only workers call ``ensure``; the UI thread
    only reads ``pool``, which is a plain attribute and never waits.
    """

    def __init__(self, target: Target, leak_threshold_s: float | None) -> None:
        self.target = target
        self.leak_threshold_s = leak_threshold_s
        self.pool: InstrumentedPool | None = None
        self.built_config: PoolConfig | None = None
        self._build = threading.Lock()  # held while a worker builds or replaces the pool
        self._state = threading.Lock()  # held only to swap pool/closed: never blocks the UI
        self._closed = False

    def needs_build(self, config: PoolConfig) -> bool:
        """True when a run with ``config`` must (re)build the pool first."""
        pool = self.pool
        return pool is None or self.built_config != config or pool.target is not self.target

    def ensure(self, config: PoolConfig,
               on_event: Callable[[PoolEvent], None]) -> tuple[InstrumentedPool, bool]:
        """The pool for ``config`` (worker threads only): (pool, True) when it was (re)built."""
        with self._build:
            self._check_open()
            pool = self.pool
            if pool is not None and self.built_config == config and pool.target is self.target:
                return pool, False
            self.detach()
            if pool is not None:
                pool.close()
            pool = InstrumentedPool(self.target, config, on_event=on_event,
                                    leak_threshold_s=self.leak_threshold_s)
            with self._state:
                closed = self._closed
                if not closed:
                    self.pool, self.built_config = pool, config
            if closed:  # the console closed while PooledDB opened mincached connections
                pool.close()
                self._check_open()
            return pool, True

    def _check_open(self) -> None:
        if self._closed:
            raise RunFailed("The console is closing: no new pool is built.")

    def detach(self) -> InstrumentedPool | None:
        """Forget the pool (the caller closes it, in a worker when it may block)."""
        with self._state:
            pool, self.pool, self.built_config = self.pool, None, None
        return pool

    def close(self) -> None:
        """Close the pool for good, and any pool a worker is still building; idempotent."""
        with self._state:
            self._closed = True
        pool = self.detach()
        if pool is not None:
            pool.close()


class PoolTuiApp(App[int]):
    """pooltui's console: one tune screen over a session, plus the modal screens it opens."""

    CSS_PATH = "app.tcss"
    TITLE = "pooltui"
    COMMANDS: ClassVar = App.COMMANDS | {PoolCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,f1", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, target: Target, profile: Profile, *, dsn: str | None = None,
                 check_target: bool = True,
                 leak_threshold_s: float | None = DEFAULT_LEAK_THRESHOLD_S) -> None:
        super().__init__()
        self.session = PoolSession(target, leak_threshold_s)
        self.profile = profile
        # the DSN profiles and exports name: never with a password; None for the demo
        self.dsn = strip_password(dsn) if dsn else profile.dsn
        self.history = RunHistory()
        self.check_target_on_start = check_target
        self._quitting = False
        self._exit_code = 0
        self._signals: list[int] = []
        self._update_titles()

    def on_mount(self) -> None:
        """SIGTERM, SIGHUP and SIGINT (Textual handles none of them: the process would die with
        statements running) quit through the same path as ctrl+q, exiting 128 + the signal."""
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, self._stop_signal, signum)
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            self._signals.append(signum)

    def _stop_signal(self, signum: int) -> None:
        self._exit_code = self._exit_code or 128 + signum
        self.call_later(self.action_quit)

    @property
    def tune(self) -> TuneScreen:
        """The main screen (the bottom of the stack, never popped)."""
        return self._tune

    def get_default_screen(self) -> TuneScreen:
        """The tune screen is the bottom of the stack: ``app.query`` finds its widgets."""
        self._tune = TuneScreen()
        return self._tune

    def _update_titles(self) -> None:
        target = self.session.target
        self.sub_title = f"{target.redacted} ({target.facts.module_name}) · {self.profile.name}"

    # --- the modal screens ----------------------------------------------------------------------

    def _on_tune_screen(self) -> bool:
        """Modal actions start from the tune screen only (not on top of another modal)."""
        return self.screen is getattr(self, "_tune", None)

    def current_profile(self) -> Profile:
        """What the console would save or export now: the sliders under the profile's name."""
        panel = self.tune.panel
        return Profile(name=self.profile.name, description=self.profile.description,
                       dsn=self.dsn, pool=panel.config, workload=panel.workload)

    def show_details(self, record: RunRecord) -> None:
        """A run's figures and configuration; its "load" puts that configuration back."""
        from pooltui.tui.screens.run_details import RunDetailsScreen

        baseline = self.history.baseline_record()

        def closed(load: bool | None) -> None:
            if load:
                self.tune.load_config(record.config, record.workload,
                                      f"loaded run #{record.number}'s configuration")

        self.push_screen(RunDetailsScreen(record, baseline), closed)

    def action_connect(self) -> None:
        from pooltui.tui.screens.connect import ConnectScreen

        if not self._on_tune_screen():
            return
        if self.tune.running:
            self.notify("Stop the run before connecting elsewhere (press s).", severity="warning")
            return
        screen = ConnectScreen()
        self.push_screen(screen, lambda target: self._connected(target, screen.report))

    def _connected(self, target: Target | None, report: checks.CheckReport | None) -> None:
        if target is None or self.tune.running:
            return
        old_pool = self.session.detach()
        self.session.target = target
        self.dsn = strip_password(target.redacted)
        self._update_titles()
        self.tune.target_changed(target)
        if old_pool is not None:
            self._close_pool(old_pool)
        if report is not None and report.target == target.redacted:  # the screen just checked it
            self.post_message(TargetChecked(target, report))
        else:
            self.check_target(target)

    # --- the target and the old pools, in workers ---------------------------------------------

    @work(thread=True, exit_on_error=False, group="check")
    def check_target(self, target: Target) -> None:
        """Connect, time a query, read the server's limits: an unreachable server says so."""
        try:
            report = checks.check_target(target)
        except Exception as error:
            self.post_message(TargetCheckFailed(describe_db_error(error, target)))
        else:
            self.post_message(TargetChecked(target, report))

    @work(thread=True, exit_on_error=False, group="pool-close")
    def _close_pool(self, pool: InstrumentedPool) -> None:
        """Closing may wait for a connect in progress: never on the UI thread."""
        try:
            pool.close()
        finally:
            self.post_message(PoolClosed())

    @on(TargetChecked)
    def _target_checked(self, message: TargetChecked) -> None:
        if message.target is not self.session.target:
            return
        report = message.report
        limit = report.server.max_connections
        self.tune.events.add("connected", f"{report.server.version}: connect "
                             f"{report.latencies.connect_ms:.1f} ms, query "
                             f"{report.latencies.query_ms:.2f} ms"
                             + (f", max_connections {limit}" if limit else ""))

    @on(TargetCheckFailed)
    def _target_failed(self, message: TargetCheckFailed) -> None:
        self.tune.events.add("error", message.error)
        self.notify(message.error, title="Cannot use the target", severity="error", timeout=10)

    @on(PoolClosed)
    def _pool_closed(self, message: PoolClosed) -> None:
        self.tune.events.add("info", "the previous pool is closed")

    def action_profiles(self) -> None:
        from pooltui.tui.screens.profiles import ProfilesScreen

        if not self._on_tune_screen():
            return

        def chosen(profile: Profile | None) -> None:
            if profile is not None:
                self.profile = profile
                self._update_titles()
                self.tune.load_config(profile.pool, profile.workload,
                                      f"profile {profile.name} loaded into the sliders")

        self.push_screen(ProfilesScreen(self.current_profile()), chosen)

    def action_diagnose(self) -> None:
        """The wizard: measure, ask, recommend, verify; "apply" moves the sliders."""
        from pooltui.tui.screens.wizard import WizardScreen

        if not self._on_tune_screen():
            return
        if self.tune.running:
            self.notify("Stop the run before diagnosing (press s): the wizard runs its own "
                        "bursts.", severity="warning")
            return
        panel = self.tune.panel

        def applied(recommendation: Recommendation | None) -> None:
            if recommendation is not None:
                self.tune.load_config(recommendation.config, self.tune.panel.workload,
                                      "the wizard's recommendation is in the sliders")

        self.push_screen(WizardScreen(self.session.target, panel.config, panel.workload),
                         applied)

    def action_export(self) -> None:
        from pooltui.tui.screens.export import ExportScreen

        if self._on_tune_screen():
            self.push_screen(ExportScreen(self.current_profile(), self.session.target))

    def action_help(self) -> None:
        from pooltui.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        keys = [(self.get_key_display(b), help_for(b)) for _, b in command_bindings(self.tune)]
        keys += [("enter", "details of the selected run (load its configuration back)"),
                 ("ctrl+p", "command palette: every action by name")]
        self.push_screen(HelpScreen(keys))

    async def action_quit(self) -> None:
        """Stop the burst, wait for the workers, close every connection, then leave."""
        if self._quitting:
            return
        self._quitting = True
        tune = getattr(self, "_tune", None)
        if tune is not None:
            tune.stop_all()
        workers = list(self.workers)
        for worker in workers:  # the wizard's bursts stop on their worker's cancellation
            if worker.group == "wizard-verify":
                worker.cancel()
        # a failed or cancelled worker must not keep the console from closing its connections
        await asyncio.gather(*(worker.wait() for worker in workers), return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(None, self.session.close)
        self.exit(self._exit_code)

    # --- crashes ---------------------------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        """Every unhandled exception (handlers, workers, timers, compose) ends the console here.

        Textual 8.2.8's own version prints rich's traceback with every frame's local variables
        (a DSN or password typed into a screen is one); this one does what it does (exit code 1,
        the exception kept for test pilots, the app closed) but prints crash_report: no locals,
        no secret the console knows, also for exceptions that render themselves.
        """
        from rich.segment import Segments

        self._return_code = 1
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        self.bell()
        report = crash_report(error, self.known_secrets())
        self._exit_renderables.append(Segments(self.console.render(report,
                                                                   self.console.options)))
        self._close_messages_no_wait()

    def known_secrets(self) -> list[str]:
        """The secrets the console holds now: the target's, the drivers' password variables,
        and what every screen's inputs hold (password fields, DSNs typed with a password)."""
        found = list(self.session.target.secrets())
        found += [os.environ[name] for name in PASSWORD_ENVS.values() if os.environ.get(name)]
        for screen in self.screen_stack:
            try:
                for field in screen.query(Input):
                    found += [field.value] if field.password else list(dsn_secrets(field.value))
                own = getattr(screen, "secrets", None)
                found += list(own()) if callable(own) else []
            except Exception:  # a half-built screen: what could be read is enough
                continue
        return [secret for secret in found if secret]

    def on_unmount(self) -> None:
        """However the app ends (a test, an exception): no connection stays open."""
        loop = asyncio.get_running_loop()
        for signum in self._signals:
            loop.remove_signal_handler(signum)
        self._signals.clear()
        tune = getattr(self, "_tune", None)
        if tune is not None:
            tune.stop_all()
        self.session.close()


def make_app(target: Target, profile: Profile, *, dsn: str | None = None,
             check_target: bool = True,
             leak_threshold_s: float | None = DEFAULT_LEAK_THRESHOLD_S) -> PoolTuiApp:
    """The console for ``target`` starting from ``profile``; the CLI and the tests use this."""
    return PoolTuiApp(target, profile, dsn=dsn, check_target=check_target,
                      leak_threshold_s=leak_threshold_s)


def _starting_profile(name_or_path: str | None, dsn: str | None) -> Profile:
    """The named profile; with neither a profile nor a DSN, the demo profile when it exists."""
    if name_or_path:
        return load_profile(find_profile(name_or_path))
    if dsn is None:
        try:
            return load_profile(find_profile("demo"))
        except PooltuiError:
            pass
    return Profile(name="untitled")


def run_console(dsn: str | None = None, profile: str | None = None,
                ask_password: bool = False) -> int:
    """`pooltui [--dsn DSN] [--profile NAME|PATH]`: resolve, run the console, give the exit code."""
    try:
        start = _starting_profile(profile, dsn)
        dsn = dsn or start.dsn
        if dsn:
            password = getpass.getpass("Password: ") if ask_password else None
            target = parse_dsn(dsn, password=password)
        else:
            target = demo_target()
    except PooltuiError as error:
        print(f"pooltui: {error}", file=sys.stderr)
        return error.exit_code
    app = make_app(target, start, dsn=dsn)
    try:
        app.run()
    except PooltuiError as error:  # raised before the first screen: still one sentence
        print(f"pooltui: {error}", file=sys.stderr)
        return error.exit_code
    finally:
        app.session.close()
    return app.return_code or 0

