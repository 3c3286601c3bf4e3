"""Repeats, the baseline and A/B in the console, against real databases: the repeats of one
configuration form one row with its noise band, a stop ends a series, "changed" is against the
baseline, the baseline's own setup says its difference is noise, a delta from a figure within
noise of zero is a difference, and A/B alternates the baseline with the sliders and opens its
verdicts.

Bursts are 1 s unless a test stops them; every wait is a poll with a deadline on a message or a
state the console reaches.
"""

from __future__ import annotations

from dataclasses import replace

from textual.pilot import Pilot

from pooltui.core.compare.display import change_cells
from pooltui.core.compare.runner import FIGURES as COMPARED
from pooltui.core.config import PoolConfig
from pooltui.core.history import Delta, format_value
from pooltui.core.numbers import figure as number
from pooltui.tui.messages import (
    BurstFinished,
    ComparisonFinished,
    ComparisonRunFinished,
    StatsSampled,
)
from pooltui.tui.screens.run_details import RunDetailsScreen
from pooltui.tui.widgets.history_table import HistoryTable

from .helpers import SHORT_BURST, Console, burst, prepare_ab, screen_text, set_slider, until


def table(console: Console) -> HistoryTable:
    return console.app.tune.query_one(HistoryTable)


def cell(console: Console, row: int, column: str) -> str:
    """One cell's text; ``column`` is a column key of the history table."""
    shown = table(console)
    return str(shown.get_row_at(row)[shown.get_column_index(column)])


async def idle(pilot: Pilot, console: Console) -> None:
    """Wait until nothing runs and every worker is done."""
    await until(pilot, lambda: console.app.tune.running is None)
    await console.app.workers.wait_for_complete()
    await pilot.pause()


def enabled(console: Console, *keys: str) -> dict[str, bool]:
    """What the footer draws for these keys: enabled or not."""
    active = console.app.tune.active_bindings
    return {key: active[key].enabled for key in keys}


# --- repeats --------------------------------------------------------------------------------


async def test_repeats_join_the_run_they_repeat_as_one_row_with_its_band(sqlite_dsn):
    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        await pilot.pause()
        assert console.panel.repeats == 3  # the default
        await set_slider(pilot, console, "repeats", 2)
        await burst(pilot, console)
        assert enabled(console, "r", "a") == {"r": True, "a": False}  # no baseline: no A/B
        console.slider("threads").focus()
        await pilot.press("r")
        await until(pilot, lambda: console.app.tune.running == "burst")
        assert enabled(console, "r", "b", "s") == {"r": False, "b": False, "s": True}
        await until(pilot, lambda: len(console.seen(BurstFinished)) == 3)
        await idle(pilot, console)
        history = console.app.history
        (group,) = history.groups
        assert [run.number for run in group.runs] == [1, 2, 3] and table(console).row_count == 1
        assert cell(console, 0, "number") == "1\n×3"  # noqa: RUF001 (the multiplication sign)
        for key in ("throughput", "p50", "p95", "p99", "acquire_p95"):  # the median over the band
            figure = group.figure(key)
            value, band = cell(console, 0, key).splitlines()
            assert value == format_value(figure.spread.median, figure.unit)
            assert band == figure.band() and band.startswith("±")
        errors = group.figure("errors")  # a tail: the worst run, never the median
        assert cell(console, 0, "errors").splitlines() == [f"{errors.worst:,.0f}", "max"]
        assert any(t.startswith("runs #1-#3: ") for t in console.log.texts("run_finished"))
        table(console).focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(console.app.screen, RunDetailsScreen))
        await pilot.pause()
        text = " ".join(screen_text(console.app).split())
        assert "Runs #1-#3 (3 runs of one configuration)" in text
        for run in group.runs:  # the repeats, one line each
            assert f"#{run.number} {number(run.result.throughput_rps, 'req/s')}" in text


