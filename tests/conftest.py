"""Shared fixtures: the real servers of this machine, skipped (or failed under CI) when absent."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from pooltui.core.host.hosted import preload_also

# each console pool's process is a fork of the pool host's forkserver, and re-runs the main
# script (pytest's here) as __mp_main__: with pytest imported there once, a pool starts at once
preload_also("pytest")

PG_DSN = os.environ.get("POOLTUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_DSN = os.environ.get("POOLTUI_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test")
ODBC_PG_DSN = (
    "odbc:Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;Database=test;Uid=postgres;"
)
ODBC_MYSQL_DSN = "odbc:Driver={MariaDB Unicode};Server=127.0.0.1;Port=3306;Database=test;User=root;"

REQUIRE_DB = os.environ.get("POOLTUI_REQUIRE_DB") == "1"


def _absent(reason: str) -> None:
    """Skip with the reason, or fail when CI says the servers must be there."""
    if REQUIRE_DB:
        pytest.fail(f"{reason} (POOLTUI_REQUIRE_DB=1, so this fails instead of skipping)")
    pytest.skip(reason)


def _check_pg() -> str | None:
    try:
        import psycopg

        conninfo = "host=127.0.0.1 port=5432 dbname=test user=postgres"
        with psycopg.connect(conninfo, connect_timeout=3):
            return None
    except Exception as exc:  # any failure means "not usable here"
        return f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}"


def _check_mysql() -> str | None:
    try:
        import pymysql

        pymysql.connect(
            host="127.0.0.1", port=3306, user="root", database="test", connect_timeout=3
        ).close()
        return None
    except Exception as exc:
        return f"MariaDB at 127.0.0.1:3306 is not reachable: {exc}"


def _check_odbc(driver: str) -> str | None:
    try:
        import pyodbc
    except ImportError as exc:
        return f"pyodbc cannot be imported ({exc}); install unixodbc"
    pyodbc.pooling = False  # as pooltui does: it must be set before ODBC is first touched
    if driver not in pyodbc.drivers():
        return (
            f"the ODBC driver {driver!r} is not installed "
            "(apt-get install odbc-postgresql odbc-mariadb)"
        )
    return None


_cache: dict[str, str | None] = {}


def _once(key: str, check) -> str | None:
    if key not in _cache:
        _cache[key] = check()
    return _cache[key]


@pytest.fixture
def pg_dsn() -> str:
    reason = _once("pg", _check_pg)
    if reason:
        _absent(reason)
    return PG_DSN


@pytest.fixture
def mysql_dsn() -> str:
    reason = _once("mysql", _check_mysql)
    if reason:
        _absent(reason)
    return MYSQL_DSN


@pytest.fixture
def odbc_pg_dsn(pg_dsn: str) -> str:
    reason = _once("odbc-pg", lambda: _check_odbc("PostgreSQL Unicode"))
    if reason:
        _absent(reason)
    return ODBC_PG_DSN


@pytest.fixture
def odbc_mysql_dsn(mysql_dsn: str) -> str:
    reason = _once("odbc-mysql", lambda: _check_odbc("MariaDB Unicode"))
    if reason:
        _absent(reason)
    return ODBC_MYSQL_DSN


@pytest.fixture
def odbc_sqlite_dsn(sqlite_dsn: str) -> str:
    """sqlite_dsn's file through the SQLite ODBC driver (libsqliteodbc): a file, no server."""
    reason = _once("odbc-sqlite", lambda: _check_odbc("SQLite3"))
    if reason:
        _absent(reason)
    return f"odbc:Driver={{SQLite3}};Database={sqlite_dsn.removeprefix('sqlite:///')};"


@pytest.fixture
def sqlite_dsn(tmp_path: Path) -> str:
    """A file database with a small table, made fresh for each test."""
    import sqlite3

    path = tmp_path / "pool.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
        con.executemany("INSERT INTO items (name) VALUES (?)", [(f"item {i}",) for i in range(20)])
    return f"sqlite:///{path}"


@pytest.fixture
def pools() -> Iterator[Callable[..., Any]]:
    """Build InstrumentedPools by DSN through this: every one is closed at the end, even when
    the test fails (a test module with pools of another kind defines its own)."""
    from pooltui.core.pool import InstrumentedPool
    from pooltui.core.targets import parse_dsn

    with ExitStack() as stack:

        def build(dsn: str, config: Any, **kwargs: Any) -> InstrumentedPool:
            return stack.enter_context(InstrumentedPool(parse_dsn(dsn), config, **kwargs))

        yield build


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep the user's own data and config dirs out of every test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))


# private servers for the tests that restart, stop or freeze one (tests/private_servers.py)
from private_servers import private_mariadb, private_pg  # noqa: E402, F401

# --- tiers: markers from what a test uses, so `pytest -m "not db and not tui"` is the pure tier

# The fixtures that reach a server (SQLite is a file, so sqlite_dsn is not one of them).
DB_FIXTURES = frozenset(
    {"pg_dsn", "mysql_dsn", "odbc_pg_dsn", "odbc_mysql_dsn", "private_pg", "private_mariadb"}
)
SERVER_MARKERS = ("postgres", "mariadb", "odbc")  # older hand-set markers that mean the same
TUI_DIR = Path(__file__).parent / "tui"


def _reaches_a_server(item: pytest.Item) -> bool:
    """Through a fixture it depends on, or one it asks for by name through a parameter
    (``@pytest.fixture(params=["pg_dsn", ...])`` then ``request.getfixturevalue``)."""
    if DB_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    if callspec is not None and any(
        isinstance(value, str) and value in DB_FIXTURES for value in callspec.params.values()
    ):
        return True
    return any(item.get_closest_marker(name) for name in SERVER_MARKERS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test ``db``, ``tui`` and ``snapshot`` from its fixtures and its place."""
    for item in items:
        if _reaches_a_server(item):
            item.add_marker(pytest.mark.db)
        if item.path.is_relative_to(TUI_DIR):
            item.add_marker(pytest.mark.tui)
        if "snap_compare" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.snapshot)
