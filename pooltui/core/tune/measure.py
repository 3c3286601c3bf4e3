"""One measured configuration of a tune: runs in batches on fresh pools until its objective's
noise band is narrow enough, the batch limit is reached, or the time is up.

A batch is ``compare.runner.run_repeats`` (probe and capacity check, a pre-opened pool, one
unmeasured run, the measured runs, close, the server's count of what is left): the same steps
a comparison takes, so a sweep point, a search trial and the proof measure alike. Batches get a
fresh pool each, because two pools of one configuration differ by 5-12 % for as long as they
live (bench/compare_noise.py): the spread over batches includes that luck instead of hiding it.

A percentile that decides (the objective, or a target's figure) needs requests beyond it:
``requests_needed`` is the one rule (TAIL_REQUESTS beyond the percentile). A measurement runs
longer batches, and more of them, until its complete runs pool that many (within the deadline
and MAX_EXTENSIONS, not for an overloaded open loop, whose tail only grows with the run); one
that could not is ``low_confidence`` and says so.

``Plan.end_on_errors`` (the search's) ends a measurement after its first run with errors: one
is enough to make it infeasible, and it is ``ended_early``.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from pooltui.core.compare.noise import Spread, spread
from pooltui.core.compare.runner import FIGURES, Side, run_repeats
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.load.arrivals import is_open_loop
from pooltui.core.load.results import RunResult
from pooltui.core.probes import LeftOpen
from pooltui.core.targets import Target

UNMEASURED_RUN_S = 0.1  # each batch's first run, not measured: what a fresh pool's first
# requests pay (the first statement on a connection, the server's plan cache)

#: Requests beyond a percentile that a measurement judged by it must pool. The pooled p99 of
#: n requests is read at the order statistic with n/100 requests above it; that count is
#: binomial, so with k above it the ±2 sigma range of ranks is k ± 2 sqrt(k): at k = 10 the p99
#: read lies between the true p98.4 and p99.6 (19 times in 20), at k = 1.8 (the 180 requests
#: of a 0.3 s trial at 300/s) it is the worst request or the one before it, and at k = 20 the
#: trial costs twice as long for a band only 1.4x narrower. The sum of k follows 1/(1 - q),
#: so a p99 needs 1000 requests, a p95 200, a p99.9 10 000.
TAIL_REQUESTS = 10
MAX_EXTENSIONS = 2  # batches beyond the plan's, to gather those requests
MAX_RUN_FACTOR = 10.0  # a run stretched for them is at most this many times the plan's


def requests_needed(figures: tuple[str, ...]) -> int:
    """The requests a measurement judged by ``figures`` must pool: TAIL_REQUESTS beyond the
    highest percentile among them (0 when none is a percentile)."""
    quantiles = [
        f.pooled[1] for f in FIGURES if f.name in figures and f.pooled is not None
    ]  # percent, 99 for a p99
    if not quantiles:
        return 0
    return math.ceil(round(TAIL_REQUESTS / (1.0 - max(quantiles) / 100.0), 6))


@dataclass(frozen=True)
class Plan:
    """How hard to measure one configuration."""

    run_s: float = 1.0  # one measured run
    runs_per_batch: int = 2
    max_batches: int = 3
    band: float = 0.05  # stop adding batches when the objective's ±spread is within this
    objective: str = "throughput_rps"  # the figure whose band decides
    judged: tuple[str, ...] = ()  # other figures that decide (the targets' percentiles)
    min_requests: int | None = None  # None: requests_needed of the objective and judged
    #: end the measurement at its first run with errors: under the no-errors constraint one
    #: such run makes the configuration infeasible, so its other runs only spend the budget
    #: (blocking=False below the threads rejected in every run, before the search stopped
    #: asking for it; a server's errors still can). The search's; not the sweep's (its points
    #: are the curve the fit reads, and block) nor the proof's (a comparison, run whole)
    end_on_errors: bool = False

    @property
    def tail_figures(self) -> tuple[str, ...]:
        """The percentile figures a measurement of this plan is judged by."""
        names = (self.objective, *self.judged)
        return tuple(f.name for f in FIGURES if f.name in names and f.pooled is not None)

    @property
    def needed(self) -> int:
        """The requests a measurement must pool (see TAIL_REQUESTS)."""
        if self.min_requests is not None:
            return self.min_requests
        return requests_needed(self.tail_figures)


@dataclass(frozen=True)
class Measurement:
    """Every measured run of one configuration, and how its pools ended."""

    config: PoolConfig
    workload: Workload
    runs: tuple[RunResult, ...]
    closed: tuple[LeftOpen, ...] = ()
    fatal_error: str | None = None
    stopped: bool = False
    seconds: float = 0.0  # wall time it took, pools and probes included
    spreads: dict[str, Spread] = field(default_factory=dict)
    requests_needed: int = 0  # Plan.needed: pooled requests its percentiles need
    tail_figures: tuple[str, ...] = ()  # the percentiles it is judged by
    ended_early: bool = False  # Plan.end_on_errors ended it at a run with errors, runs before
    # its plan's last

    @property
    def requests(self) -> int:
        """The fewest requests any of its tail figures pools over the complete runs (the
        latency histogram's count when it has none)."""
        names = self.tail_figures or ("p99_latency_ms",)
        return min(pooled_count(self.complete, name) for name in names)

    @property
    def low_confidence(self) -> bool:
        """Too few requests for the percentile it is judged by: its tail is a guess."""
        return self.requests_needed > 0 and self.requests < self.requests_needed

    @property
    def complete(self) -> tuple[RunResult, ...]:
        return tuple(r for r in self.runs if not r.stopped and r.fatal_error is None)

    def figure(self, name: str) -> Spread:
        return self.spreads.get(name, spread([]))

    def value(self, name: str) -> float:
        """The figure a tune judges the configuration by: a percentile over every request of
        the complete runs (their histograms pooled, as compare.runner judges percentiles), the
        runs' median for any other figure. A 0.3 s run at 300 req/s has 90 requests, so its
        own p99 is its worst request or so; the median of such p99s is a median of maxima."""
        pooled = pooled_percentile(self.complete, name)
        return self.figure(name).median if pooled is None else pooled

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)

    @property
    def peak_open(self) -> int:
        """The most connections any of its pools had open at once (the pools' own count)."""
        return max((r.pool.peak_open for r in self.runs), default=0)

    @property
    def left_open(self) -> int:
        return sum(left.sessions for left in self.closed)

    @property
    def usable(self) -> bool:
        """At least one complete run: a value to judge."""
        return bool(self.complete)

    def as_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.as_dict(),
            "workload": asdict(self.workload),
            "runs": len(self.runs),
            "complete_runs": len(self.complete),
            "errors": self.errors,
            "peak_open": self.peak_open,
            "fatal_error": self.fatal_error,
            "stopped": self.stopped,
            "seconds": round(self.seconds, 3),
            "requests": self.requests,
            "requests_needed": self.requests_needed,
            "low_confidence": self.low_confidence,
            "ended_early": self.ended_early,
            "figures": {name: s.as_dict() for name, s in self.spreads.items()},
        }


