"""Issue 11 §3 in the console: the counters restart with a new pool, the live plots plot no
rate over a sliver, and a client at its CPU ceiling says so (real databases, driven by keys)."""

from __future__ import annotations

import gc
from dataclasses import replace

from db_helpers import poisson_ceiling
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Input

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.diagnosis.rules import lock_time_finding
from pooltui.core.history import RunHistory
from pooltui.core.load import collector, engine
from pooltui.core.numbers import figure
from pooltui.core.pool import InstrumentedPool
from pooltui.core.targets import parse_dsn
from pooltui.tui.messages import BurstFinished, PoolBuilt, StatsSampled, WarmupFinished
from pooltui.tui.screens.connect import ConnectScreen
from pooltui.tui.screens.run_details import RunDetailsScreen
from pooltui.tui.screens.tune import TuneScreen
from pooltui.tui.widgets.live_panel import COUNTERS, SLIVER_SHARE, LivePanel, plottable
from pooltui.tui.widgets.stat_counters import StatCounters
from pooltui.tui.widgets.trend_plot import TrendPlot

from .helpers import Console, Host, burst, opened, screen_text, set_slider, until

REJECTING = PoolConfig(maxconnections=2, maxcached=2, blocking=False)
CROWD = Workload(threads=6, duration_s=1.0, hold_ms=5.0)


def counters(console: Console) -> dict[str, float]:
    return console.app.tune.query_one(StatCounters).values


def pool_counters(console: Console) -> dict[str, float]:
    """What the counters must show between runs: the session pool's, and no error of its own."""
    pool = console.app.session.pool
    assert pool is not None
    stats = pool.snapshot()
    return {name: getattr(stats, name, 0) for name in COUNTERS}


# --- counters restart with a new pool ---------------------------------------------------------


async def test_a_rebuilt_pool_starts_its_counters_errors_included(pg_dsn: str) -> None:
    """A slider change rebuilds the pool at the next warm-up (a profile load takes the same
    path): the last pool's errors must not sit next to the new pool's one checkout."""
    console = Console(pg_dsn, REJECTING, CROWD)
    async with console.run() as pilot:
        await pilot.pause()
        finished = await burst(pilot, console)
        assert finished.result.errors > 0  # rejections
        assert counters(console)["errors"] == finished.result.errors
        first = console.app.session.pool
        await set_slider(pilot, console, "maxconnections", 3)
        await pilot.press("w")
        await until(pilot, lambda: console.seen(WarmupFinished) and console.seen(PoolBuilt))
        assert console.app.session.pool is not first
        await until(pilot, lambda: counters(console) == pool_counters(console))
        assert counters(console)["errors"] == 0 and counters(console)["rejections"] == 0
        assert counters(console)["checkouts"] == pool_counters(console)["checkouts"]


async def test_a_new_target_starts_every_counter_at_zero(pg_dsn: str, sqlite_dsn: str) -> None:
    console = Console(pg_dsn, REJECTING, CROWD)
    async with console.run() as pilot:
        await pilot.pause()
        finished = await burst(pilot, console)
        assert finished.result.errors > 0 and counters(console)["checkouts"] > 0
        await pilot.press("c")
        await until(pilot, lambda: isinstance(console.app.screen, ConnectScreen))
        screen = console.app.screen
        assert isinstance(screen, ConnectScreen)
        field = screen.query_one("#dsn", Input)
        field.focus()
        field.value = sqlite_dsn
        await pilot.press("enter")  # test it
        await until(pilot, lambda: screen.report is not None)
        await pilot.press("ctrl+u")  # use it
        await until(pilot, lambda: isinstance(console.app.screen, TuneScreen))
        await until(pilot, lambda: console.app.session.target.backend == "sqlite")
        assert console.app.session.pool is None
        assert counters(console) == dict.fromkeys(COUNTERS, 0)
        assert console.gauge("open").value == 0


