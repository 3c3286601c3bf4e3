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


async def test_a_fleet_run_keeps_its_processes_in_history_exports_and_details(capsys, sqlite_dsn):
    """A fleet's result says how many processes produced it: the history's row says
    "processes 1→2" against a one-process baseline (never "same as baseline": two pools serve
    twice the threads), a repeat of the console's pool does not join the fleet's group, and
    the run details, the console's CSV / JSON export and `pooltui history --json` show it."""
    import csv
    import io
    import json

    from pooltui.cli import main
    from pooltui.core.history_store import stored_runs, to_csv, to_json
    from pooltui.tui.screens.run_details import RunDetailsScreen
    from pooltui.tui.widgets.history_table import HistoryTable

    from .helpers import burst, screen_text

    console = Console(sqlite_dsn, PoolConfig(maxconnections=2), Workload(threads=2, duration_s=0.5))
    async with console.run(size=(160, 48)) as pilot:
        await pilot.pause()
        await burst(pilot, console)
        await pilot.press("m")
        await _fleet_of(pilot, console, 2)
        await burst(pilot, console)
        history = console.app.history
        first, fleet = history.records
        assert (first.processes, fleet.processes) == (1, 2)
        assert fleet.result.processes == 2 and len(fleet.result.locks) == 2
        assert history.changes(history.group(2)) == "processes 1→2"
        # the same sliders in the console's own pool are no repeat of the fleet's run
        assert history.repeatable(fleet.config, fleet.workload, fleet.target, 1) is None
        assert history.repeatable(fleet.config, fleet.workload, fleet.target, 2) == 2
        runs = stored_runs(history)
        assert [run.processes for run in runs] == [1, 2]
        assert [row["processes"] for row in csv.DictReader(io.StringIO(to_csv(runs)))] == [
            "1",
            "2",
        ]
        assert [run["processes"] for run in json.loads(to_json(runs))] == [1, 2]
        table = console.app.tune.query_one(HistoryTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("2"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(console.app.screen, RunDetailsScreen))
        await pilot.pause()
        assert "processes 2 1" in " ".join(screen_text(console.app).split())

    assert main(["history", "--json"]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert [run["processes"] for run in kept] == [1, 2]
    assert main(["history"]) == 0
    assert "(2 processes)" in capsys.readouterr().out
