"""The optional libraries tune needs (scipy for the fit, optuna for the search): one sentence
naming the extra when they are missing, never an ImportError traceback."""

from __future__ import annotations

import importlib

from pooltui.core.errors import BadInput

EXTRA_HINT = "pip install 'pooltui[tune]'"


def missing() -> list[str]:
    """The tune libraries that cannot be imported."""
    absent = []
    for name in ("scipy", "optuna"):
        try:
            importlib.import_module(name)
        except ImportError:
            absent.append(name)
    return absent


def require() -> None:
    """BadInput naming the extra when scipy or optuna is missing."""
    absent = missing()
    if absent:
        raise BadInput(
            f"pooltui tune needs {' and '.join(absent)}, which is not installed: run {EXTRA_HINT}."
        )
