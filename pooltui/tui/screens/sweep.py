"""The sweep screen: ``pooltui tune`` in the console, drawn live.

Throughput and p95 latency against the pool size as the sweep measures them, the USL curve over
the points once four sizes are in, the knee (``k``) and N* (``*``) under the axis; a progress
bar with the time left; the search's trials and the proof as lines below; the status says the
server's load as the sweep's last probe saw it (other sessions, how many run a statement) while
the tune runs, and the report below has the sweep's range of both at the end (an 80x24 status
has no room for another line beside why a tune stopped).
``s`` stops (what was measured is kept and summarised), ``a`` applies the winner (the sliders
move to it: the screen is dismissed with the winner's configuration and workload). The tune
runs in a thread worker (core.tune.tuner.tune) that only posts the messages below; the
handlers own the state.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import var
from textual.widgets import Footer, ProgressBar, Static

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.errors import PooltuiError, describe_db_error
from pooltui.core.targets import Target
from pooltui.core.tune.sweep import Health, Point, summarise
from pooltui.core.tune.tuner import (
    Budget,
    TuneProgress,
    TuneRequest,
    TuneResult,
    winner_profile_config,
)
from pooltui.tui.screens.dialog import DialogScreen
from pooltui.tui.widgets.sweep_plot import SweepPlot

DEFAULT_BUDGET_S = 60.0
DEFAULT_RUN_S = 0.5


class SweepScreen(DialogScreen[tuple[PoolConfig, Workload] | None]):
    """Tune the console's configuration on ``target`` and offer the winner to the sliders."""

    @dataclass
    class PointMeasured(Message):
        """A sweep size was measured."""

        point: Point
        text: str
        elapsed_s: float
        left_s: float
        fraction: float

    @dataclass
    class StepFinished(Message):
        """A search trial or a proof run finished (``text`` says which and what it measured)."""

        phase: str
        text: str
        elapsed_s: float
        left_s: float
        fraction: float

    @dataclass
    class TuneFinished(Message):
        """The tune ended (its budget, a stop, or the server): everything it measured."""

        result: TuneResult

    @dataclass
    class TuneFailed(Message):
        """The tune could not start or run on: one sentence."""

        error: str

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "stop", "Stop"),
        Binding("a", "apply", "Apply the winner"),
        Binding("escape", "close", "Close"),
    ]
    DEFAULT_CSS = """
    SweepScreen > #dialog { width: 110; height: 90%; }
    SweepScreen #sweep-title { text-style: bold; height: 1; }
    SweepScreen #sweep-progress { height: 1; }
    SweepScreen #sweep-status { height: auto; color: $foreground-muted; }
    SweepScreen #sweep-log { height: 1fr; min-height: 2; max-height: 12; }
    /* the plots share what the status, the error and the log leave, so at 80x24 the sentence
       that says why a tune stopped stays on screen. The minimums must fit with a finished
       tune's status (winner, proof, what a does: 5 rows at 80 columns): when they did not,
       Textual gave every 1fr row 10 rows and the status and report fell below the dialog */
    SweepScreen SweepPlot { height: 1fr; min-height: 3; max-height: 14; }
    """

    running: var[bool] = var(False, init=False, bindings=True)
    #: what the console's key gives a tune (a test sets a shorter one)
    DEFAULT_BUDGET: ClassVar[Budget] = Budget(seconds=DEFAULT_BUDGET_S)
    DEFAULT_RUN_S: ClassVar[float] = DEFAULT_RUN_S

    def __init__(
        self,
        target: Target,
        config: PoolConfig,
        workload: Workload,
        *,
        budget: Budget | None = None,
        run_s: float | None = None,
        proof_rounds: int = 2,
    ) -> None:
        super().__init__()
        self.target = target
        self.request = TuneRequest(
            config=config,
            workload=workload,
            budget=budget or self.DEFAULT_BUDGET,
            run_s=run_s or self.DEFAULT_RUN_S,
            proof_rounds=proof_rounds,
            max_batches=1,
        )
        self.points: dict[int, Point] = {}
        self.result: TuneResult | None = None
        self.error: str | None = None
        self.lines: list[str] = []
        self.health: Health | None = None  # the server's, as the last sweep probe saw it
        self._stop = threading.Event()

    def compose(self) -> ComposeResult:
        budget = self.request.budget
        spent = f"{budget.seconds:g} s" if budget.seconds else f"{budget.trials} trials"
        with Vertical(id="dialog"):
            yield Static(
                f"Tune: sweep, fit, search, prove · {spent} · {self.request.run_s:g} s runs · "
                f"{self.request.workload.threads} threads",
                id="sweep-title",
            )
            yield SweepPlot("throughput vs pool size", "req/s", id="sweep-throughput")
            yield SweepPlot("p95 latency vs pool size", "ms", lower_is_better=True, id="sweep-p95")
            yield ProgressBar(total=100, show_eta=False, id="sweep-progress")
            yield Static("starting…", id="sweep-status")
            yield Static("", id="error")
            with VerticalScroll(id="sweep-log"):
                yield Static("", id="sweep-lines")
            yield Footer()

    def on_mount(self) -> None:
        self.running = True
        self._tune(self.request, self._stop)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return True if self.running and not self._stop.is_set() else None
        if action == "apply":
            return True if self.result is not None and self.result.best is not None else None
        return True

    # --- the worker ---------------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="tune")
    def _tune(self, request: TuneRequest, stop: threading.Event) -> None:
        from pooltui.core.host.job import run_hosted, tuning
        from pooltui.core.tune.display import progress_line

        def progress(_kind: str, p: TuneProgress) -> None:
            if p.point is not None:
                self.post_message(
                    self.PointMeasured(p.point, progress_line(p), p.elapsed_s, p.left_s, p.fraction)
                )
            elif p.trial is not None or p.run is not None:
                text = progress_line(p)
                phase = "search" if p.trial is not None else "proof"
                self.post_message(self.StepFinished(phase, text, p.elapsed_s, p.left_s, p.fraction))

        try:
            # in a process of its own, as the console's bursts: no UI beside its measurements
            result = run_hosted(tuning, self.target, request, stop=stop, on_report=progress)
        except PooltuiError as error:
            self.post_message(self.TuneFailed(str(error)))
        except Exception as error:
            self.post_message(self.TuneFailed(describe_db_error(error, self.target)))
        else:
            self.post_message(self.TuneFinished(result))

    # --- handlers: the state and the drawing --------------------------------------------------

    @on(PointMeasured)
    def _point_measured(self, event: PointMeasured) -> None:
        self.points[event.point.size] = event.point
        self.health = event.point.server or self.health
        self._draw()
        self._add_line(event.text)
        self._progress("sweep", event.left_s, event.fraction)

    @on(StepFinished)
    def _step_finished(self, event: StepFinished) -> None:
        self._add_line(event.text)
        self._progress(event.phase, event.left_s, event.fraction)

    @on(TuneFinished)
    def _tune_finished(self, event: TuneFinished) -> None:
        from pooltui.core.tune.display import format_tune

        self.result = event.result
        self.running = False
        self.refresh_bindings()
        if event.result.sweep is not None:
            self.points = {p.size: p for p in event.result.sweep.points}
        self._draw()
        self.query_one("#sweep-progress", ProgressBar).update(progress=100)
        best = event.result.best
        if best is not None:
            from pooltui.core.tune.display import config_line

            proof = event.result.proof
            status = (
                f"done. winner: {config_line(best.config, best.workload.threads)}\n"
                + (f"proof: {proof.sentence()}\n" if proof is not None else "")
                + (
                    "the start beat it side by side: a keeps the starting configuration"
                    if event.result.keeps_start
                    else "press a to move the sliders to the winner"
                )
            )
        else:
            status = "done: no configuration met the constraints"
        if event.result.stopped:
            status = "stopped: the report below keeps what was measured" + (
                "; a applies the best trial" if best is not None else ""
            )
        self.query_one("#sweep-status", Static).update(status)
        self.lines.append("")
        self.lines.extend(format_tune(event.result).splitlines())
        self.query_one("#sweep-lines", Static).update("\n".join(self.lines))
        if event.result.stop_reason:
            self._set_error(event.result.stop_reason)

    @on(TuneFailed)
    def _tune_failed(self, event: TuneFailed) -> None:
        self.error = event.error
        self.running = False
        self._set_error(event.error)
        self.query_one("#sweep-status", Static).update("the tune did not run to its end")

    def _progress(self, phase: str, left_s: float, fraction: float) -> None:
        self.query_one("#sweep-progress", ProgressBar).update(progress=round(fraction * 100))
        left = "" if math.isnan(left_s) else f", {left_s:.0f} s left"
        stopping = " (stopping…)" if self._stop.is_set() else ""
        health = "" if self.health is None else f" · {self.health.sentence()}"
        self.query_one("#sweep-status", Static).update(f"{phase}{left}{stopping}{health}")

    def _add_line(self, text: str) -> None:
        self.lines.append(text)
        self.query_one("#sweep-lines", Static).update("\n".join(self.lines))
        self.query_one("#sweep-log", VerticalScroll).scroll_end(animate=False)

    def _draw(self) -> None:
        """Both plots from the points measured so far, with the fit once it can be made."""
        sweep = summarise(
            self.points.values(),
            upper=max(self.points, default=1),
            headroom=None,
        )
        upper = max(self.request.workload.threads, max(self.points, default=1))
        if self.result is not None and self.result.sweep is not None:
            upper = self.result.sweep.upper
        x_range = (1.0, float(max(upper, 2)))
        marks: list[tuple[float, str]] = []
        curve = None
        if sweep.fit is not None:
            curve = sweep.fit.predict
            peak = sweep.fit.peak_n
            if peak is not None and 1 <= peak <= upper and not sweep.fit.kappa_is_zero:
                marks.append((peak, "*"))
        if sweep.knee is not None:
            marks.append((float(sweep.knee), "k"))
        points = sweep.points
        self.query_one("#sweep-throughput", SweepPlot).show(
            [(p.size, p.throughput) for p in points], x_range=x_range, curve=curve, marks=marks
        )
        self.query_one("#sweep-p95", SweepPlot).show(
            [(p.size, p.p95_ms) for p in points], x_range=x_range, marks=marks
        )

    # --- actions ------------------------------------------------------------------------------

    def action_stop(self) -> None:
        if self.running and not self._stop.is_set():
            self._stop.set()
            self.query_one("#sweep-status", Static).update("stopping… (the run in progress ends)")
            self.refresh_bindings()

    def action_apply(self) -> None:
        result = self.result
        if result is None or result.best is None:
            return
        self.dismiss(winner_profile_config(result))  # the start when the proof refuted it

    def action_close(self) -> None:
        self._stop.set()  # the worker ends its run through the stop path; nothing is applied
        self.dismiss(None)
