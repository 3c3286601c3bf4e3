"""What the diagnosis wizard asks and shows: its steps, the answer validator and the Rich views.

Split from ``wizard.py`` (which owns the screen's behaviour) so each stays small. Everything here
is pure: it turns answers, measurements and recommendations into text, touching no widget.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.validation import ValidationResult, Validator

from pooltui.core.diagnosis.display import prediction_table as prediction_rows
from pooltui.core.diagnosis.recommend import (
    COMPLEXITIES,
    DEFAULT_ANSWERS,
    GOALS,
    SHAPES,
    workload_answers,
)
from pooltui.core.history import UNLIMITED_AT_ZERO, show_setting
from pooltui.core.numbers import ms

if TYPE_CHECKING:
    from pooltui.core.config import Workload
    from pooltui.core.diagnosis.recommend import Answers, Recommendation
    from pooltui.core.diagnosis.verify import Measured, TargetFigures
    from pooltui.core.targets import DriverFacts

# (step id, title, answers asked on it)
STEPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("measure", "Measured on the target", ()),
    (
        "application",
        "The application",
        ("threads_per_process", "processes", "connections_per_request"),
    ),
    ("load", "The load", ("peak_rate_per_s", "shape", "peak_to_average")),
    ("queries", "Queries and holds", ("complexity", "query", "query_ms", "hold_ms", "connect_ms")),
    ("symptoms", "Symptoms and goal", ("symptoms", "goal", "db_cores")),
    ("result", "Recommendation", ()),
)
STEP_IDS = tuple(step for step, _, _ in STEPS)
QUESTION_ORDER = tuple(name for _, _, names in STEPS for name in names)
CHOICES = {"shape": SHAPES, "complexity": COMPLEXITIES, "goal": GOALS}
# numeric answers: (whole number, minimum, minimum excluded, may be empty)
NUMBERS: dict[str, tuple[bool, float, bool, bool]] = {
    "threads_per_process": (True, 1, False, False),
    "processes": (True, 1, False, False),
    "connections_per_request": (True, 1, False, False),
    "peak_rate_per_s": (False, 0, True, False),
    "peak_to_average": (False, 1, False, False),
    "query_ms": (False, 0, False, False),
    "hold_ms": (False, 0, True, False),
    "connect_ms": (False, 0, False, False),
    "db_cores": (True, 1, False, True),
}
LEVEL_STYLES = {"error": "bold red", "warning": "yellow", "info": "dim"}


class AnswerValidator(Validator):
    """A number answer: whole or not, its lower bound, optional or not; one sentence if wrong."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.integer, self.minimum, self.exclusive, self.optional = NUMBERS[name]

    def validate(self, value: str) -> ValidationResult:
        text = value.strip()
        kind = "a whole number" if self.integer else "a number"
        bound = f"{'above' if self.exclusive else 'at least'} {self.minimum:g}"
        if not text:
            return (
                self.success()
                if self.optional
                else self.failure(f"{self.name} is empty: give {kind} {bound}.")
            )
        try:
            number = int(text) if self.integer else float(text)
        except ValueError:
            return self.failure(f"{self.name} must be {kind} {bound}, not {text!r}.")
        if not math.isfinite(number):
            return self.failure(f"{self.name} must be a finite number, not {text!r}.")
        if number < self.minimum or (self.exclusive and number == self.minimum):
            return self.failure(f"{self.name} must be {bound}, not {text}.")
        return self.success()

    def parse(self, text: str) -> int | float | None:
        """The value of valid text (None when empty)."""
        text = text.strip()
        if not text:
            return None
        return int(text) if self.integer else float(text)


def shown(value: object) -> str:
    """An answer as an input field shows it."""
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def initial_prefill(workload: Workload) -> dict[str, str]:
    """What the fields start with: the defaults, and what the console's workload already says
    about the application (``workload_answers``: what `diagnose --profile` reads too)."""
    values = {name: shown(getattr(DEFAULT_ANSWERS, name)) for name in NUMBERS}
    values |= {name: getattr(DEFAULT_ANSWERS, name) for name in CHOICES}
    values["query"] = ""
    values |= {name: shown(value) for name, value in workload_answers(workload).items()}
    return values


def figures_table(figures: TargetFigures, facts: DriverFacts) -> Table:
    """The measured figures as an aligned two-column grid."""
    f, s = figures, figures.server
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    rows = [
        ("connect", f"{ms(f.connect_ms)} (median of {f.samples})"),
        (f.query, f"{ms(f.query_ms)} (median of {f.samples})"),
        ("server", s.described),
        (
            "max_connections",
            "-"
            if s.max_connections is None
            else f"{s.max_connections} ({s.reserved_connections or 0} reserved, "
            f"{s.connections_in_use or 0} in use)",
        ),
        ("wait_timeout", "-" if not s.wait_timeout_s else f"{s.wait_timeout_s:g} s"),
        (
            "idle_session_timeout",
            "-" if not s.idle_session_timeout_s else f"{s.idle_session_timeout_s:g} s",
        ),
        (
            "driver",
            f"{facts.module_name}, threadsafety {facts.threadsafety}, "
            f"{'has' if facts.can_ping else 'no'} ping()",
        ),
    ]
    for label, value in rows:
        grid.add_row(Text(label), Text(value))
    return grid


def changes_view(rec: Recommendation) -> Table | Text:
    """Each changed parameter: now -> recommended, and the one sentence why."""
    if not rec.changes:
        return Text("No change: the current configuration already fits these answers.")
    table = Table(expand=True, show_edge=False, title="Changes", title_justify="left")
    table.add_column("parameter", no_wrap=True)
    table.add_column("now → recommended", no_wrap=True)
    table.add_column("why", ratio=1)
    for c in rec.changes:
        old, new = (
            show_setting(c.param, v) if c.param in UNLIMITED_AT_ZERO else repr(v)
            for v in (c.old, c.new)
        )
        table.add_row(Text(c.param), Text(f"{old} → {new}"), Text(c.why))
    return table


def advice_text(rec: Recommendation) -> Text:
    text = Text()
    for item in rec.advice:
        text.append(f"{item.level}: ", style=LEVEL_STYLES.get(item.level, ""))
        text.append(f"{item.message}\n")
    return text


def prediction_table(
    rec: Recommendation, answers: Answers, verified: dict[str, Measured] | None
) -> Table:
    """Predicted (M/M/N at the answered peak) beside measured, for the current and new pool.

    ``verified`` None: no verification yet, predictions only; a dict: the bursts measured so far
    (a missing one shows as …).
    """
    shown = prediction_rows(
        rec, rate_per_s=answers.peak_rate_per_s / answers.processes, verified=verified
    )
    table = Table(
        expand=True,
        show_edge=False,
        title_justify="left",
        title="At peak, per process: predicted (M/M/N) and measured",
    )
    table.add_column("figure")
    for which, kind in shown.columns:
        table.add_column(f"{which} {kind}", justify="right")
    for row in shown.rows:
        table.add_row(*row)
    return table
