"""Real driver failures and the one sentence each becomes (no password in any of them)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import suppress

import pytest
from db_helpers import scalar, unique_tag

from pooltui.core.errors import CONNECTION, CannotConnect, describe_db_error, failure_class
from pooltui.core.probes import terminate_sessions
from pooltui.core.targets import parse_dsn

SECRET = "s3cr3t-Pw"  # a password no server here accepts or echoes


@pytest.fixture(autouse=True)
def _no_password_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PGPASSWORD", "MYSQL_PWD", "POOLTUI_ODBC_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


# --- real failures and their sentences ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts TCP and then never says a word: a hung server."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    with suppress(OSError):
        server.shutdown(socket.SHUT_RDWR)  # wakes the accept(): close() alone does not
    server.close()
    thread.join(5)
    assert not thread.is_alive()
    for con in accepted:
        con.close()


def _connect_error(dsn: str, timeout_s: float = 5) -> str:
    target = parse_dsn(dsn)
    with pytest.raises(CannotConnect) as info:
        target.connect(timeout_s=timeout_s).close()
    message = str(info.value)
    assert info.value.exit_code == 3
    assert SECRET not in message and "\n" not in message and message.endswith(".")
    return message


ODBC_PG = (
    "odbc:Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={port};Database={db};Uid=postgres;"
)
ODBC_MY = "odbc:Driver={{MariaDB Unicode}};Server=127.0.0.1;Port={port};Database={db};User=root;"


@pytest.mark.parametrize(
    ("fixture", "template"),
    [
        ("pg_dsn", f"postgresql://postgres:{SECRET}@127.0.0.1:{{port}}/test"),
        ("mysql_dsn", f"mysql://root:{SECRET}@127.0.0.1:{{port}}/test"),
        ("odbc_pg_dsn", ODBC_PG.replace("{db}", "test") + f"PWD={SECRET}"),
        ("odbc_mysql_dsn", ODBC_MY.replace("{db}", "test") + f"PWD={SECRET}"),
    ],
)
def test_refused(fixture, template, request) -> None:
    request.getfixturevalue(fixture)
    port = _free_port()
    message = _connect_error(template.format(port=port))
    assert message.startswith(f"Nothing accepted the connection at 127.0.0.1:{port}")
    assert "server is running" in message


@pytest.mark.parametrize(
    ("fixture", "dsn"),
    [
        ("pg_dsn", f"postgresql://postgres:{SECRET}@127.0.0.1:5432/pooltui_no_such_db"),  # trust
        ("mysql_dsn", "mysql://root@127.0.0.1:3306/pooltui_no_such_db"),
        ("odbc_pg_dsn", ODBC_PG.format(port=5432, db="pooltui_no_such_db") + f"PWD={SECRET}"),
        ("odbc_mysql_dsn", ODBC_MY.format(port=3306, db="pooltui_no_such_db")),
    ],
)
def test_unknown_database(fixture, dsn, request) -> None:
    request.getfixturevalue(fixture)
    message = _connect_error(dsn)
    assert message.startswith(
        "The database 'pooltui_no_such_db' does not exist on the server at 127.0.0.1:"
    )


@pytest.mark.parametrize(
    ("fixture", "dsn", "user"),
    [
        ("mysql_dsn", f"mysql://root:{SECRET}@127.0.0.1:3306/test", "root"),
        ("odbc_mysql_dsn", ODBC_MY.format(port=3306, db="test") + f"PWD={SECRET}", "root"),
        (
            "pg_dsn",
            f"postgresql://pooltui_no_such_role:{SECRET}@127.0.0.1:5432/test",
            "pooltui_no_such_role",
        ),
    ],
)
def test_login_refused(fixture, dsn, user, request) -> None:
    request.getfixturevalue(fixture)
    message = _connect_error(dsn)
    assert f"refused the login of user {user!r}" in message and "password" in message


@pytest.mark.parametrize(
    "dsn",
    [
        f"odbc:Driver={{pooltui Bogus Driver}};Server=127.0.0.1;PWD={SECRET}",
        f"odbc:DSN=pooltui_no_such_dsn;PWD={SECRET}",
    ],
)
def test_odbc_driver_missing_lists_installed(dsn, odbc_pg_dsn) -> None:
    import pyodbc

    message = _connect_error(dsn)
    assert "Driver={...}" in message
    assert all(name in message for name in pyodbc.drivers())
    if "Bogus" in dsn:
        assert "'pooltui Bogus Driver' is not installed" in message


@pytest.mark.parametrize(
    ("fixture", "template"),
    [
        ("pg_dsn", "postgresql://postgres@pooltui-test.invalid:5432/test"),
        ("mysql_dsn", "mysql://root@pooltui-test.invalid:3306/test"),
        ("odbc_mysql_dsn", "odbc:Driver={MariaDB Unicode};Server=pooltui-test.invalid;User=root"),
    ],
)
def test_unknown_host(fixture, template, request) -> None:
    """.invalid never resolves (RFC 6761): nothing but a failed name lookup happens."""
    request.getfixturevalue(fixture)
    assert _connect_error(template).startswith(
        "The host name 'pooltui-test.invalid' could not be resolved"
    )


@pytest.mark.parametrize(
    ("fixture", "template"),
    [
        ("pg_dsn", "postgresql://postgres@127.0.0.1:{port}/test"),
        ("mysql_dsn", "mysql://root@127.0.0.1:{port}/test"),
        ("odbc_pg_dsn", ODBC_PG.replace("{db}", "test")),
        ("odbc_mysql_dsn", ODBC_MY.replace("{db}", "test")),  # the handshake bounded too
    ],
)
def test_connect_timeout(fixture, template, silent_port, request) -> None:
    request.getfixturevalue(fixture)
    message = _connect_error(template.format(port=silent_port), timeout_s=1)
    assert message.startswith(f"The server at 127.0.0.1:{silent_port} did not answer within")


@pytest.mark.parametrize("fixture", ["pg_dsn", "mysql_dsn", "odbc_pg_dsn", "odbc_mysql_dsn"])
def test_server_closed_the_connection(fixture, request) -> None:
    target = parse_dsn(request.getfixturevalue(fixture), password=None)
    con = target.connect(unique_tag())
    try:
        assert terminate_sessions(target, {target.backend_id(con)}) == 1
        deadline, failure = time.monotonic() + 10, None
        while failure is None and time.monotonic() < deadline:
            try:  # the kill lands asynchronously: poll with real queries until it shows
                scalar(con, "SELECT 1")
            except Exception as exc:
                failure = exc
        assert failure is not None, "the killed session kept answering"
        message = describe_db_error(failure, target)
        assert message.startswith("The connection to the server at 127.0.0.1:")
        assert "was lost" in message
        assert failure_class(failure) == CONNECTION  # by its code: DBUtils may reconnect
    finally:
        with suppress(Exception):  # closing a killed connection may complain; it is closed
            con.close()


@pytest.mark.parametrize(
    "fixture", ["pg_dsn", "mysql_dsn", "odbc_pg_dsn", "odbc_mysql_dsn", "sqlite_dsn"]
)
def test_sql_error_quotes_the_driver(fixture, request) -> None:
    target = parse_dsn(request.getfixturevalue(fixture))
    con = target.connect()
    try:
        cursor = con.cursor()
        with pytest.raises(Exception) as info:
            cursor.execute("SELEC 1")
        message = describe_db_error(info.value, target)
    finally:
        con.close()
    assert message.startswith("The query failed (") and "SELEC" in message
    assert message.endswith("fix the SQL (the workload's query) and run it again.")
    assert "\n" not in message and "[" not in message.split("(")[1]


def test_statement_timeout_on_postgresql(pg_dsn: str) -> None:
    target = parse_dsn(pg_dsn)
    con = target.connect()
    try:
        con.execute("SET statement_timeout = 50")
        with pytest.raises(Exception) as info:
            con.execute("SELECT pg_sleep(5)")
    finally:
        con.close()
    message = describe_db_error(info.value, target)
    assert message.startswith("The server cancelled the query at its statement timeout")


def test_too_many_connections_sentences() -> None:
    """Exhausting the shared servers' slots would break everyone's tests, so these are the real
    driver exception classes with the texts PostgreSQL and MariaDB send when it happens."""
    import psycopg
    import pymysql
    import pyodbc

    target = parse_dsn(f"postgresql://app:{SECRET}@127.0.0.1:5432/test")
    for exc in (
        psycopg.errors.TooManyConnections("sorry, too many clients already"),
        psycopg.OperationalError(
            'connection failed: connection to server at "127.0.0.1",'
            " port 5432 failed: FATAL:  remaining connection slots "
            "are reserved for non-replication superuser connections"
        ),
        pymysql.err.OperationalError(1040, "Too many connections"),
        pyodbc.Error(
            "08004", "[08004] FATAL: sorry, too many clients already\n (101) (SQLDriverConnect)"
        ),
    ):
        message = describe_db_error(exc, target)
        assert message.startswith("The server at 127.0.0.1:5432 has no free connection slots")
        assert "max_connections" in message and SECRET not in message


def test_describe_never_leaks_a_password_the_driver_echoes() -> None:
    import psycopg

    target = parse_dsn(f"postgresql://app:{SECRET}@127.0.0.1:5432/test")
    exc = psycopg.OperationalError(f"weird failure near password={SECRET} in {SECRET}")
    message = describe_db_error(exc, target)
    assert SECRET not in message and "weird failure" in message


def test_pooltuis_own_failure_is_not_blamed_on_the_server() -> None:
    """A built-in error no driver raised (multiprocessing's, seen when a process could not
    start) is pooltui's: the sentence must not say the PostgreSQL server reported it."""
    import psycopg

    target = parse_dsn(f"postgresql://app:{SECRET}@127.0.0.1:5432/test")
    message = describe_db_error(ValueError(f"bad value(s) in fds_to_keep {SECRET}"), target)
    assert message.startswith("pooltui failed inside (ValueError: bad value(s) in fds_to_keep")
    assert "server" not in message and SECRET not in message
    # the database's own errors and a refused socket keep their sentences
    assert "pooltui failed inside" not in describe_db_error(psycopg.OperationalError("x"), target)
    assert "pooltui failed inside" not in describe_db_error(ConnectionRefusedError(111), target)


