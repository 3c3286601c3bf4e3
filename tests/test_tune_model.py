"""Issue 13 §2: the USL fit, the knee, the plateau, the sweep's size plan, the budget parser and
the missing-extra sentence; pure (no server)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from pooltui.core.compare.noise import spread
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.errors import BadInput
from pooltui.core.tune import search, tuner, usl
from pooltui.core.tune.measure import TAIL_REQUESTS, Plan, requests_needed
from pooltui.core.tune.search import Targets, Trial, contenders
from pooltui.core.tune.sweep import coarse_sizes, dense_sizes, sweep_range
from pooltui.core.tune.tuner import Budget, TuneRequest, parse_budget

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
    assert coarse_sizes(8) == [1, 2, 4, 8]  # doublings: a fifth size would not narrow a gap
    assert coarse_sizes(12) == [1, 2, 3, 6, 12] and coarse_sizes(1) == [1]
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


def _trial(
    number: int,
    size: int,
    value: float,
    feasible: bool = True,
    runs: tuple[float, ...] = (),
    confirmed: bool = False,
    figure: str = "throughput_rps",
):
    """A trial with a chosen objective; ``runs``: its runs' values (the noise pick judges)."""
    from pooltui.core.config import PoolConfig, Workload
    from pooltui.core.tune.measure import Measurement
    from pooltui.core.tune.search import Trial

    config = PoolConfig(maxconnections=size, maxcached=size)
    m = Measurement(config, Workload(threads=8), runs=(), spreads={figure: spread(runs)})
    violations = () if feasible else ("1 errors",)
    return Trial(number, config, Workload(threads=8), m, value, violations, confirmed=confirmed)


def test_the_winner_is_the_best_unless_a_smaller_pool_is_within_two_percent_and_noise():
    from pooltui.core.tune.search import pick

    trials = [
        _trial(0, 8, 1000.0, runs=(980.0, 1020.0)),
        _trial(1, 6, 990.0, runs=(970.0, 1010.0)),  # 1 % below, runs overlap: fewer win
        _trial(2, 4, 960.0, runs=(900.0, 1000.0)),  # within noise but 4 % below: not picked
        _trial(3, 1, 2000.0, feasible=False),  # the best median, but it had errors
    ]
    assert pick(trials, higher=True).number == 1
    # 1 % below but clear of the best's runs: a real loss, however small, is not taken
    apart = [_trial(0, 8, 1000.0, runs=(995.0, 1005.0)), _trial(1, 6, 990.0, runs=(985.0, 992.0))]
    assert pick(apart, higher=True).number == 0
    latencies = [
        _trial(0, 8, 10.0, runs=(9.0, 11.0), figure="p99_latency_ms"),
        _trial(1, 4, 10.1, runs=(9.5, 11.0), figure="p99_latency_ms"),
        _trial(2, 2, 10.4, runs=(9.0, 12.0), figure="p99_latency_ms"),  # 4 % worse
    ]
    assert pick(latencies, higher=False).number == 1  # p99: lower is better
    assert pick([_trial(0, 1, 5.0, feasible=False)], higher=True) is None


def test_within_noise_at_one_size_the_pool_without_ping_and_reset_wins():
    from pooltui.core.tune.search import pick, round_trips

    paying = _trial(0, 4, 1000.0, runs=(960.0, 1040.0), confirmed=True)  # ping=1, reset=True
    free = _trial(1, 4, 995.0, runs=(970.0, 1020.0), confirmed=True)
    free = replace(free, config=replace(free.config, ping=0, reset=False))
    assert (round_trips(paying.config), round_trips(free.config)) == (2, 0)
    assert pick([paying, free], higher=True) is free  # 0.5 % behind, inside the noise
    clear = replace(free, measurement=replace(
        free.measurement, spreads={"throughput_rps": spread((900.0, 910.0))}
    ), value=905.0)  # fmt: skip
    assert pick([paying, clear], higher=True) is paying  # a real loss is not taken


def test_a_confirmed_trial_beats_a_lucky_single_batch_and_the_smaller_alternative_is_named():
    from pooltui.core.tune.search import pick, smaller_within_noise

    trials = [
        _trial(0, 8, 1000.0, runs=(950.0, 1050.0, 990.0, 1010.0), confirmed=True),
        _trial(1, 12, 1100.0, runs=(1090.0, 1110.0)),  # one lucky batch, never confirmed
        _trial(2, 3, 930.0, runs=(900.0, 960.0), confirmed=True),  # 7 % below, overlapping
        _trial(3, 2, 700.0, runs=(690.0, 710.0)),  # far below the winner's runs
    ]
    best = pick(trials, higher=True)
    assert best.number == 0
    assert smaller_within_noise(trials, best, higher=True).number == 2
    alone = [_trial(0, 8, 1000.0, runs=(999.0, 1001.0))]
    assert smaller_within_noise(alone, alone[0], higher=True) is None