def pooled_percentile(runs: tuple[RunResult, ...], name: str) -> float | None:
    """Figure ``name``'s percentile (ms) over every request of ``runs``, None for a figure that
    is no percentile or runs without a histogram (a result loaded without snapshots)."""
    figure = next((f for f in FIGURES if f.name == name), None)
    if figure is None or figure.pooled is None or not runs:
        return None
    histogram, quantile = figure.pooled
    merged = functools.reduce(operator.add, (getattr(r.histograms, histogram) for r in runs))
    if not merged.count:
        return None
    return float(merged.percentile(quantile)) * 1000.0


def pooled_count(runs: tuple[RunResult, ...], name: str) -> int:
    """The requests figure ``name``'s histogram pools over ``runs`` (0 for a figure without)."""
    figure = next((f for f in FIGURES if f.name == name), None)
    if figure is None or figure.pooled is None:
        return 0
    return sum(getattr(r.histograms, figure.pooled[0]).count for r in runs)


def spreads_of(runs: tuple[RunResult, ...]) -> dict[str, Spread]:
    return {f.name: spread([f.read(r) for r in runs]) for f in FIGURES}


def measure(
    target: Target,
    config: PoolConfig,
    workload: Workload,
    plan: Plan,
    *,
    stop: threading.Event,
    deadline: float | None = None,
    on_run: Callable[[RunResult], None] | None = None,
) -> Measurement:
    """Batches of ``plan.runs_per_batch`` runs of ``plan.run_s`` on a fresh pool each, until
    the objective's relative spread is within ``plan.band`` (after two batches' worth of runs
    or one batch of 3+) and the runs pool ``plan.needed`` requests, ``plan.max_batches``,
    ``deadline`` (time.monotonic) or ``stop``. Short of those requests after its batches, it
    runs up to MAX_EXTENSIONS more, each stretched to gather what is missing at the rate
    measured so far, while the deadline allows and that rate could fill them. BadInput (from
    the runner) when the configuration does not fit on the server; CannotConnect when the
    server refuses the probe."""
    started = time.monotonic()
    needed = plan.needed
    run_s = first_run_s(workload, plan)
    runs: list[RunResult] = []
    closed: list[LeftOpen] = []
    fatal: str | None = None
    extensions = 0
    ended = False
    for batch in itertools.count():
        if stop.is_set():
            break
        late = deadline is not None and time.monotonic() >= deadline
        if batch >= plan.max_batches:
            have = pooled_requests(_complete(runs), plan)
            if have >= needed or late or extensions >= MAX_EXTENSIONS:
                break
            if not _reachable(_complete(runs), needed - have, plan, MAX_EXTENSIONS - extensions):
                break  # too slow to gather them in what is left: low confidence, said so
            if overloaded(_complete(runs), workload):
                break  # its queue grows with the run: a longer one only reads a longer queue
            extensions += 1
            run_s = _stretched(_complete(runs), needed - have, plan)
            if deadline is not None:  # a stretched batch ends by the deadline
                run_s = min(
                    run_s, max(plan.run_s, (deadline - time.monotonic()) / plan.runs_per_batch)
                )
        elif batch and late:
            break
        repeats = run_repeats(
            target,
            Side(config, _timed(workload, run_s)),
            plan.runs_per_batch,
            stop=stop,
            warmup_s=UNMEASURED_RUN_S,
            on_progress=(lambda done: on_run(done.result)) if on_run else None,
            end_after=_has_errors if plan.end_on_errors else None,
        )
        runs.extend(repeats.runs)
        closed.extend(repeats.outcome.closed.values())
        fatal = repeats.outcome.fatal_error or next(
            (r.fatal_error for r in repeats.runs if r.fatal_error), None
        )
        if fatal or stop.is_set():
            break
        if plan.end_on_errors and any(r.errors for r in repeats.runs):
            # infeasible already: no more of its runs (early, when more were planned)
            ended = len(repeats.runs) < plan.runs_per_batch or batch + 1 < plan.max_batches
            break
        complete = _complete(runs)
        enough = pooled_requests(complete, plan) >= needed
        if len(complete) >= 3 and enough and _narrow(list(complete), plan):
            break
    result = tuple(runs)
    finished = _complete(runs)
    return Measurement(
        config=config,
        workload=_timed(workload, plan.run_s),
        runs=result,
        closed=tuple(closed),
        fatal_error=fatal,
        stopped=stop.is_set(),
        seconds=time.monotonic() - started,
        spreads=spreads_of(finished or result),
        requests_needed=needed,
        tail_figures=plan.tail_figures,
        ended_early=ended,
    )


