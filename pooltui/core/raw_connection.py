"""The raw DB-API connection as DBUtils sees it inside an InstrumentedPool: ``close()`` counted.

Kept apart from pool.py because it is the one piece DBUtils itself calls into, on every checkout
and return: what matters here is what DBUtils finds when it looks up an attribute.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pooltui.core.pool import InstrumentedPool


class RawConnection:
    """The raw DB-API connection as DBUtils sees it: everything delegated, ``close()`` counted.

    A subclass per driver module sets ``__module__`` to the driver's name, so DBUtils' own
    detection of the DB-API module (``SteadyDBConnection._create``) finds the driver.
    """

    # the methods DBUtils calls on every checkout or return (ping, rollback: under the pool
    # lock, where every microsecond serialises the whole pool) are the driver's own bound
    # methods, not a trip through __getattr__
    __slots__ = ("_con", "_owner", "_sid", "commit", "cursor", "ping", "rollback")

    def __init__(self, con: Any, owner: InstrumentedPool, sid: int | None) -> None:
        set_slot = object.__setattr__
        set_slot(self, "_con", con)
        set_slot(self, "_owner", owner)
        set_slot(self, "_sid", sid)
        for name in ("commit", "cursor", "ping", "rollback"):
            method = getattr(con, name, None)
            if method is not None:  # no ping(): DBUtils must still see the AttributeError
                set_slot(self, name, method)

    def close(self) -> None:
        """Close once: a second close (DBUtils after a forced close) is a no-op, not an error."""
        if self._owner._forget(self):
            self._con.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._con, name, value)  # e.g. ``con.autocommit = True`` reaches the driver


_proxy_classes: dict[str, type[RawConnection]] = {}


def proxy_class(module: ModuleType) -> type[RawConnection]:
    name = getattr(module, "__name__", None) or type(module).__module__
    cls = _proxy_classes.get(name)
    if cls is None:
        cls = type(f"Raw{name.title()}Connection", (RawConnection,),
                   {"__slots__": (), "__module__": name})
        _proxy_classes[name] = cls
    return cls
