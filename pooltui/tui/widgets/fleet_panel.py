"""The fleet: how many processes a burst runs in, and, while a fleet runs, one row per process
(its pid, throughput, open connections, the server's count of its sessions) and the totals
with the server's count beside the gauges' sum.

Hidden until the tune screen's ``f`` shows it: with processes at 1 a burst runs in the
console's own process as always. Fed on the UI thread only (the screen's handlers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from pooltui.core.numbers import ms, rate
from pooltui.tui.widgets.slider import Slider

if TYPE_CHECKING:
    from pooltui.core.fleet import FleetResult, FleetSample

MAX_PROCESSES = 16  # the slider's end: a console on one machine, not a load cluster


def fleet_rows(sample: FleetSample) -> Text:
    """The per-process rows and the totals of a running fleet (deterministic text)."""
    text = Text()
    per_server = sample.server_per_process
    for index, (s, alive) in enumerate(zip(sample.samples, sample.alive, strict=True)):
        pid = sample.pids[index] if index < len(sample.pids) else None
        server = per_server[index] if index < len(per_server) else None
        name = f"p{index}" + (f" pid {pid}" if pid else "")
        if not alive:
            text.append(f"{name:<14} ended", style="dim")
        elif s is None:
            text.append(f"{name:<14} starting")
        else:
            text.append(
                f"{name:<14} {s.throughput_rps:>9,.0f} req/s  open {s.stats.open:>3}  "
                f"waiting {s.stats.waiting:>3}"
            )
        if server is not None:
            text.append(f"  server {server:>3}")
        text.append("\n")
    total = "-" if sample.server is None else str(sample.server)
    text.append(
        f"{'fleet':<14} {sample.throughput_rps:>9,.0f} req/s  open {sample.open_gauges:>3}  "
        f"server counts {total}",
        style="bold",
    )
    return text


def fleet_summary(fleet: FleetResult) -> Text:
    """A finished fleet: the merged figures, what each process did, what the server keeps."""
    text = Text()
    merged = fleet.result
    for p in fleet.processes:
        r = p.result
        if p.error or r is None:
            text.append(f"{p.name}: {p.error}\n", style="red")
        else:
            text.append(
                f"{p.name}: {rate(r.throughput_rps, ' req/s')}, p95 {ms(r.latency.p95)}, "
                f"peak open {r.pool.peak_open}\n"
            )
    if merged is not None:
        text.append(
            f"fleet: {rate(merged.throughput_rps, ' req/s')}, p95 {ms(merged.latency.p95)} "
            f"(merged), server counted up to {fleet.peak_server}; ",
            style="bold",
        )
    text.append(fleet.left.sentence())
    return text


class FleetPanel(Vertical):
    """The processes slider and the fleet's rows."""

    DEFAULT_CSS = """
    FleetPanel {
        height: auto;
        display: none;
        border: round $primary 40%;
        padding: 0 1;
        &.-shown { display: block; }
        & > #fleet-rows { height: auto; }
    }
    """

    def compose(self) -> ComposeResult:
        yield Slider(1, MAX_PROCESSES, 1, label="processes", id="processes", label_width=10)
        yield Static(
            "each process builds its own pool with the sliders' settings and runs the threads",
            id="fleet-rows",
            markup=False,
        )

    def on_mount(self) -> None:
        self.border_title = "Fleet"

    @property
    def processes(self) -> int:
        """How many processes the next burst runs in (1 while the panel is hidden)."""
        if not self.has_class("-shown"):
            return 1
        return int(self.query_one("#processes", Slider).value)

    def toggle(self) -> bool:
        """Show or hide the panel; True when it is shown now."""
        self.toggle_class("-shown")
        return self.has_class("-shown")

    def show_sample(self, sample: FleetSample) -> None:
        self.query_one("#fleet-rows", Static).update(fleet_rows(sample))

    def show_result(self, fleet: FleetResult) -> None:
        self.query_one("#fleet-rows", Static).update(fleet_summary(fleet))
