"""Latency histograms: constant memory, cheap to record into, about 1 % relative error.

A load burst records several timings per request from many threads, so ``record`` must cost a few
hundred nanoseconds and memory must not grow with the number of requests. Values are counted in
logarithmic buckets (each one 2 % wider than the last, 1 µs to about 1.2 h) held in a fixed
``array`` of unsigned 64-bit counters per recording thread: no Python int objects are created
per bucket, so the footprint after a million samples is the footprint after ten. A percentile
is reported as the geometric middle of its bucket (at most ±1 % off); ``min``, ``max``, ``sum``
and ``count`` are exact.
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


class Shard:
    """One recording thread's counts: only that thread writes them, so no lock is needed.

    A hot loop may keep its thread's shard (``LatencyHistogram.shard()``) and record into it
    directly, saving the thread-local lookup on every sample.
    """

    __slots__ = ("counts", "high", "low", "max", "min", "sum")

    def __init__(self) -> None:
        self.counts = array("Q", bytes(8 * _BUCKETS))
        self.sum = 0.0
        self.min = math.inf
        self.max = 0.0
        self.low = _BUCKETS  # lowest and highest bucket used: merging reads only that slice
        self.high = -1

    def record(
        self,
        seconds: float,
        _log=math.log,  # noqa: ANN001 - bound as defaults: local lookups keep this cheap
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
        self.counts[index] += 1
        self.sum += seconds
        if seconds > self.max:
            self.max = seconds
        if seconds < self.min:
            self.min = seconds
        if index < self.low:
            self.low = index
        if index > self.high:
            self.high = index


@dataclass(frozen=True)
class HistogramSnapshot:
    """A consistent copy of a histogram's counts; subtracting two gives one interval's."""

    counts: array
    count: int
    sum: float
    min: float
    max: float

    def __sub__(self, earlier: HistogramSnapshot) -> HistogramSnapshot:
        """The samples recorded after ``earlier`` (min and max known to the bucket only)."""
        counts = array("Q", (a - b for a, b in zip(self.counts, earlier.counts, strict=True)))
        used = [i for i, n in enumerate(counts) if n]
        if not used:
            return HistogramSnapshot(counts, 0, 0.0, 0.0, 0.0)
        return HistogramSnapshot(counts, self.count - earlier.count, self.sum - earlier.sum,
                                 _bucket_value(used[0]), _bucket_value(used[-1]))

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile ``q`` (0..100) in seconds, within about 1 %; 0 when empty."""
        return _percentile(self.counts, self.count, self.min, self.max, q)

    def summary(self) -> Summary:
        """Milliseconds, as the gauges and ``bench --json`` show them."""
        if not self.count:
            return Summary()
        p50, p95, p99 = _percentiles(self.counts, self.count, self.min, self.max,
                                     (50.0, 95.0, 99.0))
        ms = 1000.0
        return Summary(count=self.count, p50=p50 * ms, p95=p95 * ms, p99=p99 * ms,
                       max=self.max * ms, mean=self.sum / self.count * ms)


EMPTY = HistogramSnapshot(array("Q", bytes(8 * _BUCKETS)), 0, 0.0, 0.0, 0.0)


class LatencyHistogram:
    """Log-bucketed histogram of durations in seconds; recording takes no lock.

    Each recording thread counts into a shard of its own (found through a ``threading.local``),
    so the many threads of a burst never contend: a shared lock here cost a saturated burst
    about 15 % of its throughput (bench/overhead.py). Readers merge the shards; a read racing a
    record may miss that one sample, never corrupt the counts. Memory is one fixed-size shard
    per thread that recorded, whatever the number of samples; ``reset`` drops the shards.
    """

    __slots__ = ("_local", "_lock", "_shards")

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the list of shards, not the counting
        self._shards: list[Shard] = []
        self._local = threading.local()

    def shard(self) -> Shard:
        """The calling thread's shard, made and registered on its first use."""
        try:
            return self._local.shard
        except AttributeError:
            shard = Shard()
            with self._lock:
                self._shards.append(shard)
                self._local.shard = shard
            return shard

    def record(self, seconds: float) -> None:
        """Count one duration in the calling thread's shard."""
        try:
            shard = self._local.shard
        except AttributeError:
            shard = self.shard()
        shard.record(seconds)

    def snapshot(self) -> HistogramSnapshot:
        """Every shard merged into one consistent copy."""
        with self._lock:
            shards = list(self._shards)
        counts = array("Q", bytes(8 * _BUCKETS))
        count, total, low, high = 0, 0.0, math.inf, 0.0
        for shard in shards:
            first, last = shard.low, shard.high
            if last < first:
                continue
            part = shard.counts[first:last + 1]
            for offset, n in enumerate(part):
                if n:
                    counts[first + offset] += n
            count += sum(part)
            total += shard.sum
            low = min(low, shard.min)
            high = max(high, shard.max)
        return HistogramSnapshot(counts, count, total, low if count else 0.0, high)

    def merge(self, other: LatencyHistogram) -> None:
        """Add every sample of ``other`` (as a shard of its own)."""
        merged = other.snapshot()
        if not merged.count:
            return
        shard = Shard()
        shard.counts = array("Q", merged.counts)
        shard.sum, shard.min, shard.max = merged.sum, merged.min, merged.max
        used = [i for i, n in enumerate(merged.counts) if n]
        shard.low, shard.high = used[0], used[-1]
        with self._lock:
            self._shards.append(shard)

    def reset(self) -> None:
        """Forget every sample (the start of a new run); threads get fresh shards."""
        with self._lock:
            self._shards = []
            self._local = threading.local()

    @property
    def count(self) -> int:
        """Number of samples (exact)."""
        return self.snapshot().count

    @property
    def sum(self) -> float:
        """Sum of every sample in seconds (exact)."""
        return self.snapshot().sum

    @property
    def max(self) -> float:
        """Largest sample in seconds (exact; 0 when empty)."""
        return self.snapshot().max

    @property
    def min(self) -> float:
        """Smallest sample in seconds (exact; 0 when empty)."""
        return self.snapshot().min

    @property
    def mean(self) -> float:
        """Mean in seconds (exact; 0 when empty)."""
        merged = self.snapshot()
        return merged.sum / merged.count if merged.count else 0.0

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile ``q`` (0..100) in seconds, within about 1 %; 0 when empty."""
        return self.snapshot().percentile(q)

    def summary(self) -> Summary:
        """A consistent picture in milliseconds."""
        return self.snapshot().summary()

    def __repr__(self) -> str:
        merged = self.snapshot()
        return f"LatencyHistogram(count={merged.count}, max={merged.max:.6f}s)"


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
