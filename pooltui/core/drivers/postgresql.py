"""PostgreSQL through psycopg 3: the URL DSN, libpq's options, and the PostgreSQL dialect that
psqlODBC targets share (probe, session counts, guards, SQLSTATE classes)."""

from __future__ import annotations

import contextlib
import math
import os
import socket
from typing import TYPE_CHECKING, Any

from pooltui.core.drivers._dsn import DEFAULT_CONNECT_TIMEOUT_S, is_ascii_number
from pooltui.core.drivers._url import UrlDriver
from pooltui.core.drivers.base import Dialect, Running, ServerInfo, Target, rows
from pooltui.core.errors import CONNECTION, FULL, SQL, TIMEOUT, WRITE, BadInput

if TYPE_CHECKING:
    from pooltui.core.config import SessionGuards

_CONNECTION_STATES = {"57P01", "57P02", "57P03", "57P05", "25P03"}

# query parameters passed through to the driver: name -> converter (str for libpq: it parses)
_PARAMS: dict[str, Any] = dict.fromkeys(
    (
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "password",
        "passfile",
        "options",
        "application_name",
        "fallback_application_name",
        "client_encoding",
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslcrl",
        "sslpassword",
        "sslsni",
        "sslcompression",
        "requirepeer",
        "channel_binding",
        "gssencmode",
        "krbsrvname",
        "gsslib",
        "target_session_attrs",
        "load_balance_hosts",
        "service",
        "connect_timeout",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
    ),
    str,
)
_INTS = {
    "port",
    "connect_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
}
_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


def by_sqlstate(state: str) -> str:
    """The failure class of a SQLSTATE (PostgreSQL's, and ODBC's generic ones)."""
    if state.startswith("08") or state in _CONNECTION_STATES:
        return CONNECTION
    if state == "57014":
        return TIMEOUT  # query_canceled: a statement timeout, unless pooltui cancelled it
    if state == "25006":
        return WRITE
    if state == "53300":
        return FULL
    return SQL


class PostgresDialect(Dialect):
    """PostgreSQL, reached by psycopg or psqlODBC."""

    name = "postgresql"
    product = "PostgreSQL"
    default_port = 5432
    counts_sessions = True
    external_pooler = "PgBouncer"  # transaction pooling: a fleet shares its server sessions
    session_id_sql = "SELECT pg_backend_pid()"
    # PostgreSQL truncates names at NAMEDATALEN - 1 bytes (a longer one names another object,
    # and a 10 kB one makes the server drop the startup packet unanswered)
    # (application_name too: a longer tag would be cut and no session would count as the pool's)
    name_limits = {"database": (63, "bytes"), "user": (63, "bytes"), "session": (63, "bytes")}
    code_meanings = {
        "57P01": "the server ended the session (a shutdown or pg_terminate_backend)",
        "57P02": "the server ended the session after a crash",
        "57P03": "the server is starting up or shutting down",
        "57P05": "the server ended an idle session (idle_session_timeout)",
        "25P03": "the server ended a session idle in a transaction",
        "57014": "a statement was cancelled (statement timeout or cancel)",
        "25006": "a read-only session refused a write",
        "53300": "the server has no free connection slot (max_connections)",
        "08006": "the connection to the server broke",
        "08001": "the server could not be reached",
        "08003": "the connection was already closed",
        "40001": "a serialization failure (retry the transaction)",
        "40P01": "a deadlock",
        "55P03": "a lock could not be taken (lock_timeout)",
        "42P01": "the query names a table that does not exist",
        "42601": "the query has a syntax error",
    }

    def probe(self, con: Any) -> ServerInfo:
        settings = dict(
            rows(
                con,
                "SELECT name, setting FROM pg_settings WHERE name IN ("
                "'max_connections', 'superuser_reserved_connections', "
                "'reserved_connections', 'idle_session_timeout', "
                "'server_version')",
            )
        )
        in_use = rows(
            con,
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
            "'client backend' AND pid <> pg_backend_pid()",
        )[0][0]
        reserved = sum(
            int(settings.get(name, 0))
            for name in ("superuser_reserved_connections", "reserved_connections")
        )
        idle_ms = int(settings.get("idle_session_timeout", 0))  # unit ms; absent before PG 14
        return ServerInfo(
            version=str(settings["server_version"]),
            max_connections=int(settings["max_connections"]),
            reserved_connections=reserved,
            connections_in_use=int(in_use),
            wait_timeout_s=None,
            idle_session_timeout_s=idle_ms / 1000 if idle_ms > 0 else None,
            product="PostgreSQL",
            active_sessions=self.active_sessions(con),
        )

    def active_sessions(self, con: Any) -> int | None:
        """Client backends in state 'active' (running a statement), the probe's own not
        counted: idle and idle-in-transaction sessions hold a slot but no CPU."""
        return int(
            rows(
                con,
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND state = 'active' AND pid <> pg_backend_pid()",
            )[0][0]
        )

    def guard_statements(self, guards: SessionGuards, timeout_ms: int) -> list[str]:
        statements = [f"SET statement_timeout = {timeout_ms}"]
        if guards.read_only:
            statements.append("SET default_transaction_read_only = on")
        return statements

    def exported_guards(
        self, guards: SessionGuards, timeout_ms: int
    ) -> tuple[list[str], list[str], list[str]]:
        # PostgreSQL >= 14 ends a statement whose client has gone; older servers lack it
        optional = ["SET client_connection_check_interval = 1000"]
        return self.guard_statements(guards, timeout_ms), [], optional

    def _sessions(self, tag: str | None, ids: str, mark: str) -> tuple[str, tuple[Any, ...]]:
        """The WHERE clause (and its parameters) selecting the given sessions, not the
        probe's own; "" when nothing is asked for."""
        where = [f"application_name = {mark}"] if tag else []
        where += [f"pid IN ({ids})"] if ids else []
        if not where:
            return "", ()
        return "pid <> pg_backend_pid() AND (" + " OR ".join(where) + ")", ((tag,) if tag else ())

    def count_sql(self, tag: str | None, ids: str, mark: str) -> tuple[str, tuple[Any, ...]] | None:
        where, params = self._sessions(tag, ids, mark)
        return ("SELECT count(*) FROM pg_stat_activity WHERE " + where, params) if where else None

    def terminate(self, con: Any, tag: str | None, ids: set[int], mark: str) -> int:
        where, params = self._sessions(tag, ", ".join(str(int(i)) for i in sorted(ids)), mark)
        if not where:
            return 0
        ended = rows(
            con, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE " + where, params
        )
        return sum(1 for (done,) in ended if done)


