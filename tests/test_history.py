"""Run history: labels say how a run differs from the baseline, repeats form a group read as
median and band (tails as the worst run), deltas are relative unless the base is near zero."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.errors import BadInput
from pooltui.core.history import (
    DELTA_KEYS,
    OTHER_TARGET,
    Delta,
    Figure,
    RunHistory,
    describe_changes,
    format_difference,
)
from pooltui.core.load.engine import RunResult
from pooltui.core.pool.histogram import Summary
from pooltui.core.pool.stats import PoolStats


def result(
    throughput: float = 100.0,
    p95: float = 10.0,
    acquire_p95: float = 1.0,
    errors: int = 0,
    peak_open: int = 4,
    target: str = "sqlite:///x.db",
    stopped: bool = False,
) -> RunResult:
    """A RunResult with chosen figures (p50 = p95 / 2, p99 = p95 * 2)."""
    latency = Summary(count=100, p50=p95 / 2, p95=p95, p99=p95 * 2, max=p95 * 3, mean=p95 / 2)
    return RunResult(
        requests=100 + errors,
        errors=errors,
        duration_s=1.0,
        throughput_rps=throughput,
        latency=latency,
        acquire=Summary(count=100, p95=acquire_p95),
        query=Summary(),
        hold=Summary(),
        schedule_lag=Summary(),
        error_kinds={"OperationalError": errors} if errors else {},
        pool=PoolStats(peak_open=peak_open),
        config=PoolConfig(),
        target=target,
        driver="sqlite3",
        workload=Workload(),
        stopped=stopped,
    )


TARGET = "sqlite:///x.db"


def test_changes_are_against_the_baseline_or_else_the_row_above() -> None:
    history = RunHistory()
    first = history.add(PoolConfig(maxconnections=8), Workload(), result())
    second = history.add(PoolConfig(maxconnections=12), Workload(hold_ms=5.0), result())
    third = history.add(PoolConfig(maxconnections=12), Workload(hold_ms=9.0), result())
    groups = history.groups
    assert [g.number for g in groups] == [1, 2, 3] and (first.group, second.group) == (1, 2)
    # no baseline: each row says what changed since the row above
    assert history.changes(groups[0]) == "first run"
    assert history.changes(groups[1]) == "maxconnections 8→12, hold_ms 0→5"
    assert history.changes(groups[2]) == "hold_ms 5→9"
    # a baseline: every row says how it differs from the baseline, whatever ran in between
    history.mark_baseline(1)
    assert history.changes(groups[0]) == "baseline"
    assert history.changes(groups[2]) == "maxconnections 8→12, hold_ms 0→9"
    history.mark_baseline(third.number)
    assert history.changes(history.group(1)) == "maxconnections 12→8, hold_ms 9→0"
    assert history.changes(history.group(2)) == "hold_ms 9→5"
    assert history.get(2) is second and history.get(4) is None and history.get(0) is None


def test_a_target_change_is_a_change() -> None:
    history = RunHistory()
    history.add(PoolConfig(), Workload(), result())
    other = "postgresql://postgres@127.0.0.1:5432/test"
    history.add(PoolConfig(), Workload(), result(target=other))
    history.mark_baseline(1)
    label = history.changes(history.group(2))
    assert label.startswith(f"no Δ, {OTHER_TARGET} postgresql://") and "no change" not in label
    assert history.same_as_baseline(history.group(2)) is None


def test_a_run_against_another_target_gets_no_delta_and_says_why() -> None:
    """A percentage across two servers is the servers' difference, not the pool's: a run on
    another target than the baseline's has no delta, and its label says why."""
    history = RunHistory()
    history.add(PoolConfig(), Workload(), result(throughput=100))
    other = "postgresql://postgres@127.0.0.1:5432/test"
    history.add(PoolConfig(maxconnections=8), Workload(), result(throughput=900, target=other))
    history.add(PoolConfig(maxconnections=8), Workload(), result(throughput=150))
    history.mark_baseline(1)
    away, here = history.group(2), history.group(3)
    assert history.no_delta(away) == OTHER_TARGET and history.delta(away) is None
    label = history.changes(away)
    assert label.startswith(f"no Δ, {OTHER_TARGET} postgresql://") and "maxconnections" in label
    # the same target keeps its delta; the baseline's own row has none to explain
    assert history.no_delta(here) is None and history.no_delta(history.group(1)) is None
    delta = history.delta(here)
    assert delta is not None and delta["throughput"].relative == pytest.approx(0.5)
    history.mark_baseline(2)  # from the other side the same holds
    assert history.delta(history.group(1)) is None and history.delta(here) is None


