"""How sure a difference is: a figure's spread over repeats, and the verdict on two
configurations' paired repeats, with a bootstrap 95 % interval.

Runs on a shared machine differ by tens of percent, so one run against one run says nothing.
A comparison runs A and B alternately (A/B/B/A ...: drift on the machine hits both alike) and
pairs each B run with the A run beside it in time. The difference of a figure is then the mean
of ``log(B/A)`` (a ratio: 2x and 0.5x are equally far from 1) or, where A is within noise of
zero (acquire waits of 0.00 ms, 0 errors) and a ratio means nothing, of ``B - A``; a percentile
is compared over all requests of the paired runs (``compare_pooled``). Its interval comes from
resampling *rounds* (the percentile bootstrap), widened for few of them by the t/z and
n/(n-1) factors: a round's two pairs share its seconds on the machine, and a burst of load
that covers its middle (B, B) or its ends (A, A) moves both pairs the same way (counted as
independent pairs, 3-round A/A comparisons on MariaDB called noise a change in 4 of 22 trials,
as rounds in 2: bench/compare_noise.py); with 3-8 units the plain percentile interval also
covers the truth well under 95 % of the time.

A verdict is ``better`` or ``worse`` only when the interval excludes "no change" *and* the
change is at least ``min_effect`` (a ratio 2 % from 1 by default): a tuning tool that credits a
change for noise is worse than none.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

RESAMPLES = 4000
POOLED_RESAMPLES = 2000  # each one merges every resampled pair's histograms
CONFIDENCE = 0.95
MIN_EFFECT = 0.02  # a ratio within 2 % of 1 is no change worth a verdict
ZERO_SPAN = 0.01  # positive values spanning more than 100x reach down to "no wait at all"
# t quantiles (two-sided 95 %) for 1..30 degrees of freedom; beyond, the normal's 1.96
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_Z975 = 1.959964


class Verdict(StrEnum):
    """What a comparison concludes about one figure, for the direction that figure improves in."""

    BETTER = "better"
    WORSE = "worse"
    NOISE = "within noise"
    SAME = "same"  # every pair identical: nothing moved at all (0 errors on both sides)
    UNKNOWN = "no noise estimate"  # one pair: no spread to judge a difference against


@dataclass(frozen=True)
class Spread:
    """One figure over repeated runs: its median and range."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else 0.0

    @property
    def low(self) -> float:
        return min(self.values) if self.values else 0.0

    @property
    def high(self) -> float:
        return max(self.values) if self.values else 0.0

    @property
    def relative(self) -> float | None:
        """Half the range over the median (the ``±x %`` a display shows), None if the median
        is 0 (then only an absolute spread means anything)."""
        median = self.median
        return (self.high - self.low) / 2 / abs(median) if median else None

    @property
    def near_zero(self) -> bool:
        """The figure is within its own noise of zero, so a ratio to it means nothing: its
        median is 0, or no farther from 0 than half its range *and* its values reach 0 or span
        more than ZERO_SPAN. An acquire p95 of 0.00-0.31 ms is near zero; a latency p95 that
        jumps between 1.8 and 12 ms across a cliff is noisy but nowhere near 0 (judged as a
        difference of the runs' own values, it hid MariaDB's 3x p95 change: both misses of 20
        A/B trials in bench/compare_noise.py under load)."""
        if self.median == 0:
            return True
        if abs(self.median) > (self.high - self.low) / 2:
            return False
        return self.low <= 0 or self.low < self.high * ZERO_SPAN

    def as_dict(self) -> dict[str, float | int]:
        return {
            "median": _round(self.median),
            "low": _round(self.low),
            "high": _round(self.high),
            "n": self.n,
        }

    def describe(self, unit: str = "") -> str:
        """``412.3 ±4.1 %`` (or ``0.02 ±0.03 ms`` near zero); one value: just the value."""
        if self.n < 2:
            return f"{format_value(self.median)}{unit}"
        relative = self.relative
        if relative is None or self.near_zero:
            return f"{format_value(self.median)} ±{format_value((self.high - self.low) / 2)}{unit}"
        return f"{format_value(self.median)}{unit} ±{relative * 100:.1f} %"


def spread(values: Sequence[float]) -> Spread:
    return Spread(tuple(float(v) for v in values))


