"""The private-server fixtures do what they say: restart, stop/start and freeze/thaw a server
of the session's own (the shared ones are never touched)."""

from __future__ import annotations

import threading

import psycopg
import pymysql
import pytest
from db_helpers import scalar

from pooltui.core.errors import CannotConnect
from pooltui.core.targets import parse_dsn

ANSWER_S = 10.0  # a thawed or restarted server answers well within this


def test_private_pg_restart_is_a_new_server_and_freeze_hangs_it(private_pg):
    target = parse_dsn(private_pg.dsn)
    old = target.connect()
    started, pid = scalar(old, "SELECT pg_postmaster_start_time()"), private_pg.pid

    private_pg.restart()

    con = target.connect()
    assert scalar(con, "SELECT pg_postmaster_start_time()") > started
    assert private_pg.pid != pid
    with pytest.raises(psycopg.OperationalError):
        scalar(old, "SELECT 1")
    old.close()

    private_pg.freeze()
    try:
        done = threading.Event()
        answer: list[int] = []
        worker = threading.Thread(
            target=lambda: (answer.append(scalar(con, "SELECT 7")), done.set()), daemon=True
        )
        worker.start()
        assert not done.wait(0.3), "a frozen server answered"
    finally:
        private_pg.thaw()
    assert done.wait(ANSWER_S) and answer == [7]
    con.close()

    private_pg.stop()
    with pytest.raises(CannotConnect, match="Nothing accepted"):
        target.connect(timeout_s=2)
    private_pg.start()
    target.connect().close()


def test_private_mariadb_restart_is_a_new_server_and_freeze_hangs_it(private_mariadb):
    target = parse_dsn(private_mariadb.dsn)
    old = target.connect()
    pid = private_mariadb.pid

    private_mariadb.restart()

    assert private_mariadb.pid != pid
    with pytest.raises(pymysql.err.OperationalError):
        scalar(old, "SELECT 1")
    con = target.connect()
    assert scalar(con, "SELECT 1") == 1

    private_mariadb.freeze()
    try:
        done = threading.Event()
        worker = threading.Thread(target=lambda: (scalar(con, "SELECT 1"), done.set()), daemon=True)
        worker.start()
        assert not done.wait(0.3), "a frozen server answered"
    finally:
        private_mariadb.thaw()
    assert done.wait(ANSWER_S)
    con.close()
