"""Issue 11 §1: the comparison runner (A/B/B/A on one warm pool each, closed however it ends),
`pooltui compare` (--fail-if, --b-set, signals) and `pooltui bench --repeat`, on real servers."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import pytest
from cli_helpers import one_sentence, run_cli
from test_stop_path import DEADLINE_S, wait_for

from pooltui.core import probes
from pooltui.core.compare.runner import FIGURE_NAMES, RunDone, Side, run_comparison, run_repeats
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.errors import BadInput
from pooltui.core.pool import InstrumentedPool
from pooltui.core.targets import parse_dsn

RUN_S = 0.3  # each measured run: short, the tests are about order and closing
A = Side(PoolConfig(maxconnections=2), Workload(threads=2, duration_s=RUN_S), "A")
B = Side(PoolConfig(maxconnections=2), Workload(threads=2, duration_s=RUN_S, hold_ms=2), "B")


class Watched:
    """What on_progress saw: each run's side and pool, and the pool's sessions on the server
    while it was open (so "none left" afterwards is a change that was seen)."""

    def __init__(self, target) -> None:
        self.target = target
        self.done: list[RunDone] = []
        self.open_then: dict[str, int] = {}
        self.ids: dict[str, dict[str, set[int]]] = {}  # side -> pool tag -> its sessions

    def __call__(self, done: RunDone) -> None:
        self.done.append(done)
        self.ids.setdefault(done.side, {})[done.pool.tag] = done.pool.opened_ids()
        if done.side not in self.open_then:
            self.open_then[done.side] = probes.count_pool_connections(self.target, done.pool)

    def left_on_server(self) -> dict[str, int]:
        return {
            side: sum(
                probes.count_connections_by(self.target, tag, ids) for tag, ids in tags.items()
            )
            for side, tags in self.ids.items()
        }


@pytest.mark.parametrize("fresh", [True, False])
def test_the_runner_alternates_abba_and_pairs_each_b_run_with_its_neighbour(fresh, sqlite_dsn):
    target = parse_dsn(sqlite_dsn)
    watched = Watched(target)
    comparison = run_comparison(target, A, B, 2, on_progress=watched, fresh_pools=fresh)
    assert "".join(d.side for d in watched.done) == "ABBAABBA"
    assert "".join(run.side for run in comparison.runs) == "ABBAABBA"
    assert [d.index for d in watched.done] == list(range(1, 9))
    assert {d.total for d in watched.done} == {8}
    # each B run is paired with the A run beside it in time
    assert comparison.pairs == ((0, 1), (3, 2), (4, 5), (7, 6))
    for a_index, b_index in comparison.pairs:
        assert abs(a_index - b_index) == 1
        assert comparison.runs[a_index].side == "A" and comparison.runs[b_index].side == "B"
    # the sides really ran their own settings, on pools whose connections were open already
    for done in watched.done:
        assert done.result.workload.hold_ms == (2 if done.side == "B" else 0)
        assert done.result.pool.connects == 0
    pools = {side: {d.pool.tag for d in watched.done if d.side == side} for side in "AB"}
    if fresh:  # a fresh pool for every run: no pool's luck lasts a whole comparison
        assert len(pools["A"]) == len(pools["B"]) == 4 and not pools["A"] & pools["B"]
    else:  # one warm pool per side
        assert len(pools["A"]) == len(pools["B"]) == 1 and pools["A"] != pools["B"]
    assert set(comparison.differences) == set(FIGURE_NAMES)
    latency = comparison.differences["p50_latency_ms"]
    assert latency.pairs == 4 and latency.b.median > latency.a.median
    assert comparison.outcome.closed_sentence() == "every connection was closed"
    assert not comparison.outcome.stopped and comparison.outcome.fatal_error is None
    payload = comparison.as_dict()
    assert payload["order"] == "ABBAABBA" and payload["pairs"] == 4
    assert payload["rounds_judged"] == 2
    assert payload["changes"] == ["hold_ms 0→2"] and len(payload["runs"]) == 8
    assert set(payload["figures"]) == set(FIGURE_NAMES)


@pytest.mark.parametrize("fresh", [True, False])
def test_every_pool_makes_one_unmeasured_run_before_it_is_measured(fresh, pg_dsn):
    """A fresh pool per run warms up as a warm pool per side does: its connections opened and
    one unmeasured run of warmup_s, so no session's first statements are measured (the fresh
    mode once skipped the run: only its connects were kept out of the figures)."""
    target = parse_dsn(pg_dsn)
    watched = Watched(target)
    comparison = run_comparison(
        target, A, B, 1, on_progress=watched, warmup_s=0.1, fresh_pools=fresh
    )
    unmeasured = comparison.outcome.unmeasured
    # one before each run's fresh pool, in the runs' order; one a side for warm pools
    assert "".join(side for side, _ in unmeasured) == ("ABBA" if fresh else "AB")
    for side, run in unmeasured:
        assert run.requests > 0 and run.errors == 0 and not run.stopped
        assert run.duration_s < RUN_S  # warmup_s long, not a measured run's length
        assert run.workload.hold_ms == (2 if side == "B" else 0)  # its side's own workload
    assert set(comparison.outcome.warmup_runs) == {"A", "B"}
    assert "".join(run.side for run in comparison.runs) == "ABBA"  # none of them measured
    assert all(done.result.pool.connects == 0 for done in watched.done)
    assert watched.left_on_server() == {"A": 0, "B": 0}


@pytest.mark.parametrize("fixture", ["pg_dsn", "mysql_dsn"])
def test_both_pools_are_closed_on_the_server_after_a_normal_end(fixture, request):
    target = parse_dsn(request.getfixturevalue(fixture))
    watched = Watched(target)
    comparison = run_comparison(target, A, B, 1, on_progress=watched)
    assert watched.open_then == {"A": 2, "B": 2}  # both warm pools held their sessions
    assert watched.left_on_server() == {"A": 0, "B": 0}
    closed = comparison.outcome.closed
    assert {side: (left.sessions, left.verified) for side, left in closed.items()} == {
        "A": (0, True),
        "B": (0, True),
    }


@pytest.mark.parametrize("fixture", ["pg_dsn", "mysql_dsn"])
def test_a_stop_mid_run_ends_the_comparison_at_once_and_closes_both(fixture, request):
    target = parse_dsn(request.getfixturevalue(fixture))
    watched = Watched(target)
    stop = threading.Event()
    long_b = Side(B.config, Workload(threads=2, duration_s=30, hold_ms=2), "B")

    def sampled(side: str, _sample) -> None:
        if side == "B":  # the second run of the first round is under way
            stop.set()

    comparison = run_comparison(
        target, A, long_b, 3, stop=stop, on_progress=watched, on_sample=sampled, warmup_s=0
    )
    assert [run.side for run in comparison.runs] == ["A", "B"]  # no run after the stop
    a_run, b_run = (run.result for run in comparison.runs)
    assert not a_run.stopped and comparison.runs[0].complete
    assert b_run.stopped and b_run.duration_s < 5  # cut within its 30 s, not at their end
    assert comparison.outcome.stopped and comparison.pairs == () and not comparison.differences
    assert watched.left_on_server() == {"A": 0, "B": 0}
    assert all(left.sessions == 0 for left in comparison.outcome.closed.values())


def test_a_failure_between_runs_still_closes_both_pools(pg_dsn):
    target = parse_dsn(pg_dsn)
    watched = Watched(target)

    def fails(done: RunDone) -> None:
        watched(done)
        raise RuntimeError("the front end broke")

    with pytest.raises(RuntimeError, match="the front end broke"):
        run_comparison(target, A, B, 2, on_progress=fails, fresh_pools=False)
    assert list(watched.ids) == ["A"] and watched.open_then == {"A": 2}
    assert watched.left_on_server() == {"A": 0}
    (tag,) = watched.ids["A"]
    process_tags = tag.rsplit("-", 1)[0]  # pooltui-<pid>: B's pool (warm, never run) too
    assert pg_sessions_tagged(target, f"{process_tags}-%") == 0


def test_repeats_on_a_callers_pool_leave_it_open(sqlite_dsn):
    target = parse_dsn(sqlite_dsn)
    with InstrumentedPool(target, PoolConfig(maxconnections=2)) as pool:
        repeats = run_repeats(target, A, 3, pool=pool, warmup_s=0.1)
        assert len(repeats.runs) == 3 and repeats.outcome.closed == {}
        assert {name: s.n for name, s in repeats.spreads.items()} == dict.fromkeys(FIGURE_NAMES, 3)
        with pool.connection() as con:  # still the caller's, still open
            con.cursor().execute("SELECT 1")
    throughput = repeats.spreads["throughput_rps"]
    assert throughput.low <= throughput.median <= throughput.high
    assert sorted(throughput.values) == sorted(r.throughput_rps for r in repeats.runs)


def test_both_pools_must_fit_on_the_server_at_once(pg_dsn):
    """Each pool alone fits, both together do not: refused before anything opens."""
    target = parse_dsn(pg_dsn)
    server = probes.probe_server(target)
    free = server.usable_connections - server.connections_in_use
    half = free // 2 + 2
    big = PoolConfig(maxconnections=half)
    with pytest.raises(BadInput, match="the other pool of the comparison takes") as caught:
        run_comparison(target, Side(big, A.workload), Side(big, B.workload, "B"), 1)
    assert str(caught.value).startswith("B: This run can open")


# --- pooltui compare ---------------------------------------------------------------------------


def compare(capsys, dsn: str, *extra: str) -> tuple[int, str, str]:
    return run_cli(
        capsys,
        "compare",
        "--dsn",
        dsn,
        "--threads",
        "2",
        "--duration",
        str(RUN_S),
        "--set",
        "maxconnections=2",
        "--rounds",
        "1",
        *extra,
    )


@pytest.mark.parametrize("fixture", ["sqlite_dsn", "pg_dsn"])
def test_fail_if_exits_4_when_crossed_naming_it_with_both_values(fixture, request, capsys):
    dsn = request.getfixturevalue(fixture)
    code, out, err = compare(
        capsys,
        dsn,
        "--b-set",
        "hold_ms=5",
        "--fail-if",
        "p50_latency_ms > 1.5 * baseline",
        "--fail-if",
        "errors > 0",
    )
    assert code == 4, err
    crossed = [line for line in err.splitlines() if "threshold crossed" in line]
    assert len(crossed) == 1 and "p50_latency_ms > 1.5 * baseline (B " in crossed[0]
    assert ", A " in crossed[0] and "errors" not in crossed[0]
    assert "every connection was closed" in err
    assert "latency p50" in out and "acquire max" in out and "tail:" in out
    assert "no noise estimate" in out and "one round only" in out  # --rounds 1: no verdict


def test_fail_if_exits_0_when_nothing_is_crossed_and_json_says_so(sqlite_dsn, capsys):
    code, out, err = compare(
        capsys, sqlite_dsn, "--b-set", "hold_ms=5", "--fail-if", "errors > 0", "--json"
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["thresholds"] == [
        {"expression": "errors > 0", "figure": "errors", "a": 0.0, "b": 0.0, "crossed": False}
    ]
    assert payload["order"] == "ABBA" and payload["pairs"] == 2 and payload["rounds_judged"] == 1
    assert payload["changes"] == ["hold_ms 0→5"]
    assert payload["closed"] == {
        side: {"sessions_left": 0, "verified": True, "ended": 0} for side in "AB"
    }
    figure = payload["figures"]["p50_latency_ms"]
    assert set(figure) >= {"a", "b", "interval", "verdict", "higher_is_better"}


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("p99 > 1.2 * baseline", "names 'p99', which is not a figure"),
        ("errors >", "ends where a number"),
        ("errors + connects > 0", "a threshold is about one figure"),
    ],
)
def test_a_bad_fail_if_is_one_sentence_and_exit_2_before_any_run(
    expression, named, sqlite_dsn, capsys
):
    code, out, err = compare(capsys, sqlite_dsn, "--fail-if", expression)
    assert code == 2 and out == ""
    sentence = one_sentence(err)
    assert named in sentence and "p99_acquire_ms" in sentence and "throughput_rps" in sentence


@pytest.mark.parametrize(
    ("b_set", "named"),
    [
        ("nosuch=1", "--b-set 'nosuch' is not a parameter; use one of:"),
        ("hold_ms=x", "--b-set hold_ms: 'x' is not a number"),
        ("maxconnections", "--b-set 'maxconnections' is not of the form key=value"),
        ("maxconnections=-1", "B: maxconnections is -1 but must be 0 or more"),
        ("hold_ms=100000", "B: hold_ms is 100000 but a run lasts only 0.3 s"),
    ],
)
def test_b_set_is_validated_like_set(b_set, named, sqlite_dsn, capsys):
    code, out, err = compare(capsys, sqlite_dsn, "--b-set", b_set)
    assert code == 2 and out == ""
    assert named in one_sentence(err)


def test_b_profile_on_another_target_and_zero_rounds_are_refused(sqlite_dsn, tmp_path, capsys):
    other = tmp_path / "other.toml"
    other.write_text('name = "other"\n[target]\ndsn = "sqlite:///elsewhere.db"\n')
    code, _, err = run_cli(capsys, "compare", "--b-profile", str(other), "--duration", "0.3")
    assert code == 2 and "names another target than A" in one_sentence(err)
    code, _, err = compare(capsys, sqlite_dsn, "--rounds", "0")
    assert code == 2 and "--rounds is 0 but must be at least 1" in one_sentence(err)


def test_b_profile_runs_the_profiles_pool_with_as_options(sqlite_dsn, tmp_path, capsys):
    other = tmp_path / "wide.toml"
    other.write_text('name = "wide"\n[pool]\nmaxconnections = 1\n')
    code, out, err = run_cli(
        capsys,
        "compare",
        "--dsn",
        sqlite_dsn,
        "--b-profile",
        str(other),
        "--threads",
        "2",
        "--duration",
        str(RUN_S),
        "--rounds",
        "1",
        "--json",
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["b"]["config"]["maxconnections"] == 1
    assert payload["b"]["workload"]["threads"] == payload["a"]["workload"]["threads"] == 2
    assert "maxconnections ∞→1" in payload["changes"]  # 0: no limit, as the sliders say


def pg_sessions_tagged(target, pattern: str) -> int:
    """Sessions whose application_name matches ``pattern`` (LIKE), as PostgreSQL counts them."""
    con = target.connect()
    try:
        cursor = con.cursor()
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %s", (pattern,)
        )
        return int(cursor.fetchone()[0])
    finally:
        con.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_comparison_and_closes_both_pools(signum, pg_dsn):
    target = parse_dsn(pg_dsn)
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "pooltui", "compare", "--dsn", pg_dsn, "--threads", "2"),
            *("--set", "maxconnections=2", "--duration", str(RUN_S), "--rounds", "3"),
            *("--b-set", "hold_ms=2", "--b-set", "duration_s=20"),  # B's runs: long enough
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    tagged = f"pooltui-{process.pid}-%"
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(process.stderr))
    reader.start()
    try:  # A's first run finished, B's run of 20 s is under way on a pool of its own
        wait_for(lambda: any("run 1/12 (A)" in line for line in seen), "the first run")
        b_pool = f"pooltui-{process.pid}-2"  # the second pool the process made
        wait_for(lambda: pg_sessions_tagged(target, b_pool) >= 2, "B's pool to open")
        started = time.monotonic()
        process.send_signal(signum)
        process.wait(timeout=DEADLINE_S)  # not communicate(): it would read stderr too, and
        # under load take the lines the reader is there to keep
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(DEADLINE_S)
    err = "".join(seen)
    assert process.returncode == 128 + signum, err
    assert time.monotonic() - started < 15  # not B's 20 s, nor the 10 runs still to come
    cut = [line for line in err.splitlines() if "run 2/12 (B)" in line]
    assert all("not judged" in line for line in cut)  # B's run (if it began) was cut short
    assert "run 3/12" not in err  # and no other run started
    assert "every connection was closed" in err and "Traceback" not in err
    assert pg_sessions_tagged(target, tagged) == 0  # A's pool and B's


# --- pooltui bench --repeat --------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["sqlite_dsn", "mysql_dsn"])
def test_bench_repeat_json_keeps_the_single_run_shape_and_adds_runs_and_spreads(
    fixture, request, capsys
):
    dsn = request.getfixturevalue(fixture)
    common = ("bench", "--dsn", dsn, "--threads", "2", "--duration", str(RUN_S), "--json")
    code, single_out, err = run_cli(capsys, *common)
    assert code == 0, err
    single = json.loads(single_out)
    code, out, err = run_cli(capsys, *common, "--repeat", "3")
    assert code == 0, err
    repeated = json.loads(out)
    assert set(repeated) == set(single) | {"repeats", "spread", "runs"}
    assert "repeats" not in single and "runs" not in single
    code, once_out, _ = run_cli(capsys, *common, "--repeat", "1")
    assert code == 0 and set(json.loads(once_out)) == set(single)
    assert repeated["repeats"] == 3 and len(repeated["runs"]) == 3
    assert [set(run) for run in repeated["runs"]] == [set(single) - {"closed"}] * 3
    assert set(repeated["spread"]) == set(FIGURE_NAMES)
    throughputs = [run["throughput_rps"] for run in repeated["runs"]]
    spread = repeated["spread"]["throughput_rps"]
    assert spread["n"] == 3 and spread["low"] == pytest.approx(min(throughputs), abs=1e-3)
    assert spread["high"] == pytest.approx(max(throughputs), abs=1e-3)
    # the top level is all runs as one: counts add, durations add
    assert repeated["requests"] == sum(run["requests"] for run in repeated["runs"])
    duration = sum(run["duration_s"] for run in repeated["runs"])
    assert repeated["duration_s"] == pytest.approx(duration, abs=0.01)
    assert repeated["closed"]["sessions_left"] == 0 and repeated["closed"]["verified"]
    assert "pooltui: run 3/3: " in err


def test_bench_repeat_text_shows_median_and_spread(sqlite_dsn, capsys):
    code, out, err = run_cli(
        capsys, "bench", "--dsn", sqlite_dsn, "--threads", "2", "--duration", "0.2", "--repeat", "2"
    )
    assert code == 0, err
    assert "2 runs of 0.20 s on one warm pool" in out and "median" in out
    assert "acquire max" in out and "all 2 runs as one:" in out
    code, _, err = run_cli(capsys, "bench", "--dsn", sqlite_dsn, "--repeat", "0")
    assert code == 2 and "--repeat is 0 but must be at least 1" in one_sentence(err)


def test_compare_output_never_holds_the_password(pg_dsn, capsys) -> None:
    dsn = pg_dsn.replace("postgres@", "postgres:Secret-Pw9@")  # trust auth: never asked for
    code, out, err = compare(capsys, dsn, "--json", "--fail-if", "errors > 0")
    assert code == 0, err
    assert "Secret-Pw9" not in out and "Secret-Pw9" not in err
    assert json.loads(out)["runs"][0]["target"]["dsn"].count("***") == 1


def test_identical_sides_on_sqlite_explain_their_drift_by_the_client_cpu(sqlite_dsn, pg_dsn):
    """SQLite runs its queries in pooltui's own process: a run of SELECT 1 is bound by the
    client's CPU (about one core, the GIL), and two runs of one configuration differed by
    half on a shared 2-core machine. The report says so, with the drift its runs showed; a
    server workload that waits on its holds, not on the client, gets no such note."""
    from pooltui.core.compare.display import client_bound_note, format_comparison
    from pooltui.core.numbers import share

    side = Side(PoolConfig(maxconnections=2, maxcached=2), Workload(threads=4, duration_s=0.3))
    comparison = run_comparison(parse_dsn(sqlite_dsn), side, side, 1)
    runs = comparison.runs
    bound = [run for run in runs if run.result.client.saturated]
    note = client_bound_note(comparison)
    if 2 * len(bound) < len(runs):  # a machine fast enough to leave the client idle
        assert note is None
    else:
        assert note is not None and f"{len(bound)} of {len(runs)} runs" in note
        assert "the embedded database runs its queries in that same process" in note
        drifts = []
        for name in "AB":
            rates = [run.result.throughput_rps for run in runs if run.side == name]
            drifts.append(1 - min(rates) / max(rates))
        assert f"differed by up to {share(max(drifts))}" in note
        assert f"note: {note}" in format_comparison(comparison)

    held = Side(PoolConfig(maxconnections=2), Workload(threads=2, duration_s=0.3, hold_ms=20))
    waiting = run_comparison(parse_dsn(pg_dsn), held, held, 1)
    assert not any(run.result.client.saturated for run in waiting.runs)
    assert client_bound_note(waiting) is None
    assert "note:" not in format_comparison(waiting)
