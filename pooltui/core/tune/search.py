"""The search beyond the size: ``maxconnections`` (``maxcached`` following), ``ping``,
``reset``, ``blocking`` (and the thread count when the user lets it vary; SEARCHED says why not
mincached and maxcached) under constraints, with Optuna's TPE sampler (seeded, in-memory,
ask/tell: the measuring loop stays ours, so ``stop`` and the budget end it between trials and
every trial keeps its runs).

Constraints: no errors; connections within the server's headroom for this process (the search
space itself ends there, so no trial can ask for more; the measured peak is checked too);
p99 latency and acquire p99 under their targets when given. TPE is told each trial's
constraint value (> 0: infeasible), so it learns where the feasible region is. The sweep's
points are told to the study as finished trials (seeds, not measured again), then the search
starts from the sweep's knee and peak (and the starting configuration), enqueued as its first
trials, so its model starts where the curve says the answer is. A configuration measured
already (``same_as``) is answered from its measurement, not measured twice.

Objectives: ``throughput`` (higher is better, the runs' median) or ``p99`` (the p99 latency
at the workload's rate over every request of the runs: lower is better).
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
from pooltui.core.load.arrivals import is_open_loop
from pooltui.core.targets import Target
from pooltui.core.tune.measure import (
    MAX_RUN_FACTOR,
    Measurement,
    Plan,
    measure,
    pooled_requests,
    spreads_of,
)

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

    def figures(self) -> tuple[str, ...]:
        """The figures the targets judge by (a trial's measurement needs their requests)."""
        return tuple(name for name, limit in self.as_dict().items() if limit is not None)


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
    value: float  # the objective (Measurement.value: pooled for a percentile)
    violations: tuple[str, ...]  # empty: feasible
    source: str = "search"  # "sweep": a sweep point the search took as a trial (not re-run)
    confirmed: bool = False  # measured again by confirm(), side by side with the other best
    confirmation: Measurement | None = None  # those runs alone: what value is then read from

    @property
    def judged(self) -> Measurement:
        """The runs the value is read from: the confirmation's when there is one."""
        return self.confirmation or self.measurement

    @property
    def feasible(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "source": self.source,
            "confirmed": self.confirmed,
            "confirmation": None
            if self.confirmation is None
            else {k: v.as_dict() for k, v in self.confirmation.spreads.items()},
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
    seeded: tuple[Trial, ...] = ()  # the sweep's points, taken as trials without a re-run
    smaller: Trial | None = None  # the smallest pool within noise of the best (not picked)
    answered: int = 0  # asks answered from an earlier measurement (not measured again)
    confirm_seconds: float = 0.0  # of ``seconds``, the confirmation's
    confirm_batches: int = 0
    confirm_runs: int = 0
    confirm_ended_early: int = 0
    early_stop: str | None = None  # why the search ended before its budget (PATIENCE)

    @property
    def candidates(self) -> tuple[Trial, ...]:
        return self.seeded + self.trials

    def as_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "trials": [t.as_dict() for t in self.trials],
            "seeded": [t.as_dict() for t in self.seeded],
            "best": None if self.best is None else self.best.number,
            "smaller_within_noise": None if self.smaller is None else self.smaller.number,
            "stopped": self.stopped,
            "stop_reason": self.stop_reason,
            "seconds": round(self.seconds, 3),
            "headroom": self.headroom,
            "answered_from_earlier": self.answered,
            "confirm": {
                "seconds": round(self.confirm_seconds, 3),
                "batches": self.confirm_batches,
                "runs": self.confirm_runs,
                "ended_early": self.confirm_ended_early,
            },
            "early_stop": self.early_stop,
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
    p99 = m.value("p99_latency_ms")
    if targets.p99_ms is not None and p99 > targets.p99_ms:
        found.append(f"p99 {p99:.2f} ms over the target {targets.p99_ms:g} ms")
    acquire = m.value("p99_acquire_ms")
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
    p99 = m.value("p99_latency_ms")
    if targets.p99_ms is not None:
        value += max(0.0, p99 / targets.p99_ms - 1.0)
    acquire = m.value("p99_acquire_ms")
    if targets.acquire_p99_ms is not None and targets.acquire_p99_ms > 0:
        value += max(0.0, acquire / targets.acquire_p99_ms - 1.0)
    elif targets.acquire_p99_ms is not None:
        value += acquire
    return value if value > 0 else -1.0


def suggest(
    trial: optuna.Trial, space: Space, base: PoolConfig, workload: Workload
) -> tuple[PoolConfig, Workload]:
    """One configuration from the trial. ``maxcached`` follows the size and ``mincached`` stays
    the starting one's (within the size): see SEARCHED. ``blocking`` is a parameter of the
    trial only where the pool has a connection for every thread (see blocking_searched);
    below that it is True."""
    size = trial.suggest_int("maxconnections", space.min_size, space.max_size)
    ping = trial.suggest_categorical("ping", [0, 1])
    reset = trial.suggest_categorical("reset", [True, False])
    if space.threads is not None:
        workload = replace(workload, threads=trial.suggest_int("threads", *space.threads))
    blocking = True
    if blocking_searched(size, workload.threads):
        blocking = trial.suggest_categorical("blocking", [True, False])
    config = replace(
        base,
        maxconnections=size,
        maxcached=size,
        mincached=min(base.mincached, size),
        maxshared=0,
        ping=ping,
        reset=reset,
        blocking=blocking,
    )
    return config, workload


def blocking_searched(size: int, threads: int) -> bool:
    """Whether ``blocking`` is a dimension at this size (Optuna's define-by-run conditional
    parameter: it is suggested only in this branch). Below the threads, ``blocking=False``
    can only fail: a closed loop's threads, or an open loop's workers, ask for more
    connections than the pool may open, and each one beyond is a rejection (an error: the
    trial is infeasible). TPE proposed it anyway and spent trials on it, so there the pool
    blocks and the parameter does not exist."""
    return size >= threads


#: What the search varies. Not ``maxcached`` below the size: a connection returned beyond it is
#: closed and the next request opens one, which no objective here rewards (it saves the
#: server idle sessions, which none measures). Not ``mincached``: every measured pool has its
#: connections open before it is timed, so mincached cannot change a measured figure, and a
#: dimension the objective cannot see only lets the search crown noise (PostgreSQL's "fast"
#: workload picked maxcached=7 mincached=7 from one lucky batch: bench/tune_quality.py).
#: ``blocking`` only from the threads up (blocking_searched).
SEARCHED = ("maxconnections", "ping", "reset", "blocking")


def distributions(space: Space, params: dict[str, Any]) -> dict[str, Any]:
    """Optuna's distributions of the parameters ``params`` has (a trial measured elsewhere:
    suggest()'s, with ``blocking`` only where it is searched)."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    found: dict[str, Any] = {
        "maxconnections": IntDistribution(space.min_size, space.max_size),
        "ping": CategoricalDistribution([0, 1]),
        "reset": CategoricalDistribution([True, False]),
        "blocking": CategoricalDistribution([True, False]),
    }
    if space.threads is not None:
        found["threads"] = IntDistribution(*space.threads)
    return {name: found[name] for name in params}


def params_of(config: PoolConfig, workload: Workload, space: Space) -> dict[str, Any]:
    """A configuration as the trial parameters that suggest() turns back into it (blocking
    below the threads is not one: suggest() makes such a pool block)."""
    size = min(max(config.maxconnections or space.max_size, space.min_size), space.max_size)
    params: dict[str, Any] = {
        "maxconnections": size,
        "ping": 1 if config.ping else 0,
        "reset": config.reset,
    }
    threads = workload.threads
    if space.threads is not None:
        threads = min(max(workload.threads, space.threads[0]), space.threads[1])
        params["threads"] = threads
    if blocking_searched(size, threads):
        params["blocking"] = config.blocking
    return params


MAX_REPEATS = 50  # asks answered from earlier measurements before a repeat is measured


def same_as(config: PoolConfig, workload: Workload) -> tuple[Any, ...]:
    """What makes two searched configurations measure alike: ``blocking`` only matters below
    the thread count (a closed loop holds at most one connection a thread, an open loop's
    workers are its threads), so a pool of the threads' size blocks or not to the same effect."""
    blocks = config.blocking or config.maxconnections >= workload.threads
    return (config.maxconnections, bool(config.ping), config.reset, blocks, workload.threads)


def _as_suggested(
    params: dict[str, Any], base: PoolConfig, workload: Workload, space: Space
) -> tuple[PoolConfig, Workload]:
    """suggest()'s configuration for fixed parameters (what an enqueued start will measure)."""
    import optuna

    fixed = optuna.trial.FixedTrial(params)
    return suggest(fixed, space, base, workload)  # type: ignore[arg-type]


def in_space(m: Measurement, space: Space) -> bool:
    """A measurement suggest() could have asked for (its size within the space, maxcached
    following it): one the search may take as a trial of its own."""
    c = m.config
    size = c.maxconnections
    if not space.min_size <= size <= space.max_size or c.maxcached != size or c.maxshared:
        return False
    if c.ping not in (0, 1):
        return False
    if not c.blocking and not blocking_searched(size, m.workload.threads):
        return False  # no trial asks for it (suggest() makes such a pool block)
    if space.threads is None:
        return True
    return space.threads[0] <= m.workload.threads <= space.threads[1]


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
    start_pairs: Sequence[tuple[PoolConfig, Workload]] = (),
    seeds: Sequence[Measurement] = (),
    stop: threading.Event | None = None,
    on_trial: Callable[[Trial], None] | None = None,
) -> Search:
    """Trials until ``trials`` are done, ``budget_s`` is spent or ``stop`` is set (at least one
    of the first two should be given); see the module doc. ``seeds``: configurations measured
    already (the sweep's points): each within the space is told to the study as a finished
    trial with its value and constraint, is a candidate for the winner like any trial, and a
    start equal to one is not measured again; ``trials`` counts the new ones only.
    ``start_pairs``: starts with a workload of their own (a thread count, when it varies).
    With ``budget_s``, PATIENCE trials in a row nowhere near the best end the search early."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    figure, higher = OBJECTIVES[objective]
    targets = targets or Targets()
    stop = stop if stop is not None else threading.Event()
    plan = replace(
        plan,
        objective=figure,
        judged=tuple(dict.fromkeys((*plan.judged, *targets.figures()))),
        end_on_errors=True,  # a trial with errors is infeasible at its first: no more runs
    )
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=4)
    study = optuna.create_study(direction="maximize" if higher else "minimize", sampler=sampler)
    seen: set[tuple[Any, ...]] = set()
    seeded: list[Trial] = []
    known = {same_as(m.config, m.workload) for m in seeds if m.usable and in_space(m, space)}
    for m in seeds:
        if not m.usable or not in_space(m, space):
            continue
        params = params_of(m.config, m.workload, space)
        key = tuple(sorted(params.items()))
        if key in seen:
            continue
        seen.add(key)
        trial = _trial(len(seeded), m, figure, targets, headroom, source="sweep")
        seeded.append(trial)
        study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions=distributions(space, params),
                value=trial.value,
                constraints={"feasible": constraint_value(m, targets, headroom)},
            )
        )
    enqueued = 0
    for config, start_workload in [*((c, workload) for c in starts), *start_pairs]:
        params = params_of(config, start_workload, space)
        again, again_workload = _as_suggested(params, base, workload, space)
        key = tuple(sorted(params.items()))
        if key not in seen and same_as(again, again_workload) not in known:
            seen.add(key)
            study.enqueue_trial(params)
            enqueued += 1
    started = time.monotonic()
    deadline = None if budget_s is None else started + budget_s
    done: list[Trial] = []
    measured = {same_as(t.config, t.workload): t.measurement for t in seeded}
    repeats = 0
    stale = 0  # new trials since the starts that came nowhere near the best
    reason: str | None = None
    early: str | None = None
    while not stop.is_set():
        if trials is not None and len(done) >= trials:
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        if trials is None and deadline is None:
            break
        ask = study.ask()
        config, trial_workload = suggest(ask, space, base, workload)
        key = same_as(config, trial_workload)
        if key in measured and repeats < MAX_REPEATS:
            # measured already (a seed or a trial): its value again, not another measurement
            repeats += 1
            earlier = measured[key]
            ask.set_constraint("feasible", constraint_value(earlier, targets, headroom))
            if earlier.usable:
                study.tell(ask, earlier.value(figure))
            else:
                study.tell(ask, state=optuna.trial.TrialState.FAIL)
            continue
        try:
            m = measure(target, config, trial_workload, plan, stop=stop, deadline=deadline)
        except PooltuiError as error:
            study.tell(ask, state=optuna.trial.TrialState.FAIL)
            reason = f"The search stopped at trial {len(done) + 1}: {error}"
            break
        if m.stopped and not m.usable:
            study.tell(ask, state=optuna.trial.TrialState.FAIL)
            break
        measured[key] = m
        trial = _trial(len(seeded) + len(done), m, figure, targets, headroom)
        ask.set_constraint("feasible", constraint_value(m, targets, headroom))
        if m.usable:
            study.tell(ask, trial.value)
        else:
            study.tell(ask, state=optuna.trial.TrialState.FAIL)
        best_before = pick([*seeded, *done], higher)
        done.append(trial)
        if on_trial is not None:
            on_trial(trial)
        if deadline is not None and len(done) > enqueued and best_before is not None:
            # a budget in seconds, past the starts, a feasible best to beat: TPE's own asks
            stale = 0 if _near(trial, best_before, higher) else stale + 1
            if stale >= PATIENCE:
                early = (
                    f"the search ended after {len(done)} trials: the last {PATIENCE} came "
                    "nowhere near the best (beyond its noise and the pick's tolerance)."
                )
                break
    sibling: Trial | None = None
    if not stop.is_set() and reason is None:
        sibling = _round_trip_free_sibling(
            target, seeded + done, plan, higher, stop=stop, targets=targets, headroom=headroom
        )
        if sibling is not None and all(sibling is not t for t in seeded + done):
            done.append(sibling)
            if on_trial is not None:
                on_trial(sibling)
    candidates = seeded + done
    searched_s = time.monotonic() - started
    checked = Confirmation()
    if not stop.is_set() and reason is None:
        candidates, checked = confirm(
            target,
            candidates,
            plan,
            higher,
            stop=stop,
            targets=targets,
            headroom=headroom,
            also=sibling,
        )
    best = pick(candidates, higher)
    return Search(
        objective=objective,
        trials=tuple(candidates[len(seeded) :]),
        best=best,
        stopped=stop.is_set(),
        stop_reason=reason,
        seconds=searched_s + checked.seconds,
        headroom=headroom,
        seeded=tuple(candidates[: len(seeded)]),
        smaller=smaller_within_noise(candidates, best, higher),
        answered=repeats,
        confirm_seconds=checked.seconds,
        confirm_batches=checked.batches,
        confirm_runs=checked.runs,
        confirm_ended_early=checked.ended_early,
        early_stop=early,
    )


def round_trips(config: PoolConfig) -> int:
    """The round trips ``config`` adds to a request: a ping on checkout, a rollback on return
    (DBUtils makes both under its pool lock)."""
    return int(bool(config.ping)) + int(bool(config.reset))


def _round_trip_free_sibling(
    target: Target,
    trials: list[Trial],
    plan: Plan,
    higher: bool,
    *,
    stop: threading.Event,
    targets: Targets,
    headroom: int | None,
) -> Trial | None:
    """The leader's configuration without ping and reset, when the leader pays for either:
    the trial already measured, or measured now. With all else equal it is never slower in
    expectation (each is a round trip per request), so a leader that pays them was crowned by
    noise as often as not; confirm() then measures the two side by side (bench/tune_quality.py:
    a MariaDB open loop's p99 picked ping=1, reset=True at 0.82 of the grid's best)."""
    leader = pick(trials, higher)
    if leader is None or not round_trips(leader.config):
        return None
    free = replace(leader.config, ping=0, reset=False)
    key = same_as(free, leader.workload)
    earlier = next((t for t in trials if same_as(t.config, t.workload) == key), None)
    if earlier is not None:
        return earlier if earlier.feasible else None
    try:
        m = measure(target, free, leader.workload, plan, stop=stop)
    except PooltuiError:
        return None
    if not m.usable:
        return None
    trial = _trial(len(trials), m, _figure(higher), targets, headroom, source="sibling")
    return trial if trial.feasible else None


#: New trials in a row (after the starts) that neither beat the best nor come within its noise
#: and PICK_TOLERANCE before a search with a budget in seconds ends early: TPE has settled away
#: from the best, and more of its asks buy time, not a better pick (the confirmation still
#: follows). A budget in trials is the user's count, run whole.
PATIENCE = 3


def _near(t: Trial, best: Trial | None, higher: bool) -> bool:
    """``t`` beats ``best``, or is close enough that it could be the winner."""
    if best is None:
        return t.feasible
    if not t.feasible or not math.isfinite(t.value):
        return False
    better = t.value > best.value if higher else t.value < best.value
    near = (
        t.value >= (1 - PICK_TOLERANCE) * best.value
        if higher
        else t.value <= (1 + PICK_TOLERANCE) * best.value
    )
    return better or near or within_noise(t, best, _figure(higher))


def _trial(
    number: int,
    m: Measurement,
    figure: str,
    targets: Targets,
    headroom: int | None,
    source: str = "search",
) -> Trial:
    return Trial(
        number=number,
        config=m.config,
        workload=m.workload,
        measurement=m,
        value=m.value(figure) if m.usable else math.nan,
        violations=violations(m, targets, headroom, m.workload.threads),
        source=source,
    )


CONFIRMED = 3  # at most this many of the best feasible trials measured again, side by side
#: The third of them is confirmed only while it is a contender: within this share of the best
#: (two pools of one configuration differ by 5-12 %: bench/compare_noise.py) or within its
#: noise. The best two always are (the winner's curse needs a rival to be seen).
CONTENDER_SHARE = 0.12


@dataclass(frozen=True)
class Confirmation:
    """What the confirmation cost."""

    seconds: float = 0.0
    batches: int = 0  # measurements: one run on a fresh pool each
    runs: int = 0
    ended_early: int = 0  # of them, ended at a run with errors


def contenders(feasible: list[Trial], higher: bool) -> list[Trial]:
    """The trials confirm() measures again: the best two, and up to CONFIRMED those still in
    reach of the best (CONTENDER_SHARE or its noise)."""
    ranked = sorted(feasible, key=lambda t: -t.value if higher else t.value)[:CONFIRMED]
    if not ranked:
        return []
    best, figure = ranked[0], _figure(higher)

    def in_reach(t: Trial) -> bool:
        close = (
            t.value >= (1 - CONTENDER_SHARE) * best.value
            if higher
            else t.value <= (1 + CONTENDER_SHARE) * best.value
        )
        return close or within_noise(t, best, figure)

    return ranked[:2] + [t for t in ranked[2:] if in_reach(t)]


def confirmation_runs(plan: Plan) -> int:
    """Each contender's runs in the confirmation: as many as a measurement of the plan may
    make (its batches' runs: 4 in tune's default plan), and at least one rank-order pass and
    one reverse one (ABC CBA), so that no contender is always first. A plan of one batch
    asked for quick measurements; its confirmation had been twice a trial's runs and, on a
    small space, a third of tune's time (bench/tune_quality.py's 8-thread query)."""
    return max(2, plan.max_batches * plan.runs_per_batch)


def confirmation_order(ranked: Sequence[Trial], runs_each: int) -> list[Trial]:
    """Rank order then reverse (ABC CBA), repeated until each has ``runs_each`` runs (an odd
    count ends on a rank-order pass): every contender is as often early as late in a pass,
    as a comparison's A/B/B/A."""
    passes = [list(ranked) if i % 2 == 0 else list(reversed(ranked)) for i in range(runs_each)]
    return [t for one in passes for t in one]


