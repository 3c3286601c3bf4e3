"""Latency histograms: constant memory, cheap to record into, under 1 % relative error.

A load burst records several timings per request from many threads, so recording must cost
next to nothing and memory must not grow with the number of requests. Values are counted in
log-linear buckets, HdrHistogram's scheme: every power of two from 1 µs to 4096 s (about 1.1 h)
is cut into 64 equal buckets, so a bucket is at most 1/64 of its values wide. The bucket of a
duration is read straight off the bits of its IEEE 754 double (the exponent and the top six bits
of the mantissa), one shift instead of a logarithm. The counters are a fixed numpy array of
64-bit integers per recording thread, so the footprint after a million samples is the footprint
after ten. A percentile is reported as the middle of its bucket (at most ±0.8 % off); ``min``,
``max``, ``sum`` and ``count`` are exact.

Why numpy: a burst records four timings per request, and bucketing them one by one in Python
cost about 3,600 CPU instructions per sample (callgrind), 9 % of everything a PostgreSQL
``SELECT 1`` request costs the process, and most of what pooltui's instrumentation cost the
pool it measures (bench/overhead.py). Buffered timings are now bucketed a thousand at a time by
``bincount``, at about a hundred instructions per sample; merges, differences and percentiles
are whole-array operations too.
"""

from __future__ import annotations

import math
import struct
import threading
import time
from array import array
from dataclasses import dataclass

import numpy as np

_SUB_BITS = 6  # 64 buckets per power of two
_SHIFT = 52 - _SUB_BITS  # a double's mantissa has 52 bits: keep the exponent and the top six
_LOWEST_S = 1e-6  # everything below lands in bucket 0
_HIGHEST_S = 4096.0  # this and everything above lands in the last bucket
PENDING = 1024  # samples a shard buffers before it folds them into its buckets


def _key(seconds: float) -> int:
    """The bucket key of a positive double: its bits as an integer, mantissa cut to six bits
    (for positive doubles the bits order the same way as the values)."""
    bits: int = struct.unpack("<q", struct.pack("<d", seconds))[0]
    return bits >> _SHIFT


_KEY_LOW, _KEY_HIGH = _key(_LOWEST_S), _key(_HIGHEST_S)
_BUCKETS = _KEY_HIGH - _KEY_LOW + 1
# lower bound of every bucket (and the upper bound of the last), from the bits back to doubles
_BOUNDS = (np.arange(_KEY_LOW, _KEY_HIGH + 2, dtype=np.int64) << _SHIFT).view(np.float64)
# what a bucket reads as: its middle, but 1 µs for the first (it holds everything shorter)
_MIDDLES = (_BOUNDS[:-1] + _BOUNDS[1:]) * 0.5
_MIDDLES[0] = _LOWEST_S


def bucket_values_s() -> np.ndarray:
    """What each bucket of ``HistogramSnapshot.counts`` reads as, in seconds (a copy): for
    whole-array work on many snapshots' counts at once (core/compare pools runs' requests)."""
    return _MIDDLES.copy()


def _zeros() -> np.ndarray:
    return np.zeros(_BUCKETS, dtype=np.int64)


def _count_into(counts: np.ndarray, samples: np.ndarray) -> tuple[float, float, float]:
    """Count ``samples`` (float64, not empty) into ``counts``; their sum, min and max, a
    negative one (a clock that stepped back) counted as zero."""
    smallest, largest = float(samples.min()), float(samples.max())
    if smallest < 0.0:
        samples = np.maximum(samples, 0.0)
        smallest = 0.0
    keys = (samples.view(np.int64) >> _SHIFT) - _KEY_LOW
    if smallest < _LOWEST_S or largest >= _HIGHEST_S:
        np.clip(keys, 0, _BUCKETS - 1, out=keys)
    np.add(counts, np.bincount(keys, minlength=_BUCKETS), out=counts)
    return float(samples.sum()), smallest, largest


@dataclass(frozen=True)
class Summary:
    """What the gauges, the history table and ``bench --json`` show of one histogram (ms)."""

    count: int = 0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    mean: float = 0.0
    p999: float = 0.0  # the tail a median hides: one request in a thousand waits this long

    def as_dict(self) -> dict[str, float | int]:
        """The JSON form: milliseconds rounded to the microsecond, count exact."""
        return {
            "p50": round(self.p50, 3),
            "p95": round(self.p95, 3),
            "p99": round(self.p99, 3),
            "p999": round(self.p999, 3),
            "max": round(self.max, 3),
            "mean": round(self.mean, 3),
            "count": self.count,
        }


