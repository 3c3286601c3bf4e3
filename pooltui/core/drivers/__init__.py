"""Drivers: one module per DB-API driver behind one interface (``base.Driver``).

``driver_for_scheme`` and ``drivers`` read the registry; the built-in drivers are registered
here, third-party ones through the ``pooltui.drivers`` entry-point group (an entry point names
a ``Driver`` subclass or instance) or ``register_driver``. Everything that differs between
drivers or server families lives in this package: code outside it asks a Target's driver
(``target.driver``) or dialect (``target.dialect``) instead of comparing names.
"""

from __future__ import annotations

from pooltui.core.drivers.base import (
    Dialect,
    Driver,
    DriverFacts,
    ServerInfo,
    Target,
    dbapi_error_code,
    driver_facts,
)
from pooltui.core.drivers.mysql import MysqlDriver
from pooltui.core.drivers.odbc import OdbcDriver
from pooltui.core.drivers.postgresql import PostgresDriver
from pooltui.core.drivers.registry import (
    ENTRY_POINT_GROUP,
    driver_for_error,
    driver_for_module,
    driver_for_scheme,
    driver_named,
    drivers,
    load_problems,
    register_driver,
    unregister_driver,
)
from pooltui.core.drivers.sqlite import SqliteDriver


def error_code(exc: BaseException) -> str | None:
    """The code the driver that raised ``exc`` gives it (the DB-API convention otherwise)."""
    driver = driver_for_error(exc)
    return driver.error_code(exc) if driver is not None else dbapi_error_code(exc)


BUILT_IN: tuple[Driver, ...] = tuple(
    register_driver(cls()) for cls in (PostgresDriver, MysqlDriver, OdbcDriver, SqliteDriver)
)

__all__ = [
    "BUILT_IN",
    "ENTRY_POINT_GROUP",
    "Dialect",
    "Driver",
    "DriverFacts",
    "ServerInfo",
    "Target",
    "dbapi_error_code",
    "driver_facts",
    "driver_for_error",
    "driver_for_module",
    "driver_for_scheme",
    "driver_named",
    "drivers",
    "error_code",
    "load_problems",
    "register_driver",
    "unregister_driver",
]
