"""The console's fleet: f shows the processes setting, a burst then runs in that many processes
(each with its own pool), the panel shows each process beside the server's count, and stop and
ctrl+q end every process and close every connection."""

from __future__ import annotations

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.probes import count_groups
from pooltui.tui.messages import BurstFinished, FleetFinished, FleetSampled
from pooltui.tui.widgets.fleet_panel import FleetPanel
from pooltui.tui.widgets.slider import Slider

from .helpers import Console, until

PINNED = PoolConfig(mincached=2, maxcached=2, maxconnections=2)


async def _fleet_of(pilot, console: Console, processes: int) -> FleetPanel:
    panel = console.app.tune.query_one(FleetPanel)
    assert panel.processes == 1  # hidden: bursts run in the console's own pool
    await pilot.press("f")
    slider = panel.query_one("#processes", Slider)
    slider.focus()
    await pilot.pause()
    for _ in range(processes - 1):
        await pilot.press("right")
    assert panel.processes == processes
    return panel


async def test_a_fleet_burst_shows_each_process_and_the_server_count_and_stops_on_s(pg_dsn):
    console = Console(pg_dsn, PINNED, Workload(threads=2, duration_s=30.0, hold_ms=20.0))
    async with console.run() as pilot:
        await pilot.pause()
        panel = await _fleet_of(pilot, console, 2)
        await pilot.press("b")

        def counted() -> bool:
            samples = console.seen(FleetSampled)
            if not samples:
                return False
            last = samples[-1].sample
            return last.server == 4 and all(x is not None for x in last.samples)

        await until(pilot, counted)
        sample = console.seen(FleetSampled)[-1].sample
        assert sample.open_gauges == 4 and len(sample.pids) == 2
        rows = str(panel.query_one("#fleet-rows").render())
        assert "server counts 4" in rows and "p1 pid" in rows
        await pilot.press("s")
        await until(pilot, lambda: console.seen(BurstFinished))
        fleet = console.seen(FleetFinished)[0].fleet
        assert fleet.stopped and fleet.left.sessions == 0 and fleet.left.verified
        result = console.seen(BurstFinished)[0].result
        assert result.stopped and result.duration_s < 30.0
        assert len(result.per_thread) == 4  # both processes' threads, merged
        assert count_groups(console.target, [(p.tag, set()) for p in fleet.processes]) == [0, 0]
        assert console.app.tune.running is None


async def test_ctrl_q_mid_fleet_ends_every_process_and_connection(pg_dsn):
    console = Console(pg_dsn, PINNED, Workload(threads=2, duration_s=60.0, hold_ms=20.0))
    async with console.run() as pilot:
        await pilot.pause()
        await _fleet_of(pilot, console, 3)
        await pilot.press("b")
        await until(pilot, lambda: any(m.sample.server == 6 for m in console.seen(FleetSampled)))
        pids = console.seen(FleetSampled)[-1].sample.pids
        await pilot.press("ctrl+q")
        await until(pilot, lambda: console.app.return_code is not None)
    assert console.app.return_code == 0
    fleet = console.seen(FleetFinished)[0].fleet
    assert fleet.left.sessions == 0 and fleet.left.verified
    assert all(p.ok for p in fleet.processes) and {p.pid for p in fleet.processes} == set(pids)
    assert count_groups(console.target, [(p.tag, set()) for p in fleet.processes]) == [0, 0, 0]


async def test_f_hands_the_focus_to_the_processes_and_back(sqlite_dsn):
    """After f the next arrow key set a pool slider (the focus stayed in the parameters): the
    fleet's one control takes the focus, and hiding the panel gives it back."""
    console = Console(sqlite_dsn)
    async with console.run(size=(80, 24)) as pilot:
        await pilot.pause()
        before = console.panel.config
        panel = console.app.tune.query_one(FleetPanel)
        await pilot.press("f")
        await until(pilot, lambda: console.app.focused is panel.query_one("#processes", Slider))
        await pilot.press("right")
        assert panel.processes == 2 and console.panel.config == before
        await pilot.press("f")
        await pilot.pause()
        focused = console.app.focused
        assert focused is not None and panel not in focused.ancestors_with_self
