"""Reusable console widgets, one module each; they render deterministically for snapshots."""

from pooltui.tui.widgets.gauge import Gauge, GaugeRow
from pooltui.tui.widgets.gauge_stack import GaugeStack
from pooltui.tui.widgets.slider import Slider
from pooltui.tui.widgets.stat_counters import StatCounters
from pooltui.tui.widgets.trend_plot import TrendPlot

__all__ = ["Gauge", "GaugeRow", "GaugeStack", "Slider", "StatCounters", "TrendPlot"]
