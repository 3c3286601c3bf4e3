"""LatencyHistogram: accuracy against exact percentiles, constant memory, thread safety."""

from __future__ import annotations

import math
import random
import sys
import threading
import tracemalloc

import numpy as np
import pytest

from pooltui.core.pool import histogram
from pooltui.core.pool.histogram import LatencyHistogram, Summary


def exact_percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted samples, the definition the histogram approximates."""
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def footprint(hist: LatencyHistogram) -> int:
    """Bytes held by the histogram and everything it owns (its per-thread shards included)."""
    shards = hist._shards
    return (
        sys.getsizeof(hist)
        + sys.getsizeof(shards)
        + sum(sys.getsizeof(shard) + sys.getsizeof(shard.counts) for shard in shards)
    )


DISTRIBUTIONS = {
    "lognormal-ms": lambda rng: rng.lognormvariate(math.log(0.002), 1.0),
    "uniform-1us-2s": lambda rng: rng.uniform(1e-6, 2.0),
    "exponential-50ms": lambda rng: rng.expovariate(1 / 0.05),
    "bimodal": lambda rng: rng.choice((rng.gauss(0.0005, 0.00005), rng.gauss(0.2, 0.02))),
}


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_percentiles_within_two_percent_of_exact(name: str):
    rng = random.Random(f"seed-{name}")
    draw = DISTRIBUTIONS[name]
    samples = [max(draw(rng), 2e-6) for _ in range(50_000)]
    hist = LatencyHistogram()
    for value in samples:
        hist.record(value)
    ordered = sorted(samples)
    for q in (1, 25, 50, 75, 90, 95, 99, 99.9):
        want = exact_percentile(ordered, q)
        got = hist.percentile(q)
        assert abs(got - want) <= 0.02 * want, (q, got, want)
    assert hist.count == len(samples)
    assert hist.max == ordered[-1]
    assert hist.min == ordered[0]
    assert hist.sum == pytest.approx(math.fsum(samples), rel=1e-9)
    assert hist.percentile(100) == ordered[-1]
    assert hist.percentile(0) == ordered[0]


def test_summary_is_in_milliseconds_and_matches_percentiles():
    rng = random.Random(7)
    samples = [rng.uniform(0.001, 0.1) for _ in range(10_000)]
    hist = LatencyHistogram()
    for value in samples:
        hist.record(value)
    ordered = sorted(samples)
    summary = hist.summary()
    assert summary.count == len(samples)
    assert summary.max == pytest.approx(ordered[-1] * 1000)
    assert summary.mean == pytest.approx(math.fsum(samples) / len(samples) * 1000)
    for field, q in (("p50", 50), ("p95", 95), ("p99", 99), ("p999", 99.9)):
        want_ms = exact_percentile(ordered, q) * 1000
        assert abs(getattr(summary, field) - want_ms) <= 0.02 * want_ms
    as_dict = summary.as_dict()
    assert set(as_dict) == {"p50", "p95", "p99", "p999", "max", "mean", "count"}
    assert as_dict["count"] == len(samples)
    assert as_dict["p99"] == pytest.approx(summary.p99, abs=0.001)


def test_empty_histogram_summarises_to_zeros():
    hist = LatencyHistogram()
    assert hist.summary() == Summary()
    assert hist.percentile(99) == 0.0
    assert hist.min == 0.0 and hist.mean == 0.0
    assert Summary().as_dict() == {
        "p50": 0,
        "p95": 0,
        "p99": 0,
        "p999": 0,
        "max": 0,
        "mean": 0,
        "count": 0,
    }


def test_out_of_range_values_are_clamped_not_lost():
    hist = LatencyHistogram()
    for value in (-0.5, 0.0, 1e-9, 10 * 3600.0):
        hist.record(value)
    assert hist.count == 4
    assert hist.min == 0.0
    assert hist.max == 10 * 3600.0
    assert hist.percentile(100) == 10 * 3600.0
    # the three tiny values sit in the first bucket, reported within [min, max]
    assert 0.0 <= hist.percentile(50) <= 1e-6


def test_merge_equals_recording_everything_in_one():
    rng = random.Random(3)
    left, right, both = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    for i in range(20_000):
        value = rng.lognormvariate(math.log(0.01), 0.8)
        (left if i % 3 else right).record(value)
        both.record(value)
    left.merge(right)
    assert left.count == both.count
    assert left.sum == pytest.approx(both.sum)
    assert left.max == both.max and left.min == both.min
    for q in (50, 95, 99, 99.9):
        assert left.percentile(q) == both.percentile(q)
    before = left.count
    left.merge(LatencyHistogram())  # merging an empty one changes nothing
    assert left.count == before and left.min == both.min


def test_reset_forgets_everything():
    hist = LatencyHistogram()
    for value in (0.1, 0.2, 0.3):
        hist.record(value)
    hist.reset()
    assert hist.summary() == Summary()
    hist.record(0.004)
    assert hist.count == 1 and hist.max == 0.004 and hist.min == 0.004
    assert abs(hist.percentile(50) - 0.004) <= 0.004 * 0.01


def test_memory_after_a_million_samples_equals_memory_after_ten():
    rng = random.Random(11)
    samples = [rng.lognormvariate(math.log(0.003), 1.5) for _ in range(1_000_000)]
    hist = LatencyHistogram()
    shard = hist.shard()
    for value in samples[:10]:
        hist.record(value)
    shard.fold()  # the buffer of unfolded samples (at most PENDING) is measured apart
    small = footprint(hist)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for value in samples[10:]:
            hist.record(value)
        buffered = shard.unfolded()
        shard.fold()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert hist.count == 1_000_000 and 0 < buffered < histogram.PENDING
    assert footprint(hist) == small
    # nothing retained per sample: the only difference allowed is a larger int for the count
    assert after - before < 256, after - before


def test_concurrent_records_lose_nothing():
    hist = LatencyHistogram()
    threads, per_thread = 8, 10_000
    start = threading.Barrier(threads)

    def work(seed: int) -> None:
        rng = random.Random(seed)
        values = [rng.uniform(0.0001, 0.01) for _ in range(per_thread)]
        start.wait()
        for value in values:
            hist.record(value)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert hist.count == threads * per_thread
    assert sum(hist.snapshot().counts) == threads * per_thread
    assert len(hist._shards) == threads  # one shard per recording thread, no lock shared
    assert hist.summary().count == threads * per_thread


def test_snapshot_difference_is_the_interval_between_them():
    hist = LatencyHistogram()
    for _ in range(100):
        hist.record(0.001)
    first = hist.snapshot()
    for _ in range(50):
        hist.record(0.2)
    interval = hist.snapshot() - first
    assert interval.count == 50
    assert interval.percentile(50) == pytest.approx(0.2, rel=0.02)
    assert interval.summary().mean == pytest.approx(200.0, rel=1e-9)
    assert (hist.snapshot() - hist.snapshot()).count == 0


def test_reset_forgets_every_thread_shard():
    hist = LatencyHistogram()
    worker = threading.Thread(target=hist.record, args=(0.01,))
    worker.start()
    worker.join()
    hist.record(0.02)
    assert hist.count == 2
    hist.reset()
    assert hist.count == 0 and hist._shards == []
    hist.record(0.03)
    assert hist.count == 1 and hist.max == 0.03


def bucket_of(value: float) -> int:
    """The bucket the histogram's own fold counts ``value`` in."""
    counts = histogram._zeros()
    histogram._count_into(counts, np.array([value]))
    (index,) = np.flatnonzero(counts)
    return int(index)


