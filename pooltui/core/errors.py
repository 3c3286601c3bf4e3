"""Errors a user can cause, each one plain sentence with the CLI exit code it maps to."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pooltui.core.drivers.base import Driver


class PooltuiError(Exception):
    """Base: ``str(error)`` is shown to the user as it is, so it names the problem and the fix."""

    exit_code = 1


class BadInput(PooltuiError):
    """The user asked for something impossible: a bad DSN, profile, parameter or answer."""

    exit_code = 2


class CannotConnect(PooltuiError):
    """The target could not be reached or refused us."""

    exit_code = 3


class RunFailed(PooltuiError):
    """Anything else that stopped the work: a file that cannot be written, a failing query."""

    exit_code = 1


class SetupFailed(RunFailed):
    """A new connection could not be prepared: ``step`` is "setsession" (the user's statements)
    or "guard" (pooltui's read-only and statement-timeout settings); the cause is chained."""

    def __init__(self, message: str, step: str) -> None:
        super().__init__(message)
        self.step = step


# --- redaction ----------------------------------------------------------------------------------

MASK = "***"
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*(?=@)", re.I)
# A bare value ends at ; & or white space, and at a '}' that closes the braces around the pair
# (psqlODBC's pqopt={password=x}), so the brace stays and the mask does not swallow it.
KEY_PASSWORD = re.compile(
    r"(?P<head>(?<![a-z0-9])(?:pwd|password|sslpassword|ssl_key_password|passwd)\s*=\s*)"
    r"(?P<value>\{(?:[^}]|\}\})*\}|'(?:[^'\\]|\\.)*'|(?:[^;&\s}]|\}(?![;&\s]|$))*)",
    re.I,
)


def _secrets_of(target_or_secret: Any) -> set[str]:
    """The secrets to remove: a string, a Target's own (``secrets()``), or any mix of them."""
    if target_or_secret is None:
        return set()
    if isinstance(target_or_secret, str):
        return {target_or_secret} if target_or_secret else set()
    secrets = getattr(target_or_secret, "secrets", None)
    if callable(secrets):
        return {s for s in secrets() if s}
    if isinstance(target_or_secret, Iterable):
        return set().union(*(_secrets_of(item) for item in target_or_secret))
    return set()


def redact(text: str, target_or_secret: Any = None) -> str:
    """Remove a password from any text: the last line of defence before anything is shown.

    ``target_or_secret`` is a Target (its password and other secrets are removed), the secret
    itself, or a collection of either; in any case anything that looks like a password in a URL
    or a ``key=value`` string is masked as well.
    """
    from urllib.parse import quote, quote_plus

    forms: set[str] = set()
    for secret in _secrets_of(target_or_secret):
        forms |= {secret, quote(secret, safe=""), quote_plus(secret), secret.replace("}", "}}")}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    text = _URL_PASSWORD.sub(lambda m: m["head"] + MASK, text)
    return KEY_PASSWORD.sub(lambda m: m["head"] + MASK, text)


# --- turning driver exceptions into sentences ---------------------------------------------------

_ODBC_PREFIX = re.compile(r"^(\[[^\]]*\]\s*)+")
_ODBC_TAIL = re.compile(r"(\s*\(-?\d+\))*\s*\(SQL\w+\)\s*$")


class _Seen:
    """What one exception says, normalised across psycopg, PyMySQL, pyodbc and sqlite3."""

    def __init__(self, exc: BaseException) -> None:
        args: tuple[Any, ...] = getattr(exc, "args", ())
        text = args[1] if len(args) >= 2 and isinstance(args[1], str) else str(exc)
        self.name = type(exc).__name__
        self.module = type(exc).__module__
        self.errno: int | None = args[0] if args and isinstance(args[0], int) else None
        self.state: str = getattr(exc, "sqlstate", None) or ""
        if (
            not self.state
            and args
            and isinstance(args[0], str)
            and re.fullmatch(r"[0-9A-Z]{5}", args[0])
        ):
            self.state = args[0]  # pyodbc: (SQLSTATE, message)
        if self.errno is None:  # MariaDB ODBC ends its messages with "(1049) (SQLDriverConnect)"
            found = re.search(r"\((\d{4})\) \(SQL\w+\)\s*$", text)
            self.errno = int(found.group(1)) if found else None
        first = next((part.strip() for part in text.splitlines() if part.strip()), "")
        first = _ODBC_TAIL.sub("", _ODBC_PREFIX.sub("", first)).strip().rstrip(";").strip()
        for prefix in ("connection failed:", "ERROR:", "FATAL:"):
            first = first.removeprefix(prefix).strip()
        self.line = first or self.name
        self.low = (str(exc) + " " + text).lower()

    def says(self, *fragments: str) -> bool:
        return any(fragment in self.low for fragment in fragments)


# --- classifying driver failures by code ------------------------------------------------------
# What a failure means decides what pooltui does with it: only a lost connection may let DBUtils
# reconnect and run the statement again, a refused write ends a run at once, a statement timeout
# is the server's guard. Decided by SQLSTATE / errno / SQLite's result code, never by the text.

CONNECTION = "connection"  # the connection is gone or cannot be made: back off, reconnect
TIMEOUT = "timeout"  # the server's statement timeout ended the statement
CANCELLED = "cancelled"  # the statement was cancelled (by pooltui's stop, or KILL QUERY)
WRITE = "write"  # the session is read-only and the statement writes
SQL = "sql"  # the statement itself failed: an error, never a reconnect
FULL = "full"  # the server has no free connection slot


def _drivers_of(exc: BaseException, target: Any = None) -> list[Driver]:
    """The drivers that may explain ``exc``: the target's, then the one that raised it."""
    from pooltui.core.drivers import driver_for_error  # the drivers import this module

    found: list[Driver | None] = [getattr(target, "driver", None), driver_for_error(exc)]
    return [d for n, d in enumerate(found) if d is not None and d not in found[:n]]


def failure_class(exc: BaseException) -> str:
    """What a driver failure means, by its code: one of CONNECTION, TIMEOUT, CANCELLED, WRITE,
    FULL or SQL (everything else, including errors pooltui cannot place). The driver that
    raised it decides (Driver.failure_class)."""
    if isinstance(exc, PooltuiError):  # pooltui's own sentence: what the driver said decides
        cause = exc.__cause__
        return failure_class(cause) if isinstance(cause, Exception) else SQL
    from pooltui.core.drivers import driver_for_error  # the drivers import this module

    driver = driver_for_error(exc)
    return driver.failure_class(exc) if driver is not None else SQL


def _is_own_bug(exc: BaseException) -> bool:
    """A Python built-in error no driver raised (a ValueError from multiprocessing, a
    TypeError): pooltui's own failure. OSError and ImportError stay the database's or the
    driver's (a refused socket, a missing library)."""
    if isinstance(exc, (OSError, ImportError)) or type(exc).__module__ != "builtins":
        return False
    from pooltui.core.drivers import driver_for_error  # the drivers import this module

    return driver_for_error(exc) is None


def _where(target: Any) -> str:
    host = getattr(target, "host", "") or ""
    port = getattr(target, "port", None)
    named: Driver | None = getattr(target, "driver", None)
    place = named.where(target) if named is not None else None
    if place is not None:
        return place
    if host.startswith("/"):
        return f"the local socket in {host}"
    if not host:
        return "the local server" + (f" (port {port})" if port else "")
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port else shown


def _sentence(exc: BaseException, target: Any) -> str:
    """The sentence for ``exc``; the order of the checks matters (a timeout is also a 2013)."""
    s = _Seen(exc)
    where = _where(target)
    dialect = getattr(target, "dialect", None)
    product = getattr(dialect, "product", "database")
    explainers = _drivers_of(exc, target)
    user = getattr(target, "user", "") or "(default)"
    database = getattr(target, "database", "") or "(default)"
    env = getattr(target, "password_env", "") or "the password environment variable"
    timed_out = (
        s.says(
            "timed out",
            "timeout expired",
            "system error: 110",
            "reading initial communication packet",
        )
        or s.name == "ConnectionTimeout"
        or s.state in ("HYT00", "HYT01")
    )

    if isinstance(exc, ImportError):
        return (
            f"The database driver cannot be loaded ({s.line}): install it (for ODBC also "
            "the unixODBC library: apt-get install unixodbc)."
        )
    for driver in explainers:
        setup = driver.setup_sentence(exc, s)
        if setup is not None:
            return setup
    if (
        s.says(
            "too many clients",
            "too many connections",
            "connection slots are reserved",
            "max_user_connections",
        )
        or s.errno in (1040, 1203)
        or s.state == "53300"
    ):
        return (
            f"The server at {where} has no free connection slots (its connection limit is "
            "reached): close other clients, lower maxconnections or raise the server's "
            "max_connections."
        )
    if (
        s.says(
            "could not translate host name",
            "failed to resolve host",
            "unknown server host",
            "name or service not known",
            "temporary failure in name resolution",
            "nodename nor servname",
            "unknown mysql server host",
        )
        or s.errno == 2005
    ):
        return (
            f"The host name {getattr(target, 'host', '')!r} could not be resolved: check the "
            "host in the DSN."
        )
    if not timed_out and (
        s.says("connection refused", "can't connect to") or s.errno in (2002, 2003)
    ):
        return (
            f"Nothing accepted the connection at {where}: check that the {product} server is "
            "running there and that the host and port in the DSN are right."
        )
    if (
        s.says(
            "password authentication failed",
            "access denied for user",
            "no pg_hba.conf entry",
            "authentication failed",
            "no password supplied",
            "password is required",
        )
        or (s.says('role "') and s.says("does not exist"))
        or s.errno == 1045
        or s.state in ("28000", "28P01")
    ):
        return (
            f"The server at {where} refused the login of user {user!r} (wrong password, "
            "unknown user or not allowed from this host): check the user in the DSN and the "
            f"password (in the DSN, at the prompt or in {env})."
        )
    if (
        (s.says('database "') and s.says("does not exist"))
        or s.says("unknown database")
        or s.errno == 1049
        or s.state == "3D000"
    ):
        return (
            f"The database {database!r} does not exist on the server at {where}: check the "
            "database name in the DSN."
        )
    if s.errno in (1102, 1059) or s.says("incorrect database name", "identifier name"):
        shown = database if len(database) <= 40 else database[:40] + "..."
        return (
            f"The server at {where} refuses the database name {shown!r} as invalid (at most "
            "64 characters, no trailing space): check the database name in the DSN."
        )
    failure = failure_class(exc)
    if failure == TIMEOUT:
        return (
            f"The server cancelled the query at its statement timeout ({s.line}): make the "
            "query faster or raise that timeout (the workload's statement_timeout_ms)."
        )
    if failure == WRITE:
        return (
            f"The statement writes, but pooltui runs the workload's sessions read-only "
            f"({s.line}): use a read-only query, or allow writes explicitly "
            "(--allow-writes, workload allow_writes = true) on a database you may change."
        )
    if timed_out:
        return (
            f"The server at {where} did not answer within the timeout: check the host and "
            "port, that no firewall drops the traffic and that the server is not overloaded."
        )
    if (
        s.says(
            "the database system is starting up",
            "the database system is shutting down",
            "the database system is in recovery mode",
            "server shutdown in progress",
        )
        or s.errno == 1053
    ):
        return (
            f"The server at {where} is starting up or shutting down: wait until it is up "
            "and try again."
        )
    if failure == CONNECTION:
        return (
            f"The connection to the server at {where} was lost ({s.line}; killed, idle "
            "timeout, restart or network): pooltui backs off and retries, and DBUtils "
            "reconnects at the next use; if it happens after idle periods, keep idle "
            "connections younger than the server's idle timeout or turn on a checkout ping."
        )
    for driver in explainers:
        local = driver.local_sentence(exc, s, target)
        if local is not None:
            return local
    if (
        s.name in ("ProgrammingError", "DataError", "IntegrityError", "NotSupportedError")
        or s.state[:2] in ("42", "22", "23", "25", "0A", "2B", "40", "44")
        or (s.errno is not None and 1000 <= s.errno < 2000)
        or s.says("no such table", "syntax error")
    ):
        return f"The query failed ({s.line}): fix the SQL (the workload's query) and run it again."
    if not getattr(getattr(target, "driver", None), "has_server", True) or getattr(
        dialect, "is_file", False
    ):  # a file (SQLite, natively or over ODBC): no server, no server's log
        return f"{product} reported an error on {where} ({s.line}): check the query and the file."
    return (
        f"The {product} server at {where} reported an error ({s.line}): check the DSN and the "
        "server's log."
    )


_KIND = re.compile(r"(?P<name>[A-Za-z_][\w.]*)\((?P<code>[^()]*)\)")


# the steps of a request a run's error table names its errors by (load.engine)
_STEPS = frozenset({"connect", "query"})


def explain_error_kind(kind: str) -> str:
    """An error-table key (``AdminShutdown(57P01)``, ``OperationalError(2013)``) in words:
    ``the server ended the session (a shutdown or pg_terminate_backend) [57P01]``; a code no
    server family knows (or no code) stays as it was."""
    step, said, rest = kind.strip().partition(": ")
    if said and step in _STEPS:  # a run's table: "query: OperationalError(08003)"
        return f"{step}: {explain_error_kind(rest)}"
    match = _KIND.fullmatch(kind.strip())
    if match is None:
        return {
            "rejected": "the pool refused a connection (blocking off, pool full)",
            "overload": "an arrival was dropped: every thread was busy",
        }.get(kind, kind)
    from pooltui.core.drivers import drivers

    code = match["code"].strip().strip("'\"")
    for driver in drivers():
        dialect = getattr(driver, "server", None)
        # the server family's codes, then the driver's own (ODBC's SQLSTATEs)
        meaning = getattr(dialect, "code_meanings", {}).get(code) or getattr(
            driver, "code_meanings", {}
        ).get(code)
        if meaning:
            return f"{meaning} [{code}]"
    return kind


def driver_said(exc: BaseException, target: Any = None) -> str:
    """What the driver itself said, its first line, without any secret: for a sentence of the
    caller's own (a failing setsession or ping_query is not "the workload's query")."""
    try:
        line = _Seen(exc).line
    except Exception:  # reading an error must never raise one of its own
        line = type(exc).__name__
    return redact(line, target)


def describe_db_error(exc: BaseException, target: Any = None) -> str:
    """One sentence naming what went wrong with the database and what to do about it.

    ``target`` (a Target) supplies the host, port, user and database the sentence names and the
    password it must never contain. Understands psycopg, PyMySQL, pyodbc and sqlite3 errors.
    """
    if isinstance(exc, PooltuiError):
        return redact(str(exc), target)
    if _is_own_bug(exc):  # not the database's: a sentence blaming the server would mislead
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return redact(
            f"pooltui failed inside ({type(exc).__name__}{': ' + line if line else ''}), "
            "not the database: please report it with the steps that led here.",
            target,
        )
    try:
        sentence = _sentence(exc, target)
    except Exception:  # describing an error must never raise one of its own
        sentence = f"The database reported {type(exc).__name__}: check the DSN and the server."
    return redact(sentence, target)
