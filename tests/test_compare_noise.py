"""core/compare/noise.py on synthetic paired data: the verdict's false-alarm rate on A/A is
about the nominal 5 % (or less), a clear change is found, near-zero figures are differences."""

from __future__ import annotations

import numpy as np
import pytest

from pooltui.core.compare.noise import Verdict, compare, compare_pooled, spread
from pooltui.core.pool.histogram import LatencyHistogram, bucket_values_s

TRIALS = 600


def aa_rate(pairs: int, draw, *, min_effect: float = 0.0, seed: int = 1) -> float:
    """The share of A/A trials judged within noise; ``draw(rng, n)`` gives n run figures."""
    rng = np.random.default_rng(seed)
    within = 0
    for trial in range(TRIALS):
        drift = rng.normal(0, 0.3, pairs)  # the machine drifts; both runs of a pair share it
        a = draw(rng, pairs) * np.exp(drift)
        b = draw(rng, pairs) * np.exp(drift)
        verdict = compare("x", a, b, higher_is_better=True, seed=trial, min_effect=min_effect)
        within += verdict.verdict == Verdict.NOISE
    return within / TRIALS


def lognormal(rng, n):
    return 1000 * np.exp(rng.normal(0, 0.1, n))


@pytest.mark.parametrize("pairs", [4, 6, 12])
def test_aa_on_paired_noise_is_within_noise_at_about_the_nominal_rate(pairs) -> None:
    rate = aa_rate(pairs, lognormal)
    assert 0.92 <= rate <= 0.99, rate  # the interval alone, no minimum effect: nominal 95 %


def test_the_minimum_effect_only_lowers_false_alarms() -> None:
    assert aa_rate(6, lognormal, min_effect=0.02) >= aa_rate(6, lognormal)


def test_heavy_tailed_noise_does_not_raise_false_alarms_much() -> None:
    """A run now and then hit by another process (a tenth of runs 40 % slower)."""

    def hiccups(rng, n):
        return lognormal(rng, n) * np.where(rng.random(n) < 0.1, 0.6, 1.0)

    assert aa_rate(6, hiccups, min_effect=0.02) >= 0.93


def test_a_clear_change_is_found_in_the_right_direction() -> None:
    rng = np.random.default_rng(7)
    found = {"faster": 0, "slower": 0}
    for trial in range(200):
        a = lognormal(rng, 6)
        faster = compare("rps", a, lognormal(rng, 6) * 1.5, higher_is_better=True, seed=trial)
        slower = compare("ms", a, lognormal(rng, 6) * 1.5, higher_is_better=False, seed=trial)
        found["faster"] += faster.verdict == Verdict.BETTER
        found["slower"] += slower.verdict == Verdict.WORSE
        assert faster.verdict != Verdict.BETTER or (faster.relative and faster.low > 1.0)
    assert found["faster"] >= 198 and found["slower"] >= 198, found


def test_pairs_of_one_round_count_once() -> None:
    """A burst of load over a round's middle (B, B) moves both its pairs alike: six pairs that
    look consistent are three rounds, and three rounds do not agree enough for a verdict."""
    a = [100.0] * 6
    b = [85.0, 86.0, 97.0, 96.0, 84.0, 85.0]
    by_pairs = compare("rps", a, b, higher_is_better=True)
    by_rounds = compare("rps", a, b, higher_is_better=True, units=[0, 0, 1, 1, 2, 2])
    # (throughput: higher is better, so lower B is worse)
    assert by_pairs.verdict == Verdict.WORSE  # six "independent" pairs would say so
    assert by_rounds.change == pytest.approx(by_pairs.change)  # the same point estimate
    assert by_rounds.high - by_rounds.low > by_pairs.high - by_pairs.low
    assert by_rounds.verdict == Verdict.NOISE


def test_a_change_smaller_than_the_minimum_effect_is_noise_however_sure() -> None:
    a = [100.0, 101.0, 99.0, 100.5, 100.2, 99.8]
    b = [x * 1.01 for x in a]  # exactly 1 % more every time: certain, but too small to matter
    assert compare("rps", a, b, higher_is_better=True).verdict == Verdict.NOISE
    assert compare("rps", a, b, higher_is_better=True, min_effect=0.0).verdict == Verdict.BETTER


def test_near_zero_figures_are_compared_as_differences() -> None:
    a = [0.0, 0.0, 0.01, 0.0, 0.0, 0.02]  # acquire waits of a pool with spare connections
    b = [3.1, 2.9, 3.3, 3.0, 2.8, 3.2]
    difference = compare("p95_acquire_ms", a, b, higher_is_better=False)
    assert not difference.relative
    assert difference.change == pytest.approx(float(np.mean(np.subtract(b, a))))
    assert difference.low > 0 and difference.verdict == Verdict.WORSE
    assert "%" not in difference.describe()


def test_zero_on_both_sides_is_the_same_and_one_pair_has_no_estimate() -> None:
    assert compare("errors", [0, 0, 0], [0, 0, 0], higher_is_better=False).verdict == Verdict.SAME
    one = compare("rps", [100.0], [150.0], higher_is_better=True)
    assert one.verdict == Verdict.UNKNOWN and (one.low, one.high) == (0.0, np.inf)  # ratios


