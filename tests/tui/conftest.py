"""Fixtures every console test shares (the helpers themselves are in ``helpers.py``)."""

from __future__ import annotations

import pytest
from textual.widgets import Input


@pytest.fixture(autouse=True)
def _no_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blinking cursor would make screenshots differ from run to run: every Input is made
    with ``cursor_blink`` off (its public reactive)."""
    init = Input.__init__

    def steady(self: Input, *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)  # type: ignore[arg-type]
        self.cursor_blink = False

    monkeypatch.setattr(Input, "__init__", steady)
