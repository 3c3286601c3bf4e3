"""Run history: every burst as a numbered record, what changed since the last one, deltas.

Tuning is "baseline, change one thing, measure, compare": this module is that bookkeeping, kept
pure (no textual, no database) so the console shows it and tests check it without a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.errors import BadInput

if TYPE_CHECKING:
    from pooltui.core.load.engine import RunResult

# the figures a delta is computed for, in the order the console shows them
DELTA_KEYS = (
    "throughput",
    "p50",
    "p95",
    "p99",
    "acquire_p95",
    *("acquire_p999", "acquire_max"),  # the tail a p95 hides (starved threads wait there)
    "errors",
    "peak_open",
)
# for these a higher value is better; for every other key lower is better
HIGHER_IS_BETTER = frozenset({"throughput"})


@dataclass(frozen=True)
class RunRecord:
    """One finished run: the configuration the sliders asked for, the workload and the result."""

    number: int
    label: str
    config: PoolConfig
    workload: Workload
    result: RunResult

    def figures(self) -> dict[str, float]:
        """The run's figures under the DELTA_KEYS names (latencies and waits in ms)."""
        result = self.result
        return {
            "throughput": float(result.throughput_rps),
            "p50": float(result.latency.p50),
            "p95": float(result.latency.p95),
            "p99": float(result.latency.p99),
            "acquire_p95": float(result.acquire.p95),
            "acquire_p999": float(result.acquire.p999),
            "acquire_max": float(result.acquire.max),
            "errors": float(result.errors),
            "peak_open": float(result.pool.peak_open),
        }


def _show(value: object) -> str:
    """A parameter value as a person reads it in one cell: 0.5, true, 'SELECT 1', [a; b]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "[" + "; ".join(value) + "]"
    if isinstance(value, str):
        text = value if len(value) <= 24 else value[:23] + "…"
        return repr(text)
    return str(value)


def describe_changes(before: RunRecord | None, config: PoolConfig, workload: Workload) -> str:
    """What differs from the previous run, e.g. "maxconnections 8→12, hold_ms 0→5"."""
    if before is None:
        return "first run"
    changes = []
    for old_obj, new_obj in ((before.config, config), (before.workload, workload)):
        for f in fields(new_obj):
            old, new = getattr(old_obj, f.name), getattr(new_obj, f.name)
            if old != new:
                changes.append(f"{f.name} {_show(old)}→{_show(new)}")
    return ", ".join(changes) if changes else "no change"


def relative(value: float, base: float) -> float | None:
    """(value - base) / base; 0 when both are 0, None when only the base is 0 (no ratio)."""
    if base == 0:
        return 0.0 if value == 0 else None
    return (value - base) / base


class RunHistory:
    """The session's runs in order, and which one is the baseline the others compare with."""

    def __init__(self) -> None:
        self._records: list[RunRecord] = []
        self._baseline: int | None = None

    @property
    def records(self) -> tuple[RunRecord, ...]:
        return tuple(self._records)

    @property
    def baseline(self) -> int | None:
        """The baseline's record number, or None."""
        return self._baseline

    def __len__(self) -> int:
        return len(self._records)

    def get(self, number: int) -> RunRecord | None:
        """The record with that number (numbers start at 1 and are never reused)."""
        if 1 <= number <= len(self._records):
            return self._records[number - 1]
        return None

    def baseline_record(self) -> RunRecord | None:
        return None if self._baseline is None else self.get(self._baseline)

    def add(self, config: PoolConfig, workload: Workload, result: RunResult) -> RunRecord:
        """Append a run, labelled with what changed since the previous one."""
        previous = self._records[-1] if self._records else None
        record = RunRecord(
            number=len(self._records) + 1,
            label=describe_changes(previous, config, workload),
            config=config,
            workload=workload,
            result=result,
        )
        self._records.append(record)
        return record

    def mark_baseline(self, number: int | None) -> None:
        """Make run ``number`` the baseline (None clears it)."""
        if number is not None and self.get(number) is None:
            raise BadInput(f"run {number} does not exist; pick one of the runs in the history.")
        self._baseline = number

    def delta(self, record: RunRecord) -> dict[str, float | None]:
        """Relative change of each DELTA_KEYS figure against the baseline (0.1 = +10 %).

        Every value is None when there is no baseline; one is None when the baseline's figure
        is 0 and this one's is not (no ratio exists: show the absolute value instead).
        """
        base = self.baseline_record()
        if base is None:
            return dict.fromkeys(DELTA_KEYS)
        mine, theirs = record.figures(), base.figures()
        return {key: relative(mine[key], theirs[key]) for key in DELTA_KEYS}
