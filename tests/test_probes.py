"""Server probes against the real servers: limits, and the server's own count of our sessions."""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field

import pytest

from pooltui.core.errors import CannotConnect
from pooltui.core.probes import (
    ServerInfo,
    count_connections_by,
    count_pool_connections,
    probe_server,
    terminate_pool_connections,
    terminate_sessions,
)
from pooltui.core.targets import Target, parse_dsn

N = 3  # connections per test: the servers are shared, stay far below every limit
ALL = ["pg_dsn", "mysql_dsn", "odbc_pg_dsn", "odbc_mysql_dsn"]


def _tag() -> str:
    return f"pooltui-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _native(target: Target) -> Target:
    """The same server through its native driver, to check what the probe reads independently."""
    return parse_dsn(
        "postgresql://postgres@127.0.0.1:5432/test"
        if target.backend == "postgresql"
        else "mysql://root@127.0.0.1:3306/test"
    )


def _query(target: Target, sql: str) -> list[tuple]:
    con = _native(target).connect()
    try:
        cursor = con.cursor()
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        con.close()


def _wait_for_count(target: Target, tag: str | None, ids: set[int], expected: int) -> int:
    """Poll the server's count until it shows ``expected`` or 10 s pass; return the last count."""
    deadline = time.monotonic() + 10
    count = count_connections_by(target, tag, ids)
    while count != expected and time.monotonic() < deadline:
        count = count_connections_by(target, tag, ids)
    return count


class _Open:
    """N raw tagged connections, always closed."""

    def __init__(self, target: Target, n: int = N) -> None:
        self.target, self.tag, self.cons = target, _tag(), []
        try:
            for _ in range(n):
                self.cons.append(target.connect(self.tag))
        except BaseException:
            self.close()
            raise
        self.ids = {target.backend_id(con) for con in self.cons}

    def close(self) -> None:
        for con in self.cons:
            with suppress(Exception):  # a killed connection may complain while closing
                con.close()

    def __enter__(self) -> _Open:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- probe_server --------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["pg_dsn", "odbc_pg_dsn"])
def test_probe_postgresql(fixture, request) -> None:
    target = parse_dsn(request.getfixturevalue(fixture))
    info = probe_server(target)
    ((max_connections,),) = _query(target, "SHOW max_connections")
    ((reserved,),) = _query(target, "SHOW superuser_reserved_connections")
    ((version,),) = _query(target, "SHOW server_version")
    ((idle,),) = _query(
        target, "SELECT setting FROM pg_settings WHERE name = 'idle_session_timeout'"
    )
    assert info.product == "PostgreSQL" and info.version == version
    # PostgreSQL's version does not name it; over ODBC nothing else on screen would
    assert info.described == f"PostgreSQL {version}"
    assert info.max_connections == int(max_connections)
    assert info.reserved_connections >= int(reserved)  # + reserved_connections on PG >= 16
    assert info.usable_connections == info.max_connections - info.reserved_connections
    assert info.wait_timeout_s is None
    assert info.idle_session_timeout_s == (int(idle) / 1000 if int(idle) else None)
    assert 0 <= info.connections_in_use < info.max_connections


@pytest.mark.parametrize("fixture", ["mysql_dsn", "odbc_mysql_dsn"])
def test_probe_mariadb(fixture, request) -> None:
    target = parse_dsn(request.getfixturevalue(fixture))
    info = probe_server(target)
    variables = dict(
        _query(
            target,
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN "
            "('max_connections', 'wait_timeout', 'version')",
        )
    )
    assert info.product == "MariaDB" and info.version == variables["version"]
    # MariaDB's version names itself: said once
    assert info.described == variables["version"]
    assert info.described.lower().count("mariadb") == 1
    assert info.max_connections == int(variables["max_connections"])
    assert info.wait_timeout_s == float(variables["wait_timeout"])
    assert info.reserved_connections == 1
    assert info.usable_connections == info.max_connections  # the admin slot is on top
    assert info.idle_session_timeout_s is None
    assert 0 <= info.connections_in_use < info.max_connections


