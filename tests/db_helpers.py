"""Small helpers the database tests share (importable because tests/ is on sys.path)."""

from __future__ import annotations

import os
import uuid
from typing import Any


def unique_tag() -> str:
    """A connection tag no other test (or test run) uses."""
    return f"pooltui-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def scalar(con: Any, sql: str) -> Any:
    """The first column of the first row of ``sql`` on a raw DB-API connection."""
    cursor = con.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchone()[0]
    finally:
        cursor.close()
