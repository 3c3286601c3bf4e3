"""The tune screen driven by keys and the mouse against real databases (Pilot, App.run_test).

Bursts are short (1 s) unless a test stops them itself; every wait is a poll with a deadline on
a message or a state the console reaches, never a sleep standing in for it.
"""

from __future__ import annotations

import os
import signal
import time
import types
from dataclasses import replace
from typing import Any

import pytest
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

import pooltui.core.history
import pooltui.tui.widgets.history_table
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.diagnosis.rules import run_findings
from pooltui.core.pool.histogram import Summary
from pooltui.core.pool.stats import PoolStats
from pooltui.core.probes import count_connections_by, terminate_pool_connections
from pooltui.core.profiles import Profile
from pooltui.core.targets import parse_dsn
from pooltui.tui.app import PoolTuiApp, make_app
from pooltui.tui.messages import BurstFailed, BurstFinished, StatsSampled, WarmupFinished
from pooltui.tui.screens.help import HelpScreen
from pooltui.tui.screens.run_details import RunDetailsScreen
from pooltui.tui.widgets.event_log import EventLog
from pooltui.tui.widgets.history_table import HistoryTable
from pooltui.tui.widgets.live_panel import plottable, wait_text
from pooltui.tui.widgets.param_panel import POOL_SLIDERS, WORKLOAD_SLIDERS
from pooltui.tui.widgets.stat_counters import StatCounters
from pooltui.tui.widgets.trend_plot import TrendPlot

from .helpers import SHORT_BURST, SIZE, SMALL_POOL, Console, burst, set_slider, until

# --- parameters ---------------------------------------------------------------------------


async def test_a_slider_change_shows_at_once_what_dbutils_makes_of_it(sqlite_dsn):
    console = Console(sqlite_dsn, PoolConfig(mincached=2, maxcached=4, maxconnections=8))
    async with console.run() as pilot:
        await pilot.pause()
        note = console.app.tune.query_one("#note-maxcached", Static)
        assert not note.has_class("-shown")
        await set_slider(pilot, console, "maxcached", 1)  # below mincached
        assert console.panel.config.maxcached == 1
        assert console.panel.validation.effective.maxcached == 2
        assert note.has_class("-shown") and "DBUtils uses 2" in str(note.render())
        findings = str(console.app.tune.query_one("#findings", Static).render())
        assert "maxcached 1 is raised to mincached 2" in findings
        # and back: the note goes away as soon as the value is honoured again
        await pilot.press("right", "right")
        assert console.panel.config.maxcached == 3 and not note.has_class("-shown")


async def test_every_control_feeds_the_configuration(sqlite_dsn):
    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        await pilot.pause()
        tune = console.app.tune
        tune.query_one("#param-blocking").focus()
        await pilot.press("space")  # the blocking switch
        await pilot.press("down")  # focus moves on to the reset switch
        await pilot.press("enter")
        tune.query_one("#param-ping", Select).value = 4
        tune.query_one("#param-setsession", Input).focus()
        await pilot.press(*"SET a=1; SET b=2")
        tune.query_one("#param-pattern", Select).value = "poisson"
        query = tune.query_one("#param-query", Input)
        query.focus()
        query.value = ""
        await pilot.press(*"SELECT 2")
        await pilot.pause()
        config, workload = console.panel.config, console.panel.workload
        assert (config.blocking, config.reset, config.ping) == (False, False, 4)
        assert config.setsession == ("SET a=1", "SET b=2")
        assert (workload.pattern, workload.query) == ("poisson", "SELECT 2")
        # poisson needs a rate: refused in place, and b says why instead of running
        assert not console.panel.is_ok
        assert console.app.tune.query_one("#note-rate", Static).has_class("-error")
        tune.focus_next()  # leave the input so b is a key again
        await pilot.press("b")
        assert console.notes and console.notes[-1][0] == "error"
        assert "rate" in console.notes[-1][1]
        assert not console.seen(BurstFinished) and console.app.tune.running is None


