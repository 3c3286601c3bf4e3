"""Repeated runs: N runs of one configuration on one warm pool (``run_repeats``), or two
configurations A and B alternated A/B/B/A (``run_comparison``), each figure judged against its
noise (``noise``).

How a front end calls it (the CLI on its main thread, the console from a thread worker)::

    stop = threading.Event()                    # set it to end the comparison at once
    def progress(done: RunDone) -> None: ...    # after every finished run (any thread-safe
                                                # hand-off: the console posts a message)
    comparison = run_comparison(
        target, Side(config_a, workload_a, "A"), Side(config_b, workload_b, "B"),
        rounds=3, stop=stop, on_progress=progress, on_sample=None,  # on_sample(side, Sample)
    )
    comparison.differences["p99_acquire_ms"].verdict   # better / worse / within noise / ...
    comparison.outcome.closed                          # per side, what the server still has

Both functions block until the end, probe the server (both sides' pools must fit in its free
slots at once), build their pools themselves and close them whatever ends the work: the runs,
``stop`` (the run in progress ends through the engine's stop path and no other starts), a fatal
failure of a run, an exception, a signal. ``outcome.closed`` is the server's own count of each
side's sessions afterwards. Pass ``pool=`` to ``run_repeats`` to reuse a pool the caller owns
(the console's): it is warmed and run, never closed.

What bench/compare_noise.py measured (A/A: the same configuration on both sides) shaped this:

- Runs on a shared machine differ by tens of percent and drift over seconds. A/B/B/A puts A and
  B equally often first and second, so a drift hits both alike, and each B run is paired with
  the A run beside it in time (a round gives the pairs (A, B) and (B, A)). A pair shares the
  seed of an open-loop schedule, so both sides see the same arrivals.
- Two pools of one configuration differ by 5-12 % for as long as they live (a property of their
  connections, not of their settings), and pairing cannot remove that: with one pool per side
  for the whole comparison, 3-round A/A comparisons called the pools' luck a change in
  throughput or p95 in 7 of 80 (PostgreSQL) and 12 of 80 (MariaDB); with a fresh pool per run
  in 4 of 80 and 6 of 60. So each run of a comparison gets a fresh pool of its side, its
  connections opened and one unmeasured run of ``warmup_s`` made before the run is timed (no
  connect and no session's first statements are measured; the server's shared caches stay
  warm), which turns the pool's luck into run-to-run noise the pairs measure. Both modes warm
  a pool alike: ``fresh_pools=False`` keeps one pool per side (warmed by ``warm_up`` and one
  unmeasured run) to reproduce the defect.
- A percentile figure is judged over every request of the paired runs (noise.compare_pooled):
  one run's p95 jumps between the two sides of a cliff when about 5 % of its requests wait.

``processes=W`` (``compare --processes``): each run is a fleet of W spawned processes, each with
its own fresh pool of its side (core.fleet.run_fleet: connections opened and one unmeasured run
of ``warmup_s`` made in every process before the go, as a fresh pool's), and the
run's result is the fleet's exact merge, so ``judge`` reads merged histograms unchanged. The
headroom check counts W times each side's connections; every process's sessions are confirmed
gone after each run (the fleet's ``left``, added into ``outcome.closed``). A process that fails
or dies makes its run fatal (a run without it would be judged on fewer requests).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from pooltui.core.checks import capacity_problem, most_connections
from pooltui.core.compare.noise import Difference, Spread, compare, compare_pooled, spread
from pooltui.core.config import PoolConfig, SessionGuards, Workload, validate, validate_workload
from pooltui.core.errors import BadInput
from pooltui.core.history import setting_changes
from pooltui.core.load import engine
from pooltui.core.load.results import (
    PoolLock,
    RunResult,
    Sample,
    WarmupResult,
    merge_results,
)
from pooltui.core.pool import InstrumentedPool
from pooltui.core.pool.histogram import bucket_values_s
from pooltui.core.pool.protocol import PoolLike
from pooltui.core.pool.stats import GAUGES
from pooltui.core.probes import LeftOpen, ServerInfo, confirm_closed, probe_server
from pooltui.core.targets import Target

ROUND = "ABBA"  # one round: each side twice, each first as often as second
WARMUP_RUN_S = 0.5  # the unmeasured first run of each pool (at most the run's own duration)


@dataclass(frozen=True)
class Figure:
    """One figure a comparison judges: how to read it off a run and which way is better."""

    name: str  # the JSON key and the name --fail-if expressions use
    read: Callable[[RunResult], float]
    higher_is_better: bool
    unit: str  # "" for a count
    label: str  # what the text table calls it
    # a percentile: (the RunHistograms field, the percentile), judged over every request of
    # the paired runs (noise.compare_pooled) rather than run by run
    pooled: tuple[str, float] | None = None


#: every figure a comparison reports, in display order; a new one is one line here
FIGURES: tuple[Figure, ...] = (
    Figure("throughput_rps", lambda r: r.throughput_rps, True, "req/s", "throughput"),
    Figure("p50_latency_ms", lambda r: r.latency.p50, False, "ms", "latency p50", ("latency", 50)),
    Figure("p95_latency_ms", lambda r: r.latency.p95, False, "ms", "latency p95", ("latency", 95)),
    Figure("p99_latency_ms", lambda r: r.latency.p99, False, "ms", "latency p99", ("latency", 99)),
    Figure("p95_acquire_ms", lambda r: r.acquire.p95, False, "ms", "acquire p95", ("acquire", 95)),
    Figure("p99_acquire_ms", lambda r: r.acquire.p99, False, "ms", "acquire p99", ("acquire", 99)),
    Figure(
        "p999_acquire_ms", lambda r: r.acquire.p999, False, "ms", "acquire p99.9", ("acquire", 99.9)
    ),
    Figure("max_acquire_ms", lambda r: r.acquire.max, False, "ms", "acquire max"),
    Figure("starved_threads", lambda r: float(len(r.starved)), False, "", "starved threads"),
    Figure("errors", lambda r: float(r.errors), False, "", "errors"),
    Figure("connects", lambda r: float(r.pool.connects), False, "", "connects"),
)
HISTOGRAMS = tuple(sorted({f.pooled[0] for f in FIGURES if f.pooled}))
FIGURE_NAMES: tuple[str, ...] = tuple(f.name for f in FIGURES)


@dataclass(frozen=True)
class Side:
    """One configuration: the pool and the workload it runs (the target is the comparison's)."""

    config: PoolConfig
    workload: Workload
    label: str = "A"


@dataclass(frozen=True)
class RunDone:
    """What ``on_progress`` gets after every finished measured run."""

    index: int  # 1-based, in time order
    total: int  # the runs planned
    side: str  # "A" or "B"
    label: str  # that side's label
    result: RunResult
    compared: bool  # a run of a comparison (else of repeats: side is always "A")
    pool: PoolLike | None  # the pool that ran it (the runner closes it: never close it
    # yourself); None for a fleet's run, whose pools lived in its processes


@dataclass(frozen=True)
class Run:
    """One measured run of a side, in time order."""

    side: str  # "A" or "B"
    result: RunResult

    @property
    def complete(self) -> bool:
        """Ran its whole duration: a stopped or failed run is kept but never judged."""
        return not self.result.stopped and self.result.fatal_error is None

    @property
    def figures(self) -> dict[str, float]:
        return {f.name: f.read(self.result) for f in FIGURES}

    @property
    def histograms(self) -> dict[str, np.ndarray]:
        """The bucket counts of the histograms the percentile figures pool."""
        return {name: getattr(self.result.histograms, name).counts for name in HISTOGRAMS}


@dataclass(frozen=True)
class Outcome:
    """How the runs as a whole ended (what both results share)."""

    stopped: bool = False  # ``stop`` ended it before the last run
    fatal_error: str | None = None  # a run's fatal error ended it
    closed: dict[str, LeftOpen] = field(default_factory=dict)  # per side: the server's count
    warmups: dict[str, WarmupResult] = field(default_factory=dict)  # each pool's warm-up
    warmup_runs: dict[str, RunResult] = field(default_factory=dict)  # the unmeasured first runs
    # every pool's unmeasured run in time order, by side: one per pool (a fresh pool's before
    # its one measured run, a warm pool's before its first)
    unmeasured: tuple[tuple[str, RunResult], ...] = ()

    @property
    def left_open(self) -> int:
        return sum(left.sessions for left in self.closed.values())

    def closed_sentence(self) -> str:
        return closed_sentence(self.closed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stopped": self.stopped,
            "fatal_error": self.fatal_error,
            "closed": {label: left.as_dict() for label, left in self.closed.items()},
        }


@dataclass(frozen=True)
class Repeats:
    """N runs of one configuration on one warm pool: every figure as median and spread."""

    side: Side
    runs: tuple[RunResult, ...]
    outcome: Outcome

    @property
    def complete(self) -> tuple[RunResult, ...]:
        return tuple(r for r in self.runs if not r.stopped and r.fatal_error is None)

    @property
    def spreads(self) -> dict[str, Spread]:
        """Each figure over the complete runs (all runs when none completed)."""
        runs = self.complete or self.runs
        return {f.name: spread([f.read(r) for r in runs]) for f in FIGURES}

    def as_dict(self) -> dict[str, Any]:
        return {
            "repeats": len(self.runs),
            "spread": {name: s.as_dict() for name, s in self.spreads.items()},
            "runs": [r.as_dict() for r in self.runs],
            **self.outcome.as_dict(),
        }


def one_after_another(results: Sequence[RunResult]) -> RunResult:
    """Runs of one pool in sequence as one run: counts add, the histograms merge (percentiles of
    every request of every run), the durations add and throughput is over their sum; the pool's
    counters add, its peaks are the highest, its gauges the last run's (merge_results is for
    runs at the same time, whose throughputs, pools and processes add); a fleet's runs stay
    one fleet of as many processes."""
    merged = functools.reduce(merge_results, results)
    duration = sum(r.duration_s for r in results)
    ok = merged.requests - merged.errors
    stats = [r.pool for r in results]
    pool = replace(
        merged.pool,
        **{f.name: getattr(stats[-1], f.name) for f in fields(stats[-1]) if f.name in GAUGES},
        **{
            f.name: max(getattr(s, f.name) for s in stats)
            for f in fields(stats[-1])
            if f.name.startswith("peak_")
        },
        maxconnections=stats[-1].maxconnections,
        maxcached=stats[-1].maxcached,
        leaks=stats[-1].leaks,
    )
    # the same processes ran one run after another: each pool's lock figures add up, by
    # process (a single pool's are the run's own again)
    locks: dict[int, PoolLock] = {}
    for result in results:
        for lock in result.locks:
            before = locks.get(lock.process)
            locks[lock.process] = lock if before is None else before.after(lock)
    return replace(
        merged,
        duration_s=duration,
        throughput_rps=ok / duration if duration else 0.0,
        pool=pool,
        processes=max(r.processes for r in results),
        pool_locks=tuple(locks.values()) if len(locks) > 1 else (),
    )


@dataclass(frozen=True)
class Comparison:
    """A and B alternated: every run, the pairs judged, and per figure the Difference."""

    a: Side
    b: Side
    runs: tuple[Run, ...]  # in time order
    pairs: tuple[tuple[int, int], ...]  # (index of the A run, index of the B run) in runs
    differences: dict[str, Difference]  # by figure name; empty when no pair completed
    outcome: Outcome
    processes: int = 1  # each run a fleet of this many processes (compare --processes)

    @property
    def rounds_judged(self) -> int:
        """The rounds with a complete pair: the units the intervals resample."""
        return len({min(pair) // len(ROUND) for pair in self.pairs})

    def values(self, side: str) -> dict[str, float]:
        """Each figure's median over the paired runs of one side ("A" or "B"): what a
        threshold reads (``baseline`` is A's)."""
        return {name: (d.a if side == "A" else d.b).median for name, d in self.differences.items()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": {"label": self.a.label, **_side_dict(self.a)},
            "b": {"label": self.b.label, **_side_dict(self.b)},
            "order": "".join(run.side for run in self.runs),
            "processes": self.processes,
            "changes": changes(self.a, self.b),
            "pairs": len(self.pairs),
            "rounds_judged": self.rounds_judged,
            "figures": {name: d.as_dict() for name, d in self.differences.items()},
            "runs": [{"side": run.side, **run.result.as_dict()} for run in self.runs],
            **self.outcome.as_dict(),
        }


def _side_dict(side: Side) -> dict[str, Any]:
    return {"config": side.config.as_dict(), "workload": asdict(side.workload)}


def closed_sentence(closed: Mapping[str, LeftOpen]) -> str:
    """One sentence for every pool (by side): a single bench run's words when they agree."""
    sentences = {side: left.sentence() for side, left in closed.items()}
    if len(set(sentences.values())) == 1:
        return next(iter(sentences.values()))
    if not sentences:
        return "no pool was opened"
    return "; ".join(f"{side}: {text}" for side, text in sentences.items())


def changes(a: Side, b: Side) -> list[str]:
    """What B changes from A, field by field (pool, then workload): ``hold_ms 1→4``."""
    return setting_changes(a.config, a.workload, b.config, b.workload)


def order(rounds: int) -> str:
    """The sides' run order for ``rounds`` rounds: ``ABBA`` repeated."""
    return ROUND * rounds


def pairs_of(sides: Sequence[str], complete: Sequence[bool]) -> list[tuple[int, int]]:
    """(A index, B index) for each pair of neighbours (0, 1), (2, 3), ... in ``sides`` (ABBA
    rounds: always one of each), both complete."""
    pairs = []
    for first in range(0, len(sides) - 1, 2):
        second = first + 1
        if sides[first] == sides[second] or not (complete[first] and complete[second]):
            continue
        a, b = (first, second) if sides[first] == "A" else (second, first)
        pairs.append((a, b))
    return pairs


def judge(
    figures: Sequence[Mapping[str, float]],
    pairs: Sequence[tuple[int, int]],
    histograms: Sequence[Mapping[str, np.ndarray]] | None = None,
) -> dict[str, Difference]:
    """Each figure of FIGURES over the pairs; ``figures[i]`` and ``histograms[i]`` are run
    i's (``Run.figures``, ``Run.histograms``). A round is the unit the interval resamples (see
    noise). A percentile figure is judged over the pooled requests (noise.compare_pooled) when
    the histograms are given, else run by run."""
    if not pairs:
        return {}
    judged = {}
    buckets = bucket_values_s()
    units = [min(pair) // len(ROUND) for pair in pairs]  # the round each pair ran in
    for f in FIGURES:
        if any(f.name not in figures[i] for pair in pairs for i in pair):
            continue  # runs saved before the figure existed (bench/compare_noise.py --judge)
        a_values = [figures[a][f.name] for a, _ in pairs]
        b_values = [figures[b][f.name] for _, b in pairs]
        if f.pooled is not None and histograms is not None:
            name, quantile = f.pooled
            judged[f.name] = compare_pooled(
                f.name,
                [histograms[a][name] for a, _ in pairs],
                [histograms[b][name] for _, b in pairs],
                quantile,
                bucket_values=buckets,
                a_values=a_values,
                b_values=b_values,
                higher_is_better=f.higher_is_better,
                units=units,
            )
        else:
            judged[f.name] = compare(
                f.name, a_values, b_values, higher_is_better=f.higher_is_better, units=units
            )
    return judged


# --- running ----------------------------------------------------------------------------------


def run_comparison(
    target: Target,
    a: Side,
    b: Side,
    rounds: int,
    *,
    stop: threading.Event | None = None,
    on_progress: Callable[[RunDone], None] | None = None,
    on_sample: Callable[[str, Sample], None] | None = None,
    warmup_s: float = WARMUP_RUN_S,
    leak_threshold_s: float | None = None,
    fresh_pools: bool = True,
    processes: int = 1,
) -> Comparison:
    """A and B alternated ``rounds`` times (A/B/B/A each), every run on a fresh pool of its
    side with its connections open before it is timed (``fresh_pools=False``: one warm pool
    per side); see the module doc. BadInput for a configuration or workload that cannot run,
    or for two pools (``processes``: two fleets of W pools) that would not fit on the server
    together."""
    if rounds < 1:
        raise BadInput(f"rounds is {rounds} but must be at least 1.")
    sides = {"A": a, "B": b}
    runner = _Runner(
        target,
        sides,
        stop,
        on_sample,
        warmup_s,
        leak_threshold_s,
        fresh=fresh_pools,
        processes=processes,
    )
    runs, outcome = runner.run(order(rounds), on_progress)
    pairs = pairs_of([run.side for run in runs], [run.complete for run in runs])
    differences = judge([run.figures for run in runs], pairs, [run.histograms for run in runs])
    return Comparison(a, b, tuple(runs), tuple(pairs), differences, outcome, processes)


def run_repeats(
    target: Target,
    side: Side,
    repeats: int,
    *,
    stop: threading.Event | None = None,
    on_progress: Callable[[RunDone], None] | None = None,
    on_sample: Callable[[str, Sample], None] | None = None,
    warmup_s: float = WARMUP_RUN_S,
    leak_threshold_s: float | None = None,
    pool: PoolLike | None = None,
    end_after: Callable[[RunResult], bool] | None = None,
) -> Repeats:
    """``repeats`` runs of one side on one warm pool (``pool``: the caller's, kept open);
    ``end_after``: no run follows one it is true of (a tune ends a measurement at its first
    run with errors). Not ``stop``: the repeats end as planned, not stopped."""
    if repeats < 1:
        raise BadInput(f"repeats is {repeats} but must be at least 1.")
    runner = _Runner(target, {"A": side}, stop, on_sample, warmup_s, leak_threshold_s, pool)
    runner.end_after = end_after
    runs, outcome = runner.run("A" * repeats, on_progress)
    return Repeats(side, tuple(run.result for run in runs), outcome)


class _Runner:
    """Probe, build, warm, run in order, close: the work both entry points share."""

    def __init__(
        self,
        target: Target,
        sides: dict[str, Side],
        stop: threading.Event | None,
        on_sample: Callable[[str, Sample], None] | None,
        warmup_s: float,
        leak_threshold_s: float | None,
        pool: PoolLike | None = None,
        fresh: bool = False,
        processes: int = 1,
    ) -> None:
        self.target, self.sides = target, sides
        self.stop = stop if stop is not None else threading.Event()
        self.on_sample, self.warmup_s = on_sample, warmup_s
        self.leak_threshold_s = leak_threshold_s
        self.given = pool
        self.fresh = fresh and pool is None
        self.pools: dict[str, PoolLike] = {}
        self.built: list[tuple[str, InstrumentedPool]] = []
        self.effective: dict[str, PoolConfig] = {}
        self.processes = processes
        self.fleet = processes > 1 and pool is None  # every run a fleet of fresh pools
        if self.fleet:
            self.fresh = True
        self.fleet_left: dict[str, LeftOpen] = {}
        self.end_after: Callable[[RunResult], bool] | None = None  # run_repeats' end_after

    def run(
        self, plan: str, on_progress: Callable[[RunDone], None] | None
    ) -> tuple[list[Run], Outcome]:
        server = self._check()
        runs: list[Run] = []
        warmups: dict[str, WarmupResult] = {}
        warmup_runs: dict[str, RunResult] = {}
        unmeasured: list[tuple[str, RunResult]] = []
        fatal: str | None = None
        try:
            for key, side in self.sides.items():
                if self.stop.is_set() or self.fresh:
                    break
                self.pools[key] = self._pool(key, side)
            for key, side in self.sides.items():
                if self.stop.is_set() or self.fresh:
                    break
                warmups[key] = engine.warm_up(self.pools[key])
                warm = self._warmup_run(key, side, server)
                if warm is not None:
                    warmup_runs[key] = warm
                    unmeasured.append((key, warm))
                    fatal = fatal or warm.fatal_error
            for index, key in enumerate(plan):
                if self.stop.is_set() or fatal:
                    break
                side = self.sides[key]
                if self.fleet:
                    fleet_result = self._fleet_run(
                        key,
                        side,
                        server,
                        seed=index // 2,
                        warmups=warmups,
                        unmeasured=(warmup_runs, unmeasured),
                    )
                    if fleet_result is None:  # stopped, or no process ran
                        break
                    runs.append(Run(key, fleet_result))
                    fatal = fleet_result.fatal_error
                    if on_progress is not None:
                        on_progress(
                            RunDone(
                                index + 1,
                                len(plan),
                                key,
                                side.label,
                                fleet_result,
                                len(self.sides) > 1,
                                None,
                            )
                        )
                    continue
                if self.fresh:
                    self.pools[key] = self._pool(key, side)
                    warm_up = engine.warm_up(self.pools[key], self._connections(key, side))
                    warmups.setdefault(key, warm_up)
                    # the unmeasured run a warm pool gets once, on every fresh pool: a new
                    # session's first statements pay what the measured ones must not (its
                    # catalog and plan caches, the driver's first round trips)
                    warm = None if self.stop.is_set() else self._warmup_run(key, side, server)
                    if warm is not None:
                        warmup_runs.setdefault(key, warm)
                        unmeasured.append((key, warm))
                        fatal = warm.fatal_error
                    if self.stop.is_set() or fatal:
                        self.built[-1][1].close()
                        break
                result = self._measure(key, side, server, seed=index // 2)
                runs.append(Run(key, result))
                fatal = result.fatal_error
                if on_progress is not None:
                    compared, pool = len(self.sides) > 1, self.pools[key]
                    on_progress(
                        RunDone(index + 1, len(plan), key, side.label, result, compared, pool)
                    )
                if self.fresh:
                    self.built[-1][1].close()
                if self.end_after is not None and self.end_after(result):
                    break
        except _FleetFailed as failed:
            fatal = str(failed)
        finally:
            closed = self._close()
        cut = len(runs) < len(plan) or any(run.result.stopped for run in runs)  # (an end_after
        # end is cut short too, but not by ``stop``: stopped stays False unless it is set)
        stopped = self.stop.is_set() and cut and not fatal
        return runs, Outcome(stopped, fatal, closed, warmups, warmup_runs, tuple(unmeasured))

    def _check(self) -> ServerInfo:
        """The server's limits, and whether every pool (of every process of a fleet) fits in
        its free slots at once."""
        self.effective = check_sides(self.target, self.sides)
        if self.fleet:
            self._check_fleet()
        server = probe_server(self.target)
        taken = 0
        for key, side in self.sides.items():
            in_use = server.connections_in_use
            fits = replace(server, connections_in_use=None if in_use is None else in_use + taken)
            problem = capacity_problem(
                fits, self.effective[key], side.workload, self.target, processes=self.processes
            )
            if problem:
                if taken:
                    whose = "fleet" if self.fleet else "pool"
                    problem += f" (the other {whose} of the comparison takes {taken})"
                raise BadInput(f"{_named(key, self.sides)}{problem}")
            taken += self.processes * most_connections(self.effective[key], side.workload)
        return server

    def _check_fleet(self) -> None:
        """What run_fleet would refuse at the first run, said before any: the processes'
        number, and a request count the processes cannot share."""
        from pooltui.core.fleet.runner import MAX_PROCESSES

        if self.processes > MAX_PROCESSES:
            raise BadInput(
                f"processes is {self.processes} but must be from 1 to {MAX_PROCESSES}: spread "
                "the load with the Locust export."
            )
        for key, side in self.sides.items():
            requests = side.workload.requests
            if requests and requests < self.processes:
                raise BadInput(
                    f"{_named(key, self.sides)}requests is {requests} but a fleet of "
                    f"{self.processes} processes needs at least one per process: raise "
                    "requests or lower the processes."
                )

    def _fleet_run(
        self,
        key: str,
        side: Side,
        server: ServerInfo,
        seed: int,
        warmups: dict[str, WarmupResult],
        unmeasured: tuple[dict[str, RunResult], list[tuple[str, RunResult]]],
    ) -> RunResult | None:
        """One run of ``side`` as a fleet: the merged result (None when it has none: stopped
        while starting); the fleet's sessions on the server added to the side's count.
        Every process makes the unmeasured run a fresh pool makes (``warmup_s``) before the
        go; the first process's is kept with the others' unmeasured runs (``unmeasured``: the
        first per side, and all in time order). _FleetFailed when no process ran."""
        from pooltui.core.fleet.runner import run_fleet

        fleet = run_fleet(
            self.target,
            side.config,
            side.workload,
            self.processes,
            stop=self.stop,
            warmup=True,
            warmup_connections=self._connections(key, side),
            leak_threshold_s=self.leak_threshold_s,
            server=server,
            seed=seed,
            quiet=True,
            warmup_run_s=max(self.warmup_s, 0.0),
        )
        self.fleet_left[key] = _added(self.fleet_left.get(key), fleet.left)
        first = fleet.processes[0].warmup if fleet.processes else None
        if first is not None:
            warmups.setdefault(key, first)
        warm = fleet.processes[0].warmup_run if fleet.processes else None
        if warm is not None:
            first_runs, in_order = unmeasured
            first_runs.setdefault(key, warm)
            in_order.append((key, warm))
        result = fleet.result
        if result is None:
            if self.stop.is_set():
                return None
            raise _FleetFailed(fleet.fatal_error or "no process of the fleet ran")
        failed = fleet.failed
        if failed and not result.fatal_error:
            p = failed[0]
            result = replace(
                result, fatal_error=f"{p.name} of the fleet of {fleet.size}: {p.error}"
            )
        return replace(result, events=[*result.events, *fleet.events])

    def _pool(self, key: str, side: Side) -> PoolLike:
        if self.given is not None:
            return self.given
        pool = InstrumentedPool(
            self.target,
            side.config,
            leak_threshold_s=self.leak_threshold_s,
            guards=SessionGuards.of(side.workload),
        )
        self.built.append((key, pool))
        return pool

    def _connections(self, key: str, side: Side) -> int:
        """What a run of ``side`` keeps open: one per thread, within maxconnections and the
        idle cache (maxcached), and at least mincached."""
        config = self.effective[key]
        wanted = side.workload.threads
        for limit in (config.maxconnections, config.maxcached):
            if limit:
                wanted = min(wanted, limit)
        return max(1, config.mincached, wanted)

    def _warmup_run(self, key: str, side: Side, server: ServerInfo) -> RunResult | None:
        if self.warmup_s <= 0:
            return None
        workload = side.workload
        duration = min(self.warmup_s, workload.duration_s)
        return engine.run(
            self.pools[key],
            replace(workload, duration_s=duration, requests=0),
            stop=self.stop,
            server_version=server.version,
        )

    def _measure(self, key: str, side: Side, server: ServerInfo, seed: int) -> RunResult:
        on_sample = self.on_sample
        label = side.label
        return engine.run(
            self.pools[key],
            side.workload,
            stop=self.stop,
            on_sample=(lambda sample: on_sample(label, sample)) if on_sample else None,
            server_version=server.version,
            seed=seed,
        )

    def _close(self) -> dict[str, LeftOpen]:
        """Close every pool this runner built (all of them first, then ask the server), and
        say per side what the server still has of them."""
        for _, pool in self.built:
            pool.close()
        closed: dict[str, LeftOpen] = dict(self.fleet_left)
        for key, pool in self.built:
            closed[key] = _added(closed.get(key), confirm_closed(self.target, pool))
        return closed


class _FleetFailed(Exception):
    """A fleet's run where no process ran: its sentence ends the comparison as fatal."""


def _added(seen: LeftOpen | None, left: LeftOpen) -> LeftOpen:
    """Two counts of one side's sessions as one (its pools, or its fleets' processes)."""
    if seen is None:
        return left
    return LeftOpen(
        seen.sessions + left.sessions,
        seen.verified and left.verified,
        seen.ended + left.ended,
        seen.server and left.server,
    )


def check_sides(target: Target, sides: Mapping[str, Side]) -> dict[str, PoolConfig]:
    """Each side's effective configuration, or BadInput for the first configuration or
    workload that cannot run, naming its side ("B: ...") in a comparison."""
    effective = {}
    for key, side in sides.items():
        problems = [f for f in validate_workload(side.workload) if f.level == "error"]
        validation = validate(side.config, target.facts)
        problems += list(validation.errors())
        if problems:
            raise BadInput(f"{_named(key, sides)}{problems[0].message}")
        effective[key] = validation.effective
    return effective


def _named(key: str, sides: Mapping[str, Side]) -> str:
    """``B: `` before a sentence about one side of a comparison (nothing for a lone side)."""
    return f"{key}: " if len(sides) > 1 else ""
