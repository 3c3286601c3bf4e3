"""Pick the database to tune: type a DSN, test it, see what the server and driver allow, use it.

The check (a few real connects, one query, the server's limits) runs in a thread worker, so a
slow or dead server never freezes the console; the worker only posts messages. Once a DSN has
been tested the field shows it redacted and the real text (which may hold a password) is kept
privately, so a screenshot or a shoulder never sees the password.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Footer, Input, Label, Static

from pooltui.core.checks import CheckReport, check_target
from pooltui.core.drivers import drivers
from pooltui.core.errors import BadInput, PooltuiError, describe_db_error
from pooltui.core.report import check_rows
from pooltui.core.targets import Target, demo_target, dsn_secrets, forms, parse_dsn
from pooltui.tui.screens.dialog import DialogScreen

DSN_FORMS = (  # one example per registered driver
    "   ".join(driver.example for driver in drivers() if driver.example) + "\n"
    "enter tests the DSN, ctrl+u uses it, ctrl+d tries the embedded SQLite demo"
)


def report_table(report: CheckReport) -> Table:
    """The check's facts as an aligned two-column grid (Text cells: no markup is interpreted)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in check_rows(report):
        grid.add_row(Text(label), Text(value))
    for note in report.facts.notes:
        grid.add_row(Text("note", style="dim"), Text(note))
    return grid


def password_hint(dsn: str) -> str:
    """Where else the typed DSN's driver reads a password: PGPASSWORD was said for every
    DSN, an ODBC or MySQL one included (the field's example is PostgreSQL's)."""
    scheme = (dsn.strip().split(":", 1)[0] or "postgresql").lower()
    driver = next((d for d in drivers() if scheme in d.schemes), None)
    if driver is not None and not driver.has_server:
        return "none needed: a database file has no password"
    if driver is None or not driver.password_env:
        return "optional; or put it in the DSN"
    return f"optional; or put it in the DSN or {driver.password_env}"