async def test_every_slider_reaches_its_field_with_the_fields_type(sqlite_dsn):
    """The panel names each slider's field when it builds the config and workload: a slider
    added to POOL_SLIDERS or WORKLOAD_SLIDERS and not read there fails here."""
    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        await pilot.pause()
        for spec in (*POOL_SLIDERS, *WORKLOAD_SLIDERS):
            console.slider(spec.name).set_value(spec.maximum)
        await pilot.pause()
        config, workload = console.panel.config, console.panel.workload
        for spec in POOL_SLIDERS:
            assert getattr(config, spec.name) == spec.maximum, spec.name
            assert type(getattr(config, spec.name)) is int, spec.name
        for spec in WORKLOAD_SLIDERS:
            value = getattr(workload, spec.name)
            assert value == spec.maximum, spec.name
            assert type(value) is type(getattr(Workload(), spec.name)), spec.name


async def test_a_slider_follows_the_mouse(sqlite_dsn):
    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        await pilot.pause()
        slider = console.slider("threads")
        assert slider.value == 4
        region = slider.content_region
        await pilot.click(slider, offset=(region.width - 8, 0))  # near the end of the track
        assert slider.value > 64
        left = region.x - slider.region.x  # the focus bar's column before the label
        await pilot.click(slider, offset=(left + 15, 0))  # the start of the track
        assert slider.value == 1
        assert console.panel.workload.threads == 1


async def test_an_impossible_configuration_is_refused_in_place(sqlite_dsn):
    # mincached > maxconnections with maxcached = 0: PooledDB's constructor would hang
    console = Console(sqlite_dsn, PoolConfig(mincached=2, maxcached=0, maxconnections=2))
    async with console.run() as pilot:
        await pilot.pause()
        assert console.panel.is_ok
        await set_slider(pilot, console, "mincached", 3)
        note = console.app.tune.query_one("#note-mincached", Static)
        assert note.has_class("-error") and "hangs forever" in str(note.render())
        assert console.slider("mincached").has_class("-error")
        assert console.status().startswith("✖ refused")
        await pilot.press("w", "b")
        assert [level for level, _ in console.notes] == ["error", "error"]
        assert console.app.session.pool is None and console.app.tune.running is None
        await pilot.press("left")  # fixed: running is allowed again
        assert console.panel.is_ok and console.status().startswith("ready")


# --- warm-up and bursts -------------------------------------------------------------------


async def test_warm_up_and_burst_move_the_gauges_plots_and_history(sqlite_dsn):
    console = Console(sqlite_dsn, PoolConfig(mincached=2, maxcached=4, maxconnections=4))
    async with console.run() as pilot:
        await pilot.pause()
        assert console.gauge("idle").value == 0
        await pilot.press("w")
        await until(pilot, lambda: console.seen(WarmupFinished))
        await until(pilot, lambda: console.gauge("idle").value >= 2)
        assert console.log.texts("warmup_done")  # the pool's own account of the warm-up
        opened = console.app.session.pool.snapshot().open
        assert opened >= 2 and f"· {opened} connections open ·" in console.status()
        finished = await burst(pilot, console)
        assert finished.result.requests > 0 and finished.result.errors == 0
        samples = console.seen(StatsSampled)
        assert samples and all(s.run_id == finished.run_id for s in samples)
        plot = console.app.tune.query_one("#plot-throughput", TrendPlot)
        assert plot.values and max(plot.values) > 0
        assert console.app.tune.query_one("#plot-latency", TrendPlot).values
        table = console.app.tune.query_one(HistoryTable)
        assert table.row_count == 1 and len(console.app.history) == 1
        record = console.app.history.records[0]
        assert record.config == console.panel.config
        assert console.app.history.changes(console.app.history.group(1)) == "first run"
        assert any(t.startswith("run #1 finished") for t in console.log.texts("run_finished"))


