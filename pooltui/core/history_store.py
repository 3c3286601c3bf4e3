"""The run history on disk: every finished run kept in a SQLite file, so it outlives the console.

One file in the user data directory (``history.sqlite``; ``POOLTUI_DATA_DIR`` moves the
directory), stdlib ``sqlite3``, schema versioned with ``PRAGMA user_version``. Each run is one
row written in one transaction (configuration, workload, redacted target, the figures the table
shows, the whole result as JSON); notes and the baseline have their own tables. A file that
cannot be read as this history (not SQLite, damaged, a newer schema) is set aside under another
name, atomically, with a sentence saying so, and a new history starts: never a crash. No
password is ever written: targets are redacted before a run is kept, and every string of a
result is redacted again on the way in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import math
import os
import sqlite3
import time
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pooltui.core.config import PoolConfig, SessionGuards, Workload
from pooltui.core.errors import RunFailed, redact
from pooltui.core.history import DELTA_KEYS, KeptComparison, RunHistory, RunRecord
from pooltui.core.load.client_cpu import ClientCpu
from pooltui.core.load.notes import RunNote
from pooltui.core.load.results import (
    Outage,
    PoolLock,
    RunHistograms,
    RunResult,
    Stall,
    ThreadFigures,
)
from pooltui.core.numbers import count
from pooltui.core.pool.histogram import EMPTY, HistogramSnapshot, Summary
from pooltui.core.pool.leaks import LeakReport
from pooltui.core.pool.lock_time import LockTime
from pooltui.core.pool.stats import PoolStats

if TYPE_CHECKING:
    from pooltui.core.compare.runner import Comparison

SCHEMA_VERSION = 2  # 2: the comparisons table (A/B comparisons and their verdicts)
FILE_NAME = "history.sqlite"
DATA_DIR_ENV = "POOLTUI_DATA_DIR"
BUSY_TIMEOUT_S = 5.0  # another console writing the same file: wait this long for its lock

_SCHEMA = """
CREATE TABLE runs (
    number   INTEGER PRIMARY KEY,
    grp      INTEGER NOT NULL,      -- the number of the group's first run
    saved_at TEXT    NOT NULL,      -- ISO 8601, UTC
    target   TEXT    NOT NULL,      -- redacted: never a password
    driver   TEXT    NOT NULL,
    config   TEXT    NOT NULL,      -- JSON: the PoolConfig the sliders asked for
    workload TEXT    NOT NULL,      -- JSON: the Workload
    figures  TEXT    NOT NULL,      -- JSON: the history's figures (DELTA_KEYS)
    result   TEXT    NOT NULL       -- JSON: the whole RunResult
);
CREATE TABLE notes (grp INTEGER PRIMARY KEY, note TEXT NOT NULL);
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_COMPARISONS = """
CREATE TABLE comparisons (
    number     INTEGER PRIMARY KEY,
    saved_at   TEXT    NOT NULL,    -- ISO 8601, UTC
    runs       TEXT    NOT NULL,    -- JSON: the history numbers of its runs, in time order
    summary    TEXT    NOT NULL,    -- JSON: what `pooltui history` lists (comparison_summary)
    comparison TEXT    NOT NULL     -- JSON: the whole Comparison, for the console
);
"""
_SCHEMA += _COMPARISONS
#: the tables of each schema version, and the script that takes a file from one to the next
_TABLES_OF = {1: {"runs", "notes", "state"}, 2: {"runs", "notes", "state", "comparisons"}}
_TABLES = _TABLES_OF[SCHEMA_VERSION]
_MIGRATIONS = {1: _COMPARISONS}


def data_dir() -> Path:
    """Where pooltui keeps its files: ``$POOLTUI_DATA_DIR``, else the platform's user data
    directory (``~/.local/share/pooltui`` on Linux)."""
    chosen = os.environ.get(DATA_DIR_ENV, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("pooltui"))


def default_path() -> Path:
    return data_dir() / FILE_NAME


