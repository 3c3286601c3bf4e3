"""The queueing models against research/pools.md §5.3 and against the textbook closed forms."""

from __future__ import annotations

import math

import pytest

from pooltui.core.diagnosis.queueing import (
    deadlock_free_size,
    erlang_b,
    erlang_c,
    hikari_pool_size,
    littles_law,
    mean_wait_s,
    min_connections_for,
    wait_longer_than_probability,
    wait_percentile_s,
)
from pooltui.core.errors import BadInput

HOLD_S = 0.015  # pools.md §5.3: 200 req/s x 15 ms = 3 Erlangs

# N, rho, Erlang B, Erlang C, W_q (ms), P(wait > 50 ms): the worked example table, as printed there.
TABLE = [
    (4, 0.75, 0.206, 0.509, 7.6, 1.8e-2),
    (5, 0.60, 0.110, 0.236, 1.8, 3.0e-4),
    (6, 0.50, 0.052, 0.099, 0.5, 4.5e-6),
    (8, 0.38, 0.008, 0.013, 0.04, 7.5e-10),
]


def _rounds_to(value: float, printed: float) -> bool:
    """True when ``value``, shown with as many significant digits as ``printed``, reads the same."""
    digits = len(f"{printed:.6e}".split("e")[0].rstrip("0").replace(".", "").lstrip("0")) or 1
    return float(f"{value:.{digits - 1}e}") == pytest.approx(printed, rel=1e-9)


def _erlang_b_closed_form(n: int, a: float) -> float:
    terms = [a**k / math.factorial(k) for k in range(n + 1)]
    return terms[-1] / sum(terms)


def _erlang_c_closed_form(n: int, a: float) -> float:
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


def test_littles_law_gives_the_worked_example_load():
    assert littles_law(200, HOLD_S) == pytest.approx(3.0)


@pytest.mark.parametrize(("n", "rho", "b", "c", "wq_ms", "p50ms"), TABLE)
def test_every_row_of_the_worked_example(n, rho, b, c, wq_ms, p50ms):
    a = littles_law(200, HOLD_S)
    assert round(a / n, 2) == rho
    assert _rounds_to(erlang_b(n, a), b)
    assert _rounds_to(erlang_c(n, a), c)
    assert _rounds_to(mean_wait_s(n, a, HOLD_S) * 1000, wq_ms)
    assert _rounds_to(wait_longer_than_probability(n, a, HOLD_S, 0.050), p50ms)


def test_issue_figures_for_three_erlangs():
    assert erlang_c(4, 3.0) == pytest.approx(0.51, abs=0.005)
    assert erlang_c(6, 3.0) == pytest.approx(0.099, abs=0.0005)


@pytest.mark.parametrize("a", [0.3, 1.0, 2.5, 7.9, 15.0])
def test_recursion_matches_the_closed_forms(a):
    for n in range(1, 30):
        assert erlang_b(n, a) == pytest.approx(_erlang_b_closed_form(n, a), rel=1e-9)
        if n > a:
            assert erlang_c(n, a) == pytest.approx(_erlang_c_closed_form(n, a), rel=1e-9)


def test_erlang_b_is_stable_where_factorials_overflow():
    b = erlang_b(2000, 1900.0)
    assert 0 < b < 1
    assert erlang_b(2001, 1900.0) < b
    assert erlang_c(2000, 1900.0) > b


def test_erlang_edges():
    assert erlang_b(0, 2.0) == 1.0
    assert erlang_b(3, 0.0) == 0.0
    assert erlang_c(3, 0.0) == 0.0
    assert erlang_c(3, 3.0) == 1.0
    assert erlang_c(3, 4.5) == 1.0
    assert mean_wait_s(3, 3.0, HOLD_S) == math.inf
    assert wait_percentile_s(3, 3.5, HOLD_S, 0.95) == math.inf


