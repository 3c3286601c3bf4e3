"""Issue 13 §5: the console's sweep screen draws the sweep live and "apply" moves the sliders."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.tune.tuner import Budget
from pooltui.tui.screens.sweep import SweepScreen
from pooltui.tui.widgets.sweep_plot import SweepPlot, axis_row, plot_cells

from .helpers import SIZE, Console, screen_text, static_text, until

pytest.importorskip("optuna")


async def test_the_sweep_screen_draws_points_and_apply_moves_the_sliders(pg_dsn, monkeypatch):
    monkeypatch.setattr(SweepScreen, "DEFAULT_BUDGET", Budget(trials=3))
    monkeypatch.setattr(SweepScreen, "DEFAULT_RUN_S", 0.2)
    # one connection for 4 threads holding 5 ms: any tune must find a bigger pool
    console = Console(
        pg_dsn, PoolConfig(maxconnections=1, maxcached=1), Workload(threads=4, hold_ms=5)
    )
    app = console.app
    async with app.run_test(size=SIZE) as pilot:
        before = app.tune.panel.config
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, SweepScreen))
        sweep = app.screen
        assert isinstance(sweep, SweepScreen)
        await until(pilot, lambda: len(sweep.points) >= 2, timeout=60)  # live, mid-sweep
        plot = sweep.query_one("#sweep-throughput", SweepPlot)
        assert len(plot.points) >= 2
        # the status carries the server's health from the sweep's probes (PostgreSQL can say
        # how many sessions run a statement)
        assert sweep.health is not None and sweep.health.active is not None
        assert sweep.health.in_use is not None and sweep.health.active >= 0
        await until(pilot, lambda: sweep.result is not None or sweep.error, timeout=120)
        assert sweep.error is None
        result = sweep.result
        assert result is not None and result.sweep is not None and result.best is not None
        assert [x for x, _ in plot.points] == [float(n) for n in result.sweep.sizes]
        await pilot.pause()
        text = screen_text(app)
        assert "throughput vs pool size" in text and "p95 latency vs pool size" in text
        assert "winner: maxconnections=" in text and "press a" in text
        # while it runs the status line says it (drawn here as a progress message draws it)
        sweep._progress("search", 5.0, 0.5)
        assert " · server: " in static_text(sweep, "#sweep-status")
        assert " active" in static_text(sweep, "#sweep-status")
        # at the end the report below says the sweep's range of both
        assert any(line.startswith("  server health:") for line in sweep.lines)
        assert any("running a statement" in line for line in sweep.lines)
        if result.sweep.knee is not None:
            assert "k" in axis_row(plot.x_range, plot.size.width, plot.marks)
        winner = result.best.config
        await pilot.press("a")
        await until(pilot, lambda: app.screen is app.tune)
        after = app.tune.panel.config
        assert after.maxconnections == winner.maxconnections
        assert (after.ping, after.reset, after.blocking) == (
            winner.ping, winner.reset, winner.blocking
        )  # fmt: skip
        assert before.maxconnections == 1 and after.maxconnections > 1
    assert result.stopped is False


def test_the_plot_puts_points_where_they_belong():
    bits, marked, top = plot_cells([(1, 0.0), (4, 40.0)], lambda x: 10.0 * x, (1.0, 4.0), 8, 4)
    assert top == 40.0
    assert marked[3][0] and marked[0][7]  # the y scale starts at 0: bottom left, top right
    assert sum(map(sum, marked)) == 2 and any(any(row) for row in bits)
    assert axis_row((1.0, 8.0), 20, [(4.0, "k")]).count("k") == 1


class _Plots(App[None]):
    def compose(self) -> ComposeResult:
        yield SweepPlot("throughput vs pool size", "req/s", id="rps")
        yield SweepPlot("p95 latency vs pool size", "ms", lower_is_better=True, id="p95")


async def test_a_latency_plot_calls_its_lowest_point_best_and_the_marks_are_named():
    """p95 falls as the pool grows: "best" is the lowest p95, not the highest (that is the
    worst size), and the axis marks say what they are at 80 columns."""
    app = _Plots()
    async with app.run_test(size=(80, 24)) as pilot:
        rps, p95 = app.query_one("#rps", SweepPlot), app.query_one("#p95", SweepPlot)
        marks = [(2.0, "k")]
        rps.show([(1, 400.0), (2, 700.0), (4, 710.0)], x_range=(1.0, 4.0), marks=marks)
        p95.show([(1, 87.4), (2, 9.5), (4, 9.1)], x_range=(1.0, 4.0), marks=marks)
        await pilot.pause()
        p95_header = str(p95.render()).splitlines()[0]
        rps_header = str(rps.render()).splitlines()[0]
        assert "best 9.1" in p95_header and "best 87.4" not in p95_header
        assert "best 710" in rps_header
        assert "k knee" in p95_header and "k knee" in rps_header
        assert len(p95_header) <= p95.size.width


async def test_at_80x24_a_finished_tune_keeps_its_status_and_report_in_the_dialog(
    pg_dsn, monkeypatch
):
    """A finished tune's status takes 5 rows at 80 columns (winner, proof, what a does): the
    plots give up rows for it, and the status, the report and the footer stay inside the
    dialog (the plots' minimums once did not fit, and every 1fr row took 10)."""
    from textual.widgets import Footer

    monkeypatch.setattr(SweepScreen, "DEFAULT_BUDGET", Budget(trials=3))
    monkeypatch.setattr(SweepScreen, "DEFAULT_RUN_S", 0.2)
    console = Console(
        pg_dsn, PoolConfig(maxconnections=1, maxcached=1), Workload(threads=4, hold_ms=5)
    )
    app = console.app
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, SweepScreen))
        sweep = app.screen
        assert isinstance(sweep, SweepScreen)
        await until(pilot, lambda: sweep.result is not None or sweep.error, timeout=120)
        await pilot.pause()
        inside = sweep.query_one("#dialog").content_region
        for selector in ("#sweep-status", "#sweep-log"):
            assert inside.contains_region(sweep.query_one(selector).region), selector
        assert inside.contains_region(sweep.query_one(Footer).region)
        assert sweep.query_one("#sweep-status").size.height >= 4  # the whole finished status
        assert "winner: maxconnections=" in screen_text(app)
