"""Issue 11 §3: figures that misled, each against a real database. Peak open never exceeds what
was open at one time while the server kills connections or maxusage recycles them."""

from __future__ import annotations

import pytest

from pooltui.core import probes
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.load import engine

SAMPLE_S = 0.2


# --- peak open while the server kills connections ---------------------------------------------


@pytest.mark.parametrize("backend", ["pg_dsn", "mysql_dsn"])
def test_peak_open_stays_within_maxconnections_while_the_server_kills_connections(
    backend: str, request: pytest.FixtureRequest, pools
) -> None:
    """DBUtils opens a replacement before it closes the dead connection; counted as
    connects - closes, the pool looked one over its limit (peak open 13 of 12). PostgreSQL ends
    the pool's sessions by its tag (pg_terminate_backend), MariaDB by KILL; psycopg finds out in
    execute (DBUtils' failover), PyMySQL in the ping at checkout, under the pool lock."""
    limit = 4
    pool = pools(
        request.getfixturevalue(backend),
        PoolConfig(mincached=limit, maxcached=limit, maxconnections=limit),
    )
    killed: list[int] = []
    samples: list[engine.Sample] = []

    def on_sample(sample: engine.Sample) -> None:
        samples.append(sample)
        if len(killed) < 4:  # from a second connection, while every thread is busy
            killed.append(probes.terminate_pool_connections(pool.target, pool))

    result = engine.run(
        pool,
        Workload(threads=2 * limit, duration_s=1.5, hold_ms=2),
        on_sample=on_sample,
        sample_interval_s=SAMPLE_S,
    )

    assert sum(killed) > limit and result.pool.reconnects >= limit, (killed, result.pool)
    assert result.pool.peak_open <= limit, result.pool
    assert max(s.stats.open for s in samples) <= limit
    assert result.pool.peak_checked_out <= limit
    # the figure still agrees with the server once the replacements have settled
    stats = pool.snapshot()
    assert stats.open == stats.connects - stats.closes + limit  # + the mincached ones
    assert probes.count_pool_connections(pool.target, pool) == stats.open


@pytest.mark.parametrize("backend", ["sqlite_dsn", "pg_dsn"])
def test_peak_open_stays_within_maxconnections_while_maxusage_recycles(
    backend: str, request: pytest.FixtureRequest, pools
) -> None:
    """maxusage recycling opens the new connection before the old one closes, as a kill does."""
    limit = 2
    pool = pools(
        request.getfixturevalue(backend),
        PoolConfig(mincached=limit, maxcached=limit, maxconnections=limit, maxusage=3),
    )
    result = engine.run(pool, Workload(threads=2 * limit, duration_s=0.5))
    assert result.errors == 0 and result.pool.reconnects > limit  # recycled many times
    assert result.pool.peak_open <= limit, result.pool
    assert result.pool.open == limit
