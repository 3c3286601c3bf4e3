"""Targets: what a DSN means and which driver serves it.

A Target holds everything needed to open a raw DB-API connection (the password inside, never in
its repr) and the driver facts that decide which PooledDB parameters do anything at all. What
each driver does is in ``pooltui.core.drivers`` (one module per driver); this module reads a DSN
with the driver its scheme names and keeps the names the rest of pooltui imports.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from pooltui.core.drivers import BUILT_IN, driver_for_scheme, drivers, load_problems
from pooltui.core.drivers._dsn import (
    DEFAULT_CONNECT_TIMEOUT_S,
    MAX_TIMEOUT_S,
    SECRET_PARAMS,
    UrlParts,
    is_ascii_number,
    loose_secrets,
    split_url,
    url_without_secrets,
)
from pooltui.core.drivers.base import DriverFacts, Target, driver_facts
from pooltui.core.drivers.odbc import ODBC_SECRET_KEYS, odbc_parts, odbc_without_secrets
from pooltui.core.drivers.sqlite import SQLITE_PROGRESS_STEPS
from pooltui.core.errors import BadInput

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_S",
    "FORMS",
    "MAX_TIMEOUT_S",
    "ODBC_SECRET_KEYS",
    "PASSWORD_ENVS",
    "SECRET_PARAMS",
    "SQLITE_PROGRESS_STEPS",
    "DriverFacts",
    "Target",
    "UrlParts",
    "demo_target",
    "driver_facts",
    "dsn_prefixes",
    "dsn_secrets",
    "dsn_without_secrets",
    "forms",
    "is_ascii_number",
    "odbc_parts",
    "odbc_without_secrets",
    "parse_dsn",
    "password_envs",
    "split_url",
]

FORMS = tuple(driver.form for driver in BUILT_IN)
PASSWORD_ENVS = {driver.name: driver.password_env for driver in BUILT_IN}


def forms() -> tuple[str, ...]:
    """The DSN form of every registered driver (third-party ones too)."""
    return tuple(driver.form for driver in drivers())


def password_envs() -> dict[str, str]:
    """Driver name -> the environment variable its password may come from ("" = none)."""
    return {driver.name: driver.password_env for driver in drivers()}


def dsn_prefixes() -> tuple[str, ...]:
    """How a DSN of any registered driver starts."""
    return tuple(prefix for driver in drivers() for prefix in driver.dsn_prefixes)


def parse_dsn(dsn: str, *, password: str | None = None) -> Target:
    """Understand one of the registered DSN forms (see forms()); BadInput says what is wrong."""
    text = dsn.strip()
    scheme = text.partition(":")[0].lower() if ":" in text else ""
    driver = driver_for_scheme(scheme) if scheme else None
    if driver is not None:
        return driver.parse(text, password)
    named = (
        f"the scheme {scheme!r}"
        if re.fullmatch(r"[a-z][a-z0-9+.-]{0,20}", scheme)
        else "a DSN without a known scheme"
    )
    problems = load_problems()
    broken = f" ({'; '.join(problems)}: fix or uninstall it)" if problems else ""
    raise BadInput(
        f"pooltui does not understand {named}: give one of " + "; ".join(forms()) + broken + "."
    )


def dsn_secrets(text: str) -> tuple[str, ...]:
    """The secrets a DSN as typed holds, in the forms written and decoded: what profiles refuse
    and what crash reports and usage errors must never show. The driver whose form starts
    first in the text reads them; a text no driver can split gives whatever looks like
    ``password=...`` in it."""
    found: tuple[str, ...] | None = None
    starts = sorted(((at, n) for n, d in enumerate(drivers()) if (at := d.find_dsn(text)) >= 0))
    if starts:
        at, n = starts[0]
        found = drivers()[n].dsn_secrets(text, at)
    if found is None:
        found = loose_secrets(text)
    return tuple(sorted(s for s in set(found) if s))


def dsn_without_secrets(dsn: str) -> str:
    """The DSN without its secrets (not masked: removed), so it can be written anywhere."""
    driver = driver_for_scheme(dsn.partition(":")[0]) if ":" in dsn else None
    return driver.dsn_without_secrets(dsn) if driver else url_without_secrets(dsn)


def demo_target() -> Target:
    """The embedded SQLite demo database (created once in the user data dir)."""
    from pooltui.core.demo import ensure_demo_db

    return parse_dsn("sqlite:///" + quote(str(ensure_demo_db())))
