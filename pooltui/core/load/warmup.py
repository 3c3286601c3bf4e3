"""Warm-up: pre-open connections so a run starts warm, and say what that cost and buys.

Which connect times are still to be reported is the pool's own state
(``take_initial_connect_times``): PooledDB opens ``mincached`` in its constructor, and the
first warm-up of a pool reports those, however many front ends warm it.
"""

from __future__ import annotations

import statistics
from time import perf_counter
from typing import TYPE_CHECKING

from pooltui.core.errors import BadInput
from pooltui.core.load.results import WarmupResult
from pooltui.core.numbers import count as counted
from pooltui.core.numbers import ms

if TYPE_CHECKING:
    from pooltui.core.pool.protocol import PoolLike


def _timed_acquire(pool: PoolLike) -> float:
    """Seconds one `connection()` call takes; the connection goes straight back."""
    started = perf_counter()
    with pool.connection():
        return perf_counter() - started


def warm_up(pool: PoolLike, count: int | None = None) -> WarmupResult:
    """Make `count` connections (default mincached, at least 1) wait idle; time each connect.

    PooledDB opens mincached connections in its constructor, so the first warm-up of a pool also
    reports those. A cold acquire is only measured when no connection is idle; on a pool that is
    already warm it is estimated as the median connect time (``cold_measured=False``).
    BadInput when `count` exceeds maxconnections or maxcached (pool.open_idle says which).
    """
    if count is None:
        count = max(1, pool.validation.effective.mincached)
    if count < 1:
        raise BadInput(f"the warm-up count is {count} but must be at least 1.")
    started = perf_counter()
    connects: list[float] = list(pool.take_initial_connect_times())
    before = pool.snapshot()
    cold_measured = before.idle == 0
    cold = 0.0
    if cold_measured:  # this acquire opens a connection: its connect time is in the stats
        cold = _timed_acquire(pool)
        after = pool.snapshot().connect
        if after.count == before.connect.count + 1:
            total_ms = after.mean * after.count - before.connect.mean * before.connect.count
            connects.append(total_ms / 1000.0)
    connects.extend(pool.open_idle(count))
    warm = _timed_acquire(pool)
    if not cold_measured:
        cold = statistics.median(connects) if connects else pool.snapshot().connect.p50 / 1000
    result = WarmupResult(
        opened=len(connects),
        connect_ms=[s * 1000.0 for s in connects],
        cold_acquire_ms=cold * 1000.0,
        warm_acquire_ms=warm * 1000.0,
        duration_s=perf_counter() - started,
        idle=pool.snapshot().idle,
        cold_measured=cold_measured,
    )
    pool.emit(
        "warmup_done",
        f"Warm-up done: {counted(result.idle, 'connection')} idle; acquire "
        f"{ms(result.cold_acquire_ms)} cold, {ms(result.warm_acquire_ms)} warm.",
    )
    return result