def test_a_percentile_objective_is_read_over_the_pooled_requests_of_the_runs():
    from pooltui.core.config import PoolConfig, Workload
    from pooltui.core.load.results import RunHistograms, RunResult
    from pooltui.core.pool.histogram import Summary, snapshot_of
    from pooltui.core.pool.stats import PoolStats
    from pooltui.core.tune.measure import Measurement, spreads_of

    def run(latencies_s: list[float]) -> RunResult:
        snapshot = snapshot_of(latencies_s)
        return RunResult(
            requests=len(latencies_s),
            errors=0,
            duration_s=1.0,
            throughput_rps=float(len(latencies_s)),
            latency=snapshot.summary(),
            acquire=Summary(),
            query=Summary(),
            hold=Summary(),
            schedule_lag=Summary(),
            error_kinds={},
            pool=PoolStats(),
            config=PoolConfig(),
            target="sqlite:///x.db",
            driver="sqlite3",
            workload=Workload(),
            histograms=RunHistograms(latency=snapshot),
        )

    # 100 requests a run (0.3 s at 300/s or so): a burst of 5 slow requests in one run of three
    # is 1.7 % of all requests, so the p99 of the whole is slow; the median of the runs' own
    # p99s (10, 10, 100 ms) hides it, as a median hides any tail
    fast, burst = [0.010] * 100, [0.010] * 95 + [0.100] * 5
    runs = (run(fast), run(burst), run(fast))
    m = Measurement(PoolConfig(), Workload(), runs=runs, spreads=spreads_of(runs))
    assert m.figure("p99_latency_ms").median == pytest.approx(10.0, rel=0.01)
    assert m.value("p99_latency_ms") == pytest.approx(100.0, rel=0.01)
    assert m.value("throughput_rps") == m.figure("throughput_rps").median == 100.0


def test_the_requests_a_percentile_needs_follow_one_rule():
    """TAIL_REQUESTS beyond the percentile: 1000 for a p99, 200 for a p95, 10 000 for a
    p99.9, none for a figure that is no percentile; a plan takes the highest it is judged by."""
    assert requests_needed(("p99_latency_ms",)) == 100 * TAIL_REQUESTS
    assert requests_needed(("p95_latency_ms",)) == 20 * TAIL_REQUESTS
    assert requests_needed(("p999_acquire_ms",)) == 1000 * TAIL_REQUESTS
    assert requests_needed(("throughput_rps",)) == 0
    assert requests_needed(("p95_latency_ms", "p99_acquire_ms")) == 100 * TAIL_REQUESTS
    assert Plan().needed == 0  # throughput: a median of runs, no tail
    assert Plan(objective="p99_latency_ms").needed == 100 * TAIL_REQUESTS
    judged = Plan(judged=Targets(acquire_p99_ms=5.0).figures())
    assert judged.tail_figures == ("p99_acquire_ms",) and judged.needed == 100 * TAIL_REQUESTS
    assert Plan(objective="p99_latency_ms", min_requests=50).needed == 50


def test_a_percentile_proof_runs_long_enough_for_its_requests():
    """Each side of the proof pools its 2 x rounds runs: at 400/s a p99's 1000 requests (10 %
    over) need runs of 0.69 s, not the tune's 0.2 s; a throughput proof keeps 0.2 s."""
    request = TuneRequest(
        PoolConfig(), Workload(threads=4, pattern="poisson", rate=400), Budget(trials=3),
        objective="p99", run_s=0.2, proof_rounds=2,
    )  # fmt: skip
    assert tuner._proof_run_s(request, 1000, 400.0) == pytest.approx(1100 / (400 * 2 * 2))
    assert tuner._proof_run_s(request, 0, 400.0) == 0.2
    assert tuner._proof_run_s(request, 100_000, 400.0) == pytest.approx(10 * 0.2)  # capped
    throughput = replace(request, objective="throughput")
    assert tuner.proof_seconds(request) > tuner.proof_seconds(throughput)


def _ran(number: int, values: list[float], feasible: bool = True) -> Trial:
    """A trial whose runs had these throughputs (its value their median)."""
    return _trial(number, number, float(np.median(values)), feasible, tuple(values))


def test_the_confirmation_measures_the_best_two_and_a_third_only_in_reach():
    best, second = _ran(1, [99.0, 101.0]), _ran(2, [94.0, 96.0])
    far, close = _ran(3, [49.0, 51.0]), _ran(4, [89.0, 91.0])  # 50 % and 10 % behind
    assert contenders([far, second, best], higher=True) == [best, second]
    assert contenders([far, close, second, best], higher=True) == [best, second, close]
    assert contenders([best], higher=True) == [best]


def test_patience_counts_a_trial_as_near_when_it_beats_or_overlaps_the_best():
    best = _ran(1, [95.0, 105.0])
    assert search._near(_ran(2, [110.0, 112.0]), best, higher=True)  # better
    assert search._near(_ran(3, [85.0, 96.0]), best, higher=True)  # runs overlap
    assert not search._near(_ran(4, [60.0, 62.0]), best, higher=True)  # far and clear
    assert not search._near(_ran(5, [200.0, 210.0], feasible=False), best, higher=True)
    assert search.PATIENCE >= 2  # one unlucky trial never ends a search
