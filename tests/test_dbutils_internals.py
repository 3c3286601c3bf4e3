"""The one module that reads DBUtils' internals checks they are there, and says so in a sentence."""

from __future__ import annotations

import sqlite3
import threading
import types

import dbutils
import pytest
from dbutils import steady_db
from dbutils.pooled_db import PooledDB

from pooltui.core.errors import RunFailed
from pooltui.core.pool import _dbutils


def test_the_installed_dbutils_has_every_internal_pooltui_reads() -> None:
    _dbutils.check_installed()
    _dbutils.require_installed()


def test_a_pool_missing_an_internal_is_one_sentence() -> None:
    with pytest.raises(RunFailed) as refused:
        _dbutils.bind(types.SimpleNamespace(_idle_cache=[], _maxcached=0, _maxconnections=0))
    message = str(refused.value)
    assert "PooledDB field _connections" in message and "DBUtils" in message
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence


def test_a_dbutils_of_another_version_is_refused() -> None:
    with pytest.raises(RunFailed, match=r"needs DBUtils 3\.x, whose version .* 4\.0\.0"):
        _dbutils.check_installed(module=types.SimpleNamespace(__version__="4.0.0"))


def test_dbutils_code_without_the_hooks_it_sniffs_is_refused() -> None:
    class NoIsfatal(PooledDB):
        def __init__(self, creator: object) -> None:  # an older DBUtils' signature
            pass

    with pytest.raises(RunFailed, match="isfatal hook"):
        _dbutils.check_installed(pooled_class=NoIsfatal)

    class Cursor(steady_db.SteadyDBCursor):
        def _get_tough_method(self, name: str) -> object:
            def renamed(*args: object) -> None:
                return None

            return renamed

    steady = types.SimpleNamespace(
        SteadyDBConnection=steady_db.SteadyDBConnection, SteadyDBCursor=Cursor
    )
    with pytest.raises(RunFailed, match="tough_method"):
        _dbutils.check_installed(module=dbutils, steady=steady)


def test_a_steady_connection_without_its_creator_connection_is_refused() -> None:
    """The replacement's peak accounting reads the connection being replaced (``_con``)."""

    class Renamed(steady_db.SteadyDBConnection):
        def _store(self, con: object) -> None:  # keeps it under another name
            self._raw = con

    steady = types.SimpleNamespace(
        SteadyDBConnection=Renamed, SteadyDBCursor=steady_db.SteadyDBCursor
    )
    with pytest.raises(RunFailed, match=r"SteadyDBConnection\._con"):
        _dbutils.check_installed(module=dbutils, steady=steady)


def test_a_pool_lock_that_cannot_tell_its_owner_is_one_sentence() -> None:
    """The lock time counts only round trips made while the pool lock is held."""

    class Lock(threading.Condition):
        def __init__(self) -> None:
            super().__init__()
            self._is_owned = None  # as on a Python whose Condition lacks it

    pool = types.SimpleNamespace(
        _connections=0, _idle_cache=[], _maxcached=0, _maxconnections=0, _lock=Lock()
    )
    with pytest.raises(RunFailed, match=r"Condition\._is_owned") as refused:
        _dbutils.bind(pool)
    message = str(refused.value)
    assert message.count(". ") == 0 and message.endswith(".")
    real = _dbutils.bind(PooledDB(sqlite3.connect, database=":memory:", check_same_thread=False))
    assert real.lock_held() is False
    with real.lock:
        assert real.lock_held() is True
