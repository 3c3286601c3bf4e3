"""core/compare/noise.py on synthetic paired data: the verdict's false-alarm rate on A/A is
about the nominal 5 % (or less), a clear change is found, near-zero figures are differences."""

from __future__ import annotations

import numpy as np
import pytest

from pooltui.core.compare.noise import Verdict, compare, spread

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
