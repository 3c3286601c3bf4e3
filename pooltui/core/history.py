"""Run history: every burst as a numbered record, the repeats of one configuration as a group,
how a run differs from the baseline, and its deltas against the baseline with their noise.

Tuning is "baseline, change one thing, measure, compare": this module is that bookkeeping, kept
pure (no textual, no database) so the console shows it and tests check it without a terminal.

A *group* is one configuration run again and again (the console's repeat key): it reads as the
median of its runs with their band for the central figures (throughput, latency percentiles,
acquire p95) and as its worst run for every other figure (errors, peak open, acquire max): a
bad repeat is never hidden behind a median. A single run is a group of one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from pooltui.core.compare.noise import Spread
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.errors import BadInput
from pooltui.core.numbers import figure, ms

if TYPE_CHECKING:
    from pooltui.core.compare.runner import Comparison
    from pooltui.core.load.engine import RunResult

# why a row has no delta against the baseline: it ran against another server or database, so a
# change is the target's, not the pool's, and a percentage across them means nothing
OTHER_TARGET = "other target"

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
# a group shows these as the median of its runs and their band; every other figure (a tail, a
# count) as its worst run
CENTRAL = frozenset({"throughput", "p50", "p95", "p99", "acquire_p95"})
# counted figures (whole numbers); every other figure is in ms, throughput in req/s
COUNTS = frozenset({"errors", "peak_open"})
# a relative change smaller than this is no change (one run's measurement noise)
NOISE = 0.02
# below these a figure is within noise of zero, so a ratio to it means nothing and a delta is
# shown as a difference: a timer's and the interpreter's jitter (50 µs), a count within its own
# Poisson noise of zero (n <= 2 sqrt(n) up to 4), a run that served nothing
ZERO_FLOOR = {"ms": 0.05, "s": 0.05, "": 5.0, "req/s": 1.0}


def unit_of(key: str) -> str:
    """The unit of a DELTA_KEYS-style figure: "req/s", "" for a count, else "ms"."""
    if key == "throughput":
        return "req/s"
    return "" if key in COUNTS else "ms"


def format_value(value: float, unit: str) -> str:
    """A figure as one cell shows it: the shared number format (``numbers.figure``)."""
    return figure(value, unit)


def format_difference(difference: float, unit: str, *, compact: bool = False) -> str:
    """An absolute change: ``+0.4 ms``, ``+0.043 ms``, ``+3``, ``-12 req/s`` (``compact``: no
    space before the unit, for a table cell); milliseconds to the microsecond at most (no
    timer here resolves less), so a smaller change is ``±0``."""
    size = abs(difference)
    if unit == "":
        number = f"{round(difference):+,}"
    elif size >= 10:
        number = f"{difference:+,.0f}"
    elif size >= 1:
        number = f"{difference:+.1f}"
    else:
        number = f"{float(f'{difference:.2g}'):+.3f}".rstrip("0").rstrip(".")
    if number.lstrip("+-") in ("0", ""):
        number = "±0"
    return number + (unit if compact or not unit else f" {unit}")


@dataclass(frozen=True)
class Figure:
    """One figure over a group's runs, and how the group reads it (median or worst)."""

    values: tuple[float, ...]
    unit: str = "ms"
    higher_is_better: bool | None = False  # None: neither (a duration, a count of requests)
    central: bool = True  # the median and its band; otherwise the worst run

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def spread(self) -> Spread:
        return Spread(self.values)

    @property
    def worst(self) -> float:
        return min(self.values) if self.higher_is_better else max(self.values)

    @property
    def value(self) -> float:
        """What the group shows: the median of a central figure, the worst run of any other."""
        return self.spread.median if self.central else self.worst

    @property
    def near_zero(self) -> bool:
        """Within noise of zero: below the unit's floor, or (repeats) within its own band."""
        value = self.value
        if abs(value) < ZERO_FLOOR.get(self.unit, 0.0) or value <= 0:
            return True
        return self.central and self.n >= 2 and self.spread.near_zero

    def band(self) -> str:
        """How far the repeats spread: ``±4%``, ``±0.01`` near zero; ``max`` (``min`` where
        higher is better) for a figure read off the worst run; "" for one run."""
        if self.n < 2:
            return ""
        if not self.central:
            return "min" if self.higher_is_better else "max"
        spread = self.spread
        relative = spread.relative
        if relative is None or spread.near_zero:
            return f"±{format_value((spread.high - spread.low) / 2, self.unit)}"
        return f"±{relative * 100:.0f}%"

    def describe(self) -> str:
        """``412 ±4%``, ``0.00 ±0.01`` near zero, ``≤3`` for a worst run; one run: the value."""
        spread, shown = self.spread, format_value(self.value, self.unit)
        if self.n < 2 or spread.low == spread.high:
            return shown
        if not self.central:
            return ("≥" if self.higher_is_better else "≤") + shown
        return f"{shown} {self.band()}"


