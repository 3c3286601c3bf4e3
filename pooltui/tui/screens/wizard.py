"""The diagnosis wizard: measure the target, ask about the workload, recommend, verify, apply.

One modal screen whose steps sit in a ContentSwitcher; ctrl+n / enter go on, ctrl+b goes back.
What pooltui can measure (connect time, query time, the server's limits) is measured in a thread
worker and prefilled; if the target cannot be reached the wizard says why and asks instead.
Every step is checked before it is left: the inputs' validators first, then the whole set of
answers (``diagnosis.validate_answers``), so an impossible answer is refused where it was typed.
An answer the user did not change stays *assumed* (the recommendation says so), which also lets
measured figures replace it. Verify runs the same Poisson burst on the current and on the
recommended pool (``core.verify``) in a thread worker and shows predicted beside measured.
Workers never touch a widget: they post the messages below, the handlers update the screen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import (
    Button,
    ContentSwitcher,
    Footer,
    Input,
    Label,
    Select,
    SelectionList,
    Static,
)
from textual.worker import get_current_worker

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.diagnosis.display import assumed_names, verify_notes
from pooltui.core.diagnosis.recommend import (
    ANSWER_HELP,
    DEFAULT_ANSWERS,
    SYMPTOMS,
    TYPICAL_QUERY_MS,
    AnswerRefused,
    Answers,
    Measurements,
    Recommendation,
    recommend,
    validate_answers,
    workload_answers,
)
from pooltui.core.diagnosis.verify import (
    QUERY_SAMPLES,
    VERIFY_DURATION_S,
    Measured,
    TargetFigures,
    measure_target,
    verify_workload,
)
from pooltui.core.errors import BadInput, PooltuiError, describe_db_error
from pooltui.core.host.job import run_hosted, verification
from pooltui.core.numbers import ms, rate
from pooltui.core.targets import Target
from pooltui.tui.screens.dialog import DialogScreen
from pooltui.tui.screens.wizard_views import (
    CHOICES,
    NUMBERS,
    QUESTION_ORDER,
    STEP_IDS,
    STEPS,
    AnswerValidator,
    advice_text,
    changes_view,
    figures_table,
    initial_prefill,
    prediction_table,
    shown,
)


@dataclass(frozen=True)
class WizardMemory:
    """The answers a user gave in the wizard (the fields they changed, as typed), so the
    wizard opened again starts from them instead of from the prefill."""

    values: dict[str, Any]
    symptoms: frozenset[str] = frozenset()


def step_index(name: str) -> int:
    """The step an answer is asked on."""
    return next(i for i, (_, _, names) in enumerate(STEPS) if name in names)


def checkbox(selected: bool, prompt: str) -> str:
    """A checkbox's state in text: ``[x] exhaustion`` / ``[ ] exhaustion``."""
    return f"[{'x' if selected else ' '}] {prompt}"


