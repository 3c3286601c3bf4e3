"""Queueing models for sizing a PooledDB: Little's law, Erlang B and C, HikariCP's rules of thumb.

Why these: DBUtils with ``blocking=True`` makes a caller wait (with no timeout) until a connection
is returned, which is an M/M/N queue (Erlang C); with ``blocking=False`` it raises
``TooManyConnectionsError`` at once, which is a loss system (Erlang B). See research/pools.md §5.

Assumptions shared by every model here, to be shown next to any figure they produce:
requests arrive as a Poisson process (independent arrivals at a constant mean rate) and each holds
a connection for an exponentially distributed time with mean ``hold_s``; connections are dedicated
(not shared); the database does not slow down as more connections are busy. Real hold times are
heavier-tailed and bursts are more clumped than Poisson, so real waits are usually somewhat worse
than predicted here. All functions are pure and raise ``BadInput`` on impossible arguments.
"""

from __future__ import annotations

import math

from pooltui.core.errors import BadInput
from pooltui.core.numbers import is_number

#: Search limit for ``min_connections_for``: no realistic pool needs more connections than this.
MAX_SEARCH = 100_000


def _check_load(a: float) -> None:
    if not is_number(a) or a < 0:
        raise BadInput(f"The offered load must be a finite number of Erlangs >= 0, not {a!r}.")


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise BadInput(f"The number of connections must be a whole number >= 0, not {n!r}.")


def _check_hold(hold_s: float) -> None:
    if not is_number(hold_s) or hold_s <= 0:
        raise BadInput(f"The hold time must be a positive number of seconds, not {hold_s!r}.")


def littles_law(rate_per_s: float, hold_s: float) -> float:
    """Offered load A in Erlangs = mean connections busy = arrival rate x mean hold time.

    Little's law holds for any arrival and hold distribution in a stable system; it is the lower
    bound on the pool size (a pool of N <= A connections can never keep up).
    """
    if not is_number(rate_per_s) or rate_per_s < 0:
        raise BadInput(f"The request rate must be a finite number >= 0 per s, not {rate_per_s!r}.")
    _check_hold(hold_s)
    return float(rate_per_s) * float(hold_s)


def erlang_b(n: int, a: float) -> float:
    """Probability that a request finds all ``n`` connections busy in a loss system (M/M/N/N).

    This is the rejection rate of ``blocking=False``. Computed with the stable recursion
    B(0) = 1, B(k) = A·B(k-1) / (k + A·B(k-1)) instead of factorials, which overflow.
    """
    _check_n(n)
    _check_load(a)
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(n: int, a: float) -> float:
    """Probability that a request has to wait for a connection (M/M/N, infinite patience).

    This is P(wait) under ``blocking=True``; derived from Erlang B as C = N·B / (N - A·(1 - B)).
    When A >= N the queue grows without bound and every request eventually waits: 1.0.
    """
    _check_n(n)
    _check_load(a)
    if a >= n:
        return 1.0
    b = erlang_b(n, a)
    return n * b / (n - a * (1.0 - b))


def mean_wait_s(n: int, a: float, hold_s: float) -> float:
    """Mean time a request waits for a connection: W_q = C(N, A) · W_s / (N - A); inf if A >= N."""
    _check_hold(hold_s)
    c = erlang_c(n, a)
    if a >= n:
        return math.inf
    return c * hold_s / (n - a)


def wait_longer_than_probability(n: int, a: float, hold_s: float, t_s: float) -> float:
    """P(wait > t) = C(N, A) · exp(-(N - A)·t / W_s): the tail of the M/M/N waiting time."""
    _check_hold(hold_s)
    if not is_number(t_s) or t_s < 0:
        raise BadInput(f"The wait time must be a finite number of seconds >= 0, not {t_s!r}.")
    c = erlang_c(n, a)
    if a >= n:
        return 1.0
    return c * math.exp(-(n - a) * t_s / hold_s)


