"""Latency histograms: constant memory, cheap to record into, under 1 % relative error.

A load burst records several timings per request from many threads, so recording must cost
next to nothing and memory must not grow with the number of requests. Values are counted in
log-linear buckets, HdrHistogram's scheme: every power of two from 1 µs to 4096 s (about 1.1 h)
is cut into 64 equal buckets, so a bucket is at most 1/64 of its values wide. The bucket of a
duration is read straight off the bits of its IEEE 754 double (the exponent and the top six bits
of the mantissa), one shift instead of a logarithm. The counters are a fixed ``array`` of
unsigned 64-bit integers per recording thread: no Python int objects are kept per bucket, so
the footprint after a million samples is the footprint after ten. A percentile is reported as
the middle of its bucket (at most ±0.8 % off); ``min``, ``max``, ``sum`` and ``count`` are exact.
"""

from __future__ import annotations

import math
import operator
import struct
import threading
import time
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from itertools import accumulate

_SUB_BITS = 6  # 64 buckets per power of two
_SHIFT = 52 - _SUB_BITS  # a double's mantissa has 52 bits: keep the exponent and the top six
_LOWEST_S = 1e-6  # everything below lands in bucket 0
_HIGHEST_S = 4096.0  # this and everything above lands in the last bucket
PENDING = 64  # samples a shard buffers before it folds them into its buckets


def _key(seconds: float) -> int:
    """The bucket key of a positive double: its bits as an integer, mantissa cut to six bits
    (for positive doubles the bits order the same way as the values)."""
    return struct.unpack("<q", struct.pack("<d", seconds))[0] >> _SHIFT


_KEY_LOW, _KEY_HIGH = _key(_LOWEST_S), _key(_HIGHEST_S)
_BUCKETS = _KEY_HIGH - _KEY_LOW + 1
# lower bound of every bucket (and the upper bound of the last), from the bits back to doubles
_BOUNDS = array("d", array("q", [key << _SHIFT for key in range(_KEY_LOW, _KEY_HIGH + 2)])
                .tobytes())


def _count_into(counts: array, samples: array, _shift: int = _SHIFT,
                _low: int = _KEY_LOW) -> tuple[float, float, float]:
    """Count ``samples`` (not empty) into ``counts``; their sum, min and max, a negative one (a
    clock that stepped back) counted as zero."""
    smallest, largest = min(samples), max(samples)
    if smallest >= _LOWEST_S and largest < _HIGHEST_S:  # the usual case: no clamping
        for bits in array("q", samples.tobytes()):  # the doubles' bits, as integers
            counts[(bits >> _shift) - _low] += 1
        return sum(samples), smallest, largest
    for seconds in samples:
        counts[_bucket_index(seconds)] += 1
    return sum(max(seconds, 0.0) for seconds in samples), max(smallest, 0.0), largest