def test_a_spread_says_its_range_and_median() -> None:
    s = spread([90.0, 100.0, 110.0])
    assert (s.median, s.low, s.high, s.n) == (100.0, 90.0, 110.0, 3)
    assert s.relative == pytest.approx(0.1)
    assert s.describe(" req/s") == "100 req/s ±10.0 %"
    assert spread([0.0, 0.02, 0.0]).near_zero


# --- percentiles over the pooled requests of the paired runs ----------------------------------

BUCKETS_S = bucket_values_s()


def histogram(samples_s) -> np.ndarray:
    """The bucket counts a run's histogram would hold for these durations (seconds)."""
    h = LatencyHistogram()
    shard = h.shard()
    for value in samples_s:
        shard.record(float(value))
    return h.snapshot().counts


def run_of(rng, fast_s: float, slow_s: float, slow_share: float, n: int = 2000) -> np.ndarray:
    slow = rng.random(n) < slow_share
    return histogram(np.where(slow, slow_s, fast_s) * np.exp(rng.normal(0, 0.05, n)))


def pooled(a_counts, b_counts, q: float, *, seed: int = 0):
    values = lambda rows: [  # noqa: E731  (each run's own percentile, for the Spread)
        float(np.percentile(np.repeat(BUCKETS_S, row), q)) * 1000 for row in rows
    ]
    return compare_pooled(
        "p95_latency_ms",
        a_counts,
        b_counts,
        q,
        bucket_values=BUCKETS_S * 1000,
        a_values=values(a_counts),
        b_values=values(b_counts),
        higher_is_better=False,
        seed=seed,
    )


def test_the_pooled_point_is_the_percentile_of_every_request_together() -> None:
    rng = np.random.default_rng(3)
    a = [run_of(rng, 0.002, 0.02, 0.06) for _ in range(4)]
    b = [run_of(rng, 0.005, 0.04, 0.08) for _ in range(4)]
    merged = [sum(rows) for rows in (a, b)]
    p95 = [float(np.percentile(np.repeat(BUCKETS_S, m), 95, method="inverted_cdf")) for m in merged]
    difference = pooled(a, b, 95)
    assert difference.relative and difference.change == pytest.approx(p95[1] / p95[0], rel=1e-9)
    assert difference.verdict == Verdict.WORSE


def test_a_percentile_on_a_cliff_is_judged_on_the_pooled_requests() -> None:
    """B's runs put 4 % or 12 % of requests in a 40 ms tail: each run's own p95 jumps between
    5 and 40 ms, so run by run there is no telling; pooled, B's p95 is 40 ms every time."""
    rng = np.random.default_rng(5)
    a = [run_of(rng, 0.002, 0.018, 0.07) for _ in range(6)]
    b = [run_of(rng, 0.005, 0.040, share) for share in (0.04, 0.12) * 3]
    by_run = pooled(a, b, 95)
    assert by_run.verdict == Verdict.WORSE and by_run.change > 1.8
    run_values = [d.values for d in (by_run.a, by_run.b)]
    per_run = compare("p95_latency_ms", *run_values, higher_is_better=False)
    assert per_run.verdict == Verdict.NOISE  # the same runs, judged run by run


def test_pooled_aa_is_within_noise_at_about_the_nominal_rate() -> None:
    rng = np.random.default_rng(11)
    within = 0
    trials = 150
    for trial in range(trials):
        scale = np.exp(rng.normal(0, 0.2, 6))  # each pair's machine state, shared by both
        a = [run_of(rng, 0.002 * s, 0.02 * s, 0.06, 500) for s in scale]
        b = [run_of(rng, 0.002 * s, 0.02 * s, 0.06, 500) for s in scale]
        within += pooled(a, b, 95, seed=trial).verdict == Verdict.NOISE
    assert within / trials >= 0.92, within


def test_a_noisy_positive_percentile_is_a_ratio_of_the_pooled_requests() -> None:
    """A's runs have 1-8 % of requests in a 12 ms tail, so its runs' own p95 jump between
    about 2 and 12 ms (half the range exceeds the median) yet never come near 0: the change is
    a ratio over the pooled requests, not a difference of the runs' jumpy values."""
    rng = np.random.default_rng(7)
    a = [run_of(rng, 0.0018, 0.012, share) for share in (0.01, 0.08, 0.01, 0.01) * 2]
    b = [run_of(rng, 0.0055, 0.030, 0.06) for _ in range(8)]
    run_p95 = spread([float(np.percentile(np.repeat(BUCKETS_S, r), 95)) for r in a])
    assert abs(run_p95.median) <= (run_p95.high - run_p95.low) / 2  # "within its range of 0"
    assert not run_p95.near_zero and spread([0.0, 0.02, 0.3]).near_zero
    difference = pooled(a, b, 95)
    assert difference.relative and difference.verdict == Verdict.WORSE


def test_a_pooled_percentile_near_zero_is_a_difference() -> None:
    zero = histogram([0.0] * 100)  # acquire waits of a pool with spare connections
    waits = histogram([0.003] * 100)
    difference = compare_pooled(
        "p95_acquire_ms",
        [zero] * 4,
        [waits] * 4,
        95,
        bucket_values=BUCKETS_S * 1000,
        a_values=[0.0] * 4,
        b_values=[3.0] * 4,
        higher_is_better=False,
    )
    assert not difference.relative and difference.change == pytest.approx(3.0)