@dataclass(frozen=True)
class Delta:
    """A figure against the baseline's: relative, or a difference when the baseline's figure is
    within noise of zero (acquire p95 0.00 ms, 0 errors: "+0.4 ms", never "+523807 %")."""

    figure: Figure
    base: Figure

    @property
    def difference(self) -> float:
        return self.figure.value - self.base.value

    @property
    def absolute(self) -> bool:
        return self.base.near_zero

    @property
    def relative(self) -> float | None:
        """(value - base) / base, or None when only a difference means something."""
        return None if self.absolute else self.difference / self.base.value

    @property
    def noise(self) -> bool:
        """Within noise: smaller than one run's noise, or (repeats) inside the other's band."""
        difference = self.difference
        if difference == 0:
            return True
        relative = self.relative
        if relative is None:
            if abs(difference) < ZERO_FLOOR.get(self.figure.unit, 0.0):
                return True
        elif abs(relative) < NOISE:
            return True
        mine, theirs = self.figure, self.base
        if max(mine.n, theirs.n) < 2:
            return False
        low, high = _range(mine)
        base_low, base_high = _range(theirs)
        return low <= base_high and base_low <= high

    @property
    def better(self) -> bool | None:
        """True better, False worse, None within noise or when neither way is better."""
        if self.noise or self.figure.higher_is_better is None:
            return None
        return (self.difference > 0) == self.figure.higher_is_better

    def describe(self, *, compact: bool = False) -> str:
        """``+12%`` (``+12.3%`` unless compact), ``±0%``, or a difference: ``+0.4 ms``."""
        relative = self.relative
        if relative is None:
            return format_difference(self.difference, self.figure.unit, compact=compact)
        if abs(relative) < 0.0005 or (compact and abs(relative) < 0.005):
            return "±0%"
        return f"{relative:+.0%}" if compact else f"{relative:+.1%}"


def _range(figure: Figure) -> tuple[float, float]:
    """The span a figure's repeats cover (the median's band, or the worst runs')."""
    spread = figure.spread
    return spread.low, spread.high


@dataclass(frozen=True)
class RunRecord:
    """One finished run: the configuration the sliders asked for, the workload and the result.

    ``group`` is the number of the group's first run (the record's own number when it is no
    repeat of another run).
    """

    number: int
    config: PoolConfig
    workload: Workload
    result: RunResult
    group: int
    at: float = 0.0  # when it was recorded (seconds since the epoch, UTC)

    @property
    def target(self) -> str:
        """The redacted target the run ran against."""
        return self.result.target

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

    @property
    def processes(self) -> int:
        """How many processes ran it at once, each with its own pool (1: the console's own)."""
        return self.result.processes

    def same_setup(
        self, config: PoolConfig, workload: Workload, target: str, processes: int = 1
    ) -> bool:
        """Ran with exactly this configuration, workload and target, in as many processes."""
        return (self.config, self.workload, self.target, self.processes) == (
            config,
            workload,
            target,
            processes,
        )


