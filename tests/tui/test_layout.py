"""The console as a person uses it: focus and keys, and every terminal size (80x24, 120x36,
160x48): what must stay visible, aligned and reachable with a key.

No run here needs a server except the shared gauge's (psycopg shares connections, PyMySQL
cannot); the runs the tables show are fixed results fed through the screen's own handlers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Label, Switch

from pooltui.core.config import PoolConfig
from pooltui.tui.app import PoolTuiApp
from pooltui.tui.messages import BurstFinished
from pooltui.tui.screens.tune import WrappingFooter, footer_rows
from pooltui.tui.widgets.event_log import EventLog
from pooltui.tui.widgets.history_table import HistoryTable
from pooltui.tui.widgets.live_panel import GAUGES, LivePanel
from pooltui.tui.widgets.param_panel import ParamPanel
from pooltui.tui.widgets.slider import Slider

from .helpers import SHORT_BURST, SMALL_POOL, Console, screen_text, until
from .test_tune import _show_fixed_live_data, fixed_result, frozen_clock, snapshot_app

__all__ = ["frozen_clock"]  # the fixture, imported to be used here

# what a user must still see at 80x24 after a burst (and the deltas under them)
MUST_SHOW = ("number", "throughput", "p95", "acquire_p95", "acquire_max", "errors")


async def ready(pilot: Pilot) -> PoolTuiApp:
    app = pilot.app
    assert isinstance(app, PoolTuiApp)
    await until(pilot, lambda: app.tune.query(HistoryTable))
    await pilot.pause()
    return app


async def runs_table(pilot: Pilot) -> HistoryTable:
    """The history table showing the app's history, laid out."""
    app = await ready(pilot)
    table = app.tune.query_one(HistoryTable)
    table.show(app.history)
    await pilot.pause()
    return table


# --- focus and keys -------------------------------------------------------------------------


async def test_every_modal_hands_focus_back_to_where_it_was(sqlite_dsn):
    console = Console(sqlite_dsn)
    console.app.history.add(SMALL_POOL, SHORT_BURST, fixed_result(2400.0, 2.5))
    async with console.run() as pilot:
        tune = console.app.tune
        tune.query_one(HistoryTable).show(console.app.history)
        # export, profiles, help, connect, the wizard, a run's details (enter on the table)
        for key, where in (
            ("e", "#history"),
            ("p", "#param-threads"),
            ("question_mark", "#history"),
            ("c", "#param-maxcached"),
            ("d", "#events"),
            ("enter", "#history"),
        ):
            widget = tune.query_one(where)
            widget.focus()
            await pilot.pause()
            await pilot.press(key)
            await until(pilot, lambda: console.app.screen is not tune)
            modal = console.app.screen
            assert console.app.focused is not None and console.app.focused.screen is modal
            await pilot.press("escape")
            await until(pilot, lambda: console.app.screen is tune)
            await pilot.pause()
            assert console.app.focused is widget, (key, console.app.focused)


async def test_letters_typed_in_an_input_are_text_and_escape_makes_them_keys_again(sqlite_dsn):
    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        tune = console.app.tune
        field = tune.query_one("#param-ping_query", Input)
        field.focus()
        await pilot.pause()
        assert "b" not in tune.active_bindings  # not in the footer: b is a letter now
        assert tune.active_bindings["escape"].binding.action == "leave_field"
        await pilot.press("m", "b", "c")
        assert field.value == "mbc"
        assert tune.running is None and console.app.screen is tune
        await pilot.press("escape")
        assert isinstance(console.app.focused, ParamPanel)
        assert tune.active_bindings["b"].enabled  # a key again, and in the footer
        assert "escape" not in tune.active_bindings


