"""The open loop's arrival schedules by themselves: no threads, no clock, no database."""

from __future__ import annotations

import itertools
import math

import pytest

from pooltui.core.config import PATTERNS
from pooltui.core.load import arrivals
from pooltui.core.load.arrivals import BURST_PHASE_S, BURST_QUIET_DIVISOR, schedule

SEEDS = (1, 7, 20240601)


def poisson_bounds(mean: float, sigmas: float = 5.0) -> tuple[float, float]:
    """A count of a Poisson process lies within mean ± 5 sqrt(mean) but for ~1e-6 of seeds."""
    spread = sigmas * math.sqrt(mean)
    return mean - spread, mean + spread


def test_every_configured_pattern_has_a_schedule() -> None:
    assert set(arrivals.SCHEDULES) == set(PATTERNS)
    assert {p for p in PATTERNS if arrivals.is_open_loop(p)} == {"poisson", "bursty"}


def test_steady_schedules_nothing() -> None:
    assert list(schedule("steady", 100.0, 0.0, 10.0, seed=1)) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_poisson_counts_are_within_poisson_bounds(seed: int) -> None:
    times = list(schedule("poisson", 200.0, 5.0, 15.0, seed=seed))  # 2,000 expected
    low, high = poisson_bounds(2000)
    assert low <= len(times) <= high
    assert all(5.0 < t < 15.0 for t in times)
    assert times == sorted(times)
    # each second holds a Poisson(200) count too: the arrivals are spread, not bunched
    per_second = [sum(1 for t in times if 5.0 + s <= t < 6.0 + s) for s in range(10)]
    low, high = poisson_bounds(200)
    assert all(low <= n <= high for n in per_second), per_second


def test_a_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    first = list(schedule("poisson", 50.0, 0.0, 4.0, seed=3))
    assert first == list(schedule("poisson", 50.0, 0.0, 4.0, seed=3))
    assert first != list(schedule("poisson", 50.0, 0.0, 4.0, seed=4))
    assert list(schedule("bursty", 50.0, 0.0, 4.0, seed=3)) == list(
        schedule("bursty", 50.0, 0.0, 4.0, seed=3)
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_bursty_alternates_peaks_and_quiet_phases(seed: int) -> None:
    rate, phases = 500.0, 8
    times = list(schedule("bursty", rate, 100.0, 100.0 + phases * BURST_PHASE_S, seed=seed))
    counts = [
        sum(1 for t in times if 100.0 + i * BURST_PHASE_S <= t < 100.0 + (i + 1) * BURST_PHASE_S)
        for i in range(phases)
    ]
    assert sum(counts) == len(times)
    peak_low, peak_high = poisson_bounds(rate * BURST_PHASE_S)
    quiet_low, quiet_high = poisson_bounds(rate / BURST_QUIET_DIVISOR * BURST_PHASE_S)
    for i, count in enumerate(counts):
        if i % 2 == 0:  # it starts with a peak
            assert peak_low <= count <= peak_high, counts
        else:
            assert quiet_low <= count <= quiet_high, counts
    assert times == sorted(times)


@pytest.mark.parametrize("pattern", ["poisson", "bursty"])
def test_the_deadline_is_respected(pattern: str) -> None:
    for deadline in (0.0, 0.001, 0.5, 1.0, 2.5):
        times = list(schedule(pattern, 1000.0, 0.0, deadline, seed=11))
        assert all(0.0 < t < deadline for t in times)
    # a schedule ends by itself at the deadline: it can be consumed to the end
    assert len(list(itertools.islice(schedule(pattern, 10.0, 0.0, 1.0, seed=2), 10_000))) < 10_000


def test_an_unknown_pattern_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown load pattern 'zipf'"):
        schedule("zipf", 1.0, 0.0, 1.0)
