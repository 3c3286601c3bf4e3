"""Profiles: strict loading, atomic saving, no passwords, lookup by name, the shipped examples."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import tomli_w

from pooltui.core.config import PoolConfig, Workload, validate, validate_workload
from pooltui.core.errors import BadInput, RunFailed
from pooltui.core.profiles import (
    Profile,
    dsn_has_password,
    find_profile,
    list_profiles,
    load_profile,
    profile_to_toml,
    save_profile,
    shipped_profiles_dir,
    strip_password,
    user_profiles_dir,
)
from pooltui.core.targets import demo_target, parse_dsn

SHIPPED = Path(__file__).resolve().parents[1] / "pooltui" / "profiles"  # package data

RICH = Profile(
    name="rich",
    description='Line one\nline "two" with ünïcode and a \\ backslash',
    dsn="postgresql://app@127.0.0.1:5432/shop?sslmode=disable",
    pool=PoolConfig(
        mincached=3,
        maxcached=7,
        maxshared=2,
        maxconnections=9,
        blocking=False,
        maxusage=1000,
        setsession=("SET search_path = 'a;b'", "COMMIT"),
        reset=False,
        ping=5,
        ping_query="SELECT 1 /* ping */",
    ),
    workload=Workload(
        threads=17,
        duration_s=0.1,
        requests=12345,
        query="SELECT 'x=1'",
        hold_ms=1e-7,
        pattern="poisson",
        rate=333.3333333333333,
        think_ms=2.5,
    ),
)


def _write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_round_trip_is_exact(tmp_path):
    path = tmp_path / "deep" / "er" / "rich.toml"
    save_profile(RICH, path)
    loaded = load_profile(path)
    assert loaded == RICH
    assert loaded.workload.hold_ms == 1e-7 and isinstance(loaded.workload.duration_s, float)
    assert [p.name for p in path.parent.iterdir()] == ["rich.toml"]  # no temp file left
    assert profile_to_toml(loaded) == path.read_text(encoding="utf-8")


def test_defaults_round_trip_and_int_is_accepted_for_float(tmp_path):
    save_profile(Profile(name="plain"), tmp_path / "plain.toml")
    assert load_profile(tmp_path / "plain.toml") == Profile(name="plain")
    p = load_profile(_write(tmp_path, 'name = "x"\n[workload]\nduration_s = 10\nhold_ms = 3\n'))
    assert p.workload.duration_s == 10.0 and isinstance(p.workload.duration_s, float)
    assert isinstance(p.workload.hold_ms, float)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('name = "x"\ncolour = 1\n', ["colour"]),
        ('name = "x"\n[pool]\nmaxcachd = 3\n', ["pool.maxcachd", "maxcached"]),
        ('name = "x"\n[workload]\nthread = 3\n', ["workload.thread"]),
        ('name = "x"\n[target]\nhost = "db"\n', ["target.host", "dsn"]),
        ('name = "x"\n[pool]\nmaxcached = true\n', ["pool.maxcached", "whole number", "boolean"]),
        ('name = "x"\n[pool]\nmaxcached = 2.0\n', ["pool.maxcached", "whole number"]),
        ('name = "x"\n[pool]\nblocking = 1\n', ["pool.blocking", "true or false"]),
        ('name = "x"\n[pool]\nsetsession = "SET a = 1"\n', ["pool.setsession", "array of strings"]),
        ('name = "x"\n[pool]\nsetsession = [1]\n', ["pool.setsession", "array of strings"]),
        ('name = "x"\n[pool]\nping_query = 1\n', ["pool.ping_query", "string"]),
        ('name = "x"\n[workload]\nduration_s = "10"\n', ["workload.duration_s", "a number"]),
        ('name = "x"\n[workload]\nhold_ms = true\n', ["workload.hold_ms", "a number"]),
        ('name = "x"\n[workload]\nrate = nan\n', ["workload.rate", "finite"]),
        ('name = "x"\npool = 3\n', ["pool", "table"]),
        ('description = "no name"\n', ["name is missing"]),
        ('name = ""\n', ["name is empty"]),
        ("name = 3\n", ["name", "string"]),
        ('name = "x"\n[target]\ndsn = "oracle://db/x"\n', ["target.dsn", "postgresql://"]),
        ('name = "x"\n[pool\nmaxcached = 3\n', ["not valid TOML", "line"]),
    ],
)
def test_strict_loading_names_file_key_and_expectation(tmp_path, text, words):
    path = _write(tmp_path, text)
    with pytest.raises(BadInput) as info:
        load_profile(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message


def test_unreadable_files_are_bad_input(tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        load_profile(tmp_path / "missing.toml")
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(BadInput, match="UTF-8"):
        load_profile(path)


@pytest.mark.parametrize(
    ("dsn", "secret", "stripped"),
    [
        (
            "postgresql://app:s3cr3t@127.0.0.1:5432/shop",
            "s3cr3t",
            "postgresql://app@127.0.0.1:5432/shop",
        ),
        (
            "postgres://app:p%40ss@127.0.0.1/shop?sslmode=disable",
            "p%40ss",
            "postgres://app@127.0.0.1/shop?sslmode=disable",
        ),
        (
            "mysql://root@127.0.0.1:3306/test?password=hunter22&charset=utf8mb4",
            "hunter22",
            "mysql://root@127.0.0.1:3306/test?charset=utf8mb4",
        ),
        ("mariadb://u:tops3cret@127.0.0.1/test", "tops3cret", "mariadb://u@127.0.0.1/test"),
        (
            "odbc:Driver={PostgreSQL Unicode};Server=127.0.0.1;Uid=postgres;"
            "PWD={se;cr3t};Database=test;",
            "cr3t",
            "odbc:Driver={PostgreSQL Unicode};Server=127.0.0.1;Uid=postgres;Database=test;",
        ),
        (
            "odbc:Driver={MariaDB Unicode};Server=127.0.0.1;User=root;Password=zzsecret",
            "zzsecret",
            "odbc:Driver={MariaDB Unicode};Server=127.0.0.1;User=root;",
        ),
    ],
)
def test_passwords_are_refused_on_load_and_stripped_on_save(tmp_path, dsn, secret, stripped):
    assert dsn_has_password(dsn)
    assert strip_password(dsn) == stripped
    assert not dsn_has_password(stripped)
    path = _write(tmp_path, tomli_w.dumps({"name": "x", "target": {"dsn": dsn}}))
    with pytest.raises(BadInput) as info:
        load_profile(path)
    assert "password" in str(info.value) and secret not in str(info.value)
    out = tmp_path / "saved.toml"
    save_profile(Profile(name="x", dsn=dsn), out)
    text = out.read_text(encoding="utf-8")
    assert secret not in text
    assert load_profile(out).dsn == stripped


def test_dsns_without_password_are_left_alone():
    for dsn in (
        "postgresql://postgres@127.0.0.1:5432/test",
        "sqlite:////tmp/x.db",
        "odbc:Driver={PostgreSQL Unicode};Server=127.0.0.1;Uid=postgres;",
    ):
        assert not dsn_has_password(dsn)
        assert strip_password(dsn) == dsn


def test_save_failures(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(RunFailed) as info:
        save_profile(Profile(name="x"), blocker / "sub" / "x.toml")
    assert info.value.exit_code == 1 and str(blocker) in str(info.value)
    # an invalid profile is refused before anything is written: the old file stays
    existing = tmp_path / "keep.toml"
    save_profile(Profile(name="keep"), existing)
    before = existing.read_bytes()
    bad = Profile(name="keep", pool=PoolConfig(maxcached=True))  # type: ignore[arg-type]
    with pytest.raises(BadInput, match=r"pool\.maxcached"):
        save_profile(bad, existing)
    assert existing.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "keep.toml"]


def test_save_replaces_atomically(tmp_path):
    path = tmp_path / "p.toml"
    save_profile(Profile(name="p", description="old"), path)
    inode = path.stat().st_ino
    save_profile(Profile(name="p", description="new"), path)
    assert load_profile(path).description == "new"
    assert path.stat().st_ino != inode  # a new file renamed over the old one, not rewritten


def test_find_profile_by_path_and_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    own = tmp_path / "elsewhere.toml"
    save_profile(Profile(name="elsewhere"), own)
    assert find_profile(str(own)) == own
    assert find_profile(str(SHIPPED / "web-api.toml")) == SHIPPED / "web-api.toml"
    assert find_profile("web-api") == SHIPPED / "web-api.toml"
    save_profile(Profile(name="local"), tmp_path / "profiles" / "local.toml")
    assert find_profile("local") == tmp_path / "profiles" / "local.toml"
    # the user's own profile wins over a shipped one of the same name
    mine = user_profiles_dir() / "web-api.toml"
    save_profile(Profile(name="web-api", description="mine"), mine)
    assert find_profile("web-api") == mine
    with pytest.raises(BadInput) as info:
        find_profile("no-such-profile")
    for where in (user_profiles_dir(), tmp_path / "profiles", SHIPPED):
        assert str(where) in str(info.value)
    with pytest.raises(BadInput, match="does not exist"):
        find_profile(str(tmp_path / "missing.toml"))


def test_the_shipped_profiles_are_the_package_data():
    assert shipped_profiles_dir() == SHIPPED
    assert {p.name for p in SHIPPED.glob("*.toml")} >= {"demo.toml", "web-api.toml"}


def test_user_profiles_dir_follows_platformdirs():
    # conftest points XDG_CONFIG_HOME at a temp dir
    assert user_profiles_dir() == Path(os.environ["XDG_CONFIG_HOME"]) / "pooltui" / "profiles"


def test_list_profiles_dedupes_with_user_dir_winning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = {p.stem for p in SHIPPED.glob("*.toml")}
    assert {p.stem for p in list_profiles()} == shipped
    save_profile(Profile(name="demo", description="mine"), user_profiles_dir() / "demo.toml")
    save_profile(Profile(name="extra"), user_profiles_dir() / "extra.toml")
    listed = list_profiles()
    names = [p.stem for p in listed]
    assert names == sorted(shipped | {"extra"})
    assert dict(zip(names, listed, strict=True))["demo"] == user_profiles_dir() / "demo.toml"


def test_shipped_profiles_load_and_validate():
    paths = sorted(SHIPPED.glob("*.toml"))
    assert {"web-api", "batch-mariadb", "bursty-workers", "demo"} <= {p.stem for p in paths}
    for path in paths:
        profile = load_profile(path)
        assert profile.name == path.stem
        assert len(profile.description) > 80, f"{path}: describe the scenario"
        target = parse_dsn(profile.dsn) if profile.dsn else demo_target()
        if profile.dsn:
            assert "127.0.0.1" in profile.dsn or "localhost" in profile.dsn
        validation = validate(profile.pool, target.facts)
        assert validation.ok, (path, validation.errors())
        assert validation.effective == profile.pool, f"{path}: DBUtils would change it"
        assert not [f for f in validate_workload(profile.workload) if f.level == "error"], path
        assert profile.pool.maxconnections <= 12


def test_demo_profile_query_runs_on_the_demo_database():
    profile = load_profile(SHIPPED / "demo.toml")
    con = demo_target().connect()
    try:
        cur = con.cursor()
        cur.execute(profile.workload.query)
        count, total = cur.fetchone()
        cur.close()
    finally:
        con.close()
    assert count > 0 and total > 0


def _run_shipped(name: str, dsn: str | None, check_sql: str) -> tuple:
    """Build the profile's pool for real, run its query, then read back a session setting."""
    from dbutils.pooled_db import PooledDB

    from pooltui.core.config import pooled_db_kwargs

    profile = load_profile(SHIPPED / f"{name}.toml")
    target = parse_dsn(dsn) if dsn else demo_target()
    pool = PooledDB(target.module(), **pooled_db_kwargs(profile.pool), **target.connect_kwargs())
    try:
        assert len(pool._idle_cache) == profile.pool.mincached
        with pool.connection() as con:
            cur = con.cursor()
            cur.execute(profile.workload.query)
            assert cur.fetchall()
            cur.close()
        with pool.connection() as con:  # a returned, reset connection keeps its setsession
            cur = con.cursor()
            cur.execute(check_sql)
            row = cur.fetchone()
            cur.close()
        return row
    finally:
        pool.close()


