"""Every use pooltui makes of DBUtils' private internals, in one place, checked once.

PooledDB publishes no gauge, no hook for "a connection was replaced" and no way to tell a
re-executed statement from a first one, so pooltui reads a few of its private fields and looks
at who called its creator and its ``isfatal`` hook (the frame sniffing below). A DBUtils release
that renames any of them would break pooltui in silent, confusing ways, so ``check_installed``
(at import, reported when a pool is built) and ``bind`` (on each new PooledDB) verify that they
are all there and fail with one sentence saying what is missing. Nothing outside this module
names a private DBUtils attribute.

The hot path (leases.Borrower) does not call in here per request: ``bind`` hands it the live
objects once (the bound ``connection`` method, the idle and shared caches, the Condition's
waiters, and the PooledDB's own ``__dict__``, in which ``state[CHECKED_OUT]`` is a dict read as
cheap as the attribute read it replaces).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Sized
from dataclasses import dataclass
from threading import Condition
from types import CodeType, ModuleType
from typing import Any

import dbutils
from dbutils import steady_db
from dbutils.pooled_db import PooledDB, TooManyConnectionsError

from pooltui.core.errors import RunFailed

__all__ = [
    "CHECKED_OUT",
    "PoolInternals",
    "PooledDB",
    "Replacing",
    "TooManyConnectionsError",
    "bind",
    "check_installed",
    "cursor_parts",
    "make_pool",
    "raw_of",
    "require_installed",
]

SUPPORTED_MAJOR = 3  # DBUtils 3.x: the internals below are those of 3.0 to 3.2
CHECKED_OUT = "_connections"  # PooledDB's count of connections handed out (a shared one once)
_INSTANCE_FIELDS = {
    "_connections": int,
    "_idle_cache": list,
    "_maxcached": int,
    "_maxconnections": int,
    "_lock": Condition,
}


def _sentence(missing: str, version: str) -> str:
    return (
        f"pooltui needs DBUtils {SUPPORTED_MAJOR}.x, whose {missing} it reads, but the "
        f"installed DBUtils {version} does not have it: install a {SUPPORTED_MAJOR}.x "
        f"release (pip install 'DBUtils>={SUPPORTED_MAJOR},<{SUPPORTED_MAJOR + 1}')."
    )


def _nested_code(code: CodeType, name: str) -> CodeType | None:
    for const in code.co_consts:
        if isinstance(const, CodeType) and const.co_name == name:
            return const
    return None


def _static_problem(
    module: Any = dbutils, steady: Any = steady_db, pooled_class: Any = PooledDB
) -> str | None:
    """What of DBUtils' code pooltui relies on is missing, as a sentence; None when all is."""
    version = str(getattr(module, "__version__", "(of unknown version)"))
    try:
        major = int(version.split(".")[0])
    except ValueError:
        major = -1
    if major != SUPPORTED_MAJOR:
        return _sentence("version", version)
    for name in ("connection", "dedicated_connection", "close"):
        if not callable(getattr(pooled_class, name, None)):
            return _sentence(f"PooledDB.{name}()", version)
    try:
        parameters = set(inspect.signature(pooled_class.__init__).parameters)
    except (TypeError, ValueError):
        parameters = set()
    if "isfatal" not in parameters:
        return _sentence("PooledDB's isfatal hook", version)
    connection_class = getattr(steady, "SteadyDBConnection", None)
    cursor_class = getattr(steady, "SteadyDBCursor", None)
    # the frame sniffing: creator <- SteadyDBConnection._create <- __init__ or a replacing
    # caller (_cursor, tough_method and _ping_check), whose `overused` local means recycling
    create = getattr(connection_class, "_create", None)
    cursor = getattr(connection_class, "_cursor", None)
    tough = getattr(cursor_class, "_get_tough_method", None)
    if create is None or "_creator" not in create.__code__.co_names:
        return _sentence("SteadyDBConnection._create calling its creator", version)
    store = getattr(connection_class, "_store", None)
    if store is None or "_con" not in store.__code__.co_names:
        return _sentence("SteadyDBConnection._con (the creator's connection)", version)
    if not callable(getattr(connection_class, "_fatal_check", None)):
        return _sentence("SteadyDBConnection._fatal_check", version)
    if cursor is None or "overused" not in cursor.__code__.co_varnames:
        return _sentence("SteadyDBConnection._cursor with its overused flag", version)
    nested = _nested_code(tough.__code__, "tough_method") if tough is not None else None
    if nested is None or "overused" not in nested.co_varnames:
        return _sentence("SteadyDBCursor's tough_method with its overused flag", version)
    return None


_PROBLEM = _static_problem()


def check_installed(
    module: Any = dbutils, steady: Any = steady_db, pooled_class: Any = PooledDB
) -> None:
    """RunFailed (one sentence) unless this DBUtils has every internal pooltui's code uses."""
    problem = _static_problem(module, steady, pooled_class)
    if problem is not None:
        raise RunFailed(problem)


def require_installed() -> None:
    """The import-time verdict on the installed DBUtils, raised where a pool is built."""
    if _PROBLEM is not None:
        raise RunFailed(_PROBLEM)