async def test_postgres_repeats_of_a_new_configuration_start_their_own_group(pg_dsn):
    console = Console(pg_dsn, PoolConfig(maxconnections=4, maxcached=4), SHORT_BURST)
    async with console.run() as pilot:
        await pilot.pause()
        await set_slider(pilot, console, "repeats", 2)
        await pilot.press("r")
        await until(pilot, lambda: len(console.seen(BurstFinished)) == 2)
        await idle(pilot, console)
        (group,) = console.app.history.groups
        assert group.n == 2 and all(run.result.errors == 0 for run in group.runs)
        assert all(run.result.requests > 0 for run in group.runs)
        # the pool was built for the series: warmed first, so no repeat measures its connects
        assert console.log.texts("warmup_done")
        assert "±" in cell(console, 0, "throughput")
        await set_slider(pilot, console, "maxconnections", 5)
        await burst(pilot, console)  # another configuration: a row of its own
        assert [g.n for g in console.app.history.groups] == [2, 1]


async def test_stop_during_the_repeats_ends_the_series(sqlite_dsn):
    console = Console(sqlite_dsn, workload=replace(SHORT_BURST, duration_s=3.0, hold_ms=1.0))
    async with console.run() as pilot:
        await pilot.pause()
        assert console.panel.repeats == 3
        await pilot.press("r")
        await until(pilot, lambda: len(console.seen(BurstFinished)) == 1)
        first = console.seen(BurstFinished)[0].run_id
        await until(pilot, lambda: any(s.run_id != first for s in console.seen(StatsSampled)))
        assert "repeat 2/3" in console.status()
        await pilot.press("s")
        await idle(pilot, console)
        history = console.app.history
        assert len(history) == 2 and len(console.seen(BurstFinished)) == 2  # no third run
        first, stopped = history.records
        assert not first.result.stopped and stopped.result.stopped
        assert stopped.group == stopped.number  # a run cut short is no repeat
        assert [g.n for g in history.groups] == [1, 1]
        assert cell(console, 1, "label").startswith("(stopped)")
        assert "repeats ended after 2 of 3 runs" in console.log.texts("stopped")
        assert enabled(console, "s", "r") == {"s": False, "r": True}


# --- the baseline: changed, the same configuration, deltas near zero ------------------------


async def test_changed_describes_the_difference_from_the_baseline(sqlite_dsn):
    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        await pilot.pause()
        await burst(pilot, console)
        await set_slider(pilot, console, "maxconnections", 5)
        await burst(pilot, console)
        await set_slider(pilot, console, "hold_ms", 2.0)
        await burst(pilot, console)
        # no baseline: each row against the row above
        assert cell(console, 2, "label") == "hold_ms 0→2"
        assert table(console).border_title == "2 Runs (ms, changed vs row above)"
        table(console).focus()
        await pilot.press("up", "up", "m")  # run 1 is the baseline
        assert console.app.history.baseline == 1
        assert cell(console, 0, "label") == "baseline"
        assert cell(console, 1, "label") == "maxconnections 4→5"
        assert cell(console, 2, "label") == "maxconnections 4→5, hold_ms 0→2"
        assert table(console).border_title == "2 Runs (ms, Δ vs baseline)"


async def test_the_baselines_own_configuration_says_its_difference_is_noise(sqlite_dsn):
    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        await pilot.pause()
        await burst(pilot, console)
        await pilot.press("m")
        await burst(pilot, console)  # nothing changed
        history = console.app.history
        a, b = (record.result.throughput_rps for record in history.records)
        x = (max(a, b) - min(a, b)) / 2 / ((a + b) / 2) * 100
        assert cell(console, 1, "label") == f"same as baseline: ±{x:.0f}% (1 run each)"
        (note,) = [t for t in console.log.texts("info") if t.startswith("same configuration")]
        assert note.startswith("same configuration as the baseline: the difference is noise")
        assert f"±{x:.1f} % between one run of each" in note and "no noise estimate" in note
        await set_slider(pilot, console, "repeats", 2)
        console.slider("threads").focus()
        await pilot.press("r")  # the newest run repeats: its row grows, the noise is measured
        await until(pilot, lambda: len(history) == 4)
        await idle(pilot, console)
        values = [r.result.throughput_rps for r in history.records]
        median = sorted(values)[1:3]
        spread = (max(values) - min(values)) / 2 / (sum(median) / 2) * 100
        assert history.group(2).n == 3 and table(console).row_count == 2
        assert cell(console, 1, "label") == f"same as baseline: noise ±{spread:.0f}%"
        assert console.log.texts("info")[-1] == (
            "same configuration as the baseline: the difference is noise "
            f"(±{spread:.1f} % over 4 runs)"
        )