def test_describe_changes_shows_every_kind_of_value() -> None:
    before = RunHistory().add(PoolConfig(), Workload(), result())
    label = describe_changes(
        before,
        PoolConfig(blocking=False, setsession=("SET a=1", "SET b=2")),
        replace(Workload(), query="SELECT count(*) FROM a_long_table_name", pattern="poisson"),
        TARGET,
    )
    assert "blocking true→false" in label
    assert "setsession []→[SET a=1; SET b=2]" in label
    assert "pattern 'steady'→'poisson'" in label
    # long strings are cut so one history cell stays readable
    assert "query 'SELECT 1'→'SELECT count(*) FROM a_…'" in label
    assert describe_changes(None, PoolConfig(), Workload(), TARGET) == "first run"
    assert describe_changes(before, PoolConfig(), Workload(), TARGET) == "no change"


def test_no_baseline_means_no_delta() -> None:
    history = RunHistory()
    record = history.add(PoolConfig(), Workload(), result())
    assert history.baseline is None
    assert history.delta(history.group(record.number)) is None


def test_delta_against_the_baseline() -> None:
    history = RunHistory()
    base = history.add(
        PoolConfig(), Workload(), result(throughput=100, p95=10, acquire_p95=2, peak_open=4)
    )
    faster = history.add(
        PoolConfig(maxconnections=8),
        Workload(),
        result(throughput=150, p95=5, acquire_p95=1, peak_open=8),
    )
    history.mark_baseline(base.number)
    assert history.baseline == 1 and history.baseline_group().first is base
    delta = history.delta(history.group(faster.number))
    assert delta is not None and set(delta) == set(DELTA_KEYS)
    assert delta["throughput"].relative == pytest.approx(0.5)
    assert delta["throughput"].better is True
    assert delta["p50"].relative == pytest.approx(-0.5)
    assert delta["p95"].relative == pytest.approx(-0.5) and delta["p95"].better is True
    assert delta["p99"].relative == pytest.approx(-0.5)
    assert delta["acquire_p95"].relative == pytest.approx(-0.5)
    # peak open 4 is within a count's noise of zero: its change is a difference
    assert delta["peak_open"].relative is None and delta["peak_open"].describe() == "+4"
    assert delta["errors"].difference == 0 and delta["errors"].better is None
    assert delta["throughput"].describe() == "+50.0%"
    assert delta["throughput"].describe(compact=True) == "+50%"
    own = history.delta(history.group(1))
    assert own is not None and all(d.difference == 0 for d in own.values())


def test_a_base_within_noise_of_zero_gives_a_difference_not_a_ratio() -> None:
    history = RunHistory()
    history.add(PoolConfig(), Workload(), result(acquire_p95=0.00076, errors=0))
    waits = history.add(PoolConfig(), Workload(), result(acquire_p95=0.4, errors=7))
    history.mark_baseline(1)
    delta = history.delta(history.group(waits.number))
    assert delta is not None
    acquire, errors = delta["acquire_p95"], delta["errors"]
    assert acquire.relative is None and acquire.describe() == "+0.4 ms"
    assert acquire.describe(compact=True) == "+0.4ms" and acquire.better is False
    assert errors.relative is None and errors.describe() == "+7" and errors.better is False
    # the other way round the base is far from zero: a ratio again
    history.mark_baseline(2)
    back = history.delta(history.group(1))
    assert back is not None and back["acquire_p95"].relative == pytest.approx(-0.998, abs=1e-3)
    assert back["errors"].relative == pytest.approx(-1.0)


def test_format_difference() -> None:
    assert format_difference(0.4, "ms") == "+0.4 ms"
    assert format_difference(0.0432, "ms") == "+0.043 ms"
    assert format_difference(-3.25, "ms") == "-3.2 ms"
    assert format_difference(123.4, "ms", compact=True) == "+123ms"
    assert format_difference(3, "") == "+3"
    assert format_difference(-1250, "req/s") == "-1,250 req/s"
    assert format_difference(0, "ms") == "±0 ms"


def test_baseline_can_move_and_be_cleared_but_not_point_nowhere() -> None:
    history = RunHistory()
    history.add(PoolConfig(), Workload(), result())
    history.add(PoolConfig(), Workload(), result(throughput=50))
    history.mark_baseline(2)
    delta = history.delta(history.group(1))
    assert delta is not None and delta["throughput"].relative == pytest.approx(1.0)
    with pytest.raises(BadInput, match="run 3 does not exist"):
        history.mark_baseline(3)
    assert history.baseline == 2
    history.mark_baseline(None)
    assert history.baseline is None and history.baseline_group() is None


def test_records_are_a_snapshot_not_the_live_list() -> None:
    history = RunHistory()
    history.add(PoolConfig(), Workload(), result())
    records = history.records
    history.add(PoolConfig(), Workload(), result())
    assert len(records) == 1 and len(history) == 2


# --- repeats --------------------------------------------------------------------------------


