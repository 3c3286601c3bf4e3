"""Small helpers the database tests share (importable because tests/ is on sys.path)."""

from __future__ import annotations

import math
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


def poisson_ceiling(mean: float, chance: float = 1e-9) -> int:
    """The smallest k with P(N >= k) < chance for N ~ Poisson(mean)."""
    k, term, below = 0, math.exp(-mean), 0.0
    while 1.0 - below >= chance:
        below += term
        k += 1
        term *= mean / k
    return k
