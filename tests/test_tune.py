"""Issue 13: the sweep, the search's constraints, the proof and `pooltui tune` on real servers.

Runs are short (0.2-0.25 s, one batch of two per point) and ranges small: the tests are about
direction, bounds and contracts, not about figures (bench/tune_quality.py has those)."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
from dataclasses import replace

import pytest
from cli_helpers import run_cli
from test_compare import pg_sessions_tagged
from test_stop_path import DEADLINE_S, wait_for

from pooltui.core import probes
from pooltui.core.compare.noise import Verdict
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.faults.proxy import FaultProxy
from pooltui.core.profiles import load_profile
from pooltui.core.targets import parse_dsn
from pooltui.core.tune import display
from pooltui.core.tune import search as search_module
from pooltui.core.tune.measure import Plan, measure, overloaded, requests_needed
from pooltui.core.tune.proof import prove
from pooltui.core.tune.search import (
    CONFIRMED,
    Search,
    Space,
    Targets,
    confirm,
    confirmation_order,
    confirmation_runs,
    distributions,
    in_space,
    params_of,
    run_search,
    same_as,
    suggest,
)
from pooltui.core.tune.sweep import SweepProgress, run_sweep
from pooltui.core.tune.tuner import (
    Budget,
    CrossCheck,
    TuneRequest,
    TuneResult,
    phases,
    tune,
    winner_profile_config,
)

pytest.importorskip("optuna")
pytest.importorskip("scipy")

FAST = Plan(run_s=0.25, runs_per_batch=2, max_batches=1)


@pytest.fixture(params=["pg_dsn", "mysql_dsn"])
def dsn(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(request.param)


# ~1 ms of the server's CPU a request: with no hold, the server's 2 cores cap the throughput
# after 2-3 connections whatever the client does (with SELECT 1 the GIL-bound client capped it,
# and where that cap fell moved with the machine's load: CI once found both knees at 8)
SERVER_BOUND = "SELECT count(*) FROM generate_series(1, 10000)"


def test_the_knee_moves_up_when_the_hold_time_grows(pg_dsn):
    """Hold 0: the query's server CPU caps throughput after a few connections, so the knee is
    small; hold 20 ms: each connection adds ~50 req/s up to the threads (the server is far from
    busy), so the knee is at the top. A longer hold needs more connections for the same share
    of the peak."""
    target = parse_dsn(pg_dsn)
    knees = {}
    for hold in (0.0, 20.0):
        start = PoolConfig(blocking=False)  # DBUtils' default: the sweep waits regardless
        workload = Workload(threads=8, hold_ms=hold, query=SERVER_BOUND)
        sweep = run_sweep(target, start, workload, FAST)
        assert sweep.points and sweep.knee is not None and not sweep.stopped
        assert all(p.measurement.config.blocking for p in sweep.points)
        assert sum(p.measurement.errors for p in sweep.points) == 0  # no rejections measured
        assert all(p.measurement.left_open == 0 for p in sweep.points)
        knees[hold] = sweep.knee
    assert knees[20.0] > knees[0.0], knees
    assert knees[20.0] >= 6  # near the 8 threads: the hold, not the server, limits


def test_no_trial_exceeds_the_headroom_divided_among_processes(pg_dsn):
    target = parse_dsn(pg_dsn)
    server = probes.probe_server(target)
    free = server.free_connections
    assert free is not None and free > 8
    processes = free // 3  # leaves each process 3 connections (a little more if free % 3)
    headroom = server.free_per_process(processes)
    assert headroom is not None and 3 <= headroom < 6
    workload = Workload(threads=8, hold_ms=2)
    sweep = run_sweep(target, PoolConfig(), workload, FAST, processes=processes)
    assert sweep.upper <= headroom and max(sweep.sizes) <= headroom
    search = run_search(
        target, PoolConfig(), workload, FAST, Space(sweep.upper), trials=6, seed=1,
        headroom=sweep.headroom,
    )  # fmt: skip
    assert len([t for t in search.trials if t.source == "search"]) == 6
    for trial in search.trials:  # the leader's sibling without ping and reset included
        assert 1 <= trial.config.maxconnections <= headroom
        assert trial.measurement.peak_open <= headroom  # the pools' own count, measured
        assert trial.config.mincached <= trial.config.maxcached <= trial.config.maxconnections
        if trial.measurement.errors:  # blocking=False below the threads: rejections
            assert not trial.feasible
    assert search.best is not None and search.best.feasible


def test_a_leader_paying_ping_and_reset_is_confirmed_beside_itself_without_them(pg_dsn):
    """Ping and reset each add a round trip and never speed a request up: when the leader
    pays for them its sibling without them is measured and confirmed side by side, and the
    winner pays for them only if that sibling lost."""
    target = parse_dsn(pg_dsn)
    leader = PoolConfig(maxconnections=2, maxcached=2, ping=1, reset=True)
    search = run_search(
        target, PoolConfig(), Workload(threads=2, hold_ms=1), FAST, Space(2), trials=1,
        starts=[leader], seed=3,
    )  # fmt: skip
    (first,) = [t for t in search.trials if t.source == "search"]
    assert (first.config.ping, first.config.reset) == (1, True)  # the start, measured first
    (sibling,) = [t for t in search.trials if t.source == "sibling"]
    assert (sibling.config.ping, sibling.config.reset) == (0, False)
    assert sibling.config.maxconnections == first.config.maxconnections
    assert first.confirmed and sibling.confirmed  # side by side
    assert search.best in (first, sibling)


def test_a_latency_target_makes_slow_trials_infeasible(pg_dsn):
    target = parse_dsn(pg_dsn)
    workload = Workload(threads=4, hold_ms=30)
    search = run_search(
        target,
        PoolConfig(),
        workload,
        # without the rule's 1000 requests (tested on its own below): the two sides are far
        # apart, and gathering 1000 at 33-130 req/s would take 10 s here
        replace(FAST, min_requests=0),
        Space(max_size=4),
        targets=Targets(p99_ms=75.0),  # one connection: 4 threads x 30 ms, p99 ~120 ms; four
        # connections: ~30 ms, with room for a loaded machine's stalls
        starts=[PoolConfig(maxconnections=1, maxcached=1), PoolConfig(maxconnections=4)],
        trials=2,
    )
    one, four = [t for t in search.trials if t.source == "search"]
    assert one.config.maxconnections == 1 and not one.feasible
    assert any("p99" in v for v in one.violations)
    assert four.config.maxconnections == 4 and four.feasible, four.violations
    # four connections win (or their sibling without ping and reset, measured beside them)
    assert search.best is not None and search.best.config.maxconnections == 4


def test_the_sweep_points_seed_the_search_and_nothing_is_measured_twice(pg_dsn):
    target = parse_dsn(pg_dsn)
    workload = Workload(threads=4, hold_ms=2)
    sweep = run_sweep(target, PoolConfig(), workload, FAST)
    knee = sweep.point(sweep.knee or sweep.sizes[0])
    assert knee is not None
    search = run_search(
        target, PoolConfig(), workload, FAST, Space(sweep.upper), trials=3,
        seeds=[p.measurement for p in sweep.points],
        starts=[knee.measurement.config],  # the knee as swept: a seed, so not a trial again
        seed=2,
    )  # fmt: skip
    assert [t.config.maxconnections for t in search.seeded] == sweep.sizes
    assert all(t.source == "sweep" for t in search.seeded)
    # the budget counts the search's own new measurements (the leader's round-trip-free
    # sibling is measured beside them, once)
    assert len([t for t in search.trials if t.source == "search"]) == 3
    assert len([t for t in search.trials if t.source == "sibling"]) <= 1
    keys = [same_as(t.config, t.workload) for t in search.candidates]
    assert len(set(keys)) == len(keys), keys  # no configuration measured twice
    assert search.best in search.candidates
    confirmed = [t for t in search.candidates if t.confirmed]
    # the best two and, while it is a contender, the third: the pick is among them
    assert 2 <= len(confirmed) <= CONFIRMED + 1 and search.best in confirmed
    # a run on a fresh pool each, rank order then reverse, as many runs as a trial may make
    each = confirmation_runs(FAST)
    assert search.confirm_batches == search.confirm_runs == each * len(confirmed)
    for t in confirmed:  # judged by its interleaved runs alone, all runs kept
        assert t.confirmation is not None and len(t.confirmation.runs) == each
        assert len(t.confirmation.closed) == each  # one pool a run, each closed and counted
        assert all(left.verified and not left.sessions for left in t.confirmation.closed)
        assert t.value == t.confirmation.value("throughput_rps")
        assert len(t.measurement.runs) == FAST.runs_per_batch + each


def test_the_proof_finds_a_real_gain_and_its_interval(dsn):
    """One connection for 4 threads holding 5 ms against four: about 4x the throughput."""
    target = parse_dsn(dsn)
    workload = Workload(threads=4, hold_ms=5)
    proof = prove(
        target,
        (PoolConfig(maxconnections=1, maxcached=1), workload),
        (PoolConfig(maxconnections=4, maxcached=4), workload),
        figure="throughput_rps",
        rounds=3,
        run_s=0.25,
    )
    d = proof.difference
    assert d is not None and d.verdict is Verdict.BETTER, proof.sentence()
    assert d.relative and d.low > 1.5  # the interval's low end: well above the start (~4x)
    assert proof.comparison is not None and proof.comparison.outcome.left_open == 0
    assert "better" in proof.sentence()


def test_stop_keeps_the_points_measured(pg_dsn):
    target = parse_dsn(pg_dsn)
    stop = threading.Event()
    seen: list[SweepProgress] = []

    def after(progress: SweepProgress) -> None:
        seen.append(progress)
        if len(seen) == 2:
            stop.set()

    sweep = run_sweep(
        target, PoolConfig(), Workload(threads=8, hold_ms=2), FAST, stop=stop, on_point=after
    )
    assert sweep.stopped and sweep.stop_reason is None
    assert [p.point.size for p in seen] == sweep.sizes == [1, 2]
    # the health watch: each size carries the probe before it, PostgreSQL's active sessions too
    assert len(sweep.health) == len(sweep.active) == 2
    for point, active in zip(sweep.points, sweep.active, strict=True):
        assert point.server is not None and point.server.active == active
        assert active is not None and point.server.in_use is not None
        assert active >= 0  # others' sessions come and go: the private servers' test is exact
    assert sweep.as_dict()["server_active_sessions"] == list(sweep.active)
    assert "of them running a statement" in sweep.health_sentence()
    assert all(p.measurement.complete for p in sweep.points)
    assert all(left.verified and not left.sessions for p in sweep.points for left in
               p.measurement.closed)  # fmt: skip


def test_a_server_refusing_connections_stops_the_sweep_with_a_sentence(pg_dsn):
    direct = parse_dsn(pg_dsn)
    with FaultProxy(direct.host, direct.port) as proxy:
        target = direct.via(*proxy.address)

        def refuse_after_two(progress: SweepProgress) -> None:
            if progress.done == 2:
                proxy.refuse_new()

        sweep = run_sweep(
            target, PoolConfig(), Workload(threads=8, hold_ms=2), FAST, on_point=refuse_after_two
        )
    assert sweep.sizes == [1, 2]
    assert sweep.stop_reason is not None
    assert sweep.stop_reason.startswith("The sweep stopped at size 4:")  # 1, 2, 4, 8
    assert "kept the 2 sizes" in sweep.stop_reason and "\n" not in sweep.stop_reason


def test_tune_json_has_the_keys_ci_reads_and_toml_writes_a_loadable_winner(
    pg_dsn, capsys, tmp_path
):
    profile = tmp_path / "winner.toml"
    code, out, err = run_cli(
        capsys,
        "tune",
        "--dsn",
        pg_dsn,
        "--threads",
        "4",
        "--hold-ms",
        "3",
        "--point-s",
        "0.2",
        "--budget",
        "4t",
        "--proof-rounds",
        "2",
        "--json",
        "--format",
        "toml",
        "-o",
        str(profile),
    )
    assert code == 0, err
    payload = json.loads(out)
    for key in ("objective", "figure", "winner", "sweep", "search", "proof", "cross_check",
                "stopped", "seconds", "start", "targets", "processes", "budget",
                "phases"):  # fmt: skip
        assert key in payload, key
    phases = payload["phases"]
    assert phases["sweep"]["measurements"] == len(payload["sweep"]["points"])
    assert phases["search"]["measurements"] == 4
    assert phases["confirm"]["measurements"] == payload["search"]["confirm"]["batches"] >= 4
    assert phases["proof"]["runs"] == 2 * 2 * 2  # A/B/B/A x 2 rounds, one run each
    assert all(p["requests_needed"] == 0 for p in payload["sweep"]["points"])  # throughput
    assert payload["budget"] == {"seconds": None, "trials": 4}
    assert len(payload["search"]["trials"]) == 4
    assert {"lambda", "sigma", "kappa", "r2", "peak_n", "plateau"} <= set(
        payload["sweep"]["fit"] or {"lambda", "sigma", "kappa", "r2", "peak_n", "plateau"}
    )
    assert payload["sweep"]["knee"] in [p["size"] for p in payload["sweep"]["points"]]
    assert payload["proof"]["verdict"] in {str(v) for v in Verdict}
    assert [r["name"].split()[0] for r in payload["proof"]["rules"]] == ["DBUtils", "HikariCP"]
    winner = payload["winner"]["config"]
    loaded = load_profile(profile)
    assert loaded.pool.maxconnections == winner["maxconnections"]
    assert loaded.pool.ping == winner["ping"] and loaded.pool.reset == winner["reset"]
    assert "every connection was closed" in err


def test_tune_refuses_a_budget_too_short_for_its_runs(pg_dsn, capsys):
    code, out, err = run_cli(capsys, "tune", "--dsn", pg_dsn, "--budget", "3", "--point-s", "1")
    assert code == 2 and not out
    assert "too short" in err and "--point-s" in err and "Traceback" not in err


def test_sigint_stops_the_tune_prints_what_it_measured_and_closes_every_pool(pg_dsn):
    target = parse_dsn(pg_dsn)
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "pooltui", "tune", "--dsn", pg_dsn, "--threads", "4"),
            *("--hold-ms", "2", "--point-s", "1", "--budget", "10t"),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(process.stderr or ()))
    reader.start()
    try:
        wait_for(lambda: any("tune sweep: size 1" in line for line in seen), "the first size")
        process.send_signal(signal.SIGINT)
        out = process.stdout.read() if process.stdout else ""
        process.wait(timeout=DEADLINE_S)
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(DEADLINE_S)
    err = "".join(seen)
    assert process.returncode == 128 + signal.SIGINT, err
    assert "sweep: maxconnections 1..4" in out and "stopped:" in out  # size 1 kept, printed
    assert "  1  " in out
    assert "tune search" not in err  # no phase after the stop started
    assert "every connection was closed" in err and "Traceback" not in err
    assert pg_sessions_tagged(target, f"pooltui-{process.pid}-%") == 0


@pytest.fixture(params=["private_pg", "private_mariadb"])
def private(request: pytest.FixtureRequest):
    """A server of this session's own: nothing else runs a statement on it."""
    return request.getfixturevalue(request.param)


