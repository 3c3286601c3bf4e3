"""Latency histograms: constant memory, cheap to record into, about 1 % relative error.

A load burst records several timings per request from many threads, so ``record`` must cost a few
hundred nanoseconds and memory must not grow with the number of requests. Values are counted in
logarithmic buckets (each one 2 % wider than the last, 1 µs to about 1.2 h) held in a fixed
``array`` of unsigned 64-bit counters: no Python int objects are created per bucket, so the
footprint after a million samples is the footprint after ten. A percentile is reported as the
geometric middle of its bucket (at most ±1 % off); ``min``, ``max``, ``sum`` and ``count`` are
exact.
"""

from __future__ import annotations

import math
import threading
from array import array
from dataclasses import dataclass

_RATIO = 1.02
_LOWEST_S = 1e-6  # everything at or below 1 µs lands in bucket 0
_BUCKETS = 1120  # 1 µs * 1.02**1120 ≈ 4.3e3 s (1.2 h): longer values land in the last bucket
_INV_LOG_RATIO = 1.0 / math.log(_RATIO)
_SCALE = 1.0 / _LOWEST_S
# representative value of bucket i: the geometric middle of [lo, lo*ratio)
_MID_FACTOR = math.sqrt(_RATIO)


@dataclass(frozen=True)
class Summary:
    """What the gauges, the history table and ``bench --json`` show of one histogram (ms)."""

    count: int = 0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    mean: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        """The JSON form: milliseconds rounded to the microsecond, count exact."""
        return {
            "p50": round(self.p50, 3),
            "p95": round(self.p95, 3),
            "p99": round(self.p99, 3),
            "max": round(self.max, 3),
            "mean": round(self.mean, 3),
            "count": self.count,
        }


class LatencyHistogram:
    """Thread-safe log-bucketed histogram of durations in seconds."""

    __slots__ = ("_count", "_counts", "_lock", "_max", "_min", "_sum")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = array("Q", bytes(8 * _BUCKETS))
        self._count = 0
        self._sum = 0.0
        self._min = math.inf
        self._max = 0.0

    def record(
        self,
        seconds: float,
        _log=math.log,  # noqa: ANN001 - bound as defaults: local lookups keep this ~400 ns
        _scale: float = _SCALE,
        _inv: float = _INV_LOG_RATIO,
        _last: int = _BUCKETS - 1,
    ) -> None:
        """Count one duration; negative values (a clock that stepped back) count as zero."""
        if seconds > _LOWEST_S:
            index = int(_log(seconds * _scale) * _inv)
            if index > _last:
                index = _last
        else:
            index = 0
            if seconds < 0.0:
                seconds = 0.0
        lock = self._lock
        lock.acquire()  # no try/finally: nothing below can raise, and it saves ~40 ns
        self._counts[index] += 1
        self._count += 1
        self._sum += seconds
        if seconds > self._max:
            self._max = seconds
        if seconds < self._min:
            self._min = seconds
        lock.release()

    def merge(self, other: LatencyHistogram) -> None:
        """Add every sample of ``other``; copied under its lock first, so no lock-order deadlock."""
        with other._lock:
            counts = array("Q", other._counts)
            count, total, low, high = other._count, other._sum, other._min, other._max
        if not count:
            return
        with self._lock:
            mine = self._counts
            for i, n in enumerate(counts):
                if n:
                    mine[i] += n
            self._count += count
            self._sum += total
            self._max = max(self._max, high)
            self._min = min(self._min, low)

    def reset(self) -> None:
        """Forget every sample (the start of a new run)."""
        with self._lock:
            for i in range(_BUCKETS):
                self._counts[i] = 0
            self._count = 0
            self._sum = 0.0
            self._min = math.inf
            self._max = 0.0

    @property
    def count(self) -> int:
        """Number of samples (exact)."""
        return self._count

    @property
    def sum(self) -> float:
        """Sum of every sample in seconds (exact)."""
        return self._sum

    @property
    def max(self) -> float:
        """Largest sample in seconds (exact; 0 when empty)."""
        return self._max

    @property
    def min(self) -> float:
        """Smallest sample in seconds (exact; 0 when empty)."""
        return self._min if self._count else 0.0

    @property
    def mean(self) -> float:
        """Mean in seconds (exact; 0 when empty)."""
        count = self._count
        return self._sum / count if count else 0.0

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile ``q`` (0..100) in seconds, within about 1 %; 0 when empty."""
        with self._lock:
            counts = array("Q", self._counts)
            count, low, high = self._count, self._min, self._max
        return _percentile(counts, count, low, high, q)

    def summary(self) -> Summary:
        """A consistent picture (one copy under the lock) in milliseconds."""
        with self._lock:
            counts = array("Q", self._counts)
            count, total, low, high = self._count, self._sum, self._min, self._max
        if not count:
            return Summary()
        p50, p95, p99 = _percentiles(counts, count, low, high, (50.0, 95.0, 99.0))
        ms = 1000.0
        return Summary(count=count, p50=p50 * ms, p95=p95 * ms, p99=p99 * ms, max=high * ms,
                       mean=total / count * ms)

    def __repr__(self) -> str:
        return f"LatencyHistogram(count={self._count}, max={self._max:.6f}s)"


def _percentile(counts: array, count: int, low: float, high: float, q: float) -> float:
    """Nearest-rank percentile; the answer is clamped into the exact [min, max]."""
    return _percentiles(counts, count, low, high, (q,))[0]


def _percentiles(counts: array, count: int, low: float, high: float,
                 qs: tuple[float, ...]) -> list[float]:
    """Several nearest-rank percentiles (ascending ``qs``) in one walk over the buckets."""
    if not count:
        return [0.0] * len(qs)
    out: list[float] = []
    pending = []
    for q in qs:
        if q <= 0.0:
            out.append(low)
        elif q >= 100.0:
            out.append(high)
        else:
            out.append(0.0)
            pending.append((len(out) - 1, max(1, math.ceil(q / 100.0 * count))))
    seen = 0
    todo = iter(pending)
    slot, rank = next(todo, (-1, 0))
    if slot < 0:
        return out
    for index, n in enumerate(counts):
        if not n:
            continue
        seen += n
        while seen >= rank:
            out[slot] = min(max(_bucket_value(index), low), high)
            slot, rank = next(todo, (-1, 0))
            if slot < 0:
                return out
    while slot >= 0:  # unreachable when the counts add up; keep the answer sane anyway
        out[slot] = high
        slot, rank = next(todo, (-1, 0))
    return out


def _bucket_value(index: int) -> float:
    """Representative value of a bucket in seconds."""
    if index == 0:
        return _LOWEST_S
    return _LOWEST_S * _RATIO**index * _MID_FACTOR