class Shard:
    """One recording thread's counts: only that thread writes them, so no lock is needed.

    Recording only appends the duration to a buffer (``add`` is the buffer's own C-level
    ``append``: no Python frame); the recording thread folds the buffer into the buckets in one
    go once it holds ``PENDING`` samples (``record`` does that itself; a hot loop that uses
    ``add`` calls ``settle`` now and then). Every Python step per request is paid several times
    over in a saturated burst: the thread that holds DBUtils' pool lock across a round trip has
    to win the GIL back from the threads running this code. Readers see the buffer too
    (``read``), so a snapshot is exact.
    """

    __slots__ = (
        "_folded",
        "_pending",
        "_sequence",
        "add",
        "counts",
        "max",
        "min",
        "sum",
        "unfolded",
    )

    def __init__(self) -> None:
        self.counts = _zeros()
        self.sum = 0.0
        self.min = math.inf
        self.max = 0.0
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
        samples = np.array(pending)  # a copy: a buffer numpy still views could not shrink
        self._sequence += 1
        total, smallest, largest = _count_into(self.counts, samples)
        self.sum += total
        self.min = min(self.min, smallest)
        self.max = max(self.max, largest)
        self._folded += len(samples)
        del pending[:]
        self._sequence += 1

    def largest(self) -> float:
        """The longest sample so far, unfolded ones included, from any thread (a sampler's
        peak): the buffer is read before ``max``, so a fold in between loses nothing."""
        pending = self._pending[:]  # one C-level copy: no append can split it
        high = float(np.frombuffer(pending).max()) if pending else 0.0
        return max(self.max, high)

    def read(self) -> tuple[np.ndarray, int, float, float, float, array]:
        """(counts, how many, sum, min, max, unfolded samples): one consistent view, from any
        thread. Retries while the owner is folding (a fold takes microseconds)."""
        while True:
            sequence = self._sequence
            if sequence & 1:
                time.sleep(0)  # let the owner finish its fold
                continue
            pending = self._pending[:]  # one C-level copy: no append can split it
            view = (self.counts.copy(), self._folded, self.sum, self.min, self.max, pending)
            if self._sequence == sequence:
                return view

    def snapshot(self) -> HistogramSnapshot:
        """This shard alone as a snapshot (one thread's figures, read at a run's end)."""
        counts, count, total, low, high, pending = self.read()
        if pending:
            pending_sum, pending_min, pending_max = _count_into(counts, np.frombuffer(pending))
            count += len(pending)
            total += pending_sum
            low, high = min(low, pending_min), max(high, pending_max)
        return HistogramSnapshot(counts, count, total, low if count else 0.0, high)


