"""Exporters: TOML round-trips; the Python export builds exactly the measured pool."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from pooltui.core.config import PoolConfig, Workload, pooled_db_kwargs, validate
from pooltui.core.errors import BadInput
from pooltui.core.export import to_python, to_toml
from pooltui.core.profiles import Profile, load_profile, profile_to_toml, shipped_profiles_dir
from pooltui.core.targets import Target, parse_dsn

READ_POOL = """
import exported_pool as m
p = m.pool
print(repr({
    "maxconnections": p._maxconnections, "maxcached": p._maxcached,
    "maxshared": p._maxshared, "blocking": p._blocking, "maxusage": p._maxusage,
    "setsession": p._setsession, "reset": p._reset, "ping": p._ping,
    "idle": len(p._idle_cache),
}))
p.close()
"""

BASE = PoolConfig(
    mincached=2,
    maxcached=1,
    maxshared=3,
    maxconnections=2,
    blocking=False,
    maxusage=50,
    reset=False,
    ping=1,
    ping_query="SELECT 1",
)


def _run(args: list[str], cwd: Path, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _check_export(
    target: Target, config: PoolConfig, tmp_path: Path, env_extra: dict[str, str] | None = None
) -> str:
    """Write the export, import it in a fresh interpreter and compare the live pool's fields."""
    code = to_python(target, config)
    (tmp_path / "exported_pool.py").write_text(code, encoding="utf-8")
    env_extra = env_extra or {}
    result = _run(["-c", READ_POOL], tmp_path, env_extra)
    assert result.returncode == 0, result.stderr
    seen = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    effective = validate(config, target.facts).effective
    expected = pooled_db_kwargs(effective)
    expected["idle"] = expected.pop("mincached")
    assert seen == expected
    main = _run(["exported_pool.py"], tmp_path, env_extra)
    assert main.returncode == 0, main.stderr
    assert "pool works: (1,)" in main.stdout
    return code


def test_python_export_on_sqlite(sqlite_dsn, tmp_path):
    target = parse_dsn(sqlite_dsn)
    config = replace(BASE, setsession=("PRAGMA cache_size = 1000",))
    effective = validate(config, target.facts).effective
    assert (effective.maxcached, effective.maxshared, effective.maxconnections) == (2, 3, 3)
    code = _check_export(target, config, tmp_path)
    assert "import sqlite3" in code and "from dbutils.pooled_db import PooledDB" in code
    assert "pooltui" in code.splitlines()[0] and target.redacted in code
    # the effective values are written, not the requested ones DBUtils would normalise
    assert "maxcached=2," in code and "maxconnections=3," in code and "maxcached=1," not in code


def test_python_export_on_postgresql(pg_dsn, tmp_path):
    target = parse_dsn(pg_dsn)
    config = PoolConfig(
        mincached=2,
        maxcached=1,
        maxshared=4,
        maxconnections=3,
        maxusage=7,
        setsession=("SET statement_timeout = '5s'", "COMMIT"),
        ping=5,
        ping_query="SELECT 1",
    )
    assert target.facts.threadsafety >= 2
    _check_export(target, config, tmp_path, {"PGPASSWORD": "trust-ignores-this"})


def test_python_export_on_mariadb(mysql_dsn, tmp_path):
    target = parse_dsn(mysql_dsn)
    config = PoolConfig(
        mincached=1,
        maxcached=2,
        maxshared=5,
        maxconnections=2,
        ping=1,
        setsession=("SET SESSION max_statement_time = 30",),
    )
    effective = validate(config, target.facts).effective
    assert effective.maxshared == 0 and effective.maxconnections == 5  # DBUtils' own quirk
    _check_export(target, config, tmp_path)


def test_python_export_on_odbc(odbc_pg_dsn, tmp_path):
    target = parse_dsn(odbc_pg_dsn)
    code = _check_export(target, BASE, tmp_path)
    assert "pyodbc.pooling = False" in code


def test_python_export_reads_the_password_from_the_environment(pg_dsn, tmp_path):
    secret = "Sup3r-s3cret-Pw"
    dsn = pg_dsn.replace("postgres@", f"postgres:{secret}@", 1)
    target = parse_dsn(dsn)
    assert target.has_password and target.password_env == "PGPASSWORD"
    code = _check_export(
        target,
        PoolConfig(maxconnections=2, maxcached=2),
        tmp_path,
        {"PGPASSWORD": "trust-ignores-this"},
    )
    assert secret not in code
    assert "PGPASSWORD" in code


@pytest.mark.parametrize(
    ("dsn", "secret"),
    [
        ("postgresql://app:Pw-one-9@127.0.0.1:5432/shop", "Pw-one-9"),
        ("mysql://root@127.0.0.1:3306/test?password=Pw-two-8", "Pw-two-8"),
        ("odbc:Driver={MariaDB Unicode};Server=127.0.0.1;User=root;PWD={Pw;three};", "Pw;three"),
    ],
    ids=["postgresql", "mysql-query", "odbc-braced"],
)
def test_no_password_in_any_export(dsn, secret):
    target = parse_dsn(dsn)
    code = to_python(target, PoolConfig(maxconnections=4))
    toml = to_toml(Profile(name="p", dsn=dsn))
    for text in (code, toml):
        assert secret not in text
        assert secret.split(";")[0] not in text
    assert target.password_env in code
    compile(code, "exported.py", "exec")


def test_python_export_refuses_an_impossible_configuration(sqlite_dsn):
    target = parse_dsn(sqlite_dsn)
    with pytest.raises(BadInput, match="hangs forever"):
        to_python(target, PoolConfig(mincached=4, maxcached=0, maxconnections=2))


def test_python_export_is_lint_clean(sqlite_dsn, tmp_path):
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed next to this Python")
    path = tmp_path / "exported_pool.py"
    path.write_text(to_python(parse_dsn(sqlite_dsn), BASE), encoding="utf-8")
    result = subprocess.run(
        [
            str(ruff),
            "check",
            "--isolated",
            "--select",
            "E,F,W,I",
            "--line-length",
            "100",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout


RICH = Profile(
    name="rich",
    description='Two\nlines, "quotes" and ünïcode',
    dsn="odbc:Driver={PostgreSQL Unicode};Server=127.0.0.1;Uid=postgres;",
    pool=PoolConfig(
        mincached=1,
        maxcached=3,
        maxshared=0,
        maxconnections=3,
        maxusage=9,
        setsession=("SET a = 'x;y'", "COMMIT"),
        reset=False,
        ping=3,
        ping_query="SELECT 1",
    ),
    workload=Workload(
        threads=5,
        duration_s=1.25,
        requests=99,
        query="SELECT 'q'",
        hold_ms=0.1 + 0.2,
        pattern="bursty",
        rate=1 / 3,
        think_ms=7.0,
    ),
)


def test_toml_export_round_trips_exactly(tmp_path):
    profiles = [RICH, Profile(name="defaults")]
    profiles += [load_profile(p) for p in sorted(shipped_profiles_dir().glob("*.toml"))]
    assert len(profiles) >= 6
    for profile in profiles:
        text = to_toml(profile)
        assert text == profile_to_toml(profile)
        path = tmp_path / f"{profile.name}.toml"
        path.write_text(text, encoding="utf-8")
        assert load_profile(path) == profile
        if profile.description:
            assert "description" in text