def _bucket_index(seconds: float) -> int:
    """The bucket of any duration, out-of-range ones clamped to the first or the last."""
    if seconds < _LOWEST_S:
        return 0
    if seconds >= _HIGHEST_S:
        return _BUCKETS - 1
    return _key(seconds) - _KEY_LOW


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

    Recording only appends the duration to a buffer (``add`` is the buffer's own C-level
    ``append``: no Python frame); the recording thread folds the buffer into the buckets in one
    go once it holds ``PENDING`` samples (``record`` does that itself; a hot loop that uses
    ``add`` calls ``settle`` now and then). Measured in a saturated 8-thread burst
    (bench/overhead.py), counting every sample into the buckets as it came, through a method
    call, cost a few per cent of the throughput more: between two requests the buckets and the
    method have gone cold in the cache, and every thread running Python delays the one that
    holds DBUtils' pool lock. Readers see the buffer too (``read``), so a snapshot is exact.
    """

    __slots__ = ("_folded", "_pending", "_sequence", "add", "counts", "high", "low", "max",
                 "min", "sum", "unfolded")

    def __init__(self) -> None:
        self.counts = array("Q", bytes(8 * _BUCKETS))
        self.sum = 0.0
        self.min = math.inf
        self.max = 0.0
        self.low = _BUCKETS  # lowest and highest bucket used: merging reads only that slice
        self.high = -1
        self._pending = array("d")  # samples not yet in the buckets
        self.add = self._pending.append  # record without folding: call settle() now and then
        self.unfolded = self._pending.__len__  # how many samples wait for a fold
        self._sequence = 0  # odd while a fold runs: readers retry (a sequence lock)
        self._folded = 0  # samples in the buckets

    def count(self) -> int:
        """Samples recorded, without merging the buckets (from any thread, maybe one short)."""
        return self._folded + len(self._pending)

    def record(self, seconds: float) -> None:
        """Count one duration; negative values (a clock that stepped back) count as zero."""
        self.add(seconds)
        self.settle()

    def settle(self) -> None:
        """Fold if ``PENDING`` samples or more wait: what a loop using ``add`` calls."""
        if len(self._pending) >= PENDING:
            self.fold()

    def fold(self) -> None:
        """Move the buffered samples into the buckets (only the recording thread may)."""
        pending = self._pending
        if not pending:
            return
        self._sequence += 1
        total, smallest, largest = _count_into(self.counts, pending)
        self.sum += total
        self.low = min(self.low, _bucket_index(smallest))
        self.high = max(self.high, _bucket_index(largest))
        self.min = min(self.min, smallest)
        self.max = max(self.max, largest)
        self._folded += len(pending)
        del pending[:]
        self._sequence += 1

    def read(self) -> tuple[int, array, float, float, float, array]:
        """(low, counts[low:high+1], sum, min, max, unfolded samples): one consistent view,
        from any thread. Retries while the owner is folding (a fold is a few µs)."""
        while True:
            sequence = self._sequence
            if sequence & 1:
                time.sleep(0)  # let the owner finish its fold
                continue
            pending = self._pending[:]  # one C-level copy: no append can split it
            low, high = self.low, self.high
            counts = self.counts[low:high + 1] if high >= low else array("Q")
            view = (low, counts, self.sum, self.min, self.max, pending)
            if self._sequence == sequence:
                return view


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
        counts = array("Q", bytes(8 * _BUCKETS))
        first, last = _used_range(self.counts)  # earlier's buckets are within self's
        if last >= first:
            counts[first:last + 1] = array("Q", map(
                operator.sub, self.counts[first:last + 1], earlier.counts[first:last + 1]))
        first, last = _used_range(counts)
        if last < first:
            return HistogramSnapshot(counts, 0, 0.0, 0.0, 0.0)
        return HistogramSnapshot(counts, self.count - earlier.count, self.sum - earlier.sum,
                                 _bucket_value(first), _bucket_value(last))

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile ``q`` (0..100) in seconds, within 0.8 %; 0 when empty."""
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
            first, part, part_sum, part_min, part_max, pending = shard.read()
            end = first + len(part)
            counts[first:end] = array("Q", map(operator.add, counts[first:end], part))
            count += sum(part)
            if part:
                total += part_sum
                low = min(low, part_min)
                high = max(high, part_max)
            if pending:
                pending_sum, pending_min, pending_max = _count_into(counts, pending)
                count += len(pending)
                total += pending_sum
                low = min(low, pending_min)
                high = max(high, pending_max)
        return HistogramSnapshot(counts, count, total, low if count else 0.0, high)

    def merge(self, other: LatencyHistogram) -> None:
        """Add every sample of ``other`` (as a shard of its own)."""
        merged = other.snapshot()
        if not merged.count:
            return
        shard = Shard()
        shard.counts = array("Q", merged.counts)
        shard.sum, shard.min, shard.max = merged.sum, merged.min, merged.max
        shard.low, shard.high = _used_range(merged.counts)
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
        """Nearest-rank percentile ``q`` (0..100) in seconds, within 0.8 %; 0 when empty."""
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
    """Several nearest-rank percentiles, each a bisection of the running totals of the used
    buckets (C-level loops: a live sample asks for several on every tick)."""
    if not count:
        return [0.0] * len(qs)
    first, last = _used_range(counts)
    running = list(accumulate(counts[first:last + 1]))
    out: list[float] = []
    for q in qs:
        if q <= 0.0:
            out.append(low)
        elif q >= 100.0 or last < first:
            out.append(high)
        else:
            rank = max(1, math.ceil(q / 100.0 * count))
            offset = bisect_left(running, rank)
            if offset >= len(running):  # the counts fall short of count: keep the answer sane
                out.append(high)
            else:
                out.append(min(max(_bucket_value(first + offset), low), high))
    return out


def _used_range(counts: array) -> tuple[int, int]:
    """First and last non-empty bucket ((len, -1) when all are empty), at C speed: the zero
    bytes at either end of the raw counts."""
    raw = counts.tobytes()
    width = counts.itemsize
    first = (len(raw) - len(raw.lstrip(b"\0"))) // width
    last = (len(raw.rstrip(b"\0")) + width - 1) // width - 1
    return (first, last) if last >= first else (len(counts), -1)


def _bucket_value(index: int) -> float:
    """Representative value of a bucket in seconds: its middle (1 µs for the first, which
    also holds everything shorter)."""
    if index == 0:
        return _LOWEST_S
    return (_BOUNDS[index] + _BOUNDS[index + 1]) * 0.5