def test_waiting_is_monotonic_in_pool_size():
    a = 6.2
    previous_b, previous_c, previous_w = 1.0, 1.0, math.inf
    for n in range(7, 20):
        b, c, w = erlang_b(n, a), erlang_c(n, a), mean_wait_s(n, a, HOLD_S)
        assert b < previous_b and c < previous_c and w < previous_w
        assert c > b  # a queue always waits more often than a loss system rejects
        previous_b, previous_c, previous_w = b, c, w


@pytest.mark.parametrize(("n", "q"), [(4, 0.95), (4, 0.99), (5, 0.9), (5, 0.99), (6, 0.95)])
def test_percentile_inverts_the_tail(n, q):
    a = 3.0
    t = wait_percentile_s(n, a, HOLD_S, q)
    if t > 0:
        assert wait_longer_than_probability(n, a, HOLD_S, t) == pytest.approx(1 - q, rel=1e-9)
    else:
        assert erlang_c(n, a) <= 1 - q


def test_percentile_is_zero_when_most_requests_never_wait():
    # C(8, 3) = 0.013: 98.7 % never wait, so the p95 wait is 0.
    assert wait_percentile_s(8, 3.0, HOLD_S, 0.95) == 0.0
    assert wait_percentile_s(4, 3.0, HOLD_S, 0.95) > 0.0


def test_min_connections_is_the_smallest_that_meets_each_target():
    a = 3.0
    n = min_connections_for(a, max_wait_probability=0.1, hold_s=HOLD_S)
    assert erlang_c(n, a) <= 0.1 < erlang_c(n - 1, a)
    n = min_connections_for(a, max_rejection=0.01, hold_s=HOLD_S)
    assert erlang_b(n, a) <= 0.01 < erlang_b(n - 1, a)
    target = 0.1 * HOLD_S
    n = min_connections_for(a, max_p95_wait_s=target, hold_s=HOLD_S)
    p95 = wait_percentile_s(n, a, HOLD_S, 0.95)
    assert p95 <= target < wait_percentile_s(n - 1, a, HOLD_S, 0.95)


def test_min_connections_combines_targets():
    a = 3.0
    both = min_connections_for(a, max_wait_probability=0.5, max_rejection=0.001, hold_s=HOLD_S)
    alone = [
        min_connections_for(a, max_wait_probability=0.5, hold_s=HOLD_S),
        min_connections_for(a, max_rejection=0.001, hold_s=HOLD_S),
    ]
    assert both == max(alone)


def test_min_connections_with_no_load_is_one():
    assert min_connections_for(0.0, max_wait_probability=0.01, hold_s=HOLD_S) == 1


def test_min_connections_refuses_impossible_targets():
    with pytest.raises(BadInput, match="at least one target"):
        min_connections_for(3.0, hold_s=HOLD_S)
    with pytest.raises(BadInput, match="wait probability"):
        min_connections_for(3.0, max_wait_probability=0.0, hold_s=HOLD_S)
    with pytest.raises(BadInput, match="rejection"):
        min_connections_for(3.0, max_rejection=1.5, hold_s=HOLD_S)


def test_hikari_and_deadlock_rules():
    assert hikari_pool_size(4, 1) == 9  # the wiki's example: 4 cores, one disk
    assert hikari_pool_size(2) == 4
    assert deadlock_free_size(8, 1) == 1
    assert deadlock_free_size(8, 3) == 17
    with pytest.raises(BadInput):
        hikari_pool_size(0)
    with pytest.raises(BadInput):
        deadlock_free_size(8, 0)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: littles_law(-1, 0.01), "rate"),
        (lambda: littles_law(10, 0), "hold time"),
        (lambda: erlang_b(-1, 1.0), "connections"),
        (lambda: erlang_c(3, math.nan), "offered load"),
        (lambda: wait_percentile_s(4, 3.0, HOLD_S, 1.0), "percentile"),
        (lambda: wait_longer_than_probability(4, 3.0, HOLD_S, -1), "wait time"),
    ],
)
def test_bad_arguments_are_refused_in_one_sentence(call, match):
    with pytest.raises(BadInput, match=match) as info:
        call()
    message = str(info.value)
    assert message.endswith(".") and message.count(". ") == 0
