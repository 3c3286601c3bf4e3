"""The live view of the pool: gauges against the limits, counters, and trend plots of a run.

Fed on the UI thread only (the tune screen's sample handler and its between-runs timer). A
widget whose figures did not change is not repainted: during a saturating burst most gauges sit
still (checked out 8/8, idle 0), and every repaint skipped leaves the GIL to the burst.
"""

from __future__ import annotations

import math
from time import perf_counter

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget

from pooltui.core.load.results import Sample
from pooltui.core.numbers import figure
from pooltui.core.pool.stats import PoolStats
from pooltui.tui.widgets.gauge import GaugeRow
from pooltui.tui.widgets.gauge_stack import GaugeStack
from pooltui.tui.widgets.stat_counters import StatCounters
from pooltui.tui.widgets.trend_plot import TrendPlot, format_number

GAUGES = (
    ("checked_out", "checked out"),
    ("idle", "idle"),
    ("shared", "shared"),  # shown only when the pool shares (maxshared > 0 after DBUtils)
    ("open", "open"),
    ("overflow", "overflow"),
    ("waiting", "waiting"),
)
COUNTERS = ("checkouts", "connects", "closes", "reconnects", "rejections", "errors")
PLOTS = (
    ("throughput", "req/s", ""),
    ("latency", "p95", "ms"),
    ("acquire", "acq p95", "ms"),  # short: four plots share 120 columns
    ("waiting", "waiting", ""),  # the waiting gauge over time: a queue that never drains
)
# The oldest waiter (PgBouncer's maxwait): its bar is the current age against the peak since
# the run began, but against at least this, so a healthy run's sub-millisecond waits stay an
# empty bar instead of a full red one
OLDEST_WAIT_FLOOR_MS = 100
# the plots and the counters are drawn at most this often during a run (the gauges at every
# sample): 2.5 draws a second. The counters are running totals a glance reads, and at 5 draws a
# second they were the costliest widget of a burst's frames (~2 ms each)
PLOT_DRAW_S = 0.4


# the oldest wait's text at its widest (``99.9/99.9 ms``, ``59.9/59.9 s``): every gauge's
# value column is this wide or wider, so the bars of the stack line up
WAIT_TEXT_WIDTH = 12


def value_width(*limits: int) -> int:
    """The value column every gauge of the stack shares: ``max/max`` of the widest limit, and
    the oldest wait's text."""
    return max(WAIT_TEXT_WIDTH, *(2 * len(str(limit)) + 1 for limit in limits))


def wait_text(age_ms: float, peak_ms: float) -> str:
    """``1.2/5.0 s`` or ``0.3/40.0 ms``: the oldest wait now and its peak, one unit and the
    peak's decimals for both (``0.00/34.7`` and ``1.74/310`` mixed them in one cell)."""
    if peak_ms >= 1000.0:
        return f"{age_ms / 1000.0:.1f}/{peak_ms / 1000.0:.1f} s"
    peak = format_number(peak_ms)
    decimals = len(peak.partition(".")[2])
    return f"{age_ms:.{decimals}f}/{peak} ms"


# A sample whose interval is shorter than this share of the sample interval is not plotted: a
# rate over a sliver (the run's last moments after the previous tick) says nothing, yet one such
# point (618 req/s in a run of 17.6) set the plot's max. The engine never ticks sooner mid-run.
SLIVER_SHARE = 0.5


def plottable(sample: Sample, sample_interval_s: float) -> bool:
    """Whether ``sample``'s rates belong on the plots (its interval is not a sliver)."""
    return sample.interval_s >= SLIVER_SHARE * sample_interval_s