POSTGRESQL = PostgresDialect()


class PostgresDriver(UrlDriver):
    """psycopg 3: libpq's options in the query, the tag as application_name, a real cancel."""

    name = "postgresql"
    schemes = ("postgresql", "postgres")
    dsn_prefixes = ("postgresql://", "postgres://")
    form = "postgresql://user[:password]@host[:port]/database (or postgres://)"
    example = "postgresql://user@127.0.0.1:5432/db"
    module_name = "psycopg"
    label = "psycopg"
    documented_threadsafety = 2
    password_env = "PGPASSWORD"
    session_name_param = "application_name"
    setsession_in_transaction = True
    gevent_cooperation = (
        "psycopg 3 (from 3.1.14) sees gevent's monkey-patching and waits for the server on "
        "the patched select instead of in C, so other users run meanwhile"
    )
    batches_statements = True  # psycopg sends a query without parameters as one simple query
    params = _PARAMS
    server = POSTGRESQL
    notes = (
        "A shared psycopg connection runs its users' queries one at a time and they "
        "share one transaction, so sharing saves connections, not time.",
    )

    def resolve(
        self, params: dict[str, Any], host: str, port: int | None, user: str, database: str
    ) -> tuple[str, int | None, str, str, dict[str, Any]]:
        for key in _INTS & params.keys():
            digits = params[key].strip().removeprefix("-")
            if not is_ascii_number(digits) or len(digits) > 9:  # libpq reads a C int
                raise BadInput(
                    f"The postgresql DSN parameter {key}={params[key]!r} is not a "
                    "whole number of at most 9 digits: correct it."
                )
        if "sslmode" in params and params["sslmode"] not in _SSLMODES:
            raise BadInput(
                f"The postgresql DSN has sslmode={params['sslmode']!r}: use one of "
                + ", ".join(sorted(_SSLMODES))
                + "."
            )
        host, user = params.pop("host", host), params.pop("user", user)
        database = params.pop("dbname", database)
        port = int(params.pop("port")) if "port" in params else port
        if port is not None and not 0 < port < 65536:
            raise BadInput(f"The postgresql DSN port {port} is not a number from 1 to 65535.")
        return (
            host,
            port,
            user,
            database,
            {"host": host, "port": port, "dbname": database, "user": user},
        )

    def connect_kwargs(self, target: Target, tag: str | None) -> dict[str, Any]:
        kwargs = dict(target._params)
        kwargs.setdefault("connect_timeout", str(math.ceil(DEFAULT_CONNECT_TIMEOUT_S)))
        if target._password:
            kwargs["password"] = target._password
        if tag:
            kwargs["application_name"] = tag
        return kwargs

    def apply_connect_timeout(
        self, target: Target, kwargs: dict[str, Any], timeout_s: float
    ) -> None:
        kwargs["connect_timeout"] = str(max(1, math.ceil(timeout_s)))

    def backend_id(self, target: Target, raw: Any) -> int | None:
        return int(raw.info.backend_pid)

    def cancel_statements(self, target: Target, running: Running) -> int:
        """psycopg sends libpq's cancel request for each connection."""
        asked = 0
        for raw, _, _ in running:
            with contextlib.suppress(Exception):  # the statement may have just ended
                raw.cancel_safe(timeout=2.0)
                asked += 1
        return asked

    def session_statements(
        self, target: Target, raw: Any, guards: SessionGuards, timeout_ms: int
    ) -> list[str]:
        statements = super().session_statements(target, raw, guards, timeout_ms)
        if raw.info.server_version >= 140000:
            # the server ends a statement whose client has gone (pooltui killed, socket shut)
            statements.append("SET client_connection_check_interval = 1000")
        return statements

    def abort_connection(self, raw: Any) -> bool:
        with contextlib.suppress(Exception):  # already gone: nothing to cut
            fd = raw.pgconn.socket
            with socket.socket(fileno=os.dup(fd)) as sock:
                sock.shutdown(socket.SHUT_RDWR)
            return True
        return False

    def failure_class(self, exc: BaseException) -> str:
        state = getattr(exc, "sqlstate", None)
        if state is None:  # raised by libpq itself: the socket, not the statement, failed
            return (
                CONNECTION
                if type(exc).__name__ in ("OperationalError", "InterfaceError", "ConnectionTimeout")
                else SQL
            )
        return by_sqlstate(state)
