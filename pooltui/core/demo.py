"""The embedded SQLite demo database, so ``pooltui`` with no arguments has something to tune."""

from __future__ import annotations

import os
import random
import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from pooltui.core.errors import RunFailed

DEMO_ROWS = 400
_CUSTOMERS = (
    "Ada",
    "Grace",
    "Linus",
    "Barbara",
    "Edsger",
    "Margaret",
    "Donald",
    "Frances",
    "Ken",
    "Radia",
    "Dennis",
    "Sophie",
)


def ensure_demo_db() -> Path:
    """Create (once) ``demo.db`` in the user data dir with an ``orders`` table; return its path."""
    import platformdirs

    directory = Path(platformdirs.user_data_dir("pooltui"))
    path = directory / "demo.db"
    if not _has_orders(path):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            _create(directory, path)
        except (OSError, sqlite3.Error) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise RunFailed(
                f"The demo database cannot be created in {directory} ({reason}): "
                "make that directory writable."
            ) from None
    return path


def _has_orders(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            count = cast(int, con.execute("SELECT count(*) FROM orders").fetchone()[0])
            return count > 0
        finally:
            con.close()
    except sqlite3.Error:  # damaged or foreign file: build a fresh one over it
        return False


def _create(directory: Path, path: Path) -> None:
    """Write a temporary file and rename it: a crash or a second pooltui never sees half a file."""
    tmp = directory / f".demo-{os.getpid()}-{threading.get_ident()}.db"
    rng = random.Random(42)
    start = datetime(2024, 1, 1)
    rows = [
        (
            i,
            rng.choice(_CUSTOMERS),
            round(rng.uniform(5, 500), 2),
            (start + timedelta(minutes=rng.randrange(0, 525_600))).isoformat(sep=" "),
        )
        for i in range(1, DEMO_ROWS + 1)
    ]
    try:
        con = sqlite3.connect(tmp)
        try:
            con.execute(
                "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, "
                "amount REAL NOT NULL, created TEXT NOT NULL)"
            )
            con.execute("CREATE INDEX orders_customer ON orders (customer)")
            con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", rows)
            con.commit()
        finally:
            con.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
