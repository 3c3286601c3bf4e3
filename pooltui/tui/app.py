"""The console: the app object, which holds the session (core.session) and the profile.

The app owns what outlives a screen: the session (the target, the one pool built from the
sliders, the run history) and the profile; quitting stops the burst, waits for the workers and
closes every connection, however the console is left. The tune screen owns everything a user
does (runs, the modal screens); the app keeps quit and help.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.widgets import Input

from pooltui.core.errors import PooltuiError
from pooltui.core.history import RunHistory
from pooltui.core.history_store import HistoryStore, StoredHistory
from pooltui.core.host import HostedPool
from pooltui.core.profiles import Profile, strip_password
from pooltui.core.session import PoolSession
from pooltui.core.targets import PASSWORD_ENVS, Target, dsn_secrets
from pooltui.tui.commands import PoolCommands, help_for
from pooltui.tui.crash import crash_report
from pooltui.tui.screens.tune import TuneScreen

DEFAULT_LEAK_THRESHOLD_S = 10.0
# after a signal, once every connection is closed: how long Textual may take to restore the
# terminal before the process ends without it (a hung-up terminal can block its writes)
SIGNAL_EXIT_GRACE_S = 5.0


class PoolTuiApp(App[int]):
    """pooltui's console: one tune screen over a session, plus the modal screens it opens."""

    CSS_PATH = "app.tcss"
    TITLE = "pooltui"
    COMMANDS: ClassVar = App.COMMANDS | {PoolCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,f1", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        target: Target,
        profile: Profile,
        *,
        dsn: str | None = None,
        check_target: bool = True,
        leak_threshold_s: float | None = DEFAULT_LEAK_THRESHOLD_S,
        keep_history: bool = True,
    ) -> None:
        super().__init__()
        self.history_notices: list[str] = []  # said once the console is up
        self.session = PoolSession(target, leak_threshold_s, self._kept_history(keep_history))
        self.profile = profile
        # the DSN profiles and exports name: never with a password; None for the demo
        self.dsn = strip_password(dsn) if dsn else profile.dsn
        self.check_target_on_start = check_target
        self._quitting = False
        self._exit_code = 0
        self._signals: list[int] = []
        self._update_titles()

    def _kept_history(self, keep: bool) -> RunHistory:
        """The runs of earlier sessions and a store for this one's (core/history_store.py);
        when the file cannot be kept, a history of this session only, and a sentence why."""
        if not keep:
            return RunHistory()
        try:
            store = HistoryStore()
        except PooltuiError as error:
            self.history_notices.append(f"{error} Runs of this session are not kept.")
            return RunHistory()
        history = StoredHistory(store, self.known_secrets, self._history_problem)
        self.history_notices += [n for n in (store.notice, *history.problems) if n]
        return history

    def _history_problem(self, sentence: str) -> None:
        self.notify(sentence, title="Run history", severity="error")

    def on_mount(self) -> None:
        """SIGTERM, SIGHUP and SIGINT (Textual handles none of them: the process would die with
        statements running) quit through the same path as ctrl+q, exiting 128 + the signal."""
        for notice in self.history_notices:
            self.notify(notice, title="Run history", severity="warning", timeout=15)
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
    def history(self) -> RunHistory:
        """The session's runs (what the history table shows)."""
        return self.session.history

    @property
    def quitting(self) -> bool:
        """Quitting has begun: no new run may start (a series' next repeat included)."""
        return self._quitting

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

    # --- what the screens change -------------------------------------------------------------

    def use_profile(self, profile: Profile) -> None:
        """The profile the console now works under (its name is in the title)."""
        self.profile = profile
        self._update_titles()

    def use_target(self, target: Target) -> HostedPool | None:
        """Point the session at ``target``; its old pool is returned for the caller to close
        (in a worker: closing may block)."""
        old_pool = self.session.retarget(target)
        self.dsn = strip_password(target.redacted)
        self._update_titles()
        return old_pool

    # --- help, quit -----------------------------------------------------------------------------

    def action_help(self) -> None:
        from pooltui.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        # every key the screen has, whatever has focus now (an input field hides the letters)
        keys = [
            (self.get_key_display(b), help_for(b))
            for b in (*self.tune.BINDINGS, *self.BINDINGS)
            if isinstance(b, Binding) and b.show
        ]
        keys += [
            ("enter", "details of the selected run (load its configuration back)"),
            ("ctrl+p", "command palette: every action by name"),
        ]
        self.push_screen(HelpScreen(keys))

    async def action_quit(self) -> None:
        """Stop the burst, wait for the workers, close every connection, then leave."""
        if self._quitting:
            return
        self._quitting = True
        self.session.stop_runs()
        workers = list(self.workers)
        for worker in workers:  # the wizard's bursts stop on their worker's cancellation
            if worker.group == "wizard-verify":
                worker.cancel()
        # a failed or cancelled worker must not keep the console from closing its connections
        await asyncio.gather(*(worker.wait() for worker in workers), return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(None, self.session.close)
        if self._exit_code and not self.is_headless:
            # a signal, and the connections are closed: after SIGHUP the terminal may be gone
            # and Textual's restore writes to a pty nobody reads can block for ever (a console
            # killed with its tmux session was seen hanging in them), so the process ends
            # within the grace whatever the terminal does
            timer = threading.Timer(SIGNAL_EXIT_GRACE_S, os._exit, (self._exit_code,))
            timer.daemon = True
            timer.start()
        self.exit(return_code=self._exit_code)  # the first argument is the app's result

    # --- crashes ---------------------------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        """Every unhandled exception (handlers, workers, timers, compose) ends the console here.

        Textual 8.2.8's own version prints rich's traceback with every frame's local variables
        (a DSN or password typed into a screen is one); this one does what it does (exit code 1,
        the exception kept for test pilots, the app closed) but prints crash_report: no locals,
        no secret the console knows, also for exceptions that render themselves. Textual has no
        public hook for this (every crash path calls ``App._handle_exception``), so this private
        method is overridden and the attributes it sets are Textual 8.2.8's.
        """
        from rich.segment import Segments

        self._return_code = 1
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        self.bell()
        report = crash_report(error, self.known_secrets())
        self._exit_renderables.append(Segments(self.console.render(report, self.console.options)))
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
        self.session.close()  # stops the burst first
        if isinstance(self.history, StoredHistory):
            self.history.store.close()


def make_app(
    target: Target,
    profile: Profile,
    *,
    dsn: str | None = None,
    check_target: bool = True,
    leak_threshold_s: float | None = DEFAULT_LEAK_THRESHOLD_S,
    keep_history: bool = True,
) -> PoolTuiApp:
    """The console for ``target`` starting from ``profile``; the CLI and the tests use this
    (``keep_history`` False: this session's runs only, no file read or written)."""
    return PoolTuiApp(
        target,
        profile,
        dsn=dsn,
        check_target=check_target,
        leak_threshold_s=leak_threshold_s,
        keep_history=keep_history,
    )