# --- the codec: a result's dataclasses as JSON and back ----------------------------------------

# names results.py imports only for type checking, for get_type_hints
_NAMES: dict[str, Any] = {
    "PoolStats": PoolStats,
    "LeakReport": LeakReport,
    "Summary": Summary,
    "LockTime": LockTime,
    "PoolLock": PoolLock,
    "ClientCpu": ClientCpu,
    "RunNote": RunNote,
    "Outage": Outage,
    "Stall": Stall,
    "ThreadFigures": ThreadFigures,
    "RunHistograms": RunHistograms,
    "HistogramSnapshot": HistogramSnapshot,
    "PoolConfig": PoolConfig,
    "Workload": Workload,
    "SessionGuards": SessionGuards,
}


def encode(value: Any, clean: Callable[[str], str] = str) -> Any:
    """A JSON-able form of a result's value: dataclasses as objects, enums by value, a
    histogram's counts sparse (bucket: count); every string passed through ``clean``."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, HistogramSnapshot):
        used = np.flatnonzero(value.counts)
        return {
            "buckets": {str(int(i)): int(value.counts[i]) for i in used},
            "count": value.count,
            "sum": value.sum,
            "min": value.min,
            "max": value.max,
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name), clean) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {clean(str(k)): encode(v, clean) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v, clean) for v in value]
    return value


def decode(kind: Any, data: Any) -> Any:
    """The value of type ``kind`` that ``encode`` turned into ``data`` (a field missing from an
    older file takes its default; one this version does not know is ignored)."""
    if kind is Any or data is None:
        return data
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return decode(options[0], data) if len(options) == 1 else data
    if origin in (list, tuple):
        args = typing.get_args(kind)
        if origin is tuple and args and args[-1] is not Ellipsis:  # tuple[str, RunResult]
            return tuple(decode(item, v) for item, v in zip(args, data, strict=False))
        item = args[0] if args else Any
        items = [decode(item, v) for v in data]
        return items if origin is list else tuple(items)
    if origin is dict:
        _, value_kind = typing.get_args(kind)
        return {k: decode(value_kind, v) for k, v in data.items()}
    if kind is HistogramSnapshot:
        counts = EMPTY.counts.copy()
        for index, count in data["buckets"].items():
            counts[int(index)] = count
        return HistogramSnapshot(
            counts, int(data["count"]), float(data["sum"]), float(data["min"]), float(data["max"])
        )
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(data)
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = typing.get_type_hints(kind, localns=_NAMES)
        known = {f.name for f in dataclasses.fields(kind) if f.init}
        return kind(**{k: decode(hints[k], v) for k, v in data.items() if k in known})
    if kind is float:
        return float(data)
    return data


# --- the store ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredRun:
    """One kept run as ``pooltui history`` lists it (without decoding the whole result)."""

    number: int
    group: int
    saved_at: str  # ISO 8601, UTC
    target: str
    driver: str
    config: dict[str, Any]
    workload: dict[str, Any]
    figures: dict[str, float]
    note: str = ""
    baseline: bool = False
    #: the A/B comparison the run was part of (comparison_summary, with the run's "side")
    comparison: dict[str, Any] | None = None
    processes: int = 1  # how many processes ran it at once, each with its own pool (a fleet)

    def as_dict(self) -> dict[str, Any]:
        """The ``pooltui history --json`` object of one run."""
        return {
            "number": self.number,
            "group": self.group,
            "saved_at": self.saved_at,
            "target": self.target,
            "driver": self.driver,
            "processes": self.processes,
            "baseline": self.baseline,
            "note": self.note,
            "figures": self.figures,
            "config": self.config,
            "workload": self.workload,
            "comparison": self.comparison,
        }


def comparison_summary(kept: KeptComparison) -> dict[str, Any]:
    """What `pooltui history` says of an A/B comparison: its number, its runs (history
    numbers, in time order) and their order, what B changes, the pairs judged and each
    figure's verdict with its interval (as `pooltui compare --json` gives them)."""
    from pooltui.core.compare.runner import changes

    c = kept.comparison
    figures = {name: _finite(d.as_dict()) for name, d in c.differences.items()}
    return {
        "number": kept.number,
        "runs": list(kept.runs),
        "order": "".join(run.side for run in c.runs),
        "a": c.a.label,
        "b": c.b.label,
        "changes": changes(c.a, c.b),
        "pairs": len(c.pairs),
        "rounds_judged": c.rounds_judged,
        "figures": figures,
        "stopped": c.outcome.stopped,
        "fatal_error": c.outcome.fatal_error,
    }