class WizardScreen(DialogScreen[Recommendation | None]):
    """Diagnose the workload on ``target`` starting from the console's configuration."""

    @dataclass
    class TargetMeasured(Message):
        figures: TargetFigures

    @dataclass
    class MeasurementFailed(Message):
        error: str

    @dataclass
    class QueryTimed(Message):
        query: str
        query_ms: float

    @dataclass
    class QueryTimingFailed(Message):
        query: str
        error: str

    @dataclass
    class BurstMeasured(Message):
        run: int
        which: str  # "current" | "recommended"
        measured: Measured

    @dataclass
    class VerificationFailed(Message):
        run: int
        error: str

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next", "Next", priority=True),
        Binding("ctrl+b", "back", "Back", priority=True),
        Binding("ctrl+t", "time_query", "Time the query"),
        Binding("v", "verify", "Verify"),
        Binding("a", "apply", "Apply"),
        Binding("escape", "cancel", "Cancel"),
        Binding("pagedown", "page(1)", "Scroll", key_display="pgdn/pgup"),  # 80x24 needs it
        Binding("pageup", "page(-1)", "Scroll", show=False),
    ]

    DEFAULT_CSS = """
    WizardScreen > #dialog {
        width: 116; height: 100%; max-height: 46;
    }
    WizardScreen #steps { height: 1fr; }
    WizardScreen #steps > VerticalScroll { height: 1fr; }
    WizardScreen .question { margin: 1 0 0 0; width: 1fr; }
    WizardScreen Input, WizardScreen Select { width: 60; }
    WizardScreen Input.-textual-compact { background: $boost; }
    WizardScreen SelectionList { width: 60; height: auto; }
    WizardScreen .hint { color: $text-muted; }
    WizardScreen #buttons { height: auto; margin: 1 0 0 0; }
    WizardScreen #buttons > Button { margin-right: 2; min-width: 10; }
    """

    def __init__(
        self,
        target: Target,
        current: PoolConfig,
        workload: Workload,
        *,
        verify_duration_s: float = VERIFY_DURATION_S,
        remembered: WizardMemory | None = None,
    ) -> None:
        super().__init__()
        self.target = target
        self.current = current
        self.workload = workload
        self.verify_duration_s = verify_duration_s
        self.step = 0
        self.figures: TargetFigures | None = None
        self.measure_error: str | None = None
        self.timed: dict[str, float] = {}  # query text -> its measured time (ms)
        self.recommendation: Recommendation | None = None
        self.verified: dict[str, Measured] | None = None  # None: not verified (yet)
        self.verifying = False
        self._verify_run = 0
        self._answers_used: Answers | None = None
        self._prefill: dict[str, str] = initial_prefill(workload)
        self._prefill_from_workload = frozenset(workload_answers(workload))
        self._touched: set[str] = set()  # answers the user edited: given, even if = prefill
        self._remembered = remembered
        self.memory: WizardMemory | None = None  # what the wizard keeps when it closes
        #: the workload verify ran (its pattern, rate, threads, hold): apply puts it in the
        #: sliders, so the next burst reproduces the verification
        self.applied_workload: Workload | None = None

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            with ContentSwitcher(initial="measure", id="steps"):
                with VerticalScroll(id="measure"):
                    yield Static(
                        f"Measuring {self.target.redacted}: connecting, timing "
                        f"{self.workload.query!r}, reading the server's limits...",
                        id="measure-status",
                        markup=False,
                    )
                    yield Static("", id="measure-figures")
                    yield Static(
                        "What is measured is prefilled in the next steps; change any "
                        "figure that is not true of your application. ctrl+n or enter "
                        "goes on, ctrl+b goes back.",
                        classes="hint",
                        markup=False,
                    )
                for step, _, names in STEPS[1:-1]:
                    with VerticalScroll(id=step):
                        for name in names:
                            yield from self._field(name)
                with VerticalScroll(id="result"):
                    yield Static("", id="changes")
                    yield Static("", id="advice")
                    yield Static("", id="prediction")
                    yield Static("", id="verify-status", markup=False)
                    yield Static("", id="assumed", classes="hint", markup=False)
            yield Static("", id="error", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Back", id="back", compact=True)
                yield Button("Next", id="next", variant="primary", compact=True)
                yield Button("Verify", id="verify", variant="warning", compact=True)
                yield Button("Apply", id="apply", variant="success", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield Footer()

    def _field(self, name: str) -> ComposeResult:
        yield Label(f"{ANSWER_HELP[name]} ({name})", classes="question", markup=False)
        if name in CHOICES:
            yield Select(
                [(value, value) for value in CHOICES[name]],
                value=self._prefill[name],
                allow_blank=False,
                compact=True,
                id=f"a-{name}",
            )
        elif name == "symptoms":
            yield SelectionList[str](
                *[(checkbox(False, s), s) for s in SYMPTOMS], compact=True, id="a-symptoms"
            )
        elif name == "query":
            yield Input(
                self._prefill["query"],
                placeholder="e.g. SELECT * FROM orders WHERE id = 42 (read-only; ctrl+t times it)",
                compact=True,
                id="a-query",
            )
            yield Static("", id="query-status", classes="hint", markup=False)
        else:
            yield Input(
                self._prefill[name],
                compact=True,
                id=f"a-{name}",
                placeholder="unknown" if NUMBERS[name][3] else "",
                validators=[AnswerValidator(name)],
                valid_empty=NUMBERS[name][3],
            )

    def on_mount(self) -> None:
        memory = self._remembered
        if memory is not None:  # the answers given last time, each where it is asked
            for name, value in memory.values.items():
                if name in CHOICES:
                    self.query_one(f"#a-{name}", Select).value = value
                else:
                    self.query_one(f"#a-{name}", Input).value = value
                self._touched.add(name)
            symptoms = self.query_one("#a-symptoms", SelectionList)
            for symptom in memory.symptoms:
                symptoms.select(symptom)
        self._show_step()
        self._measure(self.workload.query)

    def _remember(self) -> None:
        """Keep the answers given (the fields changed) for the next time the wizard opens."""
        values = {name: self._raw(name) for name in sorted(self._touched)}
        self.memory = WizardMemory(values, frozenset(self._raw("symptoms")))

    @on(SelectionList.SelectedChanged)
    def _symptoms_changed(self, event: SelectionList.SelectedChanged) -> None:
        """Each symptom says [x] or [ ] in text: its colour alone does not say it."""
        symptoms = event.selection_list
        for index, symptom in enumerate(SYMPTOMS):
            symptoms.replace_option_prompt_at_index(
                index, checkbox(symptom in symptoms.selected, symptom)
            )

    # --- answers ------------------------------------------------------------------------------

    def _raw(self, name: str) -> Any:
        if name in CHOICES:
            return self.query_one(f"#a-{name}", Select).value
        if name == "symptoms":
            return frozenset(self.query_one("#a-symptoms", SelectionList).selected)
        return self.query_one(f"#a-{name}", Input).value.strip()

    def _set_prefill(self, name: str, value: str) -> None:
        """A better default arrived (a measurement): show it unless the user changed the field."""
        field = self.query_one(f"#a-{name}", Input)
        untouched = name not in self._touched
        self._prefill[name] = value  # first: the Changed this posts must not count as an edit
        if untouched:
            field.value = value

    def answers(self) -> Answers:
        """The answers the fields hold now; unchanged ones are assumed. BadInput if wrong."""
        values: dict[str, Any] = {}
        assumed = set()
        for _, _, names in STEPS:
            for name in names:
                raw = self._raw(name)
                if name == "symptoms":
                    values[name] = raw
                    if not raw:
                        assumed.add(name)
                    continue
                if name not in self._touched and raw == self._prefill[name]:
                    assumed.add(name)
                if name in NUMBERS:
                    validator = AnswerValidator(name)
                    result = validator.validate(raw)
                    if not result.is_valid:
                        raise BadInput(result.failure_descriptions[0])
                    values[name] = validator.parse(raw)
                elif name == "query":
                    values[name] = raw or None
                else:
                    values[name] = raw
        answers = replace(DEFAULT_ANSWERS, **values, assumed=frozenset(assumed))
        validate_answers(answers)
        return answers

    def measurements(self) -> Measurements | None:
        """What was measured, with the query time only for the representative query typed."""
        if self.figures is None:
            return None
        query = self._raw("query")
        return replace(
            self.figures.measurements(), query_ms=self.timed.get(query) if query else None
        )

    # --- steps --------------------------------------------------------------------------------

    def _show_step(self) -> None:
        step, title, names = STEPS[self.step]
        self.query_one(ContentSwitcher).current = step
        dialog = self.query_one("#dialog")
        dialog.border_title = (
            f"Diagnose the workload · step {self.step + 1} of {len(STEPS)}: {title}"
        )
        last = step == "result"
        self.query_one("#back").display = self.step > 0
        self.query_one("#next").display = not last
        self.query_one("#verify").display = last
        self.query_one("#apply").display = last
        if names:
            self.query_one(f"#a-{names[0]}").focus()
        elif last:
            self.query_one("#apply").focus()
        else:
            self.query_one("#next").focus()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        step = STEP_IDS[self.step]
        if action in ("verify", "apply"):
            return step == "result"
        if action == "next":
            return step != "result"
        if action == "back":
            return self.step > 0
        if action == "time_query":
            return step == "queries"
        return True

    def action_next(self) -> None:
        step, _, names = STEPS[self.step]
        if step == "result":
            return
        for name in names:
            if name in NUMBERS:
                result = self.query_one(f"#a-{name}", Input).validate(self._raw(name))
                if result is not None and not result.is_valid:
                    self._set_error(result.failure_descriptions[0])
                    self.query_one(f"#a-{name}").focus()
                    return
        try:
            answers = self.answers()
        except AnswerRefused as error:
            if self._refused_here(error):
                self._show_refusal(error)
                return
            answers = None  # refused by an answer on a step still to come: refused there
        except PooltuiError as error:
            self._set_error(str(error))
            return
        try:
            if STEP_IDS[self.step + 1] == "result":
                assert answers is not None  # a refusal is never deferred past the last step
                self.recommendation = recommend(
                    answers, self.current, self.target.facts, self.measurements()
                )
                self._answers_used = answers
                self.verified = None
                self._verify_run += 1  # a verification still running is for older answers
                self.verifying = False
        except PooltuiError as error:
            self._set_error(str(error))
            return
        self._set_error("")
        self.step += 1
        if STEP_IDS[self.step] == "result":
            self._show_result()
        self._show_step()

    def _refused_here(self, error: AnswerRefused) -> bool:
        """Whether answers that cannot all be true stop the step being left: always before the
        recommendation, and when one of them is on this step and was changed; an assumed
        answer on a step not yet reached is refused there, where it can be seen."""
        if STEP_IDS[self.step + 1] == "result":
            return True
        if not any(step_index(name) > self.step for name in error.answers):
            return True
        return any(
            step_index(name) == self.step and name in self._touched for name in error.answers
        )

    def _assumed_now(self, name: str) -> bool:
        return name not in self._touched and self._raw(name) == self._prefill.get(name)

    def _show_refusal(self, error: AnswerRefused) -> None:
        """Show the refusal on the step of the answer likeliest to be wrong (one just typed on
        this step, else an assumed one, in the refusal's order), with its field focused."""
        shown = [name for name in error.answers if name in self._prefill]
        here = [name for name in shown if step_index(name) == self.step]
        typed = [name for name in here if name in self._touched]  # what was just typed
        assumed = [name for name in shown if self._assumed_now(name)]
        name = next(iter(typed or assumed or here or shown), None)
        sentence = str(error)
        if name is not None:
            if step_index(name) != self.step:
                self.step = step_index(name)
                self._show_step()
            self.query_one(f"#a-{name}").focus()
            value = self._raw(name)
            state = " (assumed: not your figure)" if self._assumed_now(name) else ""
            sentence += f" Change {name} = {value}{state} here, then go on."
        self._set_error(sentence)

    def action_back(self) -> None:
        if self.step > 0:
            self._set_error("")
            self.step -= 1
            self._show_step()

    def action_page(self, direction: int) -> None:
        """Scroll the current step (the recommendation is longer than a small terminal)."""
        step = self.query_one(f"#{STEP_IDS[self.step]}", VerticalScroll)
        (step.scroll_page_down if direction > 0 else step.scroll_page_up)()

    def action_cancel(self) -> None:
        self._remember()
        self.dismiss(None)

    def action_apply(self) -> None:
        if self.recommendation is not None and STEP_IDS[self.step] == "result":
            self._remember()
            answers = self._answers_used
            if answers is not None:
                try:
                    self.applied_workload = verify_workload(
                        answers,
                        query_ms=self._verify_query_ms(),
                        duration_s=self.verify_duration_s,
                    )
                except PooltuiError:  # no burst verifies these answers: the load stays
                    self.applied_workload = None
            self.dismiss(self.recommendation)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_next()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        actions = {
            "back": self.action_back,
            "next": self.action_next,
            "verify": self.action_verify,
            "apply": self.action_apply,
            "cancel": self.action_cancel,
        }
        actions[event.button.id or "cancel"]()

    @on(Input.Changed)
    @on(Select.Changed)
    def _edited(self, event: Input.Changed | Select.Changed) -> None:
        """A value other than the prefilled one is the user's: a given answer from now on."""
        name = (event.control.id or "").removeprefix("a-")
        if name in self._prefill and event.value != self._prefill[name]:
            self._touched.add(name)
        if (
            name == "complexity"
            and isinstance(event.value, str)
            and self._raw("query") not in self.timed
        ):
            self._set_prefill("query_ms", shown(TYPICAL_QUERY_MS[event.value]))

    # --- measuring ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="wizard-measure")
    def _measure(self, query: str) -> None:
        """Thread: time connect and the workload's query, read the server; post one message."""
        try:
            figures = measure_target(self.target, query if query.strip() else None)
        except Exception as error:
            self.post_message(self.MeasurementFailed(describe_db_error(error, self.target)))
        else:
            self.post_message(self.TargetMeasured(figures))

    @on(TargetMeasured)
    def _measured(self, message: TargetMeasured) -> None:
        f = self.figures = message.figures
        self.timed[f.query] = f.query_ms
        self.query_one("#measure-status", Static).update(
            f"Measured {self.target.redacted}: these figures replace the assumed answers."
        )
        self.query_one("#measure-figures", Static).update(figures_table(f, self.target.facts))
        self._set_prefill("connect_ms", f"{f.connect_ms:.3g}")
        if f.query == self._raw("query"):
            self._set_prefill("query_ms", f"{f.query_ms:.3g}")
        if f.query == self.workload.query:  # the workload's own query, its default SELECT 1 too
            self._prefill_hold(f.query_ms)

    def _prefill_hold(self, query_ms: float) -> None:
        """The console's workload holds its connection hold_ms after its query: the answer
        (the hold, query included) is both, with the query's measured time; a closed loop's
        rate with think time follows the hold (``workload_answers``). Only while the query
        field is the workload's query (left empty for its default SELECT 1: a round trip is
        no application query, yet it is what the workload's bursts run)."""
        raw = self._raw("query")
        if raw == self.workload.query or (not raw and "query" not in self._prefill_from_workload):
            read = workload_answers(self.workload, query_ms)
            for name in ("hold_ms", "peak_rate_per_s"):
                if name in read and name in self._prefill_from_workload:
                    self._set_prefill(name, shown(read[name]))

    @on(MeasurementFailed)
    def _measure_failed(self, message: MeasurementFailed) -> None:
        self.measure_error = message.error
        self.query_one("#measure-status", Static).update(
            f"Could not measure: {message.error} The wizard goes on with your answers instead "
            "of measured figures."
        )

    def action_time_query(self) -> None:
        query = self._raw("query")
        status = self.query_one("#query-status", Static)
        if not query:
            status.update("Type a representative read-only query first.")
            return
        status.update(f"Timing the query on {self.target.redacted}...")
        self._time_query(query)

    @work(thread=True, exclusive=True, exit_on_error=False, group="wizard-query")
    def _time_query(self, query: str) -> None:
        from pooltui.core.checks import measure_latencies

        try:
            timed = measure_latencies(self.target, query, QUERY_SAMPLES).query_ms
        except Exception as error:
            self.post_message(self.QueryTimingFailed(query, describe_db_error(error, self.target)))
        else:
            self.post_message(self.QueryTimed(query, timed))

    @on(QueryTimed)
    def _query_timed(self, message: QueryTimed) -> None:
        self.timed[message.query] = message.query_ms
        self.query_one("#query-status", Static).update(
            f"Measured: {ms(message.query_ms)} (median of {QUERY_SAMPLES}); it is now query_ms."
        )
        if self._raw("query") == message.query:
            self._set_prefill("query_ms", f"{message.query_ms:.3g}")
            self._prefill_hold(message.query_ms)

    @on(QueryTimingFailed)
    def _query_failed(self, message: QueryTimingFailed) -> None:
        self.query_one("#query-status", Static).update(f"Could not time it: {message.error}")

    # --- the recommendation and its verification ----------------------------------------------

    def _show_result(self) -> None:
        rec, answers = self.recommendation, self._answers_used
        assert rec is not None and answers is not None
        self.query_one("#changes", Static).update(changes_view(rec))
        self.query_one("#advice", Static).update(advice_text(rec))
        assumed = self.assumed_names(answers)
        self.query_one("#assumed", Static).update(
            "Assumed (left as prefilled, not measured): " + ", ".join(assumed)
            if assumed
            else "Every answer was given or measured."
        )
        self._show_prediction()
        workload = verify_workload(
            answers, query_ms=self._verify_query_ms(), duration_s=self.verify_duration_s
        )
        self.query_one("#verify-status", Static).update(
            f"v verifies: two bursts of {workload.duration_s:g} s on {self.target.redacted}, "
            f"{workload.threads} threads, Poisson {rate(workload.rate)}, {workload.query!r} "
            f"then {ms(workload.hold_ms)} held; first the current pool, then the "
            "recommended one. a applies the recommendation to the sliders."
        )

    def _show_prediction(self) -> None:
        rec, answers = self.recommendation, self._answers_used
        assert rec is not None and answers is not None
        self.query_one("#prediction", Static).update(prediction_table(rec, answers, self.verified))

    def assumed_names(self, answers: Answers) -> list[str]:
        """Answers left as prefilled and not replaced by a measurement, in question order."""
        return assumed_names(answers, self.measurements(), order=QUESTION_ORDER)

    def _verify_query_ms(self) -> float | None:
        query = self._raw("query")
        return self.timed.get(query) if query else None

    def action_verify(self) -> None:
        if self.recommendation is None or self._answers_used is None or self.verifying:
            return
        try:
            workload = verify_workload(
                self._answers_used,
                query_ms=self._verify_query_ms(),
                duration_s=self.verify_duration_s,
            )
        except PooltuiError as error:
            self._set_error(str(error))
            return
        self._verify_run += 1
        self.verifying = True
        self.verified = {}
        self.query_one("#verify-status", Static).update(
            f"Verifying: a {workload.duration_s:g} s burst on the current pool..."
        )
        self._show_prediction()
        self._verify(self._verify_run, self.recommendation.config, workload)

    @work(thread=True, exclusive=True, exit_on_error=False, group="wizard-verify")
    def _verify(self, run: int, recommended: PoolConfig, workload: Workload) -> None:
        """Thread: the same burst on both pools, each in a process of its own (as the console's
        bursts run); each result posted as it is measured."""
        stop = get_current_worker().cancelled_event
        try:
            for which, config in (("current", self.current), ("recommended", recommended)):
                if stop.is_set():
                    return
                result = run_hosted(verification, self.target, config, workload, stop=stop)
                self.post_message(self.BurstMeasured(run, which, result))
        except Exception as error:
            self.post_message(self.VerificationFailed(run, describe_db_error(error, self.target)))

    @on(BurstMeasured)
    def _burst_measured(self, message: BurstMeasured) -> None:
        if message.run != self._verify_run or self.verified is None:
            return
        self.verified[message.which] = message.measured
        done = len(self.verified) == 2
        self.verifying = not done
        status = (
            "Verified: the same burst on both pools; predicted beside measured. a applies."
            if done
            else "Verifying: now the same burst on the recommended pool..."
        )
        fatal = message.measured.result.fatal_error
        if fatal:
            status += f" The {message.which} run failed: {fatal}"
        if done and self.recommendation is not None and self._answers_used is not None:
            answers = self._answers_used
            per_process = answers.peak_rate_per_s / answers.processes
            notes = verify_notes(self.recommendation, per_process, self.verified)
            status += "".join(f"\n{note}" for note in notes)
        self.query_one("#verify-status", Static).update(status)
        self._show_prediction()

    @on(VerificationFailed)
    def _verification_failed(self, message: VerificationFailed) -> None:
        if message.run != self._verify_run:
            return
        self.verifying = False
        self.query_one("#verify-status", Static).update(
            f"Verification failed: {message.error} Press v to try again."
        )
