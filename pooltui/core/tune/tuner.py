"""A whole tune: sweep, fit, search, prove. What the CLI and the console call.

How a front end calls it (the CLI on its main thread, the console from a thread worker)::

    stop = threading.Event()                      # set it: the phase in progress ends after its
    def progress(p: TuneProgress) -> None: ...    # current run and the next phases are skipped
    result = tune(target, TuneRequest(config, workload, Budget(seconds=120)), stop=stop,
                  on_progress=progress)
    result.winner            # the PoolConfig to use (None: no trial met the constraints)
    result.proof.sentence()  # the gain with its interval

The budget is shared: the proof's rounds are set aside first (they are few and fixed), then the
sweep gets SWEEP_SHARE of the rest and the search what the sweep left. A budget in trials bounds
the search by its count and the sweep by MAX_POINTS only.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pooltui.core.compare.runner import RunDone
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.diagnosis.queueing import littles_law, min_connections_for
from pooltui.core.errors import BadInput
from pooltui.core.load.arrivals import is_open_loop
from pooltui.core.load.client_cpu import machine_cores
from pooltui.core.probes import LeftOpen
from pooltui.core.targets import Target
from pooltui.core.tune import deps
from pooltui.core.tune.measure import MAX_RUN_FACTOR, Plan
from pooltui.core.tune.proof import Proof, prove, rules_of_thumb
from pooltui.core.tune.search import (
    CONFIRMED,
    OBJECTIVES,
    Search,
    Space,
    Targets,
    Trial,
    confirmation_runs,
    run_search,
)
from pooltui.core.tune.sweep import Point, Sweep, run_sweep, size_config

SWEEP_SHARE = 0.45  # of the budget left after the proof's rounds
PROOF_ROUNDS = 3
RUN_OVERHEAD_S = 0.35  # per run beyond its duration: pool, pre-open, unmeasured run, close
MIN_SEARCH_TRIALS = 3


@dataclass(frozen=True)
class Budget:
    """Seconds for the whole tune, or trials for the search (or both: whichever ends first)."""

    seconds: float | None = None
    trials: int | None = None


@dataclass(frozen=True)
class TuneRequest:
    """What to tune: the starting configuration and workload, and how."""

    config: PoolConfig
    workload: Workload
    budget: Budget
    objective: str = "throughput"
    targets: Targets = field(default_factory=Targets)
    processes: int = 1
    run_s: float = 1.0  # one measured run of a point, a trial or the proof
    vary_threads: bool = False
    proof_rounds: int = PROOF_ROUNDS
    db_cores: int | None = None  # the database's cores for HikariCP's rule (None: this machine)
    spindles: int = 0
    seed: int = 0
    runs_per_batch: int = 2
    max_batches: int = 2


@dataclass(frozen=True)
class TuneProgress:
    """What ``on_progress`` gets: after every sweep point, trial and proof run."""

    phase: str  # "sweep" | "search" | "proof"
    elapsed_s: float
    left_s: float  # of the whole budget (nan for a budget in trials)
    fraction: float  # 0..1 of the whole tune, as far as can be told
    point: Point | None = None
    trial: Trial | None = None
    run: RunDone | None = None


@dataclass(frozen=True)
class CrossCheck:
    """The queueing models beside the measured knee."""

    busy_at_knee: float | None  # Little's law: throughput x mean service time
    service_ms: float | None
    erlang_c_size: int | None  # open loop: the M/M/N size for a 5 % chance of waiting

    def sentence(self, knee: int | None) -> str:
        if self.busy_at_knee is None or knee is None:
            return "no cross-check: the sweep measured no knee."
        text = (
            f"Little's law: at the knee each request held its connection {self.service_ms:.2f} ms, "
            f"so {self.busy_at_knee:.1f} connections were busy on average of the {knee} there"
        )
        if self.erlang_c_size is not None:
            text += (
                f"; Erlang C (M/M/N, 5 % of arrivals waiting) asks for {self.erlang_c_size} at "
                "that load"
            )
        return text + "."

    def as_dict(self) -> dict[str, Any]:
        return {
            "littles_law_busy_at_knee": None
            if self.busy_at_knee is None
            else round(self.busy_at_knee, 3),
            "service_ms": None if self.service_ms is None else round(self.service_ms, 4),
            "erlang_c_size": self.erlang_c_size,
        }


@dataclass(frozen=True)
class Phase:
    """Where a tune's time went: one phase's wall time and what it measured."""

    seconds: float
    measurements: int  # configurations measured (batches, for the confirmation)
    runs: int  # measured runs (each batch's unmeasured run not counted)
    low_confidence: int = 0  # measurements short of the requests their percentile needs
    ended_early: int = 0  # measurements ended at their first run with errors (infeasible)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "measurements": self.measurements,
            "runs": self.runs,
            "low_confidence": self.low_confidence,
            "ended_early": self.ended_early,
        }


@dataclass(frozen=True)
class TuneResult:
    request: TuneRequest
    sweep: Sweep | None
    search: Search | None
    proof: Proof | None
    cross_check: CrossCheck
    stopped: bool
    stop_reason: str | None
    seconds: float
    proof_seconds: float = 0.0

    @property
    def best(self) -> Trial | None:
        return None if self.search is None else self.search.best

    @property
    def winner(self) -> PoolConfig | None:
        best = self.best
        return None if best is None else best.config

    @property
    def winner_workload(self) -> Workload | None:
        best = self.best
        return None if best is None else best.workload

    @property
    def keeps_start(self) -> bool:
        """The proof measured the winner worse than the start: the start is the recommendation
        (what ``--format`` writes and the console's apply moves the sliders to)."""
        return self.best is not None and self.proof is not None and self.proof.refuted

    def as_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "objective": self.request.objective,
            "figure": OBJECTIVES[self.request.objective][0],
            "targets": self.request.targets.as_dict(),
            "processes": self.request.processes,
            "budget": {
                "seconds": self.request.budget.seconds,
                "trials": self.request.budget.trials,
            },
            "start": {"config": self.request.config.as_dict()},
            "winner": None
            if best is None
            else {
                "config": best.config.as_dict(),
                "threads": best.workload.threads,
                "value": round(best.value, 6),
                "trial": best.number,
            },
            "recommendation": None if best is None else ("start" if self.keeps_start else "winner"),
            "sweep": None if self.sweep is None else self.sweep.as_dict(),
            "search": None if self.search is None else self.search.as_dict(),
            "proof": None if self.proof is None else self.proof.as_dict(),
            "cross_check": self.cross_check.as_dict(),
            "stopped": self.stopped,
            "stop_reason": self.stop_reason,
            "seconds": round(self.seconds, 3),
            "phases": {name: phase.as_dict() for name, phase in phases(self).items()},
        }