def test_bucket_of_a_duration_is_read_off_its_bits_within_0_8_percent():
    """The log-linear buckets: a bucket's middle is within 1/128 of every value it holds."""
    rng = random.Random(5)
    values = [10 ** rng.uniform(-6, 3.6) for _ in range(20_000)]
    values += [2.0**k for k in range(-19, 12)]  # the edges of the powers of two
    for value in values:
        index = bucket_of(value)
        assert histogram._BOUNDS[index] <= value < histogram._BOUNDS[index + 1], value
        if index:  # the first bucket also holds everything shorter: it reads as 1 µs
            assert abs(histogram._MIDDLES[index] - value) <= value / 128, value
    assert bucket_of(0.5e-6) == 0
    assert bucket_of(1e9) == histogram._BUCKETS - 1


def test_a_snapshot_sees_the_samples_not_yet_folded():
    hist = LatencyHistogram()
    for value in (0.001, 0.002, 0.003):  # fewer than one fold's worth
        hist.record(value)
    assert hist.count == 3 and hist.max == 0.003 and hist.min == 0.001
    assert hist.sum == pytest.approx(0.006)
    shard = hist.shard()
    assert shard.count() == 3
    for _ in range(histogram.PENDING):
        shard.add(0.004)  # the hot path's append: folded only on settle()
    assert hist.count == 3 + histogram.PENDING and shard.unfolded() == 3 + histogram.PENDING
    shard.settle()
    assert shard.unfolded() == 0 and shard.count() == 3 + histogram.PENDING
    assert hist.percentile(100) == 0.004


def test_a_reader_racing_the_folds_never_counts_a_sample_twice():
    """The sequence lock: a snapshot taken while the owner folds retries instead of seeing a
    sample both in the buffer and in the buckets."""
    hist = LatencyHistogram()
    total = 40 * histogram.PENDING
    written = [0]
    done = threading.Event()

    def writer() -> None:
        shard = hist.shard()
        for _ in range(total):
            shard.record(0.0015)
            written[0] += 1
        done.set()

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as CPython can
    try:
        thread = threading.Thread(target=writer)
        thread.start()
        seen = 0
        while not done.is_set():
            before = written[0]
            snap = hist.snapshot()
            after = written[0]
            assert before <= snap.count <= after + 1, (before, snap.count, after)
            assert sum(snap.counts) == snap.count
            assert snap.count >= seen
            seen = snap.count
        thread.join()
    finally:
        sys.setswitchinterval(previous)
    assert hist.count == total