async def test_a_burst_with_waiters_plots_the_waiting_and_ages_the_oldest_wait(sqlite_dsn):
    """8 threads on 2 connections: callers wait all run long. The waiting plot gets every
    sample's waiting gauge, and the oldest-wait gauge shows the age and its peak."""
    console = Console(
        sqlite_dsn, PoolConfig(maxconnections=2, maxcached=2), Workload(threads=8, duration_s=1.5)
    )
    async with console.run() as pilot:
        await pilot.pause()
        finished = await burst(pilot, console)
        samples = [m.sample for m in console.seen(StatsSampled) if m.run_id == finished.run_id]
        plot = console.app.tune.query_one("#plot-waiting", TrendPlot)
        interval = console.app.tune.SAMPLE_INTERVAL_S  # a sliver's sample is not plotted
        plotted = [s for s in samples if plottable(s, interval)]
        assert plot.values == tuple(float(s.stats.waiting) for s in plotted)
        assert max(plot.values) > 0  # six threads were parked in the pool's Condition
        assert max(s.stats.oldest_wait_ms for s in samples) > 0.0
        pool = finished.result.pool
        gauge = console.gauge("oldest_wait")
        assert gauge.value_text() == wait_text(pool.oldest_wait_ms, pool.peak_oldest_wait_ms)
        assert pool.peak_oldest_wait_ms == finished.result.acquire.max
        # what the run showed (starved threads, say) is in the event log, not only the details
        found = [
            kind_text
            for kind_text in console.app.tune.events._entries
            if kind_text[1].startswith("run #1: ")
        ]
        want = [("warning", f"run #1: {a.message}") for a in run_findings(finished.result)]
        assert found == want


async def test_postgres_burst_stops_on_s_while_the_console_stays_usable(pg_dsn):
    console = Console(
        pg_dsn,
        PoolConfig(maxconnections=8, maxcached=8),
        Workload(threads=16, duration_s=60.0, hold_ms=1.0),
    )
    async with console.run() as pilot:
        await pilot.pause()
        await pilot.press("b")
        await until(pilot, lambda: len(console.seen(StatsSampled)) >= 2)
        assert console.app.tune.running == "burst"
        # the UI still answers: a slider moves, a screen opens and closes
        before = console.slider("hold_ms").value
        console.slider("hold_ms").focus()
        await pilot.press("right")
        assert console.slider("hold_ms").value == before + 1
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(console.app.screen, HelpScreen))
        await pilot.press("escape")
        await until(pilot, lambda: console.app.screen is console.app.tune)
        assert console.gauge("checked_out").value <= 8
        await pilot.press("s")
        await until(pilot, lambda: console.seen(BurstFinished))
        result = console.seen(BurstFinished)[0].result
        assert result.stopped and result.duration_s < 60.0
        assert str(console.app.tune.query_one(HistoryTable).get_row_at(0)[1]).startswith(
            "(stopped)"
        )
        assert console.app.tune.running is None


async def test_keys_that_cannot_act_now_are_disabled_not_answered_with_a_toast(sqlite_dsn):
    console = Console(sqlite_dsn, workload=Workload(threads=2, duration_s=60.0, hold_ms=1.0))
    async with console.run() as pilot:
        await pilot.pause()
        tune = console.app.tune

        def enabled() -> dict[str, bool]:  # what the footer draws, key by key
            return {
                key: active.enabled
                for key, active in tune.active_bindings.items()
                if key in ("w", "b", "s", "m")
            }

        assert enabled() == {"w": True, "b": True, "s": False, "m": False}
        await pilot.press("s", "m")  # nothing runs, no run yet: nothing happens, nothing said
        assert console.notes == [] and tune.running is None
        await pilot.press("b")
        await until(pilot, lambda: console.seen(StatsSampled))
        await pilot.pause()
        assert enabled() == {"w": False, "b": False, "s": True, "m": False}
        await pilot.press("b", "w")  # no second run beside this one, and no toast
        assert tune.running == "burst" and console.notes == []
        await pilot.press("s")
        await pilot.pause()
        # asked once is enough: s is off while the burst stops (or it has already stopped)
        assert (tune.stopping or console.seen(BurstFinished)) and not enabled()["s"]
        await until(pilot, lambda: console.seen(BurstFinished))
        await pilot.pause()
        assert enabled() == {"w": True, "b": True, "s": False, "m": True}
        assert console.notes == [] and len(console.seen(BurstFinished)) == 1


async def test_mariadb_burst_lands_in_the_history(mysql_dsn):
    console = Console(
        mysql_dsn,
        PoolConfig(maxconnections=4, maxcached=2),
        Workload(threads=6, duration_s=1.0, hold_ms=2.0),
    )
    async with console.run() as pilot:
        await pilot.pause()
        finished = await burst(pilot, console)
        assert finished.result.requests > 0 and finished.result.errors == 0
        assert finished.result.pool.peak_open <= 4
        assert console.app.history.records[0].result is finished.result


