"""Issue 12, "state that lasts": the console's runs outlive it. A second console on the same
data directory lists the first one's runs with their date, note and baseline; a run is deleted
after a confirmation, annotated, made the baseline by its number; runs export as CSV and JSON;
a damaged history file is set aside with a message, never a crash."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from textual.widgets import Input

from pooltui.core.history_store import default_path
from pooltui.tui.screens.confirm import ConfirmScreen
from pooltui.tui.screens.export import ExportScreen
from pooltui.tui.screens.prompt import PromptScreen
from pooltui.tui.widgets.history_table import HistoryTable

from .helpers import Console, burst, screen_text, until


def cell(console: Console, number: int, column: str) -> str:
    """Run ``number``'s cell in ``column`` (a column key), wherever the table shows its row."""
    return str(console.app.tune.query_one(HistoryTable).get_cell(str(number), column))


async def test_runs_notes_and_the_baseline_last_across_two_consoles(sqlite_dsn: str) -> None:
    first = Console(sqlite_dsn)
    async with first.run() as pilot:
        await burst(pilot, first)
        await burst(pilot, first)
        table = first.app.tune.query_one(HistoryTable)
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(first.app.screen, PromptScreen))
        await pilot.press(*"before the index", "enter")
        await until(pilot, lambda: first.app.history.note(1) == "before the index")
        await pilot.press("B")
        await until(pilot, lambda: isinstance(first.app.screen, PromptScreen))
        await pilot.press("9", "enter")  # no run 9: said in place, the dialog stays
        await pilot.pause()
        assert isinstance(first.app.screen, PromptScreen)
        assert "There is no run 9" in screen_text(first.app)
        first.app.screen.query_one(Input).value = ""
        await pilot.press("2", "enter")
        await until(pilot, lambda: first.app.history.baseline == 2)
        kept = [r.result.throughput_rps for r in first.app.history.records]

    second = Console(sqlite_dsn)
    async with second.run(size=(160, 48)) as pilot:  # room for every column, "when" too
        await pilot.pause()
        history = second.app.history
        assert [r.result.throughput_rps for r in history.records] == kept
        assert history.baseline == 2 and history.note(1) == "before the index"
        assert "before the index" in cell(second, 1, "label")
        assert ":" in cell(second, 1, "when")  # today's runs show their time
        assert "base" in cell(second, 2, "throughput")
        await burst(pilot, second)
        assert [r.number for r in history.records] == [1, 2, 3]


async def test_delete_asks_first_and_numbers_are_not_reused(sqlite_dsn: str) -> None:
    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        await burst(pilot, console)
        await burst(pilot, console)
        table = console.app.tune.query_one(HistoryTable)
        table.focus()
        table.move_cursor(row=1)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(console.app.screen, ConfirmScreen))
        await pilot.press("n")  # the safe answer: nothing goes
        await until(pilot, lambda: not isinstance(console.app.screen, ConfirmScreen))
        assert table.row_count == 2
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(console.app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: table.row_count == 1)
        assert [r.number for r in console.app.history.records] == [1]
        await burst(pilot, console)
        assert [r.number for r in console.app.history.records] == [1, 3]

    again = Console(sqlite_dsn)
    async with again.run() as pilot:
        await pilot.pause()
        assert [r.number for r in again.app.history.records] == [1, 3]


async def test_runs_export_as_csv_and_json(sqlite_dsn: str, tmp_path: Path) -> None:
    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        await burst(pilot, console)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(console.app.screen, ExportScreen))
        screen = console.app.screen
        assert isinstance(screen, ExportScreen)
        await pilot.press("v")
        await until(pilot, lambda: screen.format == "csv")
        file_input = screen.query_one("#file", Input)
        assert file_input.value.endswith("-runs.csv")
        rows = list(csv.DictReader(io.StringIO(screen.text() or "")))
        assert rows[0]["number"] == "1" and rows[0]["target"] == console.target.redacted
        await pilot.press("j")
        await until(pilot, lambda: screen.format == "json")
        assert file_input.value.endswith("-runs.json")
        listed = json.loads(screen.text() or "")
        assert (
            listed[0]["figures"]["throughput"]
            == console.app.history.records[0].figures()["throughput"]
        )
        path = tmp_path / "runs.json"
        file_input.value = str(path)
        await pilot.press("ctrl+s")
        await until(pilot, path.is_file)
        assert json.loads(path.read_text()) == listed