@dataclass(frozen=True)
class Difference:
    """B against A for one figure, over paired runs.

    ``relative``: the change is a ratio B/A (``change``, ``low`` and ``high`` are ratios);
    otherwise it is B - A in the figure's unit (A within noise of zero, or a value <= 0).
    """

    figure: str
    a: Spread
    b: Spread
    relative: bool
    change: float  # the point estimate: geometric-mean ratio, or mean difference
    low: float  # the 95 % interval of change
    high: float
    verdict: Verdict
    higher_is_better: bool

    @property
    def pairs(self) -> int:
        return min(self.a.n, self.b.n)

    def as_dict(self) -> dict[str, object]:
        kind = "ratio" if self.relative else "difference"
        return {
            "a": self.a.as_dict(),
            "b": self.b.as_dict(),
            kind: _round(self.change),
            "interval": [_round(self.low), _round(self.high)],
            "verdict": str(self.verdict),
            "higher_is_better": self.higher_is_better,
        }

    def describe(self) -> str:
        """``+12.3 % [+8.1, +16.0]`` for a ratio, ``+3 [+1, +5]`` for a difference."""
        if self.relative:
            return (
                f"{format_ratio(self.change)} [{format_ratio(self.low, sign=True, unit='')}, "
                f"{format_ratio(self.high, sign=True, unit='')}]"
            )
        return (
            f"{format_signed(self.change)} [{format_signed(self.low)}, {format_signed(self.high)}]"
        )


def compare(
    figure: str,
    a_values: Sequence[float],
    b_values: Sequence[float],
    *,
    higher_is_better: bool,
    seed: int = 0,
    resamples: int = RESAMPLES,
    min_effect: float = MIN_EFFECT,
    units: Sequence[int] | None = None,
) -> Difference:
    """B against A for one figure; ``a_values[i]`` and ``b_values[i]`` ran beside each other.

    ``units[i]`` names the unit pair i belongs to (its round): pairs of one unit shared their
    time on the machine, so the interval resamples units (each the mean of its pairs), not
    pairs; None: every pair is a unit of its own. The verdict is BETTER or WORSE only when the
    95 % interval excludes no change and the change is at least ``min_effect`` (as a ratio's
    distance from 1; for a difference, any amount).
    """
    n = min(len(a_values), len(b_values))
    if n == 0:
        raise ValueError("compare() needs at least one pair of runs")
    a, b = spread(a_values[:n]), spread(b_values[:n])
    xs = np.asarray(a.values, dtype=float)
    ys = np.asarray(b.values, dtype=float)
    relative = bool(np.all(xs > 0) and np.all(ys > 0) and not a.near_zero)
    deltas = np.log(ys / xs) if relative else ys - xs
    per_unit = np.asarray([deltas[group].mean() for group in _groups(units, n)])
    point = float(per_unit.mean())
    n = len(per_unit)
    if n == 1:
        low, high = -math.inf, math.inf
    elif np.all(per_unit == per_unit[0]):
        low = high = point
    else:
        low, high = _interval(per_unit, point, seed, resamples)
    verdict = _verdict(point, low, high, n, relative, higher_is_better, min_effect, deltas)
    if relative:
        point, low, high = math.exp(point), math.exp(low), math.exp(high)
    return Difference(figure, a, b, relative, point, low, high, verdict, higher_is_better)


def compare_pooled(
    figure: str,
    a_counts: Sequence[np.ndarray],
    b_counts: Sequence[np.ndarray],
    quantile: float,
    *,
    bucket_values: np.ndarray,
    a_values: Sequence[float],
    b_values: Sequence[float],
    higher_is_better: bool,
    seed: int = 0,
    resamples: int = POOLED_RESAMPLES,
    min_effect: float = MIN_EFFECT,
    units: Sequence[int] | None = None,
) -> Difference:
    """A percentile of B against A over *all* requests of the paired runs: ``a_counts[i]`` is
    run i's histogram (bucket counts, ``bucket_values`` what each bucket reads as), the
    ``a_values`` each run's own percentile (its Spread, for the display).

    A run's p95 sits on a cliff when about 5 % of its requests wait (8 threads on 4 connections:
    most requests get a connection at once, a few wait tens of ms), so it jumps between the
    cliff's two sides from run to run; the percentile of the pooled requests does not. The
    interval resamples whole units (``units`` as for ``compare``: all of a unit's histograms,
    A's and B's, together). Near zero, or with one unit, it is ``compare`` of the runs' own
    values (B - A).
    """
    n = min(len(a_counts), len(b_counts), len(a_values), len(b_values))
    a, b = spread(a_values[:n]), spread(b_values[:n])
    xs, ys = np.asarray(a.values, dtype=float), np.asarray(b.values, dtype=float)
    groups = _groups(units, n)
    if len(groups) < 2 or a.near_zero or not (np.all(xs > 0) and np.all(ys > 0)):
        return compare(
            figure,
            a_values,
            b_values,
            higher_is_better=higher_is_better,
            seed=seed,
            min_effect=min_effect,
            units=units,
        )
    a_all, b_all = np.asarray(a_counts[:n], dtype=float), np.asarray(b_counts[:n], dtype=float)
    a_rows = np.asarray([a_all[group].sum(axis=0) for group in groups])
    b_rows = np.asarray([b_all[group].sum(axis=0) for group in groups])
    n = len(groups)
    used = np.flatnonzero(a_rows.sum(axis=0) + b_rows.sum(axis=0))
    cut = slice(int(used[0]), int(used[-1]) + 1)
    a_rows, b_rows, values = a_rows[:, cut], b_rows[:, cut], bucket_values[cut]
    whole = np.ones((1, n))
    point = float(
        np.log(
            _quantiles(whole @ b_rows, quantile, values)[0]
            / _quantiles(whole @ a_rows, quantile, values)[0]
        )
    )
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(resamples, n))
    weights = np.zeros((resamples, n))
    np.add.at(weights, (np.repeat(np.arange(resamples), n), picks.ravel()), 1.0)
    ratios = np.log(
        _quantiles(weights @ b_rows, quantile, values)
        / _quantiles(weights @ a_rows, quantile, values)
    )
    low, high = _widened(ratios, point, n)
    deltas = ys - xs  # only for "nothing moved at all"
    verdict = _verdict(point, low, high, n, True, higher_is_better, min_effect, deltas)
    return Difference(
        figure,
        a,
        b,
        True,
        math.exp(point),
        math.exp(low),
        math.exp(high),
        verdict,
        higher_is_better,
    )


