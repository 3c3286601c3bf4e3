"""Issue 11 §2: the round trips DBUtils makes while it holds its pool lock (a connect at checkout,
the ping at checkout, the rollback on return), timed per run against the real servers, and the
finding that names the one that dominates the acquire waits."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.diagnosis.rules import lock_time_finding
from pooltui.core.load import engine
from pooltui.core.pool import InstrumentedPool
from pooltui.core.report import format_run

WARM = 4  # connections: mincached = maxcached = maxconnections, as many as threads
SLEEPS = {  # a ping query that takes at least PING_S on the server
    "pg_dsn": "SELECT pg_sleep(0.005)",
    "mysql_dsn": "SELECT SLEEP(0.005)",
}
PING_S = 0.005


@pytest.fixture(params=["pg_dsn", "mysql_dsn"])
def server(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param, request.getfixturevalue(request.param)


def warm(**changes: Any) -> PoolConfig:
    return PoolConfig(mincached=WARM, maxcached=WARM, maxconnections=WARM, **changes)


def short_run(pool: InstrumentedPool, **changes: Any) -> engine.RunResult:
    return engine.run(pool, Workload(**({"threads": WARM, "duration_s": 0.5} | changes)))


def test_every_return_is_a_reset_and_every_checkout_a_ping_under_the_lock(server, pools):
    _, dsn = server
    pool = pools(dsn, warm())
    result = short_run(pool)
    lock = result.pool.under_lock

    assert result.errors == 0 and result.pool.connects == 0  # warm: nothing opened in the run
    assert lock.resets == result.pool.checkouts  # reset=True: a rollback on every return
    assert lock.reset_ms > 0
    if pool.target.facts.can_ping:  # PyMySQL: ping(False) at every checkout from the cache
        assert lock.pings == result.pool.checkouts and lock.ping_ms > 0
    else:  # psycopg has no ping(): DBUtils checks nothing, so there is nothing to time
        assert lock.pings == 0 and lock.ping_ms == 0
    # one lock: the time it was held cannot add up to more than the run's wall time
    assert lock.total_ms <= result.duration_s * 1000.0
    data = json.loads(json.dumps(result.as_dict()))["pool"]["under_lock"]
    assert data["reset"] == {"total_ms": round(lock.reset_ms, 3), "count": lock.resets}
    assert data["total_ms"] == round(lock.total_ms, 3)
    assert f"reset {lock.reset_ms:.1f} ms ({lock.resets})" in format_run(result)


def test_no_reset_and_no_ping_leave_nothing_under_the_lock(server, pools):
    _, dsn = server
    result = short_run(pools(dsn, warm(reset=False, ping=0)))
    assert result.pool.checkouts > 0
    assert result.pool.under_lock.total_ms == 0 and result.pool.under_lock.resets == 0
    assert lock_time_finding(result) is None


def test_a_ping_before_execute_is_outside_the_lock(mysql_dsn: str, pools) -> None:
    """ping=4 pings before every execute, on a checked-out connection: the lock is free then."""
    result = short_run(pools(mysql_dsn, warm(ping=4, reset=False)))
    assert result.pool.checkouts > 0
    assert result.pool.under_lock.pings == 0 and result.pool.under_lock.ping_ms == 0


def test_connects_at_checkout_are_under_the_lock(server, pools):
    """maxcached=1: every return beyond the one cached closes, so checkouts keep connecting."""
    _, dsn = server
    pool = pools(dsn, PoolConfig(maxcached=1, maxconnections=WARM))
    result = short_run(pool)
    lock = result.pool.under_lock
    assert result.pool.connects > 1
    assert lock.connects == result.pool.connects  # each one opened inside connection()
    # each is at least the connect itself (the creator also applies the session guards)
    connect = result.pool.connect
    assert lock.connect_ms >= connect.mean * connect.count * 0.999


def test_a_slow_ping_query_dominates_and_the_finding_says_ping(server, pools):
    name, dsn = server
    pool = pools(dsn, warm(ping_query=SLEEPS[name]))
    result = short_run(pool, threads=2 * WARM)
    lock = result.pool.under_lock

    assert result.errors == 0
    assert lock.pings == result.pool.checkouts  # the ping query at every checkout
    assert lock.ping_ms >= PING_S * 1000.0 * lock.pings  # each waited on the server's sleep
    assert lock.largest() == "ping"
    finding = lock_time_finding(result)
    assert finding is not None and finding.level == "warning"
    assert "Most of it was ping" in finding.message and "ping less often" in finding.message
    assert f"finding: {finding.message}" in format_run(result)


def test_a_fleets_lock_finding_reads_its_busiest_process_not_their_mean(pg_dsn, pools):
    """Each process of a fleet has its own pool lock: the finding reads the busiest one's
    shares, where a mean over the processes (a quiet process's long waits for a connection
    diluting the busy one's) or a sum (W pools' lock time over one run) hides it."""
    from pooltui.core.compare.runner import one_after_another
    from pooltui.core.fleet import merge_fleet
    from pooltui.core.fleet.runner import ProcessOutcome
    from pooltui.core.history_store import decode, encode
    from pooltui.core.numbers import share
    from pooltui.core.probes import LeftOpen

    busy = short_run(pools(pg_dsn, warm(ping_query=SLEEPS["pg_dsn"])), threads=2 * WARM)
    # one connection for four threads holding it 20 ms: long waits, none of them for the lock
    quiet = short_run(pools(pg_dsn, PoolConfig(maxconnections=1, maxcached=1)), hold_ms=20)
    assert quiet.pool.under_lock.ping_ms == 0 and quiet.acquire.mean > 1.0

    def outcome(index: int, result: engine.RunResult) -> ProcessOutcome:
        return ProcessOutcome(index, f"p{index}", None, result, None, False, 0, LeftOpen(0, True))

    fleet = merge_fleet([outcome(1, quiet), outcome(2, busy)])
    assert fleet is not None and fleet.processes == 2
    assert [lock.process for lock in fleet.locks] == [1, 2]
    own = busy.locks[0]
    held_ms = own.under_lock.total_ms
    own_of_wait = held_ms / own.waited_ms
    pooled_of_wait = fleet.pool.under_lock.total_ms / sum(lock.waited_ms for lock in fleet.locks)
    assert share(own_of_wait) != share(pooled_of_wait)  # the mean would read otherwise
    finding = lock_time_finding(fleet)
    assert finding is not None
    assert "In process 2, the busiest of the fleet's 2 pools" in finding.message
    assert f"{share(own.of_run)} of the run and {share(own_of_wait)} of the" in finding.message
    assert (
        finding.message
        == lock_time_finding(merge_fleet([outcome(2, busy), outcome(1, quiet)])).message
    )  # the order the processes are merged in does not matter
    # kept in the history and read back; two fleet runs one after another stay a fleet of 2
    again = decode(engine.RunResult, encode(fleet))
    assert again.processes == 2 and again.locks == fleet.locks
    both = one_after_another([fleet, fleet])
    assert both.processes == 2 and [lock.process for lock in both.locks] == [1, 2]
    assert both.locks[1].under_lock.pings == 2 * own.under_lock.pings
    # a single pool reads as itself
    assert busy.processes == 1 and lock_time_finding(busy).message.startswith("DBUtils held")