def test_server_starting_or_stopping_sentence() -> None:
    """Restarting the shared server is not an option: the real class with PostgreSQL's text."""
    import psycopg

    target = parse_dsn(f"postgresql://app:{SECRET}@127.0.0.1:5432/test")
    exc = psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", '
        "port 5432 failed: FATAL:  the database system is starting up"
    )
    message = describe_db_error(exc, target)
    assert message.startswith("The server at 127.0.0.1:5432 is starting up or shutting down")


def test_sqlite_over_odbc_never_creates_a_missing_file(odbc_sqlite_dsn, tmp_path) -> None:
    """sqliteodbc creates a missing file unless told not to; pooltui never creates one (as
    sqlite:/// with mode=rw), and says so in SQLite's words, not a server's."""
    missing = tmp_path / "typo.db"
    message = _connect_error(f"odbc:Driver={{SQLite3}};Database={missing};")
    assert not missing.exists()
    assert message == (
        f"The SQLite database {str(missing)!r} cannot be opened: check that the file exists "
        "and is readable (pooltui never creates it)."
    )
    assert "server" not in message
    target = parse_dsn(odbc_sqlite_dsn)  # the file that exists opens
    con = target.connect()
    try:
        assert scalar(con, "SELECT count(*) FROM items") == 20
    finally:
        con.close()


def test_a_password_given_twice_to_psqlodbc_is_a_dsn_mistake(odbc_pg_dsn) -> None:
    """psqlODBC refuses PWD= beside pqopt's password= before it connects ("conflicts with
    other ordinary option"): a mistake in the DSN to correct, not a lost connection to wait
    for, and neither password in the sentence."""
    dsn = ODBC_PG.format(port=5432, db="test") + f"PWD={SECRET};pqopt={{password={SECRET}2}}"
    message = _connect_error(dsn)
    assert message == (
        "The ODBC connection string gives the password twice, as an ordinary option (PWD) "
        "and inside pqopt, which psqlODBC refuses: keep one."
    )
    assert "lost" not in message and "retries" not in message