async def test_changed_parameters_rebuild_the_pool_and_close_the_old_one(pg_dsn):
    console = Console(pg_dsn, PoolConfig(maxconnections=3, maxcached=3), SHORT_BURST)
    async with console.run() as pilot:
        await pilot.pause()
        await burst(pilot, console)
        first = console.app.session.pool
        assert first is not None and first.snapshot().open > 0
        await set_slider(pilot, console, "maxconnections", 5)
        assert "rebuilds the pool" in console.status()
        await burst(pilot, console)
        second = console.app.session.pool
        assert second is not first and second.config.maxconnections == 5
        assert count_connections_by(console.target, first.tag, set()) == 0
        history = console.app.history
        assert history.changes(history.group(2)) == "maxconnections 3→5"


async def test_baseline_and_deltas(sqlite_dsn):
    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        await pilot.pause()
        await burst(pilot, console)
        await set_slider(pilot, console, "hold_ms", 2.0)
        await burst(pilot, console)
        table = console.app.tune.query_one(HistoryTable)
        table.focus()
        await pilot.press("up")  # the cursor sits on the newest run: go to the first
        assert table.selected_number == 1
        await pilot.press("m")
        history = console.app.history
        assert history.baseline == 1
        assert "1\n★" in str(table.get_row_at(0)[0])
        delta = history.delta(history.group(2))
        shown = str(table.get_row_at(1)[2])  # req/s: the figure over its delta
        assert delta is not None and len(shown.splitlines()) == 2
        assert shown.splitlines()[1] == delta["throughput"].describe(compact=True)
        assert table.selected_number == 1  # the rebuild kept the cursor
        await pilot.press("m")  # again: no baseline any more
        assert history.baseline is None
        assert len(str(table.get_row_at(1)[2]).splitlines()) == 1


async def test_run_details_load_a_configuration_back(sqlite_dsn):
    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        await pilot.pause()
        await burst(pilot, console)
        await set_slider(pilot, console, "maxconnections", 6)
        await set_slider(pilot, console, "threads", 5)
        await burst(pilot, console)
        table = console.app.tune.query_one(HistoryTable)
        table.focus()
        await pilot.press("up", "enter")
        await until(pilot, lambda: isinstance(console.app.screen, RunDetailsScreen))
        await pilot.press("l")
        await until(pilot, lambda: console.app.screen is console.app.tune)
        assert console.slider("maxconnections").value == 4
        assert console.slider("threads").value == 4
        assert console.panel.config == console.app.history.records[0].config
        assert any("loaded run #1" in text for text in console.log.texts())


# --- bad input and bad luck ---------------------------------------------------------------


async def test_a_query_that_fails_is_reported_and_the_console_keeps_working(sqlite_dsn):
    console = Console(sqlite_dsn, workload=replace(SHORT_BURST, query="SELECT * FROM nowhere"))
    async with console.run() as pilot:
        await pilot.pause()
        failed = await burst(pilot, console)
        assert failed.result.errors > 0 and failed.result.fatal_error
        assert "nowhere" in failed.result.fatal_error
        assert ("error", failed.result.fatal_error) in console.notes
        assert console.log.texts("run_errors")
        query = console.app.tune.query_one("#param-query", Input)
        query.value = "SELECT count(*) FROM items"
        console.slider("threads").focus()
        fixed = await burst(pilot, console)
        assert fixed.result.errors == 0 and fixed.result.requests > 0
        assert len(console.app.history) == 2


