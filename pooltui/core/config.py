"""The pool configuration (PooledDB's own parameters) and the workload a run applies to it.

`validate` mirrors what DBUtils 3.2's ``PooledDB.__init__`` silently does to the parameters and,
unlike DBUtils, says so; it also names the traps that make a setting a no-op or a hang.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from pooltui.core.errors import BadInput
from pooltui.core.numbers import count, is_int, is_number

if TYPE_CHECKING:
    from pooltui.core.targets import DriverFacts

PATTERNS = ("steady", "bursty", "poisson")
LEVELS = ("error", "warning", "info")
MAX_THREADS = 256
MAX_DURATION_S = 3600.0
MAX_RATE = 1_000_000.0  # requests/s; far above any pool, and the Poisson clock still advances
FD_MARGIN = 64  # open files kept for everything but the pool's connections


def max_open_connections() -> int | None:
    """How many connections this process can hold open at once: its open-file limit (each
    connection is a socket or a file) less FD_MARGIN; None where there is no such limit."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return None
    return max(1, soft - FD_MARGIN)


@dataclass(frozen=True)
class PoolConfig:
    """PooledDB keyword arguments, same names; pooltui's defaults are a sane starting point."""

    mincached: int = 0
    maxcached: int = 0
    maxshared: int = 0
    maxconnections: int = 0
    blocking: bool = True
    maxusage: int = 0
    setsession: tuple[str, ...] = ()
    reset: bool = True
    ping: int = 1
    ping_query: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON and TOML form: setsession as a list (neither has tuples)."""
        return asdict(self) | {"setsession": list(self.setsession)}


@dataclass(frozen=True)
class Workload:
    """What one run asks of the pool: who asks, how often, what they run and how long they hold."""

    threads: int = 8
    duration_s: float = 5.0
    requests: int = 0
    query: str = "SELECT 1"
    hold_ms: float = 0.0
    pattern: str = "steady"
    rate: float = 0.0
    think_ms: float = 0.0
    statement_timeout_ms: float = 0.0  # 0 = the run's duration + STATEMENT_GRACE_S
    allow_writes: bool = False  # False: sessions read-only, enforced by the server
    give_up_after_s: float = 0.0  # 0 = retry a lost server until the run's end

    def statement_timeout_s(self) -> float:
        """The server-side bound on one statement: given, or derived from the run's duration,
        so nothing pooltui started outlives its run by much, even if pooltui is killed. A run
        bounded by its request count (duration up to an hour) gets AUTO_STATEMENT_TIMEOUT_MAX_S."""
        if self.statement_timeout_ms > 0:
            return self.statement_timeout_ms / 1000.0
        return min(self.duration_s + STATEMENT_GRACE_S, AUTO_STATEMENT_TIMEOUT_MAX_S)


STATEMENT_GRACE_S = 5.0  # the automatic statement timeout: the run's duration plus this,
AUTO_STATEMENT_TIMEOUT_MAX_S = 300.0  # and at most this (set statement_timeout_ms for longer)
# SQL that would switch a read-only session back to read-write (or turn SQLite's query_only
# off): the server's guard is a session default, which a statement can change
_READ_WRITE_SWITCH = re.compile(
    r"read[\s_]*write|(default_)?transaction_read_only|tx_read_only|query_only"
    r"|session\s+characteristics|set\s+(session\s+)?transaction",
    re.I,
)


@dataclass(frozen=True)
class SessionGuards:
    """What every session of the workload is bound by on the server: read-only unless writes
    were asked for, and a statement timeout. Applied to each connection as it is opened."""

    read_only: bool = True
    statement_timeout_s: float = 3600.0 + STATEMENT_GRACE_S

    @classmethod
    def of(cls, workload: Workload) -> SessionGuards:
        return cls(
            read_only=not workload.allow_writes, statement_timeout_s=workload.statement_timeout_s()
        )


@dataclass(frozen=True)
class Finding:
    """One thing the user should know about a parameter: an error refuses the configuration."""

    level: str
    param: str
    message: str


@dataclass(frozen=True)
class Validation:
    """The configuration as asked for, as DBUtils will really use it, and why they differ."""

    requested: PoolConfig
    effective: PoolConfig
    findings: tuple[Finding, ...]
    ok: bool

    def errors(self) -> tuple[Finding, ...]:
        """The findings that refuse the configuration."""
        return tuple(f for f in self.findings if f.level == "error")

    def require_ok(self) -> Validation:
        """Itself when the configuration can run, else BadInput with the first refusal."""
        if not self.ok:
            raise BadInput(self.errors()[0].message)
        return self


def _kinds(cls: type) -> dict[str, type]:
    """Field name -> the Python type of its default: the type a value for it must have."""
    return {f.name: type(f.default) for f in fields(cls)}


POOL_FIELDS: dict[str, type] = _kinds(PoolConfig)
WORKLOAD_FIELDS: dict[str, type] = _kinds(Workload)

PARAMETER_HELP: dict[str, str] = {
    "mincached": "Connections PooledDB opens when the pool is built and parks in the idle cache. "
    "It is a warm start, not a minimum: DBUtils never tops the idle cache back up.",
    "maxcached": "The most idle connections kept for reuse; a connection returned to a full idle "
    "cache is closed (churn). 0 means unlimited, not 'no caching'.",
    "maxshared": "How many connections may be shared between threads when asked for with "
    "shareable=True. DBUtils ignores it (sets 0) unless the driver's threadsafety is 2 or more.",
    "maxconnections": "The most connections handed out at once; a caller beyond it waits "
    "(blocking) or gets TooManyConnectionsError. 0 means unbounded: only the server limits it.",
    "blocking": "True: a caller beyond maxconnections waits for a connection, with no timeout. "
    "False: it fails at once with TooManyConnectionsError.",
    "maxusage": "Statements (execute, executemany, callproc) a connection may run before DBUtils "
    "closes and reopens it; it counts statements, not checkouts. 0 means unlimited.",
    "setsession": "SQL statements run on every new connection and on every transparent reconnect, "
    "e.g. SET TIME ZONE. Separate several with ';' on the command line.",
    "reset": "True rolls back every connection returned to the pool (one round trip per return). "
    "False rolls back only transactions started with begin(), so others stay open.",
    "ping": "When DBUtils checks a connection is alive, as a bitmask: 1 on checkout from the idle "
    "cache, 2 on cursor(), 4 on execute(), 0 never. It needs ping() or a ping_query.",
    "ping_query": "SQL run as the liveness check instead of the driver's ping() (DBUtils 3.2), "
    "e.g. SELECT 1; it makes ping work with psycopg, pyodbc and sqlite3.",
    "threads": "Worker threads that use the pool at the same time. In the steady (closed) loop a "
    "run with threads <= maxconnections never queues for a connection.",
    "duration_s": "How long a run lasts, in seconds (at most 3600).",
    "requests": "Stop after this many requests; 0 means the duration alone bounds the run.",
    "query": "The statement each request runs on its connection; the default only reads.",
    "hold_ms": "Time a request keeps its connection after the query, standing in for the "
    "application's own work; long holds are what make callers queue.",
    "pattern": "steady: each thread loops acquire-query-release; poisson: requests arrive at "
    "'rate' per second at random; bursty: peaks at 'rate' alternate with quiet phases.",
    "rate": "Requests per second for the poisson pattern and the peak rate for bursty; the steady "
    "pattern ignores it.",
    "think_ms": "Pause between two requests of one thread, without holding a connection, in the "
    "steady loop.",
    "statement_timeout_ms": "The server cancels a statement running longer than this (PostgreSQL "
    "statement_timeout, MariaDB max_statement_time, MySQL max_execution_time, ODBC query timeout, "
    "a SQLite progress handler). 0: the run's duration plus 5 s, so a statement cannot outlive "
    "its run by much even if pooltui is killed.",
    "allow_writes": "False (the default): the workload's sessions are read-only, enforced by the "
    "server, and a writing query ends the run with a sentence. True lets the query write.",
    "give_up_after_s": "How long a run keeps retrying (with back-off) while the server cannot be "
    "reached before it gives up; 0 retries until the run's end.",
}

_ZERO_MEANS = {
    "mincached": "0 opens none at start",
    "maxcached": "0 means unlimited",
    "maxshared": "0 means no sharing",
    "maxconnections": "0 means unlimited",
    "maxusage": "0 means unlimited",
}


def _normalise(config: PoolConfig, threadsafety: int) -> PoolConfig:
    """Exactly what PooledDB.__init__ (DBUtils 3.2) does to the limits."""
    maxcached = max(config.maxcached, config.mincached) if config.maxcached else 0
    maxshared = config.maxshared if threadsafety > 1 and config.maxshared else 0
    maxconnections = 0
    if config.maxconnections:
        # DBUtils compares with the *requested* maxshared, even when it zeroed it.
        maxconnections = max(config.maxconnections, maxcached, config.maxshared)
    return replace(config, maxcached=maxcached, maxshared=maxshared, maxconnections=maxconnections)


def _type_findings(config: PoolConfig) -> list[Finding]:
    out: list[Finding] = []
    for name, kind in POOL_FIELDS.items():
        value = getattr(config, name)
        if kind is int and not is_int(value):
            extra = " (DBUtils raises TypeError otherwise)" if name == "maxusage" else ""
            out.append(
                Finding("error", name, f"{name} must be a whole number{extra}, not {value!r}.")
            )
        elif kind is bool and not isinstance(value, bool):
            out.append(Finding("error", name, f"{name} must be true or false, not {value!r}."))
        elif kind is str and not isinstance(value, str):
            out.append(Finding("error", name, f"{name} must be a string, not {value!r}."))
        elif kind is tuple and not (
            isinstance(value, tuple | list) and all(isinstance(s, str) for s in value)
        ):
            out.append(
                Finding("error", name, f"{name} must be a list of SQL statements, not {value!r}.")
            )
    return out


def validate(config: PoolConfig, facts: DriverFacts) -> Validation:
    """Refuse impossible configurations, report DBUtils' normalising and its traps."""
    found = _type_findings(config)
    if found:
        return Validation(config, config, tuple(found), ok=False)

    def add(level: str, param: str, message: str) -> None:
        found.append(Finding(level, param, message))

    module, ts = facts.module_name, facts.threadsafety
    for name, zero in _ZERO_MEANS.items():
        value = getattr(config, name)
        if value < 0:
            add("error", name, f"{name} is {value} but must be 0 or more ({zero}).")
    if not 0 <= config.ping <= 7:
        add(
            "error",
            "ping",
            f"ping is {config.ping} but must be a bitmask from 0 to 7 "
            "(1 = on checkout, 2 = on cursor(), 4 = on execute(), 0 = never).",
        )
    for i, statement in enumerate(config.setsession, 1):
        if not statement.strip():
            add(
                "error",
                "setsession",
                f"setsession statement {i} is empty: remove it, since it "
                "would be sent to the server on every new connection and fail.",
            )
    if config.ping_query and not config.ping_query.strip():
        add(
            "error",
            "ping_query",
            "ping_query is blank: leave it empty to use the driver's "
            "ping() or give a statement such as SELECT 1.",
        )
    if ts < 1:
        add(
            "error",
            "threadsafety",
            f"{module} has threadsafety {ts}, so PooledDB refuses it "
            "(NotSupportedError): use a thread-safe driver.",
        )

    eff = _normalise(config, ts)
    if eff.maxcached != config.maxcached:
        add(
            "info",
            "maxcached",
            f"maxcached {config.maxcached} is raised to mincached "
            f"{config.mincached}, because DBUtils keeps room for every connection it pre-opens.",
        )
    if eff.maxconnections != config.maxconnections:
        why = (
            "maxshared"
            if config.maxshared > max(eff.maxcached, config.maxconnections)
            else "maxcached"
        )
        quirk = (
            " (it uses the requested maxshared even though it ignores sharing here)"
            if why == "maxshared" and not eff.maxshared
            else ""
        )
        add(
            "info",
            "maxconnections",
            f"maxconnections {config.maxconnections} is raised to "
            f"{eff.maxconnections} to match {why}, because DBUtils never allows fewer "
            f"connections than {why}{quirk}.",
        )
    limit = max_open_connections()
    if limit is not None and config.mincached > limit:
        add(
            "error",
            "mincached",
            f"mincached={config.mincached} opens that many connections at "
            f"once, but this process can open at most {limit} (its open-file limit, ulimit -n, "
            f"less {FD_MARGIN} for everything else): set mincached to {limit} or less, or raise "
            "the limit.",
        )
    if eff.maxconnections and config.mincached > eff.maxconnections:
        add(
            "error",
            "mincached",
            f"mincached={config.mincached} opens that many connections at "
            f"once but maxconnections={eff.maxconnections} allows fewer (maxcached=0 does not "
            "raise it), so PooledDB's constructor hangs forever with blocking=True and raises "
            "TooManyConnectionsError with blocking=False; set maxcached to at least "
            f"{config.mincached} or raise maxconnections.",
        )

    if config.maxshared > 0 and ts < 2:
        add(
            "warning",
            "maxshared",
            f"maxshared={config.maxshared} does nothing: {module} has "
            f"threadsafety {ts}, so DBUtils sets maxshared to 0 and every connection is "
            "dedicated.",
        )
    if config.ping and not facts.can_ping and not config.ping_query:
        add(
            "warning",
            "ping",
            f"ping={config.ping} is a silent no-op with {module}: its "
            "connections have no ping() method, so DBUtils disables the check; set ping_query "
            '= "SELECT 1" to really check connections.',
        )
    if config.ping_query and not config.ping:
        add(
            "warning",
            "ping_query",
            "ping_query is never run because ping is 0: set ping to 1 "
            "to check connections on checkout.",
        )
    if config.maxcached == 0 and eff.maxconnections == 0:
        add(
            "warning",
            "maxcached",
            'maxcached=0 means unlimited idle connections, not "no '
            'caching": every connection a burst opens stays open afterwards.',
        )
    if eff.maxconnections == 0:
        add(
            "warning",
            "maxconnections",
            "maxconnections=0 leaves the pool unbounded: it opens a "
            "connection for every concurrent caller and only the server's max_connections "
            "stops it.",
        )
    if config.blocking and (eff.maxconnections or eff.maxshared):
        add(
            "warning",
            "blocking",
            "blocking=True makes callers wait for a free connection with "
            "no timeout (DBUtils has none), so a leaked or long-held connection stalls them "
            "indefinitely.",
        )
    elif config.blocking:
        add(
            "info",
            "blocking",
            "blocking has no effect while maxconnections is 0, because the "
            "pool never makes a caller wait.",
        )
    elif eff.maxconnections:
        add(
            "info",
            "blocking",
            f"blocking=False makes a caller beyond maxconnections="
            f"{eff.maxconnections} fail at once with TooManyConnectionsError instead of waiting.",
        )
    if config.mincached > 0:
        add(
            "warning",
            "mincached",
            f"mincached={config.mincached} connections are only "
            "pre-opened when the pool is built: DBUtils never tops the idle cache back up, so it "
            "is a warm start, not a minimum.",
        )
    if config.maxusage > 0:
        add(
            "warning",
            "maxusage",
            f"maxusage={config.maxusage} counts statements (execute, "
            "executemany, callproc), not checkouts, so a connection is reopened after "
            f"{count(config.maxusage, 'statement')}, possibly in the middle of one checkout.",
        )
    if not config.reset:
        add(
            "warning",
            "reset",
            "reset=False rolls back only transactions started with begin(), "
            "so a transaction the driver opened implicitly (autocommit off) stays open into the "
            "next checkout, with its locks and snapshot.",
        )
    committed = any(s.strip().rstrip(";").strip().upper() == "COMMIT" for s in config.setsession)
    if config.setsession and facts.setsession_in_transaction and not committed:
        add(
            "warning",
            "setsession",
            "setsession runs inside psycopg's implicit transaction, so "
            "PostgreSQL undoes its SET statements at the first rollback (reset=True rolls back "
            "every return); add COMMIT as the last statement.",
        )
    if eff.maxcached and (not eff.maxconnections or eff.maxcached < eff.maxconnections):
        add(
            "info",
            "maxcached",
            f"connections beyond maxcached={eff.maxcached} are closed when "
            f"returned, so load above {eff.maxcached} concurrent connections keeps opening new "
            "ones (churn).",
        )
    if eff.maxshared:
        add(
            "info",
            "maxshared",
            f"up to {eff.maxshared} connections are shared between threads: "
            "callers on one shared connection run one statement at a time and share its "
            "transaction, so use begin() or shareable=False for transactional work.",
        )
    works = facts.can_ping or bool(config.ping_query)
    if works and config.ping & 6:
        when = " and ".join(
            w for bit, w in ((2, "cursor()"), (4, "execute()")) if config.ping & bit
        )
        add(
            "info",
            "ping",
            f"ping={config.ping} also checks the connection on every {when}, "
            "which costs an extra round trip per statement.",
        )

    findings = tuple(sorted(found, key=lambda f: LEVELS.index(f.level)))
    ok = not any(f.level == "error" for f in findings)
    return Validation(config, eff, findings, ok)