def test_active_sessions_count_the_statements_running_and_not_the_probe(private):
    """Dialect.active_sessions through the probe: 0 on an idle private server (the probe's
    own statement is not counted), then exactly the sleepers while they sleep; sessions that
    are only open count as in use, not active."""
    target = parse_dsn(private.dsn)
    sleep = "SELECT pg_sleep(60)" if target.backend == "postgresql" else "SELECT SLEEP(60)"
    idle = target.connect(timeout_s=5)  # open, running nothing
    sleepers = [target.connect(timeout_s=5) for _ in range(2)]
    ids = {target.driver.backend_id(target, con) for con in sleepers}
    threads = [threading.Thread(target=_run_quietly, args=(con, sleep)) for con in sleepers]
    try:
        wait_for(lambda: probes.probe_server(target).active_sessions == 0, "an idle server")
        for thread in threads:
            thread.start()
        wait_for(lambda: probes.probe_server(target).active_sessions == 2, "two sleepers")
        info = probes.probe_server(target)
        assert info.connections_in_use is not None and info.connections_in_use >= 3
    finally:
        probes.terminate_sessions(target, {i for i in ids if i is not None})
        for thread in threads:
            thread.join(DEADLINE_S)
        for con in (idle, *sleepers):
            with contextlib.suppress(Exception):
                con.close()
    wait_for(lambda: probes.probe_server(target).active_sessions == 0, "the sleepers ended")


