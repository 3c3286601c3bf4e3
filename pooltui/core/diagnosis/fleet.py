"""One shared external pooler against W private pools, by pooltui's queueing model.

A fleet of W processes with a private pool of n connections each holds W x n server
connections, and a request can only use the n of its own process: a busy process queues while
another's connections sit idle. An external pooler (PgBouncer in transaction mode, ProxySQL)
lets the W processes share the same N = W x n server connections, so the fleet is one M/M/N
queue instead of W M/M/n queues. Same assumptions as ``queueing``: Poisson arrivals spread
evenly over the processes, exponential holds, the server no slower with more busy sessions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pooltui.core.diagnosis.queueing import (
    erlang_c,
    mean_wait_s,
    min_connections_for,
    wait_percentile_s,
)
from pooltui.core.numbers import figure, ms, percent, rate


@dataclass(frozen=True)
class Layout:
    """One way to give the fleet its server connections, and the waits the model predicts."""

    name: str
    server_connections: int
    wait_probability: float
    mean_wait_ms: float  # inf: the queue cannot keep up
    p99_wait_ms: float

    def as_dict(self) -> dict[str, Any]:
        def ms(v: float) -> float | None:
            return None if math.isinf(v) else round(v, 3)

        return {
            "layout": self.name,
            "server_connections": self.server_connections,
            "wait_probability": round(self.wait_probability, 6),
            "mean_wait_ms": ms(self.mean_wait_ms),
            "p99_wait_ms": ms(self.p99_wait_ms),
        }


@dataclass(frozen=True)
class PoolerComparison:
    """W private pools of n against one pooler sharing W x n, and the smallest shared pool
    that waits no more than the private pools do (what the pooler saves the server)."""

    processes: int
    per_process: int
    rate_per_s: float
    hold_ms: float
    private: Layout
    shared: Layout
    shared_enough: int | None  # None: the private pools cannot keep up either

    def lines(self, pooler: str) -> list[str]:
        """The text the fleet's report and diagnose print."""

        def wait(layout: Layout) -> str:
            if math.isinf(layout.mean_wait_ms):
                return "cannot keep up (offered load >= connections)"
            return (
                f"P(wait) {percent(layout.wait_probability)}, mean wait "
                f"{ms(layout.mean_wait_ms)}, p99 wait {ms(layout.p99_wait_ms)}"
            )

        load = self.rate_per_s * self.hold_ms / 1000.0
        out = [
            f"shared pooler vs private pools (queueing model, M/M/N: "
            f"{rate(self.rate_per_s, ' req/s')} x {ms(self.hold_ms)} held = "
            f"{figure(load, 'connections')} connections busy on average):",
            f"  {self.processes} private pools of {self.per_process}: {wait(self.private)}",
            f"  one {pooler} sharing {self.shared.server_connections} server connections: "
            f"{wait(self.shared)}",
        ]
        if self.shared_enough is not None:
            out.append(
                f"  a {pooler} needs only {self.shared_enough} server connections to wait no "
                f"more than the private pools (they hold {self.private.server_connections})"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "processes": self.processes,
            "per_process": self.per_process,
            "rate_per_s": round(self.rate_per_s, 3),
            "hold_ms": round(self.hold_ms, 3),
            "private": self.private.as_dict(),
            "shared": self.shared.as_dict(),
            "shared_enough": self.shared_enough,
        }


def _layout(name: str, n: int, a: float, hold_s: float) -> Layout:
    if a >= n:
        return Layout(name, n, 1.0, math.inf, math.inf)
    return Layout(
        name,
        n,
        erlang_c(n, a),
        mean_wait_s(n, a, hold_s) * 1000.0,
        wait_percentile_s(n, a, hold_s, 0.99) * 1000.0,
    )


def compare_pooler(
    processes: int, per_process: int, rate_per_s: float, hold_s: float
) -> PoolerComparison | None:
    """The model's two layouts for a fleet offered ``rate_per_s`` (all processes together),
    each request holding its connection ``hold_s`` on average; None without a load to model."""
    if processes < 1 or per_process < 1 or not rate_per_s > 0 or not hold_s > 0:
        return None
    a = rate_per_s * hold_s
    private = _layout(f"{processes} x {per_process} private", per_process, a / processes, hold_s)
    private = Layout(
        private.name,
        processes * per_process,
        private.wait_probability,
        private.mean_wait_ms,
        private.p99_wait_ms,
    )
    shared = _layout("shared", processes * per_process, a, hold_s)
    enough = None
    if not math.isinf(private.mean_wait_ms):
        target = max(private.wait_probability, 1e-9)
        enough = min(
            min_connections_for(a, max_wait_probability=min(target, 1.0), hold_s=hold_s),
            processes * per_process,
        )
    return PoolerComparison(
        processes, per_process, rate_per_s, hold_s * 1000.0, private, shared, enough
    )
