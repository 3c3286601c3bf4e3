"""Run results keep their histograms, so two runs' (or processes') results merge exactly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

import pytest

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.load import engine
from pooltui.core.load.results import (
    STARVED_SHARE,
    TIMEOUT_LADDER_S,
    jain_index,
    merge_results,
)
from pooltui.core.pool import InstrumentedPool
from pooltui.core.pool.histogram import HistogramSnapshot, LatencyHistogram
from pooltui.core.pool.leases import Borrower
from pooltui.core.targets import parse_dsn

QUANTILES = (0.0, 50.0, 90.0, 95.0, 99.0, 100.0)


class _Recording:
    """A borrower that also keeps every statement time the engine reports (the test's copy)."""

    __slots__ = ("_inner", "acquire", "record_query", "release")

    def __init__(self, inner: Borrower, samples: list[float]) -> None:
        self._inner, self.acquire, self.release = inner, inner.acquire, inner.release
        add = inner.record_query

        def record_query(seconds: float) -> None:
            samples.append(seconds)
            add(seconds)

        self.record_query = record_query

    @property
    def acquired_at(self) -> float:
        return self._inner.acquired_at

    @property
    def inside(self) -> float:
        return self._inner.inside

    def acquire_snapshot(self) -> HistogramSnapshot:
        return self._inner.acquire_snapshot()


class RecordingPool(InstrumentedPool):
    """An InstrumentedPool whose query timings are also kept sample by sample."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.query_samples: list[float] = []

    def borrower(self, one_at_a_time: bool = False) -> _Recording:  # type: ignore[override]
        return _Recording(super().borrower(one_at_a_time), self.query_samples)


@pytest.fixture
def pools() -> Iterator[Callable[..., RecordingPool]]:
    with ExitStack() as stack:

        def build(dsn: str, config: PoolConfig) -> RecordingPool:
            return stack.enter_context(RecordingPool(parse_dsn(dsn), config))

        yield build


@pytest.mark.parametrize("dsn_fixture", ["sqlite_dsn", "pg_dsn"])
def test_merging_two_runs_gives_the_percentiles_of_one_histogram_fed_both(
    dsn_fixture: str, request: pytest.FixtureRequest, pools
) -> None:
    dsn = request.getfixturevalue(dsn_fixture)
    config = PoolConfig(maxconnections=2, maxcached=2)
    first_pool, second_pool = pools(dsn, config), pools(dsn, config)
    first = engine.run(first_pool, Workload(threads=2, requests=1500, duration_s=30))
    second = engine.run(second_pool, Workload(threads=2, requests=700, duration_s=30, hold_ms=0.2))
    assert first.errors == second.errors == 0
    assert first.query.count == len(first_pool.query_samples) == 1500

    merged = merge_results(first, second)
    assert merged == first + second  # the same merge (histograms are not compared)
    fed = LatencyHistogram()
    for seconds in first_pool.query_samples + second_pool.query_samples:
        fed.record(seconds)
    one = fed.snapshot()
    assert merged.histograms.query.count == one.count == 2200
    for q in QUANTILES:
        assert merged.histograms.query.percentile(q) == one.percentile(q)
    want = one.summary()
    assert (
        merged.query.count,
        merged.query.p50,
        merged.query.p95,
        merged.query.p99,
        merged.query.max,
    ) == (want.count, want.p50, want.p95, want.p99, want.max)
    assert merged.query.mean == pytest.approx(want.mean, rel=1e-9)
    assert merged.pool.query == merged.query

    # the other figures follow the documented rules
    assert merged.requests == 2200 and merged.errors == 0
    assert merged.latency.count == merged.acquire.count == merged.hold.count == 2200
    assert merged.pool.checkouts == first.pool.checkouts + second.pool.checkouts
    assert merged.duration_s == max(first.duration_s, second.duration_s)
    assert merged.throughput_rps == pytest.approx(first.throughput_rps + second.throughput_rps)
    assert merged.pool.maxconnections == 4 and merged.config == first.config
    for name in ("latency", "acquire", "hold"):  # each a merge of both runs' own histograms
        both = getattr(first.histograms, name) + getattr(second.histograms, name)
        assert getattr(merged, name).p95 == both.summary().p95
    # the time under the pool lock and the client's CPU of processes running at once add
    lock = merged.pool.under_lock
    assert lock.resets == first.pool.under_lock.resets + second.pool.under_lock.resets > 0
    assert lock.total_ms == pytest.approx(
        first.pool.under_lock.total_ms + second.pool.under_lock.total_ms
    )
    assert merged.client.cpu_s == pytest.approx(first.client.cpu_s + second.client.cpu_s)
    assert merged.client.wall_s == max(first.client.wall_s, second.client.wall_s)


def test_a_run_result_summaries_are_read_off_its_snapshots(sqlite_dsn: str, pools) -> None:
    result = engine.run(
        pools(sqlite_dsn, PoolConfig(maxconnections=2)),
        Workload(threads=2, requests=400, duration_s=30, pattern="poisson", rate=2000.0),
        seed=1,
    )
    histograms = result.histograms
    assert result.latency == histograms.latency.summary()
    assert result.schedule_lag == histograms.schedule_lag.summary()
    assert (result.acquire, result.query, result.hold) == (
        histograms.acquire.summary(),
        histograms.query.summary(),
        histograms.hold.summary(),
    )
    assert result.pool.connect == histograms.connect.summary()
    assert histograms.latency.count == result.requests - result.errors


def test_merging_keeps_the_tail_exact(sqlite_dsn: str, pg_dsn: str, pools) -> None:
    """The per-thread tables concatenate and fairness is recomputed over every thread (not
    averaged), unfinished waits add, the oldest-waiter peak is the older one, and p99.9 and
    the timeout what-if are read off the merged acquire histogram."""
    config = PoolConfig(maxconnections=2, maxcached=2)
    first = engine.run(pools(sqlite_dsn, config), Workload(threads=6, duration_s=1.0))
    second = engine.run(pools(pg_dsn, config), Workload(threads=3, duration_s=0.5))
    # a run that ended with callers still waiting, as engine.run reports one (the waits are
    # in its acquire histogram already: test_engine holds a connection to make one for real)
    second = replace(second, unfinished_waits=2, unfinished_wait_max_ms=812.5)

    merged = first + second
    assert merged.per_thread == first.per_thread + second.per_thread
    oks = [t.ok for t in merged.per_thread]
    assert merged.fairness == jain_index(oks)
    assert merged.fairness == pytest.approx(sum(oks) ** 2 / (9 * sum(x * x for x in oks)))
    mean = sum(oks) / 9
    assert merged.starved == [t for t in merged.per_thread if t.ok < STARVED_SHARE * mean]
    assert (merged.unfinished_waits, merged.unfinished_wait_max_ms) == (2, 812.5)
    assert merged.pool.peak_oldest_wait_ms == max(
        first.pool.peak_oldest_wait_ms, second.pool.peak_oldest_wait_ms
    )
    both = first.histograms.acquire + second.histograms.acquire
    assert merged.acquire.p999 == both.summary().p999
    assert merged.acquire.max == max(first.acquire.max, second.acquire.max)
    assert merged.timeout_what_if() == [
        (t, both.fraction_above(t)) for t in TIMEOUT_LADDER_S if t < both.max
    ]
    data = merged.as_dict()
    assert len(data["per_thread"]) == data["fairness"]["threads"] == 9
    assert data["unfinished_waits"] == {"count": 2, "max_ms": 812.5}
