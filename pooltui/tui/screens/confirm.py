"""A yes/no question before something that cannot be undone (replacing a file, deleting runs).

``n``/``escape`` is the default answer: a stray key never destroys anything. Focus starts on
the safe button, and Textual hands it back to where it was when the dialog closes.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from pooltui.tui.screens.dialog import DialogScreen


class ConfirmScreen(DialogScreen[bool]):
    """Ask ``question``; dismisses True for yes (``y``), False for no (``n``, ``escape``)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    DEFAULT_CSS = """
    ConfirmScreen > #dialog { width: 72; height: auto; padding: 1 2; }
    ConfirmScreen #question { height: auto; padding-bottom: 1; }
    ConfirmScreen #buttons { height: auto; align-horizontal: right; }
    ConfirmScreen #buttons > Button { margin-left: 1; min-width: 10; width: auto; }
    """

    def __init__(self, question: str, *, yes: str = "Yes", title: str = "Confirm") -> None:
        super().__init__()
        self._question, self._yes, self._title = question, yes, title

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = self._title
            yield Static(self._question, id="question", markup=False)
            with Horizontal(id="buttons"):
                yield Button(f"{self._yes} (y)", id="yes", variant="warning")
                yield Button("No (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
