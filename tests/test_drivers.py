"""The driver seam: the registry finds every scheme, a new driver is one module (registered by
the API or by an entry point, and run end to end), and no code outside core/drivers/ branches
on a driver's or backend's name."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import one_sentence, run_cli
from driver_plugin_sqlite2 import Sqlite2Driver

from pooltui.core import probes
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.drivers import (
    BUILT_IN,
    ENTRY_POINT_GROUP,
    driver_for_error,
    driver_for_scheme,
    drivers,
    register_driver,
    unregister_driver,
)
from pooltui.core.drivers.mysql import MysqlDriver
from pooltui.core.drivers.odbc import OdbcDriver
from pooltui.core.drivers.postgresql import PostgresDriver
from pooltui.core.drivers.sqlite import SqliteDriver
from pooltui.core.errors import BadInput
from pooltui.core.load import engine
from pooltui.core.pool import InstrumentedPool
from pooltui.core.targets import parse_dsn

PACKAGE = Path(__file__).resolve().parents[1] / "pooltui"
TESTS = Path(__file__).resolve().parent


# --- the registry -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "cls"),
    [
        ("postgresql", PostgresDriver),
        ("postgres", PostgresDriver),
        ("mysql", MysqlDriver),
        ("mariadb", MysqlDriver),
        ("odbc", OdbcDriver),
        ("sqlite", SqliteDriver),
        ("PostgreSQL", PostgresDriver),
        ("ODBC", OdbcDriver),
    ],
)
def test_registry_finds_each_scheme(scheme: str, cls: type) -> None:
    driver = driver_for_scheme(scheme)
    assert isinstance(driver, cls) and driver in drivers()


def test_every_built_in_driver_is_registered_with_its_own_schemes() -> None:
    assert [d.name for d in BUILT_IN] == ["postgresql", "mysql", "odbc", "sqlite"]
    for driver in BUILT_IN:
        assert driver.schemes and driver.form and driver.module_name
        assert all(driver_for_scheme(s) is driver for s in driver.schemes)
    assert driver_for_scheme("oracle") is None


def test_a_target_is_served_by_the_driver_of_its_scheme(tmp_path: Path) -> None:
    dsns = {
        "postgresql://u@127.0.0.1/db": PostgresDriver,
        "mariadb://u@127.0.0.1/db": MysqlDriver,
        "odbc:Driver={PostgreSQL Unicode};Server=127.0.0.1;Database=db": OdbcDriver,
        f"sqlite:///{tmp_path}/x.db": SqliteDriver,
    }
    for dsn, cls in dsns.items():
        target = parse_dsn(dsn)
        assert isinstance(target.driver, cls), dsn
    odbc = parse_dsn("odbc:Driver={PostgreSQL Unicode};Server=127.0.0.1;Database=db")
    assert odbc.backend == "postgresql" and odbc.dialect is parse_dsn("postgresql://h/db").dialect


def test_an_error_is_claimed_by_the_driver_that_raised_it() -> None:
    assert isinstance(driver_for_error(sqlite3.OperationalError("x")), SqliteDriver)
    assert driver_for_error(ValueError("x")) is None


# --- a new driver is one module -----------------------------------------------------------------


@pytest.fixture
def sqlite2(tmp_path: Path) -> Iterator[str]:
    """The one-module plugin registered through the API, and a DSN of its scheme."""
    driver = register_driver(Sqlite2Driver())
    path = tmp_path / "plugin.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
        con.executemany("INSERT INTO items VALUES (?)", [(i,) for i in range(10)])
    con.close()
    try:
        yield f"sqlite2:///{path}"
    finally:
        unregister_driver(driver)


def test_a_registered_driver_runs_pooltui_check(sqlite2: str, capsys) -> None:
    code, out, err = run_cli(capsys, "check", "--dsn", sqlite2, "--json")
    assert code == 0, err
    assert '"kind": "sqlite2"' in out and '"ok": true' in out


def test_a_registered_driver_runs_the_engine_end_to_end(sqlite2: str) -> None:
    target = parse_dsn(sqlite2)
    assert isinstance(target.driver, Sqlite2Driver) and sqlite2 in target.redacted
    with InstrumentedPool(target, PoolConfig(maxconnections=2)) as pool:
        result = engine.run(
            pool,
            Workload(threads=2, duration_s=60, requests=40, query="SELECT count(*) FROM items"),
        )
        assert result.requests == 40 and result.errors == 0 and result.rows == 40
        assert probes.count_pool_connections(target, pool) == 0  # no server to ask: none
    assert "sqlite2" not in [d.name for d in BUILT_IN]


def test_an_unregistered_scheme_is_refused_with_every_form(sqlite2: str) -> None:
    with pytest.raises(BadInput, match=re.escape("sqlite2:///path/to/file.db")):
        parse_dsn("nosuch://x")


def _plugin_site(tmp_path: Path, entries: str) -> Path:
    """A directory that importlib.metadata reads as an installed distribution declaring
    ``entries`` in the pooltui.drivers group."""
    dist = tmp_path / "site" / "pooltui_sqlite2-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pooltui-sqlite2\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entries}\n")
    return dist.parent


def _pooltui(site: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([str(site), str(TESTS), str(PACKAGE.parent)])
    env = os.environ | {"PYTHONPATH": path}
    return subprocess.run(
        [sys.executable, "-m", "pooltui", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_an_entry_point_driver_runs_pooltui_check(tmp_path: Path) -> None:
    site = _plugin_site(tmp_path, "sqlite2 = driver_plugin_sqlite2:Sqlite2Driver")
    path = tmp_path / "ep.db"
    sqlite3.connect(path).close()
    done = _pooltui(site, "check", "--dsn", f"sqlite2:///{path}")
    assert done.returncode == 0, done.stderr
    assert f"sqlite2:///{path}" in done.stdout


def test_a_broken_entry_point_is_one_sentence_not_a_traceback(tmp_path: Path) -> None:
    site = _plugin_site(tmp_path, "oracle = no_such_plugin_module:Driver")
    done = _pooltui(site, "check", "--dsn", "oracle://scott@127.0.0.1/db")
    assert done.returncode == 2
    sentence = one_sentence(done.stderr)
    assert "the scheme 'oracle'" in sentence and "'oracle'" in sentence
    assert "no_such_plugin_module" in sentence and "could not be loaded" in sentence


# --- no branches on names outside core/drivers/ -------------------------------------------------

_NAMES = r"postgres|postgresql|mysql|mariadb|odbc|sqlite|sqlite3|psycopg|pymysql|pyodbc|unknown"
_LITERAL = rf"""["']({_NAMES})["']"""
BRANCHES = [
    re.compile(rf"(==|!=|\bin\b|startswith\(|\.get\()\s*[(\[{{]?\s*{_LITERAL}", re.I),
    re.compile(rf"{_LITERAL}\s*(==|!=|:|\bin\b|\bnot in\b)", re.I),
    re.compile(
        r"\b(target|facts|self|f|t)\.(kind|backend|module_name)\b\s*"
        r"(==|!=|\bin\b|\bnot in\b)"
    ),
    re.compile(r"""["'](kind|backend|module_name)["'][^)]*\)\s*(==|!=|\bin\b)"""),
    re.compile(r"(\[|\.get\()\s*\w+(\.\w+)*\.(kind|backend|module_name)\s*[\]),]"),
]


def _branches(line: str) -> bool:
    code = line.split("#", 1)[0]
    return any(pattern.search(code) for pattern in BRANCHES)


def test_the_branch_patterns_catch_the_old_branches() -> None:
    """The structural test below is only as good as its patterns: each of these lines (as they
    were before the drivers package) must be caught, and ordinary code must not be."""
    caught = [
        'if target.kind == "mysql":',
        'elif target.kind != "sqlite":',
        'if target.backend not in ("postgresql", "mysql"):',
        'if module.startswith("psycopg"):',
        'if getattr(target, "kind", "") == "sqlite":',
        'if f.module_name == "sqlite3" or x:',
        'mysql=facts.module_name == "pymysql" or "mysql" in server_name',
        "port = target.port or _DEFAULT_PORTS.get(target.backend)",
        'product = {"postgresql": "PostgreSQL", "mysql": "MySQL/MariaDB"}.get(b, "database")',
        'if config.setsession and module == "psycopg" and not committed:',
        'return "?" if target.kind == "odbc" else "%s"',
        'server.product not in ("MySQL", "MariaDB") else ""',
    ]
    ordinary = [
        "for name, kind in POOL_FIELDS.items():",
        "if kind in ERROR_KINDS:",
        "kind=target.kind,",
        'facts = driver_facts("sqlite3")  # a default, no branch',
        "if not target.dialect.counts_sessions:",
        "if message.kind not in OWN_EVENTS:",
    ]
    assert [line for line in caught if not _branches(line)] == []
    assert [line for line in ordinary if _branches(line)] == []


def test_no_code_outside_drivers_branches_on_a_driver_name() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "drivers" in path.relative_to(PACKAGE).parts[:2]:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _branches(line):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    assert found == [], "ask the driver (target.driver / target.dialect) instead:\n" + "\n".join(
        found
    )


def test_pymysql_builds_a_tls_context_per_connect_unless_the_dsn_disables_it(mysql_dsn):
    """What MysqlDriver's advice says (drivers/mysql.py TLS_CONTEXT_ADVICE): PyMySQL 1.2 makes
    each connect's TLS context anew when no ssl option is given, none with ssl_disabled=true;
    the recommendation carries the advice only where the installed PyMySQL does so."""
    import ssl
    from importlib.metadata import version

    from pooltui.core.diagnosis.recommend import Answers, recommend
    from pooltui.core.drivers.mysql import TLS_BY_DEFAULT_SINCE, TLS_CONTEXT_ADVICE
    from pooltui.core.targets import driver_facts

    tries_tls = tuple(int(p) for p in version("pymysql").split(".")[:2]) >= TLS_BY_DEFAULT_SINCE
    contexts = []
    for dsn in (mysql_dsn, f"{mysql_dsn}{'&' if '?' in mysql_dsn else '?'}ssl_disabled=true"):
        target = parse_dsn(dsn)
        pairs = [target.module().connect(**target.connect_kwargs("t")) for _ in range(2)]
        try:
            contexts.append([getattr(con, "ctx", None) for con in pairs])
        finally:
            for con in pairs:
                con.close()
    default, disabled = contexts
    if tries_tls:
        assert all(isinstance(ctx, ssl.SSLContext) for ctx in default)
        assert default[0] is not default[1]  # made anew for each connect
    assert disabled == [None, None]
    advice = [a.message for a in recommend(Answers(), PoolConfig(), driver_facts("pymysql")).advice]
    assert (TLS_CONTEXT_ADVICE in advice) == tries_tls
