"""Run history: labels say what changed, the baseline's deltas are relative and honest."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.errors import BadInput
from pooltui.core.history import DELTA_KEYS, RunHistory, describe_changes
from pooltui.core.load.engine import RunResult
from pooltui.core.pool.histogram import Summary
from pooltui.core.pool.stats import PoolStats


def result(
    throughput: float = 100.0,
    p95: float = 10.0,
    acquire_p95: float = 1.0,
    errors: int = 0,
    peak_open: int = 4,
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
        target="sqlite:///x.db",
        driver="sqlite3",
        workload=Workload(),
    )


def test_first_run_and_changes_are_described() -> None:
    history = RunHistory()
    first = history.add(PoolConfig(maxconnections=8), Workload(), result())
    assert (first.number, first.label) == (1, "first run")
    second = history.add(PoolConfig(maxconnections=12), Workload(hold_ms=5.0), result())
    assert second.number == 2
    assert second.label == "maxconnections 8→12, hold_ms 0→5"
    third = history.add(PoolConfig(maxconnections=12), Workload(hold_ms=5.0), result())
    assert third.label == "no change"
    assert [r.number for r in history.records] == [1, 2, 3]
    assert history.get(2) is second and history.get(4) is None and history.get(0) is None


def test_describe_changes_shows_every_kind_of_value() -> None:
    before = RunHistory().add(PoolConfig(), Workload(), result())
    label = describe_changes(
        before,
        PoolConfig(blocking=False, setsession=("SET a=1", "SET b=2")),
        replace(Workload(), query="SELECT count(*) FROM a_long_table_name", pattern="poisson"),
    )
    assert "blocking true→false" in label
    assert "setsession []→[SET a=1; SET b=2]" in label
    assert "pattern 'steady'→'poisson'" in label
    # long strings are cut so one history cell stays readable
    assert "query 'SELECT 1'→'SELECT count(*) FROM a_…'" in label
    assert describe_changes(None, PoolConfig(), Workload()) == "first run"


def test_no_baseline_means_no_delta() -> None:
    history = RunHistory()
    record = history.add(PoolConfig(), Workload(), result())
    assert history.baseline is None
    assert history.delta(record) == dict.fromkeys(DELTA_KEYS)


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
    assert history.baseline == 1 and history.baseline_record() is base
    delta = history.delta(faster)
    assert delta["throughput"] == pytest.approx(0.5)
    assert delta["p50"] == pytest.approx(-0.5)
    assert delta["p95"] == pytest.approx(-0.5)
    assert delta["p99"] == pytest.approx(-0.5)
    assert delta["acquire_p95"] == pytest.approx(-0.5)
    assert delta["peak_open"] == pytest.approx(1.0)
    assert delta["errors"] == 0.0  # 0 errors against 0: no change
    assert history.delta(base) == dict.fromkeys(DELTA_KEYS, 0.0)


def test_a_figure_of_zero_in_the_baseline_has_no_ratio() -> None:
    history = RunHistory()
    history.add(PoolConfig(), Workload(), result(errors=0))
    broken = history.add(PoolConfig(), Workload(), result(errors=7))
    history.mark_baseline(1)
    assert history.delta(broken)["errors"] is None
    history.mark_baseline(2)
    assert history.delta(history.get(1))["errors"] == pytest.approx(-1.0)


def test_baseline_can_move_and_be_cleared_but_not_point_nowhere() -> None:
    history = RunHistory()
    history.add(PoolConfig(), Workload(), result())
    history.add(PoolConfig(), Workload(), result(throughput=50))
    history.mark_baseline(2)
    assert history.delta(history.get(1))["throughput"] == pytest.approx(1.0)
    with pytest.raises(BadInput, match="run 3 does not exist"):
        history.mark_baseline(3)
    assert history.baseline == 2
    history.mark_baseline(None)
    assert history.baseline is None and history.baseline_record() is None


def test_records_are_a_snapshot_not_the_live_list() -> None:
    history = RunHistory()
    history.add(PoolConfig(), Workload(), result())
    records = history.records
    history.add(PoolConfig(), Workload(), result())
    assert len(records) == 1 and len(history) == 2