def test_web_api_profile_runs_on_postgresql(pg_dsn):
    assert _run_shipped("web-api", pg_dsn, "SHOW statement_timeout") == ("5s",)


def test_batch_profile_runs_on_mariadb(mysql_dsn):
    (value,) = _run_shipped("batch-mariadb", mysql_dsn, "SELECT @@SESSION.max_statement_time")
    assert float(value) == 60.0


def test_bursty_profile_runs_on_the_demo():
    assert _run_shipped("bursty-workers", None, "SELECT 1") == (1,)


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://postgres:12/34@x@127.0.0.1:5432/test",  # unencoded / and @ in the password
        "postgresql://postgres@127.0.0.1/test?sslpassword=hunter2",
        "mysql://root@127.0.0.1/test?ssl_key_password=hunter2",
    ],
)
def test_secrets_the_parser_sees_are_the_ones_stripped(dsn):
    from pooltui.core.targets import parse_dsn

    target = parse_dsn(dsn)
    assert target.host == "127.0.0.1"
    assert dsn_has_password(dsn)
    stripped = strip_password(dsn)
    for secret in ("12/34@x", "hunter2"):
        assert secret not in stripped and secret not in target.redacted
    assert parse_dsn(stripped).host == "127.0.0.1" and not dsn_has_password(stripped)


def test_a_braced_odbc_value_holding_pwd_is_not_a_password():
    dsn = "odbc:Driver={PostgreSQL Unicode};Pqopt={a=1;pwd=x};Uid=u;"
    assert not dsn_has_password(dsn)
    assert strip_password(dsn) == dsn
    assert strip_password("odbc:Driver={X};PWD={s;cret};Uid=u") == "odbc:Driver={X};Uid=u;"
