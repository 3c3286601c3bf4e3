"""core/load/collector: no full garbage collection over what was alive when a run began, until
the last run ends (a real SQLite run, and the console's burst)."""

from __future__ import annotations

import gc

import pytest

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.errors import BadInput
from pooltui.core.load import collector, engine
from pooltui.core.load.results import Sample
from pooltui.core.pool import InstrumentedPool
from pooltui.core.targets import parse_dsn


def test_holds_count_and_the_last_release_gives_everything_back() -> None:
    assert not collector.held() and gc.get_freeze_count() == 0
    collector.hold()
    frozen = gc.get_freeze_count()
    assert frozen > 0  # what was alive is out of the collector's full passes
    collector.hold()  # an overlapping run
    collector.release()
    assert collector.held() and gc.get_freeze_count() >= frozen  # one run still measures
    collector.release()
    assert not collector.held() and gc.get_freeze_count() == 0
    collector.release()  # a stray release is harmless
    assert not collector.held()


def test_a_run_holds_the_collector_while_it_measures_and_not_after(sqlite_dsn: str) -> None:
    seen: list[tuple[bool, int]] = []

    def on_sample(_sample: Sample) -> None:
        seen.append((collector.held(), gc.get_freeze_count()))

    pool = InstrumentedPool(parse_dsn(sqlite_dsn), PoolConfig(maxconnections=2))
    try:
        result = engine.run(
            pool, Workload(threads=2, duration_s=0.3), on_sample=on_sample, sample_interval_s=0.1
        )
        assert result.requests > 0 and seen
        assert all(held and frozen > 0 for held, frozen in seen)
        assert not collector.held() and gc.get_freeze_count() == 0
        with pytest.raises(BadInput):  # a run that refuses its workload releases too
            engine.run(pool, Workload(threads=0))
        assert not collector.held() and gc.get_freeze_count() == 0
    finally:
        pool.close()
