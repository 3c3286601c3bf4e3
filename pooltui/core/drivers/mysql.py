"""MySQL and MariaDB through PyMySQL: the URL DSN, PyMySQL's options, KILL QUERY as the
cancel, and the MySQL dialect that MariaDB/MySQL ODBC targets share."""

from __future__ import annotations

import contextlib
import socket
from typing import TYPE_CHECKING, Any

from pooltui.core.drivers._dsn import DEFAULT_CONNECT_TIMEOUT_S, as_bool, positive
from pooltui.core.drivers._url import UrlDriver
from pooltui.core.drivers.base import Dialect, Running, ServerInfo, Target, rows
from pooltui.core.errors import CANCELLED, CONNECTION, FULL, SQL, TIMEOUT, WRITE, BadInput

if TYPE_CHECKING:
    from pooltui.core.config import SessionGuards

_CONNECTION_ERRNOS = {1053, 1927, 2001, 2002, 2003, 2006, 2012, 2013, 2055, 4031}
_FULL_ERRNOS = {1040, 1203}
_TIMEOUT_ERRNOS = {1969, 3024}  # MariaDB max_statement_time, MySQL max_execution_time
_WRITE_ERRNOS = {1792, 1290}  # read-only transaction, --read-only server

_PARAMS: dict[str, Any] = {
    "charset": str,
    "collation": str,
    "connect_timeout": positive(float),
    "read_timeout": positive(float),
    "write_timeout": positive(float),
    "init_command": str,
    "sql_mode": str,
    "unix_socket": str,
    "ssl_ca": str,
    "ssl_cert": str,
    "ssl_key": str,
    "ssl_key_password": str,
    "ssl_disabled": as_bool,
    "ssl_verify_cert": as_bool,
    "ssl_verify_identity": as_bool,
    "autocommit": as_bool,
    "local_infile": as_bool,
    "max_allowed_packet": positive(int, 2**30),
    "bind_address": str,
    "binary_prefix": as_bool,
    "program_name": str,
    "server_public_key": str,
    "password": str,
}


def by_errno(errno: int | None) -> str:
    """The failure class of a MySQL/MariaDB error number."""
    if errno in _CONNECTION_ERRNOS:
        return CONNECTION
    if errno in _FULL_ERRNOS:
        return FULL
    if errno in _TIMEOUT_ERRNOS:
        return TIMEOUT
    if errno == 1317:
        return CANCELLED  # ER_QUERY_INTERRUPTED: KILL QUERY
    if errno in _WRITE_ERRNOS:
        return WRITE
    return SQL


def _statement_timeout(cursor: Any, timeout_ms: int) -> None:
    """MariaDB bounds every statement with max_statement_time (seconds); MySQL has only
    max_execution_time (milliseconds, SELECT only). Tried in that order: the variable the
    server does not know fails with 1193 (unknown system variable)."""
    try:
        cursor.execute(f"SET SESSION max_statement_time = {timeout_ms / 1000:.3f}")
    except Exception:
        cursor.execute(f"SET SESSION max_execution_time = {timeout_ms}")


def _check_charset(name: str) -> None:
    try:
        from pymysql.charset import charset_by_name
    except ImportError:  # the driver is missing: connect() will say so
        return
    if charset_by_name(name) is None:
        raise BadInput(
            f"The mysql DSN has charset={name!r}, which PyMySQL does not know: use e.g. utf8mb4."
        )