@dataclass(frozen=True, eq=False)
class HistogramSnapshot:
    """A consistent copy of a histogram's counts; subtracting two gives one interval's."""

    counts: np.ndarray
    count: int
    sum: float
    min: float
    max: float

    def __sub__(self, earlier: HistogramSnapshot) -> HistogramSnapshot:
        """The samples recorded after ``earlier`` (min and max known to the bucket only)."""
        counts = self.counts - earlier.counts  # earlier's buckets are within self's
        first, last = _used_range(counts)
        if last < first:
            return HistogramSnapshot(counts, 0, 0.0, 0.0, 0.0)
        return HistogramSnapshot(
            counts,
            self.count - earlier.count,
            self.sum - earlier.sum,
            float(_MIDDLES[first]),
            float(_MIDDLES[last]),
        )

    def __add__(self, other: HistogramSnapshot) -> HistogramSnapshot:
        """Every sample of both (two runs, two processes): exact, as if one histogram had
        recorded them all; ``count sum min max`` stay exact."""
        if not other.count:
            return self
        if not self.count:
            return other
        return HistogramSnapshot(
            self.counts + other.counts,
            self.count + other.count,
            self.sum + other.sum,
            min(self.min, other.min),
            max(self.max, other.max),
        )

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile ``q`` (0..100) in seconds, within 0.8 %; 0 when empty."""
        return _percentiles(self.counts, self.count, self.min, self.max, (q,))[0]

    def summary(self) -> Summary:
        """Milliseconds, as the gauges and ``bench --json`` show them."""
        if not self.count:
            return Summary()
        p50, p95, p99, p999 = _percentiles(
            self.counts, self.count, self.min, self.max, (50.0, 95.0, 99.0, 99.9)
        )
        ms = 1000.0
        return Summary(
            count=self.count,
            p50=p50 * ms,
            p95=p95 * ms,
            p99=p99 * ms,
            max=self.max * ms,
            mean=self.sum / self.count * ms,
            p999=p999 * ms,
        )

    def fraction_above(self, seconds: float) -> float:
        """The share of samples longer than ``seconds`` (0..1; 0 when empty): see
        ``count_above`` for how precise it is."""
        return self.count_above(seconds) / self.count if self.count else 0.0

    def count_above(self, seconds: float) -> float:
        """How many samples took longer than ``seconds``.

        Exact at a bucket edge from 1 µs up (a sample exactly on the edge counts as longer;
        the first bucket also holds everything shorter than 1 µs), below the exact min (all)
        and at or above the exact max (none). Between edges it takes the
        samples of the one bucket holding ``seconds`` as spread evenly across it (between the
        exact min and max where the bucket holds them), so it is off by at most that bucket's
        samples: those within 1/64 of a power of two (1.6 %) of ``seconds``.
        """
        if not self.count or seconds >= self.max:
            return 0.0
        if seconds < self.min:
            return float(self.count)
        index = min(max(_key(seconds) - _KEY_LOW, 0), _BUCKETS - 1) if seconds > 0 else 0
        first, last = _used_range(self.counts)
        low = self.min if index <= first else float(_BOUNDS[index])
        high = self.max if index >= last else float(_BOUNDS[index + 1])
        share = (high - seconds) / (high - low) if high > low else 0.0
        above = float(self.counts[index + 1 :].sum())
        above += float(self.counts[index]) * min(max(share, 0.0), 1.0)
        return min(above, float(self.count))


EMPTY = HistogramSnapshot(_zeros(), 0, 0.0, 0.0, 0.0)


def snapshot_of(samples: list[float]) -> HistogramSnapshot:
    """A snapshot of a few durations in seconds (the waits still unfinished at a run's end),
    to add to another with ``+``."""
    if not samples:
        return EMPTY
    counts = _zeros()
    total, low, high = _count_into(counts, np.array(samples, dtype=np.float64))
    return HistogramSnapshot(counts, len(samples), total, low, high)


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
            mine: Shard = self._local.shard  # a threading.local's attributes are untyped
            return mine
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
        counts = _zeros()
        count, total, low, high = 0, 0.0, math.inf, 0.0
        unfolded: list[np.ndarray] = []
        for shard in shards:
            part, part_count, part_sum, part_min, part_max, pending = shard.read()
            if part_count:
                counts += part
                count += part_count
                total += part_sum
                low = min(low, part_min)
                high = max(high, part_max)
            if pending:
                unfolded.append(np.frombuffer(pending))  # a copy already: nothing resizes it
        if unfolded:  # every thread's buffer counted in one go: a burst may have 64 of them
            samples = np.concatenate(unfolded)
            pending_sum, pending_min, pending_max = _count_into(counts, samples)
            count += len(samples)
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
        shard.counts = merged.counts.copy()
        shard.sum, shard.min, shard.max = merged.sum, merged.min, merged.max
        shard._folded = merged.count
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


def _percentiles(
    counts: np.ndarray, count: int, low: float, high: float, qs: tuple[float, ...]
) -> list[float]:
    """Nearest-rank percentiles, each clamped into the exact [min, max]: one running total
    and one bisection for all of them (a live sample asks for several on every tick)."""
    if not count:
        return [0.0] * len(qs)
    running = np.cumsum(counts)
    ranks = [max(1, math.ceil(q / 100.0 * count)) for q in qs]
    found = np.searchsorted(running, ranks, side="left").tolist()
    out: list[float] = []
    for q, index in zip(qs, found, strict=True):
        if q <= 0.0:
            out.append(low)
        elif q >= 100.0 or index >= _BUCKETS:  # or the counts fall short of count: stay sane
            out.append(high)
        else:
            out.append(min(max(float(_MIDDLES[index]), low), high))
    return out


def _used_range(counts: np.ndarray) -> tuple[int, int]:
    """First and last non-empty bucket ((len, -1) when all are empty)."""
    used = np.flatnonzero(counts)
    return (int(used[0]), int(used[-1])) if len(used) else (len(counts), -1)