async def test_a_damaged_history_is_set_aside_with_a_message(sqlite_dsn: str) -> None:
    path = default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"certainly not SQLite " * 100)
    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        await until(pilot, lambda: any("set aside" in text for _, text in console.notes))
        await burst(pilot, console)
        assert len(console.app.history) == 1
    assert [p for p in path.parent.iterdir() if ".damaged-" in p.name]
    assert b"certainly not" not in path.read_bytes()


async def test_an_ab_comparison_and_its_verdicts_last_across_two_consoles(
    sqlite_dsn: str, capsys
) -> None:
    """The comparison `a` ran is kept beside its runs: a second console opens the same verdicts
    in the run details, and `pooltui history` lists it."""
    from pooltui.cli import main
    from pooltui.core.config import PoolConfig
    from pooltui.tui.messages import ComparisonFinished
    from pooltui.tui.screens.run_details import RunDetailsScreen

    from .helpers import SHORT_BURST, prepare_ab

    first = Console(sqlite_dsn, PoolConfig(maxconnections=2, maxcached=2), SHORT_BURST)
    async with first.run() as pilot:
        await prepare_ab(pilot, first, 4)
        await pilot.press("a")
        await until(pilot, lambda: first.seen(ComparisonFinished))
        await until(pilot, lambda: isinstance(first.app.screen, RunDetailsScreen))
        await first.app.workers.wait_for_complete()
        await pilot.pause()
        shown_first = " ".join(screen_text(first.app).split())
        comparison = first.seen(ComparisonFinished)[0].comparison
        b_group = first.app.screen.group.number

    second = Console(sqlite_dsn)
    async with second.run() as pilot:
        await pilot.pause()
        history = second.app.history
        assert [r.number for r in history.records] == [1, 2, 3, 4, 5]
        a_runs, b_runs = history.group(2), history.group(3)
        assert a_runs is not None and b_runs is not None and b_runs.number == b_group
        assert history.comparison(a_runs) == comparison == history.comparison(b_runs)
        assert history.comparison(history.group(1)) is None  # the baseline ran alone
        second.app.tune.show_details(b_runs)
        await until(pilot, lambda: isinstance(second.app.screen, RunDetailsScreen))
        await pilot.pause()
        shown_second = " ".join(screen_text(second.app).split())
    start = shown_first.index("A/B comparison (A/B/B/A")
    verdicts = shown_first[start : start + 400]
    assert "A/B comparison (A/B/B/A, 4 runs ABBA, 2 pairs" in shown_second
    assert verdicts in shown_second  # the same words and figures, after the restart

    assert main(["history", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [run["comparison"] and run["comparison"]["side"] for run in listed] == [
        None,
        "A",
        "B",
        "B",
        "A",
    ]
    assert main(["history", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["ab"] for row in rows] == ["", "1", "1", "1", "1"]
    assert rows[2]["ab.changes"] == "maxconnections 2→4"


async def test_a_run_on_another_target_shows_why_it_has_no_delta(
    sqlite_dsn: str, tmp_path: Path
) -> None:
    """A delta across two targets is meaningless: the row of a run on another database than
    the baseline's has "-" for each delta, and the table (also at 80 columns, where the
    "changed" column is left out) and the run details say "other target"."""
    import sqlite3

    from pooltui.core.history import OTHER_TARGET
    from pooltui.core.targets import parse_dsn
    from pooltui.tui.screens.run_details import RunDetailsScreen

    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    console = Console(sqlite_dsn)
    async with console.run(size=(80, 24)) as pilot:
        await burst(pilot, console)
        await pilot.press("m")
        await until(pilot, lambda: console.app.history.baseline == 1)
        await pilot.press("c")
        await until(pilot, lambda: console.app.screen.query("#dsn"))
        field = console.app.screen.query_one("#dsn", Input)
        field.value = f"sqlite:///{other}"
        await pilot.press("ctrl+u")
        await until(pilot, lambda: console.app.session.target == parse_dsn(f"sqlite:///{other}"))
        await burst(pilot, console)
        table = console.app.tune.query_one(HistoryTable)
        assert "label" not in table.columns_shown  # 80 columns: the foot must say why
        for column in ("throughput", "p95", "acquire_p95", "errors"):
            lines = cell(console, 2, column).split("\n")
            assert lines[-1] == "-", (column, lines)
            assert "%" not in cell(console, 2, column)
        assert "base" in cell(console, 1, "throughput")
        assert table.border_subtitle == f"no Δ for #2: {OTHER_TARGET}"
        assert f"no Δ for #2: {OTHER_TARGET}" in screen_text(console.app)
        table.focus()
        table.move_cursor(row=table.get_row_index("2"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(console.app.screen, RunDetailsScreen))
        await pilot.pause()
        text = screen_text(console.app)
        assert OTHER_TARGET in text and "no Δ" in text