async def test_counters_follow_the_plots_draws_in_a_run_and_end_on_its_totals(
    sqlite_dsn: str,
) -> None:
    """During a run the counters wait for the plots' next draw (a frame with fewer widgets to
    paint); its last sample and the end of the run show the run's own totals."""
    console = Console(sqlite_dsn, PoolConfig(maxconnections=2), Workload(threads=2, duration_s=0.5))
    async with console.run() as pilot:
        await pilot.pause()
        finished = await burst(pilot, console)
        assert counters(console)["checkouts"] == finished.result.pool.checkouts > 0
        live = console.app.tune.query_one(LivePanel)
        live.flush_plots()  # the draw clock starts now: a sample right after is held
        stats = replace(finished.result.pool, checkouts=finished.result.pool.checkouts + 5)
        live.push(1.0, 1.0, 1.0, 0)
        live.show_stats(stats, 2, 0, running=True)
        assert counters(console)["checkouts"] == finished.result.pool.checkouts
        live.flush_plots()
        assert counters(console)["checkouts"] == stats.checkouts
        stats = replace(stats, checkouts=stats.checkouts + 1)
        live.show_stats(stats, 2, 0)  # not a run's sample: at once
        assert counters(console)["checkouts"] == stats.checkouts


# --- the live plots -------------------------------------------------------------------------------


async def poisson_burst(pilot: Pilot, console: Console) -> list[StatsSampled]:
    finished = await burst(pilot, console)
    assert finished.result.errors == 0
    return [m for m in console.seen(StatsSampled) if m.run_id == finished.run_id]


async def test_a_rate_limited_run_never_plots_a_rate_far_above_its_rate(sqlite_dsn: str) -> None:
    rate = 20.0
    console = Console(
        sqlite_dsn,
        PoolConfig(maxconnections=4),
        Workload(threads=4, duration_s=1.0, pattern="poisson", rate=rate, hold_ms=20.0),
    )
    interval = TuneScreen.SAMPLE_INTERVAL_S
    shortest = SLIVER_SHARE * interval  # what the console still plots
    ceiling = poisson_ceiling(rate * shortest) / shortest
    async with console.run() as pilot:
        await pilot.pause()
        for _ in range(3):  # each run's last sample lands somewhere else in its interval
            seen = await poisson_burst(pilot, console)
            plot = console.app.tune.query_one("#plot-throughput", TrendPlot)
            plotted = [m.sample for m in seen if plottable(m.sample, interval)]
            assert list(plot.values) == [s.throughput_rps for s in plotted]
            assert plot.maximum is not None and plot.maximum <= ceiling
            assert seen[-1].sample.final  # the last one was seen, plotted or not
            for name in ("latency", "acquire"):  # the three plots keep in step
                assert len(console.app.tune.query_one(f"#plot-{name}", TrendPlot).values) == len(
                    plotted
                )


def test_a_sliver_is_not_plottable_a_sample_interval_is(sqlite_dsn: str) -> None:
    """The decision on the samples a real run made, and on its last one cut to a sliver."""
    interval = 0.1
    with InstrumentedPool(parse_dsn(sqlite_dsn), PoolConfig(maxconnections=2)) as pool:
        samples: list[engine.Sample] = []
        engine.run(
            pool,
            Workload(threads=2, duration_s=0.5),
            on_sample=samples.append,
            sample_interval_s=interval,
        )
    assert all(plottable(s, interval) for s in samples[:-1])  # mid-run: never under half
    final = samples[-1]
    assert final.final
    assert plottable(final, interval) == (final.interval_s >= SLIVER_SHARE * interval)
    sliver = replace(final, interval_s=interval * SLIVER_SHARE * 0.9)
    assert not plottable(sliver, interval)


# --- the client's CPU -----------------------------------------------------------------------------


async def test_a_saturated_client_is_reported_live_and_after_the_run(sqlite_dsn: str) -> None:
    """A CPU-heavy burst (SQLite, many threads, tiny queries): the console's warning follows
    the measured figure, sample by sample, and the run's note follows the run's figure."""
    console = Console(sqlite_dsn, PoolConfig(maxconnections=8), Workload(threads=8, duration_s=1.0))
    async with console.run() as pilot:
        await pilot.pause()
        finished = await burst(pilot, console)
        seen = [m.sample for m in console.seen(StatsSampled) if m.run_id == finished.run_id]
        assert any(s.client_cores > 0 for s in seen)
        live = any(s.client_saturated and not s.final for s in seen)
        warned = [t for t in console.log.texts("warning") if "may set this run's ceiling" in t]
        assert len(warned) == (1 if live else 0)  # once a run, when it begins
        client = finished.result.client
        noted = console.log.texts("client_saturated")  # the run's note, logged at its end
        assert bool(noted) == client.saturated
        assert all(t.startswith("the client, not the pool, set this ceiling") for t in noted)
        # the pool's box says it for the run just shown, with the run's own figure
        subtitle = console.app.tune.query_one("#live").border_subtitle
        cores = figure(client.cores, "cores")
        want = f"client CPU-bound: {cores} cores" if client.saturated else ""
        assert subtitle == want
        # the run's time left the box's title with the run (it read "5 / 5 s" until the next)
        assert console.app.tune.query_one("#live").border_title == "Pool"


