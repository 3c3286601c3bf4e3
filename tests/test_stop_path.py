"""Issue 9 §1, §3, §4, §7: every end of a run cancels what still runs on the server and closes;
statements are bounded by a server-side timeout; sessions are read-only unless asked; only a lost
connection lets DBUtils reconnect; results are fetched in bounded batches."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress

import pytest

from pooltui.core import probes
from pooltui.core.config import PoolConfig, SessionGuards, Workload
from pooltui.core.errors import BadInput, RunFailed
from pooltui.core.load import engine
from pooltui.core.load.notes import RunNote
from pooltui.core.pool import InstrumentedPool
from pooltui.core.targets import parse_dsn

DEADLINE_S = 20.0


@pytest.fixture
def pools():
    """Pools of this test (from a DSN or a Target), each closed at the end whatever happens."""
    with ExitStack() as stack:

        def build(target, config: PoolConfig, **kwargs) -> InstrumentedPool:
            target = parse_dsn(target) if isinstance(target, str) else target
            return stack.enter_context(InstrumentedPool(target, config, **kwargs))

        yield build


SLEEPS = {  # a statement that would run for 1000 s on each backend
    "pg_dsn": "SELECT pg_sleep(1000)",
    "mysql_dsn": "SELECT SLEEP(1000)",
    "odbc_pg_dsn": "SELECT pg_sleep(1000)",
    "odbc_mysql_dsn": "SELECT SLEEP(1000)",
    "sqlite_dsn": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT count(*) FROM c",
}
BACKEND_FIXTURES = ["pg_dsn", "mysql_dsn", "odbc_pg_dsn", "odbc_mysql_dsn", "sqlite_dsn"]


def pooltui(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m pooltui ARGS`` to its end (bounded), its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "pooltui", *args], capture_output=True, text=True, timeout=DEADLINE_S
    )


def running_statements(target, marker: str) -> int:
    """Statements containing ``marker`` the server runs now (not the probe's own)."""
    if target.backend == "postgresql":
        sql = (
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
            "AND state = 'active' AND query LIKE %s"
        )
        params: tuple = (f"%{marker}%",)
        if target.kind == "odbc":
            sql, params = sql.replace("%s", "?"), params
    else:
        sql = (
            "SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() "
            "AND INFO LIKE %s"
        )
        params = (f"%{marker}%",)
        if target.kind == "odbc":
            sql = sql.replace("%s", "?")
    con = target.connect()
    try:
        cursor = con.cursor()
        cursor.execute(sql, params)
        count = int(cursor.fetchone()[0])
        cursor.close()
        return count
    finally:
        with suppress(Exception):
            con.rollback()
        con.close()


def wait_for(check: Callable[[], bool], what: str, deadline_s: float = DEADLINE_S) -> None:
    """Poll a real condition until it holds (the server acts asynchronously)."""
    end = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)


def marker() -> str:
    return f"pooltui_test_{os.getpid()}_{time.monotonic_ns()}"


def marked(query: str, mark: str) -> str:
    """The same statement with a marker the server shows in its activity view (SQLite, which
    has none, keeps its recursive statement as it is)."""
    if not query.startswith("SELECT "):
        return query
    return query.replace("SELECT ", f"SELECT '{mark}' AS m, ", 1)


# --- §1: the end of a run cancels what still runs ----------------------------------------------


@pytest.mark.parametrize("fixture", BACKEND_FIXTURES)
def test_a_run_reaching_its_duration_cancels_statements_still_running(fixture, request, pools):
    dsn = request.getfixturevalue(fixture)
    target = parse_dsn(dsn)
    mark = marker()
    pool = pools(target, PoolConfig(maxconnections=2))
    result = engine.run(
        pool, Workload(threads=2, duration_s=0.5, query=marked(SLEEPS[fixture], mark))
    )
    assert result.requests == 0 and result.cancelled == 2
    assert result.pool.checked_out == 0
    (cancelled,) = result.noted(RunNote.CANCELLED)
    assert "cancel 2 statements" in cancelled
    # SQLite (natively or over ODBC) is a file in this process: no server was asked
    assert ("asked SQLite" in cancelled) == target.dialect.is_file
    assert ("the server" in cancelled) != target.dialect.is_file
    pool.close()
    assert pool.unclosed == 0
    if target.backend != "sqlite":
        wait_for(lambda: running_statements(target, mark) == 0, "the statements to end")
        assert probes.confirm_closed(target, pool).sessions == 0