def _has_errors(run: RunResult) -> bool:
    return run.errors > 0


def _complete(runs: list[RunResult]) -> tuple[RunResult, ...]:
    return tuple(r for r in runs if not r.stopped and r.fatal_error is None)


def pooled_requests(runs: tuple[RunResult, ...], plan: Plan) -> int:
    """The fewest requests the plan's tail figures pool over ``runs``."""
    names = plan.tail_figures or ("p99_latency_ms",)
    return min(pooled_count(runs, name) for name in names)


def first_run_s(workload: Workload, plan: Plan) -> float:
    """The plan's run length, or longer for an open loop whose rate could not fill
    ``plan.needed`` requests in the planned batches (the rate is known before a run)."""
    if not plan.needed or not is_open_loop(workload.pattern) or workload.rate <= 0:
        return plan.run_s
    planned = plan.runs_per_batch * plan.max_batches
    wanted = 1.1 * plan.needed / (workload.rate * planned)  # 10 % over: arrivals are random
    return min(max(plan.run_s, wanted), MAX_RUN_FACTOR * plan.run_s)


OVERLOAD_SHARE = 0.9  # an open loop serving less than this share of its rate is overloaded


def overloaded(complete: tuple[RunResult, ...], workload: Workload) -> bool:
    """A Poisson open loop whose runs served less than OVERLOAD_SHARE of its rate: arrivals
    outrun the pool, the queue (and with it every percentile) grows for as long as it runs,
    so more requests do not make its tail better known, only worse (it is far from any best).
    Bursty's rate is its peak, so its mean is always below: never called overloaded here."""
    if workload.pattern != "poisson" or workload.rate <= 0 or not complete:
        return False
    served = sorted(r.throughput_rps for r in complete)[len(complete) // 2]
    return served < OVERLOAD_SHARE * workload.rate


def _rate(complete: tuple[RunResult, ...], plan: Plan) -> float:
    """Requests per second the complete runs pooled for the plan's tail figures."""
    seconds = sum(r.duration_s for r in complete)
    return pooled_requests(complete, plan) / seconds if seconds > 0 else 0.0


def _reachable(complete: tuple[RunResult, ...], missing: int, plan: Plan, batches: int) -> bool:
    """``batches`` more batches of the longest runs could gather ``missing`` requests at the
    rate measured so far: if not, extending only spends time (a configuration too slow for
    the rule is far from the best anyway)."""
    most = _rate(complete, plan) * plan.runs_per_batch * MAX_RUN_FACTOR * plan.run_s * batches
    return most >= missing


def _stretched(complete: tuple[RunResult, ...], missing: int, plan: Plan) -> float:
    """A run length that gathers ``missing`` more requests in one batch at the rate the
    complete runs had (10 % over, so a slower batch still fills), within MAX_RUN_FACTOR."""
    rate = _rate(complete, plan)
    if rate <= 0:
        return MAX_RUN_FACTOR * plan.run_s
    wanted = 1.1 * missing / rate / plan.runs_per_batch
    return min(max(plan.run_s, wanted), MAX_RUN_FACTOR * plan.run_s)


def _narrow(runs: list[RunResult], plan: Plan) -> bool:
    figure = next(f for f in FIGURES if f.name == plan.objective)
    values = spread([figure.read(r) for r in runs])
    relative = values.relative
    return relative is not None and relative <= plan.band


def _timed(workload: Workload, run_s: float) -> Workload:
    """The workload bounded by time alone (a request count would make runs unequal)."""
    from dataclasses import replace

    return replace(workload, duration_s=run_s, requests=0)