def _run_quietly(con, sql: str) -> None:
    """Run ``sql`` until it ends or its session is ended (the test ends it)."""
    with contextlib.suppress(Exception):
        cursor = con.cursor()
        cursor.execute(sql)


def test_a_sqlite_file_cannot_say_how_many_sessions_are_active(sqlite_dsn):
    assert probes.probe_server(parse_dsn(sqlite_dsn)).active_sessions is None


@pytest.mark.parametrize("odbc", ["odbc_pg_dsn", "odbc_mysql_dsn"])
def test_active_sessions_are_read_through_odbc_too(odbc, request):
    """The dialect's count, whichever DB-API driver carries its SQL."""
    info = probes.probe_server(parse_dsn(request.getfixturevalue(odbc)))
    assert isinstance(info.active_sessions, int) and info.active_sessions >= 0
    assert info.connections_in_use is not None  # (others come and go between the two counts)


def test_an_open_loop_p99_point_runs_until_its_tail_has_the_requests(pg_dsn):
    """0.2 s runs at 400/s pool 160 requests, 1.6 beyond the p99: the point runs longer runs
    (and more batches if short) until it has TAIL_REQUESTS beyond it."""
    target = parse_dsn(pg_dsn)
    plan = Plan(run_s=0.2, runs_per_batch=2, max_batches=1, objective="p99_latency_ms")
    workload = Workload(threads=4, hold_ms=5, pattern="poisson", rate=400)
    m = measure(target, PoolConfig(maxconnections=4, maxcached=4), workload, plan,
                stop=threading.Event())  # fmt: skip
    assert plan.needed == requests_needed(("p99_latency_ms",)) == 1000
    assert m.requests_needed == 1000 and m.requests >= 1000 and not m.low_confidence
    assert m.complete[0].duration_s > 2 * plan.run_s  # stretched from the start: the rate
    # is known before the first run, so its runs were long enough, not a string of short ones
    assert m.as_dict()["requests"] == m.requests and m.as_dict()["low_confidence"] is False
    # one connection holding 5 ms serves under 200/s of the 400: overloaded, its queue grows
    # with the run, so it is not stretched further and says it is short
    over = measure(target, PoolConfig(maxconnections=1, maxcached=1), workload, plan,
                   stop=threading.Event())  # fmt: skip
    assert overloaded(over.complete, workload) and len(over.runs) == plan.runs_per_batch
    assert over.low_confidence and over.requests < 1000