def confirmation_run_s(t: Trial, plan: Plan, runs_each: int) -> float:
    """One confirmation run of ``t``: the plan's length, or longer when a percentile decides,
    so that its ``runs_each`` runs pool the plan's requests at the rate its trial served them
    (an open loop's known rate), within MAX_RUN_FACTOR of the plan's."""
    if not plan.needed:
        return plan.run_s
    complete = t.measurement.complete
    seconds = sum(r.duration_s for r in complete)
    rate = pooled_requests(complete, plan) / seconds if seconds > 0 else 0.0
    if is_open_loop(t.workload.pattern) and t.workload.rate > 0:
        rate = min(rate, t.workload.rate) if rate > 0 else t.workload.rate
    if rate <= 0:
        return plan.run_s
    wanted = 1.1 * plan.needed / (rate * runs_each)  # 10 % over: a slower run still fills
    return min(max(plan.run_s, wanted), MAX_RUN_FACTOR * plan.run_s)


def confirm(
    target: Target,
    trials: list[Trial],
    plan: Plan,
    higher: bool,
    *,
    stop: threading.Event,
    targets: Targets,
    headroom: int | None,
    also: Trial | None = None,
) -> tuple[list[Trial], Confirmation]:
    """The contenders (the best feasible trials, see contenders()) measured again, interleaved:
    each measurement one run on a fresh pool (pre-opened, one unmeasured run), in rank order,
    then in reverse, and so on (ABC CBA ABC CBA: confirmation_order) until each has the runs a
    measurement of the plan may make (confirmation_runs), so it costs the runs and requests a
    trial could have. Two pools of one configuration differ by 5-12 % for as long as they live
    (bench/compare_noise.py), more than runs within one pool do: a run per pool samples that
    pool-to-pool noise, where a batch per contender drew one or two pools' luck. The pick judges
    them by these runs alone (``Trial.confirmation``): the best of many noisy trials is the
    luckiest as often as the best (the winner's curse), and trials measured minutes apart on a
    shared machine met different loads (a sweep point at a quiet moment beat the grid's best by
    half: bench/tune_quality.py); side by side, they met the same. A percentile's requests are
    gathered over all of a contender's runs, each run as long as its trial's rate asks
    (confirmation_run_s). Every run is kept in the trial's measurement too. A confirmation cut
    short (``stop``, a refusal) confirms nothing."""
    feasible = [t for t in trials if t.feasible and math.isfinite(t.value)]
    if len(feasible) < 2:
        return trials, Confirmation()
    ranked = contenders(feasible, higher)
    if also is not None and also.feasible and all(t.number != also.number for t in ranked):
        ranked.append(also)  # the leader's round-trip-free sibling, side by side with it
    figure = plan.objective
    runs_each = confirmation_runs(plan)
    one_run = {
        t.number: replace(
            plan,
            run_s=confirmation_run_s(t, plan, runs_each),
            runs_per_batch=1,
            max_batches=1,
            min_requests=0,  # gathered over its runs (their length), not by extending one
        )
        for t in ranked
    }
    extra: dict[int, list[Measurement]] = {t.number: [] for t in ranked}
    whole = True
    started = time.monotonic()
    for t in confirmation_order(ranked, runs_each):
        if stop.is_set():
            whole = False
            break
        try:
            m = measure(target, t.config, t.workload, one_run[t.number], stop=stop)
        except PooltuiError:
            whole = False
            break
        extra[t.number].append(m)
        if not m.usable:
            whole = False
            break
    done = [m for ms in extra.values() for m in ms]
    cost = Confirmation(
        time.monotonic() - started,
        len(done),
        sum(len(m.runs) for m in done),
        sum(m.ended_early for m in done),
    )
    updated = {t.number: t for t in trials}
    for t in ranked:
        batches = extra[t.number]
        if not batches:
            continue
        merged = _merged(t.measurement, batches)
        confirmation = replace(
            _merged(batches[0], batches[1:]),
            requests_needed=plan.needed,
            tail_figures=plan.tail_figures,
        )
        updated[t.number] = replace(
            t,
            measurement=merged,
            value=confirmation.value(figure) if whole else t.value,
            violations=violations(merged, targets, headroom, t.workload.threads),
            confirmed=whole,
            confirmation=confirmation if whole else None,
        )
    return [updated[t.number] for t in trials], cost