def test_repeats_form_a_group_read_as_median_and_band_with_tails_at_their_worst() -> None:
    history = RunHistory()
    first = history.add(PoolConfig(), Workload(), result(throughput=400, p95=2.0))
    assert history.repeatable(PoolConfig(), Workload(), TARGET) == first.number
    for throughput, p95, errors in ((412, 2.2, 3), (430, 1.8, 0)):
        history.add(
            PoolConfig(),
            Workload(),
            result(throughput=throughput, p95=p95, errors=errors),
            repeats=first.number,
        )
    (group,) = history.groups
    assert group.n == 3 and group.numbers() == "#1-#3"
    throughput = group.figure("throughput")
    assert throughput.value == 412 and throughput.describe() == "412 ±4%"
    assert group.figure("p95").value == pytest.approx(2.0)
    errors = group.figure("errors")
    assert errors.value == 3 and errors.describe() == "≤3"  # the worst run, not the median 0
    assert (throughput.band(), errors.band()) == ("±4%", "max")
    line = group.describe()
    assert line.startswith("runs #1-#3: 412 req/s ±3.6 %") and "errors 3" in line


def test_only_a_whole_run_of_the_same_setup_is_repeated() -> None:
    history = RunHistory()
    history.add(PoolConfig(), Workload(), result(stopped=True))
    assert history.repeatable(PoolConfig(), Workload(), TARGET) is None  # cut short
    history.add(PoolConfig(), Workload(), result())
    assert history.repeatable(PoolConfig(maxconnections=9), Workload(), TARGET) is None
    assert history.repeatable(PoolConfig(), Workload(threads=2), TARGET) is None
    assert history.repeatable(PoolConfig(), Workload(), "sqlite:///other.db") is None
    assert history.repeatable(PoolConfig(), Workload(), TARGET) == 2
    with pytest.raises(BadInput, match="ran another configuration"):
        history.add(PoolConfig(maxconnections=9), Workload(), result(), repeats=2)
    # interleaved runs keep their groups: a row per group, in the order of their first runs
    history.add(PoolConfig(maxconnections=9), Workload(), result())
    history.add(PoolConfig(), Workload(), result(), repeats=2)
    assert [(g.number, g.n) for g in history.groups] == [(1, 1), (2, 2), (3, 1)]
    assert history.group(4).numbers() == "#2, #4"
    history.mark_baseline(4)  # a repeat's number marks its whole group
    assert history.baseline == 2


def test_a_delta_inside_the_repeats_band_is_noise() -> None:
    history = RunHistory()
    for throughput in (380, 400, 420):
        history.add(
            PoolConfig(),
            Workload(),
            result(throughput=throughput),
            repeats=1 if len(history) else None,
        )
    history.add(PoolConfig(maxconnections=9), Workload(), result(throughput=415))
    history.add(PoolConfig(maxconnections=12), Workload(), result(throughput=520))
    history.mark_baseline(1)
    inside = history.delta(history.group(4))
    outside = history.delta(history.group(5))
    assert inside is not None and outside is not None
    assert inside["throughput"].relative == pytest.approx(0.0375)  # above one run's 2 %...
    assert inside["throughput"].noise and inside["throughput"].better is None  # ...in the band
    assert not outside["throughput"].noise and outside["throughput"].better is True


def test_near_zero_with_repeats_is_within_the_band() -> None:
    near = Figure((0.0, 0.3, 0.6), unit="ms")
    assert near.near_zero and near.describe() == "0.30 ±0.30"
    far = Figure((10.0, 10.5, 11.0), unit="ms")
    assert not far.near_zero
    assert Delta(far, near).relative is None and Delta(near, far).relative is not None


def test_the_baselines_setup_says_its_difference_is_noise() -> None:
    history = RunHistory()
    history.add(PoolConfig(), Workload(), result(throughput=400))
    history.add(PoolConfig(maxconnections=9), Workload(), result())
    again = history.add(PoolConfig(), Workload(), result(throughput=420))
    history.mark_baseline(1)
    assert history.same_as_baseline(history.group(2)) is None
    assert history.same_as_baseline(history.group(1)) is None  # the baseline itself
    one_each = history.same_as_baseline(history.group(again.number))
    assert one_each is not None
    assert one_each.startswith("same configuration as the baseline: the difference is noise")
    assert "±2.4 % between one run of each" in one_each and "no noise estimate" in one_each
    assert history.changes(history.group(3)) == "same as baseline: ±2% (1 run each)"
    history.add(PoolConfig(), Workload(), result(throughput=380), repeats=again.number)
    repeated = history.same_as_baseline(history.group(again.number))
    assert repeated == (
        "same configuration as the baseline: the difference is noise (±5.0 % over 3 runs)"
    )
    assert history.changes(history.group(3)) == "same as baseline: noise ±5%"


def test_an_unlimited_zero_is_said_as_the_sliders_say_it() -> None:
    """maxconnections 0 is no limit (the slider shows ∞): "maxconnections 0→4" read as a pool
    that had no connection; a 0 that means none (mincached, hold_ms) stays 0."""
    before = RunHistory().add(PoolConfig(), Workload(), result())
    label = describe_changes(
        before,
        PoolConfig(maxconnections=4, maxcached=4, mincached=2),
        replace(Workload(), hold_ms=5.0),
        TARGET,
    )
    assert label == "mincached 0→2, maxcached ∞→4, maxconnections ∞→4, hold_ms 0→5"