def validate_workload(workload: Workload) -> tuple[Finding, ...]:
    """Refuse workloads a run cannot honour; warn about fields the pattern ignores."""
    out: list[Finding] = []
    for name, kind in WORKLOAD_FIELDS.items():
        value = getattr(workload, name)
        if kind is int and not is_int(value):
            out.append(Finding("error", name, f"{name} must be a whole number, not {value!r}."))
        elif kind is float and not is_number(value):
            out.append(Finding("error", name, f"{name} must be a finite number, not {value!r}."))
        elif kind is str and not isinstance(value, str):
            out.append(Finding("error", name, f"{name} must be a string, not {value!r}."))
        elif kind is bool and not isinstance(value, bool):
            out.append(Finding("error", name, f"{name} must be true or false, not {value!r}."))
    if out:
        return tuple(out)

    def err(name: str, message: str) -> None:
        out.append(Finding("error", name, message))

    w = workload
    if not 1 <= w.threads <= MAX_THREADS:
        err("threads", f"threads is {w.threads} but must be between 1 and {MAX_THREADS}.")
    if not 0 < w.duration_s <= MAX_DURATION_S:
        err(
            "duration_s",
            f"duration_s is {w.duration_s:g} but must be more than 0 and at most "
            f"{MAX_DURATION_S:g} seconds.",
        )
    if w.requests < 0:
        err(
            "requests",
            f"requests is {w.requests} but must be 0 or more (0 = bounded by duration only).",
        )
    if not w.query.strip():
        err("query", "query is empty: give the statement each request runs, e.g. SELECT 1.")
    # hold_ms and think_ms end up in Event.wait, rate in the Poisson gaps: bounded, so a typo
    # such as 1e308 is a sentence here, not an OverflowError or a clock that stops advancing
    for name, high, unit in (
        ("hold_ms", MAX_DURATION_S * 1000, " ms (the longest run)"),
        ("think_ms", MAX_DURATION_S * 1000, " ms (the longest run)"),
        ("rate", MAX_RATE, " requests per second"),
        ("statement_timeout_ms", MAX_DURATION_S * 1000, " ms (0: automatic)"),
        ("give_up_after_s", MAX_DURATION_S, " s (0: at the run's end)"),
    ):
        if not 0 <= getattr(w, name) <= high:
            err(name, f"{name} is {getattr(w, name):g} but must be from 0 to {high:.0f}{unit}.")
    if not w.allow_writes and _READ_WRITE_SWITCH.search(w.query):
        err(
            "query",
            "The query changes the session's read-only setting, which pooltui keeps on "
            "so the workload cannot write: remove that part, or allow writes explicitly "
            "(--allow-writes, workload allow_writes = true) on a database you may change.",
        )
    if 0 < w.duration_s <= w.hold_ms / 1000.0 and not any(f.param == "hold_ms" for f in out):
        err(
            "hold_ms",
            f"hold_ms is {w.hold_ms:g} but a run lasts only {w.duration_s:g} s: no "
            "request could finish; hold for less than the duration or run longer.",
        )
    if w.pattern not in PATTERNS:
        err("pattern", f"pattern {w.pattern!r} is unknown: use one of {', '.join(PATTERNS)}.")
    elif w.pattern in ("poisson", "bursty") and w.rate <= 0:
        err("rate", f"the {w.pattern} pattern needs rate > 0 (requests per second).")
    elif w.pattern == "steady" and w.rate > 0:
        out.append(
            Finding(
                "warning",
                "rate",
                "rate is ignored by the steady pattern, whose "
                "threads run back to back; use poisson for a fixed arrival rate.",
            )
        )
    return tuple(out)


