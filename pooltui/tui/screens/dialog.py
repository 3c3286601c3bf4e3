"""The look every modal dialog of the console shares: centred, framed, with an error line.

A dialog composes a container with ``id="dialog"`` (and, if it reports problems in place, a
``Static`` with ``id="error"``); its own DEFAULT_CSS gives only its size and its contents.
"""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen
from textual.widgets import Static

ResultT = TypeVar("ResultT")


class DialogScreen(ModalScreen[ResultT]):
    """A modal screen drawn as a framed dialog in the middle of the console."""

    DEFAULT_CSS = """
    DialogScreen { align: center middle; }
    DialogScreen > #dialog {
        max-width: 100%; border: thick $primary 70%; background: $surface; padding: 0 1;
    }
    DialogScreen #error { color: $error; text-style: bold; height: auto; }
    """

    def _set_error(self, sentence: str) -> None:
        """Say in place what went wrong ("" clears it); the dialog stays open."""
        self.query_one("#error", Static).update(sentence)