class MysqlDialect(Dialect):
    """MySQL or MariaDB, reached by PyMySQL or their ODBC drivers."""

    name = "mysql"
    product = "MySQL/MariaDB"
    default_port = 3306
    counts_sessions = True
    session_id_sql = "SELECT CONNECTION_ID()"
    # database names over 64 characters are refused, user names over 80 (MariaDB's; MySQL's
    # own limit is 32)
    name_limits = {"database": (64, "characters"), "user": (80, "characters")}
    code_meanings = {
        "2013": "the connection was lost during a query",
        "2006": "the server has gone away (it closed the connection)",
        "2003": "the server could not be reached",
        "1040": "the server has no free connection slot (max_connections)",
        "1053": "the server is shutting down",
        "1927": "the server ended the session (KILL)",
        "1317": "a statement was interrupted (KILL QUERY or cancel)",
        "1969": "a statement ran past its time limit (max_statement_time)",
        "3024": "a statement ran past its time limit (max_execution_time)",
        "1792": "a read-only transaction refused a write",
        "1290": "the server runs read-only and refused a write",
        "1205": "a lock wait timed out (innodb_lock_wait_timeout)",
        "1213": "a deadlock",
        "1146": "the query names a table that does not exist",
        "1064": "the query has a syntax error",
    }

    def probe(self, con: Any) -> ServerInfo:
        version, max_connections, wait_timeout = rows(
            con, "SELECT VERSION(), @@GLOBAL.max_connections, @@GLOBAL.wait_timeout"
        )[0]
        status = dict(rows(con, "SHOW GLOBAL STATUS LIKE 'Threads_connected'"))
        connected = int(status.get("Threads_connected", 1))
        return ServerInfo(
            version=str(version),
            max_connections=int(max_connections),
            reserved_connections=1,
            connections_in_use=max(0, connected - 1),  # without this probe
            wait_timeout_s=float(wait_timeout),
            idle_session_timeout_s=None,
            product="MariaDB" if "mariadb" in str(version).lower() else "MySQL",
            active_sessions=self.active_sessions(con),
        )

    def active_sessions(self, con: Any) -> int | None:
        """Threads running a command (not Sleep), the probe's own and the server's own
        daemons (the event scheduler, replication's dump and slave threads) not counted: the
        processlist's equivalent of Threads_running, which counts the asking thread too."""
        return int(
            rows(
                con,
                "SELECT count(*) FROM information_schema.PROCESSLIST WHERE COMMAND NOT IN "
                "('Sleep', 'Daemon', 'Binlog Dump', 'Binlog Dump GTID', 'Slave_IO', "
                "'Slave_SQL', 'Slave_worker') AND USER <> 'system user' "
                "AND ID <> CONNECTION_ID()",
            )[0][0]
        )

    def guard_statements(self, guards: SessionGuards, timeout_ms: int) -> list[str]:
        return ["SET SESSION TRANSACTION READ ONLY"] if guards.read_only else []

    def guard_cursor(self, cursor: Any, timeout_ms: int) -> None:
        _statement_timeout(cursor, timeout_ms)

    def exported_guards(
        self, guards: SessionGuards, timeout_ms: int
    ) -> tuple[list[str], list[str], list[str]]:
        # _statement_timeout's two variables, MariaDB's first
        timeouts = [
            f"SET SESSION max_statement_time = {timeout_ms / 1000:.3f}",
            f"SET SESSION max_execution_time = {timeout_ms}",
        ]
        return self.guard_statements(guards, timeout_ms), timeouts, []

    def count_sql(self, tag: str | None, ids: str, mark: str) -> tuple[str, tuple[Any, ...]] | None:
        """By thread id: a program_name tag is only visible with performance_schema."""
        if not ids:
            return None
        return (
            "SELECT count(*) FROM information_schema.PROCESSLIST "
            f"WHERE ID IN ({ids}) AND ID <> CONNECTION_ID()",
            (),
        )

    def terminate(self, con: Any, tag: str | None, ids: set[int], mark: str) -> int:
        own = int(rows(con, "SELECT CONNECTION_ID()")[0][0])
        killed = 0
        for sid in sorted(set(ids) - {own}):
            try:
                rows(con, f"KILL {int(sid)}")
                killed += 1
            except Exception as exc:  # 1094 unknown thread: already gone
                if "1094" not in str(exc) and "unknown thread" not in str(exc).lower():
                    raise
        return killed


MYSQL = MysqlDialect()

# PyMySQL 1.2 tries TLS on every connect unless told otherwise ("uses TLS by default when
# server supports it"), and builds each connect's TLS context anew by loading the system's CA
# store: 25 ms of the client's CPU a connect against a local MariaDB without TLS, 0.5 ms with
# ssl_disabled=True (measured on this project's 2-core machine). A pool pays it at every
# reconnect, and pooltui's own runs do too, as the user's service does.
TLS_BY_DEFAULT_SINCE = (1, 2)
TLS_CONTEXT_ADVICE = (
    "PyMySQL 1.2 tries TLS on every connect when no ssl option is given, and builds a new TLS "
    "context each time from the system's CA store: measured at 25 ms of the client's CPU per "
    "connect (0.5 ms with ssl_disabled=True), paid at every reconnect a pool makes. Against a "
    "server without TLS pass ssl_disabled=True (in a pooltui DSN: ?ssl_disabled=true); with "
    "TLS, pass one ssl.SSLContext made once as ssl=."
)