@dataclass(frozen=True)
class RunGroup:
    """One configuration's runs (one, or a series of repeats): one row of the history."""

    runs: tuple[RunRecord, ...]

    @property
    def number(self) -> int:
        return self.runs[0].number

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def first(self) -> RunRecord:
        return self.runs[0]

    @property
    def config(self) -> PoolConfig:
        return self.first.config

    @property
    def workload(self) -> Workload:
        return self.first.workload

    @property
    def target(self) -> str:
        return self.first.target

    @property
    def processes(self) -> int:
        return self.first.processes

    @property
    def stopped(self) -> bool:
        return any(run.result.stopped for run in self.runs)

    def numbers(self) -> str:
        """``#3``, ``#3-#5``, or ``#3, #5, #7`` when other runs ran in between."""
        numbers = [run.number for run in self.runs]
        if len(numbers) == 1:
            return f"#{numbers[0]}"
        if numbers == list(range(numbers[0], numbers[-1] + 1)):
            return f"#{numbers[0]}-#{numbers[-1]}"
        return ", ".join(f"#{n}" for n in numbers)

    def describe(self) -> str:
        """One line for a log: the band of the central figures, the worst run's tail."""

        def band(read: Callable[[RunResult], float], unit: str) -> str:
            return Spread(tuple(read(run.result) for run in self.runs)).describe(unit)

        worst_wait = max(run.result.acquire.max for run in self.runs)
        worst_errors = max(run.result.errors for run in self.runs)
        return (
            f"runs {self.numbers()}: {band(lambda r: r.throughput_rps, ' req/s')}, p95 "
            f"{band(lambda r: r.latency.p95, ' ms')}, acquire p95 "
            f"{band(lambda r: r.acquire.p95, ' ms')}; worst run: acquire max "
            f"{ms(worst_wait)}, errors {worst_errors:,}"
        )

    def figure(self, key: str) -> Figure:
        """A DELTA_KEYS figure over the group's runs."""
        return Figure(
            tuple(run.figures()[key] for run in self.runs),
            unit=unit_of(key),
            higher_is_better=key in HIGHER_IS_BETTER,
            central=key in CENTRAL,
        )

    def figures(self) -> dict[str, Figure]:
        return {key: self.figure(key) for key in self.first.figures()}


# pool fields whose 0 means "no limit": said as the sliders show it, ∞, not as a 0 a reader
# takes for "none" ("maxconnections 0→4" read as a pool that had no connections)
UNLIMITED_AT_ZERO = frozenset({"maxconnections", "maxcached", "maxusage"})


def show_setting(name: str, value: object) -> str:
    """A pool or workload value as a person reads it: ``∞`` for an unlimited 0, else
    ``_show``'s form."""
    if name in UNLIMITED_AT_ZERO and value == 0 and not isinstance(value, bool):
        return "∞"
    return _show(value)