def pooled_db_kwargs(config: PoolConfig) -> dict[str, Any]:
    """Keyword arguments for PooledDB, in the forms DBUtils 3.2 expects."""
    ping: int | tuple[int, str] = config.ping
    if config.ping_query:
        ping = (config.ping, config.ping_query)
    return {
        "mincached": config.mincached,
        "maxcached": config.maxcached,
        "maxshared": config.maxshared,
        "maxconnections": config.maxconnections,
        "blocking": config.blocking,
        "maxusage": config.maxusage,
        "setsession": list(config.setsession) or None,
        "reset": config.reset,
        "ping": ping,
    }


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def parse_value(key: str, kind: type, text: str, *, option: str = "--set") -> Any:
    """Turn the text of a --set value into the field's type, or say what was expected (naming
    ``option``, the flag it came from)."""
    raw = text.strip()
    if kind is bool:
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise BadInput(f"{option} {key}: {raw!r} is not a boolean; use true or false.")
    if kind is int:
        try:
            return int(raw, 10)
        except ValueError:
            raise BadInput(
                f"{option} {key}: {raw!r} is not a whole number; give one such as 10."
            ) from None
    if kind is float:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise BadInput(f"{option} {key}: {raw!r} is not a number; give one such as 2.5.")
        return value
    if kind is tuple:
        return tuple(s.strip() for s in text.split(";") if s.strip())
    return text


def apply_overrides(
    config: PoolConfig, workload: Workload, pairs: list[str], *, option: str = "--set"
) -> tuple[PoolConfig, Workload]:
    """Apply ``key=value`` strings (``--set``, or ``option``) to either dataclass; the last one
    for a key wins."""
    pool_changes: dict[str, Any] = {}
    work_changes: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BadInput(
                f"{option} {pair!r} is not of the form key=value, e.g. maxconnections=10."
            )
        name = key.removeprefix("pool.").removeprefix("workload.")
        if name in POOL_FIELDS and not key.startswith("workload."):
            pool_changes[name] = parse_value(key, POOL_FIELDS[name], text, option=option)
        elif name in WORKLOAD_FIELDS and not key.startswith("pool."):
            work_changes[name] = parse_value(key, WORKLOAD_FIELDS[name], text, option=option)
        else:
            known = ", ".join([*POOL_FIELDS, *WORKLOAD_FIELDS])
            raise BadInput(f"{option} {key!r} is not a parameter; use one of: {known}.")
    return replace(config, **pool_changes), replace(workload, **work_changes)