async def test_an_unreachable_server_is_a_message_not_a_crash(pg_dsn):
    dsn = pg_dsn.replace(":5432/", ":1/")  # nothing listens on port 1
    # the check at start failed: a run tries the server again first and starts nothing
    console = Console(dsn, PoolConfig(mincached=1, maxcached=2, maxconnections=2), check=True)
    async with console.run() as pilot:
        await until(pilot, lambda: console.log.texts("error"))
        assert [level for level, _ in console.notes] == ["error"]
        assert "127.0.0.1" in console.notes[0][1]
        for key, notes in (("w", 2), ("b", 3)):
            await pilot.press(key)
            await until(pilot, lambda n=notes: len(console.notes) == n)
            assert console.notes[-1][0] == "error"
            assert console.notes[-1][1].startswith("Still no answer, so no run started. ")
            assert "127.0.0.1:1" in console.notes[-1][1]  # the error names where
        assert console.app.tune.running is None and console.app.session.pool is None
        assert not console.seen(BurstFailed) and not console.log.texts("warmup_failed")
    # not known to be dead: mincached=1, building the pool already needs the server
    console = Console(dsn, PoolConfig(mincached=1, maxcached=2, maxconnections=2))
    async with console.run() as pilot:
        await pilot.press("w")
        await until(pilot, lambda: console.log.texts("warmup_failed"))
        assert [level for level, _ in console.notes] == ["error"]
    # mincached=0: the pool builds, but the burst's look at the server's free slots fails
    # first, and says why in one sentence (a run would only back off until its end)
    console = Console(dsn, PoolConfig(mincached=0, maxcached=2, maxconnections=2))
    async with console.run() as pilot:
        await pilot.press("b")
        await until(pilot, lambda: console.seen(BurstFailed))
        assert console.log.texts("run_failed") and console.app.tune.running is None
        assert console.notes[-1][0] == "error" and "Nothing accepted" in console.notes[-1][1]
        await set_slider(pilot, console, "threads", 2)  # still answering keys
        assert console.app.session.pool is not None
        # the pool exists, but the status line must not suggest it holds anything, nor that
        # the target is ready: the burst found nothing there
        assert "did not answer" in console.status() and "ready" not in console.status()


async def test_connections_killed_mid_burst(pg_dsn):
    console = Console(
        pg_dsn,
        PoolConfig(maxconnections=4, maxcached=4),
        Workload(threads=4, duration_s=1.5, hold_ms=2.0),
    )
    killed: list[int] = []

    def kill_on_first_sample(message: Message) -> None:
        if isinstance(message, StatsSampled) and not killed:
            pool = console.app.session.pool
            assert pool is not None
            killed.append(terminate_pool_connections(console.target, pool))

    console.on_message = kill_on_first_sample
    async with console.run() as pilot:
        await pilot.pause()
        finished = await burst(pilot, console)
        assert killed and killed[0] > 0
        result = finished.result
        assert len(console.app.history) == 1
        # DBUtils reopens a killed connection and re-runs the statement (its failover), so a
        # kill shows as a replaced connection; only a request it could not save is an error
        assert result.pool.reconnects > 0 or result.errors > 0
        assert console.log.texts("connection_lost")
        counters = console.app.tune.query_one(StatCounters).values
        assert counters["reconnects"] == result.pool.reconnects
        assert counters["errors"] == result.errors


async def test_a_killed_pool_process_fails_the_burst_in_words_and_the_next_builds_anew(pg_dsn):
    """The burst runs in the pool's own process (core/host): killed mid-burst, the console
    says how it ended, leaves nothing on the server, and the next burst builds a new pool."""
    console = Console(
        pg_dsn,
        PoolConfig(maxconnections=4, maxcached=4),
        Workload(threads=4, duration_s=30.0, hold_ms=2.0),
    )
    killed: list[str] = []

    def kill_on_first_sample(message: Message) -> None:
        pool = console.app.session.pool
        if isinstance(message, StatsSampled) and not killed and pool is not None:
            killed.append(pool.tag)
            assert pool.pid is not None
            os.kill(pool.pid, signal.SIGKILL)

    console.on_message = kill_on_first_sample
    async with console.run() as pilot:
        await pilot.pause()
        await pilot.press("b")
        await until(pilot, lambda: console.seen(BurstFailed))
        (failed,) = console.seen(BurstFailed)
        assert "killed by SIGKILL" in failed.error and "Traceback" not in failed.error
        await until(pilot, lambda: console.app.tune.running is None)
        assert "the pool's process ended" in console.status()
        samples = len(console.seen(StatsSampled))
        await pilot.press("b")  # the next burst, stopped once it runs
        await until(pilot, lambda: len(console.seen(StatsSampled)) > samples)
        await pilot.press("s")
        await until(pilot, lambda: console.seen(BurstFinished))
        (finished,) = console.seen(BurstFinished)
        assert not finished.result.fatal_error and finished.result.requests > 0
        pool = console.app.session.pool
        assert pool is not None and pool.tag != killed[0]  # built anew
    assert count_connections_by(console.target, killed[0], set()) == 0


# --- snapshots ------------------------------------------------------------------------------