def wait_percentile_s(n: int, a: float, hold_s: float, q: float) -> float:
    """The q-quantile of the wait for a connection (q = 0.95 gives the p95 wait).

    Solves C·exp(-(N - A)t/W_s) = 1 - q for t. When C <= 1 - q at least a fraction q of requests
    never wait, so the quantile is 0. inf when A >= N (the queue is unstable).
    """
    _check_hold(hold_s)
    if not is_number(q) or not 0 < q < 1:
        raise BadInput(f"The percentile must be a fraction between 0 and 1, not {q!r}.")
    c = erlang_c(n, a)
    if a >= n:
        return math.inf
    if c <= 1.0 - q:
        return 0.0
    return hold_s / (n - a) * math.log(c / (1.0 - q))


def _check_fraction(name: str, value: float | None) -> None:
    if value is not None and not (is_number(value) and 0 < value <= 1):
        raise BadInput(f"The {name} target must be a fraction in (0, 1], not {value!r}.")


def min_connections_for(
    a: float,
    *,
    max_wait_probability: float | None = None,
    max_p95_wait_s: float | None = None,
    max_rejection: float | None = None,
    hold_s: float,
) -> int:
    """The smallest pool size N (>= 1) that meets every target given, under the M/M/N models.

    ``max_wait_probability`` and ``max_p95_wait_s`` are Erlang C targets (``blocking=True``),
    ``max_rejection`` an Erlang B target (``blocking=False``). At least one target is required.
    Walks N upwards carrying the Erlang B recursion along, so the cost is O(N).
    """
    _check_load(a)
    _check_hold(hold_s)
    if max_wait_probability is None and max_p95_wait_s is None and max_rejection is None:
        raise BadInput("Give at least one target: a wait probability, p95 wait or rejection rate.")
    _check_fraction("wait probability", max_wait_probability)
    _check_fraction("rejection", max_rejection)
    if max_p95_wait_s is not None and not (is_number(max_p95_wait_s) and max_p95_wait_s >= 0):
        raise BadInput(f"The p95 wait target must be seconds >= 0, not {max_p95_wait_s!r}.")
    waits = max_wait_probability is not None or max_p95_wait_s is not None
    b = 1.0
    for n in range(1, MAX_SEARCH + 1):
        b = a * b / (n + a * b)
        if max_rejection is not None and b > max_rejection:
            continue
        if not waits:
            return n
        if a >= n:
            continue
        c = n * b / (n - a * (1.0 - b))
        if max_wait_probability is not None and c > max_wait_probability:
            continue
        if max_p95_wait_s is not None and c > 0.05:
            p95 = hold_s / (n - a) * math.log(c / 0.05)
            if p95 > max_p95_wait_s:
                continue
        return n
    raise BadInput(
        f"No pool of up to {MAX_SEARCH} connections meets that target; relax it or lower the load."
    )


def hikari_pool_size(core_count: int, spindles: int = 0) -> int:
    """HikariCP's (and the PostgreSQL wiki's) rule of thumb for the connections *actively working*.

    connections = core_count x 2 + effective_spindle_count (0 spindles when the working set is
    cached). It is a sanity bound on the whole fleet's busy connections, not a formula to obey:
    beyond it the database itself saturates and more connections only add contention.
    """
    if isinstance(core_count, bool) or not isinstance(core_count, int) or core_count < 1:
        raise BadInput(f"The database core count must be a whole number >= 1, not {core_count!r}.")
    if isinstance(spindles, bool) or not isinstance(spindles, int) or spindles < 0:
        raise BadInput(f"The spindle count must be a whole number >= 0, not {spindles!r}.")
    return core_count * 2 + spindles


def deadlock_free_size(threads: int, connections_per_request: int) -> int:
    """Smallest pool that cannot deadlock when each thread holds up to Cm connections at once.

    HikariCP's pool-locking formula Tn x (Cm - 1) + 1: even if every thread holds Cm - 1
    connections and waits for its last one, one connection is left for some thread to finish.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise BadInput(f"The thread count must be a whole number >= 1, not {threads!r}.")
    if (
        isinstance(connections_per_request, bool)
        or not isinstance(connections_per_request, int)
        or connections_per_request < 1
    ):
        raise BadInput(
            "The connections held at once per request must be a whole number >= 1, "
            f"not {connections_per_request!r}."
        )
    return threads * (connections_per_request - 1) + 1