async def test_a_live_client_cpu_figure_waits_for_the_next_second(sqlite_dsn: str) -> None:
    """The figure moves on every sample; each change repainted the pool's whole box. Its
    coming and going show at once, a new figure with the box's next whole second."""
    console = Console(sqlite_dsn, PoolConfig(maxconnections=2), Workload(threads=2))
    async with console.run() as pilot:
        await pilot.pause()
        live = console.app.tune.query_one(LivePanel)
        box = console.app.tune.query_one("#live")
        live.show_elapsed("1 / 5 s")
        live.show_client_cpu(0.91, live=True)
        assert box.border_subtitle == f"client CPU-bound: {figure(0.91, 'cores')} cores"
        live.show_client_cpu(0.97, live=True)
        live.show_elapsed("1 / 5 s")  # the same second: held
        assert figure(0.91, "cores") in box.border_subtitle
        live.show_elapsed("2 / 5 s")
        assert box.border_subtitle == f"client CPU-bound: {figure(0.97, 'cores')} cores"
        live.show_client_cpu(None, live=True)
        assert box.border_subtitle == ""
        live.show_client_cpu(0.5)  # not a sample (the run's end): at once
        assert figure(0.5, "cores") in box.border_subtitle


async def test_the_console_holds_the_collector_while_a_burst_runs(sqlite_dsn: str) -> None:
    """No full pass over the console's heap mid-burst (core/load/collector), none left held
    after the run, nor after quitting in the middle of one."""
    console = Console(sqlite_dsn, PoolConfig(maxconnections=2), Workload(threads=2, duration_s=1))
    async with console.run() as pilot:
        await pilot.pause()
        assert not collector.held()  # no earlier console left it held
        await pilot.press("b")
        await until(pilot, lambda: console.app.tune.running == "burst")
        assert collector.held() and gc.get_freeze_count() > 0
        await until(pilot, lambda: bool(console.seen(BurstFinished)))
        await until(pilot, lambda: console.app.tune.running is None)
        assert not collector.held() and gc.get_freeze_count() == 0
        await pilot.press("b")  # quit mid-burst: the screen goes while its run is held
        await until(pilot, lambda: console.app.tune.running == "burst")
        assert collector.held()
    assert not collector.held() and gc.get_freeze_count() == 0


# --- run details ------------------------------------------------------------------------------


async def test_run_details_show_the_lock_time_and_its_finding(pg_dsn: str) -> None:
    """A ping query that sleeps on the server, at every checkout, under the pool lock."""
    config = PoolConfig(
        mincached=2, maxcached=2, maxconnections=2, ping_query="SELECT pg_sleep(0.005)"
    )
    workload = Workload(threads=4, duration_s=0.5)
    with InstrumentedPool(parse_dsn(pg_dsn), config) as pool:
        result = engine.run(pool, workload)
    history = RunHistory()
    record = history.add(config, workload, result)
    finding = lock_time_finding(result)
    assert finding is not None
    group = history.group(record.number)
    assert group is not None
    host = Host(RunDetailsScreen(history, group))
    async with host.run_test(size=(120, 80)) as pilot:
        await opened(pilot)
        summary = " ".join(screen_text(host).split())  # the finding is in the header
        assert " ".join(finding.message.split())[:60] in summary
        host.screen.query_one("#body", VerticalScroll).scroll_end(animate=False)
        await pilot.pause()
        text = " ".join(screen_text(host).split())  # the figures' end: lock time, CPU
        lock = result.pool.under_lock
        assert f"lock: ping (ms) {figure(lock.ping_ms, 'ms')}" in text
        assert f"lock: pings {lock.pings:,}" in text
        assert f"lock: resets {lock.resets:,}" in text
        assert f"client CPU (cores) {result.client.cores:,.2f}" in text