def fixed_result(throughput: float, p95: float, errors: int = 0) -> Any:
    from pooltui.core.load.engine import RunResult

    latency = Summary(count=1000, p50=p95 / 2, p95=p95, p99=p95 * 1.5, max=p95 * 2, mean=p95 / 2)
    stats = PoolStats(
        checked_out=0,
        idle=4,
        open=4,
        peak_open=4,
        checkouts=1000,
        connects=4,
        maxconnections=4,
        maxcached=4,
    )
    return RunResult(
        requests=1000 + errors,
        errors=errors,
        duration_s=1.0,
        throughput_rps=throughput,
        latency=latency,
        acquire=Summary(count=1000, p95=p95 / 10, p999=p95, max=p95 * 4),
        query=Summary(),
        hold=Summary(),
        schedule_lag=Summary(),
        error_kinds={"OperationalError": errors} if errors else {},
        pool=stats,
        config=SMALL_POOL,
        target="sqlite:///x.db",
        driver="sqlite3",
        workload=SHORT_BURST,
    )


def snapshot_app(pool: PoolConfig = SMALL_POOL) -> PoolTuiApp:
    """A console with fixed data: no database is touched, no clock is read."""
    app = make_app(
        parse_dsn("sqlite:///snapshot.db"),
        Profile("snapshot", pool=pool, workload=SHORT_BURST),
        check_target=False,
        keep_history=False,
    )
    history = app.history
    history.add(SMALL_POOL, SHORT_BURST, fixed_result(2400.0, 2.5), at=0.0)
    for throughput, p95 in ((2300.0, 2.7), (2480.0, 2.4)):  # the baseline, repeated (r)
        history.add(SMALL_POOL, SHORT_BURST, fixed_result(throughput, p95), repeats=1, at=0.0)
    history.add(
        replace(SMALL_POOL, maxconnections=8), SHORT_BURST, fixed_result(3100.0, 1.9), at=0.0
    )
    history.add(
        replace(SMALL_POOL, maxconnections=8),
        replace(SHORT_BURST, hold_ms=5.0),
        fixed_result(700.0, 9.4, errors=3),
        at=0.0,  # no date in the "when" column: a snapshot does not depend on the clock
    )
    history.add(SMALL_POOL, SHORT_BURST, fixed_result(2350.0, 2.6), at=0.0)  # the baseline's setup
    history.mark_baseline(1)
    return app


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Noon of one fixed day for the event log's stamps, the runs' times and the Runs table's
    "when" column (which reads the time of a run against today's date)."""
    monkeypatch.setattr(EventLog, "timestamp", staticmethod(lambda: "12:00:00"))
    noon = time.mktime((2026, 1, 2, 12, 0, 0, 0, 0, -1))
    frozen = types.SimpleNamespace(
        **{name: getattr(time, name) for name in dir(time) if not name.startswith("_")}
    )
    frozen.time = lambda: noon
    monkeypatch.setattr(pooltui.core.history, "time", frozen)
    monkeypatch.setattr(pooltui.tui.widgets.history_table, "time", frozen)


async def _show_fixed_live_data(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, PoolTuiApp)
    tune = app.tune
    await until(pilot, lambda: tune.query(HistoryTable))  # auto_pilot starts before compose
    tune.query_one(HistoryTable).show(app.history)
    tune.query_one("#plot-throughput", TrendPlot).set_values([0, 1200, 2400, 2600, 2500, 2550])
    tune.query_one("#plot-latency", TrendPlot).set_values([0, 3.1, 2.4, 2.6, 2.2, 2.5])
    tune.query_one("#plot-acquire", TrendPlot).set_values([0, 0.4, 0.2, 0.3, 0.2, 0.25])
    tune.query_one("#plot-waiting", TrendPlot).set_values([0, 2, 4, 4, 3, 4])
    await pilot.pause()


def test_snapshot_tune_screen_wide(snap_compare, frozen_clock):
    assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=_show_fixed_live_data)


def test_snapshot_tune_screen_80x24(snap_compare, frozen_clock):
    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=_show_fixed_live_data)


def test_snapshot_refused_configuration(snap_compare, frozen_clock):
    refused = PoolConfig(mincached=6, maxcached=0, maxconnections=4)
    assert snap_compare(snapshot_app(refused), terminal_size=SIZE, run_before=_show_fixed_live_data)