def test_a_point_too_slow_for_its_percentile_says_so_and_loses_to_a_trusted_one(mysql_dsn):
    """One thread holding 50 ms serves 20 requests a second: no stretch within the limits
    gathers 1000, so the measurement stops trying, says it is low-confidence, and the pick
    prefers a trial that has its requests, whatever its value."""
    target = parse_dsn(mysql_dsn)
    plan = Plan(run_s=0.2, runs_per_batch=2, max_batches=1, objective="p99_latency_ms")
    stop = threading.Event()
    slow = measure(target, PoolConfig(maxconnections=1, maxcached=1),
                   Workload(threads=1, hold_ms=50), plan, stop=stop)  # fmt: skip
    assert slow.usable and slow.low_confidence and slow.requests < slow.requests_needed == 1000
    assert len(slow.runs) == plan.runs_per_batch  # not extended: it could not have filled
    assert slow.as_dict()["low_confidence"] is True
    assert "of 1000?" in display._requests(slow)
    fast = measure(target, PoolConfig(maxconnections=2, maxcached=2),
                   Workload(threads=2, hold_ms=0), plan, stop=stop)  # fmt: skip
    assert fast.usable and not fast.low_confidence
    trusted = search_module._trial(0, fast, "p99_latency_ms", Targets(), None)
    guess = search_module._trial(1, slow, "p99_latency_ms", Targets(), None)
    guess = replace(guess, value=trusted.value / 10)  # the guess reads better: still not picked
    assert search_module.pick([trusted, guess], higher=False) is trusted