def _tls_advice() -> tuple[str, ...]:
    """TLS_CONTEXT_ADVICE when the installed PyMySQL tries TLS by default."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = tuple(int(part) for part in version("pymysql").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return ()
    return (TLS_CONTEXT_ADVICE,) if release >= TLS_BY_DEFAULT_SINCE else ()


class MysqlDriver(UrlDriver):
    """PyMySQL: a UTF-8 password, the tag as program_name, KILL QUERY from a second
    connection as its cancel, read_timeout for reads on a frozen server."""

    name = "mysql"
    schemes = ("mysql", "mariadb")
    dsn_prefixes = ("mysql://", "mariadb://")
    form = "mysql://user[:password]@host[:port]/database (or mariadb://)"
    example = "mysql://user@127.0.0.1:3306/db"
    module_name = "pymysql"
    label = "PyMySQL"
    gevent_cooperation = (
        "PyMySQL is pure Python: its reads and writes go through the sockets gevent patched, "
        "so other users run while it waits for the server"
    )
    documented_ping = True
    password_env = "MYSQL_PWD"
    session_name_param = "program_name"
    read_timeout_option = "read_timeout"
    mysql_family = True
    params = _PARAMS
    server = MYSQL
    notes = ("reset=True rolls back at every checkin, which costs one round trip per use.",)
    advice = _tls_advice()

    def resolve(
        self, params: dict[str, Any], host: str, port: int | None, user: str, database: str
    ) -> tuple[str, int | None, str, str, dict[str, Any]]:
        if "charset" in params:
            _check_charset(params["charset"])
        if host.startswith("/"):
            params.setdefault("unix_socket", host)
            host = "localhost"
        return (
            host,
            port,
            user,
            database,
            {"host": host, "port": port, "database": database, "user": user},
        )

    def connect_kwargs(self, target: Target, tag: str | None) -> dict[str, Any]:
        kwargs = dict(target._params)
        kwargs.setdefault("connect_timeout", DEFAULT_CONNECT_TIMEOUT_S)
        if target._password:  # PyMySQL encodes a str password as latin-1: é works, € fails,
            kwargs["password"] = target._password.encode("utf-8")  # and the server has UTF-8
        if tag:
            kwargs["program_name"] = tag
        return kwargs

    def apply_connect_timeout(
        self, target: Target, kwargs: dict[str, Any], timeout_s: float
    ) -> None:
        # connect_timeout only bounds the TCP connect; the handshake reads use read_timeout
        kwargs["connect_timeout"] = kwargs["read_timeout"] = timeout_s

    def connect(self, target: Target, tag: str | None, timeout_s: float | None) -> Any:
        con = super().connect(target, tag, timeout_s)
        if hasattr(con, "_read_timeout"):  # queries are not bounded by the connect timeout
            con._read_timeout = dict(target._params).get("read_timeout")
        return con

    def set_autocommit(self, con: Any) -> None:
        con.autocommit(True)

    def backend_id(self, target: Target, raw: Any) -> int | None:
        return int(raw.thread_id())

    def cancel_statements(self, target: Target, running: Running) -> int:
        """PyMySQL has no cancel of its own: one short second connection sends ``KILL QUERY``
        for each session."""
        ids = [sid for _, sid, _ in running if sid is not None]
        if not ids:
            return 0
        killer = target.connect(timeout_s=2.0)
        try:
            cursor = killer.cursor()
            for sid in ids:
                with contextlib.suppress(Exception):  # that session may have just ended
                    cursor.execute(f"KILL QUERY {int(sid)}")
            cursor.close()
        finally:
            killer.close()
        return len(ids)

    def abort_connection(self, raw: Any) -> bool:
        with contextlib.suppress(Exception):  # already gone: nothing to cut
            sock = getattr(raw, "_sock", None)
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
                return True
        return False

    def failure_class(self, exc: BaseException) -> str:
        args: tuple[Any, ...] = getattr(exc, "args", ())
        errno = args[0] if args and isinstance(args[0], int) else None
        if type(exc).__name__ == "InterfaceError" and errno in (None, 0):
            return CONNECTION  # PyMySQL's "(0, '')": the connection is already closed
        return by_errno(errno) if errno is not None else SQL

    def export_password(self, password_env: str) -> str:
        return (
            f'connect_kwargs["password"] = os.environ.get({password_env!r}, "")'
            '.encode("utf-8")'
        )  # PyMySQL: latin-1 otherwise