def _show(value: object) -> str:
    """A parameter value as a person reads it in one cell: 0.5, true, 'SELECT 1', [a; b]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "[" + "; ".join(value) + "]"
    if isinstance(value, str):
        return repr(_cut(value, 24))
    return str(value)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def describe_changes(
    before: RunGroup | RunRecord | None,
    config: PoolConfig,
    workload: Workload,
    target: str,
    processes: int = 1,
) -> str:
    """What differs from ``before`` (target, processes, pool, workload), e.g.
    "maxconnections 8→12, hold_ms 0→5"; "no change" when nothing does."""
    if before is None:
        return "first run"
    changes = [] if before.target == target else [f"target {_cut(target, 28)}"]
    if before.processes != processes:  # a fleet: W pools, W times the threads
        changes.append(f"processes {before.processes}→{processes}")
    changes += setting_changes(before.config, before.workload, config, workload)
    return ", ".join(changes) if changes else "no change"


def setting_changes(
    old_config: PoolConfig, old_workload: Workload, config: PoolConfig, workload: Workload
) -> list[str]:
    """Each pool and workload field that differs, pool first: ``hold_ms 1→4`` (the history's
    "changed" column and a comparison's "B changes" read the same words)."""
    found = []
    for old_obj, new_obj in ((old_config, config), (old_workload, workload)):
        for f in fields(new_obj):
            old, new = getattr(old_obj, f.name), getattr(new_obj, f.name)
            if old != new:
                found.append(f"{f.name} {show_setting(f.name, old)}→{show_setting(f.name, new)}")
    return found


def same_setup_note(group: RunGroup, base: RunGroup, *, compact: bool = False) -> str:
    """What a run with the baseline's exact setup says: its difference is noise, and how large
    that noise is (from the repeats, or only from the two runs when there is one of each)."""
    values = [run.result.throughput_rps for run in (*base.runs, *group.runs)]
    relative = Spread(tuple(values)).relative
    if relative is None:  # neither served a request: nothing to measure noise on
        noise = "no throughput to compare"
        return "same as baseline" if compact else f"same configuration as the baseline ({noise})"
    x, short = f"±{relative * 100:.1f} %", f"±{relative * 100:.0f}%"  # short: a table cell
    if group.n == 1 and base.n == 1:
        if compact:
            return f"same as baseline: {short} (1 run each)"
        return (
            f"same configuration as the baseline: the difference is noise ({x} between one "
            "run of each, which is no noise estimate: repeat them for one)"
        )
    if compact:
        return f"same as baseline: noise {short}"
    return (
        f"same configuration as the baseline: the difference is noise ({x} over {len(values)} runs)"
    )


def _setup(group: RunGroup) -> tuple[PoolConfig, Workload, str, int]:
    """What a group ran: its configuration, workload, target and processes."""
    return group.config, group.workload, group.target, group.processes


@dataclass(frozen=True)
class KeptComparison:
    """An A/B comparison as the history keeps it: its number (1, 2, ... never reused), the
    comparison, and the history numbers of its runs in time order (``comparison.runs``')."""

    number: int
    comparison: Comparison
    runs: tuple[int, ...]

    def side_of(self, run: int) -> str | None:
        """ "A" or "B" for one of its runs (None for another run)."""
        sides = [r.side for r in self.comparison.runs]
        if run not in self.runs or len(sides) != len(self.runs):
            return None
        return sides[self.runs.index(run)]


class RunHistory:
    """The runs in order, their groups, their notes, and which group is the baseline.

    Numbers start at 1 and are never reused, also after a run is deleted; runs restored from
    an earlier session (core/history_store.py) keep theirs.
    """

    def __init__(self) -> None:
        self._records: dict[int, RunRecord] = {}
        self._baseline: int | None = None
        self._comparisons: dict[int, KeptComparison] = {}  # by the group numbers of its runs
        self._next_comparison = 1
        self._notes: dict[int, str] = {}  # by group number
        self._next = 1

    @property
    def records(self) -> tuple[RunRecord, ...]:
        return tuple(self._records.values())

    @property
    def baseline(self) -> int | None:
        """The baseline group's number (its first run's), or None."""
        return self._baseline

    @property
    def next_number(self) -> int:
        """The number the next run gets."""
        return self._next

    def __len__(self) -> int:
        return len(self._records)

    def get(self, number: int) -> RunRecord | None:
        """The record with that number, None for one never made or deleted."""
        return self._records.get(number)

    def group(self, number: int) -> RunGroup | None:
        """The group run ``number`` belongs to."""
        record = self.get(number)
        if record is None:
            return None
        return RunGroup(tuple(r for r in self._records.values() if r.group == record.group))

    @property
    def groups(self) -> tuple[RunGroup, ...]:
        """Every group, in the order of their first runs: the rows of the history."""
        members: dict[int, list[RunRecord]] = {}
        for record in self._records.values():
            members.setdefault(record.group, []).append(record)
        return tuple(RunGroup(tuple(runs)) for runs in members.values())

    def __iter__(self) -> Iterator[RunGroup]:
        return iter(self.groups)

    def baseline_group(self) -> RunGroup | None:
        return None if self._baseline is None else self.group(self._baseline)

    def add(
        self,
        config: PoolConfig,
        workload: Workload,
        result: RunResult,
        *,
        repeats: int | None = None,
        number: int | None = None,
        at: float | None = None,
    ) -> RunRecord:
        """Append a run; ``repeats``: the number of a run with the same setup whose group this
        one joins (a repeat), else it starts a group of its own. ``number`` (at least the next
        one): a store that knows of runs this history has not seen picks it."""
        number = max(self._next, number or 0)
        group = number
        if repeats is not None:
            other = self.get(repeats)
            if other is None or not other.same_setup(
                config, workload, result.target, result.processes
            ):
                raise BadInput(
                    f"run {number} repeats run {repeats}, which does not exist or ran another "
                    "configuration; repeat a run with its own configuration."
                )
            group = other.group
        record = RunRecord(
            number, config, workload, result, group, time.time() if at is None else at
        )
        return self.restore(record)

    def restore(self, record: RunRecord) -> RunRecord:
        """Put back a run kept from an earlier session, with its own number and group."""
        if record.number in self._records or record.number < 1:
            raise BadInput(f"run {record.number} is in the history already.")
        self._records[record.number] = record
        self._next = max(self._next, record.number + 1)
        return record

    def remove(self, number: int) -> tuple[int, ...]:
        """Delete the group of run ``number`` (its note and, if it was, the baseline with it);
        the numbers of the runs deleted (none when there was no such run)."""
        group = self.group(number)
        if group is None:
            return ()
        for run in group.runs:
            del self._records[run.number]
        self._notes.pop(group.number, None)
        self._comparisons.pop(group.number, None)
        if self._baseline == group.number:
            self._baseline = None
        return tuple(run.number for run in group.runs)

    def note(self, group: RunGroup | int) -> str:
        """The user's note on a group ("" without one)."""
        number = group if isinstance(group, int) else group.number
        return self._notes.get(number, "")

    def annotate(self, number: int, note: str) -> int:
        """Set the note of run ``number``'s group ("" removes it); the group's number."""
        group = self.group(number)
        if group is None:
            raise BadInput(f"run {number} does not exist; pick one of the runs in the history.")
        note = " ".join(note.split())
        if note:
            self._notes[group.number] = note
        else:
            self._notes.pop(group.number, None)
        return group.number

    def repeatable(
        self, config: PoolConfig, workload: Workload, target: str, processes: int = 1
    ) -> int | None:
        """The newest run, when a repeat of this setup extends its group: it ran the same
        setup (in as many processes), to its end, without a fatal error (a run cut short is
        no repeat)."""
        newest = next(reversed(self._records.values()), None)
        if newest is None or not newest.same_setup(config, workload, target, processes):
            return None
        if newest.result.stopped or newest.result.fatal_error:
            return None
        return newest.number

    def add_comparison(
        self, comparison: Comparison, numbers: Iterable[int], *, number: int | None = None
    ) -> KeptComparison:
        """Keep an A/B comparison beside the groups of its runs (``numbers``: the runs, in
        time order); it gets the next comparison number (``number``: a store's, kept)."""
        runs = tuple(numbers)
        number = max(self._next_comparison, number or 0)
        kept = KeptComparison(number, comparison, runs)
        self._next_comparison = number + 1
        for run in runs:
            record = self.get(run)
            if record is not None:
                self._comparisons[record.group] = kept
        return kept

    def comparison(self, group: RunGroup) -> Comparison | None:
        """The A/B comparison ``group``'s runs were part of, if any."""
        kept = self._comparisons.get(group.number)
        return None if kept is None else kept.comparison

    def kept_comparison(self, group: int) -> KeptComparison | None:
        """The comparison group ``group``'s runs were part of, with its number and runs."""
        return self._comparisons.get(group)

    def mark_baseline(self, number: int | None) -> None:
        """Make the group of run ``number`` the baseline (None clears it)."""
        if number is None:
            self._baseline = None
            return
        record = self.get(number)
        if record is None:
            raise BadInput(f"run {number} does not exist; pick one of the runs in the history.")
        self._baseline = record.group

    def changes(self, group: RunGroup) -> str:
        """How ``group`` differs from the baseline (pool, workload, target), or, without one,
        from the group before it; the baseline's own row says "baseline"."""
        base = self.baseline_group()
        if base is not None:
            if base.number == group.number:
                return "baseline"
            if base.first.same_setup(*_setup(group)):
                return same_setup_note(group, base, compact=True)
            changed = describe_changes(base, *_setup(group))
            if self.no_delta(group) is None:
                return changed
            # the target first (describe_changes puts it there), said as why there is no delta
            return f"no Δ, {OTHER_TARGET}{changed.removeprefix('target')}"
        groups = self.groups
        index = next(i for i, g in enumerate(groups) if g.number == group.number)
        before = groups[index - 1] if index else None
        return describe_changes(before, *_setup(group))

    def same_as_baseline(self, group: RunGroup) -> str | None:
        """The same-configuration sentence when ``group`` repeats the baseline's setup exactly
        (and is not the baseline itself), else None."""
        base = self.baseline_group()
        if base is None or base.number == group.number:
            return None
        if not base.first.same_setup(*_setup(group)):
            return None
        return same_setup_note(group, base)

    def no_delta(self, group: RunGroup) -> str | None:
        """Why ``group`` has no delta against the baseline although there is one (it ran
        against another target: ``OTHER_TARGET``), else None."""
        base = self.baseline_group()
        if base is None or base.number == group.number or base.target == group.target:
            return None
        return OTHER_TARGET

    def delta(self, group: RunGroup) -> dict[str, Delta] | None:
        """Each figure of ``group`` against the baseline's; None when there is no baseline or
        when there is no meaningful one (``no_delta`` says why)."""
        base = self.baseline_group()
        if base is None or self.no_delta(group) is not None:
            return None
        theirs = base.figures()
        return {key: Delta(figure, theirs[key]) for key, figure in group.figures().items()}
