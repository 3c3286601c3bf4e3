"""What the server itself says: its limits, its idle killers, the pool's sessions as it sees them.

Every probe opens one short-lived untagged connection through the target's own driver (native
or ODBC), so the probe never counts itself among a pool's connections, and closes it at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from time import monotonic, sleep
from typing import Any, Protocol

from pooltui.core.errors import PooltuiError, RunFailed, describe_db_error
from pooltui.core.targets import Target


@dataclass(frozen=True)
class ServerInfo:
    """The server's connection limits and idle timeouts (None where it has no such thing)."""

    version: str
    max_connections: int | None
    reserved_connections: int | None   # PG: superuser (+ PG16 reserved); MySQL: the admin slot
    connections_in_use: int | None     # client sessions now, not counting the probe's own
    wait_timeout_s: float | None       # MySQL: idle non-interactive sessions are closed after it
    idle_session_timeout_s: float | None  # PostgreSQL >= 14, None when 0 (off)
    product: str = ""                  # "PostgreSQL" | "MariaDB" | "MySQL" | "SQLite" | DBMS name

    @property
    def usable_connections(self) -> int | None:
        """Slots an ordinary application role can take. PostgreSQL reserves its slots inside
        max_connections; MySQL allows max_connections + 1, the extra one for CONNECTION_ADMIN."""
        if self.max_connections is None:
            return None
        if self.product in ("MySQL", "MariaDB"):
            return self.max_connections
        return self.max_connections - (self.reserved_connections or 0)


class _PoolLike(Protocol):
    tag: str

    def server_ids(self) -> set[int]: ...


@contextmanager
def _session(target: Target, timeout_s: float | None = None) -> Iterator[Any]:
    """One untagged autocommit connection, closed whatever happens."""
    con = target.connect(timeout_s=timeout_s)
    try:
        if target.kind == "mysql":
            con.autocommit(True)
        elif target.kind != "sqlite":
            con.autocommit = True
        yield con
    finally:
        with suppress(Exception):
            con.close()