def test_vary_threads_searches_the_thread_count_within_bounds_and_reports_it(pg_dsn):
    """--vary-threads: the search measures other thread counts (its thread start at the
    peak's size is one), all within 1..threads, under the headroom; the winner's count is in
    the report and its JSON."""
    target = parse_dsn(pg_dsn)
    free = probes.probe_server(target).free_connections
    assert free is not None and free > 8
    processes = free // 4  # about 4 connections a process
    request = TuneRequest(
        config=PoolConfig(),
        workload=Workload(threads=6, hold_ms=2),
        budget=Budget(trials=3),
        processes=processes,
        run_s=0.2,
        vary_threads=True,
        proof_rounds=1,
        max_batches=1,
    )
    result = tune(target, request)
    assert result.sweep is not None and result.search is not None and result.best is not None
    headroom = result.sweep.headroom
    assert headroom is not None and result.sweep.upper <= headroom
    threads = {t.workload.threads for t in result.search.candidates}
    assert threads <= set(range(1, 7)) and len(threads) > 1, threads
    for t in result.search.trials:
        assert 1 <= t.config.maxconnections <= headroom
        assert t.measurement.peak_open <= headroom
    payload = result.as_dict()
    winner = payload["winner"]
    assert winner["threads"] == result.best.workload.threads and 1 <= winner["threads"] <= 6
    assert f"threads={winner['threads']}" in display.format_tune(result)
    assert {"sweep", "search", "confirm", "proof"} <= set(payload["phases"])
    assert payload["phases"]["search"]["measurements"] == len(result.search.trials)