async def test_a_delta_from_a_base_within_noise_of_zero_is_a_difference(sqlite_dsn):
    console = Console(sqlite_dsn, workload=replace(SHORT_BURST, threads=2))
    async with console.run() as pilot:
        await pilot.pause()
        await burst(pilot, console)  # 2 threads on 4 connections: no errors, hardly a wait
        await pilot.press("m")
        query = console.app.tune.query_one("#param-query")
        query.value = "SELECT * FROM nowhere"  # every request fails
        await set_slider(pilot, console, "threads", 8)
        await set_slider(pilot, console, "hold_ms", 3.0)
        await burst(pilot, console)
        history = console.app.history
        failed = history.records[1].result
        assert failed.errors > 0 and history.records[0].result.errors == 0
        errors = cell(console, 1, "errors").splitlines()[1]
        assert errors == f"+{failed.errors:,}"  # not "new", not a percentage
        deltas = history.delta(history.group(2))
        assert deltas is not None
        acquire: Delta = deltas["acquire_p95"]
        shown = cell(console, 1, "acquire_p95").splitlines()[1]
        assert shown == acquire.describe(compact=True)
        assert shown.endswith("ms") == acquire.base.near_zero  # the rule, whatever was measured
        table(console).focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(console.app.screen, RunDetailsScreen))
        await pilot.pause()
        text = " ".join(screen_text(console.app).split())
        assert f"errors {failed.errors:,} 0 +{failed.errors:,}" in text  # not a percentage


# --- A/B ------------------------------------------------------------------------------------


async def test_ab_alternates_the_baseline_with_the_sliders_and_opens_its_verdicts(sqlite_dsn):
    console = Console(sqlite_dsn, PoolConfig(maxconnections=2, maxcached=2), SHORT_BURST)
    async with console.run() as pilot:
        await prepare_ab(pilot, console, 4)
        assert enabled(console, "a") == {"a": True}
        await pilot.press("a")
        await until(pilot, lambda: console.app.tune.running == "comparison")
        assert enabled(console, "a", "b", "r", "s") == {
            "a": False,
            "b": False,
            "r": False,
            "s": True,
        }
        await until(pilot, lambda: console.seen(ComparisonFinished))
        await until(pilot, lambda: isinstance(console.app.screen, RunDetailsScreen))
        await console.app.workers.wait_for_complete()
        await pilot.pause()
        comparison = console.seen(ComparisonFinished)[0].comparison
        assert [run.side for run in comparison.runs] == list("ABBA")
        assert len(console.seen(ComparisonRunFinished)) == 4
        assert comparison.outcome.left_open == 0 and len(comparison.pairs) == 2
        history = console.app.history
        assert len(history) == 5
        a_runs, b_runs = history.groups[1], history.groups[2]
        assert [r.number for r in a_runs.runs] == [2, 5]
        assert [r.number for r in b_runs.runs] == [3, 4]
        assert a_runs.config == history.get(1).config and b_runs.config.maxconnections == 4
        assert history.comparison(a_runs) is comparison is history.comparison(b_runs)
        assert cell(console, 1, "label").startswith("same as baseline: noise ±")
        assert cell(console, 2, "label") == "maxconnections 2→4"
        screen = console.app.screen
        assert isinstance(screen, RunDetailsScreen) and screen.group.number == b_runs.number
        text = " ".join(screen_text(console.app).split())
        assert "A/B comparison (A/B/B/A, 4 runs ABBA, 2 pairs" in text
        assert "changing maxconnections 2→4" in text and "each B run against the A run" in text
        verdicts = screen.query_one("#comparison")
        verdicts.scroll_visible(top=True, animate=False)  # the table, scrolled into the dialog
        await pilot.pause()
        text = " ".join(screen_text(console.app).split())
        assert "figure A B B vs A verdict" in text
        for figure in COMPARED:
            difference = comparison.differences[figure.name]
            change, _ = change_cells(difference, figure)
            assert f"{change} {difference.verdict}" in text, figure.name
        assert any(t.startswith("A/B done, 2 pairs: ") for t in console.log.texts("run_finished"))
        assert "A/B: every connection was closed" in console.log.texts("info")