def _rows(con: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    cursor = con.cursor()
    try:
        cursor.execute(sql, params) if params else cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
    finally:
        cursor.close()


def _mark(target: Target) -> str:
    """The driver's placeholder: pyodbc uses qmark, psycopg and PyMySQL use format."""
    return "?" if target.kind == "odbc" else "%s"


def _ids(server_ids: Iterable[int]) -> str:
    """A literal id list: ints only, so it is safe to inline (pyodbc cannot bind arrays)."""
    return ", ".join(str(int(i)) for i in sorted(set(server_ids)))


def _fail(exc: Exception, target: Target) -> RunFailed:
    return RunFailed(describe_db_error(exc, target))


def probe_server(target: Target) -> ServerInfo:
    """Read the server's limits with one short-lived connection (CannotConnect if it fails)."""
    with _session(target) as con:
        try:
            if target.backend == "postgresql":
                return _probe_pg(con)
            if target.backend == "mysql":
                return _probe_mysql(con)
            if target.kind == "sqlite":
                version = _rows(con, "SELECT sqlite_version()")[0][0]
                return ServerInfo(str(version), None, None, None, None, None, "SQLite")
            return _probe_odbc_other(con)
        except Exception as exc:
            raise _fail(exc, target) from exc


def _probe_pg(con: Any) -> ServerInfo:
    settings = dict(_rows(con, "SELECT name, setting FROM pg_settings WHERE name IN ("
                               "'max_connections', 'superuser_reserved_connections', "
                               "'reserved_connections', 'idle_session_timeout', "
                               "'server_version')"))
    in_use = _rows(con, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                        "'client backend' AND pid <> pg_backend_pid()")[0][0]
    reserved = sum(int(settings.get(name, 0)) for name in
                   ("superuser_reserved_connections", "reserved_connections"))
    idle_ms = int(settings.get("idle_session_timeout", 0))  # unit ms; absent before PG 14
    return ServerInfo(
        version=str(settings["server_version"]),
        max_connections=int(settings["max_connections"]),
        reserved_connections=reserved,
        connections_in_use=int(in_use),
        wait_timeout_s=None,
        idle_session_timeout_s=idle_ms / 1000 if idle_ms > 0 else None,
        product="PostgreSQL",
    )


def _probe_mysql(con: Any) -> ServerInfo:
    version, max_connections, wait_timeout = _rows(
        con, "SELECT VERSION(), @@GLOBAL.max_connections, @@GLOBAL.wait_timeout")[0]
    status = dict(_rows(con, "SHOW GLOBAL STATUS LIKE 'Threads_connected'"))
    connected = int(status.get("Threads_connected", 1))
    return ServerInfo(
        version=str(version),
        max_connections=int(max_connections),
        reserved_connections=1,
        connections_in_use=max(0, connected - 1),  # without this probe
        wait_timeout_s=float(wait_timeout),
        idle_session_timeout_s=None,
        product="MariaDB" if "mariadb" in str(version).lower() else "MySQL",
    )


def _probe_odbc_other(con: Any) -> ServerInfo:
    """A backend pooltui does not know: what ODBC's getinfo tells, limits unknown."""
    import pyodbc

    name = con.getinfo(pyodbc.SQL_DBMS_NAME)
    version = con.getinfo(pyodbc.SQL_DBMS_VER)
    return ServerInfo(str(version), None, None, None, None, None, str(name))


def _pg_sessions(target: Target, tag: str | None, ids: str) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause (and its parameters) selecting the given PostgreSQL sessions, not the
    probe's own; "" when nothing is asked for."""
    where = [f"application_name = {_mark(target)}"] if tag else []
    where += [f"pid IN ({ids})"] if ids else []
    if not where:
        return "", ()
    return "pid <> pg_backend_pid() AND (" + " OR ".join(where) + ")", ((tag,) if tag else ())


def count_connections_by(target: Target, tag: str | None, server_ids: set[int]) -> int:
    """The server's own count of the given sessions: PostgreSQL by application_name ``tag`` or
    backend pid, MySQL by thread id (its program_name is only visible with performance_schema).
    The probe's own connection is never counted; SQLite and unknown backends give 0."""
    if target.backend not in ("postgresql", "mysql"):
        return 0
    with _session(target) as con:
        return _count_on(con, target, tag, server_ids)


def _count_on(con: Any, target: Target, tag: str | None, server_ids: set[int]) -> int:
    ids = _ids(server_ids)
    if target.backend == "postgresql":
        where, params = _pg_sessions(target, tag, ids)
        if not where:
            return 0
        sql = "SELECT count(*) FROM pg_stat_activity WHERE " + where
    elif target.backend == "mysql":
        if not ids:
            return 0
        sql = ("SELECT count(*) FROM information_schema.PROCESSLIST "
               f"WHERE ID IN ({ids}) AND ID <> CONNECTION_ID()")
        params = ()
    else:
        return 0
    try:
        return int(_rows(con, sql, params)[0][0])
    except Exception as exc:
        raise _fail(exc, target) from exc


def terminate_sessions(target: Target, server_ids: set[int], *, tag: str | None = None) -> int:
    """Kill the given server sessions (and, on PostgreSQL, every session tagged ``tag``) as the
    server would on a restart or an idle kill; returns how many the server agreed to end."""
    with _session(target) as con:
        return _terminate_on(con, target, server_ids, tag)


def _terminate_on(con: Any, target: Target, server_ids: set[int], tag: str | None) -> int:
    ids = _ids(server_ids)
    try:
        if target.backend == "postgresql":
            where, params = _pg_sessions(target, tag, ids)
            if not where:
                return 0
            rows = _rows(con, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                         + where, params)
            return sum(1 for (ended,) in rows if ended)
        if target.backend == "mysql":
            own = int(_rows(con, "SELECT CONNECTION_ID()")[0][0])
            killed = 0
            for sid in sorted(set(server_ids) - {own}):
                try:
                    _rows(con, f"KILL {int(sid)}")
                    killed += 1
                except Exception as exc:  # 1094 unknown thread: already gone
                    if "1094" not in str(exc) and "unknown thread" not in str(exc).lower():
                        raise
            return killed
        return 0
    except Exception as exc:
        raise _fail(exc, target) from exc


def count_pool_connections(target: Target, pool: _PoolLike) -> int:
    """The server's count of ``pool``'s connections (any object with .tag and .server_ids())."""
    return count_connections_by(target, pool.tag, pool.server_ids())


def terminate_pool_connections(target: Target, pool: _PoolLike) -> int:
    """Kill ``pool``'s connections on the server: the "server kills connections" drill."""
    return terminate_sessions(target, pool.server_ids(), tag=pool.tag)


@dataclass(frozen=True)
class LeftOpen:
    """What the server still has of a closed pool: ``verified`` False when it could not be
    asked (it did not answer, or the backend cannot say)."""

    sessions: int
    verified: bool
    ended: int = 0      # sessions pooltui had to end itself (pg_terminate_backend / KILL)

    def sentence(self) -> str:
        if not self.verified:
            return ("the pool's connections were closed, but the server could not confirm it "
                    "(it did not answer): check it for sessions named pooltui-*")
        if self.sessions:
            return (f"{self.sessions} of pooltui's sessions are still open on the server: end "
                    "them with pg_terminate_backend / KILL (they are named pooltui-*)")
        extra = f" ({self.ended} ended by pooltui)" if self.ended else ""
        return f"every connection was closed: the server counts none of pooltui's sessions{extra}"

    def as_dict(self) -> dict[str, Any]:
        return {"sessions_left": self.sessions, "verified": self.verified, "ended": self.ended}


class _ClosedPool(Protocol):
    tag: str
    unclosed: int

    def opened_ids(self) -> set[int]: ...


def confirm_closed(target: Target, pool: _ClosedPool, *, timeout_s: float = 2.0) -> LeftOpen:
    """After ``pool.close()``: ask the server (not the pool) how many of the pool's sessions it
    still has, end those, and ask again until none is left or ``timeout_s`` passes. A frozen or
    gone server makes it give up within the timeout instead of hanging the exit."""
    if target.backend not in ("postgresql", "mysql"):
        return LeftOpen(pool.unclosed, verified=target.kind == "sqlite")
    ids, deadline, ended = pool.opened_ids(), monotonic() + timeout_s, 0
    try:
        left = _count_within(target, pool.tag, ids, timeout_s)
        if left:
            ended = _terminate_within(target, pool.tag, ids, timeout_s)
        while left and monotonic() < deadline:
            sleep(0.1)  # pg_terminate_backend lands asynchronously
            left = _count_within(target, pool.tag, ids, deadline - monotonic())
    except PooltuiError:
        return LeftOpen(pool.unclosed, verified=False)
    return LeftOpen(left, verified=True, ended=ended)


def _count_within(target: Target, tag: str, ids: set[int], timeout_s: float) -> int:
    with _session(target, timeout_s=max(1.0, timeout_s)) as con:
        return _count_on(con, target, tag, ids)


def _terminate_within(target: Target, tag: str, ids: set[int], timeout_s: float) -> int:
    with _session(target, timeout_s=max(1.0, timeout_s)) as con:
        return _terminate_on(con, target, ids, tag)