def _merged(first: Measurement, more: Sequence[Measurement]) -> Measurement:
    """One measurement of every run of ``first`` and ``more`` (one configuration's batches)."""
    runs = first.runs + tuple(r for m in more for r in m.runs)
    complete = tuple(r for r in runs if not r.stopped and r.fatal_error is None)
    return replace(
        first,
        runs=runs,
        closed=first.closed + tuple(c for m in more for c in m.closed),
        seconds=first.seconds + sum(m.seconds for m in more),
        spreads=spreads_of(complete or runs),
    )


#: A smaller pool is picked over the best only when its objective is within this share of the
#: best's *and* within the two trials' noise: the rule gives away at most 2 % by design (a
#: 5 % tolerance gave away 5 % plus the noise, and the 0.95 goal of bench/tune_quality.py with
#: it). A smaller pool within noise but further off is reported (Search.smaller), not picked.
PICK_TOLERANCE = 0.02


def _eligible(trials: Sequence[Trial]) -> list[Trial]:
    """The feasible trials the winner comes from: the confirmed ones when there are any (a
    trial measured once that beats every confirmed one is the winner's curse again)."""
    feasible = [t for t in trials if t.feasible and math.isfinite(t.value)]
    confirmed = [t for t in feasible if t.confirmed]
    pool = confirmed or feasible
    # a trial too short for its percentile is a guess: picked only when nothing better is
    trusted = [t for t in pool if not t.judged.low_confidence]
    return trusted or pool


