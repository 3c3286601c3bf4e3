"""The driver seam: what a DB-API driver means to pooltui, and the Target it builds.

A ``Driver`` owns everything that differs between psycopg, PyMySQL, pyodbc, sqlite3 (or a
third-party driver): its DSN form, connect arguments and session tag, the connect timeout,
the server's session id, statement cancel, the session guards, cutting a connection, the
server probes, error classification and description, the exported connect code, the secrets
in its DSN and its tuning facts. A ``Dialect`` is what a server family speaks, whichever
driver carries the SQL: the native driver and ODBC share one (postgresql, mysql, sqlite).

Defaults here are the plain DB-API behaviour, so a new driver overrides only what differs.
"""

from __future__ import annotations

import contextlib
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pooltui.core.drivers import registry
from pooltui.core.drivers._dsn import (
    DEFAULT_CONNECT_TIMEOUT_S,
    SECRET_PARAMS,
    url_secrets,
    url_without_secrets,
)
from pooltui.core.errors import SQL, BadInput, CannotConnect, describe_db_error

if TYPE_CHECKING:
    from pooltui.core.config import SessionGuards

Running = list[tuple[Any, "int | None", Any]]  # (raw connection, server session id, cursor)


# --- facts ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriverFacts:
    """What the driver lets DBUtils do: the reason a parameter works, does nothing or traps."""

    module_name: str
    threadsafety: int
    can_ping: bool
    can_share: bool
    notes: tuple[str, ...]

    @property
    def driver(self) -> Driver | None:
        """The registered driver built on this module (None for one pooltui does not know)."""
        return registry.driver_for_module(self.module_name)

    @property
    def has_server(self) -> bool:
        """False for an embedded database (SQLite): no server to lose, no network."""
        return self.driver.has_server if self.driver else True

    @property
    def setsession_in_transaction(self) -> bool:
        """True when the driver opens a transaction before setsession runs (psycopg)."""
        return bool(self.driver and self.driver.setsession_in_transaction)

    @property
    def mysql_family(self) -> bool:
        """True when the driver only speaks to MySQL/MariaDB (a rollback costs a round trip)."""
        return bool(self.driver and self.driver.mysql_family)

    @property
    def advice(self) -> tuple[str, ...]:
        """What the recommendation tells every user of this driver."""
        return self.driver.advice if self.driver else ()


@cache
def driver_facts(module_name: str) -> DriverFacts:
    """Facts read from the installed driver (documented values if it cannot be imported)."""
    driver = registry.driver_for_module(module_name)
    if driver is None:
        raise KeyError(module_name)
    notes: list[str] = []
    try:
        module = driver.import_module()
        threadsafety = int(module.threadsafety)
        can_ping = callable(getattr(getattr(module, "Connection", None), "ping", None))
    except ImportError as exc:
        threadsafety, can_ping = driver.documented_threadsafety, driver.documented_ping
        notes.append(f"The driver {module_name} cannot be imported here ({exc}).")
    if threadsafety >= 2:
        notes.append(
            f"threadsafety {threadsafety}: DBUtils honours maxshared and lets threads "
            "share a connection."
        )
    else:
        notes.append(
            f"threadsafety {threadsafety}: DBUtils ignores maxshared (sets it to 0), "
            "every checkout is a dedicated connection."
        )
    if can_ping:
        notes.append(
            "ping() works: ping=1 checks each connection taken from the idle cache and "
            "reopens it if the server closed it, at one round trip per checkout."
        )
    else:
        notes.append(
            f"{module_name} connections have no ping(): DBUtils' ping bitmask is a "
            "silent no-op unless ping_query is set (DBUtils then runs that SQL instead)."
        )
    notes.extend(driver.notes)
    return DriverFacts(module_name, threadsafety, can_ping, threadsafety >= 2, tuple(notes))


