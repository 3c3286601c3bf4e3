"""The history on disk: a real run kept and read back equal, across store instances; notes,
the baseline and deletions last; a damaged file is set aside, never a crash; no password is
written; `pooltui history` lists the runs as text, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from pooltui.cli import main
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.history_store import (
    DATA_DIR_ENV,
    SCHEMA_VERSION,
    HistoryStore,
    StoredHistory,
    data_dir,
    default_path,
)
from pooltui.core.load import engine
from pooltui.core.pool import InstrumentedPool
from pooltui.core.targets import parse_dsn

CONFIG = PoolConfig(maxconnections=2, maxcached=2)
WORKLOAD = Workload(threads=2, duration_s=0.3, query="SELECT count(*) FROM items")


@pytest.fixture
def runs(sqlite_dsn: str) -> list[engine.RunResult]:
    """Two real runs against a SQLite file (different thread counts)."""
    out = []
    for threads in (2, 3):
        with InstrumentedPool(parse_dsn(sqlite_dsn), CONFIG) as pool:
            out.append(engine.run(pool, replace(WORKLOAD, threads=threads)))
    return out


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite"


def test_the_data_dir_is_the_isolated_one_or_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert data_dir() == Path(os.environ["XDG_DATA_HOME"]) / "pooltui"  # conftest isolates it
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "mine"))
    assert default_path() == tmp_path / "mine" / "history.sqlite"


def test_a_run_is_read_back_equal_by_another_store(
    runs: list[engine.RunResult], store_path: Path
) -> None:
    history = StoredHistory(HistoryStore(store_path))
    first = history.add(CONFIG, runs[0].workload, runs[0])
    second = history.add(CONFIG, runs[1].workload, runs[1])
    repeat = history.add(CONFIG, runs[1].workload, runs[1], repeats=second.number)
    history.annotate(second.number, "  three   threads ")
    history.mark_baseline(first.number)
    history.store.close()

    again = StoredHistory(HistoryStore(store_path))
    assert [r.number for r in again.records] == [1, 2, 3]
    for kept, read in zip(history.records, again.records, strict=True):
        assert replace(read, at=kept.at) == kept  # the whole RunResult, dataclasses, enums
        assert read.result.histograms.latency.count == kept.result.histograms.latency.count
        assert read.result.timeout_what_if() == kept.result.timeout_what_if()
        assert read.at == pytest.approx(kept.at, abs=1.0)
    assert [g.n for g in again.groups] == [1, 2]
    assert again.note(repeat.group) == "three threads"
    assert again.baseline == first.number
    assert again.next_number == 4
    assert again.delta(again.groups[1]) is not None


def test_numbers_are_never_reused_after_a_delete(
    runs: list[engine.RunResult], store_path: Path
) -> None:
    history = StoredHistory(HistoryStore(store_path))
    history.add(CONFIG, runs[0].workload, runs[0])
    last = history.add(CONFIG, runs[1].workload, runs[1])
    history.annotate(last.number, "gone soon")
    history.mark_baseline(last.number)
    assert history.remove(last.number) == (2,)
    assert history.baseline is None
    history.store.close()

    again = StoredHistory(HistoryStore(store_path))
    assert [r.number for r in again.records] == [1]
    assert again.baseline is None and again.note(2) == ""
    assert again.add(CONFIG, runs[1].workload, runs[1]).number == 3


def test_two_consoles_on_one_file_do_not_collide(
    runs: list[engine.RunResult], store_path: Path
) -> None:
    one = StoredHistory(HistoryStore(store_path))
    two = StoredHistory(HistoryStore(store_path))
    a = one.add(CONFIG, runs[0].workload, runs[0])
    b = two.add(CONFIG, runs[1].workload, runs[1])
    assert (a.number, b.number) == (1, 2)
    assert [r.number for r in HistoryStore(store_path).records()[0]] == [1, 2]


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "newer", "foreign"],
)
def test_a_damaged_file_is_set_aside_with_a_sentence(
    damage: str, runs: list[engine.RunResult], store_path: Path
) -> None:
    history = StoredHistory(HistoryStore(store_path))
    history.add(CONFIG, runs[0].workload, runs[0])
    history.store.close()
    if damage == "garbage":
        store_path.write_bytes(b"this is no database at all" * 100)
    elif damage == "truncated":
        store_path.write_bytes(store_path.read_bytes()[:1500])
    elif damage == "newer":
        with sqlite3.connect(store_path) as db:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    else:
        store_path.unlink()
        with sqlite3.connect(store_path) as db:
            db.execute("CREATE TABLE something (x)")
    before = store_path.read_bytes()

    store = HistoryStore(store_path)
    assert "set aside" in store.notice and str(store_path) in store.notice
    aside = [p for p in store_path.parent.iterdir() if ".damaged-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes() == before  # kept as it was
    assert store.runs() == []
    fresh = StoredHistory(store)
    assert fresh.add(CONFIG, runs[0].workload, runs[0]).number == 1


def test_no_password_is_written(tmp_path: Path, store_path: Path) -> None:
    """A result that mentions the password anywhere (an event, an error) is redacted."""
    secret = "s3cr3t-pass"
    dsn = f"sqlite:///{tmp_path / 'x.db'}"
    with InstrumentedPool(parse_dsn(dsn), CONFIG) as pool:
        result = engine.run(pool, replace(WORKLOAD, query="SELECT 1"))
    result = replace(result, events=[f"failed: password={secret}", f"oops {secret}"])
    history = StoredHistory(HistoryStore(store_path), secrets=lambda: [secret])
    history.add(CONFIG, result.workload, result)
    history.store.close()
    assert secret.encode() not in store_path.read_bytes()
    assert secret not in json.dumps([r.as_dict() for r in HistoryStore(store_path).runs()])


def test_history_command_lists_runs_as_text_json_and_csv(
    runs: list[engine.RunResult], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history"]) == 0
    assert "No runs kept yet" in capsys.readouterr().out
    history = StoredHistory(HistoryStore())
    history.add(CONFIG, runs[0].workload, runs[0])
    history.add(CONFIG, runs[1].workload, runs[1])
    history.annotate(2, "three threads")
    history.mark_baseline(1)
    history.store.close()

    assert main(["history", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [run["number"] for run in listed] == [1, 2]
    assert listed[0]["baseline"] is True and listed[1]["note"] == "three threads"
    assert listed[1]["workload"]["threads"] == 3
    assert listed[0]["figures"]["throughput"] == pytest.approx(runs[0].throughput_rps)
    assert listed[0]["saved_at"].endswith("+00:00")

    assert main(["history", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["number"] for row in rows] == ["1", "2"]
    assert rows[1]["workload.threads"] == "3" and rows[1]["note"] == "three threads"
    assert float(rows[1]["errors"]) == runs[1].errors

    assert main(["history"]) == 0
    text = capsys.readouterr().out
    assert "2 runs kept" in text and "three threads" in text

    assert main(["history", "--json", "--csv"]) == 2  # one form at a time


def test_history_command_sets_a_damaged_file_aside(
    capsys: pytest.CaptureFixture[str],
) -> None:
    default_path().parent.mkdir(parents=True, exist_ok=True)
    default_path().write_bytes(b"not sqlite" * 200)
    assert main(["history", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == [] and "set aside" in err


# --- A/B comparisons, and the schema they brought ----------------------------------------------


@pytest.fixture
def comparison(sqlite_dsn: str):
    """A real A/B/B/A comparison on a SQLite file: B has twice the connections."""
    from pooltui.core.compare.runner import Side, run_comparison

    a = Side(CONFIG, WORKLOAD, "A")
    b = Side(PoolConfig(maxconnections=4, maxcached=4), WORKLOAD, "B")
    return run_comparison(parse_dsn(sqlite_dsn), a, b, 1, warmup_s=0.1)


def keep_comparison(history: StoredHistory, comparison) -> list[int]:
    """Its runs into the history (each side one group, as the console does), then itself."""
    sides = {"A": comparison.a, "B": comparison.b}
    groups: dict[str, int] = {}
    numbers = []
    for run in comparison.runs:
        side = sides[run.side]
        record = history.add(side.config, side.workload, run.result, repeats=groups.get(run.side))
        groups.setdefault(run.side, record.number)
        numbers.append(record.number)
    history.add_comparison(comparison, numbers)
    return numbers


def test_a_comparison_and_its_verdicts_are_read_back_equal(
    comparison, store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    numbers = keep_comparison(StoredHistory(HistoryStore(store_path)), comparison)
    again = StoredHistory(HistoryStore(store_path))
    assert again.problems == []
    for number in numbers:
        group = again.group(number)
        assert group is not None and again.comparison(group) == comparison
    kept = again.kept_comparison(again.group(numbers[0]).number)
    assert kept is not None and kept.number == 1 and kept.runs == tuple(numbers)
    assert [kept.side_of(n) for n in numbers] == list("ABBA")

    os.environ[DATA_DIR_ENV] = str(store_path.parent)  # `pooltui history` reads this file
    try:
        assert main(["history", "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)  # strict JSON: no Infinity
        assert main(["history", "--csv"]) == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert main(["history"]) == 0
        text = capsys.readouterr().out
    finally:
        del os.environ[DATA_DIR_ENV]
    verdicts = {name: str(d.verdict) for name, d in comparison.differences.items()}
    for run, row, side in zip(listed, rows, "ABBA", strict=True):
        assert run["comparison"]["number"] == 1 and run["comparison"]["side"] == side
        assert run["comparison"]["changes"] == ["maxcached 2→4", "maxconnections 2→4"]
        got = {name: d["verdict"] for name, d in run["comparison"]["figures"].items()}
        assert got == verdicts
        assert row["ab"] == "1" and row["ab.side"] == side
        assert row["ab.throughput_rps.verdict"] == verdicts["throughput_rps"]
    assert "(A/B 1, A)" in text and "(A/B 1, B)" in text
    runs = ", ".join(f"#{n}" for n in numbers)
    assert f"A/B 1: runs {runs} (ABBA), B changes maxcached 2→4, maxconnections 2→4" in text


def test_a_comparison_goes_with_the_last_of_its_runs(comparison, store_path: Path) -> None:
    history = StoredHistory(HistoryStore(store_path))
    numbers = keep_comparison(history, comparison)
    history.remove(numbers[0])  # the A group: B's runs still show the comparison
    store = HistoryStore(store_path)
    assert [s["number"] for s in store.summaries()] == [1]
    history.remove(numbers[1])
    assert HistoryStore(store_path).summaries() == []
    second = keep_comparison(StoredHistory(HistoryStore(store_path)), comparison)
    kept = StoredHistory(HistoryStore(store_path)).kept_comparison(second[0])
    assert kept is not None and kept.number == 2  # never reused, as run numbers


def test_an_older_history_is_upgraded_keeping_its_runs(
    runs: list[engine.RunResult], comparison, store_path: Path
) -> None:
    """A schema-1 file (before comparisons were kept) opens, is migrated in place (not set
    aside), keeps its runs, and then keeps comparisons too."""
    store = HistoryStore(store_path)
    StoredHistory(store).add(CONFIG, WORKLOAD, runs[0])
    store.close()
    with sqlite3.connect(store_path) as db:  # what schema 1 was: no comparisons table
        db.execute("DROP TABLE comparisons")
        db.execute("PRAGMA user_version = 1")
    db.close()

    upgraded = HistoryStore(store_path)
    assert upgraded.notice == ""  # nothing set aside
    assert [r.number for r in upgraded.runs()] == [1]
    assert not list(store_path.parent.glob("*.damaged-*"))
    version = upgraded._db.execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION == 2
    history = StoredHistory(upgraded)
    keep_comparison(history, comparison)
    assert [s["number"] for s in HistoryStore(store_path).summaries()] == [1]


def test_a_comparison_that_cannot_be_read_back_is_a_sentence(comparison, store_path: Path) -> None:
    keep_comparison(StoredHistory(HistoryStore(store_path)), comparison)
    with sqlite3.connect(store_path) as db:
        db.execute("UPDATE comparisons SET comparison = '{\"a\": 7}'")
    db.close()
    history = StoredHistory(HistoryStore(store_path))
    assert history.problems == [history.problems[0]]
    assert history.problems[0].startswith("A/B comparison 1 could not be read back")
    assert len(history) == 4  # its runs are still there
