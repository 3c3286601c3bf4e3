"""The diagnosis rules one by one, recommend() on realistic scenarios, and one real server each."""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace

import pytest

from pooltui.core.config import PoolConfig, Workload, validate
from pooltui.core.diagnosis import queueing as q
from pooltui.core.diagnosis import rules
from pooltui.core.diagnosis.recommend import (
    ANSWER_HELP,
    ANSWER_NAMES,
    DEFAULT_ANSWERS,
    SYMPTOMS,
    Answers,
    Measurements,
    _context,
    answers_from_mapping,
    predict,
    recommend,
    recommendation_as_dict,
    validate_answers,
)
from pooltui.core.errors import BadInput
from pooltui.core.load import engine
from pooltui.core.load.results import RunResult
from pooltui.core.numbers import ms
from pooltui.core.pool import InstrumentedPool
from pooltui.core.pool.histogram import Summary
from pooltui.core.pool.lock_time import LockTime
from pooltui.core.pool.stats import PoolStats
from pooltui.core.probes import ServerInfo, probe_server
from pooltui.core.targets import DriverFacts, driver_facts, parse_dsn

# The facts of the installed drivers: the rules must hold for what the drivers really do.
PYMYSQL = driver_facts("pymysql")  # threadsafety 1, has ping()
PSYCOPG = driver_facts("psycopg")  # threadsafety 2, no ping()
PYODBC = driver_facts("pyodbc")  # threadsafety 1, no ping()
SQLITE = driver_facts("sqlite3")  # threadsafety 3 on CPython >= 3.11, no ping()

# pools.md §5.3: 200 req/s x 15 ms = 3 Erlangs, served by one process of 32 threads.
WEB = Answers(threads_per_process=32, peak_rate_per_s=200, hold_ms=15, query_ms=1)


def server(max_connections: int = 100, reserved: int = 3, in_use: int = 7, **extra) -> ServerInfo:
    """A probe result as probes.probe_server returns it (PostgreSQL unless told otherwise)."""
    values = {"product": "PostgreSQL", "version": "15.4", "wait_timeout_s": None}
    values |= {"idle_session_timeout_s": None} | extra
    return ServerInfo(
        max_connections=max_connections,
        reserved_connections=reserved,
        connections_in_use=in_use,
        **values,
    )


def ctx(answers: Answers = WEB, facts: DriverFacts = PSYCOPG, srv: ServerInfo | None = None):
    return _context(answers, facts, Measurements(server=srv))[0]


def messages(outcome) -> str:
    return " | ".join(a.message for a in outcome[1])


def one_change(outcome, param: str):
    changes = [c for c in outcome[0] if c.param == param]
    assert len(changes) == 1, outcome
    return changes[0]


# --- answers


def test_defaults_are_valid_and_every_answer_has_a_question():
    validate_answers(DEFAULT_ANSWERS)
    assert set(ANSWER_HELP) == set(ANSWER_NAMES) == DEFAULT_ANSWERS.assumed
    assert all(text.endswith("?") or text.endswith(".") for text in ANSWER_HELP.values())


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"peak_rate_per_s": -5.0}, "peak_rate_per_s"),
        ({"peak_rate_per_s": math.nan}, "peak_rate_per_s"),
        ({"processes": 0}, "processes"),
        ({"threads_per_process": 0}, "threads_per_process"),
        ({"threads_per_process": True}, "threads_per_process"),
        ({"connections_per_request": 0}, "connections_per_request"),
        ({"peak_to_average": 0.5}, "peak_to_average"),
        ({"hold_ms": 0.0}, "hold_ms"),
        ({"query_ms": -1.0}, "query_ms"),
        ({"shape": "spiky"}, "shape"),
        ({"goal": "cheapest"}, "goal"),
        ({"symptoms": frozenset({"slow"})}, "symptom"),
        ({"db_cores": 0}, "db_cores"),
        ({"assumed": frozenset({"colour"})}, "colour"),
        ({"hold_ms": 5.0, "query_ms": 20.0}, "shorter than query_ms"),
    ],
)
def test_impossible_answers_are_refused_in_one_sentence(change, match):
    with pytest.raises(BadInput, match=match) as info:
        validate_answers(replace(WEB, **change))
    text = str(info.value)
    assert text.endswith(".") and ". " not in text