@pytest.mark.parametrize("fixture", ALL)
def test_connections_in_use_sees_open_sessions(fixture, request) -> None:
    target = parse_dsn(request.getfixturevalue(fixture))
    with _Open(target):
        # other engineers' tests may add sessions, never remove ours: a lower bound is exact
        assert probe_server(target).connections_in_use >= N


def test_probe_sqlite(sqlite_dsn: str) -> None:
    info = probe_server(parse_dsn(sqlite_dsn))
    assert info == ServerInfo(sqlite3.sqlite_version, None, None, None, None, None, "SQLite")
    assert info.usable_connections is None
    assert info.described == f"SQLite {sqlite3.sqlite_version}"


def test_probe_unreachable_is_cannot_connect(pg_dsn: str) -> None:
    with pytest.raises(CannotConnect):
        probe_server(parse_dsn("postgresql://postgres@127.0.0.1:1/test"))


# --- counting and terminating our own sessions ---------------------------------------------------


@pytest.mark.parametrize("fixture", ALL)
def test_count_and_terminate(fixture, request) -> None:
    target = parse_dsn(request.getfixturevalue(fixture))
    with _Open(target) as opened:
        assert len(opened.ids) == N and None not in opened.ids
        assert count_connections_by(target, opened.tag, opened.ids) == N
        assert count_connections_by(target, None, opened.ids) == N
        some = set(list(opened.ids)[:2])
        assert count_connections_by(target, None, some) == 2
        assert terminate_sessions(target, some) == 2
        assert _wait_for_count(target, None, opened.ids, N - 2) == N - 2
        assert terminate_sessions(target, opened.ids) == N - 2  # the two are already gone
        assert _wait_for_count(target, opened.tag, opened.ids, 0) == 0


@pytest.mark.parametrize("fixture", ["pg_dsn", "odbc_pg_dsn"])
def test_postgresql_counts_by_tag_alone(fixture, request) -> None:
    """application_name carries the tag (psqlODBC via pqopt), so ids are not even needed."""
    target = parse_dsn(request.getfixturevalue(fixture))
    with _Open(target) as opened:
        assert count_connections_by(target, opened.tag, set()) == N
        assert count_connections_by(target, _tag(), set()) == 0
        assert terminate_sessions(target, set(), tag=opened.tag) == N
        assert _wait_for_count(target, opened.tag, set(), 0) == 0


@pytest.mark.parametrize("fixture", ["mysql_dsn", "odbc_mysql_dsn"])
def test_mysql_counts_by_id_only(fixture, request) -> None:
    """program_name is only visible with performance_schema (off here): ids are the key."""
    target = parse_dsn(request.getfixturevalue(fixture))
    with _Open(target) as opened:
        assert count_connections_by(target, opened.tag, set()) == 0
        assert count_connections_by(target, opened.tag, opened.ids) == N


@pytest.mark.parametrize("fixture", ALL)
def test_nothing_to_count_is_zero(fixture, request) -> None:
    target = parse_dsn(request.getfixturevalue(fixture))
    assert count_connections_by(target, None, set()) == 0
    assert terminate_sessions(target, set()) == 0


def test_sqlite_has_no_server_sessions(sqlite_dsn: str) -> None:
    target = parse_dsn(sqlite_dsn)
    assert count_connections_by(target, "tag", {1, 2}) == 0
    assert terminate_sessions(target, {1, 2}) == 0


# --- the wrappers the pool uses ------------------------------------------------------------------


@dataclass
class _FakePool:
    """Anything with .tag and .server_ids() will do: here the ids of raw connections."""

    tag: str
    ids: set[int] = field(default_factory=set)

    def server_ids(self) -> set[int]:
        return set(self.ids)


@pytest.mark.parametrize("fixture", ["pg_dsn", "mysql_dsn"])
def test_pool_wrappers(fixture, request) -> None:
    target = parse_dsn(request.getfixturevalue(fixture))
    with _Open(target) as opened:
        pool = _FakePool(opened.tag, opened.ids)
        assert count_pool_connections(target, pool) == N
        assert terminate_pool_connections(target, pool) == N
        deadline = time.monotonic() + 10
        while count_pool_connections(target, pool) and time.monotonic() < deadline:
            pass
        assert count_pool_connections(target, pool) == 0
