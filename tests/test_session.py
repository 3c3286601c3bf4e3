"""The console's session without the console: the one pool, its rebuilds, the history, closing.

core.session has no textual in it (tests/test_import_hygiene.py imports every core module
without it); this drives it the way the tune screen's workers do, against real servers, and
checks with the server's own count that nothing stays open.
"""

from __future__ import annotations

import threading

import pytest

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.errors import RunFailed
from pooltui.core.load.results import RunResult
from pooltui.core.probes import count_connections_by
from pooltui.core.session import PoolSession
from pooltui.core.targets import parse_dsn

SMALL = PoolConfig(mincached=2, maxcached=2, maxconnections=2)


def test_one_pool_per_configuration_and_the_old_one_is_closed(pg_dsn: str) -> None:
    target = parse_dsn(pg_dsn)
    session = PoolSession(target, leak_threshold_s=None)
    assert session.needs_build(SMALL)
    first, built = session.ensure(SMALL)
    assert built and session.pool is first and not session.needs_build(SMALL)
    assert session.ensure(SMALL) == (first, False)  # the same sliders: the same pool
    assert count_connections_by(target, first.tag, set()) == 2  # mincached, opened at build
    bigger = PoolConfig(mincached=1, maxcached=3, maxconnections=3)
    assert session.needs_build(bigger)
    second, built = session.ensure(bigger)
    assert built and second is not first and session.built_config == bigger
    assert count_connections_by(target, first.tag, set()) == 0  # replaced means closed
    session.close()
    assert session.pool is None
    assert count_connections_by(target, second.tag, set()) == 0
    with pytest.raises(RunFailed):
        session.ensure(SMALL)  # a closed session builds nothing more


def test_runs_land_in_the_history_and_stop_runs_stops_the_burst(sqlite_dsn: str) -> None:
    session = PoolSession(parse_dsn(sqlite_dsn), leak_threshold_s=None)
    pool, _ = session.ensure(PoolConfig(maxconnections=2, maxcached=2))
    stop = session.start_run()
    results: list[RunResult] = []
    first_sample = threading.Event()
    workload = Workload(threads=2, duration_s=60.0, hold_ms=1.0)
    worker = threading.Thread(
        target=lambda: results.append(
            pool.run(
                workload, stop=stop, on_sample=lambda _: first_sample.set(), sample_interval_s=0.05
            )
        )
    )
    worker.start()
    assert first_sample.wait(30)
    session.stop_runs()  # what quitting the console does
    worker.join(30)
    (result,) = results
    assert result.stopped and result.duration_s < 60.0
    record = session.history.add(pool.config, workload, result)
    assert session.history.records == (record,) and record.group == record.number
    assert session.history.changes(session.history.group(record.number)) == "first run"
    session.close()
    assert session.pool is None


def test_retarget_hands_back_the_old_pool(sqlite_dsn: str) -> None:
    session = PoolSession(parse_dsn(sqlite_dsn), leak_threshold_s=None)
    pool, _ = session.ensure(PoolConfig())
    other = parse_dsn(sqlite_dsn)
    assert session.retarget(other) is pool
    assert session.target is other and session.pool is None and session.needs_build(PoolConfig())
    pool.close()
    session.close()