def phases(result: TuneResult) -> dict[str, Phase]:
    """Per phase (sweep, search, confirm, proof) its time, measurements and runs: where a
    tune's fixed cost goes (bench/tune_quality.py prints it beside the grid's)."""
    found: dict[str, Phase] = {}
    sweep, search = result.sweep, result.search
    if sweep is not None:
        found["sweep"] = Phase(
            sweep.seconds,
            len(sweep.points),
            sum(len(p.measurement.runs) for p in sweep.points),
            sum(p.measurement.low_confidence for p in sweep.points),
            sum(p.measurement.ended_early for p in sweep.points),
        )
    if search is not None:
        trial_runs = sum(len(t.measurement.runs) for t in search.trials)
        confirmed_in_trials = sum(
            len(t.confirmation.runs) for t in search.trials if t.confirmation is not None
        )
        found["search"] = Phase(
            search.seconds - search.confirm_seconds,
            len(search.trials),
            trial_runs - confirmed_in_trials,
            sum(t.measurement.low_confidence for t in search.trials if t.confirmation is None),
            sum(t.measurement.ended_early for t in search.trials),
        )
        found["confirm"] = Phase(
            search.confirm_seconds,
            search.confirm_batches,
            search.confirm_runs,
            sum(t.judged.low_confidence for t in search.candidates if t.confirmation is not None),
            search.confirm_ended_early,
        )
    proof = result.proof
    if proof is not None and proof.comparison is not None:
        found["proof"] = Phase(
            result.proof_seconds, len(proof.comparison.runs), len(proof.comparison.runs)
        )
    return found


