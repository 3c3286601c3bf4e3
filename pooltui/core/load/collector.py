"""Hold the cyclic garbage collector's full passes off a measured run.

A full collection walks every object the process holds, and every thread waits while it does.
In a load generator that stalls all the workers at once, which the run would report as the
pool's latency (a tail the user tunes for); in the console's process (~120,000 objects, most
of them Textual's) one full pass took 100 ms of the UI thread during a 5 s burst, a quarter of
what drawing the burst cost. ``gc.freeze()`` moves what is alive into a permanent generation
the collector skips, and ``gc.unfreeze()`` hands it back when the last run ends: nothing stays
frozen for good, and the next full pass after the run collects whatever died during it.
Young objects are still collected as usual while the run goes on.

Process-wide (the collector is): ``hold`` and ``release`` count, so overlapping runs (an A/B
pair, the console's run and its pool's) keep the collector held until the last one ends.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

_lock = threading.Lock()
_holders = 0

P = ParamSpec("P")
R = TypeVar("R")


def hold() -> None:
    """A run begins: no full pass over what is alive now until every holder has released."""
    global _holders
    with _lock:
        _holders += 1
        if _holders == 1:
            gc.freeze()


def release() -> None:
    """A run has ended; the last one to end gives the frozen objects back to the collector."""
    global _holders
    with _lock:
        if _holders == 0:
            return
        _holders -= 1
        if _holders == 0:
            gc.unfreeze()


def held() -> bool:
    """Whether a run holds the collector now."""
    return _holders > 0


@contextmanager
def full_collections_held() -> Iterator[None]:
    hold()
    try:
        yield
    finally:
        release()


def without_full_collections(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` runs with the collector held (see the module doc)."""

    @functools.wraps(function)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        with full_collections_held():
            return function(*args, **kwargs)

    return call
