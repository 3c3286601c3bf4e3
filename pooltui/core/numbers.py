"""What counts as a number in input pooltui checks (profiles, answers, model arguments), how a
count reads in a sentence, and the one number format every figure shown to a person takes.

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


# --- the shared number format: the same decimals per unit, thousands separators ------------------
#
# Every figure shown to a person goes through these (the console, the CLI's text, reports,
# comments in exports); machine formats (JSON, CSV, TOML values) keep the exact value.


def figure(value: float, unit: str) -> str:
    """A figure's number as every front end shows it, by unit: a count ("") whole; req/s
    whole from 100, else 1 decimal; ms and s 2 decimals, 1 from 100, whole from 1,000 (a
    4,093.8 ms tail pushed a column out of an 80-column table); any other unit (cores, Erlangs,
    connections) 2 decimals; always with thousands separators. A value takes the decimals of
    what it rounds to: 99.996 ms is "100.0", not "100.00"."""
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "unbounded" if value > 0 else "-unbounded"
    if unit == "":
        return f"{round(value):,}"
    if unit == "req/s":
        return f"{value:,.{_decimals(value, ((100, 0),), 1)}f}"
    if unit in ("ms", "s"):
        return f"{value:,.{_decimals(value, ((1000, 0), (100, 1)), 2)}f}"
    return f"{value:,.2f}"


def _decimals(value: float, steps: tuple[tuple[float, int], ...], finest: int) -> int:
    """The decimals for ``value``: those of the first (threshold, decimals) step it reaches,
    largest first, judged on the value as the next finer step would round it."""
    magnitude = abs(value)
    for index, (threshold, decimals) in enumerate(steps):
        finer = steps[index + 1][1] if index + 1 < len(steps) else finest
        if round(magnitude, finer) >= threshold:
            return decimals
    return finest


def ms(value: float) -> str:
    """Milliseconds for people: ``0.04 ms``, ``203.2 ms``, ``4,094 ms``; an unbounded wait
    says so."""
    if math.isinf(value) or math.isnan(value):
        return "unbounded"
    return f"{figure(value, 'ms')} ms"


def seconds(value: float) -> str:
    """Seconds for people: ``0.30 s``, ``28,800 s``."""
    return f"{figure(value, 's')} s"


def rate(value: float, unit: str = "/s") -> str:
    """A rate for people: ``3,680/s``, ``9.9/s`` (``unit=" req/s"`` for a throughput)."""
    return f"{figure(value, 'req/s')}{unit}"


def percent(fraction: float) -> str:
    """A probability or a fraction where the small ones matter (P(wait), rejections): two
    decimals, ``17.88%``; below 0.01 % in scientific notation (``3.2e-05``), not ``0.00%``."""
    return f"{fraction:.2%}" if fraction >= 0.0001 or fraction == 0 else f"{fraction:.1e}"


def share(fraction: float) -> str:
    """A share of a whole where whole percents say enough (utilisation, part of a run):
    ``55%``."""
    return f"{fraction:.0%}"
