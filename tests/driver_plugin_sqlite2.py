"""A third-party driver in one module, as a plugin package would ship it: SQLite files under
the scheme ``sqlite2``, written against ``pooltui.core.drivers.base`` alone (no pooltui module
is edited to add it). Registered by tests/test_drivers.py through the registry API and through
the ``pooltui.drivers`` entry-point group."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pooltui.core.drivers.base import UNKNOWN, Driver, Target, driver_facts
from pooltui.core.errors import BadInput


class Sqlite2Driver(Driver):
    """sqlite3 under another name: only what a driver must say, every default kept."""

    name = "sqlite2"
    schemes = ("sqlite2",)
    dsn_prefixes = ("sqlite2:///",)
    form = "sqlite2:///path/to/file.db"
    module_name = "sqlite3"
    connect_timeout_key = None  # sqlite3.connect has no connect timeout
    has_server = False

    def parse(self, text: str, password: str | None) -> Target:
        path = unquote(text.partition(":///")[2].partition("?")[0])
        if not path:
            raise BadInput("A sqlite2 DSN is sqlite2:///path/to/file.db: give the file's path.")
        absolute = Path(path).expanduser().absolute()
        return Target(
            kind=self.name,
            backend=UNKNOWN.name,
            redacted=text,
            database=str(absolute),
            facts=driver_facts(self.module_name),
            _params=(("database", str(absolute)), ("check_same_thread", False)),
        )

    def connect_kwargs(self, target: Target, tag: str | None) -> dict[str, Any]:
        return dict(target._params)
