"""The parameter panel: a control per PooledDB parameter and per workload field, the number of
runs the repeat key makes, and findings.

Every change re-runs ``config.validate`` (pure and fast), so what DBUtils will make of a value
(maxcached raised to mincached, maxshared zeroed...) and any trap shows at once: an error or a
normalised value in place under its control, every finding in the list below, and the label
of each control coloured by its worst finding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static, Switch

from pooltui.core.config import (
    LEVELS,
    PATTERNS,
    Finding,
    PoolConfig,
    Validation,
    Workload,
    validate,
    validate_workload,
)
from pooltui.tui.widgets.slider import Number, Slider

if TYPE_CHECKING:
    from pooltui.core.targets import DriverFacts

LABEL_WIDTH = 14
PING_CHOICES = (
    ("0 never", 0),
    ("1 on checkout", 1),
    ("2 on cursor()", 2),
    ("3 checkout+cursor", 3),
    ("4 on execute()", 4),
    ("5 checkout+execute", 5),
    ("6 cursor+execute", 6),
    ("7 always", 7),
)
MARKS = {"error": "✖", "warning": "▲", "info": "•"}


def switch_state(on: bool) -> str:
    """A switch's state in words beside it: its colour alone does not say it."""
    return "on" if on else "off"


def _unlimited(value: Number) -> str:
    return "∞" if value == 0 else str(value)


@dataclass(frozen=True)
class SliderSpec:
    """One numeric parameter's slider: its range, step and how its value reads."""

    name: str
    minimum: Number
    maximum: Number
    step: Number
    unit: str = ""
    format: Callable[[Number], str] | None = None


POOL_SLIDERS = (
    SliderSpec("maxconnections", 0, 64, 1, format=_unlimited),
    SliderSpec("mincached", 0, 32, 1),
    SliderSpec("maxcached", 0, 64, 1, format=_unlimited),
    SliderSpec("maxshared", 0, 32, 1),
    SliderSpec("maxusage", 0, 1000, 10, format=_unlimited),
)
WORKLOAD_SLIDERS = (
    SliderSpec("threads", 1, 128, 1),
    SliderSpec("duration_s", 0.5, 60.0, 0.5, "s"),
    SliderSpec("requests", 0, 100_000, 100, format=_unlimited),  # 0: the duration bounds it
    SliderSpec("hold_ms", 0.0, 500.0, 1.0, "ms"),
    SliderSpec("think_ms", 0.0, 1000.0, 1.0, "ms"),
    SliderSpec("rate", 0.0, 5000.0, 1.0, "/s"),  # 1: the wizard's 5/s must not snap to 0
)
# how many runs the repeat key (r) makes of one configuration: no workload field, so it is kept
# out of profiles and of the "same configuration" a run is compared on
REPEATS_SLIDER = SliderSpec("repeats", 1, 20, 1)
DEFAULT_REPEATS = 3
# parameters DBUtils may silently change: their normalised value is shown in place
NORMALISED = ("maxcached", "maxshared", "maxconnections")


def ping_query_placeholder(facts: DriverFacts) -> str:
    """What an empty ping_query means for this driver, in the 17 columns the field has at
    80x24: the driver's ping(), or nothing at all (psycopg, pyodbc and sqlite3 have no
    ping(), so DBUtils checks nothing)."""
    return "driver ping()" if facts.can_ping else "off: try SELECT 1"