@dataclass(frozen=True, slots=True)
class PoolInternals:
    """The live private objects of one PooledDB, looked up and checked once (``bind``).

    PooledDB mutates its caches in place and never rebinds them, so holding the lists is as
    good as reading the fields. ``state`` is the PooledDB's ``__dict__``: ``state[CHECKED_OUT]``
    is its current checked-out count (an int field it rebinds on every checkout).
    """

    pooled: PooledDB
    connection: Callable[..., Any]  # PooledDB.connection, bound
    dedicated_connection: Callable[[], Any]
    idle: list[Any]  # _idle_cache
    shared: list[Any] | None  # _shared_cache: only when the pool shares
    waiters: Sized  # threads parked in the pool's Condition
    lock: Condition  # the pool lock (guard_sessions holds it)
    lock_held: Callable[[], bool]  # does the calling thread hold it (lock_time.py asks)
    state: dict[str, Any]
    maxcached: int
    maxconnections: int
    maxshared: int = 0  # 0 also when the driver cannot share (DBUtils zeroes it)

    def checked_out(self) -> int:
        """Connections handed out now (lock-free: an int read is atomic under the GIL)."""
        handed_out: int = self.state[CHECKED_OUT]  # PooledDB's __dict__: untyped
        return handed_out


def bind(pooled: Any) -> PoolInternals:
    """Check that ``pooled`` has the fields pooltui reads and bind them; RunFailed otherwise."""
    version = str(getattr(dbutils, "__version__", "(of unknown version)"))
    state = getattr(pooled, "__dict__", {})
    for name, kind in _INSTANCE_FIELDS.items():
        if not isinstance(state.get(name), kind):
            raise RunFailed(_sentence(f"PooledDB field {name}", version))
    lock = state["_lock"]
    # CPython's private deque of a Condition's parked threads (the waiting gauge); without it
    # the gauge counts only callers queued on the lock
    waiters = getattr(lock, "_waiters", ())
    # a Condition's ownership test (CPython's, from its RLock): the lock-time figures count only
    # the round trips made while it is held
    lock_held = getattr(lock, "_is_owned", None)
    if not callable(lock_held):
        raise RunFailed(
            "pooltui needs CPython's threading.Condition._is_owned to tell the round trips "
            "DBUtils makes under its pool lock, and this Python does not have it: run pooltui "
            "on CPython 3.11 or later."
        )
    return PoolInternals(
        pooled=pooled,
        connection=pooled.connection,
        dedicated_connection=pooled.dedicated_connection,
        idle=state["_idle_cache"],
        shared=state.get("_shared_cache"),
        waiters=waiters,
        lock=lock,
        lock_held=lock_held,
        state=state,
        maxcached=state["_maxcached"],
        maxconnections=state["_maxconnections"],
        maxshared=state.get("_maxshared") or 0,
    )


@dataclass(frozen=True, slots=True)
class Replacing:
    """DBUtils is replacing a connection behind its caller's back (it never says so)."""

    caller: str  # the DBUtils method: _ping_check, _cursor, tough_method, rollback, commit
    recycled: bool  # maxusage recycling (its `overused` local), not a lost connection
    old: Any  # the creator's connection being replaced (None if it had none)


def make_pool(
    connect: Callable[[Replacing | None], Any],
    module: ModuleType,
    isfatal: Callable[[BaseException, bool], bool],
    **kwargs: Any,
) -> PooledDB:
    """A PooledDB over the driver ``module`` whose connections come from ``connect``.

    ``connect(replacing)`` gets None when DBUtils opens a new connection (a
    SteadyDBConnection's ``__init__``), else a ``Replacing``: the DBUtils method replacing a
    connection behind its caller's back (the ping check, the failover in execute, a failed
    rollback), whether that is maxusage recycling (its ``overused`` local), and the connection
    being replaced (``_create``'s SteadyDBConnection still holds it: DBUtils opens the new one
    first and closes the old one after). DBUtils reports none of it.
    ``isfatal(error, reexecuting)`` is DBUtils' isfatal hook, told whether DBUtils would run a
    failed execute again (its caller is ``tough_method``) rather than retry a new cursor.
    PooledDB reads threadsafety from the creator; without it a function counts as 1 and
    maxshared would be zeroed even on psycopg (pools.md §1.1).
    """
    require_installed()

    def creator(*_args: Any, **_kwargs: Any) -> Any:
        # frames: creator <- SteadyDBConnection._create <- who wanted a connection
        wanting = sys._getframe(2)
        if wanting.f_code.co_name == "__init__":
            return connect(None)
        steady = sys._getframe(1).f_locals.get("self")  # _create's SteadyDBConnection
        return connect(
            Replacing(
                wanting.f_code.co_name, bool(wanting.f_locals.get("overused")), raw_of(steady)
            )
        )

    def fatal_hook(error: BaseException) -> bool:
        # frames: fatal_hook <- SteadyDBConnection._fatal_check <- tough_method or _cursor
        return isfatal(error, sys._getframe(2).f_code.co_name == "tough_method")

    creator.dbapi = module  # type: ignore[attr-defined]
    creator.threadsafety = module.threadsafety  # type: ignore[attr-defined]
    return PooledDB(creator, isfatal=fatal_hook, **kwargs)


def raw_of(steady: Any) -> Any:
    """The creator's connection inside a SteadyDBConnection (None if it has none)."""
    return getattr(steady, "_con", None)


def cursor_parts(cursor: Any) -> tuple[Any, Any]:
    """A SteadyDBCursor's creator connection and the driver's own cursor under it."""
    return raw_of(getattr(cursor, "_con", None)), getattr(cursor, "_cursor", None)