def test_a_hold_the_threads_cannot_sustain_is_refused_at_the_boundary():
    # 4 threads at 100 requests/s: each thread starts a request every 40 ms.
    fits = Answers(threads_per_process=4, peak_rate_per_s=100, hold_ms=39.9, query_ms=1)
    validate_answers(fits)
    with pytest.raises(BadInput, match="never keep up"):
        validate_answers(replace(fits, hold_ms=40.0))
    # the rate is over all processes: two processes halve each one's rate
    validate_answers(replace(fits, hold_ms=79.0, processes=2))


def test_a_short_hold_next_to_an_assumed_query_time_is_accepted_and_raised():
    assumed = frozenset({"query_ms", "complexity"})
    answers = replace(WEB, hold_ms=5.0, query_ms=20.0, assumed=assumed)
    validate_answers(answers)
    context, notes = _context(answers, PSYCOPG, None)
    assert context.hold_s == pytest.approx(0.020)
    assert any("hold_ms raised" in n for n in notes)


def test_answers_from_mapping_marks_what_was_not_given():
    answers = answers_from_mapping(
        {"threads_per_process": 16, "hold_ms": 12, "symptoms": ["churn"]}
    )
    assert answers.threads_per_process == 16 and answers.hold_ms == 12.0
    assert answers.symptoms == frozenset({"churn"})
    assert "hold_ms" not in answers.assumed and "processes" in answers.assumed
    with pytest.raises(BadInput, match="Unknown answer 'thread'"):
        answers_from_mapping({"thread": 3})
    with pytest.raises(BadInput, match="symptoms"):
        answers_from_mapping({"symptoms": "churn"})


def test_measurements_replace_assumed_figures_only():
    measured = Measurements(connect_ms=7.5, query_ms=4.0)
    assumed = replace(WEB, hold_ms=15, assumed=frozenset({"query_ms", "connect_ms"}))
    context, _ = _context(assumed, PSYCOPG, measured)
    assert (context.query_ms, context.connect_ms) == (4.0, 7.5)
    context, _ = _context(WEB, PSYCOPG, measured)  # given answers win over measurements
    assert (context.query_ms, context.connect_ms) == (WEB.query_ms, WEB.connect_ms)
    typical = replace(WEB, complexity="join", assumed=frozenset({"query_ms"}))
    assert _context(typical, PSYCOPG, None)[0].query_ms == 20.0


# --- sizing rules


def test_maxconnections_for_latency_is_the_smallest_meeting_both_targets():
    c = ctx()
    n = one_change(rules._rule_maxconnections(c, PoolConfig()), "maxconnections").new
    a, hold = c.load, c.hold_s
    assert a == pytest.approx(3.0)

    def ok(k: int) -> bool:
        return q.erlang_c(k, a) <= 0.1 and q.wait_percentile_s(k, a, hold, 0.95) <= 0.1 * hold

    assert ok(n) and not ok(n - 1)


def test_maxconnections_for_fewest_connections_accepts_more_waiting():
    c = ctx(replace(WEB, goal="fewest_connections"))
    change = one_change(rules._rule_maxconnections(c, PoolConfig()), "maxconnections")
    n = change.new
    assert q.erlang_c(n, 3.0) <= 0.5 and 3.0 / n <= 0.85
    assert q.erlang_c(n - 1, 3.0) > 0.5 or 3.0 / (n - 1) > 0.85
    latency = one_change(rules._rule_maxconnections(ctx(), PoolConfig()), "maxconnections").new
    assert n < latency
    assert "3.00 busy connections" in change.why and "200/s x 15.00 ms" in change.why


def test_maxconnections_without_blocking_uses_erlang_b():
    c = ctx()
    n = one_change(rules._rule_maxconnections(c, PoolConfig(blocking=False)), "maxconnections").new
    assert q.erlang_b(n, 3.0) <= 0.001 < q.erlang_b(n - 1, 3.0)