class ConnectScreen(DialogScreen[Target | None]):
    """Test a DSN against the real server and hand the working Target back to the app."""

    @dataclass
    class TargetChecked(Message, bubble=False):
        """The check succeeded: the target answers and these are its facts."""

        target: Target
        report: CheckReport
        attempt: int

    @dataclass
    class TargetCheckFailed(Message, bubble=False):
        """The check failed; ``error`` is one plain sentence, never with a password."""

        error: str
        attempt: int

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "test", "Test"),
        Binding("ctrl+u", "use", "Use", priority=True),
        Binding("ctrl+d", "demo", "Demo", priority=True),
    ]

    DEFAULT_CSS = """
    ConnectScreen > #dialog {
        width: 100; height: auto; max-height: 100%;
    }
    ConnectScreen .row { height: auto; }
    ConnectScreen .row > Label { width: 10; padding: 1 0 0 0; }
    ConnectScreen .row > Input { width: 1fr; }
    ConnectScreen #forms { color: $text-muted; padding: 0 0 0 10; }
    ConnectScreen #buttons { height: auto; padding: 1 0 0 10; }
    ConnectScreen #buttons > Button { margin-right: 1; }
    ConnectScreen #status { color: $text-muted; padding: 1 0 0 0; height: auto; }
    ConnectScreen #report { height: auto; max-height: 18; }
    ConnectScreen.-short {
        .row > Input { height: 1; border: none; padding: 0 1; margin-bottom: 1; }
        .row > Label { padding: 0; }
        #buttons { padding: 0 0 0 10; }
        #buttons > Button { height: 1; border: none; min-width: 8; }
        #status { padding: 0; }
    }
    """
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    def __init__(self, dsn: str = "") -> None:
        super().__init__()
        self.report: CheckReport | None = None  # of the target it hands back
        self._real_dsn = dsn  # may hold a password: never shown, never logged
        self._shown_dsn = ""  # what the field shows for _real_dsn (redacted)
        self._attempt = 0
        self._checked: Target | None = None
        self._use_when_checked = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Connect to a database"
            with Horizontal(classes="row"):
                yield Label("DSN")
                yield Input(placeholder="postgresql://user@127.0.0.1:5432/db", id="dsn")
            with Horizontal(classes="row"):
                yield Label("Password")
                yield Input(placeholder=password_hint(""), password=True, id="password")
            yield Static(DSN_FORMS, id="forms", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Test", id="test", variant="primary")
                yield Button("Use", id="use", variant="success", disabled=True)
                yield Button("Demo", id="demo")
                yield Button("Cancel", id="cancel")
            yield Static("", id="status", markup=False)
            yield Static("", id="error", markup=False)
            with VerticalScroll(id="report"):
                yield Static("", id="facts", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        if self._real_dsn:
            try:
                self._show_redacted(self._parse(self._real_dsn).redacted)
            except PooltuiError as error:
                self._real_dsn = ""
                self._set_error(str(error))
        self.query_one("#dsn", Input).focus()

    def secrets(self) -> tuple[str, ...]:
        """The secrets of the DSN kept behind the field (the app's crash report hides them)."""
        return dsn_secrets(self._real_dsn)

    @staticmethod
    def _parse(dsn: str, password: str | None = None) -> Target:
        """parse_dsn, with any failure as a PooltuiError sentence: a parser bug must not take
        the console down (nor print what was typed)."""
        try:
            return parse_dsn(dsn, password=password)
        except PooltuiError:
            raise
        except Exception as error:
            raise BadInput(
                f"pooltui cannot read this DSN ({type(error).__name__}): check it "
                "against the forms " + "; ".join(forms()) + "."
            ) from None

    def _show_redacted(self, redacted: str) -> None:
        self._shown_dsn = redacted
        self.query_one("#dsn", Input).value = redacted

    def _fail(self, sentence: str) -> None:
        """Show why the DSN cannot be used; a pending Use is dropped."""
        self._use_when_checked = False
        self.query_one("#status", Static).update("")
        self._set_error(sentence)

    def _current_dsn(self) -> str:
        """The real DSN behind the field: the private one while the field still shows it."""
        text = self.query_one("#dsn", Input).value.strip()
        return self._real_dsn if text and text == self._shown_dsn else text

    def _start(self, target: Target | None) -> None:
        self._attempt += 1
        self._checked = None
        self.query_one("#use", Button).disabled = True
        self._set_error("")
        self.query_one("#facts", Static).update("")
        shown = target.redacted if target else "the embedded demo database"
        self.query_one("#status", Static).update(
            f"Checking {shown}: connecting, running SELECT 1, reading the server's limits..."
        )
        self._check(self._attempt, target)

    def action_test(self) -> None:
        """Parse the DSN here (cheap), then check it against the server in a thread."""
        dsn = self._current_dsn()
        if not dsn:
            self._fail(
                "Type a DSN first, e.g. postgresql://user@127.0.0.1:5432/db, "
                "or press ctrl+d for the embedded demo database."
            )
            return
        try:
            target = self._parse(dsn, self.query_one("#password", Input).value or None)
        except PooltuiError as error:
            self._fail(str(error))
            return
        self._real_dsn = dsn
        self._show_redacted(target.redacted)
        self._start(target)

    def action_use(self) -> None:
        """Hand back the checked target; an unchecked DSN is checked first."""
        if self._checked is not None and self._current_dsn() == self._real_dsn:
            self.dismiss(self._checked)
            return
        self._use_when_checked = True
        self.action_test()

    def action_demo(self) -> None:
        """Check the embedded SQLite demo database (created on first use)."""
        self._real_dsn = ""
        self._start(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_test()

    @on(Input.Changed, "#dsn")
    def _edited(self, event: Input.Changed) -> None:
        self.query_one("#password", Input).placeholder = password_hint(event.input.value)
        if event.input.value != self._shown_dsn:  # edited: a running check is moot now
            self._attempt += 1
            self._checked = None
            self.query_one("#use", Button).disabled = True
            self.query_one("#status", Static).update("")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        actions = {
            "test": self.action_test,
            "use": self.action_use,
            "demo": self.action_demo,
            "cancel": self.action_cancel,
        }
        actions[event.button.id or "cancel"]()

    @work(thread=True, exclusive=True, exit_on_error=False, group="target_checks")
    def _check(self, attempt: int, target: Target | None) -> None:
        """Runs in a thread: touches no widget, posts exactly one message."""
        try:
            if target is None:
                target = demo_target()
            report = check_target(target)
        except Exception as error:  # one sentence, never a traceback nor a password
            self.post_message(self.TargetCheckFailed(describe_db_error(error, target), attempt))
            return
        self.post_message(self.TargetChecked(target, report, attempt))

    @on(TargetChecked)
    def _checked_ok(self, message: TargetChecked) -> None:
        if message.attempt != self._attempt:
            return
        self._checked, self.report = message.target, message.report
        if not self._real_dsn:  # the demo: show its DSN like any other
            self._real_dsn = message.target.redacted
        self._show_redacted(message.target.redacted)
        self.query_one("#status", Static).update(
            "Connected. Press ctrl+u (or Use) to tune this database."
        )
        self.query_one("#facts", Static).update(report_table(message.report))
        use = self.query_one("#use", Button)
        use.disabled = False
        if self._use_when_checked:
            self.dismiss(message.target)
        else:
            use.focus()

    @on(TargetCheckFailed)
    def _check_failed(self, message: TargetCheckFailed) -> None:
        if message.attempt == self._attempt:
            self._fail(message.error)