@dataclass(frozen=True)
class ServerInfo:
    """The server's connection limits and idle timeouts (None where it has no such thing)."""

    version: str
    max_connections: int | None
    reserved_connections: int | None  # PG: superuser (+ PG16 reserved); MySQL: the admin slot
    connections_in_use: int | None  # client sessions now, not counting the probe's own
    wait_timeout_s: float | None  # MySQL: idle non-interactive sessions are closed after it
    idle_session_timeout_s: float | None  # PostgreSQL >= 14, None when 0 (off)
    product: str = ""  # "PostgreSQL" | "MariaDB" | "MySQL" | "SQLite" | DBMS name
    # sessions running a statement now, not counting the probe's own (None: cannot say)
    active_sessions: int | None = None

    @property
    def described(self) -> str:
        """The server as a person names it: "PostgreSQL 15.20 (Debian ...)", not the bare
        "15.20 (Debian ...)" PostgreSQL reports (over ODBC nothing else says which family it
        is); MariaDB's version names itself already, so it is not said twice."""
        if not self.product or self.product.lower() in self.version.lower():
            return self.version or self.product
        return f"{self.product} {self.version}".strip()

    @property
    def mysql_family(self) -> bool:
        """MySQL or MariaDB, by what the server calls itself."""
        name = f"{self.product} {self.version}".lower()
        return "mysql" in name or "mariadb" in name

    @property
    def reserves_inside(self) -> bool:
        """True when the reserved slots are part of max_connections (PostgreSQL's for
        superusers); MySQL's admin slot is on top of it (max_connections + 1)."""
        return self.product not in ("MySQL", "MariaDB")

    @property
    def usable_connections(self) -> int | None:
        """Slots an ordinary application role can take. PostgreSQL reserves its slots inside
        max_connections; MySQL allows max_connections + 1, the extra one for CONNECTION_ADMIN."""
        if self.max_connections is None:
            return None
        if not self.reserves_inside:
            return self.max_connections
        return self.max_connections - (self.reserved_connections or 0)

    @property
    def free_connections(self) -> int | None:
        """Slots an application could still open now: usable minus the sessions others hold
        (the probe's own not counted). None when the server has no limit or cannot tell."""
        usable = self.usable_connections
        if usable is None or self.connections_in_use is None:
            return None
        return max(0, usable - self.connections_in_use)

    def free_per_process(self, processes: int) -> int | None:
        """The connections each of ``processes`` worker processes (each with its own pool) may
        open so that the fleet fits in what is free: the headroom that tune's constraint and
        the fleet's refusal both use."""
        free = self.free_connections
        return None if free is None else free // max(1, processes)