def test_maxconnections_is_capped_by_the_threads_and_says_why():
    c = ctx(replace(WEB, threads_per_process=4))  # A = 3 of 4 threads busy
    outcome = rules._rule_maxconnections(c, PoolConfig())
    assert one_change(outcome, "maxconnections").new == 4
    assert "capped" in one_change(outcome, "maxconnections").why
    assert outcome[1][0].level == "warning" and "queue for a thread" in messages(outcome)


def test_maxconnections_respects_the_deadlock_bound():
    c = ctx(replace(WEB, threads_per_process=8, peak_rate_per_s=20, connections_per_request=3))
    change = one_change(rules._rule_maxconnections(c, PoolConfig()), "maxconnections")
    assert change.new == q.deadlock_free_size(8, 3) == 17
    assert "deadlock" in change.why


def test_blocking_rule_turns_rejections_into_waits():
    c = ctx(replace(WEB, symptoms=frozenset({"exhaustion"})))
    outcome = rules._rule_blocking(c, PoolConfig(blocking=False, maxconnections=4))
    change = one_change(outcome, "blocking")
    assert (change.old, change.new) == (False, True)
    assert f"{q.erlang_b(4, 3.0):.2%}" in change.why
    assert "without a timeout" in messages(outcome)
    assert rules._rule_blocking(ctx(), PoolConfig(blocking=False)) == ([], [])
    assert rules._rule_blocking(c, PoolConfig(blocking=True)) == ([], [])


def test_server_headroom_lowers_maxconnections_to_fit_with_the_numbers():
    srv = server(100, 3, 37)
    free = srv.usable_connections - 37
    c = ctx(replace(WEB, processes=10, peak_rate_per_s=2000), srv=srv)
    outcome = rules._rule_server_headroom(c, PoolConfig(maxconnections=8))
    assert one_change(outcome, "maxconnections").new == free // 10
    advice = outcome[1][0]
    assert advice.level == "error"
    figures = (
        "10 processes x 8 connections = 80",
        f"open {srv.usable_connections}",
        "37 are in use",
        f"leaving {free}",
    )
    for figure in figures:
        assert figure in advice.message


def test_server_headroom_refuses_to_shrink_below_a_stable_pool():
    srv = server(40, 3, 7)
    assert (srv.usable_connections - 7) // 10 < 4  # A = 3 needs at least 4 per process
    c = ctx(replace(WEB, processes=10, peak_rate_per_s=2000), srv=srv)
    outcome = rules._rule_server_headroom(c, PoolConfig(maxconnections=8))
    assert outcome[0] == []  # 3 per process could never carry 3 busy connections
    assert outcome[1][0].level == "error" and "pgbouncer" in outcome[1][0].message


def test_server_headroom_quiet_when_the_fleet_fits_unless_the_server_refuses():
    fits = PoolConfig(maxconnections=8)
    assert rules._rule_server_headroom(ctx(srv=server()), fits) == ([], [])
    c = ctx(replace(WEB, symptoms=frozenset({"server_too_many"})), srv=server())
    assert "other clients" in messages(rules._rule_server_headroom(c, fits))
    c = ctx(replace(WEB, symptoms=frozenset({"server_too_many"})))
    assert "--dsn" in messages(rules._rule_server_headroom(c, fits))


def test_hikari_bound_warns_only_far_above_or_when_the_database_saturates():
    cores2 = replace(WEB, processes=4, peak_rate_per_s=200, db_cores=2)  # Hikari size 4
    assert "HikariCP" in messages(rules._rule_hikari(ctx(cores2), PoolConfig(maxconnections=8)))
    busy = replace(cores2, peak_rate_per_s=800)  # 4 x 3 = 12 busy > 4
    assert "12.00 connections busy" in messages(rules._rule_hikari(ctx(busy), PoolConfig()))
    roomy = replace(cores2, db_cores=32)
    assert rules._rule_hikari(ctx(roomy), PoolConfig(maxconnections=8)) == ([], [])
    assert rules._rule_hikari(ctx(), PoolConfig(maxconnections=8)) == ([], [])


