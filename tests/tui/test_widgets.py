"""The console widgets driven through a real Textual app (run_test + Pilot), plus one snapshot."""

from __future__ import annotations

import pytest
from textual import on
from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import Button

from pooltui.tui.widgets import Gauge, Slider, StatCounters, TrendPlot
from pooltui.tui.widgets.gauge import GaugeRow
from pooltui.tui.widgets.gauge_stack import GaugeStack
from pooltui.tui.widgets.live_panel import wait_text
from pooltui.tui.widgets.trend_plot import BRAILLE_BASE, BRAILLE_DOTS, format_number

from .widget_demo import WidgetDemo


class Harness(App[None]):
    """Hosts the widgets under test and records every Slider.Changed that reaches the app."""

    def __init__(self, *widgets: Widget) -> None:
        super().__init__()
        self._widgets = widgets
        self.changes: list[tuple[str | None, float]] = []
        self.b_changes: list[float] = []

    def compose(self) -> ComposeResult:
        yield from self._widgets

    def on_slider_changed(self, message: Slider.Changed) -> None:
        self.changes.append((message.control.id, message.value))

    @on(Slider.Changed, "#b")
    def only_b(self, message: Slider.Changed) -> None:
        self.b_changes.append(message.value)


def line(widget: Widget, y: int = 0) -> str:
    return widget.render_line(y).text


def track_of(slider: Slider) -> tuple[int, int, int]:
    """(track start, track width, thumb column) read from the rendered row."""
    text = line(slider)
    chars = Slider.TRACK_FILL + Slider.THUMB + Slider.TRACK_EMPTY
    start = min(text.index(c) for c in chars if c in text)
    width = sum(text.count(c) for c in chars)
    return start, width, text.index(Slider.THUMB)


# ---------------------------------------------------------------- Slider


async def test_slider_keys_move_by_step_and_clamp():
    slider = Slider(0, 100, 50, step=5, label="max", id="a")
    app = Harness(slider)
    async with app.run_test(size=(60, 3)) as pilot:
        slider.focus()
        await pilot.press("right")
        assert slider.value == 50 + 5
        await pilot.press("left", "left")
        assert slider.value == 50 - 5
        await pilot.press("shift+right")
        assert slider.value == 45 + 10 * 5
        await pilot.press("pageup")  # would be 145: clamped
        assert slider.value == slider.maximum
        await pilot.press("pagedown")
        assert slider.value == 100 - 10 * 5
        await pilot.press("shift+left", "shift+left")
        assert slider.value == slider.minimum
        await pilot.press("end")
        assert slider.value == 100
        await pilot.press("home")
        assert slider.value == 0
        await pilot.pause()
        assert [v for _, v in app.changes] == [55, 50, 45, 95, 100, 50, 0, 100, 0]
        assert all(isinstance(v, int) for _, v in app.changes)


async def test_slider_float_steps_snap_without_drift():
    slider = Slider(0.0, 1.0, 0.0, step=0.1, id="f")
    app = Harness(slider)
    async with app.run_test(size=(60, 3)) as pilot:
        slider.focus()
        await pilot.press("right", "right", "right")
        # 0.1 + 0.1 + 0.1 is 0.30000000000000004 in plain floats
        assert slider.value == 0.3
        assert isinstance(slider.value, float)
        assert line(slider).endswith("0.3")
        slider.value = 0.74
        assert slider.value == 0.7
        slider.value = 5
        assert slider.value == 1.0
        slider.value = -3
        assert slider.value == 0.0


async def test_slider_clamps_and_snaps_integers():
    clamped = Slider(1, 10, 50, id="c")
    uneven = Slider(0, 10, 10, step=3, id="u")
    app = Harness(clamped, uneven)
    async with app.run_test(size=(60, 4)):
        assert clamped.value == 10
        assert uneven.value == 9  # 10 is not on the grid 0, 3, 6, 9: snapped down
        uneven.value = 4.4
        assert uneven.value == 3 and isinstance(uneven.value, int)
        uneven.value = 4.6
        assert uneven.value == 6
        clamped.set_range(1, 5)
        assert clamped.value == 5


