"""The search beyond the size: ``maxconnections``, ``maxcached``, ``mincached``, ``ping``,
``reset``, ``blocking`` (and the thread count when the user lets it vary) under constraints,
with Optuna's TPE sampler (seeded, in-memory, ask/tell: the measuring loop stays ours, so
``stop`` and the budget end it between trials and every trial keeps its runs).

Constraints: no errors; connections within the server's headroom for this process (the search
space itself ends there, so no trial can ask for more; the measured peak is checked too);
p99 latency and acquire p99 under their targets when given. TPE is told each trial's
constraint value (> 0: infeasible), so it learns where the feasible region is. The search
starts from the sweep's knee and peak (and the starting configuration), enqueued as its first
trials, so its model starts where the curve says the answer is.

Objectives: ``throughput`` (higher is better, the runs' median) or ``p99`` (the p99 latency
at the workload's rate: lower is better).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.errors import PooltuiError
from pooltui.core.targets import Target
from pooltui.core.tune.measure import Measurement, Plan, measure, spreads_of

if TYPE_CHECKING:
    import optuna

OBJECTIVES = {  # name -> (the figure, higher is better)
    "throughput": ("throughput_rps", True),
    "p99": ("p99_latency_ms", False),
}


@dataclass(frozen=True)
class Targets:
    """The user's limits: a trial over one is infeasible."""

    p99_ms: float | None = None
    acquire_p99_ms: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        return {"p99_latency_ms": self.p99_ms, "p99_acquire_ms": self.acquire_p99_ms}


@dataclass(frozen=True)
class Space:
    """What the search may vary, and within what."""

    max_size: int  # the headroom (and the workload's use) caps maxconnections
    threads: tuple[int, int] | None = None  # (low, high) when the thread count may vary
    min_size: int = 1


@dataclass(frozen=True)
class Trial:
    """One configuration measured: its objective with its noise, and why it is (in)feasible."""

    number: int
    config: PoolConfig
    workload: Workload
    measurement: Measurement
    value: float  # the objective's median
    violations: tuple[str, ...]  # empty: feasible

    @property
    def feasible(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "value": round(self.value, 6) if math.isfinite(self.value) else None,
            "feasible": self.feasible,
            "violations": list(self.violations),
            **self.measurement.as_dict(),
        }


@dataclass(frozen=True)
class Search:
    """Every trial in order, and the winner."""

    objective: str
    trials: tuple[Trial, ...]
    best: Trial | None
    stopped: bool
    stop_reason: str | None
    seconds: float
    headroom: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "trials": [t.as_dict() for t in self.trials],
            "best": None if self.best is None else self.best.number,
            "stopped": self.stopped,
            "stop_reason": self.stop_reason,
            "seconds": round(self.seconds, 3),
            "headroom": self.headroom,
        }


def violations(
    m: Measurement, targets: Targets, headroom: int | None, threads: int
) -> tuple[str, ...]:
    """Why a measured trial is infeasible (nothing: it is feasible)."""
    found = []
    if not m.usable:
        found.append(m.fatal_error or "no run completed")
    if m.errors:
        found.append(f"{m.errors} errors")
    if headroom is not None:
        most = m.config.maxconnections or max(threads, m.config.mincached)
        if most > headroom or m.peak_open > headroom:
            found.append(f"{max(most, m.peak_open)} connections beyond the headroom {headroom}")
    p99 = m.figure("p99_latency_ms").median
    if targets.p99_ms is not None and p99 > targets.p99_ms:
        found.append(f"p99 {p99:.2f} ms over the target {targets.p99_ms:g} ms")
    acquire = m.figure("p99_acquire_ms").median
    if targets.acquire_p99_ms is not None and acquire > targets.acquire_p99_ms:
        found.append(f"acquire p99 {acquire:.2f} ms over the target {targets.acquire_p99_ms:g} ms")
    return tuple(found)


