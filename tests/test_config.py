"""validate() against what DBUtils 3.2 really does, on real drivers and servers."""

from __future__ import annotations

import itertools
import re
import sqlite3
from dataclasses import fields

import pymysql
import pytest
from dbutils.pooled_db import PooledDB, TooManyConnectionsError

from pooltui.core.config import (
    PARAMETER_HELP,
    PATTERNS,
    Finding,
    PoolConfig,
    Workload,
    apply_overrides,
    pooled_db_kwargs,
    validate,
    validate_workload,
)
from pooltui.core.errors import BadInput
from pooltui.core.targets import DriverFacts, parse_dsn

TS1 = DriverFacts("pymysql", 1, True, False, ())
TS2_NO_PING = DriverFacts("psycopg", 2, False, True, ())


def _params(validation: object, level: str) -> set[str]:
    return {f.param for f in validation.findings if f.level == level}


def _limits(pool: PooledDB) -> tuple[int, int, int]:
    return pool._maxcached, pool._maxshared, pool._maxconnections


GRID = list(itertools.product((0, 2, 5), (0, 1, 3, 8), (0, 2, 6), (0, 1, 4, 10)))


def test_normalising_matches_pooleddb_on_sqlite(sqlite_dsn):
    """Every combination: validate's effective limits are PooledDB's, and its hang error is real."""
    target = parse_dsn(sqlite_dsn)
    assert target.facts.threadsafety == sqlite3.threadsafety
    kwargs = target.connect_kwargs(None)
    refused = 0
    for mincached, maxcached, maxshared, maxconnections in GRID:
        config = PoolConfig(
            mincached=mincached,
            maxcached=maxcached,
            maxshared=maxshared,
            maxconnections=maxconnections,
            blocking=False,
            ping=0,
        )
        v = validate(config, target.facts)
        if not v.ok:
            assert _params(v, "error") == {"mincached"}
            with pytest.raises(TooManyConnectionsError):
                PooledDB(sqlite3, **pooled_db_kwargs(config), **kwargs)
            refused += 1
            continue
        pool = PooledDB(sqlite3, **pooled_db_kwargs(config), **kwargs)
        try:
            assert _limits(pool) == (
                v.effective.maxcached,
                v.effective.maxshared,
                v.effective.maxconnections,
            ), config
            assert len(pool._idle_cache) == mincached
        finally:
            pool.close()
    assert refused > 0  # the grid does contain the hang


def test_normalising_matches_pooleddb_on_threadsafety_1(mysql_dsn):
    """PyMySQL has threadsafety 1: maxshared is zeroed, maxconnections still follows maxshared."""
    target = parse_dsn(mysql_dsn)
    assert target.facts.threadsafety == pymysql.threadsafety == 1
    kwargs = target.connect_kwargs(None)
    for mincached, maxcached, maxshared, maxconnections in GRID:
        if mincached > 2:
            continue  # keep the connections this test opens few
        config = PoolConfig(
            mincached=mincached,
            maxcached=maxcached,
            maxshared=maxshared,
            maxconnections=maxconnections,
            blocking=False,
        )
        v = validate(config, target.facts)
        if not v.ok:
            continue
        pool = PooledDB(pymysql, **pooled_db_kwargs(config), **kwargs)
        try:
            assert _limits(pool) == (
                v.effective.maxcached,
                v.effective.maxshared,
                v.effective.maxconnections,
            ), config
        finally:
            pool.close()
        assert v.effective.maxshared == 0
        assert ("maxshared" in _params(v, "warning")) == (maxshared > 0)


def test_hang_error_is_a_real_hang_with_blocking(sqlite_dsn):
    """With blocking=True the constructor reaches DBUtils' untimed wait, which nothing can end."""
    target = parse_dsn(sqlite_dsn)
    config = PoolConfig(mincached=3, maxcached=0, maxconnections=2, blocking=True, ping=0)
    v = validate(config, target.facts)
    assert not v.ok
    [error] = v.errors()
    assert error.param == "mincached" and "hangs forever" in error.message

    class Waited(Exception):
        pass

    class ProbePool(PooledDB):
        def _wait_lock(self):
            assert self._blocking  # the real one would now wait with no timeout
            raise Waited

    with pytest.raises(Waited):
        ProbePool(sqlite3, **pooled_db_kwargs(config), **target.connect_kwargs(None))
    # raising maxcached (or maxconnections) is the fix the message names
    assert validate(PoolConfig(mincached=3, maxcached=3, maxconnections=2), target.facts).ok


