"""The proof: the winner against the starting configuration, by the comparisons' alternating
A/B/B/A on fresh pre-opened pools with a bootstrap 95 % interval per figure
(``compare.runner.run_comparison``). The gain a tune reports is that interval, not the search's
own numbers (the best of many noisy trials is biased upwards: the winner's curse).

Beside it, the two rules of thumb a user would otherwise follow: DBUtils' own defaults (no
limit, no idle cap, ``blocking=False``, ``ping=1``, ``reset=True``) and HikariCP's
``(2 x cores) + spindles``, each with what the sweep measured at its size.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pooltui.core.compare.noise import Difference, Verdict
from pooltui.core.compare.runner import Comparison, RunDone, Side, run_comparison
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.diagnosis.queueing import hikari_pool_size
from pooltui.core.errors import BadInput
from pooltui.core.targets import Target
from pooltui.core.tune.sweep import Sweep, size_config

#: PooledDB's own keyword defaults (DBUtils 3.2: maxusage None and setsession None are 0 and ()
#: here), not pooltui's: what an application gets that passes nothing
DBUTILS_DEFAULTS = PoolConfig(
    mincached=0,
    maxcached=0,
    maxshared=0,
    maxconnections=0,
    blocking=False,
    maxusage=0,
    setsession=(),
    reset=True,
    ping=1,
)


@dataclass(frozen=True)
class Rule:
    """A rule of thumb's configuration and what the sweep measured nearest its size."""

    name: str
    config: PoolConfig
    size: int  # the connections it gives this workload
    measured_size: int | None  # the sweep point read (the nearest measured)
    throughput_rps: float | None
    p99_ms: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "config": self.config.as_dict(),
            "size": self.size,
            "measured_size": self.measured_size,
            "throughput_rps": None
            if self.throughput_rps is None
            else round(self.throughput_rps, 3),
            "p99_latency_ms": None if self.p99_ms is None else round(self.p99_ms, 4),
        }


@dataclass(frozen=True)
class Proof:
    """The comparison (None when it could not run: ``reason`` says why), the objective's
    difference, and the rules of thumb."""

    comparison: Comparison | None
    figure: str
    reason: str | None
    rules: tuple[Rule, ...]

    @property
    def difference(self) -> Difference | None:
        if self.comparison is None:
            return None
        return self.comparison.differences.get(self.figure)

    @property
    def refuted(self) -> bool:
        """The A/B measured the winner worse than the start, beyond the noise: the search's
        figures were its draws' luck, and the start is what to keep."""
        d = self.difference
        return d is not None and d.verdict is Verdict.WORSE

    def sentence(self) -> str:
        d = self.difference
        if d is None:
            return self.reason or "the proof did not complete a pair of runs: no verdict."
        return (
            f"the winner against the starting configuration: {self.figure} {d.describe()} "
            f"({d.verdict}, {self.comparison.rounds_judged if self.comparison else 0} rounds)."
        )

    def as_dict(self) -> dict[str, Any]:
        d = self.difference
        return {
            "figure": self.figure,
            "verdict": None if d is None else str(d.verdict),
            "difference": None if d is None else d.as_dict(),
            "reason": self.reason,
            "comparison": None if self.comparison is None else self.comparison.as_dict(),
            "rules": [r.as_dict() for r in self.rules],
            "refuted": self.refuted,
            "sentence": self.sentence(),
        }


def rules_of_thumb(
    sweep: Sweep | None, workload: Workload, cores: int, spindles: int = 0
) -> tuple[Rule, ...]:
    """DBUtils' defaults and HikariCP's formula for this workload, read off the sweep."""
    hikari = hikari_pool_size(max(1, cores), spindles)
    rules = []
    for name, config, size in (
        ("DBUtils defaults", DBUTILS_DEFAULTS, workload.threads),
        (f"HikariCP (2 x {cores} cores) + {spindles}", size_config(PoolConfig(), hikari), hikari),
    ):
        point = sweep.nearest(size) if sweep is not None else None
        rules.append(
            Rule(
                name,
                config,
                size,
                None if point is None else point.size,
                None if point is None else point.throughput,
                None if point is None else point.p99_ms,
            )
        )
    return tuple(rules)


def prove(
    target: Target,
    start: tuple[PoolConfig, Workload],
    winner: tuple[PoolConfig, Workload],
    *,
    figure: str,
    rounds: int,
    run_s: float,
    rules: tuple[Rule, ...] = (),
    stop: threading.Event | None = None,
    on_progress: Callable[[RunDone], None] | None = None,
) -> Proof:
    """A/B/B/A ``rounds`` times, runs of ``run_s``: A the start, B the winner. A start that
    cannot run here (it does not fit on the server, or is invalid) gives a Proof with the
    reason instead of a comparison."""
    a = Side(start[0], replace(start[1], duration_s=run_s, requests=0), "start")
    b = Side(winner[0], replace(winner[1], duration_s=run_s, requests=0), "winner")
    try:
        comparison = run_comparison(
            target, a, b, rounds, stop=stop, on_progress=on_progress, warmup_s=0.1
        )
    except BadInput as error:
        return Proof(None, figure, f"the proof could not run: {error}", rules)
    return Proof(comparison, figure, None, rules)
