"""ODBC through pyodbc: ``odbc:<connection string>``, with the server family ("backend") read
from the ODBC driver's name. What a backend speaks is its Dialect (shared with the native
driver); what its ODBC driver needs besides (psqlODBC's pqopt, MariaDB's CONN_TIMEOUT) is a
small ``OdbcBackend`` here. Nothing outside this module knows which backend it is."""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import replace
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pooltui.core.drivers._dsn import DEFAULT_CONNECT_TIMEOUT_S, env_password, is_ascii_number
from pooltui.core.drivers.base import (
    UNKNOWN,
    Dialect,
    Driver,
    ServerInfo,
    Target,
    check_name_lengths,
    driver_facts,
)
from pooltui.core.drivers.mysql import MYSQL, by_errno
from pooltui.core.drivers.postgresql import POSTGRESQL, by_sqlstate
from pooltui.core.drivers.sqlite import SQLITE
from pooltui.core.errors import CONNECTION, MASK, SQL, TIMEOUT, BadInput

if TYPE_CHECKING:
    from pooltui.core.config import SessionGuards

ODBC_SECRET_KEYS = frozenset({"pwd", "password"})
_SPECIAL = {"autocommit", "timeout", "readonly", "attrs_before", "encoding", "ansi"}
# ODBC values that are libpq conninfo strings (psqlODBC hands pqopt to libpq), and the libpq
# keywords in them that are secrets
_CONNINFO_KEYS = frozenset({"pqopt"})
_LIBPQ_SECRET_KEYS = frozenset({"password", "sslpassword"})
_LIBPQ_PAIR = re.compile(
    r"(?P<sep>\s*)(?P<key>[A-Za-z_]+)\s*=\s*(?P<value>'(?:[^'\\]|\\.)*'|(?:\\.|[^\s\\])*)"
)
# psqlODBC refuses an option given both in pqopt and as an ordinary one (PWD= and pqopt's
# password=): "password parameter in pqopt option conflicts with other ordinary option"
_PQOPT_CLASH = re.compile(r"(\w+) parameter in pqopt option conflicts with other ordinary option")
# MariaDB ends a message with its native code: "... (2006) (SQLExecDirectW)"
_NATIVE_ERRNO = re.compile(r"\((\d{4})\) \(SQL\w+\)\s*$")


# --- connection strings ---------------------------------------------------------------------------


def odbc_value(raw: str) -> str:
    """A value as written, {braces} and }} undone."""
    if raw.startswith("{") and raw.endswith("}"):
        return raw[1:-1].replace("}}", "}")
    return raw


def odbc_quote(value: str) -> str:
    return "{" + value.replace("}", "}}") + "}"