async def test_each_panel_has_its_own_key_at_80x24(sqlite_dsn):
    console = Console(sqlite_dsn)
    async with console.run(size=(80, 24)) as pilot:
        tune = console.app.tune
        await pilot.press("2")
        assert isinstance(console.app.focused, HistoryTable)
        await pilot.press("3")
        events = tune.query_one(EventLog)
        assert console.app.focused is events
        dash = tune.query_one("#dash")
        assert events.region.bottom <= dash.region.bottom  # scrolled into view
        await pilot.press("4")
        panel = tune.panel
        findings = tune.query_one("#findings")
        await pilot.pause()
        assert console.app.focused is panel
        assert panel.scroll_y > 0 and panel.region.contains(findings.region.x, findings.region.y)
        await pilot.press("1")
        assert isinstance(console.app.focused, Slider)
        assert "1-4" in console.app.get_key_display(tune.active_bindings["1"].binding)
        assert tune.query_one("#params").border_title == "1 Parameters"


async def test_switches_say_their_state_in_words(sqlite_dsn):
    console = Console(sqlite_dsn, pool=replace(SMALL_POOL, blocking=True, reset=False))
    async with console.run() as pilot:
        tune = console.app.tune
        assert str(tune.query_one("#state-blocking", Label).render()) == "on"
        assert str(tune.query_one("#state-reset", Label).render()) == "off"
        tune.query_one("#param-blocking", Switch).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert str(tune.query_one("#state-blocking", Label).render()) == "off"
        assert console.panel.config.blocking is False