def test_maxshared_is_zeroed_where_ignored_and_bounded_where_honoured():
    outcome = rules._rule_maxshared(ctx(facts=PYMYSQL), PoolConfig(maxshared=5))
    change = one_change(outcome, "maxshared")
    assert change.new == 0 and "threadsafety 1" in change.why
    outcome = rules._rule_maxshared(ctx(), PoolConfig(maxshared=20, maxconnections=8))
    assert one_change(outcome, "maxshared").new == 8
    assert "share one transaction" in messages(outcome)


# --- warm-up, cache, churn


def test_mincached_warms_up_the_busy_connections():
    steady = replace(WEB, peak_to_average=3.0)  # average A = 1
    cfg = PoolConfig(maxconnections=7)
    change = one_change(rules._rule_mincached(ctx(steady), cfg), "mincached")
    assert change.new == 1 and "first request pays" in change.why
    bursty = replace(steady, shape="bursty")  # warm up for the peak: A = 3
    change = one_change(rules._rule_mincached(ctx(bursty), cfg), "mincached")
    assert change.new == 3 and "under the pool lock" in change.why
    # a latency goal keeps a bigger warm-up; fewest connections trims it
    assert rules._rule_mincached(ctx(bursty), replace(cfg, mincached=5)) == ([], [])
    fewest = replace(bursty, goal="fewest_connections")
    outcome = rules._rule_mincached(ctx(fewest), replace(cfg, mincached=5))
    assert one_change(outcome, "mincached").new == 3


def test_maxcached_keeps_every_connection_against_churn_and_bursts():
    cfg = PoolConfig(maxconnections=7, mincached=3, maxcached=2)
    churn = ctx(replace(WEB, symptoms=frozenset({"churn"})))
    change = one_change(rules._rule_maxcached(churn, cfg), "maxcached")
    assert change.new == 7 and "churn" in change.why
    bursty = ctx(replace(WEB, shape="bursty"))
    assert one_change(rules._rule_maxcached(bursty, cfg), "maxcached").new == 7
    fewest = ctx(replace(WEB, goal="fewest_connections"))
    assert one_change(rules._rule_maxcached(fewest, cfg), "maxcached").new == 3
    assert one_change(rules._rule_maxcached(ctx(), cfg), "maxcached").new == 3  # >= mincached
    too_big = replace(cfg, maxcached=12)
    assert one_change(rules._rule_maxcached(ctx(), too_big), "maxcached").new == 7
    assert rules._rule_maxcached(ctx(), replace(cfg, maxcached=0)) == ([], [])


def test_maxusage_is_cleared_only_for_churn():
    cfg = PoolConfig(maxusage=1000)
    churn = ctx(replace(WEB, symptoms=frozenset({"churn"})))
    assert one_change(rules._rule_maxusage(churn, cfg), "maxusage").new == 0
    assert rules._rule_maxusage(ctx(), cfg) == ([], [])


# --- liveness


def test_ping_on_pymysql_is_turned_on_for_gone_away():
    gone = ctx(replace(WEB, symptoms=frozenset({"gone_away"})), facts=PYMYSQL)
    change = one_change(rules._rule_ping(gone, PoolConfig(ping=0)), "ping")
    assert change.new == 1 and "ping()" in change.why
    assert rules._rule_ping(gone, PoolConfig(ping=1)) == ([], [])
    assert rules._rule_ping(ctx(facts=PYMYSQL), PoolConfig(ping=0)) == ([], [])


def test_ping_without_ping_method_becomes_a_ping_query():
    gone = ctx(replace(WEB, symptoms=frozenset({"gone_away"})))
    outcome = rules._rule_ping(gone, PoolConfig(ping=0))
    assert one_change(outcome, "ping_query").new == "SELECT 1"
    assert "does nothing" in one_change(outcome, "ping_query").why
    assert one_change(outcome, "ping").new == 1
    assert [c.param for c in rules._rule_ping(gone, PoolConfig(ping=1))[0]] == ["ping_query"]
    assert rules._rule_ping(gone, PoolConfig(ping_query="SELECT 1")) == ([], [])


def test_ping_without_ping_method_and_no_symptom_is_called_a_no_op():
    for facts in (PSYCOPG, PYODBC):
        outcome = rules._rule_ping(ctx(facts=facts), PoolConfig(ping=1))
        assert outcome[0] == [] and "no-op" in messages(outcome)
        assert facts.module_name in messages(outcome)
    assert rules._rule_ping(ctx(facts=SQLITE), PoolConfig(ping=1)) == ([], [])


