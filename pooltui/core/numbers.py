"""What counts as a number in input pooltui checks (profiles, answers, model arguments), and
how a count reads in a sentence.

TOML and JSON give bools where numbers are expected (``true`` is an int to Python), and floats
that are not finite; neither is a count, a rate or a time. A count in a sentence has thousands
separators and agrees with its noun: "1 statement", "1,116,042 errors" (``count``).
"""

from __future__ import annotations

import math


def is_int(value: object) -> bool:
    """An int, not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """A finite int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def count(n: int | float, noun: str, plural: str | None = None) -> str:
    """``n`` with thousands separators and its noun agreeing: 1 statement, 0 errors, 1,116,042
    errors (``plural`` for a noun that does not just take an s)."""
    whole = round(n)
    return f"{whole:,} {noun if whole == 1 else plural or noun + 's'}"
