"""Issue 11 §3: figures that misled, each against a real database. Peak open never exceeds what
was open at one time while the server kills connections; a rejected request backs off instead of
spinning, and nobody "waits" with blocking off; the last sample rates only the time the workers
ran; the client's own CPU is measured, and a saturated client says it set the ceiling."""

from __future__ import annotations

import json
import time

import pytest
from db_helpers import poisson_ceiling

from pooltui.core import probes
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.load import engine
from pooltui.core.load.client_cpu import (
    SATURATED_CORES,
    ClientCpu,
    client_saturated,
    machine_cores,
)
from pooltui.core.load.notes import RunNote
from pooltui.core.report import format_run

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


# --- blocking=False: a rejection is a failed request, not a hot loop -------------------------


@pytest.mark.parametrize("think_ms", [0.0, 30.0])
def test_rejected_requests_do_not_spin_and_nobody_waits(pg_dsn: str, pools, think_ms) -> None:
    threads = 8
    pool = pools(pg_dsn, PoolConfig(maxcached=2, maxconnections=2, blocking=False))
    samples: list[engine.Sample] = []

    result = engine.run(
        pool,
        Workload(threads=threads, duration_s=1.0, hold_ms=5, think_ms=think_ms),
        on_sample=samples.append,
        sample_interval_s=0.1,
    )

    rejected = result.error_kinds.get(engine.REJECTED, 0)
    assert rejected > 0 and rejected == result.pool.rejections
    # after a rejection a worker waits its think time, or the back-off when it has none: at
    # most one rejection per wait per worker (plus the one each may start the run with)
    wait_s = think_ms / 1000.0 or engine.REJECTED_BACKOFF_S
    bound = threads * (result.duration_s / wait_s + 1)
    assert rejected <= bound, f"{rejected} rejections in {result.duration_s:.2f} s: it spins"
    assert result.requests > result.errors  # the others were served
    # with blocking off nobody can wait for a connection: contending for the pool lock is not
    assert all(s.stats.waiting == 0 for s in samples)
    assert result.pool.peak_waiting == 0 and result.pool.waiting == 0


# --- the last sample ----------------------------------------------------------------------------


def test_the_last_sample_rates_only_the_time_the_workers_ran(sqlite_dsn: str, pools) -> None:
    """A rate-limited open loop at R never shows a rate far above R: the final sample's interval
    ends when the workers did, says it is final and how long it was, and the run lasts its
    whole duration even when the schedule's last arrival came early."""
    rate = 20.0
    pool = pools(sqlite_dsn, PoolConfig(maxconnections=4))
    workload = Workload(threads=4, duration_s=1.0, pattern="poisson", rate=rate, hold_ms=20)
    # mid-run intervals are never shorter than half the sample interval (the engine's ticks)
    shortest = SAMPLE_S / 2
    ceiling = poisson_ceiling(rate * shortest) / shortest
    for seed in range(3):
        samples: list[engine.Sample] = []
        result = engine.run(
            pool, workload, on_sample=samples.append, sample_interval_s=SAMPLE_S, seed=seed
        )
        assert result.duration_s >= workload.duration_s
        final, before = samples[-1], samples[-2]
        assert final.final and not any(s.final for s in samples[:-1])
        assert final.elapsed_s == pytest.approx(max(result.duration_s, before.elapsed_s))
        assert final.interval_s == pytest.approx(final.elapsed_s - before.elapsed_s)
        ok = final.interval_requests - final.interval_errors
        assert final.throughput_rps == (pytest.approx(ok / final.interval_s) if ok else 0.0)
        for sample in samples:
            if sample.interval_s >= shortest:
                assert sample.throughput_rps <= ceiling, (seed, sample)
            else:
                assert sample.final  # only the last one may be a sliver


# --- the client's CPU ------------------------------------------------------------------------


def test_client_cpu_of_a_cpu_heavy_run_is_measured(sqlite_dsn: str, pools) -> None:
    """SQLite, many threads, tiny queries: the client is the load generator and the database."""
    pool = pools(sqlite_dsn, PoolConfig(maxconnections=8))
    samples: list[engine.Sample] = []
    before = time.process_time()
    result = engine.run(
        pool, Workload(threads=8, duration_s=1.0), on_sample=samples.append, sample_interval_s=0.25
    )
    around = time.process_time() - before

    client = result.client
    assert 0 < client.cpu_s <= around
    assert client.cpu_s >= 0.8 * around  # the run is where the process spent its CPU
    assert client.wall_s >= result.duration_s
    assert client.cores == pytest.approx(client.cpu_s / client.wall_s)
    assert client.machine_cores == machine_cores()
    assert any(s.client_cores > 0 for s in samples)
    assert all(
        s.client_saturated == client_saturated(s.client_cores, client.machine_cores)
        for s in samples
    )
    # the warning is there exactly when the measured figure crosses the threshold
    noted = result.noted(RunNote.CLIENT_SATURATED)
    assert client.saturated == (client.cores >= SATURATED_CORES)
    assert noted == ([client.sentence(embedded=True)] if client.saturated else [])
    summary = format_run(result)
    assert f"client CPU: {client.cores:.2f} cores" in summary
    assert ("the client, not the pool, set this ceiling" in summary) == client.saturated
    data = json.loads(json.dumps(result.as_dict()))["client_cpu"]
    assert data["cores"] == round(client.cores, 3) and data["saturated"] == client.saturated


def test_saturation_is_decided_on_the_measured_figure(sqlite_dsn: str, pools) -> None:
    """The decision at and around the threshold, fed the figure a real run measured."""
    pool = pools(sqlite_dsn, PoolConfig(maxconnections=4))
    measured = engine.run(pool, Workload(threads=4, duration_s=0.5)).client
    cores = machine_cores()
    assert client_saturated(measured.cores, cores) == (measured.cores >= SATURATED_CORES)
    # the same figure scaled to either side of the threshold
    below = SATURATED_CORES * 0.99
    above = SATURATED_CORES * 1.01
    for figure, saturated in ((below, False), (above, True)):
        scaled = ClientCpu(measured.wall_s * figure, measured.wall_s, cores)
        assert scaled.cores == pytest.approx(figure)
        assert scaled.saturated is saturated
    # a single core is all a one-core machine has; a quota of half a core saturates sooner
    assert client_saturated(0.95, 1) and not client_saturated(0.85, 1)
    assert client_saturated(0.46, 0.5) and not client_saturated(0.44, 0.5)
    text = ClientCpu(1.9, 2.0, 2).sentence()
    assert text.startswith("the client, not the pool, set this ceiling")
    assert "0.95 cores" in text and "of the machine's 2" in text
