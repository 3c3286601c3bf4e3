"""The fault proxy on real PostgreSQL and MariaDB connections: each control does what it says."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

import pytest
from db_helpers import scalar

from pooltui.core import probes
from pooltui.core.errors import BadInput, CannotConnect, RunFailed
from pooltui.core.faults.proxy import FaultProxy, loopback_address
from pooltui.core.targets import Target, parse_dsn

WAIT_S = 5.0  # the longest any awaited change may take
QUIET_S = 0.3  # how long something that must not happen is given to happen anyway
ROWS = 30_000  # rows of the order-sensitive query (many chunks each way)


def until(
    condition: Callable[[], bool],
    timeout_s: float = WAIT_S,
    between: Callable[[], Any] | None = None,
) -> bool:
    """True as soon as ``condition()`` holds, False after ``timeout_s``; ``between`` runs
    between looks (to keep a connection busy, say)."""
    deadline, pause = time.monotonic() + timeout_s, threading.Event()
    while not condition():
        if time.monotonic() >= deadline:
            return False
        if between is not None:
            between()
        pause.wait(0.02)
    return True


@pytest.fixture(params=["pg_dsn", "mysql_dsn"])
def direct(request: pytest.FixtureRequest) -> Target:
    return parse_dsn(request.getfixturevalue(request.param))


@pytest.fixture
def proxy(direct: Target) -> Iterator[FaultProxy]:
    with FaultProxy(direct.host, direct.port) as running:
        yield running


@pytest.fixture
def through(direct: Target, proxy: FaultProxy) -> Target:
    """The same target, reached through the proxy."""
    return direct.via(*proxy.address)


@pytest.fixture
def con(through: Target) -> Iterator[Any]:
    """A raw connection through the proxy, closed at the end (it may be broken by then)."""
    raw = through.connect()
    yield raw
    with suppress(Exception):
        raw.close()


def broken(target: Target) -> tuple[type[BaseException], ...]:
    module = target.module()
    return (module.OperationalError, module.InterfaceError)


def sessions(direct: Target, *ids: int) -> int:
    return probes.count_connections_by(direct, None, set(ids))


def round_trip_s(con: Any) -> float:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        scalar(con, "SELECT 1")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_via_points_the_target_at_the_proxy(direct, proxy, through, con):
    host, port = proxy.address
    assert (through.host, through.port) == (host, port)
    assert f"{host}:{port}" in through.redacted and str(direct.port) not in through.redacted
    assert through.user == direct.user and through.database == direct.database
    assert scalar(con, "SELECT 1") == 1
    assert proxy.counters().accepted == 1 and proxy.counters().open == 1


def test_latency_is_added_to_every_chunk_each_way(proxy, con):
    base = round_trip_s(con)
    proxy.set_latency(30.0)
    slow = round_trip_s(con)
    proxy.set_latency(0.0)
    again = round_trip_s(con)
    assert 0.054 <= slow - base < 0.5, (base, slow)  # a round trip: 2 x 30 ms, less 10 %
    assert again < base + 0.03, (base, again)


def test_jitter_keeps_the_bytes_in_order(through, proxy, con):
    proxy.set_latency(2.0, jitter_ms=2.0)
    cursor = con.cursor()
    if through.kind == "mysql":  # MariaDB stops a recursion at 1000 rows by default
        cursor.execute(f"SET SESSION max_recursive_iterations = {ROWS}")
    cursor.execute(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
        f"WHERE i < {ROWS}) SELECT i FROM s"
    )
    rows = [row[0] for row in cursor.fetchall()]
    cursor.close()
    assert rows == list(range(1, ROWS + 1))
    assert proxy.counters().bytes_down > 4 * 65536  # many chunks came down, each delayed


def test_freeze_holds_a_query_until_thaw(proxy, con):
    answer: list[int] = []
    done = threading.Event()
    proxy.freeze()
    assert proxy.frozen
    worker = threading.Thread(
        target=lambda: (answer.append(scalar(con, "SELECT 5")), done.set()), daemon=True
    )
    worker.start()
    assert not done.wait(QUIET_S), "a query went through a frozen proxy"
    assert proxy.counters().open == 1, "freeze must keep the connection open"
    proxy.thaw()
    assert done.wait(WAIT_S) and answer == [5]


def test_reset_breaks_an_open_connection_and_ends_its_session(direct, through, proxy, con):
    sid = direct.backend_id(con)
    assert sessions(direct, sid) == 1

    assert proxy.reset_all() == 1

    with pytest.raises(broken(through)):
        scalar(con, "SELECT 1")
    assert until(lambda: sessions(direct, sid) == 0), "the server kept the reset session"
    counters = proxy.counters()
    assert counters.reset == 1 and counters.open == 0


def test_refusing_fails_new_connections_until_it_ends(through, proxy, con):
    proxy.refuse_new(0.5)
    assert proxy.refusing
    with pytest.raises(CannotConnect):
        through.connect(timeout_s=2)
    assert proxy.counters().refused == 1
    assert scalar(con, "SELECT 1") == 1, "refusing new ones must leave open ones alone"
    assert until(lambda: not proxy.refusing), "refuse_new(0.5) did not end by itself"
    through.connect().close()


def test_down_resets_the_open_connections_and_refuses_new_ones(through, proxy, con):
    assert proxy.down() == 1
    with pytest.raises(broken(through)):
        scalar(con, "SELECT 1")
    with pytest.raises(CannotConnect):
        through.connect(timeout_s=2)
    proxy.accept_new()
    through.connect().close()
    counters = proxy.counters()
    assert (counters.reset, counters.refused) == (1, 1)


def test_idle_kill_closes_only_the_idle_connection(through, proxy, con):
    idle = con
    busy = through.connect()
    try:
        proxy.idle_kill(0.3)
        assert until(
            lambda: proxy.counters().idle_killed == 1, between=lambda: scalar(busy, "SELECT 1")
        ), "nothing was idle-killed"
        with pytest.raises(broken(through)):
            scalar(idle, "SELECT 1")
        assert scalar(busy, "SELECT 1") == 1
        proxy.idle_kill(None)
        assert proxy.counters().idle_killed == 1
    finally:
        busy.close()


def test_close_ends_every_connection_and_the_thread(direct, proxy, con):
    sid = direct.backend_id(con)
    port = proxy.address[1]

    proxy.close()

    assert not [t for t in threading.enumerate() if t.name == "pooltui-fault-proxy"]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert until(lambda: sessions(direct, sid) == 0), "the server kept a session after close"
    with pytest.raises(RunFailed, match="not running"):
        proxy.freeze()


@pytest.mark.parametrize("host", ["10.1.2.3", "192.168.0.1", "example.com", "0.0.0.0", ""])
def test_only_loopback_addresses_are_accepted(host):
    with pytest.raises(BadInput, match=r"loopback|TCP") as caught:
        FaultProxy(host, 5432)
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)
    with pytest.raises(BadInput):
        FaultProxy("127.0.0.1", 5432, listen_host=host)


def test_loopback_names_are_resolved_to_a_loopback_address():
    assert loopback_address("127.0.0.1") == "127.0.0.1"
    assert loopback_address("::1") == "::1"
    assert loopback_address("localhost") in ("127.0.0.1", "::1")