async def test_slider_changed_not_on_mount_only_on_real_change():
    a = Slider(0, 10, 3, id="a")
    b = Slider(0, 10, 7, id="b")
    app = Harness(a, b)
    async with app.run_test(size=(60, 4)) as pilot:
        await pilot.pause()
        assert app.changes == []  # the initial values posted nothing
        a.focus()
        a.value = 3  # same value: nothing
        await pilot.press("right")
        await pilot.pause()
        assert app.changes == [("a", 4)]
        a.set_value(9)  # profile loading: silent
        await pilot.pause()
        assert a.value == 9 and app.changes == [("a", 4)]
        b.set_value(2, notify=True)
        b.value = 5
        await pilot.pause()
        assert app.changes == [("a", 4), ("b", 2), ("b", 5)]
        assert app.b_changes == [2, 5]  # @on(..., "#b") matches through .control


async def test_slider_click_on_track_jumps_and_drag_moves():
    slider = Slider(0, 200, 0, label="conns", id="a")
    app = Harness(slider, Button("other"))
    async with app.run_test(size=(60, 6)) as pilot:
        start, width, thumb = track_of(slider)
        assert thumb == start
        target = start + width // 3
        await pilot.click(slider, offset=(target, 0))
        await pilot.pause()
        _, _, thumb = track_of(slider)
        assert thumb == target  # the thumb lands where the track was clicked
        expected = (target - start) / (width - 1) * 200
        assert abs(slider.value - expected) <= 200 / (width - 1)
        assert slider.has_focus
        clicked = slider.value

        await pilot.click(slider, offset=(1, 0))  # on the label: no jump
        assert slider.value == clicked

        await pilot.mouse_down(slider, offset=(target, 0))
        await pilot.hover(slider, offset=(start + 2, 0))
        assert track_of(slider)[2] == start + 2
        await pilot.hover(slider, offset=(59, 3))  # dragged past the end, off the widget
        await pilot.mouse_up(slider, offset=(59, 0))
        await pilot.pause()
        assert slider.value == slider.maximum
        assert app.mouse_captured is None
        assert app.changes[0] == ("a", clicked)
        assert app.changes[-1] == ("a", 200)


async def test_slider_click_on_the_thumb_keeps_an_off_grid_value():
    slider = Slider(0, 1000, 345, id="a")  # 1000 values over ~50 cells: 345 is between cells
    app = Harness(slider)
    async with app.run_test(size=(60, 3)) as pilot:
        _, _, thumb = track_of(slider)
        await pilot.click(slider, offset=(thumb, 0))
        await pilot.pause()
        assert slider.value == 345
        assert app.changes == []


async def test_slider_disabled_ignores_keys_and_mouse_and_greys_out():
    enabled = Slider(0, 10, 5, id="e")
    disabled = Slider(0, 10, 5, id="d", disabled=True)
    app = Harness(enabled, disabled)
    async with app.run_test(size=(60, 4)) as pilot:
        disabled.focus()
        await pilot.press("right", "end", "home")
        start, width, _ = track_of(disabled)
        await pilot.click(disabled, offset=(start + width - 1, 0))
        await pilot.pause()
        assert disabled.value == 5
        assert not disabled.has_focus
        assert all(name != "d" for name, _ in app.changes)
        grey = disabled.get_visual_style("slider--fill").foreground
        assert grey != enabled.get_visual_style("slider--fill").foreground


async def test_slider_focus_highlights_track():
    slider = Slider(0, 10, 5, id="a")
    app = Harness(slider, Button("other"))
    async with app.run_test(size=(60, 4)) as pilot:
        app.query_one(Button).focus()
        await pilot.pause()
        blurred = slider.get_visual_style("slider--fill").foreground
        slider.focus()
        await pilot.pause()
        assert slider.get_visual_style("slider--fill").foreground != blurred


async def test_slider_label_unit_and_format():
    slider = Slider(0, 5000, 1500, step=100, label="maxusage", unit="uses", format=",d", id="a")
    app = Harness(slider)
    async with app.run_test(size=(60, 3)):
        text = line(slider)
        assert text.startswith("maxusage ")
        assert text.endswith("1,500 uses")
        assert len(text) == 60


# ---------------------------------------------------------------- Gauge


def bar_of(gauge: Gauge) -> str:
    text = line(gauge)
    return text[text.index("[") + 1 : text.index("]")]