def test_idle_timeout_compares_fifo_idle_time_with_wait_timeout():
    quiet = replace(WEB, peak_rate_per_s=1.0, peak_to_average=4.0)  # 0.25/s on average
    srv = server(wait_timeout_s=20, version="10.11.6-MariaDB", product="MariaDB")
    cfg = PoolConfig(maxconnections=8, maxcached=8, ping=0)
    outcome = rules._rule_idle_timeout(ctx(quiet, PYMYSQL, srv), cfg)
    advice = outcome[1][0]
    assert advice.level == "warning" and "20 s (wait_timeout)" in advice.message
    assert "about 32.00 s" in advice.message  # 8 cached connections / 0.25 per s
    pinged = rules._rule_idle_timeout(ctx(quiet, PYMYSQL, srv), replace(cfg, ping=1))
    assert pinged[1][0].level == "info" and "replaces dead ones" in pinged[1][0].message
    busy = rules._rule_idle_timeout(ctx(WEB, PYMYSQL, srv), cfg)
    assert busy == ([], [])  # reused every 0.04 s, far inside 20 s


def test_idle_timeout_uses_idle_session_timeout_and_asks_for_it_when_unknown():
    gone = replace(WEB, symptoms=frozenset({"gone_away"}))
    srv = server(wait_timeout_s=None, idle_session_timeout_s=300)
    outcome = rules._rule_idle_timeout(ctx(gone, PSYCOPG, srv), PoolConfig(maxconnections=7))
    assert "idle_session_timeout" in messages(outcome)
    assert "--dsn" in messages(rules._rule_idle_timeout(ctx(gone), PoolConfig(maxconnections=7)))
    no_killer = ctx(gone, PSYCOPG, server(idle_session_timeout_s=0))
    assert "firewall" in messages(rules._rule_idle_timeout(no_killer, PoolConfig(maxconnections=7)))
    assert rules._rule_idle_timeout(ctx(), PoolConfig(maxconnections=7)) == ([], [])


def test_reset_costs_a_round_trip_on_mysql_and_leaks_when_off():
    assert "round trip" in messages(rules._rule_reset(ctx(facts=PYMYSQL), PoolConfig()))
    assert rules._rule_reset(ctx(), PoolConfig()) == ([], [])
    odbc_mariadb = ctx(facts=PYODBC, srv=server(version="10.11.6", product="MariaDB"))
    assert "round trip" in messages(rules._rule_reset(odbc_mariadb, PoolConfig()))
    off = rules._rule_reset(ctx(), PoolConfig(reset=False))
    assert off[1][0].level == "warning" and "begin()" in off[1][0].message


def test_symptom_advice_explains_hangs_and_always_warns_about_re_execution():
    c = ctx(replace(WEB, symptoms=frozenset({"hanging"}), complexity="report"), facts=PYODBC)
    p = rules.predict_for(c, PoolConfig())
    text = " | ".join(a.message for a in rules.symptom_advice(c, PoolConfig(), p, p))
    for expected in ("no acquire timeout", "pool of their own", "pyodbc.pooling", "run twice"):
        assert expected in text
    plain = rules.symptom_advice(ctx(), PoolConfig(), p, p)
    assert [a.level for a in plain] == ["info"] and "begin()" in plain[0].message


# --- recommend


def check_consistent(rec, facts: DriverFacts) -> None:
    """The recommended config is one DBUtils takes as it is, and the changes describe it."""
    result = validate(rec.config, facts)
    assert result.ok, result.findings
    assert result.effective.maxconnections == rec.config.maxconnections > 0
    assert result.effective.maxcached == rec.config.maxcached
    assert rec.config.mincached <= rec.config.maxconnections
    levels = [a.level for a in rec.advice]
    assert levels == sorted(levels, key=["error", "warning", "info"].index)
    json.dumps(recommendation_as_dict(rec))


