"""Which driver serves a scheme, a DB-API module or an exception: the only table of drivers.

The built-in drivers register themselves from ``pooltui.core.drivers``; third-party ones
through the ``pooltui.drivers`` entry-point group (read once, on the first lookup). A plugin
that fails to load becomes a sentence in ``load_problems()``, never a traceback.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pooltui.core.drivers.base import Driver

ENTRY_POINT_GROUP = "pooltui.drivers"

_BY_NAME: dict[str, Driver] = {}
_BY_SCHEME: dict[str, Driver] = {}
_PROBLEMS: list[str] = []
_plugins_loaded = False


def register_driver(driver: Driver) -> Driver:
    """Make ``driver`` serve its schemes (a later registration of a scheme wins)."""
    _BY_NAME[driver.name] = driver
    for scheme in driver.schemes:
        _BY_SCHEME[scheme.lower()] = driver
    return driver


def unregister_driver(driver: Driver) -> None:
    """Forget ``driver`` (tests that register a driver of their own clean up with it)."""
    if _BY_NAME.get(driver.name) is driver:
        del _BY_NAME[driver.name]
    for scheme in [s for s, d in _BY_SCHEME.items() if d is driver]:
        del _BY_SCHEME[scheme]


def _load_plugins() -> None:
    """Register every driver of the entry-point group, once."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from pooltui.core.drivers.base import Driver

    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = point.load()
            driver = loaded() if isinstance(loaded, type) else loaded
            if not isinstance(driver, Driver):
                raise TypeError(f"{type(driver).__name__} is not a pooltui Driver")
            register_driver(driver)
        except Exception as exc:  # a broken plugin must not take pooltui down with it
            _PROBLEMS.append(
                f"the driver plugin {point.name!r} ({point.value}) could not be "
                f"loaded ({type(exc).__name__}: {exc})"
            )


def drivers() -> tuple[Driver, ...]:
    """Every registered driver, built-in ones first."""
    _load_plugins()
    return tuple(_BY_NAME.values())


def driver_for_scheme(scheme: str) -> Driver | None:
    """The driver for a DSN scheme (``postgres``, ``odbc``...), None when none serves it."""
    _load_plugins()
    return _BY_SCHEME.get(scheme.lower())


def driver_named(name: str) -> Driver:
    """The driver whose ``name`` is a Target's ``kind`` (KeyError if none is registered)."""
    found = _BY_NAME.get(name)
    if found is None:
        _load_plugins()
        found = _BY_NAME[name]
    return found


def driver_for_module(module_name: str) -> Driver | None:
    """The driver built on the DB-API module ``module_name`` (``psycopg``, ``sqlite3``...)."""
    return next((d for d in drivers() if d.module_name == module_name), None)


def driver_for_error(exc: BaseException) -> Driver | None:
    """The driver whose DB-API module raised ``exc``, by the exception's module."""
    module = type(exc).__module__
    return next((d for d in drivers() if module.startswith(d.error_modules)), None)


def load_problems() -> tuple[str, ...]:
    """What went wrong with each driver plugin that could not be loaded (a clause each, for
    the sentence that needed the plugin)."""
    _load_plugins()
    return tuple(_PROBLEMS)