class ParamPanel(VerticalScroll):
    """Sliders, switches, choices and inputs for a PoolConfig and a Workload, with findings."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "app.focus_next", "Next", show=False),
        Binding("up", "app.focus_previous", "Previous", show=False),
    ]

    DEFAULT_CSS = """
    ParamPanel {
        padding: 0 1;
        & .section { text-style: bold; color: $accent; margin-top: 1; }
        & .section.first { margin-top: 0; }
        & .row { height: 1; margin: 0; }
        & .row > Label { width: 15; }
        & .row Switch { border: none; padding: 0; height: 1; width: 5; margin-right: 1; }
        & .row > .state { width: auto; }
        & .row Select { width: 1fr; }
        & .row Input { width: 1fr; }
        & Slider, & .row { margin-bottom: 0; }
        /* the focus ring inside the panel: a bar left of the focused control (a shape) */
        & > Slider, & > .row { border-left: blank; }
        & > Slider:focus, & > .row:focus-within { border-left: outer $accent; }
        & > Slider:focus > .slider--label, & > .row:focus-within > Label {
            text-style: bold underline;
        }
        & .note { color: $text-muted; padding-left: 16; display: none; }
        & .note.-shown { display: block; }
        & .note.-error { color: $text-error; }
        & .-error > .slider--label, & .row.-error > Label { color: $text-error; }
        & .-warning > .slider--label, & .row.-warning > Label { color: $text-warning; }
        & #findings { margin-top: 1; }
    }
    """

    class Changed(Message):
        """Something in the panel changed: the new config, workload and what validate says."""

        def __init__(self, panel: ParamPanel, config: PoolConfig, workload: Workload) -> None:
            super().__init__()
            self.panel = panel
            self.config = config
            self.workload = workload
            self.validation = panel.validation
            self.workload_findings = panel.workload_findings

        @property
        def control(self) -> ParamPanel:
            return self.panel

    def __init__(
        self,
        config: PoolConfig,
        workload: Workload,
        facts: DriverFacts,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._base_config = config
        self._base_workload = workload
        self.facts = facts
        self.validation: Validation = validate(config, facts)
        self.workload_findings: tuple[Finding, ...] = validate_workload(workload)

    # --- building ---------------------------------------------------------------------------

    def _slider(self, spec: SliderSpec, value: Number) -> Slider:
        low, high = min(spec.minimum, value), max(spec.maximum, value)
        return Slider(
            low,
            high,
            value,
            step=spec.step,
            label=spec.name,
            unit=spec.unit,
            label_width=LABEL_WIDTH,
            format=spec.format,
            id=f"param-{spec.name}",
            name=spec.name,
        )

    def _note(self, name: str) -> Static:
        return Static("", id=f"note-{name}", classes="note", markup=False)

    def compose(self) -> ComposeResult:
        config, workload = self._base_config, self._base_workload
        yield Static("Pool (PooledDB)", classes="section first")
        for spec in POOL_SLIDERS:
            yield self._slider(spec, getattr(config, spec.name))
            yield self._note(spec.name)
        for name in ("blocking", "reset"):  # each says on / off in words, not only colour
            on = bool(getattr(config, name))
            with Horizontal(classes="row", id=f"row-{name}"):
                yield Label(name)
                yield Switch(on, animate=False, id=f"param-{name}", name=name)
                yield Label(switch_state(on), id=f"state-{name}", classes="state")
            yield self._note(name)
        with Horizontal(classes="row", id="row-ping"):
            yield Label("ping")
            yield Select(
                PING_CHOICES,
                value=config.ping if 0 <= config.ping <= 7 else 1,
                allow_blank=False,
                compact=True,
                id="param-ping",
                name="ping",
            )
        yield self._note("ping")
        with Horizontal(classes="row", id="row-ping_query"):
            yield Label("ping_query")
            yield Input(
                config.ping_query,
                placeholder=ping_query_placeholder(self.facts),
                compact=True,
                id="param-ping_query",
                name="ping_query",
            )
        yield self._note("ping_query")
        with Horizontal(classes="row", id="row-setsession"):
            yield Label("setsession")
            yield Input(
                "; ".join(config.setsession),
                placeholder="SQL; SQL (none)",
                compact=True,
                id="param-setsession",
                name="setsession",
            )
        yield self._note("setsession")
        yield Static("Workload", classes="section")
        for spec in WORKLOAD_SLIDERS:
            yield self._slider(spec, getattr(workload, spec.name))
            yield self._note(spec.name)
        with Horizontal(classes="row", id="row-pattern"):
            yield Label("pattern")
            yield Select(
                [(p, p) for p in PATTERNS],
                allow_blank=False,
                compact=True,
                value=workload.pattern if workload.pattern in PATTERNS else PATTERNS[0],
                id="param-pattern",
                name="pattern",
            )
        yield self._note("pattern")
        with Horizontal(classes="row", id="row-query"):
            yield Label("query")
            yield Input(
                workload.query, placeholder="SELECT 1", compact=True, id="param-query", name="query"
            )
        yield self._note("query")
        yield Static("Measuring", classes="section")
        yield self._slider(REPEATS_SLIDER, DEFAULT_REPEATS)
        yield Static("", id="findings", markup=False)

    def on_mount(self) -> None:
        self._show_findings()

    # --- reading and writing the controls -----------------------------------------------------

    def _whole(self, name: str) -> int:
        """An integer slider's value (an int slider snaps to ints: int() only tells mypy)."""
        return int(self.query_one(f"#param-{name}", Slider).value)

    def _real(self, name: str) -> float:
        """A float field's slider value, a float even where the value is whole."""
        return float(self.query_one(f"#param-{name}", Slider).value)

    def _switch(self, name: str) -> bool:
        return self.query_one(f"#param-{name}", Switch).value

    @property
    def config(self) -> PoolConfig:
        """The PoolConfig the controls show (fields without a control keep the loaded value)."""
        ping = self.query_one("#param-ping", Select).value
        text = self.query_one("#param-setsession", Input).value
        return replace(
            self._base_config,
            maxconnections=self._whole("maxconnections"),
            mincached=self._whole("mincached"),
            maxcached=self._whole("maxcached"),
            maxshared=self._whole("maxshared"),
            maxusage=self._whole("maxusage"),
            blocking=self._switch("blocking"),
            reset=self._switch("reset"),
            ping=ping if isinstance(ping, int) else self._base_config.ping,
            ping_query=self.query_one("#param-ping_query", Input).value.strip(),
            setsession=tuple(s.strip() for s in text.split(";") if s.strip()),
        )

    @property
    def workload(self) -> Workload:
        """The Workload the controls show (fields without a control keep the loaded value)."""
        pattern = self.query_one("#param-pattern", Select).value
        return replace(
            self._base_workload,
            threads=self._whole("threads"),
            duration_s=self._real("duration_s"),
            requests=self._whole("requests"),
            hold_ms=self._real("hold_ms"),
            think_ms=self._real("think_ms"),
            rate=self._real("rate"),
            pattern=pattern if isinstance(pattern, str) else self._base_workload.pattern,
            query=self.query_one("#param-query", Input).value,
        )

    @property
    def repeats(self) -> int:
        """How many runs the repeat key makes (the "repeats" slider)."""
        return self._whole(REPEATS_SLIDER.name)

    @property
    def is_ok(self) -> bool:
        """True when a run may start: no error finding for the pool or the workload."""
        return self.validation.ok and not any(f.level == "error" for f in self.workload_findings)

    def first_error(self) -> Finding | None:
        errors = [
            f for f in (*self.validation.findings, *self.workload_findings) if f.level == "error"
        ]
        return errors[0] if errors else None

    def load(self, config: PoolConfig, workload: Workload) -> None:
        """Show a configuration (a profile, a past run) without a Changed per control."""
        self._base_config, self._base_workload = config, workload
        with self.prevent(Slider.Changed, Switch.Changed, Select.Changed, Input.Changed):
            for spec in POOL_SLIDERS:
                self._set_slider(spec, getattr(config, spec.name))
            for spec in WORKLOAD_SLIDERS:
                self._set_slider(spec, getattr(workload, spec.name))
            self.query_one("#param-blocking", Switch).value = config.blocking
            self.query_one("#param-reset", Switch).value = config.reset
            if 0 <= config.ping <= 7:
                self.query_one("#param-ping", Select).value = config.ping
            self.query_one("#param-ping_query", Input).value = config.ping_query
            self.query_one("#param-setsession", Input).value = "; ".join(config.setsession)
            if workload.pattern in PATTERNS:
                self.query_one("#param-pattern", Select).value = workload.pattern
            self.query_one("#param-query", Input).value = workload.query
        self._show_switch_states()
        self.revalidate()

    def _set_slider(self, spec: SliderSpec, value: Number) -> None:
        slider = self.query_one(f"#param-{spec.name}", Slider)
        low, high = min(spec.minimum, value), max(spec.maximum, value)
        if (low, high) != (slider.minimum, slider.maximum):
            slider.set_range(low, high)
        slider.set_value(value)

    def set_facts(self, facts: DriverFacts) -> None:
        """A new target: the same values may now mean something else (threadsafety, ping)."""
        self.facts = facts
        self.query_one("#param-ping_query", Input).placeholder = ping_query_placeholder(facts)
        self.revalidate()

    # --- validation ---------------------------------------------------------------------------

    @on(Slider.Changed)
    @on(Switch.Changed)
    @on(Select.Changed)
    @on(Input.Changed)
    def _control_changed(self, event: Message) -> None:
        event.stop()
        self._show_switch_states()
        self.revalidate()

    def _show_switch_states(self) -> None:
        for name in ("blocking", "reset"):
            self.query_one(f"#state-{name}", Label).update(switch_state(self._switch(name)))

    def revalidate(self) -> None:
        """Validate what the controls show, update the findings and tell the screen."""
        config, workload = self.config, self.workload  # read the controls once
        self.validation = validate(config, self.facts)
        self.workload_findings = validate_workload(workload)
        self._show_findings()
        self.post_message(self.Changed(self, config, workload))

    def _control_for(self, param: str) -> Widget | None:
        for selector in (f"#param-{param}", f"#row-{param}"):
            found = self.query(selector)
            if found:
                widget = found.first()
                if isinstance(widget.parent, Horizontal):
                    return widget.parent
                return widget
        return None

    def _show_findings(self) -> None:
        findings = (*self.validation.findings, *self.workload_findings)
        worst: dict[str, str] = {}
        for finding in findings:
            current = worst.get(finding.param)
            if current is None or LEVELS.index(finding.level) < LEVELS.index(current):
                worst[finding.param] = finding.level
        for widget in self.query(".-error, .-warning"):
            if not widget.has_class("note"):
                widget.remove_class("-error", "-warning")
        for param, level in worst.items():
            control = self._control_for(param)
            if control is not None and level in ("error", "warning"):
                control.add_class(f"-{level}")
        self._show_notes(findings)
        self._show_list(findings)

    def _show_notes(self, findings: tuple[Finding, ...]) -> None:
        """Under a control: its errors, or the value DBUtils really uses when that differs."""
        notes: dict[str, tuple[str, bool]] = {}
        effective, requested = self.validation.effective, self.validation.requested
        for name in NORMALISED:
            eff, req = getattr(effective, name), getattr(requested, name)
            if eff != req and isinstance(eff, int):
                notes[name] = (f"→ DBUtils uses {_unlimited(eff)}", False)
        for finding in findings:
            if finding.level == "error":
                notes[finding.param] = (finding.message, True)
        for note in self.query(".note").results(Static):
            param = (note.id or "").removeprefix("note-")
            text, is_error = notes.get(param, ("", False))
            note.update(text)
            note.set_class(bool(text), "-shown")
            note.set_class(is_error, "-error")

    def _show_list(self, findings: tuple[Finding, ...]) -> None:
        theme = self.app.current_theme
        colours = {
            "error": theme.error or "red",
            "warning": theme.warning or "yellow",
            "info": theme.secondary or "blue",
        }
        text = Text()
        counts = {level: sum(f.level == level for f in findings) for level in LEVELS}
        summary = (
            ", ".join(f"{n} {level}{'s' if n != 1 else ''}" for level, n in counts.items() if n)
            or "no findings"
        )
        text.append(f"Findings: {summary}\n", style="bold")
        for finding in sorted(findings, key=lambda f: LEVELS.index(f.level)):
            text.append(f"{MARKS[finding.level]} ", style=colours[finding.level])
            text.append(f"{finding.param}: ", style="bold")
            text.append(finding.message + "\n")
        text.rstrip()
        self.query_one("#findings", Static).update(text)