async def test_gauge_full_and_back():
    gauge = Gauge("open", maximum=8)
    app = Harness(gauge)
    async with app.run_test(size=(40, 3)) as pilot:
        gauge.update(8)
        await pilot.pause()
        assert line(gauge).endswith("8/8")
        assert Gauge.EMPTY not in bar_of(gauge)
        assert gauge.row.is_full
        full = gauge.get_component_rich_style("gauge--bar-full")
        assert full != gauge.get_component_rich_style("gauge--bar")  # drawn as an alarm
        gauge.update(7)
        await pilot.pause()
        assert not gauge.row.is_full
        assert Gauge.EMPTY in bar_of(gauge)
        gauge.update(1, maximum=1000)  # tiny but non-zero still shows one cell
        await pilot.pause()
        assert bar_of(gauge).count(Gauge.FILL) == 1
        assert line(gauge).endswith("1/1000")


async def test_gauge_unlimited_shows_infinity():
    gauge = Gauge("idle")
    app = Harness(gauge)
    async with app.run_test(size=(40, 3)) as pilot:
        gauge.update(5, mark=3)
        await pilot.pause()
        assert line(gauge).endswith("5/∞")
        assert gauge.has_class("-unlimited") and not gauge.row.is_full
        assert Gauge.FILL not in bar_of(gauge) and Gauge.MARK not in bar_of(gauge)


async def test_gauge_of_an_age_shows_its_text_and_keeps_the_bar():
    """The oldest-waiter gauge: milliseconds against the peak, said with their unit."""
    gauge = Gauge("oldest wait", label_width=11)
    app = Harness(gauge)
    async with app.run_test(size=(50, 3)) as pilot:
        gauge.update(1200, 4900, 0, text="1.2/4.9 s")
        await pilot.pause()
        assert line(gauge).endswith("] 1.2/4.9 s")
        assert abs(bar_of(gauge).count(Gauge.FILL) / len(bar_of(gauge)) - 1200 / 4900) < 0.1
        assert not gauge.row.is_full
        gauge.update(4900, 4900, 0, text="4.9/4.9 s")  # the longest wait is going on now
        await pilot.pause()
        assert gauge.row.is_full and Gauge.EMPTY not in bar_of(gauge)
        gauge.update(3)  # no text: the counts again
        await pilot.pause()
        assert line(gauge).endswith("3/4900")


def test_oldest_wait_text_picks_one_unit_for_both():
    assert wait_text(1234.0, 4960.0) == "1.2/5.0 s"
    assert wait_text(0.31, 40.0) == "0.3/40.0 ms"  # the peak's decimals for both
    assert wait_text(1.74, 310.0) == "2/310 ms"
    assert wait_text(0.31, 4.0) == "0.31/4.00 ms"
    assert wait_text(0.0, 0.0) == "0.00/0.00 ms"


async def test_gauge_mark_sits_between_cells_at_its_fraction():
    gauge = Gauge("open", maximum=8)
    app = Harness(gauge)
    async with app.run_test(size=(50, 3)) as pilot:
        gauge.update(6, mark=4)
        await pilot.pause()
        bar = bar_of(gauge)
        assert bar.count(Gauge.MARK) == 1
        cells = bar.replace(Gauge.MARK, "")
        assert abs(bar.index(Gauge.MARK) / len(cells) - 4 / 8) <= 1 / len(cells)
        assert abs(cells.count(Gauge.FILL) / len(cells) - 6 / 8) <= 1 / len(cells)
        assert cells == Gauge.FILL * cells.count(Gauge.FILL) + Gauge.EMPTY * cells.count(
            Gauge.EMPTY
        )
        gauge.update(6, mark=8)  # a mark at the limit means nothing: not drawn
        await pilot.pause()
        assert Gauge.MARK not in bar_of(gauge)
        gauge.update(6, mark=2)
        gauge.update(6, mark=0)
        await pilot.pause()
        assert Gauge.MARK not in bar_of(gauge)