class LivePanel(Widget):
    """Two bordered boxes: ``#live`` (gauges and counters) and ``#plots`` (trend plots)."""

    # Not scoped: the narrow and short variants follow the screen's breakpoint classes
    # (-narrow < 100 columns, -short < 30 rows), so every rule names LivePanel itself.
    SCOPED_CSS = False
    DEFAULT_CSS = """
    LivePanel {
        height: auto;
        & #live {
            height: auto;
            border: round $primary 45%;
            border-title-color: $accent;
        }
        & #gauges { padding: 0 1; }
        & #counters { width: 24; padding: 0 1; border-left: vkey $primary 45%; }
        & #plots {
            height: 7;
            border: round $primary 45%;
            border-title-color: $accent;
            border-subtitle-color: $warning;
            & TrendPlot { margin: 0 1; height: 5; }
        }
    }
    /* narrow (80 columns): counters under the gauges, three plots (four would be 9 cells
       each: 18 samples, headers cut); the waiting gauge stays */
    .-narrow LivePanel {
        & #live { height: auto; layout: vertical; }
        & #counters { width: 1fr; height: auto; border-left: none; }
        & #plots TrendPlot { margin: 0 1 0 0; }
        & #plot-waiting { display: none; }
    }
    /* short (24 rows): compact boxes */
    .-short LivePanel {
        & #plots { height: 5; }
        & #plots TrendPlot { height: 3; }
    }
    .-short.-narrow LivePanel #live { height: auto; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._shown: dict[str, tuple[int, ...]] = {}
        self._shown_wait = ""
        self._value_width = 0
        self._plot_widgets: list[TrendPlot] = []
        self._gauge_stack: GaugeStack | None = None
        self._pool_box: Widget | None = None
        self._plots_drawn_at = -math.inf
        self._plots_pending = False
        self._counters_pending: dict[str, float] | None = None
        self._client_cpu_pending: str | None = None  # a live figure for the next second

    def compose(self) -> ComposeResult:
        with Horizontal(id="live"):
            yield GaugeStack(
                (
                    (
                        name,
                        GaugeRow(
                            label,
                            label_width=11,
                            value_width=WAIT_TEXT_WIDTH,
                            # a full idle cache or a pool open to its limit is no alarm
                            calm_when_full=name in ("idle", "open"),
                        ),
                    )
                    for name, label in (*GAUGES, ("oldest_wait", "oldest wait"))
                ),
                id="gauges",
            )
            yield StatCounters(COUNTERS, id="counters")
        with Horizontal(id="plots"):
            for name, title, unit in PLOTS:
                yield TrendPlot(title, unit, id=f"plot-{name}", whole=name == "waiting")

    def on_mount(self) -> None:
        self._box().border_title = "Pool"
        self.gauges.show("shared", False)  # until a pool shares
        self.query_one("#plots").border_title = "Live"

    def show_stats(
        self, stats: PoolStats, threads: int, errors: int, *, running: bool = False
    ) -> None:
        """Gauges against maxconnections / maxcached (waiting against the threads), counters.
        ``running``: a sample of a run, whose counters wait for the plots' next draw."""
        limit, cached, shares = stats.maxconnections, stats.maxcached, stats.maxshared
        shown = {
            "checked_out": (stats.checked_out, limit, cached),
            "idle": (stats.idle, cached or limit, 0),
            "shared": (stats.shared, shares, 0),
            "open": (stats.open, limit, cached),
            "overflow": (stats.overflow, max(limit - cached, 0) if cached else 0, 0),
            "waiting": (stats.waiting, threads, 0),
            "counters": (
                stats.checkouts,
                stats.connects,
                stats.closes,
                stats.reconnects,
                stats.rejections,
                errors,
            ),
        }
        width = value_width(limit, cached, threads, shares)
        gauges = self.gauges
        with self.app.batch_update():
            if width != self._value_width:
                self._value_width = width
                gauges.set_value_width(width)
            if self._shown.get("shared", (0, -1, 0))[1] != shares:
                gauges.show("shared", shares > 0)
            for name, values in shown.items():
                if self._shown.get(name) == values:
                    continue
                self._shown[name] = values
                if name == "counters":
                    self._counters_pending = dict(zip(COUNTERS, values, strict=True))
                    if not running:
                        self._flush_counters()
                else:
                    gauges.update(name, *values)
            self._show_oldest_wait(stats)

    def _show_oldest_wait(self, stats: PoolStats) -> None:
        """The age of the longest current wait against its peak since the interval began."""
        age, peak = stats.oldest_wait_ms, stats.peak_oldest_wait_ms
        text = wait_text(age, peak)
        if self._shown_wait == text:
            return
        self._shown_wait = text
        self.gauges.update(
            "oldest_wait", round(age), max(round(peak), OLDEST_WAIT_FLOOR_MS), 0, text=text
        )

    def push(
        self,
        throughput_rps: float,
        p95_ms: float | None,
        p95_acquire_ms: float | None,
        waiting: int,
    ) -> None:
        """One sample of a run onto the four plots, drawn at most every PLOT_DRAW_S: during a
        saturating burst each repaint of the plots takes the GIL from the workers, and a plot
        one sample behind for 0.2 s loses nothing (``flush_plots`` draws the last ones). A
        latency None: nothing completed in the interval, so it has none (a gap, not a 0)."""
        values = (throughput_rps, p95_ms, p95_acquire_ms, waiting)
        for plot, value in zip(self._plots(), values, strict=True):
            plot.push(value, draw=False)
        self._plots_pending = True
        now = perf_counter()
        if now - self._plots_drawn_at >= PLOT_DRAW_S:
            self.flush_plots(now)

    def flush_plots(self, now: float | None = None) -> None:
        """Draw the samples pushed since the last draw, and the counters held since then (a
        run's last sample is never held)."""
        self._flush_counters()
        if self._plots_pending:
            self._plots_pending = False
            self._plots_drawn_at = perf_counter() if now is None else now
            for plot in self._plots():
                plot.draw()

    def _flush_counters(self) -> None:
        if self._counters_pending is not None:
            self.query_one(StatCounters).update(self._counters_pending)
            self._counters_pending = None

    @property
    def gauges(self) -> GaugeStack:
        """The pool's gauges, one row each (``GAUGES`` and the oldest wait)."""
        if self._gauge_stack is None:  # looked up once, as the plots are
            self._gauge_stack = self.query_one("#gauges", GaugeStack)
        return self._gauge_stack

    def _box(self) -> Widget:
        """The pool's box (``#live``), whose border carries the run's time and CPU note."""
        if self._pool_box is None:
            self._pool_box = self.query_one("#live")
        return self._pool_box

    def _plots(self) -> list[TrendPlot]:
        if not self._plot_widgets:  # looked up once: four query_one calls per sample add up
            self._plot_widgets = [
                self.query_one(f"#plot-{name}", TrendPlot) for name, _title, _unit in PLOTS
            ]
        return self._plot_widgets

    def show_client_cpu(self, cores: float | None, *, live: bool = False) -> None:
        """Say on the pool's box that the client's CPU is the run's ceiling (None: it is not).
        On a box, not in the status line: at 80 columns that is cut after the run's time. On
        the pool's box, not the plots': its gauges repaint every sample anyway, while a
        changed plots' box repainted the four plots between their draws (~4 ms a frame).

        ``live`` (a run's sample): a new figure waits for the box's next whole second
        (show_elapsed), as the time does: the figure moves on every sample, and each change
        repainted the whole box with its border, five times a second. Its coming and going
        show at once."""
        text = f"client CPU-bound: {figure(cores, 'cores')} cores" if cores is not None else ""
        box = self._box()
        if live and bool(text) == bool(box.border_subtitle):
            self._client_cpu_pending = text
            return
        self._client_cpu_pending = None
        if box.border_subtitle != text:
            box.border_subtitle = text

    def show_elapsed(self, text: str) -> None:
        """The running time on the pool's box title ("" when nothing runs), in whole seconds:
        a changed title repaints the whole box, and at every sample (0.2 s) that was a quarter
        of a burst's painting (bench/ui_responsiveness.py). A client-CPU figure held since the
        last second goes up with it, in the same repaint."""
        box = self._box()
        title = f"Pool · {text}" if text else "Pool"
        if box.border_title != title:
            with self.app.batch_update():
                box.border_title = title
                pending, self._client_cpu_pending = self._client_cpu_pending, None
                if pending is not None and box.border_subtitle != pending:
                    box.border_subtitle = pending

    def show_run(
        self, throughput_rps: float, p95_ms: float | None, p95_acquire_ms: float | None
    ) -> None:
        """The finished run's own figures on the plots' headers, the Runs row's figures (see
        TrendPlot.show_run); the waiting plot keeps its last count (the queue at the end: its
        peak is already the header's max). The next run clears them."""
        values = (throughput_rps, p95_ms, p95_acquire_ms, None)
        for plot, value in zip(self._plots(), values, strict=True):
            plot.show_run(value)

    def clear_plots(self) -> None:
        """A new run starts with empty plots."""
        self._plots_pending = False
        for plot in self.query(TrendPlot).results(TrendPlot):
            plot.clear()