def test_maxusage_must_be_int_like_dbutils_says(sqlite_dsn):
    target = parse_dsn(sqlite_dsn)
    config = PoolConfig(mincached=1, maxusage=1.5)  # type: ignore[arg-type]
    v = validate(config, target.facts)
    assert not v.ok and _params(v, "error") == {"maxusage"}
    with pytest.raises(TypeError):
        PooledDB(sqlite3, **pooled_db_kwargs(config), **target.connect_kwargs(None))


@pytest.mark.parametrize(
    ("config", "param"),
    [
        (PoolConfig(mincached=-1), "mincached"),
        (PoolConfig(maxcached=-2), "maxcached"),
        (PoolConfig(maxshared=-1), "maxshared"),
        (PoolConfig(maxconnections=-5), "maxconnections"),
        (PoolConfig(maxusage=-1), "maxusage"),
        (PoolConfig(ping=8), "ping"),
        (PoolConfig(ping=-1), "ping"),
        (PoolConfig(setsession=("SET a = 1", "  ")), "setsession"),
        (PoolConfig(ping_query="   "), "ping_query"),
        (PoolConfig(blocking=1), "blocking"),  # type: ignore[arg-type]
        (PoolConfig(maxconnections=True), "maxconnections"),  # type: ignore[arg-type]
        (PoolConfig(setsession="SET a = 1"), "setsession"),  # type: ignore[arg-type]
    ],
)
def test_impossible_values_are_refused(config, param):
    v = validate(config, TS2_NO_PING)
    assert not v.ok
    assert param in _params(v, "error")


def test_threadsafety_0_is_refused():
    v = validate(PoolConfig(), DriverFacts("oldmod", 0, False, False, ()))
    assert not v.ok and "threadsafety" in _params(v, "error")


@pytest.mark.parametrize(
    ("config", "facts", "level", "param", "words"),
    [
        (PoolConfig(maxshared=4, maxconnections=4), TS1, "warning", "maxshared", "threadsafety 1"),
        (PoolConfig(ping=1), TS2_NO_PING, "warning", "ping", "SELECT 1"),
        (PoolConfig(ping=0, ping_query="SELECT 1"), TS1, "warning", "ping_query", "ping is 0"),
        (PoolConfig(maxcached=0, maxconnections=0), TS1, "warning", "maxcached", "unlimited"),
        (PoolConfig(maxconnections=0), TS1, "warning", "maxconnections", "max_connections"),
        (PoolConfig(maxconnections=4, blocking=True), TS1, "warning", "blocking", "no timeout"),
        (
            PoolConfig(maxconnections=4, blocking=False),
            TS1,
            "info",
            "blocking",
            "TooManyConnectionsError",
        ),
        (PoolConfig(mincached=2, maxconnections=4), TS1, "warning", "mincached", "never"),
        (PoolConfig(maxusage=100), TS1, "warning", "maxusage", "statements"),
        (PoolConfig(reset=False), TS1, "warning", "reset", "begin()"),
        (PoolConfig(maxcached=2, maxconnections=6), TS1, "info", "maxcached", "churn"),
        (PoolConfig(maxcached=1, mincached=3), TS1, "info", "maxcached", "raised to mincached 3"),
        (PoolConfig(maxcached=5, maxconnections=2), TS1, "info", "maxconnections", "raised to 5"),
        (PoolConfig(maxshared=3, maxconnections=2), TS2_NO_PING, "info", "maxshared", "begin()"),
        (PoolConfig(ping=5, ping_query="SELECT 1"), TS2_NO_PING, "info", "ping", "execute()"),
        (PoolConfig(setsession=("SET x = 1",)), TS2_NO_PING, "warning", "setsession", "COMMIT"),
    ],
)
def test_traps_are_reported_with_their_reason(config, facts, level, param, words):
    v = validate(config, facts)
    assert v.ok
    messages = [f.message for f in v.findings if f.level == level and f.param == param]
    assert messages, v.findings
    assert any(words in m for m in messages)


