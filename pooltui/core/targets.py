"""Targets: what a DSN means, which driver serves it, and what that driver can do for DBUtils.

A Target holds everything needed to open a raw DB-API connection (the password inside, never in
its repr) and the driver facts that decide which PooledDB parameters do anything at all.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import socket
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import import_module
from pathlib import Path
from time import perf_counter
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, unquote

from pooltui.core.errors import KEY_PASSWORD, MASK, BadInput, CannotConnect, describe_db_error

if TYPE_CHECKING:
    from pooltui.core.config import SessionGuards

DEFAULT_CONNECT_TIMEOUT_S = 5.0
SQLITE_PROGRESS_STEPS = 10_000  # SQLite VM steps between two checks of the statement timeout
FORMS = ("postgresql://user[:password]@host[:port]/database (or postgres://)",
         "mysql://user[:password]@host[:port]/database (or mariadb://)",
         "odbc:<ODBC connection string>", "sqlite:///path/to/file.db")
_MODULES = {"postgresql": "psycopg", "mysql": "pymysql", "odbc": "pyodbc", "sqlite": "sqlite3"}
_DOCUMENTED_THREADSAFETY = {"psycopg": 2, "pymysql": 1, "pyodbc": 1, "sqlite3": 1}
PASSWORD_ENVS = {"postgresql": "PGPASSWORD", "mysql": "MYSQL_PWD",
                  "odbc": "POOLTUI_ODBC_PASSWORD", "sqlite": ""}
_ODBC_SPECIAL = {"autocommit", "timeout", "readonly", "attrs_before", "encoding", "ansi"}
_ODBC_SESSION_SQL = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}

# query parameters passed through to the driver: name -> converter (str for libpq: it parses)
_PG_PARAMS: dict[str, Any] = dict.fromkeys((
    "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "options",
    "application_name", "fallback_application_name", "client_encoding", "sslmode", "sslrootcert",
    "sslcert", "sslkey", "sslcrl", "sslpassword", "sslsni", "sslcompression", "requirepeer",
    "channel_binding", "gssencmode", "krbsrvname", "gsslib", "target_session_attrs",
    "load_balance_hosts", "service", "connect_timeout", "keepalives", "keepalives_idle",
    "keepalives_interval", "keepalives_count", "tcp_user_timeout"), str)
_PG_INTS = {"port", "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
            "keepalives_count", "tcp_user_timeout"}
_PG_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
SECRET_PARAMS = frozenset({"password", "sslpassword", "ssl_key_password"})
ODBC_SECRET_KEYS = frozenset({"pwd", "password"})
# ODBC values that are libpq conninfo strings (psqlODBC hands pqopt to libpq), and the libpq
# keywords in them that are secrets
_ODBC_CONNINFO_KEYS = frozenset({"pqopt"})
_LIBPQ_SECRET_KEYS = frozenset({"password", "sslpassword"})
_LIBPQ_PAIR = re.compile(
    r"(?P<sep>\s*)(?P<key>[A-Za-z_]+)\s*=\s*(?P<value>'(?:[^'\\]|\\.)*'|(?:\\.|[^\s\\])*)")
# Names the servers accept at all: PostgreSQL truncates at NAMEDATALEN - 1 bytes (a longer one
# names another object, and a 10 kB one makes the server drop the startup packet unanswered);
# MySQL/MariaDB refuse database names over 64 characters and user names over 80 (MariaDB's;
# MySQL's own limit is 32).
_NAME_LIMITS = {"postgresql": {"database": (63, "bytes"), "user": (63, "bytes")},
                "mysql": {"database": (64, "characters"), "user": (80, "characters")}}
MAX_TIMEOUT_S = 86400.0  # a day: longer is no timeout at all, and 1e308 overflows the socket's


def is_ascii_number(text: str) -> bool:
    """ASCII digits only: ``'²'.isdigit()`` is True, yet ``int('²')`` raises."""
    return text.isascii() and text.isdigit()


def _bool(value: str) -> bool:
    low = value.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _positive(kind: type, high: float = MAX_TIMEOUT_S, low_ok: bool = False) -> Any:
    """A converter for a number above 0 (or from 0 with ``low_ok``) and at most ``high``."""
    def convert(value: str) -> Any:
        try:
            number = kind(value.strip())
        except ValueError:
            raise ValueError("expected a number") from None
        if not (number >= 0 if low_ok else number > 0) or not number <= high:
            span = f"from 0 to {high:g}" if low_ok else f"above 0 and at most {high:g}"
            raise ValueError(f"expected a number {span}")
        return number
    return convert


_MYSQL_PARAMS: dict[str, Any] = {
    "charset": str, "collation": str, "connect_timeout": _positive(float),
    "read_timeout": _positive(float), "write_timeout": _positive(float), "init_command": str,
    "sql_mode": str, "unix_socket": str, "ssl_ca": str, "ssl_cert": str, "ssl_key": str,
    "ssl_key_password": str, "ssl_disabled": _bool, "ssl_verify_cert": _bool,
    "ssl_verify_identity": _bool, "autocommit": _bool, "local_infile": _bool,
    "max_allowed_packet": _positive(int, 2**30), "bind_address": str, "binary_prefix": _bool,
    "program_name": str, "server_public_key": str, "password": str,
}
_SQLITE_PARAMS: dict[str, Any] = {"timeout": _positive(float, low_ok=True), "mode": str}


@dataclass(frozen=True)
class DriverFacts:
    """What the driver lets DBUtils do: the reason a parameter works, does nothing or traps."""

    module_name: str
    threadsafety: int
    can_ping: bool
    can_share: bool
    notes: tuple[str, ...]


def _import_driver(name: str) -> ModuleType:
    module = import_module(name)
    if name == "pyodbc":
        # Driver-manager pooling under DBUtils double-pools: a connection DBUtils closed stays
        # open in the driver manager. It is read when the ODBC environment is first allocated.
        module.pooling = False
    return module


@cache
def driver_facts(module_name: str) -> DriverFacts:
    """Facts read from the installed driver (documented values if it cannot be imported)."""
    notes: list[str] = []
    try:
        module = _import_driver(module_name)
        threadsafety = int(module.threadsafety)
        can_ping = callable(getattr(getattr(module, "Connection", None), "ping", None))
    except ImportError as exc:
        threadsafety, can_ping = _DOCUMENTED_THREADSAFETY[module_name], module_name == "pymysql"
        notes.append(f"The driver {module_name} cannot be imported here ({exc}).")
    if threadsafety >= 2:
        notes.append(f"threadsafety {threadsafety}: DBUtils honours maxshared and lets threads "
                     "share a connection.")
    else:
        notes.append(f"threadsafety {threadsafety}: DBUtils ignores maxshared (sets it to 0), "
                     "every checkout is a dedicated connection.")
    if can_ping:
        notes.append("ping() works: ping=1 checks each connection taken from the idle cache and "
                     "reopens it if the server closed it, at one round trip per checkout.")
    else:
        notes.append(f"{module_name} connections have no ping(): DBUtils' ping bitmask is a "
                     "silent no-op unless ping_query is set (DBUtils then runs that SQL instead).")
    notes.extend({
        "psycopg": ["A shared psycopg connection runs its users' queries one at a time and they "
                    "share one transaction, so sharing saves connections, not time."],
        "pymysql": ["reset=True rolls back at every checkin, which costs one round trip per use."],
        "pyodbc": ["pyodbc.pooling (on by default) lets the ODBC driver manager pool underneath "
                   "DBUtils wherever it pools (Windows, unixODBC with Pooling=Yes), so a "
                   "connection DBUtils closed stays open; pooltui sets pyodbc.pooling = False "
                   "before its first connection, and exported code does the same."],
        "sqlite3": ["sqlite3 connections must be opened with check_same_thread=False to be "
                    "pooled across threads; pooltui does so.",
                    "SQLite has no connection limit: writers serialise on the database lock "
                    "and wait up to the busy timeout."],
    }[module_name])
    return DriverFacts(module_name, threadsafety, can_ping, threadsafety >= 2, tuple(notes))


@dataclass(frozen=True)
class Target:
    """One database to tune against. Build it with parse_dsn() or demo_target()."""

    kind: str                   # "postgresql" | "mysql" | "odbc" | "sqlite"
    backend: str                # "postgresql" | "mysql" | "sqlite" | "unknown"
    redacted: str               # the DSN with any password shown as ***
    facts: DriverFacts
    database: str               # database name or file path, for display
    host: str = ""              # "" = the driver's default (local socket); a path = socket dir
    port: int | None = None
    user: str = ""
    password_env: str = ""      # env var exported code reads the password from
    has_password: bool = False
    _params: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
    _password: str | None = field(default=None, repr=False)

    def module(self) -> ModuleType:
        """The DB-API module (for ODBC with driver-manager pooling turned off)."""
        try:
            return _import_driver(self.facts.module_name)
        except ImportError as exc:
            raise CannotConnect(describe_db_error(exc, self)) from exc

    def connect_kwargs(self, tag: str | None = None) -> dict[str, Any]:
        """Keyword arguments for ``module().connect``; ``tag`` names the session on the server."""
        kwargs = dict(self._params)
        if self.kind == "postgresql":
            kwargs.setdefault("connect_timeout", str(math.ceil(DEFAULT_CONNECT_TIMEOUT_S)))
            if self._password:
                kwargs["password"] = self._password
            if tag:
                kwargs["application_name"] = tag
        elif self.kind == "mysql":
            kwargs.setdefault("connect_timeout", DEFAULT_CONNECT_TIMEOUT_S)
            if self._password:  # PyMySQL encodes a str password as latin-1: é works, € fails,
                kwargs["password"] = self._password.encode("utf-8")  # and the server has UTF-8
            if tag:
                kwargs["program_name"] = tag
        elif self.kind == "odbc":
            if self._password:
                kwargs["PWD"] = _odbc_quote(self._password)
            kwargs["timeout"] = math.ceil(DEFAULT_CONNECT_TIMEOUT_S)
            if self.backend == "mysql" and _odbc_key(kwargs, "conn_timeout") is None:
                # MariaDB's driver ignores ODBC's login timeout: without its own, a server that
                # accepts and then says nothing hangs the handshake for ever
                kwargs["CONN_TIMEOUT"] = str(math.ceil(DEFAULT_CONNECT_TIMEOUT_S))
            if tag and self.backend == "postgresql":  # psqlODBC passes pqopt on to libpq
                key = next((k for k in kwargs if k.lower() == "pqopt"), "pqopt")
                options = _odbc_value(kwargs.pop(key, ""))
                kwargs[key] = _odbc_quote(f"{options} application_name={_libpq_quote(tag)}".strip())
        return kwargs

    def secrets(self) -> tuple[str, ...]:
        """Every secret the target holds (the password, sslpassword, ssl_key_password, a
        password inside psqlODBC's pqopt): what ``redact`` removes from any text."""
        found = [self._password or ""]
        for key, value in self._params:
            if self.kind == "odbc":
                found += _odbc_part_without_secrets(key, value, MASK)[1]
            elif key in SECRET_PARAMS and isinstance(value, str):
                found.append(value)
        return tuple(s for s in found if s)

    def connect(self, tag: str | None = None, timeout_s: float | None = None) -> Any:
        """A raw DB-API connection, or CannotConnect with a sentence saying why not.

        The timeout is ``timeout_s``, else the DSN's own connect timeout, else 5 s.
        """
        module = self.module()
        kwargs = self.connect_kwargs(tag)
        if timeout_s is None:
            given = kwargs.get("timeout" if self.kind == "odbc" else "connect_timeout")
            timeout_s = float(given) if given not in (None, "") else DEFAULT_CONNECT_TIMEOUT_S
        read_timeout = kwargs.get("read_timeout")
        if self.kind == "postgresql":
            kwargs["connect_timeout"] = str(max(1, math.ceil(timeout_s)))
        elif self.kind == "mysql":
            # connect_timeout only bounds the TCP connect; the handshake reads use read_timeout
            kwargs["connect_timeout"] = kwargs["read_timeout"] = timeout_s
        elif self.kind == "odbc":
            kwargs["timeout"] = max(1, math.ceil(timeout_s))
            if self.backend == "mysql" and _odbc_key(dict(self._params), "conn_timeout") is None:
                kwargs["CONN_TIMEOUT"] = str(kwargs["timeout"])  # ours, not the DSN's: follow
        try:
            con = module.connect(**kwargs)
            if self.kind == "sqlite":  # sqlite3 opens any file; reading the schema tells
                _check_sqlite_file(con)  # a database from a text file
        except Exception as exc:
            raise CannotConnect(describe_db_error(exc, self)) from exc
        if self.kind == "mysql" and hasattr(con, "_read_timeout"):
            con._read_timeout = read_timeout  # queries are not bounded by the connect timeout
        return con

    def backend_id(self, raw: Any) -> int | None:
        """The server's session id of a raw connection; call it right after connecting (ODBC
        asks the server, in one round trip, and rolls back if not in autocommit)."""
        if self.kind == "postgresql":
            return int(raw.info.backend_pid)
        if self.kind == "mysql":
            return int(raw.thread_id())
        sql = _ODBC_SESSION_SQL.get(self.backend) if self.kind == "odbc" else None
        if sql is None:
            return None
        cursor = raw.cursor()
        try:
            row = cursor.execute(sql).fetchone()
        finally:
            cursor.close()
        if not raw.autocommit:
            raw.rollback()
        return int(row[0])

    def cancel_statements(self, running: list[tuple[Any, int | None, Any]]) -> int:
        """Ask the server to cancel what these raw connections (with their session ids and the
        raw cursors running the statements) run now, from another thread; how many were asked.
        Harmless when one is running nothing.

        psycopg sends a cancel request, sqlite3 interrupts, PyMySQL has no cancel of its own,
        so one short second connection sends ``KILL QUERY`` for each session. pyodbc cancels a
        cursor (ODBC's SQLCancel, which the driver sends to the server from this thread).
        """
        if self.kind == "mysql":
            ids = [sid for _, sid, _ in running if sid is not None]
            if not ids:
                return 0
            killer = self.connect(timeout_s=2.0)
            try:
                cursor = killer.cursor()
                for sid in ids:
                    with contextlib.suppress(Exception):  # that session may have just ended
                        cursor.execute(f"KILL QUERY {int(sid)}")
                cursor.close()
            finally:
                killer.close()
            return len(ids)
        asked = 0
        for raw, _, cursor in running:
            with contextlib.suppress(Exception):  # the statement may have just ended
                if self.kind == "postgresql":
                    raw.cancel_safe(timeout=2.0)
                elif self.kind == "sqlite":
                    raw.interrupt()
                elif cursor is not None:
                    cursor.cancel()
                else:
                    continue
                asked += 1
        return asked

    def guard_session(self, raw: Any, guards: SessionGuards) -> None:
        """Bind a fresh raw connection by the workload's guards, enforced by the server: read-only
        unless writes were asked for, and the statement timeout. Runs right after connecting
        (and again on idle connections when the guards change), so it holds for DBUtils'
        transparent reconnects too, and even if pooltui is killed mid-statement."""
        timeout_ms = max(1, math.ceil(guards.statement_timeout_s * 1000))
        if self.kind == "sqlite":
            _guard_sqlite(raw, guards)
            return
        backend = self.backend if self.kind == "odbc" else self.kind
        statements: list[str] = []
        if backend == "postgresql":
            statements.append(f"SET statement_timeout = {timeout_ms}")
            if guards.read_only:
                statements.append("SET default_transaction_read_only = on")
            if self.kind == "postgresql" and raw.info.server_version >= 140000:
                # the server ends a statement whose client has gone (pooltui killed, socket shut)
                statements.append("SET client_connection_check_interval = 1000")
        elif backend == "mysql" and guards.read_only:
            statements.append("SET SESSION TRANSACTION READ ONLY")
        if self.kind == "odbc":  # ODBC's own timeout too, where the driver has it (psqlODBC not)
            with contextlib.suppress(Exception):
                raw.timeout = math.ceil(guards.statement_timeout_s)
        cursor = raw.cursor()
        try:
            for sql in statements:
                cursor.execute(sql)
            if backend == "mysql":
                _mysql_statement_timeout(cursor, timeout_ms)
        finally:
            cursor.close()
        if not getattr(raw, "autocommit", False):
            raw.commit()  # a SET inside a transaction would be undone by DBUtils' rollback

    def abort_connection(self, raw: Any) -> bool:
        """Cut a raw connection another thread may be blocked on (a frozen server, a statement
        that ignores its cancel): shut its socket down so that thread's read ends at once and a
        later close() does not wait behind it. False when the driver gives no way to do it."""
        with contextlib.suppress(Exception):  # already gone: nothing to cut
            if self.kind == "postgresql":
                fd = raw.pgconn.socket
                with socket.socket(fileno=os.dup(fd)) as sock:
                    sock.shutdown(socket.SHUT_RDWR)
                return True
            if self.kind == "mysql":
                sock = getattr(raw, "_sock", None)
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
                    return True
            if self.kind == "sqlite":
                raw.interrupt()
                return True
        return False

    def via(self, host: str, port: int) -> Target:
        """The same target reached at ``host:port`` instead (a fault proxy, a tunnel): the same
        user, database, options and private password. BadInput for SQLite, which has no
        address. A socket or ``hostaddr`` the DSN gave is dropped: it would win over the host."""
        if self.kind == "sqlite":
            raise BadInput("A SQLite database is a file, not a server address: there is no "
                           "host or port to point elsewhere.")
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if self.kind == "odbc":
            values = dict(self._params)
            server = next((k for k in ("server", "servername", "host") if _odbc_key(values, k)),
                          "server")
            replaced = {_odbc_key(values, server) or "Server": host,
                        _odbc_key(values, "port") or "Port": str(port)}
            kept = [(k, v) for k, v in self._params if k.lower() != "socket"
                    and k not in replaced] + list(replaced.items())
            parts = [(k, v) for k, v in odbc_parts(self.redacted[len("odbc:"):])
                     if k.lower() != "socket" and k.lower() not in {r.lower() for r in replaced}]
            redacted = "odbc:" + "".join(f"{k}={v};" for k, v in [*parts, *replaced.items()])
        else:
            dropped = {"host", "hostaddr", "port", "unix_socket"}
            kept = [(k, v) for k, v in self._params if k not in dropped]
            kept += [("host", host), ("port", port)]
            url = split_url(self.redacted)
            assert url is not None  # a URL target's redacted form is its URL
            query = "&".join(part for part in url.query.split("&")
                             if part and unquote(part.partition("=")[0]) not in dropped)
            redacted = (f"{url.scheme}://" + (f"{url.userinfo}@" if url.at else "") + shown
                        + f"/{url.path}" + (f"?{query}" if query else ""))
        return replace(self, host=host, port=port, redacted=redacted, _params=tuple(kept))

    def python_connect_code(self, password_env: str) -> str:
        """Python source defining ``creator`` and ``connect_kwargs`` for
        ``PooledDB(creator, <pool parameters>, **connect_kwargs)``; the password, if the target
        has one, is read from ``password_env`` at run time, never written."""
        module = self.facts.module_name
        kwargs: dict[str, Any] = {}
        withheld: list[str] = []
        for key, value in self._params:
            if self.kind == "odbc":
                value, hidden = _odbc_part_without_secrets(key, value, None)
                withheld += [f"{key}'s password"] if hidden else []
            elif key in SECRET_PARAMS:
                value = None
                withheld.append(key)
            if value is not None:
                kwargs[key] = value
        withheld.sort()
        body = ",\n".join(f"    {key!r}: {value!r}" for key, value in kwargs.items())
        lines = ["import os", "", f"import {module}", ""] if self.has_password else \
            [f"import {module}", ""]
        if module == "pyodbc":
            lines.append("pyodbc.pooling = False  # DBUtils pools; the driver manager must not")
        lines += [f"creator = {module}", "connect_kwargs = {" + (f"\n{body},\n" if body else "")
                  + "}"]
        lines += [f"# {key}: add it yourself (pooltui never writes a secret)" for key in withheld]
        if self.has_password and self.kind == "odbc":
            lines.append(f'connect_kwargs["PWD"] = "{{" + os.environ.get({password_env!r}, "")'
                         '.replace("}", "}}") + "}"')
        elif self.has_password:
            encode = '.encode("utf-8")' if self.kind == "mysql" else ""  # PyMySQL: latin-1
            lines.append(f'connect_kwargs["password"] = os.environ.get({password_env!r}, "")'
                         + encode)
        return "\n".join(lines) + "\n"


def _mysql_statement_timeout(cursor: Any, timeout_ms: int) -> None:
    """MariaDB bounds every statement with max_statement_time (seconds); MySQL has only
    max_execution_time (milliseconds, SELECT only). Tried in that order: the variable the
    server does not know fails with 1193 (unknown system variable)."""
    try:
        cursor.execute(f"SET SESSION max_statement_time = {timeout_ms / 1000:.3f}")
    except Exception:
        cursor.execute(f"SET SESSION max_execution_time = {timeout_ms}")


def _guard_sqlite(raw: Any, guards: SessionGuards) -> None:
    """SQLite has no server: ``query_only`` refuses writes, and a progress handler aborts a
    statement past the timeout, timed from its start as the trace callback reports it."""
    raw.execute(f"PRAGMA query_only = {1 if guards.read_only else 0}")
    limit = guards.statement_timeout_s
    started = [perf_counter()]

    def statement_started(_sql: str) -> None:
        started[0] = perf_counter()

    def past_timeout() -> int:
        return 1 if perf_counter() - started[0] > limit else 0  # nonzero aborts the statement

    raw.set_trace_callback(statement_started)
    raw.set_progress_handler(past_timeout, SQLITE_PROGRESS_STEPS)


# --- parsing -------------------------------------------------------------------------------------


def parse_dsn(dsn: str, *, password: str | None = None) -> Target:
    """Understand one of the four DSN forms (see FORMS); BadInput says what is wrong."""
    text = dsn.strip()
    scheme = text.partition(":")[0].lower() if ":" in text else ""
    if scheme in ("postgresql", "postgres"):
        return _parse_url(text, "postgresql", password)
    if scheme in ("mysql", "mariadb"):
        return _parse_url(text, "mysql", password)
    if scheme == "odbc":
        return _parse_odbc(text[len("odbc:"):], password)
    if scheme == "sqlite":
        return _parse_sqlite(text)
    named = f"the scheme {scheme!r}" if re.fullmatch(r"[a-z][a-z0-9+.-]{0,20}", scheme) else \
        "a DSN without a known scheme"
    raise BadInput(f"pooltui does not understand {named}: give one of " + "; ".join(FORMS) + ".")


def _env_password(kind: str) -> str | None:
    name = PASSWORD_ENVS[kind]
    return (os.environ.get(name) or None) if name else None


def _split_query(query: str, kind: str, allowed: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for part in filter(None, query.split("&")):
        key, _, value = part.partition("=")
        key, value = unquote(key), unquote(value)
        if key not in allowed:
            raise BadInput(f"The {kind} DSN has the unknown parameter {key!r}: use one of "
                           + ", ".join(sorted(allowed)) + ".")
        if key in params:
            raise BadInput(f"The {kind} DSN gives the parameter {key!r} twice: keep one.")
        try:
            params[key] = allowed[key](value)
        except ValueError as exc:
            shown = MASK if key in SECRET_PARAMS else value
            raise BadInput(f"The {kind} DSN parameter {key}={shown!r} is invalid ({exc}): "
                           "correct it.") from None
    return params


class UrlParts(NamedTuple):
    """A URL DSN cut into its parts; ``at``, ``slash`` and ``qmark`` say which separators it had."""

    scheme: str
    userinfo: str
    hostport: str
    path: str
    query: str
    at: bool
    slash: bool
    qmark: bool


def split_url(text: str) -> UrlParts | None:
    """The parts of a URL DSN; None without ``://``. Profiles strip passwords with it too.

    The user part ends at the *last* ``@``, so a password holding an unencoded ``/``, ``@`` or
    ``?`` stays in the user part (and out of every redacted form and error) instead of being
    taken for the host, the port, the database or the query. Only when what precedes the first
    ``?`` is a whole ``[user@]host[:port][/db]`` and a ``key=`` follows it is a later ``@`` part
    of a query value (``?application_name=me@laptop``).
    """
    scheme, sep, rest = text.partition("://")
    if not sep:
        return None
    head = rest.partition("?")[0]
    at = rest.rfind("@")
    if at > len(head) and _is_authority(head) and "=" in rest[len(head) + 1:at]:
        at = head.rfind("@")
    userinfo, rest = (rest[:at], rest[at + 1:]) if at >= 0 else ("", rest)
    rest, qmark, query = rest.partition("?")
    hostport, slash, path = rest.partition("/")
    return UrlParts(scheme, userinfo, hostport, path, query, at >= 0, bool(slash), bool(qmark))


def _is_authority(head: str) -> bool:
    """True when ``head`` reads as ``[user@]host[:port][/db]``: the port, if any, is digits."""
    hostport = head[head.rfind("@") + 1:].partition("/")[0]
    if hostport.startswith("["):
        _, bracket, port = hostport.partition("]")
        return bool(bracket) and (not port or (port[:1] == ":" and is_ascii_number(port[1:])))
    _, colon, port = hostport.partition(":")
    return not colon or is_ascii_number(port)


def _parse_url(text: str, kind: str, password: str | None) -> Target:
    parts = split_url(text)
    if parts is None:
        example = FORMS[0 if kind == "postgresql" else 1]
        raise BadInput(f"A {kind} DSN starts with {text.partition(':')[0]}://, as in {example}.")
    scheme, userinfo, hostport, path, query, at, slash, qmark = parts
    user_raw, colon, password_raw = userinfo.partition(":")
    if "," in hostport:
        raise BadInput(f"The {kind} DSN names several hosts: pooltui tunes one server, give one.")
    if hostport.startswith("["):
        host_raw, bracket, port_raw = hostport[1:].partition("]")
        if not bracket or (port_raw and not port_raw.startswith(":")):
            raise BadInput(f"The {kind} DSN has a malformed [IPv6] host: write [::1]:port.")
        port_raw = port_raw[1:]
    else:
        host_raw, _, port_raw = hostport.partition(":")
    port = None
    if port_raw:  # never quoted: with an '@' missing it is the password
        if not is_ascii_number(port_raw) or not 0 < int(port_raw) < 65536:
            raise BadInput(f"The {kind} DSN's port (after the host's ':') is not a number from "
                           "1 to 65535: correct it, and end a user:password part with '@'.")
        port = int(port_raw)
    allowed = _PG_PARAMS if kind == "postgresql" else _MYSQL_PARAMS
    params = _split_query(query, kind, allowed)
    host, user, database = unquote(host_raw), unquote(user_raw), unquote(path)
    secret = (unquote(password_raw) if colon else None) or params.pop("password", None) \
        or password or _env_password(kind)
    if kind == "postgresql":
        for key in _PG_INTS & params.keys():
            digits = params[key].strip().removeprefix("-")
            if not is_ascii_number(digits) or len(digits) > 9:  # libpq reads a C int
                raise BadInput(f"The postgresql DSN parameter {key}={params[key]!r} is not a "
                               "whole number of at most 9 digits: correct it.")
        if "sslmode" in params and params["sslmode"] not in _PG_SSLMODES:
            raise BadInput(f"The postgresql DSN has sslmode={params['sslmode']!r}: use one of "
                           + ", ".join(sorted(_PG_SSLMODES)) + ".")
        host, user = params.pop("host", host), params.pop("user", user)
        database = params.pop("dbname", database)
        port = int(params.pop("port")) if "port" in params else port
        if port is not None and not 0 < port < 65536:
            raise BadInput(f"The postgresql DSN port {port} is not a number from 1 to 65535.")
        base = {"host": host, "port": port, "dbname": database, "user": user}
    else:
        if "charset" in params:
            _check_charset(params["charset"])
        if host.startswith("/"):
            params.setdefault("unix_socket", host)
            host = "localhost"
        base = {"host": host, "port": port, "database": database, "user": user}
    _check_name_lengths(kind, kind, database=database, user=user)
    kwargs = {k: v for k, v in base.items() if v not in ("", None)} | params
    shown_query = "&".join(
        (f"{part.partition('=')[0]}={MASK}"
         if unquote(part.partition("=")[0]) in SECRET_PARAMS else part)
        for part in query.split("&")) if qmark else ""
    redacted = (f"{scheme}://" + (f"{user_raw}{':' + MASK if colon else ''}@" if at else "")
                + hostport + (f"/{path}" if slash else "") + (f"?{shown_query}" if qmark else ""))
    return Target(kind=kind, backend=kind, redacted=redacted, database=database,
                  facts=driver_facts(_MODULES[kind]), host=host,
                  port=port or (5432 if kind == "postgresql" else 3306), user=user,
                  password_env=PASSWORD_ENVS[kind], has_password=bool(secret),
                  _params=tuple(kwargs.items()), _password=secret)


def _check_name_lengths(kind: str, backend: str, **names: str) -> None:
    """Refuse a database or user name longer than the server can take (see _NAME_LIMITS)."""
    for what, name in names.items():
        limit, unit = _NAME_LIMITS.get(backend, {}).get(what, (0, ""))
        size = len(name.encode("utf-8")) if unit == "bytes" else len(name)
        if limit and size > limit:
            server = "PostgreSQL" if backend == "postgresql" else "MySQL/MariaDB"
            raise BadInput(f"The {kind} DSN's {what} name is {size} {unit} long, but {server} "
                           f"takes at most {limit}: correct the {what} name.")


def _check_sqlite_file(con: Any) -> None:
    """Read the schema: on a file that is not a database sqlite3 raises only now."""
    con.execute("PRAGMA schema_version").fetchall()


def _check_charset(name: str) -> None:
    try:
        from pymysql.charset import charset_by_name
    except ImportError:  # the driver is missing: connect() will say so
        return
    if charset_by_name(name) is None:
        raise BadInput(f"The mysql DSN has charset={name!r}, which PyMySQL does not know: use "
                       "e.g. utf8mb4.")


def _parse_sqlite(text: str) -> Target:
    rest = text[len("sqlite:"):]
    rest, _, query = rest.partition("?")
    if not rest.startswith("///"):
        raise BadInput("A SQLite DSN is sqlite:///path/to/file.db (three slashes, then the path; "
                       "four for an absolute path).")
    path = unquote(rest[3:])
    if path in ("", ":memory:") or path.startswith("file::memory:"):
        raise BadInput("pooltui cannot tune an in-memory SQLite database: every pooled connection "
                       "would see its own empty database; give a file path (sqlite:///file.db).")
    params = _split_query(query, "sqlite", _SQLITE_PARAMS)
    mode = params.pop("mode", "rw")
    if mode not in ("ro", "rw"):
        raise BadInput(f"The sqlite DSN has mode={mode!r}: use ro or rw.")
    absolute = Path(path).expanduser().absolute()
    kwargs = {"database": f"{absolute.as_uri()}?mode={mode}", "uri": True,
              "check_same_thread": False, "timeout": params.get("timeout", 5.0)}
    return Target(kind="sqlite", backend="sqlite", redacted=text, database=str(absolute),
                  facts=driver_facts("sqlite3"), _params=tuple(kwargs.items()))


# --- ODBC connection strings ----------------------------------------------------------------------


def _odbc_value(raw: str) -> str:
    if raw.startswith("{") and raw.endswith("}"):
        return raw[1:-1].replace("}}", "}")
    return raw


def _odbc_quote(value: str) -> str:
    return "{" + value.replace("}", "}}") + "}"


def _libpq_quote(value: str) -> str:
    if value and not re.search(r"[\s'\\]", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def odbc_parts(text: str) -> list[tuple[str, str]]:
    """Split ``key=value;...`` keeping each value as written ({braced} values may hold ;)."""
    parts: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in "; \t":
            i += 1
            continue
        eq, semi = text.find("=", i), text.find(";", i)
        if eq < 0 or (0 <= semi < eq):
            raise BadInput(f"Part {len(parts) + 1} of the ODBC connection string has no '=': "
                           "write key=value pairs separated by ';'.")
        key, i = text[i:eq].strip(), eq + 1
        if i < n and text[i] == "{":
            close = i + 1
            while True:
                close = text.find("}", close)
                if close < 0:
                    raise BadInput(f"The ODBC value of {key!r} opens a '{{' that never closes: "
                                   "close it (write }} for a literal }).")
                if text.startswith("}}", close):
                    close += 2
                    continue
                break
            raw, i = text[i:close + 1], close + 1
            if text[i:].lstrip(" \t")[:1] not in ("", ";"):
                raise BadInput(f"The ODBC value of {key!r} continues after its closing '}}': "
                               "put a ';' there.")
        else:
            end = n if semi < 0 else semi
            raw, i = text[i:end].strip(), end
        if any(k.lower() == key.lower() for k, _ in parts):
            raise BadInput(f"The ODBC connection string gives {key!r} twice: keep one.")
        parts.append((key, raw))
    return parts


def _odbc_backend(parts: dict[str, str]) -> str:
    driver = parts.get("driver", "")
    if not driver and parts.get("dsn"):
        try:  # a configured data source: odbc.ini knows its driver
            driver = _import_driver("pyodbc").dataSources().get(parts["dsn"], "")
        except Exception:
            driver = ""
    low = driver.lower()
    for needle, backend in (("postgres", "postgresql"), ("psql", "postgresql"),
                            ("mariadb", "mysql"), ("mysql", "mysql"), ("sqlite", "sqlite")):
        if needle in low:
            return backend
    return "unknown"


def _libpq_without_secrets(conninfo: str, mask: str | None) -> tuple[str, tuple[str, ...]]:
    """A libpq ``key=value ...`` string with its secret values masked (``mask``) or their pairs
    removed (None), and the secrets it held."""
    found: list[str] = []

    def clean(m: re.Match[str]) -> str:
        if m["key"].lower() not in _LIBPQ_SECRET_KEYS:
            return m[0]
        raw = m["value"]
        value = raw[1:-1] if raw[:1] == "'" and raw[-1:] == "'" and len(raw) > 1 else raw
        found.extend(v for v in {raw, re.sub(r"\\(.)", r"\1", value)} if v)
        return m[0].replace(raw, mask, 1) if mask is not None else ""

    return _LIBPQ_PAIR.sub(clean, conninfo).strip(), tuple(found)


def _odbc_part_without_secrets(key: str, raw: str,
                               mask: str | None) -> tuple[str | None, tuple[str, ...]]:
    """One ODBC value as written, its secrets masked (``mask``) or removed (None: None when
    nothing is left), and the secrets: PWD= itself, or a password inside a libpq pqopt."""
    low = key.lower()
    if low in ODBC_SECRET_KEYS:
        secret = _odbc_value(raw)
        return mask, ((secret,) if secret else ())
    if low not in _ODBC_CONNINFO_KEYS:
        return raw, ()
    cleaned, found = _libpq_without_secrets(_odbc_value(raw), mask)
    if not found:
        return raw, ()
    return (_odbc_quote(cleaned) if cleaned else None), found


def odbc_without_secrets(text: str, mask: str | None) -> str:
    """An ODBC connection string (after ``odbc:``) with every secret masked or removed."""
    parts = [(k, _odbc_part_without_secrets(k, v, mask)[0]) for k, v in odbc_parts(text)]
    return "".join(f"{k}={v};" for k, v in parts if v is not None)


def dsn_secrets(text: str) -> tuple[str, ...]:
    """The secrets a DSN as typed holds, in the forms written and decoded: what profiles refuse
    and what crash reports and usage errors must never show. A DSN pooltui cannot split gives
    whatever looks like ``password=...`` in it."""
    found: set[str] = set()
    url = split_url(text)
    odbc = text.lower().find("odbc:")
    if url is not None and (odbc < 0 or text.find("://") < odbc):
        password = url.userinfo.partition(":")[2]
        found |= {password, unquote(password)}
        for pair in url.query.split("&"):
            key, _, value = pair.partition("=")
            if unquote(key) in SECRET_PARAMS:
                found |= {value, unquote(value)}
    else:
        try:
            for key, raw in odbc_parts(text[odbc + 5:]) if odbc >= 0 else ():
                found |= set(_odbc_part_without_secrets(key, raw, MASK)[1])
                if key.lower() in ODBC_SECRET_KEYS:
                    found.add(raw)
        except BadInput:
            odbc = -1
        if odbc < 0:
            found = {form for m in KEY_PASSWORD.finditer(text)
                     for form in (m["value"], m["value"].strip("{}'"))}
    return tuple(sorted(s for s in found if s))


def _odbc_key(kwargs: dict[str, Any], name: str) -> str | None:
    """The key under which ``kwargs`` hold the ODBC attribute ``name`` (ODBC keys ignore case)."""
    return next((key for key in kwargs if key.lower() == name), None)


def _parse_odbc(text: str, password: str | None) -> Target:
    raw_parts = odbc_parts(text.strip())
    if not raw_parts:
        raise BadInput("The ODBC DSN is empty: write odbc:Driver={...};Server=...;Database=...")
    pwd_keys = ODBC_SECRET_KEYS
    values = {k.lower(): _odbc_value(v) for k, v in raw_parts}
    secret = next((values[k] for k in pwd_keys if k in values), None) or password \
        or _env_password("odbc")
    kept = [(k.upper() if k in _ODBC_SPECIAL else k, v) for k, v in raw_parts
            if k.lower() not in pwd_keys]
    port_text = values.get("port", "").strip()
    if port_text and (not is_ascii_number(port_text) or not 0 < int(port_text) < 65536):
        raise BadInput("The ODBC connection string's Port= is not a number from 1 to 65535: "
                       "correct it.")
    backend = _odbc_backend(values)
    redacted = "odbc:" + "".join(
        f"{k}={_odbc_part_without_secrets(k, v, MASK)[0]};" for k, v in raw_parts)

    def first(*keys: str) -> str:
        return next((values[k] for k in keys if values.get(k)), "")

    database, user = first("database", "db", "dsn"), first("uid", "user", "username", "user id")
    _check_name_lengths("ODBC", backend, database=first("database", "db"), user=user)
    return Target(kind="odbc", backend=backend, redacted=redacted,
                  database=database, facts=driver_facts("pyodbc"),
                  host=first("server", "host", "servername"),
                  port=int(port_text) if port_text else None,
                  user=user,
                  password_env=PASSWORD_ENVS["odbc"], has_password=bool(secret),
                  _params=tuple(kept), _password=secret)


# --- the embedded demo database -------------------------------------------------------------------


def demo_target() -> Target:
    """The embedded SQLite demo database (created once in the user data dir)."""
    from pooltui.core.demo import ensure_demo_db

    return parse_dsn("sqlite:///" + quote(str(ensure_demo_db())))