def test_worked_example_web_api_on_postgresql():
    rec = recommend(WEB, PoolConfig(), PSYCOPG)
    check_consistent(rec, PSYCOPG)
    n = rec.config.maxconnections
    assert rec.prediction.offered_load == pytest.approx(3.0)
    assert rec.prediction.p_wait == pytest.approx(q.erlang_c(n, 3.0))
    assert rec.prediction.p_wait <= 0.1
    assert rec.prediction_before.p_wait == 0.0  # unbounded pool: nobody waits, the server pays
    change = {c.param: c for c in rec.changes}["maxconnections"]
    assert (change.old, change.new) == (0, n)
    assert predict(WEB, rec.config, PSYCOPG) == rec.prediction
    assert any("Poisson" in s for s in rec.assumptions)


def test_mysql_fleet_with_gone_away_churn_and_too_little_server_room():
    symptoms = frozenset({"gone_away", "churn", "server_too_many"})
    # 12 processes of 16 threads, 4800 requests/s together: 4 busy connections per process
    answers = Answers(16, 12, 4800, hold_ms=10, query_ms=2, symptoms=symptoms)
    srv = server(151, 1, 60, wait_timeout_s=28800, version="10.11.6", product="MariaDB")
    current = PoolConfig(maxconnections=16, maxcached=4, ping=0, maxusage=500)
    rec = recommend(answers, current, PYMYSQL, Measurements(server=srv))
    check_consistent(rec, PYMYSQL)
    assert rec.config.maxconnections * 12 <= srv.usable_connections - 60
    assert rec.config.maxcached == rec.config.maxconnections
    assert (rec.config.ping, rec.config.maxusage) == (1, 0)
    free = srv.usable_connections - 60
    assert rec.advice[0].level == "error" and f"leaving {free}" in rec.advice[0].message
    changed = {c.param: (c.old, c.new) for c in rec.changes}
    assert changed["maxconnections"] == (16, rec.config.maxconnections)
    assert changed["maxcached"][0] == 4 and "blocking" not in changed


def test_fewest_connections_without_blocking_keeps_rejecting_rarely():
    answers = replace(WEB, goal="fewest_connections", shape="bursty", peak_to_average=4.0)
    rec = recommend(answers, PoolConfig(blocking=False), PSYCOPG)
    check_consistent(rec, PSYCOPG)
    assert rec.config.blocking is False
    assert 0 < rec.prediction.p_reject <= 0.01 and rec.prediction.p_wait == 0.0
    assert rec.config.mincached == 3  # warm up for the peak of a bursty load
    assert any("clumped" in s for s in rec.assumptions)


def test_exhaustion_with_a_small_pool_switches_to_blocking_and_predicts_better():
    answers = replace(WEB, symptoms=frozenset({"exhaustion", "timeouts"}))
    current = PoolConfig(blocking=False, maxconnections=4)
    rec = recommend(answers, current, PSYCOPG)
    check_consistent(rec, PSYCOPG)
    assert rec.config.blocking is True
    assert rec.prediction_before.p_reject == pytest.approx(q.erlang_b(4, 3.0))
    assert rec.prediction.p_wait < q.erlang_c(4, 3.0)
    assert any("as recommended" in a.message for a in rec.advice)


def test_an_unstable_current_pool_predicts_unbounded_waits_as_null():
    rec = recommend(WEB, PoolConfig(maxconnections=3), PSYCOPG)
    assert math.isinf(rec.prediction_before.mean_wait_ms)
    as_dict = recommendation_as_dict(rec)
    assert as_dict["prediction_before"]["mean_wait_ms"] is None
    assert as_dict["prediction"]["mean_wait_ms"] is not None
    assert as_dict["config"]["maxconnections"] == rec.config.maxconnections


def test_defaults_with_measurements_say_what_was_assumed_and_measured():
    measured = Measurements(connect_ms=7.5, query_ms=30.0)
    rec = recommend(DEFAULT_ANSWERS, PoolConfig(), SQLITE, measured)
    check_consistent(rec, SQLITE)
    text = " ".join(rec.assumptions)
    assert "30.00 ms measured" in text and "7.50 ms measured" in text
    assert "hold_ms raised" in text and "threads_per_process = 8 is a default" in text
    assert rec.prediction.offered_load == pytest.approx(50 * 0.030)


