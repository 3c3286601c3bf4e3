"""Issue 12: a DSN's own session name (``application_name=myapp``, ``program_name=myapp``) is
kept as the prefix of pooltui's tag, so the server still shows whose sessions they are, and the
sessions are still counted as the pool's."""

from __future__ import annotations

import pytest

from pooltui.core.config import PoolConfig
from pooltui.core.pool import InstrumentedPool
from pooltui.core.probes import count_pool_connections
from pooltui.core.targets import parse_dsn

CONFIG = PoolConfig(mincached=3, maxcached=3)


def with_param(dsn: str, key: str, value: str) -> str:
    return f"{dsn}{'&' if '?' in dsn else '?'}{key}={value}"


def test_the_tag_keeps_the_name_and_fits_what_postgresql_keeps() -> None:
    plain = parse_dsn("postgresql://u@h/db")
    assert plain.session_tag("pooltui-1-2") == "pooltui-1-2" and plain.session_name is None
    named = parse_dsn("postgresql://u@h/db?application_name=myapp")
    assert named.session_name == "myapp"
    assert named.session_tag("pooltui-1-2") == "myapp/pooltui-1-2"
    long = parse_dsn("postgresql://u@h/db?application_name=" + "a" * 80)
    tag = long.session_tag("pooltui-12345-6")
    assert len(tag.encode()) == 63 and tag.endswith("/pooltui-12345-6")
    odd = parse_dsn("postgresql://u@h/db?application_name=caf%C3%A9")
    assert odd.session_tag("pooltui-1-2") == "caf_/pooltui-1-2"  # PostgreSQL alters non-ASCII
    assert parse_dsn("sqlite:///x.db").session_tag("pooltui-1-2") == "pooltui-1-2"


def test_postgresql_sees_the_prefixed_name_and_counts_the_pool(pg_dsn: str) -> None:
    target = parse_dsn(with_param(pg_dsn, "application_name", "myapp"))
    with InstrumentedPool(target, CONFIG) as pool:
        assert pool.tag.startswith("myapp/pooltui-")
        probe = parse_dsn(pg_dsn).connect()
        try:
            cursor = probe.cursor()
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (pool.tag,)
            )
            seen = cursor.fetchone()[0]
        finally:
            probe.close()
        assert seen == 3
        assert count_pool_connections(target, pool) == 3


def test_mariadb_is_sent_the_prefixed_name_and_counts_the_pool(mysql_dsn: str) -> None:
    target = parse_dsn(with_param(mysql_dsn, "program_name", "myapp"))
    with InstrumentedPool(target, CONFIG) as pool:
        assert pool.tag.startswith("myapp/pooltui-")
        assert target.connect_kwargs(pool.tag)["program_name"] == pool.tag
        assert count_pool_connections(target, pool) == 3


def test_mariadb_keeps_the_prefixed_name_where_it_keeps_connect_attributes(
    mysql_dsn: str,
) -> None:
    target = parse_dsn(with_param(mysql_dsn, "program_name", "myapp"))
    with InstrumentedPool(target, CONFIG) as pool:
        probe = parse_dsn(mysql_dsn).connect()
        try:
            cursor = probe.cursor()
            cursor.execute("SELECT @@performance_schema")
            if not cursor.fetchone()[0]:
                pytest.skip("performance_schema is off: the server keeps no connect attributes")
            cursor.execute(
                "SELECT count(*) FROM performance_schema.session_connect_attrs "
                "WHERE ATTR_NAME = 'program_name' AND ATTR_VALUE = %s",
                (pool.tag,),
            )
            assert cursor.fetchone()[0] == 3
        finally:
            probe.close()


def test_bench_says_the_name_is_kept(pg_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    from pooltui.cli import main

    dsn = with_param(pg_dsn, "application_name", "myapp")
    assert main(["bench", "--dsn", dsn, "--duration", "0.2", "--threads", "2"]) == 0
    err = capsys.readouterr().err
    assert "session name myapp is kept" in err and "myapp/pooltui-" in err
    assert "the server counts none of pooltui's sessions" in err  # counted by the tag, closed