def proof_seconds(request: TuneRequest) -> float:
    """The proof's share, set aside first: its runs as long as proof_run_s makes them (at
    the workload's rate for an open loop; a closed loop's throughput is not known yet)."""
    run_s = _proof_run_s(request, _needed(request), request.workload.rate)
    return request.proof_rounds * 4 * (run_s + RUN_OVERHEAD_S)


def _needed(request: TuneRequest) -> int:
    figure = OBJECTIVES[request.objective][0]
    return Plan(objective=figure, judged=request.targets.figures()).needed


def point_seconds(request: TuneRequest) -> float:
    """A sweep point or a trial at most: its batches of runs and their overheads."""
    return request.max_batches * (request.runs_per_batch * request.run_s + 2 * RUN_OVERHEAD_S)


def confirm_seconds(request: TuneRequest) -> float:
    """The best trials' interleaved runs (search.confirm: a measurement's runs each, a fresh
    pool a run), after the search's own budget."""
    plan = Plan(runs_per_batch=request.runs_per_batch, max_batches=request.max_batches)
    return CONFIRMED * confirmation_runs(plan) * (request.run_s + RUN_OVERHEAD_S)


def check_request(request: TuneRequest) -> None:
    """BadInput for a request no tune can honour (before anything runs)."""
    if request.objective not in OBJECTIVES:
        raise BadInput(
            f"--objective {request.objective} is unknown: use one of {', '.join(OBJECTIVES)}."
        )
    if request.processes < 1:
        raise BadInput(f"--processes is {request.processes} but must be at least 1.")
    if not request.run_s > 0:
        raise BadInput(f"the point duration is {request.run_s:g} s but must be more than 0.")
    budget = request.budget
    if budget.seconds is None and budget.trials is None:
        raise BadInput("give a --budget: seconds (120) or trials (30t).")
    if budget.trials is not None and budget.trials < 1:
        raise BadInput(f"the budget of {budget.trials} trials must be at least 1.")
    if budget.seconds is not None:
        least = (
            proof_seconds(request)
            + confirm_seconds(request)
            + (4 + MIN_SEARCH_TRIALS) * point_seconds(request)
        )
        if budget.seconds < least:
            raise BadInput(
                f"a budget of {budget.seconds:g} s is too short for runs of {request.run_s:g} s: "
                f"give at least {math.ceil(least)} s (or shorter runs with --point-s)."
            )


