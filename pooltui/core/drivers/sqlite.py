"""SQLite through sqlite3: a file, not a server. No session to count or cut, the guards are
PRAGMAs and a progress handler, a stop is ``interrupt()``."""

from __future__ import annotations

from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from pooltui.core.drivers._dsn import positive, split_query
from pooltui.core.drivers.base import (
    Dialect,
    Driver,
    Running,
    ServerInfo,
    Target,
    driver_facts,
    rows,
)
from pooltui.core.errors import CANCELLED, SQL, WRITE, BadInput

if TYPE_CHECKING:
    from pooltui.core.config import SessionGuards

SQLITE_PROGRESS_STEPS = 10_000  # SQLite VM steps between two checks of the statement timeout
_INTERRUPT, _READONLY = 9, 8
_PARAMS: dict[str, Any] = {"timeout": positive(float, low_ok=True), "mode": str}


class SqliteDialect(Dialect):
    """A SQLite database file (natively or through an SQLite ODBC driver)."""

    name = "sqlite"
    product = "SQLite"
    is_file = True


SQLITE = SqliteDialect()


class SqliteDriver(Driver):
    """sqlite3, with ``check_same_thread=False`` so the pool can hand a connection to any
    thread, and a file URI so ``mode=ro`` holds."""

    name = "sqlite"
    schemes = ("sqlite",)
    dsn_prefixes = ("sqlite:///",)
    form = "sqlite:///path/to/file.db"
    example = "sqlite:///path/file.db"
    module_name = "sqlite3"
    label = "sqlite3"
    connect_timeout_key = None  # its "timeout" is the busy timeout, not a connect timeout
    has_server = False
    notes = (
        "sqlite3 connections must be opened with check_same_thread=False to be "
        "pooled across threads; pooltui does so.",
        "SQLite has no connection limit: writers serialise on the database lock "
        "and wait up to the busy timeout.",
    )

    def dialect(self, target: Target) -> Dialect:
        return SQLITE

    def parse(self, text: str, password: str | None) -> Target:
        rest = text[text.index(":") + 1 :]
        rest, _, query = rest.partition("?")
        if not rest.startswith("///"):
            raise BadInput(
                "A SQLite DSN is sqlite:///path/to/file.db (three slashes, then the "
                "path; four for an absolute path)."
            )
        path = unquote(rest[3:])
        if path in ("", ":memory:") or path.startswith("file::memory:"):
            raise BadInput(
                "pooltui cannot tune an in-memory SQLite database: every pooled "
                "connection would see its own empty database; give a file path "
                "(sqlite:///file.db)."
            )
        params = split_query(query, "sqlite", _PARAMS)
        mode = params.pop("mode", "rw")
        if mode not in ("ro", "rw"):
            raise BadInput(f"The sqlite DSN has mode={mode!r}: use ro or rw.")
        absolute = Path(path).expanduser().absolute()
        kwargs = {
            "database": f"{absolute.as_uri()}?mode={mode}",
            "uri": True,
            "check_same_thread": False,
            "timeout": params.get("timeout", 5.0),
        }
        return Target(
            kind=self.name,
            backend=SQLITE.name,
            redacted=text,
            database=str(absolute),
            facts=driver_facts(self.module_name),
            _params=tuple(kwargs.items()),
        )

    def via(self, target: Target, host: str, port: int) -> Target:
        raise BadInput(
            "A SQLite database is a file, not a server address: there is no "
            "host or port to point elsewhere."
        )

    def connect_kwargs(self, target: Target, tag: str | None) -> dict[str, Any]:
        return dict(target._params)

    def opened(self, target: Target, con: Any) -> None:
        """Read the schema: sqlite3 opens any file, and on one that is not a database it
        raises only now."""
        con.execute("PRAGMA schema_version").fetchall()

    def set_autocommit(self, con: Any) -> None:
        """sqlite3's default is fine for the probes' reads."""

    def cancel_statements(self, target: Target, running: Running) -> int:
        """sqlite3 interrupts the connection's running statement."""
        asked = 0
        for raw, _, _ in running:
            try:
                raw.interrupt()
            except Exception:  # the connection may have just been closed
                continue
            asked += 1
        return asked

    def guard_session(self, target: Target, raw: Any, guards: SessionGuards) -> None:
        """SQLite has no server: ``query_only`` refuses writes, and a progress handler aborts a
        statement past the timeout, timed from its start as the trace callback reports it."""
        raw.execute(f"PRAGMA query_only = {1 if guards.read_only else 0}")
        limit = guards.statement_timeout_s
        started = [perf_counter()]

        def statement_started(_sql: str) -> None:
            started[0] = perf_counter()

        def past_timeout() -> int:
            return 1 if perf_counter() - started[0] > limit else 0  # nonzero aborts it

        raw.set_trace_callback(statement_started)
        raw.set_progress_handler(past_timeout, SQLITE_PROGRESS_STEPS)

    def abort_connection(self, raw: Any) -> bool:
        try:
            raw.interrupt()
        except Exception:  # already gone: nothing to cut
            return False
        return True

    def probe(self, target: Target, con: Any) -> ServerInfo:
        version = rows(con, "SELECT sqlite_version()")[0][0]
        return ServerInfo(str(version), None, None, None, None, None, SQLITE.product)

    def failure_class(self, exc: BaseException) -> str:
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None:
            return SQL
        # extended codes carry the primary code in their low byte
        return {_INTERRUPT: CANCELLED, _READONLY: WRITE}.get(code & 0xFF, SQL)

    def where(self, target: Any) -> str | None:
        return f"the SQLite file {getattr(target, 'database', '')}"

    def local_sentence(self, exc: BaseException, seen: Any, target: Any) -> str | None:
        database = getattr(target, "database", "") or "(default)"
        if seen.says("unable to open database"):
            return (
                f"The SQLite database {database!r} cannot be opened: check that the file "
                "exists and is readable (pooltui never creates it)."
            )
        if seen.says("file is not a database", "encrypted or is not a database"):
            return (
                f"The file {database!r} is not a SQLite database: give the path of a SQLite "
                "database file (pooltui never creates or overwrites one)."
            )
        if seen.says("database is locked", "database is busy"):
            return (
                "The SQLite database is locked by another writer: retry, or raise the busy "
                "timeout with ?timeout=SECONDS in the DSN."
            )
        return None