def test_snapshots_add_exactly_as_one_histogram_fed_both():
    rng = random.Random(5)
    first = [rng.lognormvariate(-7, 1.5) for _ in range(3000)]
    second = [rng.lognormvariate(-5, 0.5) for _ in range(PENDING_PLUS)]
    a, b, both = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    for value in first:
        a.record(value)
        both.record(value)
    for value in second:
        b.record(value)
        both.record(value)
    merged, fed = a.snapshot() + b.snapshot(), both.snapshot()
    assert np.array_equal(merged.counts, fed.counts)
    assert (merged.count, merged.min, merged.max) == (fed.count, fed.min, fed.max)
    assert merged.sum == pytest.approx(fed.sum, rel=1e-12)
    for q in (0.0, 1.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0):
        assert merged.percentile(q) == fed.percentile(q)
    empty = histogram.EMPTY
    assert (empty + merged) is merged and (merged + empty) is merged
    assert (empty + empty).count == 0


PENDING_PLUS = histogram.PENDING + 17  # some samples still unfolded when the snapshot is taken


def brute_force_above(samples: list[float], seconds: float) -> int:
    return sum(value > seconds for value in samples)


def test_count_above_is_exact_at_every_bucket_edge_against_a_brute_force_count():
    rng = random.Random(13)
    samples = [rng.lognormvariate(math.log(0.003), 2.0) for _ in range(20_000)]
    samples += [rng.uniform(0.5e-6, 1e-6) for _ in range(50)]  # below the first bucket's edge
    hist = LatencyHistogram()
    for value in samples:
        hist.record(value)
    snap = hist.snapshot()
    used = np.flatnonzero(snap.counts)
    # every edge but the first bucket's lower one: that bucket also holds everything shorter
    edges = [float(histogram._BOUNDS[i]) for i in range(max(used[0], 1), used[-1] + 2)]
    assert len(edges) > 500  # the test walks every edge the samples span
    for edge in edges:
        # on an edge the share is exact (no sample lands exactly on one of these doubles)
        assert snap.count_above(edge) == brute_force_above(samples, edge), edge
        assert snap.fraction_above(edge) == pytest.approx(
            brute_force_above(samples, edge) / len(samples), abs=1e-15
        )
    assert snap.fraction_above(-1.0) == 1.0
    assert snap.fraction_above(min(samples) / 2) == 1.0
    assert snap.fraction_above(max(samples)) == 0.0
    assert histogram.EMPTY.fraction_above(0.001) == 0.0


def test_between_edges_count_above_is_off_by_at_most_the_samples_of_one_bucket():
    rng = random.Random(17)
    samples = [rng.expovariate(1 / 0.2) for _ in range(20_000)]
    hist = LatencyHistogram()
    for value in samples:
        hist.record(value)
    snap = hist.snapshot()
    for timeout in (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, max(samples) * 0.999):
        index = bucket_of(timeout)
        low, high = histogram._BOUNDS[index], histogram._BOUNDS[index + 1]
        in_bucket = sum(low <= value < high for value in samples)
        assert in_bucket == snap.counts[index]
        assert abs(snap.count_above(timeout) - brute_force_above(samples, timeout)) <= in_bucket


def test_a_shard_alone_is_a_snapshot_with_its_unfolded_samples_and_its_largest():
    hist = LatencyHistogram()
    shard = hist.shard()
    values = [0.001 * (i % 97 + 1) for i in range(histogram.PENDING + 9)] + [0.5]
    for value in values[: histogram.PENDING]:
        shard.add(value)
    shard.settle()  # folds the first PENDING
    for value in values[histogram.PENDING :]:
        shard.add(value)  # ten samples, the largest among them, not folded yet
    assert shard.unfolded() == 10
    assert shard.largest() == 0.5
    alone = shard.snapshot()
    whole = hist.snapshot()
    assert (alone.count, alone.min, alone.max) == (whole.count, whole.min, whole.max)
    assert alone.count == len(values) and alone.max == 0.5
    assert np.array_equal(alone.counts, whole.counts)
    assert histogram.Shard().largest() == 0.0


def test_snapshot_of_a_few_samples_adds_to_a_histogram_as_if_recorded():
    hist, both = LatencyHistogram(), LatencyHistogram()
    for value in (0.001, 0.002, 0.004):
        hist.record(value)
        both.record(value)
    extra = [2.5, 0.003]
    for value in extra:
        both.record(value)
    merged = hist.snapshot() + histogram.snapshot_of(extra)
    fed = both.snapshot()
    assert np.array_equal(merged.counts, fed.counts)
    assert (merged.count, merged.min, merged.max) == (fed.count, fed.min, fed.max)
    assert histogram.snapshot_of([]) is histogram.EMPTY