def test_a_trial_with_errors_ends_at_its_first_run_and_is_reported_as_ended_early(pg_dsn):
    """blocking=False with one connection for 4 threads: rejections in the first run make it
    infeasible, so a plan that ends on errors (the search's) measures nothing more of it; the
    same plan without it runs all four runs. The report counts it per phase."""
    target = parse_dsn(pg_dsn)
    rejecting = PoolConfig(maxconnections=1, maxcached=1, blocking=False)
    workload = Workload(threads=4, hold_ms=5)
    plan = Plan(run_s=0.25, runs_per_batch=2, max_batches=2, end_on_errors=True)
    stop = threading.Event()
    m = measure(target, rejecting, workload, plan, stop=stop)
    assert len(m.runs) == 1 and m.errors > 0 and m.runs[0].pool.rejections > 0
    assert m.ended_early and m.as_dict()["ended_early"] is True and not m.stopped
    assert m.left_open == 0 and all(left.verified for left in m.closed)
    whole = measure(target, rejecting, workload, replace(plan, end_on_errors=False), stop=stop)
    assert len(whole.runs) == 4 and whole.errors > 0 and not whole.ended_early
    trial = search_module._trial(0, m, "throughput_rps", Targets(), None)
    assert not trial.feasible and any("errors" in v for v in trial.violations)
    search = Search("throughput", (trial,), None, False, None, m.seconds, None)
    result = TuneResult(
        TuneRequest(PoolConfig(), workload, Budget(trials=1)), None, search, None,
        CrossCheck(None, None, None), False, None, m.seconds,
    )  # fmt: skip
    assert phases(result)["search"].ended_early == 1
    payload = result.as_dict()
    assert payload["phases"]["search"]["ended_early"] == 1
    assert payload["phases"]["confirm"]["ended_early"] == 0
    assert payload["search"]["trials"][0]["ended_early"] is True
    text = display.format_tune(result)
    assert "1 ended at errors" in text and "ended at its first run with errors" in text