def test_quiet_configuration_has_no_warnings():
    """A bounded, non-blocking, fully cached pool with a working ping has nothing to warn about."""
    config = PoolConfig(maxcached=6, maxconnections=6, blocking=False, ping=1)
    v = validate(config, TS1)
    assert v.ok and not _params(v, "warning")
    assert v.effective == config


def test_findings_are_ordered_and_one_sentence():
    config = PoolConfig(
        mincached=5,
        maxcached=2,
        maxshared=9,
        maxconnections=3,
        maxusage=10,
        reset=False,
        ping=7,
        setsession=("SET a = 1",),
    )
    for facts in (TS1, TS2_NO_PING):
        v = validate(config, facts)
        levels = [f.level for f in v.findings]
        assert levels == sorted(levels, key=("error", "warning", "info").index)
        assert len(v.findings) >= 6
        for f in v.findings:
            assert isinstance(f, Finding) and f.message.endswith(".")
            assert not re.search(r"(?<!e\.g)\. [A-Z]", f.message), f.message


def test_ping_without_ping_method_is_really_a_no_op(pg_dsn):
    """psycopg: DBUtils turns the check off on first use; with ping_query it stays on."""
    target = parse_dsn(pg_dsn)
    for ping_query, warned, active in (("", True, 0), ("SELECT 1", False, 1)):
        config = PoolConfig(
            mincached=1, maxcached=1, maxconnections=1, ping=1, ping_query=ping_query
        )
        v = validate(config, target.facts)
        assert ("ping" in _params(v, "warning")) is warned
        pool = PooledDB(target.module(), **pooled_db_kwargs(config), **target.connect_kwargs(None))
        try:
            with pool.connection() as con:  # from the idle cache: ping bit 1 applies
                assert con._con._ping == active
        finally:
            pool.close()


def test_setsession_without_commit_is_undone_on_postgresql(pg_dsn):
    """The warning is true: psycopg's implicit transaction takes the SET with it on reset."""
    target = parse_dsn(pg_dsn)
    seen = {}
    for setsession in (
        ("SET statement_timeout = '7s'",),
        ("SET statement_timeout = '7s'", "COMMIT"),
    ):
        config = PoolConfig(maxcached=1, maxconnections=1, ping=0, setsession=setsession)
        v = validate(config, target.facts)
        pool = PooledDB(target.module(), **pooled_db_kwargs(config), **target.connect_kwargs(None))
        try:
            pool.connection().close()  # returned: reset=True rolls back
            with pool.connection() as con:
                cur = con.cursor()
                cur.execute("SHOW statement_timeout")
                seen[len(setsession)] = (cur.fetchone()[0], "setsession" in _params(v, "warning"))
                cur.close()
        finally:
            pool.close()
    assert seen[1][0] != "7s" and seen[1][1] is True
    assert seen[2] == ("7s", False)


def test_churn_beyond_maxcached_is_real(sqlite_dsn):
    target = parse_dsn(sqlite_dsn)
    config = PoolConfig(maxcached=2, maxconnections=5, ping=0)
    assert "maxcached" in _params(validate(config, target.facts), "info")
    pool = PooledDB(sqlite3, **pooled_db_kwargs(config), **target.connect_kwargs(None))
    try:
        held = [pool.connection() for _ in range(5)]
        for con in held:
            con.close()
        assert len(pool._idle_cache) == 2
    finally:
        pool.close()


def test_pooled_db_kwargs_forms(sqlite_dsn):
    kw = pooled_db_kwargs(PoolConfig(ping=4, ping_query="SELECT 1", setsession=("PRAGMA x",)))
    assert kw["ping"] == (4, "SELECT 1") and kw["setsession"] == ["PRAGMA x"]
    kw = pooled_db_kwargs(PoolConfig())
    assert kw["ping"] == 1 and kw["setsession"] is None and kw["maxusage"] == 0
    assert set(kw) == {f.name for f in fields(PoolConfig)} - {"ping_query"}
    # DBUtils accepts the forms and uses the SQL pinger
    target = parse_dsn(sqlite_dsn)
    pool = PooledDB(
        sqlite3,
        **pooled_db_kwargs(PoolConfig(mincached=1, ping_query="SELECT 1")),
        **target.connect_kwargs(None),
    )
    try:
        with pool.connection() as con:
            assert con._con._pinger is not None and con._con._ping == 1
    finally:
        pool.close()