def test_a_measured_query_the_threads_cannot_sustain_is_refused():
    given = {"threads_per_process", "peak_rate_per_s"}
    answers = replace(
        DEFAULT_ANSWERS,
        threads_per_process=2,
        peak_rate_per_s=60,
        assumed=DEFAULT_ANSWERS.assumed - given,
    )
    with pytest.raises(BadInput, match="never keep up"):
        recommend(answers, PoolConfig(), PSYCOPG, Measurements(query_ms=50.0))


@pytest.mark.parametrize("facts", [PYMYSQL, PSYCOPG, PYODBC, SQLITE])
@pytest.mark.parametrize("goal", ["latency", "fewest_connections"])
@pytest.mark.parametrize("shape", ["steady", "bursty"])
def test_every_combination_gives_a_config_dbutils_takes_as_is(facts, goal, shape):
    answers = replace(WEB, goal=goal, shape=shape, symptoms=frozenset(SYMPTOMS))
    current = PoolConfig(mincached=40, maxcached=2, maxshared=9, maxconnections=3, blocking=False)
    rec = recommend(answers, current, facts, Measurements(server=server(in_use=2)))
    check_consistent(rec, facts)
    for change in rec.changes:
        assert change.old == getattr(current, change.param) != change.new
        assert change.new == getattr(rec.config, change.param) and change.why.endswith(".")


# --- real servers


@pytest.mark.mariadb
def test_recommend_against_the_real_mariadb_limits(mysql_dsn):
    target = parse_dsn(mysql_dsn)
    info = probe_server(target)
    started = time.perf_counter()
    con = target.connect()
    try:
        connect_ms = (time.perf_counter() - started) * 1000
    finally:
        con.close()
    free = info.usable_connections - info.connections_in_use
    assert free > 0
    # as many processes as free slots: each wants 2 or more connections, only 1 each fits
    answers = replace(
        WEB,
        processes=free,
        peak_rate_per_s=20.0 * free,
        hold_ms=10,
        symptoms=frozenset({"gone_away"}),
        assumed=frozenset({"connect_ms"}),
    )
    rec = recommend(answers, PoolConfig(ping=0), target.facts, Measurements(connect_ms, None, info))
    check_consistent(rec, target.facts)
    assert rec.config.maxconnections == 1
    assert rec.advice[0].level == "error" and f"leaving {free}" in rec.advice[0].message
    assert "wait_timeout" in " ".join(a.message for a in rec.advice)
    assert rec.config.ping == 1  # PyMySQL really has ping()
    assert any(f"{ms(connect_ms)} measured" in s for s in rec.assumptions)


@pytest.mark.postgres
def test_recommend_against_the_real_postgresql_limits(pg_dsn):
    target = parse_dsn(pg_dsn)
    info = probe_server(target)
    answers = replace(WEB, symptoms=frozenset({"gone_away"}))
    rec = recommend(answers, PoolConfig(), target.facts, Measurements(server=info))
    check_consistent(rec, target.facts)
    assert rec.config.ping_query == "SELECT 1"  # psycopg has no ping(): a query does the check
    fits = rec.config.maxconnections <= info.usable_connections - info.connections_in_use
    assert fits == (rec.advice[0].level != "error")
    if info.idle_session_timeout_s is None:  # nothing on the server closes idle sessions
        assert any("firewall" in a.message for a in rec.advice)


# --- findings on a finished run -------------------------------------------------------------


def test_no_starvation_finding_when_there_are_fewer_threads_than_connections(pg_dsn):
    """The finding's first cure, on a real server: with maxconnections above the threads
    nobody waits, so no thread is starved and nothing is found."""
    with InstrumentedPool(parse_dsn(pg_dsn), PoolConfig(maxconnections=4)) as pool:
        result = engine.run(pool, Workload(threads=2, duration_s=0.5))
    assert result.errors == 0 and len(result.per_thread) == 2
    assert result.starved == []
    assert not [f for f in rules.run_findings(result) if "unfair handoff" in f.message]


