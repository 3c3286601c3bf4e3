"""The raw DB-API connection as DBUtils sees it inside an InstrumentedPool: ``close()`` counted.

Kept apart from pool.py because it is the one piece DBUtils itself calls into, on every checkout
and return: what matters here is what DBUtils finds when it looks up an attribute.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

from pooltui.core.pool.lock_time import timed_ping, timed_rollback

if TYPE_CHECKING:
    from pooltui.core.pool.instrumented import InstrumentedPool


class RawConnection:
    """The raw DB-API connection as DBUtils sees it: the driver's methods, ``close()`` counted.

    A subclass per driver module sets ``__module__`` to the driver's name, so DBUtils' own
    detection of the DB-API module (``SteadyDBConnection._create``) finds the driver.
    """

    # DBUtils calls only these (steady_db.py), and the first four on every checkout or return
    # (ping and rollback under the pool lock, where every microsecond serialises the whole
    # pool): they are the driver's own bound methods in slots. A __getattr__ delegating the
    # rest would slow every one of these lookups down (CPython does not specialise attribute
    # access on a class that has one), and nothing needs it. ping and rollback, the two round
    # trips DBUtils makes under its pool lock, are wrapped to time that (lock_time.py): one
    # Python call on a path that already waits for the server.
    __slots__ = (
        "_con",
        "_owner",
        "_sid",
        "begin",
        "cancel",
        "commit",
        "cursor",
        "ping",
        "rollback",
    )

    def __init__(self, con: Any, owner: InstrumentedPool, sid: int | None) -> None:
        self._con = con
        self._owner = owner
        self._sid = sid
        for name in ("begin", "cancel", "commit", "cursor", "ping", "rollback"):
            method = getattr(con, name, None)
            if method is not None:  # no ping(): DBUtils must still see the AttributeError
                setattr(self, name, method)
        clock = owner._lock_clock
        if getattr(con, "ping", None) is not None:
            self.ping = timed_ping(con.ping, clock)
        if getattr(con, "rollback", None) is not None:
            self.rollback = timed_rollback(con.rollback, clock)

    def close(self) -> None:
        """Close once: a second close (DBUtils after a forced close) is a no-op, not an error."""
        if self._owner._forget(self):
            self._con.close()


_proxy_classes: dict[str, type[RawConnection]] = {}


# PEP 249's optional Connection.<Exception> attributes: DBUtils falls back to them to find the
# driver's failures when the module is not found by name
_DBAPI_ERRORS = ("Error", "DatabaseError", "InterfaceError", "InternalError", "OperationalError")


def proxy_class(module: ModuleType) -> type[RawConnection]:
    name = getattr(module, "__name__", None) or type(module).__module__
    cls = _proxy_classes.get(name)
    if cls is None:
        namespace: dict[str, Any] = {"__slots__": (), "__module__": name}
        namespace.update(
            {error: getattr(module, error) for error in _DBAPI_ERRORS if hasattr(module, error)}
        )
        cls = type(f"Raw{name.title()}Connection", (RawConnection,), namespace)
        _proxy_classes[name] = cls
    return cls
