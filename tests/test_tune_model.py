"""Issue 13 §2: the USL fit, the knee, the plateau, the sweep's size plan, the budget parser and
the missing-extra sentence; pure (no server)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from pooltui.core.errors import BadInput
from pooltui.core.tune import usl
from pooltui.core.tune.sweep import coarse_sizes, dense_sizes, sweep_range
from pooltui.core.tune.tuner import Budget, parse_budget

pytest.importorskip("scipy")


@pytest.mark.parametrize(
    ("lam", "sigma", "kappa"), [(1000.0, 0.05, 0.002), (250.0, 0.2, 0.0005), (5000.0, 0.01, 0.02)]
)
def test_the_fit_recovers_known_parameters_from_noisy_synthetic_points(lam, sigma, kappa):
    rng = np.random.default_rng(7)
    sizes = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32]
    exact = usl.usl(sizes, lam, sigma, kappa)
    noisy = exact * (1 + rng.normal(0, 0.01, len(sizes)))  # 1 % noise, like a quiet machine
    fit = usl.fit(sizes, list(noisy), list(0.01 * exact))
    assert fit is not None
    assert fit.lam == pytest.approx(lam, rel=0.05)
    assert fit.sigma == pytest.approx(sigma, abs=max(3 * fit.sigma_se, 0.01))
    assert fit.kappa == pytest.approx(kappa, rel=0.25)
    assert 0 < fit.kappa_se < fit.kappa  # an uncertainty, smaller than the value it qualifies
    truth = (1 - sigma) ** 0.5 / kappa**0.5
    assert fit.peak_n == pytest.approx(truth, rel=0.15)
    assert fit.r2 > 0.98 and len(fit.residuals) == len(sizes)
    assert not fit.plateau and fit.follows_usl
    assert "N*" in fit.sentence()


def test_a_corner_is_a_plateau_said_plainly_not_a_peak():
    sizes = [1, 2, 3, 4, 6, 8, 12, 16]
    flat = [min(n, 4) * 200.0 for n in sizes]  # linear up to 4, then the rate caps it
    fit = usl.fit(sizes, flat)
    assert fit is not None and fit.plateau and not fit.follows_usl
    assert usl.knee(sizes, flat) == 4
    assert "plateaus" in fit.sentence() and "N* does not apply" in fit.sentence()


def test_the_knee_is_the_smallest_size_within_the_share_of_the_peak():
    assert usl.knee([1, 2, 4, 8], [100, 190, 300, 310]) == 4
    assert usl.knee([1, 2, 4, 8], [100, 300, 300, 310]) == 2
    assert usl.knee([], []) is None


def test_too_few_sizes_give_no_fit():
    assert usl.fit([1, 2, 4], [1.0, 2.0, 3.0]) is None
    assert usl.fit([1, 1, 2, 2], [1.0, 1.0, 2.0, 2.0]) is None


def test_the_sweep_plans_coarse_then_dense_around_peak_and_knee():
    assert coarse_sizes(16) == [1, 2, 4, 8, 16]
    assert coarse_sizes(3) == [1, 2, 3]
    measured = {1: 100.0, 2: 200.0, 4: 390.0, 8: 400.0, 16: 300.0}
    added = dense_sizes(measured, 16)
    assert added == [3, 6, 12]  # beside the knee (4) and the peak (8)
    assert not set(added) & set(measured)
    assert sweep_range(_Threads(8), headroom=3) == 3
    assert sweep_range(_Threads(8), headroom=None) == 8


class _Threads:
    def __init__(self, threads: int) -> None:
        self.threads = threads


@pytest.mark.parametrize(
    ("text", "budget"),
    [("120", Budget(seconds=120)), ("90s", Budget(seconds=90)), ("2m", Budget(seconds=120)),
     ("30t", Budget(trials=30)), ("12 trials", Budget(trials=12))],
)  # fmt: skip
def test_a_budget_is_seconds_or_trials(text, budget):
    assert parse_budget(text) == budget


@pytest.mark.parametrize("text", ["soon", "0", "-5", "2.5t", "nan"])
def test_a_bad_budget_is_one_sentence(text):
    with pytest.raises(BadInput, match="budget"):
        parse_budget(text)


def test_tune_without_its_extra_names_the_pip_command():
    code = (
        "import sys; sys.modules['optuna'] = None\n"
        "from pooltui.cli import main\n"
        "sys.exit(main(['tune', '--dsn', 'sqlite:///:memory:']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'pooltui[tune]'" in lines[0], done.stderr
    assert "optuna" in lines[0] and "Traceback" not in done.stderr


def _trial(number: int, size: int, value: float, feasible: bool = True):
    from pooltui.core.config import PoolConfig, Workload
    from pooltui.core.tune.measure import Measurement
    from pooltui.core.tune.search import Trial

    config = PoolConfig(maxconnections=size, maxcached=size)
    m = Measurement(config, Workload(threads=8), runs=())
    return Trial(number, config, Workload(threads=8), m, value, () if feasible else ("1 errors",))


def test_the_winner_is_the_smallest_feasible_pool_within_five_percent_of_the_best():
    from pooltui.core.tune.search import pick

    trials = [
        _trial(0, 8, 1000.0),
        _trial(1, 4, 960.0),  # within 5 %: fewer connections win
        _trial(2, 2, 900.0),  # 10 % below: not close enough
        _trial(3, 1, 2000.0, feasible=False),  # the best median, but it had errors
    ]
    assert pick(trials, higher=True).number == 1
    latencies = [_trial(0, 8, 10.0), _trial(1, 4, 10.4), _trial(2, 2, 11.0)]
    assert pick(latencies, higher=False).number == 1  # p99: lower is better
    assert pick([_trial(0, 1, 5.0, feasible=False)], higher=True) is None