def _finite(value: Any) -> Any:
    """Strict JSON: an unbounded interval's end (one pair: no noise estimate) is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def run_in(summary: dict[str, Any] | None, number: int) -> dict[str, Any] | None:
    """A comparison's summary as one of its runs carries it: with the run's side."""
    if summary is None or number not in summary["runs"]:
        return None
    order, runs = summary["order"], summary["runs"]
    side = order[runs.index(number)] if len(order) == len(runs) else None
    return summary | {"side": side}


def iso(at: float) -> str:
    """Seconds since the epoch as ISO 8601 UTC to the second."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def _timestamp(text: str) -> float:
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return 0.0


class DamagedHistory(Exception):
    """The file is no history this version can read."""


class HistoryStore:
    """The history file: open it (setting a damaged one aside), keep runs, notes, the
    baseline, and read them back. Every method is one short transaction."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.notice = ""  # a sentence for the user when the old file was set aside
        self._db = self._open()

    # opening, and what happens to a damaged file

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunFailed(
                f"The run history cannot be kept in {self.path.parent} "
                f"({exc.strerror or exc}): make that directory writable."
            ) from None
        try:
            return self._connect()
        except DamagedHistory as damaged:
            aside = self._set_aside()
            self.notice = (
                f"The run history {self.path} could not be read ({damaged}); it was set aside "
                f"as {aside.name} and a new history started."
            )
        try:
            return self._connect()
        except (DamagedHistory, sqlite3.Error) as exc:
            raise RunFailed(
                f"The run history {self.path} cannot be created ({exc}): check the directory."
            ) from None

    def _connect(self) -> sqlite3.Connection:
        """Open and check the file (creating the schema in a new one); DamagedHistory when it
        is not a history this version reads."""
        db: sqlite3.Connection | None = None
        try:
            # the console writes from its UI thread only, but may build the store elsewhere
            db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if version == 0 and not tables:
                db.executescript(
                    f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version = {SCHEMA_VERSION};COMMIT;"
                )
            elif version > SCHEMA_VERSION:
                raise DamagedHistory(
                    f"it was written by a newer pooltui, schema {version} > {SCHEMA_VERSION}"
                )
            elif not tables >= _TABLES_OF.get(version, _TABLES | {"?"}):
                raise DamagedHistory("it is not a pooltui history")
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise DamagedHistory(f"integrity check: {check}")
            if version in _MIGRATIONS:
                self._migrate(db)
            return db
        except sqlite3.DatabaseError as exc:
            if db is not None:
                db.close()
            raise DamagedHistory(str(exc)) from None
        except DamagedHistory:
            if db is not None:
                db.close()
            raise

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Take an older history up to SCHEMA_VERSION, one version a transaction, keeping
        every run; a file that cannot be written (read-only) is left as it is, with a
        sentence (RunFailed), never set aside."""
        try:
            while True:
                with _transaction(db):  # another console may have migrated it meanwhile
                    version = db.execute("PRAGMA user_version").fetchone()[0]
                    if version not in _MIGRATIONS:
                        return
                    for statement in _MIGRATIONS[version].split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA user_version = {version + 1}")
        except sqlite3.OperationalError as exc:
            db.close()
            raise RunFailed(
                f"The run history {self.path} is from an older pooltui and cannot be "
                f"upgraded ({exc}): make it writable."
            ) from None

    def _set_aside(self) -> Path:
        """Rename the damaged file (one rename: atomic) to a name no other file has."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        for attempt in range(100):
            suffix = f".damaged-{stamp}" + (f"-{attempt}" if attempt else "")
            aside = self.path.with_name(self.path.name + suffix)
            if not aside.exists():
                break
        try:
            os.replace(self.path, aside)
        except OSError as exc:
            raise RunFailed(
                f"The run history {self.path} is damaged and cannot be set aside "
                f"({exc.strerror or exc}): move it away by hand."
            ) from None
        for extra in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.replace(f"{self.path}{extra}", f"{aside}{extra}")
        return aside

    def close(self) -> None:
        self._db.close()

    # writing

    def save(self, record: RunRecord, secrets: Any = None) -> None:
        """Keep one run (one transaction): its row, every string redacted."""

        def clean(text: str) -> str:
            return redact(text, secrets)

        result = record.result
        row = (
            record.number,
            record.group,
            iso(record.at),
            clean(record.target),
            result.driver,
            json.dumps(encode(record.config, clean)),
            json.dumps(encode(record.workload, clean)),
            json.dumps(record.figures()),
            json.dumps(encode(result, clean)),
        )
        with self._write():
            self._db.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?)", row)

    def save_comparison(self, kept: KeptComparison, secrets: Any = None) -> None:
        """Keep one A/B comparison (one transaction): its runs' numbers, its summary and the
        whole comparison, every string redacted."""

        def clean(text: str) -> str:
            return redact(text, secrets)

        row = (
            kept.number,
            iso(time.time()),
            json.dumps(list(kept.runs)),
            json.dumps(encode(comparison_summary(kept), clean)),
            json.dumps(encode(kept.comparison, clean)),
        )
        with self._write():
            self._db.execute("INSERT OR REPLACE INTO comparisons VALUES (?,?,?,?,?)", row)

    def next_comparison(self) -> int:
        """As next_number, for comparisons: a deleted comparison's number is not given again."""
        row = self._db.execute("SELECT max(number) FROM comparisons").fetchone()
        stored = self._get("next_comparison")
        return max((row[0] or 0) + 1, int(stored) if stored else 1)

    def next_number(self) -> int:
        """One more than the highest number ever kept here (another console's runs too)."""
        row = self._db.execute("SELECT max(number) FROM runs").fetchone()
        stored = self._db.execute("SELECT value FROM state WHERE key='next'").fetchone()
        return max((row[0] or 0) + 1, int(stored[0]) if stored else 1)

    def delete(self, numbers: tuple[int, ...], group: int) -> None:
        """Forget these runs and their group's note; their numbers are never given again."""
        with self._write():
            keep = self.next_number()
            self._db.executemany("DELETE FROM runs WHERE number = ?", [(n,) for n in numbers])
            self._db.execute("DELETE FROM notes WHERE grp = ?", (group,))
            self._set("next", str(keep))
            kept = {n for (n,) in self._db.execute("SELECT number FROM runs")}
            gone = [  # a comparison none of whose runs is kept any more
                (number,)
                for number, runs in self._db.execute("SELECT number, runs FROM comparisons")
                if not kept & set(json.loads(runs))
            ]
            if gone:
                self._set("next_comparison", str(self.next_comparison()))
                self._db.executemany("DELETE FROM comparisons WHERE number = ?", gone)
            if self._get("baseline") == str(group):
                self._db.execute("DELETE FROM state WHERE key = 'baseline'")

    def annotate(self, group: int, note: str) -> None:
        with self._write():
            if note:
                self._db.execute("INSERT OR REPLACE INTO notes VALUES (?, ?)", (group, note))
            else:
                self._db.execute("DELETE FROM notes WHERE grp = ?", (group,))

    def set_baseline(self, group: int | None) -> None:
        with self._write():
            if group is None:
                self._db.execute("DELETE FROM state WHERE key = 'baseline'")
            else:
                self._set("baseline", str(group))

    def _set(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (key, value))

    def _get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """One transaction; a failure to write is one sentence (the console keeps running)."""
        try:
            with _transaction(self._db):
                yield
        except sqlite3.Error as exc:
            raise RunFailed(
                f"The run could not be kept in the history {self.path} ({exc}); "
                "check the disk and the file's permissions."
            ) from None

    # reading

    def baseline(self) -> int | None:
        value = self._get("baseline")
        return int(value) if value and value.isdigit() else None

    def notes(self) -> dict[int, str]:
        return {int(g): str(n) for g, n in self._db.execute("SELECT grp, note FROM notes")}

    def summaries(self) -> list[dict[str, Any]]:
        """Every kept comparison's summary, oldest first (a damaged row is left out)."""
        out = []
        for (summary,) in self._db.execute("SELECT summary FROM comparisons ORDER BY number"):
            with contextlib.suppress(ValueError):
                out.append(json.loads(summary))
        return out

    def comparisons(self) -> tuple[list[tuple[int, tuple[int, ...], Comparison]], list[str]]:
        """Every kept comparison (its number, its runs, the Comparison), oldest first, and a
        sentence for each that could not be read back."""
        from pooltui.core.compare.runner import Comparison

        kept, problems = [], []
        rows = self._db.execute("SELECT number, runs, comparison FROM comparisons ORDER BY number")
        for number, runs, comparison in rows:
            try:
                numbers = tuple(int(n) for n in json.loads(runs))
                kept.append((int(number), numbers, decode(Comparison, json.loads(comparison))))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                problems.append(f"A/B comparison {number} could not be read back ({exc}).")
        return kept, problems

    def runs(self) -> list[StoredRun]:
        """Every kept run, oldest first, without decoding the results (the CLI's list)."""
        notes, baseline = self.notes(), self.baseline()
        compared = {n: summary for summary in self.summaries() for n in summary.get("runs", ())}
        rows = self._db.execute(
            "SELECT number, grp, saved_at, target, driver, config, workload, figures, "
            "json_extract(result, '$.processes') FROM runs ORDER BY number"
        )  # a run kept before results knew their processes ran in one
        out = []
        for number, group, saved_at, target, driver, config, workload, figures, procs in rows:
            out.append(
                StoredRun(
                    number,
                    group,
                    saved_at,
                    target,
                    driver,
                    json.loads(config),
                    json.loads(workload),
                    json.loads(figures),
                    notes.get(group, ""),
                    baseline == group,
                    run_in(compared.get(number), number),
                    int(procs or 1),
                )
            )
        return out

    def records(self) -> tuple[list[RunRecord], list[str]]:
        """Every kept run as a record, oldest first, and a sentence for each row that could
        not be read back (it is left in the file, not shown)."""
        records, problems = [], []
        rows = self._db.execute(
            "SELECT number, grp, saved_at, config, workload, result FROM runs ORDER BY number"
        )
        for number, group, saved_at, config, workload, result in rows:
            try:
                records.append(
                    RunRecord(
                        int(number),
                        decode(PoolConfig, json.loads(config)),
                        decode(Workload, json.loads(workload)),
                        decode(RunResult, json.loads(result)),
                        int(group),
                        _timestamp(saved_at),
                    )
                )
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                problems.append(f"run {number} could not be read back ({exc}).")
        return records, problems


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any error): the connection is in autocommit
    mode, so nothing else opens a transaction behind this one's back."""
    if db.in_transaction:
        yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class StoredHistory(RunHistory):
    """A RunHistory that keeps every change in a HistoryStore as it happens, and starts from
    what the store kept (``problems``: sentences about what could not be read back).

    A write that fails (a full disk) never loses the run from the session: ``on_problem`` gets
    the sentence and the history goes on in memory.
    """

    def __init__(
        self,
        store: HistoryStore,
        secrets: Callable[[], Any] = lambda: None,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self._secrets = secrets
        self.on_problem = on_problem
        records, self.problems = store.records()
        for record in records:
            self.restore(record)
        for group, note in store.notes().items():
            if self.get(group) is not None:
                super().annotate(group, note)
        baseline = store.baseline()
        if baseline is not None and self.get(baseline) is not None:
            super().mark_baseline(baseline)
        self._next = max(self._next, store.next_number())
        comparisons, problems = store.comparisons()
        self.problems += problems
        for number, runs, comparison in comparisons:
            super().add_comparison(comparison, runs, number=number)

    def _keep(self, write: Callable[[], None]) -> None:
        try:
            write()
        except (RunFailed, sqlite3.Error) as error:
            if self.on_problem is None:
                raise
            self.on_problem(str(error))

    def add(
        self, config: PoolConfig, workload: Workload, result: RunResult, **kwargs: Any
    ) -> RunRecord:
        with contextlib.suppress(sqlite3.Error):
            kwargs["number"] = max(kwargs.get("number") or 0, self.store.next_number())
        record = super().add(config, workload, result, **kwargs)
        self._keep(lambda: self.store.save(record, self._secrets()))
        return record

    def add_comparison(
        self, comparison: Comparison, numbers: Iterable[int], *, number: int | None = None
    ) -> KeptComparison:
        with contextlib.suppress(sqlite3.Error):
            number = max(number or 0, self.store.next_comparison())
        kept = super().add_comparison(comparison, numbers, number=number)
        self._keep(lambda: self.store.save_comparison(kept, self._secrets()))
        return kept

    def remove(self, number: int) -> tuple[int, ...]:
        group = self.group(number)
        removed = super().remove(number)
        if group is not None:
            self._keep(lambda: self.store.delete(removed, group.number))
        return removed

    def annotate(self, number: int, note: str) -> int:
        group = super().annotate(number, note)
        self._keep(lambda: self.store.annotate(group, self.note(group)))
        return group

    def mark_baseline(self, number: int | None) -> None:
        super().mark_baseline(number)
        self._keep(lambda: self.store.set_baseline(self.baseline))


def stored_runs(history: RunHistory) -> list[StoredRun]:
    """A history's runs as the store lists them (the console's export: no file needed)."""
    return [
        StoredRun(
            record.number,
            record.group,
            iso(record.at),
            record.target,
            record.result.driver,
            encode(record.config),
            encode(record.workload),
            record.figures(),
            history.note(record.group),
            history.baseline == record.group,
            run_in(_summary(history.kept_comparison(record.group)), record.number),
            record.processes,
        )
        for record in history.records
    ]


def _summary(kept: KeptComparison | None) -> dict[str, Any] | None:
    return None if kept is None else encode(comparison_summary(kept))


def export_rows(runs: list[StoredRun]) -> list[dict[str, Any]]:
    """Flat rows for CSV: when, target, the figures, then every pool and workload field."""
    rows = []
    for run in runs:
        row: dict[str, Any] = {
            "number": run.number,
            "group": run.group,
            "saved_at": run.saved_at,
            "target": run.target,
            "driver": run.driver,
            "processes": run.processes,
            "baseline": run.baseline,
            "note": run.note,
        }
        row |= {key: run.figures.get(key, "") for key in DELTA_KEYS}
        row |= comparison_columns(run.comparison)
        row |= {f"pool.{k}": _flat(v) for k, v in run.config.items()}
        row |= {f"workload.{k}": _flat(v) for k, v in run.workload.items()}
        rows.append(row)
    return rows


def comparison_columns(comparison: dict[str, Any] | None) -> dict[str, Any]:
    """A run's A/B comparison as CSV columns: its number, the run's side, B's changes, and per
    figure the verdict, the change (a ratio, or a difference near zero) and its interval."""
    from pooltui.core.compare.runner import FIGURE_NAMES

    c = comparison or {}
    row: dict[str, Any] = {
        "ab": c.get("number", ""),
        "ab.side": c.get("side") or "",
        "ab.changes": "; ".join(c.get("changes", ())),
    }
    figures = c.get("figures", {})
    for name in FIGURE_NAMES:
        d = figures.get(name, {})
        low, high = d.get("interval", ("", ""))
        row[f"ab.{name}.verdict"] = d.get("verdict", "")
        row[f"ab.{name}.change"] = d.get("ratio", d.get("difference", ""))
        row[f"ab.{name}.low"], row[f"ab.{name}.high"] = low, high
    return row


def _flat(value: Any) -> Any:
    return "; ".join(map(str, value)) if isinstance(value, list) else value


def to_csv(runs: list[StoredRun]) -> str:
    """The runs as CSV (one row per run, a header; RFC 4180 quoting)."""
    import csv
    import io

    rows = export_rows(runs)
    out = io.StringIO()
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    if not columns:
        columns = ["number", "group", "saved_at", "target", "driver", "processes", "baseline"]
        columns.append("note")
        columns += list(DELTA_KEYS)
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_json(runs: list[StoredRun]) -> str:
    """The runs as a JSON array (``pooltui history --json``)."""
    return json.dumps([run.as_dict() for run in runs], indent=2) + "\n"


def format_runs(runs: list[StoredRun], path: Path) -> str:
    """The text ``pooltui history`` prints: one line per run, the baseline starred, notes."""
    from pooltui.core.history import format_value, unit_of

    if not runs:
        return f"No runs kept yet in {path}: runs of the console are kept there.\n"
    lines = [f"{len(runs):,} {'run' if len(runs) == 1 else 'runs'} kept in {path}"]
    header = f"{'#':>5}  {'saved (UTC)':<19}  {'req/s':>8} {'p95':>8} {'acq95':>8} {'errors':>8}"
    lines.append(header + "  target")
    for run in runs:
        cells = [
            format_value(run.figures.get(key, 0.0), unit_of(key)).rjust(8)
            for key in ("throughput", "p95", "acquire_p95", "errors")
        ]
        mark = "*" if run.baseline else " "
        group = "" if run.processes == 1 else f" ({run.processes} processes)"
        group += "" if run.group == run.number else f" (repeats #{run.group})"
        if run.comparison is not None:
            group += f" (A/B {run.comparison['number']}, {run.comparison['side'] or '?'})"
        line = f"{run.number:>4}{mark}  {run.saved_at[:19].replace('T', ' '):<19}  "
        line += " ".join(cells) + f"  {run.target}{group}"
        lines.append(line + (f"  — {run.note}" if run.note else ""))
    lines.append("(* the baseline; latencies in ms)")
    summaries = {r.comparison["number"]: r.comparison for r in runs if r.comparison is not None}
    lines += [comparison_line(summary) for _, summary in sorted(summaries.items())]
    return "\n".join(lines) + "\n"


def comparison_line(summary: dict[str, Any]) -> str:
    """One kept A/B comparison in words: its runs, what B changes, each figure's verdict."""
    from pooltui.core.compare.runner import FIGURES

    labels = {f.name: f.label for f in FIGURES}
    runs = ", ".join(f"#{n}" for n in summary["runs"])
    changed = ", ".join(summary.get("changes", ())) or "nothing"
    text = f"A/B {summary['number']}: runs {runs} ({summary.get('order', '')}), B changes {changed}"
    figures = summary.get("figures", {})
    if not figures:
        return text + "; no pair of runs completed: nothing compared."
    said = []
    for verdict in ("better", "worse"):
        names = [labels.get(n, n) for n, d in figures.items() if d.get("verdict") == verdict]
        if names:
            said.append(f"{verdict}: {', '.join(names)}")
    rest = len([d for d in figures.values() if d.get("verdict") not in ("better", "worse")])
    if rest:
        said.append(f"{count(rest, 'figure')} within noise or unknown")
    return f"{text}; {count(summary.get('pairs', 0), 'pair')}: " + "; ".join(said) + "."