def within_noise(t: Trial, best: Trial, figure: str) -> bool:
    """The two trials' runs overlap on the objective (or either has too few runs to say)."""
    a, b = t.judged.figure(figure), best.judged.figure(figure)
    if a.n < 2 or b.n < 2:
        return True
    return a.low <= b.high and b.low <= a.high


def _figure(higher: bool) -> str:
    return next(f for f, up in OBJECTIVES.values() if up == higher)


def pick(trials: Sequence[Trial], higher: bool) -> Trial | None:
    """The winner: the best objective among the eligible trials, unless a pool with fewer
    connections is within PICK_TOLERANCE of it and within noise (then the fewest connections,
    then threads, then the fewest round trips, then the better objective). A pool size chosen
    smaller is kinder to the server, but not at a price in the objective the user asked for
    beyond the tolerance."""
    eligible = _eligible(trials)
    if not eligible:
        return None
    best = max(eligible, key=lambda t: t.value if higher else -t.value)
    figure = _figure(higher)

    def close(t: Trial) -> bool:
        near = (
            t.value >= (1 - PICK_TOLERANCE) * best.value
            if higher
            else t.value <= (1 + PICK_TOLERANCE) * best.value
        )
        return t is best or (near and within_noise(t, best, figure))

    return min(
        (t for t in eligible if close(t)),
        key=lambda t: (
            t.config.maxconnections,
            t.workload.threads,
            round_trips(t.config),  # within noise, the one that does less per request
            -t.value if higher else t.value,
        ),
    )


def smaller_within_noise(trials: Sequence[Trial], best: Trial | None, higher: bool) -> Trial | None:
    """The feasible trial with the fewest connections (fewer than the winner's) whose runs
    overlap the winner's: the alternative a user who values the server's sessions may take,
    with its cost to say beside it. None when there is none."""
    if best is None:
        return None
    figure = _figure(higher)
    smaller = [
        t
        for t in trials
        if t.feasible
        and math.isfinite(t.value)
        and t.config.maxconnections < best.config.maxconnections
        and within_noise(t, best, figure)
    ]
    return min(
        smaller,
        key=lambda t: (t.config.maxconnections, -t.value if higher else t.value),
        default=None,
    )