def bench_process(dsn: str, query: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pooltui",
            "bench",
            "--dsn",
            dsn,
            "--query",
            query,
            "--threads",
            "2",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("fixture", ["pg_dsn", "mysql_dsn"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_cancels_closes_and_says_so_only_after_checking(fixture, signum, request):
    dsn = request.getfixturevalue(fixture)
    target = parse_dsn(dsn)
    mark = marker()
    process = bench_process(dsn, marked(SLEEPS[fixture], mark), "--duration", "120", "--json")
    try:
        wait_for(lambda: running_statements(target, mark) == 2, "both statements to run")
        process.send_signal(signum)
        out, err = process.communicate(timeout=DEADLINE_S)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signum, err
    assert "every connection was closed" in err and "Traceback" not in err
    payload = json.loads(out)
    assert payload["stopped"] and payload["cancelled"] == 2
    assert payload["closed"] == {"sessions_left": 0, "verified": True, "ended": 0}
    assert running_statements(target, mark) == 0


@pytest.mark.parametrize("fixture", ["pg_dsn", "mysql_dsn"])
def test_statements_end_on_the_server_even_when_pooltui_is_killed(fixture, request):
    """SIGKILL runs no stop path: the session guards (statement timeout, and PostgreSQL's check
    for a client that has gone) end the statements on the server by themselves."""
    dsn = request.getfixturevalue(fixture)
    target = parse_dsn(dsn)
    mark = marker()
    process = bench_process(
        dsn, marked(SLEEPS[fixture], mark), "--duration", "1", "--statement-timeout-ms", "1500"
    )
    try:
        wait_for(lambda: running_statements(target, mark) == 2, "both statements to run")
        process.kill()
        process.wait(DEADLINE_S)
    finally:
        if process.poll() is None:
            process.kill()
    wait_for(lambda: running_statements(target, mark) == 0, "the server to end them")


@pytest.mark.parametrize(
    "fixture", ["pg_dsn", "mysql_dsn", "odbc_pg_dsn", "odbc_mysql_dsn", "sqlite_dsn"]
)
def test_the_statement_timeout_is_enforced_and_named(fixture, request, pools):
    pool = pools(request.getfixturevalue(fixture), PoolConfig(maxconnections=2))
    result = engine.run(
        pool, Workload(threads=2, duration_s=1.5, statement_timeout_ms=200, query=SLEEPS[fixture])
    )
    assert result.errors >= 2 and result.fatal_error is None
    assert all(kind.startswith("query: ") for kind in result.error_kinds), result.error_kinds
    assert result.pool.reconnects == 0 and result.pool.reexecutions == 0
    assert result.guards.statement_timeout_s == pytest.approx(0.2)


def test_the_automatic_statement_timeout_follows_the_duration() -> None:
    assert Workload(duration_s=10).statement_timeout_s() == pytest.approx(15.0)
    assert Workload(duration_s=3600, requests=10).statement_timeout_s() == 300.0
    assert Workload(duration_s=10, statement_timeout_ms=250).statement_timeout_s() == 0.25
    assert SessionGuards.of(Workload(allow_writes=True)).read_only is False


def test_a_hold_longer_than_the_run_is_refused(sqlite_dsn, pools) -> None:
    pool = pools(sqlite_dsn, PoolConfig())
    with pytest.raises(BadInput, match="hold_ms is 60000 but a run lasts only 2 s"):
        engine.run(pool, Workload(threads=1, duration_s=2, hold_ms=60_000))


def test_a_hold_is_cut_by_the_end_of_the_run(sqlite_dsn, pools) -> None:
    pool = pools(sqlite_dsn, PoolConfig())
    result = engine.run(pool, Workload(threads=2, duration_s=0.3, hold_ms=250))
    assert result.duration_s < 0.3 + engine.END_GRACE_S + 0.25
    assert result.requests + result.cancelled >= 2


# --- §4: read-only unless asked -----------------------------------------------------------------


# a write that would persist unless refused: committed in the statement, or in autocommit
WRITES = {
    "pg_dsn": ("", "INSERT INTO {table} (a) VALUES (1); COMMIT"),
    "mysql_dsn": ("?autocommit=true", "INSERT INTO {table} (a) VALUES (1)"),
    "odbc_pg_dsn": ("", "INSERT INTO {table} (a) VALUES (1); COMMIT"),
    "odbc_mysql_dsn": ("", "INSERT INTO {table} (a) VALUES (1)"),
    "sqlite_dsn": ("", "INSERT INTO {table} (a) VALUES (1)"),
}


@pytest.fixture
def scratch_table(request):
    """A table of the test's own on the target, dropped afterwards."""
    created: list[tuple] = []

    def make(dsn: str, engine_clause: str = "") -> str:
        target = parse_dsn(dsn)
        name = f"pooltui_ro_{os.getpid()}_{len(created)}"
        con = target.connect()
        cursor = con.cursor()
        cursor.execute(f"CREATE TABLE {name} (a INTEGER){engine_clause}")
        con.commit()
        con.close()
        created.append((target, name))
        return name

    yield make
    for target, name in created:
        con = target.connect()
        cursor = con.cursor()
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        con.commit()
        con.close()


def rows_in(dsn: str, table: str) -> int:
    con = parse_dsn(dsn).connect()
    try:
        cursor = con.cursor()
        cursor.execute(f"SELECT count(*) FROM {table}")
        return int(cursor.fetchone()[0])
    finally:
        con.close()


@pytest.mark.parametrize("fixture", list(WRITES))
def test_writes_are_refused_by_the_server_unless_allowed(fixture, request, pools, scratch_table):
    dsn = request.getfixturevalue(fixture)
    table = scratch_table(dsn)
    suffix, statement = WRITES[fixture]
    write = statement.format(table=table)
    refused = engine.run(
        pools(dsn + suffix, PoolConfig(maxconnections=2)),
        Workload(threads=2, duration_s=2, query=write),
    )
    assert refused.fatal_error is not None and "read-only" in refused.fatal_error
    assert "--allow-writes" in refused.fatal_error
    assert rows_in(dsn, table) == 0
    allowed = engine.run(
        pools(dsn + suffix, PoolConfig(maxconnections=1)),
        Workload(threads=1, duration_s=2, requests=3, query=write, allow_writes=True),
    )
    assert allowed.fatal_error is None and allowed.errors == 0  # the server took the writes
    if suffix or "COMMIT" in statement:
        assert rows_in(dsn, table) == 3


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO {table} (a) VALUES (1)",
        "CREATE TABLE {table}_ddl (a INTEGER)",
    ],
)
def test_mysql_myisam_and_ddl_writes_are_refused_in_autocommit(
    mysql_dsn, statement, pools, scratch_table
):
    table = scratch_table(mysql_dsn, " ENGINE=MyISAM")
    dsn = mysql_dsn + "?autocommit=true"
    result = engine.run(
        pools(dsn, PoolConfig(maxconnections=1)),
        Workload(threads=1, duration_s=2, query=statement.format(table=table)),
    )
    assert result.fatal_error is not None and "read-only" in result.fatal_error
    assert rows_in(mysql_dsn, table) == 0
    con = parse_dsn(mysql_dsn).connect()
    cursor = con.cursor()
    cursor.execute("SHOW TABLES LIKE %s", (f"{table}_ddl",))
    assert cursor.fetchall() == ()
    con.close()


def test_the_cli_refuses_a_write_with_one_sentence(pg_dsn, scratch_table) -> None:
    table = scratch_table(pg_dsn)
    done = pooltui(
        "bench",
        "--dsn",
        pg_dsn,
        "--query",
        f"INSERT INTO {table} VALUES (1); COMMIT",
        "--duration",
        "1",
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "read-only" in done.stderr and rows_in(pg_dsn, table) == 0


# --- §3: a SQL error is an error, not a lost connection ---------------------------------------


FAILING = {
    "pg_dsn": "SELECT nosuch",
    "mysql_dsn": "SELECT IF(RAND() < 0.3, (SELECT 1 UNION SELECT 2), 1)",
    "odbc_mysql_dsn": "SELECT IF(RAND() < 0.3, (SELECT 1 UNION SELECT 2), 1)",
    "sqlite_dsn": "SELECT * FROM nosuch",
}


@pytest.mark.parametrize("fixture", list(FAILING))
def test_sql_errors_never_reconnect_or_rerun(fixture, request, pools):
    pool = pools(request.getfixturevalue(fixture), PoolConfig(maxconnections=2, mincached=2))
    result = engine.run(pool, Workload(threads=2, duration_s=0.5, query=FAILING[fixture]))
    assert result.errors > 0
    assert result.pool.reconnects == 0 and result.pool.reexecutions == 0
    assert result.pool.connects == 0  # the two pre-opened connections served every request
    assert all(kind.startswith("query: ") for kind in result.error_kinds)
    assert not result.noted(RunNote.RECONNECTED) and not result.noted(RunNote.REEXECUTED)
    if result.fatal_error:
        assert result.fatal_error.startswith("The query failed")


def test_a_lost_connection_is_rerun_and_counted(pg_dsn, pools) -> None:
    target = parse_dsn(pg_dsn)
    pool = pools(target, PoolConfig(mincached=1, maxcached=1, maxconnections=1))
    with pool.connection() as con:
        assert probes.terminate_sessions(target, pool.server_ids()) == 1
        cursor = con.cursor()
        wait_for(lambda: probes.count_pool_connections(target, pool) == 0, "the kill to land")
        cursor.execute("SELECT 1")  # DBUtils reconnects and runs it again
        assert cursor.fetchone() == (1,)
    stats = pool.snapshot()
    assert stats.reexecutions == 1 and stats.reconnects == 1


def test_a_rerun_statement_of_a_read_only_run_is_not_called_a_write(pg_dsn, pools) -> None:
    """Connections cut under a read-only burst (the fault proxy resets them, the server is not
    touched): DBUtils reruns the statements, and the note says what that means for an
    application's writes, not that this run's write ran twice (it had none)."""
    from pooltui.core.faults.proxy import FaultProxy

    direct = parse_dsn(pg_dsn)
    with FaultProxy(direct.host, direct.port or 5432) as proxy:
        host, port = proxy.address
        pool = pools(direct.via(host, port), PoolConfig(maxconnections=2, mincached=2))

        def cut(sample: engine.Sample) -> None:
            if sample.throughput_rps > 0:
                proxy.reset_all()

        result = engine.run(
            pool, Workload(threads=2, duration_s=1.5), on_sample=cut, sample_interval_s=0.2
        )
    assert result.pool.reexecutions > 0, result.events  # the cuts landed under a statement
    (note,) = result.noted(RunNote.REEXECUTED)
    assert "read-only" in note and "ran twice" not in note


def test_a_failing_ping_query_is_refused_before_the_pool_exists(pg_dsn) -> None:
    with pytest.raises(BadInput, match="The ping_query 'SELECT nosuch' fails"):
        InstrumentedPool(parse_dsn(pg_dsn), PoolConfig(ping_query="SELECT nosuch"))


@pytest.mark.parametrize("fixture", ["pg_dsn", "mysql_dsn", "sqlite_dsn"])
def test_a_failing_setsession_names_its_step(fixture, request) -> None:
    target = parse_dsn(request.getfixturevalue(fixture))
    with pytest.raises(BadInput, match="The setsession statement 'SELEC 1' failed"):
        InstrumentedPool(target, PoolConfig(mincached=2, setsession=("SELEC 1",)))


def test_a_setsession_with_a_timeout_word_is_not_called_a_timeout(mysql_dsn) -> None:
    target = parse_dsn(mysql_dsn)
    with pytest.raises(BadInput) as caught:
        InstrumentedPool(target, PoolConfig(setsession=("SET max_statement_time = 'x'",)))
    assert "statement timeout" not in str(caught.value)


def test_the_cli_setsession_failure_is_one_sentence(pg_dsn) -> None:
    done = pooltui(
        "bench",
        "--dsn",
        pg_dsn,
        "--set",
        "setsession=SELEC 1",
        "--set",
        "mincached=2",
        "--duration",
        "0.5",
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "The setsession statement 'SELEC 1' failed" in done.stderr


# --- §2 (server capacity) and §7 (bounded fetches, leaks) -----------------------------------------


def test_a_mincached_beyond_the_free_slots_names_mincached(pg_dsn) -> None:
    done = pooltui("bench", "--dsn", pg_dsn, "--set", "mincached=500", "--duration", "0.5")
    assert done.returncode == 2 and "set mincached to at most" in done.stderr


def test_more_connections_than_the_server_has_free_is_refused(pg_dsn) -> None:
    done = pooltui("bench", "--dsn", pg_dsn, "--set", "maxconnections=1000", "--duration", "0.5")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "can open 1000 connections" in done.stderr and "at most" in done.stderr


ROWS = engine.FETCH_BATCH * 2 + 500
MANY_ROWS = {
    "pg_dsn": f"SELECT x FROM generate_series(1, {ROWS}) AS x",
    "mysql_dsn": f"SELECT seq FROM seq_1_to_{ROWS}",  # MariaDB's sequence engine
    "sqlite_dsn": f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    f"WHERE x < {ROWS}) SELECT x FROM c",
}


@pytest.mark.parametrize("fixture", list(MANY_ROWS))
def test_results_are_fetched_in_batches_and_counted(fixture, request, pools) -> None:
    rows, query = ROWS, MANY_ROWS[fixture]
    pool = pools(request.getfixturevalue(fixture), PoolConfig(maxconnections=1))
    result = engine.run(pool, Workload(threads=1, duration_s=30, requests=3, query=query))
    assert result.errors == 0 and result.rows == 3 * rows


def test_a_huge_result_does_not_hold_the_run_past_its_end(sqlite_dsn, pools) -> None:
    query = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
        "SELECT x FROM c"
    )  # endless: only the end of the run stops the fetching
    pool = pools(sqlite_dsn, PoolConfig(maxconnections=1))
    result = engine.run(pool, Workload(threads=1, duration_s=0.5, query=query))
    assert result.cancelled == 1 and result.rows > engine.FETCH_BATCH


def test_bench_reports_leaks_with_thread_and_stack(sqlite_dsn) -> None:
    done = pooltui(
        "bench",
        "--dsn",
        sqlite_dsn,
        "--threads",
        "1",
        "--duration",
        "1",
        "--hold-ms",
        "600",
        "--leak-threshold",
        "0.2",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    leaks = json.loads(done.stdout)["leaks"]
    assert leaks and leaks[0]["returned"]
    assert leaks[0]["held_s"] >= 0.6  # the whole hold, not the age at detection
    assert leaks[0]["thread"].startswith("pooltui-worker-")
    assert "engine.py" in leaks[0]["stack"]
    assert leaks[0]["stack_at"] == "holding"  # a load loop's: where its worker held it


def test_closing_never_waits_behind_a_blocked_read(mysql_dsn, pools) -> None:
    """PyMySQL's close() waits for the lock of the reader another thread is blocked in: the
    pool cuts the socket instead of hanging (issue 9: "the main thread blocks in close")."""
    import threading

    target = parse_dsn(mysql_dsn)
    pool = InstrumentedPool(target, PoolConfig(maxconnections=1))
    mark = marker()
    failed: list[BaseException] = []

    def blocked_read() -> None:
        try:
            with pool.connection() as con:
                con.cursor().execute(marked(SLEEPS["mysql_dsn"], mark))
        except BaseException as exc:
            failed.append(exc)

    reader = threading.Thread(target=blocked_read, daemon=True)
    reader.start()
    wait_for(lambda: running_statements(target, mark) == 1, "the statement to run")
    pool.close()
    reader.join(DEADLINE_S)
    assert not reader.is_alive()
    wait_for(lambda: running_statements(target, mark) == 0, "the server to end it")
    with pytest.raises(RunFailed):
        pool.connection().__enter__()


def test_diagnose_runs_the_users_query_read_only(pg_dsn, scratch_table) -> None:
    """`diagnose --query` times the user's query on the target: a write must not land."""
    table = scratch_table(pg_dsn)
    done = pooltui(
        "diagnose", "--dsn", pg_dsn, "--query", f"INSERT INTO {table} VALUES (1); COMMIT"
    )
    assert "Traceback" not in done.stderr
    assert "read-only" in done.stderr or "read-only" in done.stdout
    assert rows_in(pg_dsn, table) == 0


@pytest.mark.parametrize(
    "query",
    [
        "SET default_transaction_read_only = off; INSERT INTO t VALUES (1)",
        "COMMIT; BEGIN READ WRITE; INSERT INTO t VALUES (1); COMMIT",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "SET SESSION TRANSACTION READ WRITE",
        "PRAGMA query_only = 0",
    ],
)
def test_a_query_that_switches_read_only_off_is_refused(query, pg_dsn, pools) -> None:
    """The server's read-only guard is a session default a statement can change: such a
    statement is refused before it runs, unless writes are allowed."""
    with pytest.raises(BadInput, match="changes the session's read-only setting"):
        engine.run(pools(pg_dsn, PoolConfig()), Workload(threads=1, duration_s=1, query=query))
    from pooltui.core.config import validate_workload

    assert not [
        f for f in validate_workload(Workload(query=query, allow_writes=True)) if f.level == "error"
    ]
