"""One line of text asked for: a run's note, the number of the run to make the baseline.

The answer is checked by the caller's ``check`` (a sentence says what is wrong, the dialog
stays open), so a wrong number is said where it was typed, not after the dialog closed.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from pooltui.tui.screens.dialog import DialogScreen


class PromptScreen(DialogScreen[str | None]):
    """Ask ``question``; dismisses with the typed text (enter), None on ``escape``."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    PromptScreen > #dialog { width: 72; height: auto; padding: 1 2; }
    PromptScreen #question { height: auto; padding-bottom: 1; }
    """

    def __init__(
        self,
        question: str,
        value: str = "",
        *,
        title: str = "",
        placeholder: str = "",
        check: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__()
        self._question, self._value, self._title = question, value, title
        self._placeholder, self._check = placeholder, check

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = self._title
            yield Static(
                self._question + " (enter: done, escape: cancel)", id="question", markup=False
            )
            yield Input(self._value, placeholder=self._placeholder, id="answer")
            yield Static("", id="error", markup=False)

    def on_mount(self) -> None:
        self.query_one("#answer", Input).focus()

    @on(Input.Submitted, "#answer")
    def _submitted(self, event: Input.Submitted) -> None:
        problem = self._check(event.value) if self._check else ""
        if problem:
            self._set_error(problem)
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