async def test_ab_stops_on_s_and_closes_its_pools(sqlite_dsn):
    console = Console(sqlite_dsn, workload=replace(SHORT_BURST, duration_s=30.0, hold_ms=1.0))
    async with console.run() as pilot:
        await pilot.pause()
        console.slider("duration_s").set_value(1.0)
        await burst(pilot, console)
        await pilot.press("m")
        console.slider("duration_s").set_value(30.0)  # B: a 30 s workload
        await pilot.pause()
        await pilot.press("a")
        await until(pilot, lambda: console.seen(ComparisonRunFinished))  # A's first run
        await until(pilot, lambda: "A/B run 2/12" in console.status())
        # B's measured run has begun: its fresh pool's unmeasured run first sends no sample
        sampled = len(console.seen(StatsSampled))
        await until(pilot, lambda: len(console.seen(StatsSampled)) > sampled)
        await pilot.press("s")
        await until(pilot, lambda: console.seen(ComparisonFinished))
        await idle(pilot, console)
        comparison = console.seen(ComparisonFinished)[0].comparison
        assert comparison.outcome.stopped and comparison.outcome.left_open == 0
        assert len(comparison.runs) == 2 and comparison.runs[1].result.stopped
        assert not comparison.differences  # no pair completed: nothing judged
        assert console.app.screen is console.app.tune  # no verdicts to open
        assert "A/B: no pair of runs completed: nothing to compare" in console.log.texts(
            "run_finished"
        )
        assert console.log.texts("stopped")[-1] == "A/B stopped after 2 of 12 runs"
        assert enabled(console, "s", "a") == {"s": False, "a": True}


async def test_the_runs_table_refits_its_columns_when_resized_during_an_ab(sqlite_dsn):
    """While an A/B runs its rows grow (a group's band line, new groups) until the table
    scrolls, and the terminal may be resized: after every run and every resize the columns
    are fitted to the width that is left beside the scrollbar, none cut (a fit read off the
    rows shown before the new ones left the scrollbar no room, and the last column went
    under it)."""
    from pooltui.tui.widgets.history_table import HistoryTable

    console = Console(sqlite_dsn, PoolConfig(maxconnections=2, maxcached=2), SHORT_BURST)
    async with console.run(size=(120, 36)) as pilot:
        await prepare_ab(pilot, console, 4)
        await set_slider(pilot, console, "repeats", 2)  # two rounds: A/B/B/A/A/B/B/A
        table = console.app.tune.query_one(HistoryTable)

        def uncut() -> bool:
            return 0 < table.virtual_size.width <= table.scrollable_content_region.width

        shown, scrolled = [], False
        await pilot.press("a")
        # the rows scroll from the third run on at 120x36; then narrow, then wide
        for run, size in ((1, None), (2, None), (3, (80, 24)), (5, (160, 48)), (8, None)):
            await until(pilot, lambda run=run: len(console.seen(ComparisonRunFinished)) >= run)
            await pilot.pause()
            scrolled = scrolled or table.virtual_size.height > table.size.height
            assert uncut(), (run, table.virtual_size, table.scrollable_content_region)
            if size is not None and console.app.tune.running == "comparison":
                before = table.columns_shown
                await pilot.resize_terminal(*size)
                await until(pilot, lambda before=before: table.columns_shown != before, timeout=5)
                await pilot.pause()
                assert uncut(), (size, table.virtual_size, table.scrollable_content_region)
                shown.append(table.columns_shown)
        assert scrolled  # the rows came to scroll: the case the fit got wrong
        assert len(shown) == 2 and "label" not in shown[0] and "label" in shown[1]
        await until(pilot, lambda: console.seen(ComparisonFinished))
        await console.app.workers.wait_for_complete()