def rows(con: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run ``sql`` on a raw connection and return its rows (none for a statement)."""
    cursor = con.cursor()
    try:
        cursor.execute(sql, params) if params else cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
    finally:
        cursor.close()


def dbapi_error_code(exc: BaseException) -> str | None:
    """The DB-API convention for an error's code: an int errno (PyMySQL: (2013, "Lost ..."))
    or a SQLSTATE followed by a message (pyodbc: ("08S01", "[08S01] ...")) as first argument."""
    args = getattr(exc, "args", ())
    code = args[0] if args else None
    if isinstance(code, int) and not isinstance(code, bool):
        return str(code)
    if isinstance(code, str) and len(code) == 5 and code.isalnum() and len(args) > 1:
        return code
    return None


# --- dialects -------------------------------------------------------------------------------------


class Dialect:
    """What one server family speaks, whichever DB-API driver carries the SQL. The defaults
    are a server pooltui knows nothing about: no limits, no session counts, no guards."""

    name = "unknown"  # Target.backend
    product = "database"  # how sentences name the server
    default_port: int | None = None
    is_file = False  # a file, not a server: no address, no network to break
    counts_sessions = False  # the server can count and end the pool's sessions
    external_pooler: str | None = None  # the pooler a fleet could share (PgBouncer)
    session_id_sql: str | None = None  # SQL giving the session's id, for drivers without an API
    name_limits: dict[str, tuple[int, str]] = {}  # "database"/"user" -> (limit, unit)
    # what the server's error codes (SQLSTATE, errno as text) mean, in a person's words: the
    # error table says "the server ended the session", not "AdminShutdown(57P01)"
    code_meanings: dict[str, str] = {}

    def probe(self, con: Any) -> ServerInfo | None:
        """The server's limits read over ``con`` (None: the dialect cannot say)."""
        return None

    def active_sessions(self, con: Any) -> int | None:
        """The sessions running a statement now, not the asking one (None: the server
        cannot say): what a tune's health watch reads as the server's own load."""
        return None

    def guard_statements(self, guards: SessionGuards, timeout_ms: int) -> list[str]:
        """SET statements binding a session by the guards."""
        return []

    def guard_cursor(self, cursor: Any, timeout_ms: int) -> None:
        """Guards that need trying on the cursor itself (MySQL vs MariaDB variables)."""

    def exported_guards(
        self, guards: SessionGuards, timeout_ms: int
    ) -> tuple[list[str], list[str], list[str]]:
        """The guards as an exported script runs them on each new connection, without pooltui:
        (statements that must all work, statements of which the first the server accepts is
        enough, statements tried and skipped where the server lacks them)."""
        return self.guard_statements(guards, timeout_ms), [], []

    def count_sql(self, tag: str | None, ids: str, mark: str) -> tuple[str, tuple[Any, ...]] | None:
        """SQL counting the sessions tagged ``tag`` or with the ``ids`` (a literal list), not
        the asking session; None when nothing is asked for."""
        return None

    def terminate(self, con: Any, tag: str | None, ids: set[int], mark: str) -> int:
        """End those sessions over ``con``; how many the server agreed to end."""
        return 0


UNKNOWN = Dialect()


def check_name_lengths(label: str, dialect: Dialect, **names: str) -> None:
    """Refuse a database or user name longer than the server can take (``name_limits``)."""
    for what, name in names.items():
        limit, unit = dialect.name_limits.get(what, (0, ""))
        size = len(name.encode("utf-8")) if unit == "bytes" else len(name)
        if limit and size > limit:
            raise BadInput(
                f"The {label} DSN's {what} name is {size} {unit} long, but "
                f"{dialect.product} takes at most {limit}: correct the {what} name."
            )


# --- the driver interface -------------------------------------------------------------------------


class Driver(ABC):
    """One DB-API driver. Subclass it, set the class attributes, implement ``parse`` and
    ``connect_kwargs``, and override what your driver does differently; register the instance
    with ``register_driver`` or the ``pooltui.drivers`` entry-point group."""

    name: str = ""  # Target.kind: "postgresql", "mysql", ...
    schemes: tuple[str, ...] = ()  # DSN schemes it serves, lower case
    dsn_prefixes: tuple[str, ...] = ()  # how its DSNs start (profiles check a DSN with them)
    form: str = ""  # the DSN form, as the help shows it
    example: str = ""  # a short example for the connect screen
    module_name: str = ""  # the DB-API module
    label: str = ""  # the module as its documentation names it
    documented_threadsafety: int = 1  # used when the module cannot be imported here
    documented_ping: bool = False
    password_env: str = ""  # env var a password is read from ("" = none)
    placeholder: str = "%s"  # paramstyle marker for probe queries
    connect_timeout_key: str | None = "connect_timeout"  # DSN key of the connect timeout
    read_timeout_option: str | None = None  # DSN option bounding a read on a frozen server
    has_server: bool = True  # False: embedded (SQLite), nothing to lose or count
    setsession_in_transaction: bool = False
    # one execute may carry several statements (no parameters): the guards then cost one round
    # trip per new connection, not one per SET, and DBUtils connects under its pool lock
    batches_statements: bool = False
    mysql_family: bool = False
    notes: tuple[str, ...] = ()  # tuning facts shown with the driver's facts
    advice: tuple[str, ...] = ()  # what a recommendation tells its users
    # under gevent (Locust runs its users as greenlets): why the driver yields to the loop while
    # it waits for the server; "" when it blocks the whole loop (C code on its own socket)
    gevent_cooperation: str = ""

    @property
    def error_modules(self) -> tuple[str, ...]:
        """Module prefixes of the exceptions this driver raises."""
        return (self.module_name,)

    # --- the DSN ---

    @abstractmethod
    def parse(self, text: str, password: str | None) -> Target:
        """The Target for a DSN of this driver's form; BadInput says what is wrong."""

    def dialect(self, target: Target) -> Dialect:
        """The server family the target speaks to."""
        return UNKNOWN

    def find_dsn(self, text: str) -> int:
        """Where a DSN of this form starts in ``text`` (-1: nowhere): which driver reads the
        secrets of a text that may hold anything."""
        return text.find("://")

    def dsn_secrets(self, text: str, at: int) -> tuple[str, ...] | None:
        """The secrets in the DSN found at ``at`` of ``text``; None if it cannot be split."""
        return url_secrets(text)

    def dsn_without_secrets(self, dsn: str) -> str:
        """The DSN with its secrets removed (not masked), to be written anywhere."""
        return url_without_secrets(dsn)

    def secrets(self, target: Target) -> tuple[str, ...]:
        """Every secret the target holds: what ``redact`` removes from any text."""
        found = [target._password or ""]
        found += [
            value
            for key, value in target._params
            if key in SECRET_PARAMS and isinstance(value, str)
        ]
        return tuple(s for s in found if s)

    def via(self, target: Target, host: str, port: int) -> Target:
        """The same target reached at ``host:port`` (a fault proxy, a tunnel)."""
        raise BadInput(f"A {self.name} target has no host or port to point elsewhere.")

    # --- connecting ---

    def import_module(self) -> ModuleType:
        """The DB-API module, set up for pooling under DBUtils."""
        return import_module(self.module_name)

    # the DSN parameter that names the session on the server (application_name, program_name)
    session_name_param: str | None = None

    def session_name(self, target: Target) -> str | None:
        """The session name the DSN itself sets, which pooltui's tag keeps as its prefix (an
        application's own name stays visible on the server); None without one."""
        if self.session_name_param is None:
            return None
        value = dict(target._params).get(self.session_name_param)
        return value.strip() or None if isinstance(value, str) else None

    def session_tag(self, target: Target, own: str) -> str:
        """The tag pooltui's sessions carry: ``own`` (``pooltui-<pid>-<n>``), after the DSN's
        session name (``myapp/pooltui-…``); the name is cut to printable ASCII and to what the
        server keeps whole (``name_limits["session"]``), so the tag the probes count by is the
        name the server reports."""
        name = self.session_name(target)
        if not name:
            return own
        name = "".join(c if " " <= c <= "~" else "_" for c in name)
        limit, _ = self.dialect(target).name_limits.get("session", (0, ""))
        if limit:
            name = name[: max(0, limit - len(own) - 1)]
        return f"{name}/{own}" if name else own

    @abstractmethod
    def connect_kwargs(self, target: Target, tag: str | None) -> dict[str, Any]:
        """Keyword arguments for ``module.connect``; ``tag`` names the session on the server."""

    def apply_connect_timeout(
        self, target: Target, kwargs: dict[str, Any], timeout_s: float
    ) -> None:
        """Bound the connect by ``timeout_s`` in the driver's own terms (default: not at all)."""
        return None

    def opened(self, target: Target, con: Any) -> None:
        """Checks and settings right after ``module.connect`` returned (errors: CannotConnect)."""
        return None

    def connect(self, target: Target, tag: str | None, timeout_s: float | None) -> Any:
        """A raw DB-API connection, or CannotConnect with a sentence saying why not."""
        module = target.module()
        kwargs = self.connect_kwargs(target, tag)
        if timeout_s is None:
            given = kwargs.get(self.connect_timeout_key) if self.connect_timeout_key else None
            timeout_s = (
                float(given) if given is not None and given != "" else DEFAULT_CONNECT_TIMEOUT_S
            )
        self.apply_connect_timeout(target, kwargs, timeout_s)
        try:
            con = module.connect(**kwargs)
            self.opened(target, con)
        except Exception as exc:
            raise CannotConnect(describe_db_error(exc, target)) from exc
        return con

    def set_autocommit(self, con: Any) -> None:
        """Put a probe's connection in autocommit where the driver has the attribute (the
        DB-API does not require it: without, the probe's reads run in a transaction)."""
        with contextlib.suppress(AttributeError):
            con.autocommit = True

    # --- sessions ---

    def backend_id(self, target: Target, raw: Any) -> int | None:
        """The server's session id of a fresh raw connection (None: the driver cannot say)."""
        sql = self.dialect(target).session_id_sql
        if sql is None:
            return None
        cursor = raw.cursor()
        try:
            cursor.execute(sql)
            row = cursor.fetchone()
        finally:
            cursor.close()
        if not getattr(raw, "autocommit", False):
            raw.rollback()
        return int(row[0])

    def cancel_statements(self, target: Target, running: Running) -> int:
        """Cancel what these raw connections run now, from another thread; how many were
        asked. The DB-API has no cancel: the default cancels each cursor that has one."""
        asked = 0
        for _, _, cursor in running:
            with contextlib.suppress(Exception):
                if cursor is None:
                    continue
                cursor.cancel()
                asked += 1
        return asked

    def session_statements(
        self, target: Target, raw: Any, guards: SessionGuards, timeout_ms: int
    ) -> list[str]:
        """The SET statements ``guard_session`` runs."""
        return self.dialect(target).guard_statements(guards, timeout_ms)

    def guard_session(self, target: Target, raw: Any, guards: SessionGuards) -> None:
        """Bind a fresh raw connection by the workload's guards, enforced by the server."""
        timeout_ms = max(1, math.ceil(guards.statement_timeout_s * 1000))
        statements = self.session_statements(target, raw, guards, timeout_ms)
        cursor = raw.cursor()
        try:
            for sql in ["; ".join(statements)] if self.batches_statements else statements:
                if sql:
                    cursor.execute(sql)
            self.dialect(target).guard_cursor(cursor, timeout_ms)
        finally:
            cursor.close()
        if not getattr(raw, "autocommit", False):
            raw.commit()  # a SET inside a transaction would be undone by DBUtils' rollback

    def abort_connection(self, raw: Any) -> bool:
        """Cut a raw connection another thread may be blocked on; False: no way to."""
        return False

    # --- the server ---

    def probe(self, target: Target, con: Any) -> ServerInfo:
        """The server's limits over the probe connection ``con``."""
        found = self.dialect(target).probe(con)
        return found or ServerInfo("", None, None, None, None, None, self.dialect(target).product)

    def count_sessions(self, target: Target, con: Any, tag: str | None, ids: str) -> int:
        """The server's count of the sessions tagged ``tag`` or with the ``ids``."""
        query = self.dialect(target).count_sql(tag, ids, self.placeholder)
        return int(rows(con, *query)[0][0]) if query else 0

    def terminate_sessions(self, target: Target, con: Any, tag: str | None, ids: set[int]) -> int:
        """End those sessions; how many the server agreed to end."""
        return self.dialect(target).terminate(con, tag, ids, self.placeholder)

    # --- errors ---

    def failure_class(self, exc: BaseException) -> str:
        """What a failure of this driver means, by its code (see core/errors.py)."""
        return SQL

    def error_code(self, exc: BaseException) -> str | None:
        """The code shown after the class in the error table (see dbapi_error_code)."""
        return dbapi_error_code(exc)

    def setup_sentence(self, exc: BaseException, seen: Any) -> str | None:
        """A sentence about the client's own setup (checked before what the server said)."""
        return None

    def local_sentence(self, exc: BaseException, seen: Any, target: Any) -> str | None:
        """A sentence for failures of the driver itself (checked after the connection ones)."""
        return None

    def where(self, target: Any) -> str | None:
        """How sentences name the place of the database (None: by host and port)."""
        return None

    # --- the export ---

    def export_kwargs(self, target: Target) -> tuple[dict[str, Any], list[str]]:
        """The connect arguments exported code may write, and the names of those withheld."""
        kwargs: dict[str, Any] = {}
        withheld: list[str] = []
        for key, value in target._params:
            if key in SECRET_PARAMS:
                withheld.append(key)
            else:
                kwargs[key] = value
        return kwargs, withheld

    def export_setup(self) -> list[str]:
        """Lines after the import (e.g. turning the driver's own pooling off)."""
        return []

    def export_password(self, password_env: str) -> str:
        """The line that reads the password from ``password_env`` at run time."""
        return f'connect_kwargs["password"] = os.environ.get({password_env!r}, "")'

    def python_connect_code(self, target: Target, password_env: str) -> str:
        """Python source defining ``creator`` and ``connect_kwargs`` for ``PooledDB``; the
        password is read from ``password_env`` at run time, never written."""
        module = self.module_name
        kwargs, withheld = self.export_kwargs(target)
        withheld.sort()
        body = ",\n".join(f"    {key!r}: {value!r}" for key, value in kwargs.items())
        lines = (
            ["import os", "", f"import {module}", ""]
            if target.has_password
            else [f"import {module}", ""]
        )
        lines += self.export_setup()
        lines += [
            f"creator = {module}",
            "connect_kwargs = {" + (f"\n{body},\n" if body else "") + "}",
        ]
        lines += [f"# {key}: add it yourself (pooltui never writes a secret)" for key in withheld]
        if target.has_password:
            lines.append(self.export_password(password_env))
        return "\n".join(lines) + "\n"


# --- the target -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One database to tune against. Build it with parse_dsn() or demo_target(); what it can
    do is its driver's (``target.driver``), found by ``kind`` in the registry."""

    kind: str  # the driver's name: "postgresql" | "mysql" | "odbc" | "sqlite"
    backend: str  # the dialect's name: "postgresql" | "mysql" | "sqlite" | "unknown"
    redacted: str  # the DSN with any password shown as ***
    facts: DriverFacts
    database: str  # database name or file path, for display
    host: str = ""  # "" = the driver's default (local socket); a path = socket dir
    port: int | None = None
    user: str = ""
    password_env: str = ""  # env var exported code reads the password from
    has_password: bool = False
    _params: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
    _password: str | None = field(default=None, repr=False)

    @property
    def driver(self) -> Driver:
        """The driver that made this target and does everything driver-specific for it."""
        return registry.driver_named(self.kind)

    @property
    def dialect(self) -> Dialect:
        """The server family the target speaks to."""
        return self.driver.dialect(self)

    def module(self) -> ModuleType:
        """The DB-API module (for ODBC with driver-manager pooling turned off)."""
        try:
            return self.driver.import_module()
        except ImportError as exc:
            raise CannotConnect(describe_db_error(exc, self)) from exc

    def connect_kwargs(self, tag: str | None = None) -> dict[str, Any]:
        """Keyword arguments for ``module().connect``; ``tag`` names the session on the server."""
        return self.driver.connect_kwargs(self, tag)

    def session_tag(self, own: str) -> str:
        """The name pooltui's sessions carry on the server: ``own`` after the DSN's own
        session name, if it sets one (``application_name=myapp`` → ``myapp/pooltui-…``)."""
        return self.driver.session_tag(self, own)

    @property
    def session_name(self) -> str | None:
        """The session name the DSN sets (application_name, program_name), if any."""
        return self.driver.session_name(self)

    def secrets(self) -> tuple[str, ...]:
        """Every secret the target holds (the password, sslpassword, ssl_key_password, a
        password inside psqlODBC's pqopt): what ``redact`` removes from any text."""
        return self.driver.secrets(self)

    def connect(self, tag: str | None = None, timeout_s: float | None = None) -> Any:
        """A raw DB-API connection, or CannotConnect with a sentence saying why not.

        The timeout is ``timeout_s``, else the DSN's own connect timeout, else 5 s.
        """
        return self.driver.connect(self, tag, timeout_s)

    def backend_id(self, raw: Any) -> int | None:
        """The server's session id of a raw connection; call it right after connecting (ODBC
        asks the server, in one round trip, and rolls back if not in autocommit)."""
        return self.driver.backend_id(self, raw)

    def cancel_statements(self, running: Running) -> int:
        """Ask the server to cancel what these raw connections (with their session ids and the
        raw cursors running the statements) run now, from another thread; how many were asked.
        Harmless when one is running nothing."""
        return self.driver.cancel_statements(self, running)

    def guard_session(self, raw: Any, guards: SessionGuards) -> None:
        """Bind a fresh raw connection by the workload's guards, enforced by the server: read-only
        unless writes were asked for, and the statement timeout. Runs right after connecting
        (and again on idle connections when the guards change), so it holds for DBUtils'
        transparent reconnects too, and even if pooltui is killed mid-statement."""
        self.driver.guard_session(self, raw, guards)

    def abort_connection(self, raw: Any) -> bool:
        """Cut a raw connection another thread may be blocked on (a frozen server, a statement
        that ignores its cancel): shut its socket down so that thread's read ends at once and a
        later close() does not wait behind it. False when the driver gives no way to do it."""
        return self.driver.abort_connection(raw)

    def via(self, host: str, port: int) -> Target:
        """The same target reached at ``host:port`` instead (a fault proxy, a tunnel): the same
        user, database, options and private password. BadInput for SQLite, which has no
        address. A socket or ``hostaddr`` the DSN gave is dropped: it would win over the host."""
        return self.driver.via(self, host, port)

    def python_connect_code(self, password_env: str) -> str:
        """Python source defining ``creator`` and ``connect_kwargs`` for
        ``PooledDB(creator, <pool parameters>, **connect_kwargs)``; the password, if the target
        has one, is read from ``password_env`` at run time, never written."""
        return self.driver.python_connect_code(self, password_env)