@pytest.mark.parametrize(
    ("workload", "param"),
    [
        (Workload(threads=0), "threads"),
        (Workload(threads=257), "threads"),
        (Workload(duration_s=0), "duration_s"),
        (Workload(duration_s=3601), "duration_s"),
        (Workload(requests=-1), "requests"),
        (Workload(pattern="spiky"), "pattern"),
        (Workload(pattern="poisson", rate=0), "rate"),
        (Workload(pattern="bursty", rate=0), "rate"),
        (Workload(hold_ms=-1), "hold_ms"),
        (Workload(think_ms=-0.5), "think_ms"),
        (Workload(query="  "), "query"),
        (Workload(threads=True), "threads"),  # type: ignore[arg-type]
        (Workload(duration_s=float("inf")), "duration_s"),
        (Workload(hold_ms=60_000, duration_s=2), "hold_ms"),
        (Workload(statement_timeout_ms=-1), "statement_timeout_ms"),
        (Workload(give_up_after_s=-3), "give_up_after_s"),
        (Workload(allow_writes=1), "allow_writes"),  # type: ignore[arg-type]
    ],
)
def test_bad_workloads_are_refused(workload, param):
    errors = {f.param for f in validate_workload(workload) if f.level == "error"}
    assert errors == {param}


def test_good_workloads_pass():
    for pattern in PATTERNS:
        w = Workload(pattern=pattern, rate=50.0, threads=256, duration_s=3600)
        assert not [f for f in validate_workload(w) if f.level == "error"]
    assert [f.param for f in validate_workload(Workload(rate=5.0))] == ["rate"]  # ignored: warn
    assert validate_workload(Workload()) == ()


def test_apply_overrides_parses_every_kind():
    pool, work = apply_overrides(
        PoolConfig(),
        Workload(),
        [
            "maxconnections=12",
            "blocking=no",
            "reset=0",
            "ping=5",
            "ping_query=SELECT 1",
            "setsession=SET a = 1; SET b = 'x';",
            "threads=3",
            "duration_s=2.5",
            "hold_ms=4",
            "query=SELECT 1 WHERE 1 = 1",
            "pattern=poisson",
            "workload.rate=100",
            "pool.mincached=2",
            "maxconnections=10",
        ],
    )
    assert pool == PoolConfig(
        mincached=2,
        maxconnections=10,
        blocking=False,
        reset=False,
        ping=5,
        ping_query="SELECT 1",
        setsession=("SET a = 1", "SET b = 'x'"),
    )
    assert work == Workload(
        threads=3,
        duration_s=2.5,
        hold_ms=4.0,
        query="SELECT 1 WHERE 1 = 1",
        pattern="poisson",
        rate=100.0,
    )
    assert isinstance(work.hold_ms, float)
    assert apply_overrides(PoolConfig(), Workload(), ["setsession="])[0].setsession == ()
    for text, expected in (("TRUE", True), ("yes", True), ("1", True), ("False", False)):
        assert (
            apply_overrides(PoolConfig(), Workload(), [f"blocking={text}"])[0].blocking is expected
        )


@pytest.mark.parametrize(
    ("pair", "words"),
    [
        ("maxconnection=3", ["'maxconnection'", "maxconnections"]),
        ("pool.threads=3", ["'pool.threads'"]),
        ("maxcached=many", ["maxcached", "whole number"]),
        ("maxcached=1.5", ["maxcached", "whole number"]),
        ("blocking=maybe", ["blocking", "true or false"]),
        ("hold_ms=nan", ["hold_ms", "number"]),
        ("rate=fast", ["rate", "number"]),
        ("threads", ["key=value"]),
        ("=3", ["key=value"]),
    ],
)
def test_apply_overrides_refuses_with_key_and_expectation(pair, words):
    with pytest.raises(BadInput) as info:
        apply_overrides(PoolConfig(), Workload(), [pair])
    assert info.value.exit_code == 2
    for word in words:
        assert word in str(info.value)


def test_parameter_help_covers_every_field():
    names = [f.name for f in fields(PoolConfig)] + [f.name for f in fields(Workload)]
    assert sorted(PARAMETER_HELP) == sorted(names)
    for name, text in PARAMETER_HELP.items():
        sentences = [s for s in re.split(r"(?<!e\.g)\.\s+", text.strip()) if s]
        assert text.endswith(".") and 1 <= len(sentences) <= 2, name