async def test_a_gauge_stack_draws_its_rows_as_gauges_do_and_leaves_out_a_hidden_one():
    """The live panel's gauges are rows of one widget (fewer widgets per frame): each row is
    drawn as a Gauge of the same width is, a calm row is not drawn as an alarm when full, and
    a hidden row takes no line."""
    rows = [
        ("open", GaugeRow("open", maximum=8, label_width=11)),
        ("shared", GaugeRow("shared", maximum=2, label_width=11)),
        ("idle", GaugeRow("idle", maximum=4, label_width=11, calm_when_full=True)),
    ]
    stack = GaugeStack(rows)
    alone = Gauge("open", maximum=8, label_width=11)
    app = Harness(stack, alone)
    async with app.run_test(size=(50, 6)) as pilot:
        stack.update("open", 6, mark=4)
        alone.update(6, mark=4)
        stack.update("idle", 4)
        stack.show("shared", False)
        await pilot.pause()
        assert stack.size.height == 2 and [r.label for r in stack.rows] == ["open", "idle"]
        assert line(stack, 0) == line(alone) == stack.text("open")
        assert line(stack, 1) == stack.text("idle") and stack.row("idle").is_full
        calm = [s.style for s in stack.render_line(1) if GaugeRow.FILL in s.text]
        assert calm == [stack.get_component_rich_style("gauge--bar")]  # full, yet no alarm
        stack.update("open", 8)
        await pilot.pause()
        alarm = {s.style for s in stack.render_line(0) if GaugeRow.FILL in s.text}
        assert alarm == {
            stack.get_component_rich_style("gauge--bar-full")
        }  # both sides of the mark
        stack.show("shared", True)
        await pilot.pause()
        assert stack.size.height == 3 and line(stack, 1) == stack.text("shared")


def test_a_gauge_row_says_whether_its_drawing_changed():
    """What spares a repaint: a sample that changes nothing a row draws repaints nothing."""
    row = GaugeRow("waiting", maximum=64)
    assert row.update(3) and not row.update(3)
    assert not row.update(3, maximum=64) and row.update(3, maximum=32)
    assert row.update(3, text="3 ms") and not row.update(3, text="3 ms") and row.update(3)
    assert row.set_value_width(9) and not row.set_value_width(9)


# ---------------------------------------------------------------- TrendPlot


def dots(plot: TrendPlot) -> list[list[bool]]:
    """Decode the braille rows back into a grid of lit dots, [y][x]."""
    rows = [line(plot, y) for y in range(1, plot.size.height)]
    grid = [[False] * (plot.size.width * 2) for _ in range(len(rows) * 4)]
    for row, text in enumerate(rows):
        for column, char in enumerate(text):
            bits = ord(char) - BRAILLE_BASE if char != " " else 0
            for dy in range(4):
                for dx in range(2):
                    grid[row * 4 + dy][column * 2 + dx] = bool(bits & BRAILLE_DOTS[dy][dx])
    return grid


async def test_trend_plot_keeps_bounded_memory():
    plot = TrendPlot("p95", "ms", capacity=50)
    app = Harness(plot)
    async with app.run_test(size=(40, 6)) as pilot:
        for value in range(1000):
            plot.push(value)
        await pilot.pause()
        assert len(plot.values) == plot.capacity == 50
        assert plot.values == tuple(float(v) for v in range(950, 1000))
        assert plot._values.maxlen == 50
        plot.set_values(range(500))
        assert len(plot.values) == 50 and plot.last == 499


async def test_trend_plot_renders_known_series():
    plot = TrendPlot("acquire", "ms")
    app = Harness(plot)
    async with app.run_test(size=(40, 5)) as pilot:
        width, height = plot.size
        half = width  # samples per half of the plot (two dot columns per cell)
        plot.set_values([0.0] * half + [10.0] * half)
        await pilot.pause()
        assert line(plot).startswith("acquire")
        assert line(plot).endswith("10.0 ms") and "max 10.0" in line(plot)
        grid = dots(plot)
        bottom, top = len(grid) - 1, 0
        assert all(grid[bottom][x] for x in range(half))  # the zeros on the bottom row
        assert all(grid[top][x] for x in range(half, 2 * half))  # the tens on the top row
        column_of_step = [grid[y][half] for y in range(len(grid))]
        assert all(column_of_step)  # the jump is joined by a vertical run of dots
        assert not any(grid[top][x] for x in range(half))
        plot.clear()
        await pilot.pause()
        assert line(plot).endswith("no data")
        assert all(line(plot, y).strip() == "" for y in range(1, height))


async def test_trend_plot_of_a_count_shows_whole_numbers():
    plot = TrendPlot("waiting", whole=True)
    app = Harness(plot)
    async with app.run_test(size=(40, 5)) as pilot:
        plot.set_values([0, 2, 4, 3])
        await pilot.pause()
        assert line(plot).endswith("last 3  max 4")


async def test_trend_plot_after_a_run_gives_the_runs_figure_until_the_next_run():
    plot = TrendPlot("throughput", "req/s")
    app = Harness(plot)
    async with app.run_test(size=(60, 5)) as pilot:
        plot.set_values([5_000, 11_763])  # the last window ran fast
        plot.show_run(5_744)
        await pilot.pause()
        assert line(plot).endswith("run 5,744 req/s  max 11,763 req/s")
        plot.clear()  # a new run
        plot.push(900)
        await pilot.pause()
        assert line(plot).endswith("last 900 req/s  max 900 req/s")


