"""When the requests of an open-loop run arrive: a pure schedule, the one place a pattern lives.

``schedule(pattern, rate, start, deadline, seed)`` is an iterator of scheduled arrival times
(seconds on the caller's clock, increasing, every one in ``[start, deadline)``). It touches no
clock, thread or database: the engine's dispatcher waits for each time and queues it for a
worker, and the tests check the schedule by itself.

Patterns (``SCHEDULES``; a new one is a generator here, plus its name in config.PATTERNS):
- ``steady``: none. A closed loop: the workers run back to back and make their own arrivals.
- ``poisson``: exponential gaps at ``rate`` (pgbench ``-R``), seeded, so reproducible.
- ``bursty``: alternating ``BURST_PHASE_S`` phases, starting with a peak at ``rate``, then a
  quiet phase at ``rate / BURST_QUIET_DIVISOR``. The gap is redrawn at each phase edge, which is
  exact for a Poisson process (it is memoryless).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

BURST_PHASE_S = 1.0  # length of each peak and each quiet phase of the bursty pattern
BURST_QUIET_DIVISOR = 10.0  # bursty: quiet rate = rate / this

Schedule = Callable[[float, float, float, random.Random], Iterator[float]]


def _steady(rate: float, start: float, deadline: float, rng: random.Random) -> Iterator[float]:
    """The closed loop schedules nothing."""
    return iter(())


def _poisson(rate: float, start: float, deadline: float, rng: random.Random) -> Iterator[float]:
    at = start
    while True:
        at += rng.expovariate(rate)
        if at >= deadline:
            return
        yield at


def _bursty(rate: float, start: float, deadline: float, rng: random.Random) -> Iterator[float]:
    at = start
    while True:
        phase = int((at - start) / BURST_PHASE_S)
        edge = start + (phase + 1) * BURST_PHASE_S
        gap = rng.expovariate(rate if phase % 2 == 0 else rate / BURST_QUIET_DIVISOR)
        if at + gap >= edge:  # no arrival left in this phase: redraw at its edge
            at = edge
            if at >= deadline:
                return
            continue
        at += gap
        if at >= deadline:
            return
        yield at


SCHEDULES: dict[str, Schedule] = {"steady": _steady, "poisson": _poisson, "bursty": _bursty}
OPEN_LOOP = frozenset({"poisson", "bursty"})  # patterns whose arrivals come from a schedule


def is_open_loop(pattern: str) -> bool:
    """Do this pattern's requests arrive on a schedule (served by a dispatcher and workers)?"""
    return pattern in OPEN_LOOP


def schedule(
    pattern: str, rate: float, start: float, deadline: float, seed: int | None = None
) -> Iterator[float]:
    """The arrival times of ``pattern`` at ``rate`` per second from ``start`` until
    ``deadline`` (exclusive); the same seed gives the same times. ValueError for an unknown
    pattern (config.validate_workload refuses one first)."""
    try:
        make = SCHEDULES[pattern]
    except KeyError:
        raise ValueError(f"unknown load pattern {pattern!r}") from None
    return make(rate, start, deadline, random.Random(seed))