def libpq_quote(value: str) -> str:
    if value and not re.search(r"[\s'\\]", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def odbc_key(kwargs: dict[str, Any], name: str) -> str | None:
    """The key under which ``kwargs`` hold the ODBC attribute ``name`` (ODBC keys ignore case)."""
    return next((key for key in kwargs if key.lower() == name), None)


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
            raise BadInput(
                f"Part {len(parts) + 1} of the ODBC connection string has no '=': "
                "write key=value pairs separated by ';'."
            )
        key, i = text[i:eq].strip(), eq + 1
        if i < n and text[i] == "{":
            close = i + 1
            while True:
                close = text.find("}", close)
                if close < 0:
                    raise BadInput(
                        f"The ODBC value of {key!r} opens a '{{' that never closes: "
                        "close it (write }} for a literal })."
                    )
                if text.startswith("}}", close):
                    close += 2
                    continue
                break
            raw, i = text[i : close + 1], close + 1
            if text[i:].lstrip(" \t")[:1] not in ("", ";"):
                raise BadInput(
                    f"The ODBC value of {key!r} continues after its closing '}}': put a ';' there."
                )
        else:
            end = n if semi < 0 else semi
            raw, i = text[i:end].strip(), end
        if any(k.lower() == key.lower() for k, _ in parts):
            raise BadInput(f"The ODBC connection string gives {key!r} twice: keep one.")
        parts.append((key, raw))
    return parts


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


def part_without_secrets(
    key: str, raw: str, mask: str | None
) -> tuple[str | None, tuple[str, ...]]:
    """One ODBC value as written, its secrets masked (``mask``) or removed (None: None when
    nothing is left), and the secrets: PWD= itself, or a password inside a libpq pqopt."""
    low = key.lower()
    if low in ODBC_SECRET_KEYS:
        secret = odbc_value(raw)
        return mask, ((secret,) if secret else ())
    if low not in _CONNINFO_KEYS:
        return raw, ()
    cleaned, found = _libpq_without_secrets(odbc_value(raw), mask)
    if not found:
        return raw, ()
    return (odbc_quote(cleaned) if cleaned else None), found


def odbc_without_secrets(text: str, mask: str | None) -> str:
    """An ODBC connection string (after ``odbc:``) with every secret masked or removed."""
    parts = [(k, part_without_secrets(k, v, mask)[0]) for k, v in odbc_parts(text)]
    return "".join(f"{k}={v};" for k, v in parts if v is not None)


# --- backends -------------------------------------------------------------------------------------


class OdbcBackend:
    """A server family behind ODBC: its Dialect, the fragments of an ODBC driver name that
    reveal it, and what its ODBC driver needs on top of the connection string."""

    def __init__(self, dialect: Dialect, needles: tuple[str, ...]) -> None:
        self.dialect = dialect
        self.needles = needles

    def add_tag(self, kwargs: dict[str, Any], tag: str) -> None:
        """Name the session ``tag`` on the server, where the ODBC driver lets it be named."""

    def add_timeout(self, kwargs: dict[str, Any], given: dict[str, Any], seconds: int) -> None:
        """The ODBC driver's own connect timeout, where it ignores ODBC's login timeout."""

    def add_options(self, kwargs: dict[str, Any], given: dict[str, Any]) -> None:
        """What pooltui's own connections need from this ODBC driver besides the DSN's."""

    def local_sentence(self, state: str, native: int | None, target: Target) -> str | None:
        """What a failure of the ODBC driver itself means, by the ODBC state and the
        backend's native code (None: the shared sentences)."""
        return None


class _PsqlOdbc(OdbcBackend):
    def add_tag(self, kwargs: dict[str, Any], tag: str) -> None:
        """psqlODBC passes pqopt on to libpq."""
        key = next((k for k in kwargs if k.lower() == "pqopt"), "pqopt")
        options = odbc_value(kwargs.pop(key, ""))
        kwargs[key] = odbc_quote(f"{options} application_name={libpq_quote(tag)}".strip())


class _MariaDbOdbc(OdbcBackend):
    def add_timeout(self, kwargs: dict[str, Any], given: dict[str, Any], seconds: int) -> None:
        """MariaDB's driver ignores ODBC's login timeout: without its own, a server that
        accepts and then says nothing hangs the handshake for ever. The DSN's own wins."""
        if odbc_key(given, "conn_timeout") is None:
            kwargs["CONN_TIMEOUT"] = str(seconds)


# sqliteodbc ends a message with SQLite's result code: "[SQLite]connect failed (14)"
_SQLITE_CODE = re.compile(r"\((\d+)\)(?: \(SQL\w+\))?\s*$")
_SQLITE_CANTOPEN = 14


class _SqliteOdbc(OdbcBackend):
    def add_options(self, kwargs: dict[str, Any], given: dict[str, Any]) -> None:
        """sqliteodbc creates a missing file, as sqlite3 does without mode=rw: a typo in
        the path would be tuned as an empty database, and a file left behind. pooltui never
        creates one (sqlite:/// opens with mode=rw); the DSN's own NoCreat wins."""
        if odbc_key(given, "nocreat") is None:
            kwargs["NoCreat"] = "1"

    def local_sentence(self, state: str, native: int | None, target: Target) -> str | None:
        if native == _SQLITE_CANTOPEN:
            return (
                f"The SQLite database {target.database!r} cannot be opened: check that the "
                "file exists and is readable (pooltui never creates it)."
            )
        return None


_UNKNOWN_BACKEND = OdbcBackend(UNKNOWN, ())
BACKENDS = (
    _PsqlOdbc(POSTGRESQL, ("postgres", "psql")),
    _MariaDbOdbc(MYSQL, ("mariadb", "mysql")),
    _SqliteOdbc(SQLITE, ("sqlite",)),
)
_BY_NAME = {backend.dialect.name: backend for backend in BACKENDS}


def _backend_of(target: Target) -> OdbcBackend:
    return _BY_NAME.get(target.backend, _UNKNOWN_BACKEND)


# --- the driver -----------------------------------------------------------------------------------


class OdbcDriver(Driver):
    """pyodbc, with the driver manager's own pooling off (DBUtils pools)."""

    name = "odbc"
    schemes = ("odbc",)
    dsn_prefixes = ("odbc:",)
    form = "odbc:<ODBC connection string>"
    example = "odbc:Driver={...};Server=..."
    module_name = "pyodbc"
    label = "pyodbc"
    password_env = "POOLTUI_ODBC_PASSWORD"
    placeholder = "?"
    connect_timeout_key = "timeout"
    # ODBC's own SQLSTATEs, the same for every ODBC driver: a run's error table says them in
    # words (errors.explain_error_kind) instead of "OperationalError(08S01)"
    code_meanings = {
        "08S01": "the connection to the server was lost (communication link failure)",
        "08003": "the connection was already closed",
        "08001": "the client could not connect to the server",
        "HYT00": "a timeout expired",
        "HY008": "the statement was cancelled",
        "HY000": "the ODBC driver reported an error of no standard class",
    }
    notes = (
        "pyodbc.pooling (on by default) lets the ODBC driver manager pool underneath "
        "DBUtils wherever it pools (Windows, unixODBC with Pooling=Yes), so a "
        "connection DBUtils closed stays open; pooltui sets pyodbc.pooling = False "
        "before its first connection, and exported code does the same.",
    )
    advice = (
        "pyodbc also pools in the ODBC driver manager: set pyodbc.pooling = False before "
        "the application's first connect (pooltui and its exported code do), or a "
        "connection DBUtils closes stays open.",
    )

    def dialect(self, target: Target) -> Dialect:
        return _backend_of(target).dialect

    def import_module(self) -> ModuleType:
        module = import_module(self.module_name)
        # Driver-manager pooling under DBUtils double-pools: a connection DBUtils closed stays
        # open in the driver manager. It is read when the ODBC environment is first allocated.
        settings: Any = module  # pyodbc's settings are module attributes mypy cannot see
        settings.pooling = False
        return module

    # --- the DSN ---

    def _detect(self, parts: dict[str, str]) -> str:
        driver = parts.get("driver", "")
        if not driver and parts.get("dsn"):
            try:  # a configured data source: odbc.ini knows its driver
                driver = self.import_module().dataSources().get(parts["dsn"], "")
            except Exception:
                driver = ""
        low = driver.lower()
        found = next((b for b in BACKENDS if any(n in low for n in b.needles)), _UNKNOWN_BACKEND)
        return found.dialect.name

    def parse(self, text: str, password: str | None) -> Target:
        raw_parts = odbc_parts(text[text.index(":") + 1 :].strip())
        if not raw_parts:
            raise BadInput("The ODBC DSN is empty: write odbc:Driver={...};Server=...;Database=...")
        values = {k.lower(): odbc_value(v) for k, v in raw_parts}
        secret = (
            next((values[k] for k in ODBC_SECRET_KEYS if k in values), None)
            or password
            or env_password(self.password_env)
        )
        kept = [
            (k.upper() if k in _SPECIAL else k, v)
            for k, v in raw_parts
            if k.lower() not in ODBC_SECRET_KEYS
        ]
        port_text = values.get("port", "").strip()
        if port_text and (not is_ascii_number(port_text) or not 0 < int(port_text) < 65536):
            raise BadInput(
                "The ODBC connection string's Port= is not a number from 1 to 65535: correct it."
            )
        backend = self._detect(values)
        redacted = "odbc:" + "".join(
            f"{k}={part_without_secrets(k, v, MASK)[0]};" for k, v in raw_parts
        )

        def first(*keys: str) -> str:
            return next((values[k] for k in keys if values.get(k)), "")

        database, user = first("database", "db", "dsn"), first("uid", "user", "username", "user id")
        check_name_lengths(
            "ODBC",
            _BY_NAME.get(backend, _UNKNOWN_BACKEND).dialect,
            database=first("database", "db"),
            user=user,
        )
        return Target(
            kind=self.name,
            backend=backend,
            redacted=redacted,
            database=database,
            facts=driver_facts(self.module_name),
            host=first("server", "host", "servername"),
            port=int(port_text) if port_text else None,
            user=user,
            password_env=self.password_env,
            has_password=bool(secret),
            _params=tuple(kept),
            _password=secret,
        )

    def find_dsn(self, text: str) -> int:
        return text.lower().find("odbc:")

    def dsn_secrets(self, text: str, at: int) -> tuple[str, ...] | None:
        found: set[str] = set()
        try:
            for key, raw in odbc_parts(text[at + 5 :]):
                found |= set(part_without_secrets(key, raw, MASK)[1])
                if key.lower() in ODBC_SECRET_KEYS:
                    found.add(raw)
        except BadInput:
            return None
        return tuple(found)

    def dsn_without_secrets(self, dsn: str) -> str:
        head, _, rest = dsn.partition(":")
        try:
            return f"{head}:" + odbc_without_secrets(rest, None)
        except BadInput:  # unparsable: keep nothing that could be a secret
            return f"{head}:"

    def secrets(self, target: Target) -> tuple[str, ...]:
        found = [target._password or ""]
        for key, value in target._params:
            found += part_without_secrets(key, value, MASK)[1]
        return tuple(s for s in found if s)

    def via(self, target: Target, host: str, port: int) -> Target:
        values = dict(target._params)
        server = next(
            (k for k in ("server", "servername", "host") if odbc_key(values, k)), "server"
        )
        replaced = {
            odbc_key(values, server) or "Server": host,
            odbc_key(values, "port") or "Port": str(port),
        }
        kept = [
            (k, v) for k, v in target._params if k.lower() != "socket" and k not in replaced
        ] + list(replaced.items())
        parts = [
            (k, v)
            for k, v in odbc_parts(target.redacted[len("odbc:") :])
            if k.lower() != "socket" and k.lower() not in {r.lower() for r in replaced}
        ]
        redacted = "odbc:" + "".join(f"{k}={v};" for k, v in [*parts, *replaced.items()])
        return replace(target, host=host, port=port, redacted=redacted, _params=tuple(kept))

    # --- connecting ---

    def connect_kwargs(self, target: Target, tag: str | None) -> dict[str, Any]:
        kwargs = dict(target._params)
        if target._password:
            kwargs["PWD"] = odbc_quote(target._password)
        kwargs["timeout"] = math.ceil(DEFAULT_CONNECT_TIMEOUT_S)
        backend = _backend_of(target)
        backend.add_timeout(kwargs, kwargs, math.ceil(DEFAULT_CONNECT_TIMEOUT_S))
        backend.add_options(kwargs, dict(target._params))
        if tag:
            backend.add_tag(kwargs, tag)
        return kwargs

    def apply_connect_timeout(
        self, target: Target, kwargs: dict[str, Any], timeout_s: float
    ) -> None:
        kwargs["timeout"] = max(1, math.ceil(timeout_s))
        # ours, not the DSN's: follow the timeout asked for
        _backend_of(target).add_timeout(kwargs, dict(target._params), kwargs["timeout"])

    def guard_session(self, target: Target, raw: Any, guards: SessionGuards) -> None:
        """ODBC's own statement timeout too, where the driver has it (psqlODBC not)."""
        with contextlib.suppress(Exception):
            raw.timeout = math.ceil(guards.statement_timeout_s)
        super().guard_session(target, raw, guards)

    def probe(self, target: Target, con: Any) -> ServerInfo:
        """The backend's own probe, else what ODBC's getinfo tells, limits unknown."""
        found = self.dialect(target).probe(con)
        if found is not None:
            return found
        pyodbc = self.import_module()
        name = con.getinfo(pyodbc.SQL_DBMS_NAME)
        version = con.getinfo(pyodbc.SQL_DBMS_VER)
        return ServerInfo(str(version), None, None, None, None, None, str(name))

    # --- errors ---

    def failure_class(self, exc: BaseException) -> str:
        args: tuple[Any, ...] = getattr(exc, "args", ())
        state = args[0] if args and isinstance(args[0], str) else ""
        text = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
        native = _NATIVE_ERRNO.search(text)
        if native and by_errno(int(native.group(1))) != SQL:
            return by_errno(int(native.group(1)))
        if state == "HYT00":
            return TIMEOUT
        if state == "HYT01":
            return CONNECTION
        return by_sqlstate(state) if re.fullmatch(r"[0-9A-Z]{5}", state) else SQL

    def setup_sentence(self, exc: BaseException, seen: Any) -> str | None:
        clash = _PQOPT_CLASH.search(str(exc))
        if clash:  # a DSN mistake psqlODBC refuses before it connects: not a lost connection
            what = clash.group(1)
            return (
                f"The ODBC connection string gives the {what} twice, as an ordinary option "
                f"({'PWD' if what == 'password' else what}) and inside pqopt, which psqlODBC "
                "refuses: keep one."
            )
        if not (seen.says("can't open lib", "data source name not found") or seen.state == "IM002"):
            return None
        found = re.search(r"can't open lib '([^']*)'", str(exc), re.I)
        what = (
            f"The ODBC driver {found.group(1)!r} is not installed"
            if found
            else "The ODBC connection string names no installed driver or defined data source"
        )
        return f"{what}: name one in Driver={{...}} ({self._installed()})."

    def local_sentence(self, exc: BaseException, seen: Any, target: Any) -> str | None:
        if not isinstance(target, Target) or target.kind != self.name:
            return None
        args: tuple[Any, ...] = getattr(exc, "args", ())
        state = args[0] if args and isinstance(args[0], str) else ""
        text = args[1] if len(args) > 1 and isinstance(args[1], str) else str(exc)
        code = _SQLITE_CODE.search(text)
        native = int(code.group(1)) if code else None
        return _backend_of(target).local_sentence(state, native, target)

    def where(self, target: Any) -> str | None:
        """A SQLite file over ODBC is a file, not a server at "the local server"."""
        if isinstance(target, Target) and target.kind == self.name and target.dialect.is_file:
            return f"the SQLite file {target.database}"
        return None

    def _installed(self) -> str:
        try:
            names = self.import_module().drivers()
        except Exception:  # pyodbc itself may be what is missing
            names = []
        if not names:
            return "no ODBC driver is installed (e.g. apt-get install odbc-postgresql odbc-mariadb)"
        return "installed: " + ", ".join(names)

    # --- the export ---

    def export_kwargs(self, target: Target) -> tuple[dict[str, Any], list[str]]:
        kwargs: dict[str, Any] = {}
        withheld: list[str] = []
        for key, value in target._params:
            kept, hidden = part_without_secrets(key, value, None)
            withheld += [f"{key}'s password"] if hidden else []
            if kept is not None:
                kwargs[key] = kept
        return kwargs, withheld

    def export_setup(self) -> list[str]:
        return ["pyodbc.pooling = False  # DBUtils pools; the driver manager must not"]

    def export_password(self, password_env: str) -> str:
        return (
            f'connect_kwargs["PWD"] = "{{" + os.environ.get({password_env!r}, "")'
            '.replace("}", "}}") + "}"'
        )