@pytest.mark.parametrize(
    ("value", "text"),
    [(9.994, "9.99"), (9.996, "10.0"), (99.94, "99.9"), (99.96, "100"), (1234.5, "1,234")],
)
def test_a_plot_number_has_the_decimals_of_what_it_rounds_to(value, text):
    assert format_number(value) == text


async def test_an_interval_without_a_figure_is_a_gap_and_a_dash_not_a_zero():
    """A stalled interval (nothing completed) has no latency: the header says "-" where it
    said "0.00 ms", the max ignores it, and the plot draws no dot for it and no join over it."""
    plot = TrendPlot("p95", "ms")
    app = Harness(plot)
    async with app.run_test(size=(40, 5)) as pilot:
        plot.push(None)
        await pilot.pause()
        assert line(plot).endswith("no data") and plot.last is None and plot.maximum is None
        for value in (4.0, 8.0, None):
            plot.push(value)
        await pilot.pause()
        assert line(plot).endswith("last -  max 8.00 ms")
        assert plot.last is None and plot.maximum == 8.0
        grid = dots(plot)
        columns = len(grid[0])
        assert not any(row[columns - 1] for row in grid)  # the gap: nothing in its column
        assert any(row[columns - 2] for row in grid)  # the 8.0 before it
        plot.push(2.0)
        await pilot.pause()
        assert line(plot).endswith("last 2.00 ms  max 8.00 ms")
        grid = dots(plot)
        assert not any(row[columns - 2] for row in grid)  # no join drawn across the gap
        assert sum(row[columns - 1] for row in grid) == 1  # the 2.0, one dot: nothing to join


async def test_trend_plot_fewer_samples_are_right_aligned():
    plot = TrendPlot("throughput", "req/s")
    app = Harness(plot)
    async with app.run_test(size=(20, 5)) as pilot:
        plot.push(3)
        plot.push(3)
        await pilot.pause()
        grid = dots(plot)
        lit = {x for row in grid for x, on_ in enumerate(row) if on_}
        assert lit == {len(grid[0]) - 2, len(grid[0]) - 1}


# ---------------------------------------------------------------- StatCounters


async def test_counters_highlight_what_increased():
    counters = StatCounters(["connects", "closes", "rejections"])
    app = Harness(counters)
    async with app.run_test(size=(60, 5)) as pilot:
        counters.update({"connects": 8, "closes": 0, "rejections": 2})
        await pilot.pause()
        assert counters.changed == frozenset()  # the first update is the baseline
        assert not counters.has_class("-changed")
        counters.update({"connects": 12, "closes": 0, "rejections": 1})  # a reset is no rise
        await pilot.pause()
        assert counters.changed == {"connects"}
        assert counters.has_class("-changed")
        text = "\n".join(line(counters, y) for y in range(counters.size.height))
        assert "connects" in text and "12" in text and "rejections" in text
        changed_color = counters.get_visual_style("statcounters--changed").rich_style.color
        value_color = counters.get_visual_style("statcounters--value").rich_style.color
        assert changed_color != value_color
        styles = {seg.text.strip(): seg.style.color for seg in counters.render_line(0)}
        assert styles["12"] == changed_color
        assert styles["0"] == value_color
        counters.update({"connects": 12})
        await pilot.pause()
        assert counters.changed == frozenset() and not counters.has_class("-changed")


async def test_counters_wrap_into_a_grid_when_narrow():
    names = ["connects", "connect_errors", "closes", "rejections", "query_errors"]
    counters = StatCounters(names)
    app = Harness(counters)
    async with app.run_test(size=(30, 8)) as pilot:
        counters.update(dict.fromkeys(names, 1234))
        await pilot.pause()
        rows = [line(counters, y) for y in range(counters.size.height)]
        assert counters.size.height > 1
        assert all(len(row.rstrip()) <= 30 for row in rows)
        text = "\n".join(rows)
        assert all(counters.label_for(n) in text for n in names)
        assert text.count("1,234") == len(names)


# ---------------------------------------------------------------- snapshot


def test_widget_demo_snapshot(snap_compare):
    assert snap_compare(WidgetDemo(), terminal_size=(80, 12))
