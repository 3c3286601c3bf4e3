"""A fixed-data demo of the console widgets, used by the SVG snapshot test.

Run it by hand with ``python -m textual run tests/tui/widget_demo.py`` (or plain python)
to look at the widgets; every value here is a constant, so the snapshot never drifts.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical

from pooltui.tui.widgets import Gauge, Slider, StatCounters, TrendPlot

# A fixed throughput series: a ramp, a plateau and a dip, as a burst would draw.
# fmt: off
THROUGHPUT = [0, 40, 120, 260, 410, 520, 580, 600, 610, 605, 598, 612, 590, 420, 300, 310,
              450, 560, 600, 615, 608, 611, 603, 598, 240, 80, 20, 0, 0, 150, 380, 560,
              600, 604, 609, 612, 598, 601, 606, 610, 607, 603, 600, 598, 611, 609, 604, 606]
# fmt: on

COUNTERS_BEFORE = {"connects": 8, "closes": 0, "rejections": 2, "connect_errors": 0}
COUNTERS_AFTER = {"connects": 12, "closes": 4, "rejections": 2, "connect_errors": 0}


class WidgetDemo(App[None]):
    """Two sliders, two gauges, a trend plot and counters with constant data."""

    CSS = """
    #top { height: 6; }
    #controls { width: 1fr; border: round $panel; padding: 0 1; }
    #plot { width: 1fr; height: 6; border: round $panel; padding: 0 1; }
    #counters { border: round $panel; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            with Vertical(id="controls"):
                yield Slider(
                    0,
                    32,
                    8,
                    label="maxconnections",
                    label_width=14,
                    value_width=7,
                    id="maxconnections",
                )
                yield Slider(
                    0.0,
                    50.0,
                    12.5,
                    step=0.5,
                    label="hold",
                    unit="ms",
                    label_width=14,
                    value_width=7,
                    id="hold",
                )
                yield Gauge("open", maximum=8, label_width=14, value_width=5, id="open")
                yield Gauge(
                    "checked out", maximum=8, label_width=14, value_width=5, id="checked-out"
                )
            yield TrendPlot("throughput", "req/s", capacity=120, id="plot")
        yield StatCounters(list(COUNTERS_BEFORE), id="counters")

    def on_mount(self) -> None:
        self.query_one("#open", Gauge).update(6, mark=4)
        self.query_one("#checked-out", Gauge).update(8)
        self.query_one(TrendPlot).set_values(THROUGHPUT)
        counters = self.query_one(StatCounters)
        counters.update(COUNTERS_BEFORE)
        counters.update(COUNTERS_AFTER)


if __name__ == "__main__":
    WidgetDemo().run()