def test_starvation_finding_needs_starved_threads_that_waited(sqlite_dsn):
    """A thread served little because its requests failed (or were rejected) is not starved by
    the pool's handoff: the finding counts only starved threads that waited."""
    with InstrumentedPool(parse_dsn(sqlite_dsn), PoolConfig(maxconnections=2)) as pool:
        result = engine.run(pool, Workload(threads=3, duration_s=0.3))
    served = result.per_thread[0]
    failing = replace(served, name="failing", ok=0, checkouts=0, waits=0, longest_wait_ms=0.0)
    waited = replace(failing, name="waited", waits=1, longest_wait_ms=2500.0)

    quiet = replace(result, per_thread=[served, served, failing])
    assert quiet.starved == [failing]
    assert rules.run_findings(quiet) == []

    loud = replace(result, per_thread=[served, served, waited])
    (finding,) = rules.run_findings(loud)
    assert finding.level == "warning"
    assert "1 of 3 threads were starved" in finding.message
    assert "longest wait of a starved thread 2,500 ms" in finding.message
    for cure in ("fewer threads than connections", "think time", "a FIFO queue"):
        assert cure in finding.message


# --- the finding on a run's round trips under the pool lock --------------------------------


def lock_run(
    *,
    lock: LockTime,
    acquire_total_ms: float,
    latency_total_ms: float = 10_000.0,
    duration_s: float = 10.0,
    config: PoolConfig | None = None,
    allow_writes: bool = False,
) -> RunResult:
    """A run's result with the figures the finding reads: lock time, acquire and latency totals
    (1000 requests whose means carry the totals)."""
    requests = 1000
    return RunResult(
        requests=requests,
        errors=0,
        duration_s=duration_s,
        throughput_rps=requests / duration_s,
        latency=Summary(count=requests, mean=latency_total_ms / requests),
        acquire=Summary(count=requests, mean=acquire_total_ms / requests),
        query=Summary(),
        hold=Summary(),
        schedule_lag=Summary(),
        error_kinds={},
        pool=PoolStats(checkouts=requests, peak_checked_out=6, under_lock=lock),
        config=config or PoolConfig(),
        target="postgresql://db/x",
        driver="psycopg",
        workload=Workload(allow_writes=allow_writes),
    )


def test_lock_time_finding_fires_when_it_dominates_the_acquire_waits():
    resets = LockTime(reset_ms=600.0, resets=1000)
    assert rules.lock_time_finding(lock_run(lock=resets, acquire_total_ms=1100.0)) is not None
    # under half the waits and under half the run: no finding
    assert rules.lock_time_finding(lock_run(lock=resets, acquire_total_ms=1300.0)) is None
    # over half the waits, but acquiring is a negligible part of the requests: no finding
    small = lock_run(lock=resets, acquire_total_ms=1100.0, latency_total_ms=1_000_000.0)
    assert rules.lock_time_finding(small) is None
    # whatever the waits, a lock held for round trips most of the run is a ceiling
    busy = lock_run(lock=resets, acquire_total_ms=100_000.0, duration_s=1.0)
    assert rules.lock_time_finding(busy) is not None
    assert rules.lock_time_finding(lock_run(lock=LockTime(), acquire_total_ms=0.0)) is None


def test_lock_time_finding_names_the_largest_and_what_helps():
    def message(lock: LockTime, **kwargs: object) -> str:
        run = lock_run(lock=lock, acquire_total_ms=100.0, latency_total_ms=1000.0, **kwargs)
        finding = rules.lock_time_finding(run)
        assert finding is not None and finding.level == "warning"
        return finding.message

    reset = LockTime(connect_ms=5.0, connects=2, reset_ms=90.0, resets=1000)
    assert "Most of it was reset" in message(reset)
    assert "read-only, so reset=False" in message(reset)
    assert "commit (or roll back) in the application" in message(reset, allow_writes=True)
    assert "opened with begin()" in message(reset, config=PoolConfig(reset=False))
    ping = LockTime(ping_ms=80.0, pings=1000, reset_ms=10.0, resets=1000)
    assert "Most of it was ping" in message(ping) and "ping less often" in message(ping)
    connect = LockTime(connect_ms=95.0, connects=8)
    text = message(connect)
    assert "Most of it was connect" in text and "mincached=6" in text  # the peak checked out
    assert "8 connections opened at checkout (11.88 ms each)" in text