def test_the_search_asks_for_blocking_only_where_every_thread_has_a_connection():
    """Optuna's define-by-run conditional parameter: below the threads a non-blocking pool can
    only reject, so ``blocking`` is no parameter there (the pool blocks); from the threads up
    it is searched. TPE is rewarded for blocking=False here and still never gets it below."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    for space, workload in (
        (Space(max_size=8), Workload(threads=6)),
        (Space(max_size=8, threads=(1, 8)), Workload(threads=8)),  # --vary-threads
    ):
        sampler = optuna.samplers.TPESampler(seed=0, n_startup_trials=4)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        unblocked_above = 0
        for _ in range(60):
            ask = study.ask()
            config, asked = suggest(ask, space, PoolConfig(), workload)
            searched = config.maxconnections >= asked.threads
            assert ("blocking" in ask.params) == searched, ask.params
            assert config.blocking or searched, (config, asked.threads)
            unblocked_above += not config.blocking
            study.tell(ask, config.maxconnections + (0.0 if config.blocking else 100.0))
        assert unblocked_above > 0  # from the threads up it is still a parameter
    # a measured configuration becomes a trial with the same parameters, blocking only above
    space, workload = Space(max_size=8), Workload(threads=6)
    below = params_of(PoolConfig(maxconnections=2, blocking=False), workload, space)
    above = params_of(PoolConfig(maxconnections=6, blocking=False), workload, space)
    assert "blocking" not in below and above["blocking"] is False
    assert set(distributions(space, below)) == set(below)
    study = optuna.create_study()
    for params in (below, above):
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions=distributions(space, params), value=1.0
        ))  # fmt: skip
    assert suggest(optuna.trial.FixedTrial(below), space, PoolConfig(), workload)[0].blocking
    rejecting = measure_stub(PoolConfig(maxconnections=2, maxcached=2, blocking=False), workload)
    assert not in_space(rejecting, space)  # no trial of the search could have asked for it


def measure_stub(config: PoolConfig, workload: Workload):
    """A Measurement of no runs: what in_space reads (its configuration and workload)."""
    from pooltui.core.tune.measure import Measurement

    return Measurement(config=config, workload=workload, runs=())


def test_the_confirmation_gives_each_contender_a_trials_runs_and_both_orders():
    assert confirmation_runs(Plan(runs_per_batch=2, max_batches=2)) == 4  # tune's default
    assert confirmation_runs(Plan(runs_per_batch=2, max_batches=1)) == 2
    assert confirmation_runs(Plan(runs_per_batch=1, max_batches=1)) == 2  # ABC CBA at least


def test_the_confirmation_order_alternates_rank_and_reverse_order():
    a, b, c = "ABC"
    assert "".join(confirmation_order([a, b, c], 4)) == "ABCCBAABCCBA"  # type: ignore[list-item]
    assert "".join(confirmation_order([a, b], 3)) == "ABBAAB"  # type: ignore[list-item]


def test_the_confirmation_runs_each_contender_on_fresh_pools_and_pools_its_tail(pg_dsn):
    """Two contenders by p99 in an open loop at 400/s with 0.2 s runs: each is measured again
    as many times as a trial's batch has runs, interleaved, a fresh pool a run, and its runs
    are long enough that together they pool the 1000 requests its p99 needs."""
    target = parse_dsn(pg_dsn)
    plan = Plan(run_s=0.2, runs_per_batch=2, max_batches=1, objective="p99_latency_ms",
                min_requests=0)  # fmt: skip
    workload = Workload(threads=4, hold_ms=2, pattern="poisson", rate=400)
    stop = threading.Event()
    trials = []
    for i, n in enumerate((3, 4)):
        m = measure(target, PoolConfig(maxconnections=n, maxcached=n), workload, plan, stop=stop)
        trials.append(search_module._trial(i, m, "p99_latency_ms", Targets(), None))
    judged = replace(plan, min_requests=None)  # the rule's 1000 requests
    assert judged.needed == 1000
    checked, cost = confirm(target, trials, judged, False, stop=stop, targets=Targets(),
                            headroom=None)  # fmt: skip
    each = confirmation_runs(plan)
    assert each == plan.runs_per_batch  # one batch a trial: its runs
    assert cost.batches == cost.runs == 2 * each and cost.ended_early == 0
    for t in checked:
        assert t.confirmed and t.confirmation is not None
        assert len(t.confirmation.runs) == len(t.confirmation.closed) == each
        assert t.confirmation.requests >= 1000 and not t.confirmation.low_confidence
        assert all(r.duration_s > plan.run_s for r in t.confirmation.runs)  # stretched
        assert t.value == t.confirmation.value("p99_latency_ms")
        assert t.confirmation.left_open == 0


def test_a_proof_that_measures_the_winner_worse_keeps_the_start(pg_dsn):
    """A 'winner' of one connection for 4 threads holding 5 ms against a start of four: the
    A/B refutes it, so the start is the recommendation: the report says so, --json says
    'start', and what --format writes (winner_profile_config) is the start and its workload."""
    target = parse_dsn(pg_dsn)
    workload = Workload(threads=4, hold_ms=5)
    start, loser = PoolConfig(maxconnections=4, maxcached=4), PoolConfig(maxconnections=1)
    proof = prove(
        target, (start, workload), (loser, workload), figure="throughput_rps", rounds=3,
        run_s=0.25,
    )  # fmt: skip
    assert proof.refuted and proof.as_dict()["refuted"] is True, proof.sentence()
    stop = threading.Event()
    m = measure(target, loser, workload, FAST, stop=stop)
    trial = search_module._trial(0, m, "throughput_rps", Targets(), None)
    search = Search("throughput", (trial,), trial, False, None, m.seconds, None)
    result = TuneResult(
        TuneRequest(start, workload, Budget(trials=1)), None, search, proof,
        CrossCheck(None, None, None), False, None, m.seconds,
    )  # fmt: skip
    assert result.keeps_start and result.as_dict()["recommendation"] == "start"
    assert winner_profile_config(result) == (start, workload)
    assert display.KEEP_START in display.format_tune(result)
    kept = replace(result, proof=replace(proof, comparison=None, reason="stopped"))
    assert not kept.keeps_start and kept.as_dict()["recommendation"] == "winner"
    assert winner_profile_config(kept) == (loser, workload)
