"""One measured configuration of a tune: runs in batches on fresh pools until its objective's
noise band is narrow enough, the batch limit is reached, or the time is up.

A batch is ``compare.runner.run_repeats`` (probe and capacity check, a pre-opened pool, one
unmeasured run, the measured runs, close, the server's count of what is left): the same steps
a comparison takes, so a sweep point, a search trial and the proof measure alike. Batches get a
fresh pool each, because two pools of one configuration differ by 5-12 % for as long as they
live (bench/compare_noise.py): the spread over batches includes that luck instead of hiding it.
"""

from __future__ import annotations

import functools
import operator
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from pooltui.core.compare.noise import Spread, spread
from pooltui.core.compare.runner import FIGURES, Side, run_repeats
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.load.results import RunResult
from pooltui.core.probes import LeftOpen
from pooltui.core.targets import Target

UNMEASURED_RUN_S = 0.1  # each batch's first run, not measured: what a fresh pool's first
# requests pay (the first statement on a connection, the server's plan cache)


@dataclass(frozen=True)
class Plan:
    """How hard to measure one configuration."""

    run_s: float = 1.0  # one measured run
    runs_per_batch: int = 2
    max_batches: int = 3
    band: float = 0.05  # stop adding batches when the objective's ±spread is within this
    objective: str = "throughput_rps"  # the figure whose band decides


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
    or one batch of 3+), ``plan.max_batches``, ``deadline`` (time.monotonic) or ``stop``.
    BadInput (from the runner) when the configuration does not fit on the server;
    CannotConnect when the server refuses the probe."""
    started = time.monotonic()
    run_workload = _timed(workload, plan.run_s)
    runs: list[RunResult] = []
    closed: list[LeftOpen] = []
    fatal: str | None = None
    for batch in range(plan.max_batches):
        if stop.is_set() or (batch and deadline is not None and time.monotonic() >= deadline):
            break
        repeats = run_repeats(
            target,
            Side(config, run_workload),
            plan.runs_per_batch,
            stop=stop,
            warmup_s=UNMEASURED_RUN_S,
            on_progress=(lambda done: on_run(done.result)) if on_run else None,
        )
        runs.extend(repeats.runs)
        closed.extend(repeats.outcome.closed.values())
        fatal = repeats.outcome.fatal_error or next(
            (r.fatal_error for r in repeats.runs if r.fatal_error), None
        )
        if fatal or stop.is_set():
            break
        complete = [r for r in runs if not r.stopped and r.fatal_error is None]
        if len(complete) >= 3 and _narrow(complete, plan):
            break
    result = tuple(runs)
    finished = tuple(r for r in result if not r.stopped and r.fatal_error is None)
    return Measurement(
        config=config,
        workload=run_workload,
        runs=result,
        closed=tuple(closed),
        fatal_error=fatal,
        stopped=stop.is_set(),
        seconds=time.monotonic() - started,
        spreads=spreads_of(finished or result),
    )


def _narrow(runs: list[RunResult], plan: Plan) -> bool:
    figure = next(f for f in FIGURES if f.name == plan.objective)
    values = spread([figure.read(r) for r in runs])
    relative = values.relative
    return relative is not None and relative <= plan.band


def _timed(workload: Workload, run_s: float) -> Workload:
    """The workload bounded by time alone (a request count would make runs unequal)."""
    from dataclasses import replace

    return replace(workload, duration_s=run_s, requests=0)