def constraint_value(m: Measurement, targets: Targets, headroom: int | None) -> float:
    """One number for TPE: <= 0 feasible, else how far out (errors count most)."""
    if not m.usable:
        return 1e6
    value = float(m.errors)
    if headroom is not None:
        value += max(0, (m.config.maxconnections or 0) - headroom, m.peak_open - headroom)
    p99 = m.figure("p99_latency_ms").median
    if targets.p99_ms is not None:
        value += max(0.0, p99 / targets.p99_ms - 1.0)
    acquire = m.figure("p99_acquire_ms").median
    if targets.acquire_p99_ms is not None and targets.acquire_p99_ms > 0:
        value += max(0.0, acquire / targets.acquire_p99_ms - 1.0)
    elif targets.acquire_p99_ms is not None:
        value += acquire
    return value if value > 0 else -1.0


def suggest(
    trial: optuna.Trial, space: Space, base: PoolConfig, workload: Workload
) -> tuple[PoolConfig, Workload]:
    """One configuration from the trial (maxcached and mincached within the size)."""
    size = trial.suggest_int("maxconnections", space.min_size, space.max_size)
    cached = trial.suggest_int("maxcached", 1, space.max_size)
    minimum = trial.suggest_int("mincached", 0, space.max_size)
    config = replace(
        base,
        maxconnections=size,
        maxcached=min(cached, size),
        mincached=min(minimum, cached, size),
        maxshared=0,
        ping=trial.suggest_categorical("ping", [0, 1]),
        reset=trial.suggest_categorical("reset", [True, False]),
        blocking=trial.suggest_categorical("blocking", [True, False]),
    )
    if space.threads is not None:
        workload = replace(workload, threads=trial.suggest_int("threads", *space.threads))
    return config, workload


def params_of(config: PoolConfig, workload: Workload, space: Space) -> dict[str, Any]:
    """A configuration as the trial parameters that suggest() turns back into it."""
    size = min(max(config.maxconnections or space.max_size, space.min_size), space.max_size)
    params: dict[str, Any] = {
        "maxconnections": size,
        "maxcached": min(max(config.maxcached or size, 1), space.max_size),
        "mincached": min(config.mincached, space.max_size),
        "ping": 1 if config.ping else 0,
        "reset": config.reset,
        "blocking": config.blocking,
    }
    if space.threads is not None:
        params["threads"] = min(max(workload.threads, space.threads[0]), space.threads[1])
    return params