def tune(
    target: Target,
    request: TuneRequest,
    *,
    stop: threading.Event | None = None,
    on_progress: Callable[[TuneProgress], None] | None = None,
) -> TuneResult:
    """Sweep, fit, search, prove; see the module doc. BadInput for a request that cannot run
    (or scipy/optuna missing); CannotConnect when the server cannot be reached at the start."""
    deps.require()
    check_request(request)
    stop = stop if stop is not None else threading.Event()
    started = time.monotonic()
    budget = request.budget
    total = budget.seconds
    figure, _higher = OBJECTIVES[request.objective]
    plan = Plan(
        run_s=request.run_s,
        runs_per_batch=request.runs_per_batch,
        max_batches=request.max_batches,
        objective=figure,
        judged=request.targets.figures(),  # their percentiles need requests too
    )

    def left() -> float:
        return math.nan if total is None else max(0.0, total - (time.monotonic() - started))

    def fraction(phase_done: float, phase: str) -> float:
        if total is not None:
            return min(1.0, (time.monotonic() - started) / total)
        base, width = {"sweep": (0.0, 0.35), "search": (0.35, 0.45), "proof": (0.8, 0.2)}[phase]
        return base + width * min(1.0, phase_done)

    def emit(phase: str, done: float, **what: Any) -> None:
        if on_progress is not None:
            elapsed = time.monotonic() - started
            on_progress(TuneProgress(phase, elapsed, left(), fraction(done, phase), **what))

    # --- sweep --------------------------------------------------------------------------------
    sweep_budget = None if total is None else SWEEP_SHARE * (total - proof_seconds(request))
    latency_target = request.targets.p99_ms
    sweep = run_sweep(
        target,
        request.config,
        request.workload,
        plan,
        stop=stop,
        budget_s=sweep_budget,
        processes=request.processes,
        latency_target_ms=latency_target,
        on_point=lambda p: emit("sweep", p.done / max(p.planned, 1), point=p.point),
    )
    reason = sweep.stop_reason
    search: Search | None = None
    proof: Proof | None = None

    # --- search -------------------------------------------------------------------------------
    if not stop.is_set() and reason is None and sweep.points:
        space = Space(
            max_size=sweep.upper,
            threads=(1, request.workload.threads) if request.vary_threads else None,
        )
        search_budget = None
        if total is not None:
            reserved = proof_seconds(request) + confirm_seconds(request)
            search_budget = max(0.0, total - (time.monotonic() - started) - reserved)
        # the knee as swept, the knee without ping and reset, then (threads varying) the
        # thread start before the rest, so that a short budget measures it too
        pairs = [(c, request.workload) for c in search_starts(request.config, sweep)]
        pairs[2:2] = thread_starts(request.config, request.workload, sweep, space)
        search = run_search(
            target,
            request.config,
            request.workload,
            plan,
            space,
            objective=request.objective,
            targets=request.targets,
            headroom=sweep.headroom,
            budget_s=search_budget,
            trials=budget.trials,
            seed=request.seed,
            start_pairs=pairs,
            seeds=[p.measurement for p in sweep.points],
            stop=stop,
            on_trial=lambda t: emit(
                "search",
                (t.number + 1) / budget.trials if budget.trials else 0.0,
                trial=t,
            ),
        )
        reason = search.stop_reason

    # --- proof --------------------------------------------------------------------------------
    cores = request.db_cores or machine_cores()
    rules = rules_of_thumb(sweep, request.workload, cores, request.spindles)
    proof_started = time.monotonic()
    if search is not None and search.best is not None and not stop.is_set() and reason is None:
        best = search.best
        proof = prove(
            target,
            (request.config, request.workload),
            (best.config, best.workload),
            figure=figure,
            rounds=request.proof_rounds,
            run_s=proof_run_s(request, plan, best),
            rules=rules,
            stop=stop,
            on_progress=lambda done: emit("proof", done.index / done.total, run=done),
        )
    elif search is not None:
        proof = Proof(None, figure, _no_proof(search, stop.is_set(), reason), rules)
    return TuneResult(
        request=request,
        sweep=sweep,
        search=search,
        proof=proof,
        cross_check=cross_check(sweep, request.workload),
        stopped=stop.is_set(),
        stop_reason=reason,
        seconds=time.monotonic() - started,
        proof_seconds=time.monotonic() - proof_started,
    )


def proof_run_s(request: TuneRequest, plan: Plan, best: Trial) -> float:
    """The proof's run length: the tune's, or longer when its figure is a percentile, so that
    each side's runs pool the requests it needs (plan.needed over the 2 x rounds runs a side
    has, at the workload's rate for an open loop, else at the winner's measured throughput),
    within measure.MAX_RUN_FACTOR of the tune's."""
    rate = request.workload.rate if is_open_loop(request.workload.pattern) else 0.0
    return _proof_run_s(request, plan.needed, rate or best.judged.figure("throughput_rps").median)


def _proof_run_s(request: TuneRequest, needed: int, rate: float) -> float:
    if not needed or not rate > 0:
        return request.run_s
    wanted = 1.1 * needed / (rate * 2 * request.proof_rounds)
    return min(max(request.run_s, wanted), MAX_RUN_FACTOR * request.run_s)


def thread_starts(
    config: PoolConfig, workload: Workload, sweep: Sweep, space: Space
) -> list[tuple[PoolConfig, Workload]]:
    """With the thread count free (--vary-threads), one more start: the peak's pool (without
    ping and reset) with as many threads as connections, so no thread waits for one and the
    search measures a thread count other than the user's from its first trials instead of
    only if TPE wanders there."""
    if space.threads is None or sweep.peak is None:
        return []
    low, high = space.threads
    threads = min(max(sweep.peak, low), high)
    if threads == workload.threads:
        return []
    pool = replace(size_config(config, sweep.peak), ping=0, reset=False)
    return [(pool, replace(workload, threads=threads))]