async def test_help_shows_one_footer_and_every_panel_key(sqlite_dsn):
    console = Console(sqlite_dsn)
    async with console.run(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert console.app.tune.query_one(WrappingFooter).display is False
        page = str(console.app.screen.query_one("#help").source)  # type: ignore[attr-defined]
        assert "1 parameters, 2 runs, 3 events, 4 findings" in page
        await pilot.press("escape")
        await pilot.pause()
        assert console.app.tune.query_one(WrappingFooter).display is True


async def test_a_run_greys_its_keys_in_the_footer_without_rebuilding_it(sqlite_dsn):
    console = Console(sqlite_dsn, workload=replace(SHORT_BURST, duration_s=30.0))
    async with console.run() as pilot:
        await pilot.pause()
        footer = console.app.tune.query_one(WrappingFooter)
        drawn = list(footer.query("FooterKey"))

        def key(action: str) -> Any:
            return next(k for k in footer.query("FooterKey") if getattr(k, "action", "") == action)

        def greyed(action: str) -> bool:
            return bool(key(action).has_class("-disabled"))

        assert not greyed("burst") and greyed("stop")
        await pilot.press("b")
        await until(pilot, lambda: console.app.tune.running == "burst")
        await pilot.pause()
        assert greyed("burst") and not greyed("stop")
        assert list(footer.query("FooterKey")) == drawn  # the same keys, not recomposed
        await pilot.press("s")  # the run stops within a request
        await until(pilot, lambda: console.app.tune.running is None)
        await console.app.workers.wait_for_complete()
        await pilot.pause()
        assert not greyed("burst") and greyed("stop")


def test_the_footer_takes_as_many_rows_as_its_keys_need():
    assert footer_rows([10] * 5, 80) == 1
    assert footer_rows([12] * 12, 80) == 2  # 6 columns of 12
    assert footer_rows([12] * 13, 80) == 3  # 7 would be 84 columns


# --- every terminal size --------------------------------------------------------------------


def _table_fits(table: HistoryTable) -> None:
    """No column cut: each is as wide as its widest line, and all fit the table."""
    widths = [column.get_render_width(table) for column in table.ordered_columns]
    assert sum(widths) <= table.size.width
    for column in table.ordered_columns:
        if column.key.value == "label":
            continue
        lines = [
            line
            for row in table.ordered_rows
            for line in str(table.get_cell(row.key, column.key)).splitlines()
        ]
        longest = max([len(str(column.label)), *(len(line) for line in lines)])
        assert column.get_render_width(table) >= longest + 2 * table.cell_padding, column.key


async def test_at_80x24_the_runs_table_keeps_the_figures_that_matter():
    async with snapshot_app().run_test(size=(80, 24)) as pilot:
        table = await runs_table(pilot)
        assert set(MUST_SHOW) <= set(table.columns_shown)
        _table_fits(table)
        # packed, no column is wasted: the first (#, flush left) has no blank of its own (the
        # figure after it is right-aligned behind one) and the scrollbar takes one column
        assert table.cell_padding == 0 and table.styles.scrollbar_size_vertical == 1
        numbers = [
            line
            for row in table.ordered_rows
            for line in str(table.get_cell(row.key, "number")).splitlines()
        ]
        number = next(c for c in table.ordered_columns if c.key.value == "number")
        assert number.get_render_width(table) == max(len(line) for line in [*numbers, "#"])
        second = table.get_row_at(1)  # a row under the baseline: its deltas are shown
        assert len(str(second[table.get_column_index("throughput")]).splitlines()) >= 2


async def test_at_120x36_seven_digit_errors_cut_no_column_and_the_baseline_stays_pinned():
    app = snapshot_app()
    for _ in range(4):  # more runs than the table has rows for
        app.history.add(SMALL_POOL, SHORT_BURST, fixed_result(2000.0, 3.0, errors=1_116_042))
    async with app.run_test(size=(120, 36)) as pilot:
        table = await runs_table(pilot)
        _table_fits(table)
        assert "label" in table.columns_shown and "errors" in table.columns_shown
        assert table.fixed_rows == 1
        assert str(table.get_row_at(0)[0]).startswith("1")  # the baseline, first and pinned
        table.move_cursor(row=table.row_count - 1)  # scroll to the newest
        await pilot.pause()
        assert table.scroll_y > 0 and table.fixed_rows == 1


async def test_the_columns_follow_a_resize():
    async with snapshot_app().run_test(size=(160, 48)) as pilot:
        table = await runs_table(pilot)
        wide = table.columns_shown
        assert len(wide) == 11  # every column at 160
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        narrow = table.columns_shown
        assert set(MUST_SHOW) <= set(narrow) < set(wide)
        _table_fits(table)


async def test_gauge_bars_line_up_with_two_digit_limits(sqlite_dsn):
    console = Console(
        sqlite_dsn,
        pool=PoolConfig(maxconnections=16, maxcached=8),
        workload=replace(SHORT_BURST, threads=64),
    )
    async with console.run() as pilot:
        await pilot.pause()
        gauges = console.app.tune.query_one(LivePanel).gauges
        names = [name for name, _label in GAUGES if console.gauge(name).display]
        ends = {gauges.text(name).index("]") for name in [*names, "oldest_wait"]}
        assert len(names) == 5 and len(ends) == 1, ends


async def test_a_shared_gauge_shows_when_the_pool_shares(sqlite_dsn):
    console = Console(sqlite_dsn)  # sqlite3's threadsafety lets DBUtils share
    async with console.run() as pilot:
        await pilot.pause()
        shared = console.gauge("shared")
        assert shared.display is False  # maxshared 0
        await pilot.press("1")
        slider = console.slider("maxshared")
        slider.value = 2
        await pilot.pause()
        assert shared.display is True and shared.maximum == 2
        await pilot.press("w")  # a pool built with it: its snapshots carry the limit
        await until(pilot, lambda: console.app.tune.running is None)
        await console.app.workers.wait_for_complete()
        await pilot.pause()
        pool = console.app.session.pool
        assert pool is not None and pool.snapshot().maxshared == 2
        assert shared.display is True and shared.value_text().endswith("/2")


async def finish_a_run_after_three(pilot: Any, app: Any) -> HistoryTable:
    """The Runs table showing three kept runs, then a fourth (2,620 req/s) finished: the table,
    drawn."""
    table = app.tune.query_one(HistoryTable)
    table.show(app.history)
    await pilot.pause()
    result = fixed_result(2620.0, 2.3)
    app.tune.post_message(BurstFinished(0, SMALL_POOL, SHORT_BURST, result))
    await until(pilot, lambda: len(app.history) == 4)
    await pilot.pause()
    await pilot.pause()
    return table


async def test_a_run_just_finished_is_in_view_at_80x24(sqlite_dsn):
    """At 24 rows the dashboard scrolls and the Runs table starts below its fold: with older
    runs kept (history survives a restart), the run that just finished must still be seen."""
    console = Console(sqlite_dsn)
    for extra in range(3):
        console.app.history.add(SMALL_POOL, SHORT_BURST, fixed_result(1100.0 + extra, 2.5))
    async with console.run(size=(80, 24)) as pilot:
        app = await ready(pilot)
        table = await finish_a_run_after_three(pilot, app)
        dash = app.tune.query_one("#dash")
        row_top = table.region.y + 1 + table.cursor_row - int(table.scroll_y)  # under the header
        assert table.cursor_row == table.row_count - 1
        assert dash.region.y <= row_top < dash.region.bottom
        assert "2,620" in screen_text(app)


async def test_the_new_run_shows_under_a_pinned_baseline_with_the_fleet_shown(sqlite_dsn):
    """120x36 with the fleet panel open squeezed the Runs table to its minimum: the pinned
    baseline filled it and the run that just finished was never in view."""
    console = Console(sqlite_dsn)
    for extra in range(3):
        console.app.history.add(SMALL_POOL, SHORT_BURST, fixed_result(1100.0 + extra, 2.5))
    console.app.history.mark_baseline(1)
    async with console.run(size=(120, 36)) as pilot:
        app = await ready(pilot)
        await pilot.press("f")
        await pilot.pause()
        table = await finish_a_run_after_three(pilot, app)
        dash = app.tune.query_one("#dash")
        inner = table.content_region
        row = table._get_row_region(table.cursor_row)  # in the table's virtual space
        top = inner.y + row.y - int(table.scroll_y)
        assert table.cursor_row == table.row_count - 1
        assert inner.y <= top < inner.bottom, (table.size, row, table.scroll_y)
        assert dash.region.y <= top < dash.region.bottom


async def test_ping_query_says_what_empty_means_for_the_driver(sqlite_dsn):
    """sqlite3, psycopg and pyodbc have no ping(): an empty ping_query checks nothing there,
    so the field must not promise "driver ping()"; the hint fits the field at 80x24."""
    from pooltui.core.drivers.base import driver_facts

    console = Console(sqlite_dsn)
    async with console.run(size=(80, 24)) as pilot:
        app = await ready(pilot)
        field = app.tune.query_one("#param-ping_query", Input)
        assert not app.session.target.facts.can_ping
        assert "ping()" not in field.placeholder
        assert len(field.placeholder) <= field.content_region.width
        app.tune.panel.set_facts(driver_facts("pymysql"))  # a driver whose ping() works
        await pilot.pause()
        assert field.placeholder == "driver ping()"


async def test_event_lines_rewrap_after_a_resize(sqlite_dsn):
    console = Console(sqlite_dsn)
    text = "a long line " * 12
    async with console.run(size=(120, 36)) as pilot:
        log = console.log

        def fits() -> bool:
            """Every row within the log's width: wrapped, not written whole and cut."""
            width = log.scrollable_content_region.width
            return all(strip.cell_length <= width for strip in log.lines)

        log.add("info", text)
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        assert fits()
        narrow = len(log.lines)
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        await pilot.pause()
        assert len(log.lines) < narrow
        assert fits()
        assert log.texts()[-1] == text
        shown = "".join(strip.text for strip in log.lines).replace(" ", "")
        assert shown.endswith(text.replace(" ", ""))


# --- snapshots after a burst ----------------------------------------------------------------


async def _after_a_burst(pilot: Pilot) -> None:
    """The fixed history, then one burst's result through the screen's own handler."""
    await _show_fixed_live_data(pilot)
    app = pilot.app
    assert isinstance(app, PoolTuiApp)
    result = fixed_result(2620.0, 2.3)
    app.tune.post_message(BurstFinished(0, SMALL_POOL, SHORT_BURST, result))
    await until(pilot, lambda: len(app.history) == 7)
    await pilot.pause()


def test_snapshot_after_a_burst_80x24(snap_compare, frozen_clock):
    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=_after_a_burst)


def test_snapshot_after_a_burst_160x48(snap_compare, frozen_clock):
    assert snap_compare(snapshot_app(), terminal_size=(160, 48), run_before=_after_a_burst)