def run_search(
    target: Target,
    base: PoolConfig,
    workload: Workload,
    plan: Plan,
    space: Space,
    *,
    objective: str = "throughput",
    targets: Targets | None = None,
    headroom: int | None = None,
    budget_s: float | None = None,
    trials: int | None = None,
    seed: int = 0,
    starts: Sequence[PoolConfig] = (),
    stop: threading.Event | None = None,
    on_trial: Callable[[Trial], None] | None = None,
) -> Search:
    """Trials until ``trials`` are done, ``budget_s`` is spent or ``stop`` is set (at least one
    of the first two should be given); see the module doc."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    figure, higher = OBJECTIVES[objective]
    targets = targets or Targets()
    stop = stop if stop is not None else threading.Event()
    plan = replace(plan, objective=figure)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=4)
    study = optuna.create_study(direction="maximize" if higher else "minimize", sampler=sampler)
    seen: set[tuple[Any, ...]] = set()
    for config in starts:
        params = params_of(config, workload, space)
        key = tuple(sorted(params.items()))
        if key not in seen:
            seen.add(key)
            study.enqueue_trial(params)
    started = time.monotonic()
    deadline = None if budget_s is None else started + budget_s
    done: list[Trial] = []
    reason: str | None = None
    while not stop.is_set():
        if trials is not None and len(done) >= trials:
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        if trials is None and deadline is None:
            break
        ask = study.ask()
        config, trial_workload = suggest(ask, space, base, workload)
        try:
            m = measure(target, config, trial_workload, plan, stop=stop, deadline=deadline)
        except PooltuiError as error:
            study.tell(ask, state=optuna.trial.TrialState.FAIL)
            reason = f"The search stopped at trial {len(done) + 1}: {error}"
            break
        if m.stopped and not m.usable:
            study.tell(ask, state=optuna.trial.TrialState.FAIL)
            break
        value = m.figure(figure).median if m.usable else math.nan
        ask.set_constraint("feasible", constraint_value(m, targets, headroom))
        if m.usable:
            study.tell(ask, value)
        else:
            study.tell(ask, state=optuna.trial.TrialState.FAIL)
        trial = Trial(
            number=len(done),
            config=config,
            workload=trial_workload,
            measurement=m,
            value=value,
            violations=violations(m, targets, headroom, trial_workload.threads),
        )
        done.append(trial)
        if on_trial is not None:
            on_trial(trial)
    if not stop.is_set() and reason is None:
        done = confirm(target, done, plan, higher, stop=stop, targets=targets, headroom=headroom)
    return Search(
        objective=objective,
        trials=tuple(done),
        best=pick(done, higher),
        stopped=stop.is_set(),
        stop_reason=reason,
        seconds=time.monotonic() - started,
        headroom=headroom,
    )


CONFIRMED = 3  # the best feasible trials measured once more before the winner is picked


def confirm(
    target: Target,
    trials: list[Trial],
    plan: Plan,
    higher: bool,
    *,
    stop: threading.Event,
    targets: Targets,
    headroom: int | None,
) -> list[Trial]:
    """The CONFIRMED best feasible trials measured again (one more batch on a fresh pool each,
    their runs added to the trial's): the best of many noisy trials is the luckiest as often as
    the best (the winner's curse), and a second batch of its own pulls a lucky one back."""
    feasible = [t for t in trials if t.feasible and math.isfinite(t.value)]
    ranked = sorted(feasible, key=lambda t: -t.value if higher else t.value)[:CONFIRMED]
    if len(feasible) < 2:
        return trials
    figure = plan.objective
    again = replace(plan, max_batches=1)
    updated = {t.number: t for t in trials}
    for t in ranked:
        if stop.is_set():
            break
        try:
            m = measure(target, t.config, t.workload, again, stop=stop)
        except PooltuiError:
            break
        if not m.usable:
            break
        runs = t.measurement.runs + m.runs
        complete = tuple(r for r in runs if not r.stopped and r.fatal_error is None)
        merged = replace(
            t.measurement,
            runs=runs,
            closed=t.measurement.closed + m.closed,
            seconds=t.measurement.seconds + m.seconds,
            spreads=spreads_of(complete or runs),
        )
        updated[t.number] = replace(
            t,
            measurement=merged,
            value=merged.figure(figure).median,
            violations=violations(merged, targets, headroom, t.workload.threads),
        )
    return [updated[t.number] for t in trials]


PICK_TOLERANCE = 0.05  # a smaller pool wins when its median is within this share of the best


def pick(trials: Sequence[Trial], higher: bool) -> Trial | None:
    """The winner: among the feasible trials whose median is within PICK_TOLERANCE of the
    best one's, the one with the fewest connections (then threads, then the better median).
    A difference that small is no reason for a bigger pool. Not "within the best's noise
    band": on a loaded machine that band is wide enough to crown a pool of one."""
    feasible = [t for t in trials if t.feasible and math.isfinite(t.value)]
    if not feasible:
        return None
    best = max(feasible, key=lambda t: t.value if higher else -t.value)

    def close(t: Trial) -> bool:
        if higher:
            return t.value >= (1 - PICK_TOLERANCE) * best.value
        return t.value <= (1 + PICK_TOLERANCE) * best.value

    return min(
        (t for t in feasible if close(t)),
        key=lambda t: (
            t.config.maxconnections,
            t.workload.threads,
            -t.value if higher else t.value,
        ),
    )