def search_starts(config: PoolConfig, sweep: Sweep) -> list[PoolConfig]:
    """The search's first trials: the knee as swept, then the knee, the peak and the top of the
    range without a checkout ping and a rollback on return (each a round trip per request:
    DBUtils' ping=1 and reset=True), then the starting configuration. The top is there because
    a single noisy batch can put the measured peak and knee at size 1 (it did, under load), and
    a search started only there never looks up. TPE's model starts where the curve and
    the cheapest settings say the answer is, instead of at random. The sweep's points are the
    search's seeds (told to the study with their values), so a start the sweep measured
    already, like the knee as swept, is not measured again."""
    sizes = [n for n in dict.fromkeys((sweep.knee, sweep.peak, sweep.upper)) if n]
    starts = [size_config(config, n) for n in sizes[:1]]
    starts += [replace(size_config(config, n), ping=0, reset=False) for n in sizes]
    return [*starts, config]


def _no_proof(search: Search, stopped: bool, reason: str | None) -> str:
    if stopped:
        return "the tune was stopped before the proof."
    if reason:
        return reason
    if search.best is None:
        return "no trial met the constraints, so there is no winner to prove."
    return "the proof did not run."


def cross_check(sweep: Sweep, workload: Workload) -> CrossCheck:
    """Little's law at the knee (and, for an open loop, Erlang C's size at the same load)."""
    point = sweep.point(sweep.knee) if sweep.knee is not None else None
    if point is None or not point.measurement.complete:
        return CrossCheck(None, None, None)
    runs = point.measurement.complete
    service_ms = sum(r.query.mean + r.hold.mean for r in runs) / len(runs)
    throughput = point.throughput
    if service_ms <= 0:
        return CrossCheck(None, None, None)
    busy = littles_law(throughput, service_ms / 1000.0)
    erlang = None
    if is_open_loop(workload.pattern) and workload.rate > 0:
        offered = littles_law(workload.rate, service_ms / 1000.0)
        erlang = min_connections_for(offered, max_wait_probability=0.05, hold_s=service_ms / 1000.0)
    return CrossCheck(busy, service_ms, erlang)


def winner_profile_config(result: TuneResult) -> tuple[PoolConfig, Workload] | None:
    """What to use: the winner and its workload (the user's, with the threads the search
    chose), or the start and the user's workload when the proof measured the winner worse."""
    best = result.best
    if best is None:
        return None
    if result.keeps_start:
        return result.request.config, result.request.workload
    return best.config, replace(result.request.workload, threads=best.workload.threads)


def closed(result: TuneResult) -> dict[str, LeftOpen]:
    """Per phase, what the server still has of every pool the phase built (summed)."""
    phases: dict[str, list[LeftOpen]] = {"sweep": [], "search": [], "proof": []}
    if result.sweep is not None:
        for point in result.sweep.points:
            phases["sweep"].extend(point.measurement.closed)
    if result.search is not None:
        for trial in result.search.trials:
            phases["search"].extend(trial.measurement.closed)
    if result.proof is not None and result.proof.comparison is not None:
        phases["proof"].extend(result.proof.comparison.outcome.closed.values())
    summed = {}
    for phase, lefts in phases.items():
        if lefts:
            summed[phase] = LeftOpen(
                sum(left.sessions for left in lefts),
                all(left.verified for left in lefts),
                sum(left.ended for left in lefts),
                all(left.server for left in lefts),
            )
    return summed


def parse_budget(text: str) -> Budget:
    """``120`` or ``120s`` seconds, ``2m`` minutes, ``30t`` or ``30trials`` trials."""
    raw = text.strip().lower().replace(" ", "")
    units = (("trials", "t"), ("trial", "t"), ("t", "t"), ("s", "s"), ("m", "m"))
    number, unit = raw, "s"
    for suffix, kind in units:
        if raw.endswith(suffix) and raw[: -len(suffix)]:
            number, unit = raw[: -len(suffix)], kind
            break
    try:
        value = float(number)
    except ValueError:
        raise BadInput(
            f"--budget {text!r} is not a budget: give seconds (120, 120s, 2m) or trials (30t)."
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise BadInput(f"--budget {text!r} must be more than 0.")
    if unit == "t":
        if value != int(value):
            raise BadInput(f"--budget {text!r}: a count of trials is a whole number.")
        return Budget(trials=int(value))
    return Budget(seconds=value * (60.0 if unit == "m" else 1.0))
