"""What counts as a number in input pooltui checks (profiles, answers, model arguments).

TOML and JSON give bools where numbers are expected (``true`` is an int to Python), and floats
that are not finite; neither is a count, a rate or a time.
"""

from __future__ import annotations

import math


def is_int(value: object) -> bool:
    """An int, not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """A finite int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