def _groups(units: Sequence[int] | None, n: int) -> list[list[int]]:
    """The pair indices of each unit, in order of first appearance (one pair each for None)."""
    if units is None:
        return [[i] for i in range(n)]
    found: dict[int, list[int]] = {}
    for index, unit in enumerate(units[:n]):
        found.setdefault(unit, []).append(index)
    return list(found.values())


def _quantiles(rows: np.ndarray, quantile: float, values: np.ndarray) -> np.ndarray:
    """The nearest-rank ``quantile`` (0..100) of each row of bucket counts, as bucket values."""
    running = np.cumsum(rows, axis=1)
    ranks = np.maximum(np.ceil(quantile / 100.0 * running[:, -1] - 1e-9), 1.0)
    index = (running < ranks[:, None] - 1e-9).sum(axis=1)
    found: np.ndarray = values[np.minimum(index, len(values) - 1)]
    return found


def _widened(estimates: np.ndarray, point: float, n: int) -> tuple[float, float]:
    """The percentile interval of bootstrap ``estimates``, widened around ``point`` for a small
    number of pairs (see the module doc)."""
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(estimates, [tail, 100 - tail])
    widen = _t975(n - 1) / _Z975 * math.sqrt(n / (n - 1))
    return point - (point - float(low)) * widen, point + (float(high) - point) * widen


def _interval(deltas: np.ndarray, point: float, seed: int, resamples: int) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean, widened around the point estimate for a
    small number of pairs (see the module doc)."""
    n = len(deltas)
    rng = np.random.default_rng(seed)
    means = deltas[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    return _widened(means, point, n)


def _t975(df: int) -> float:
    return _T975[df - 1] if df <= len(_T975) else _Z975


def _verdict(
    point: float,
    low: float,
    high: float,
    n: int,
    relative: bool,
    higher_is_better: bool,
    min_effect: float,
    deltas: np.ndarray,
) -> Verdict:
    if np.all(deltas == 0):
        return Verdict.SAME
    if n == 1:
        return Verdict.UNKNOWN
    if low <= 0 <= high:
        return Verdict.NOISE
    if relative and abs(math.expm1(point)) < min_effect:
        return Verdict.NOISE
    up = point > 0
    return Verdict.BETTER if up == higher_is_better else Verdict.WORSE


def _round(value: float) -> float:
    if math.isinf(value) or math.isnan(value):
        return value
    return round(value, 6)


def format_value(value: float) -> str:
    """Three significant figures or so; a whole number (a count: errors, connects, starved
    threads) without decimals, so 0 errors reads "0", not "0.00"."""
    magnitude = abs(value)
    if magnitude >= 100 or float(value).is_integer():
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_ratio(ratio: float, *, sign: bool = True, unit: str = " %") -> str:
    if math.isinf(ratio):
        return "+inf" if ratio > 0 else "-inf"
    change = (ratio - 1) * 100
    return f"{change:+.1f}{unit}" if sign else f"{change:.1f}{unit}"


def format_signed(value: float) -> str:
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return f"{'+' if value >= 0 else '-'}{format_value(abs(value))}"
