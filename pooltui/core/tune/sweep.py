"""The sweep: ``maxconnections`` (with ``maxcached`` following) over a range, coarse first and
then dense around the measured peak and knee, in the workload's own pattern. A coarse point is
one batch (it ranks sizes far apart); the one dense pass (its DENSE_POINTS
nearest the peak) measures as the plan says. Every point is a seed of the search
(search.run_search), which refines the rest and confirms the best side by side.

Before each size the server's health is probed (``Health``: other sessions in use and, where
the dialect can say, how many run a statement: ``Dialect.active_sessions``) and kept with it.

The range is 1 to the most connections the workload can use (its threads: a closed loop keeps
at most one connection per thread, an open loop serves with that many workers), capped by the
server's headroom for this process. Each point is a ``measure.Measurement`` (repeated until its
throughput's noise band is narrow, or its batches or the time run out). Before each point the
server is probed: a server that refuses the probe or a run (it is down, or full) stops the sweep
with one sentence and the points measured so far are kept, as they are when ``stop`` is set.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.errors import BadInput, PooltuiError
from pooltui.core.probes import ServerInfo, probe_server
from pooltui.core.targets import Target
from pooltui.core.tune import usl
from pooltui.core.tune.measure import Measurement, Plan, measure

COARSE_POINTS = 5  # the first pass at most: geometric from 1 to the top of the range
MAX_POINTS = 14  # the sweep never measures more sizes than this
DENSE_PASSES = 1  # passes of dense_sizes after the coarse one: the search refines the rest
# (every point measured is one of its seeds), so a second pass bought time, not a better pick
DENSE_POINTS = 1  # of that pass, the size nearest the measured peak: the search's starts
# are at the knee, the peak and the top, and its TPE trials refine sizes (a second dense
# point was one measurement in seven of the sweep for a size the search could ask for)


@dataclass(frozen=True)
class Point:
    """One size of the sweep and its measurement."""

    size: int
    measurement: Measurement
    server: Health | None = None  # the server's health probed just before it

    @property
    def throughput(self) -> float:
        return self.measurement.figure("throughput_rps").median

    @property
    def throughput_noise(self) -> float:
        """Half the throughput's range over the runs: the ± a plot draws."""
        s = self.measurement.figure("throughput_rps")
        return (s.high - s.low) / 2

    @property
    def p95_ms(self) -> float:
        return self.measurement.value("p95_latency_ms")

    @property
    def p99_ms(self) -> float:
        return self.measurement.value("p99_latency_ms")

    def as_dict(self) -> dict[str, Any]:
        server = None if self.server is None else self.server.as_dict()
        return {"size": self.size, "server": server, **self.measurement.as_dict()}


@dataclass(frozen=True)
class Health:
    """The server's load as a probe between sizes saw it (the sweep's own pools closed):
    other clients' sessions, and how many of them were running a statement."""

    in_use: int | None  # sessions in use (ServerInfo.connections_in_use)
    active: int | None  # of them running a statement (Dialect.active_sessions; None: unknown)

    def sentence(self) -> str:
        in_use = "?" if self.in_use is None else str(self.in_use)
        active = "" if self.active is None else f", {self.active} active"
        return f"server: {in_use} other sessions{active}"

    def as_dict(self) -> dict[str, int | None]:
        return {"sessions_in_use": self.in_use, "active_sessions": self.active}


def health_of(server: ServerInfo) -> Health:
    return Health(server.connections_in_use, server.active_sessions)


@dataclass(frozen=True)
class SweepProgress:
    """What ``on_point`` gets after every measured size."""

    point: Point
    done: int  # sizes measured so far
    planned: int  # the sizes planned so far (grows as the dense pass adds some)
    elapsed_s: float
    left_s: float  # the sweep's time left (its share of the budget)


@dataclass(frozen=True)
class Sweep:
    """The measured curve, its fit and what it says."""

    points: tuple[Point, ...]  # in size order
    upper: int  # the top of the range
    headroom: int | None  # the server's free connections for this process at the start
    fit: usl.Fit | None
    knee: int | None
    peak: int | None  # the measured size with the highest throughput
    latency_knee: int | None  # the smallest size meeting the latency target (if one was given)
    stopped: bool = False
    stop_reason: str | None = None  # one sentence when the server ended it
    seconds: float = 0.0
    health: tuple[int | None, ...] = field(default=())  # the server's sessions in use per probe
    active: tuple[int | None, ...] = field(default=())  # of them running a statement, per probe

    @property
    def sizes(self) -> list[int]:
        return [p.size for p in self.points]

    def point(self, size: int) -> Point | None:
        return next((p for p in self.points if p.size == size), None)

    def nearest(self, size: int) -> Point | None:
        """The measured point closest to ``size`` (ties: the smaller)."""
        if not self.points:
            return None
        return min(self.points, key=lambda p: (abs(p.size - size), p.size))

    def as_dict(self) -> dict[str, Any]:
        return {
            "points": [p.as_dict() for p in self.points],
            "upper": self.upper,
            "headroom": self.headroom,
            "fit": None if self.fit is None else self.fit.as_dict(),
            "knee": self.knee,
            "peak": self.peak,
            "latency_knee": self.latency_knee,
            "stopped": self.stopped,
            "stop_reason": self.stop_reason,
            "seconds": round(self.seconds, 3),
            "server_sessions_in_use": list(self.health),
            "server_active_sessions": list(self.active),
        }

    def health_sentence(self) -> str:
        """The server's load during the sweep, by the probes between its sizes."""
        in_use = [n for n in self.health if n is not None]
        active = [n for n in self.active if n is not None]
        if not in_use:
            return "server health: the server cannot count its sessions."
        text = f"server health: {_span(in_use)} other sessions in use"
        if active:
            text += f", {_span(active)} of them running a statement"
        elif self.active:
            text += " (the server cannot say how many were running a statement)"
        return text + f" (probed before each of {len(self.health)} sizes)."


def _span(values: list[int]) -> str:
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}-{high}"


def size_config(base: PoolConfig, size: int) -> PoolConfig:
    """``base`` at pool size ``size``: maxcached follows maxconnections (every connection may
    stay idle, so none is churned), mincached at most the size, and blocking (a caller beyond
    the size waits: with ``blocking=False`` a small pool measures its rejections, not its
    throughput; the search tries blocking=False on its own)."""
    return replace(
        base,
        maxconnections=size,
        maxcached=size,
        mincached=min(base.mincached, size),
        maxshared=0,
        blocking=True,
    )


def coarse_sizes(upper: int, points: int = COARSE_POINTS) -> list[int]:
    """Geometric sizes from 1 to ``upper`` (1, 2, 4, 8, 16 for 16), no more of them than it
    takes for each to be at most double the one before (1, 2, 4, 8 for 8, not 1, 2, 3, 5, 8):
    a finer coarse pass costs a measurement the dense pass and the search refine anyway."""
    points = min(points, math.ceil(math.log2(upper)) + 1) if upper > 1 else 1
    if upper <= points:
        return list(range(1, upper + 1))
    return sorted({max(1, round(upper ** (i / (points - 1)))) for i in range(points)})


def dense_sizes(measured: dict[int, float], upper: int) -> list[int]:
    """The sizes to add next: midway into the gaps beside the peak and the knee."""
    if not measured:
        return []
    sizes = sorted(measured)
    throughputs = [measured[n] for n in sizes]
    peak = sizes[max(range(len(sizes)), key=lambda i: throughputs[i])]
    knee = usl.knee(sizes, throughputs) or peak
    wanted: set[int] = set()
    for anchor in {peak, knee}:
        i = sizes.index(anchor)
        for j in (i - 1, i + 1):
            if 0 <= j < len(sizes):
                mid = (sizes[i] + sizes[j]) // 2
                if mid not in measured and 1 <= mid <= upper:
                    wanted.add(mid)
    return sorted(wanted)


def sweep_range(workload: Workload, headroom: int | None, top: int | None = None) -> int:
    """The top of the range: the workload's threads (or ``top``), within the headroom."""
    upper = top if top else workload.threads
    if headroom is not None:
        upper = min(upper, headroom)
    return max(1, upper)


def run_sweep(
    target: Target,
    base: PoolConfig,
    workload: Workload,
    plan: Plan,
    *,
    stop: threading.Event | None = None,
    budget_s: float | None = None,
    processes: int = 1,
    top: int | None = None,
    latency_target_ms: float | None = None,
    latency_figure: str = "p99_latency_ms",
    on_point: Callable[[SweepProgress], None] | None = None,
) -> Sweep:
    """Measure the curve; see the module doc. ``budget_s``: no new point starts after it (the
    one in progress finishes its batch). CannotConnect when the server cannot be probed at the
    start; later refusals end the sweep with ``stop_reason`` instead."""
    stop = stop if stop is not None else threading.Event()
    started = time.monotonic()
    deadline = None if budget_s is None else started + budget_s
    server = probe_server(target)
    headroom = server.free_per_process(processes)
    if headroom is not None and headroom < 1:
        raise BadInput(
            f"The server at {target.redacted} has no free connection for this process "
            f"({server.free_connections} free among {processes} processes): free some first."
        )
    upper = sweep_range(workload, headroom, top)
    points: dict[int, Point] = {}
    health: list[Health] = [health_of(server)]
    queue = coarse_sizes(upper)
    planned = len(queue)
    passes = 0
    # the first pass ranks sizes far apart (1, 2, 3, 6, 12): one batch does (one run a size
    # failed tests/test_tune.py's knee direction once in four tries under load)
    coarse = replace(plan, max_batches=1)
    reason: str | None = None
    while queue and len(points) < MAX_POINTS:
        if stop.is_set() or (deadline is not None and time.monotonic() >= deadline):
            break
        size = queue.pop(0)
        try:
            if points:  # the first probe was the one above
                health.append(health_of(probe_server(target)))
            point_deadline = None if deadline is None else max(deadline, time.monotonic())
            m = measure(
                target,
                size_config(base, size),
                workload,
                plan if passes else coarse,
                stop=stop,
                deadline=point_deadline,
            )
        except PooltuiError as error:
            reason = (
                f"The sweep stopped at size {size}: {error} It kept the {len(points)} sizes "
                "measured before."
            )
            break
        if m.usable:
            points[size] = Point(size, m, health[-1])
        if m.fatal_error:
            reason = (
                f"The sweep stopped at size {size}: {m.fatal_error} It kept the "
                f"{len(points)} sizes measured before."
            )
            break
        if on_point is not None and size in points:
            elapsed = time.monotonic() - started
            left = max(0.0, deadline - time.monotonic()) if deadline is not None else math.nan
            on_point(SweepProgress(points[size], len(points), planned, elapsed, left))
        if not queue and passes < DENSE_PASSES:
            passes += 1
            measured = {n: p.throughput for n, p in points.items()}
            peak = max(measured, key=measured.__getitem__, default=0)
            dense = dense_sizes(measured, upper)
            queue = sorted(sorted(dense, key=lambda n: (abs(n - peak), n))[:DENSE_POINTS])
            planned += len(queue)
    return summarise(
        points.values(),
        upper=upper,
        headroom=headroom,
        stopped=stop.is_set(),
        reason=reason,
        seconds=time.monotonic() - started,
        latency_target_ms=latency_target_ms,
        latency_figure=latency_figure,
        health=tuple(h.in_use for h in health),
        active=tuple(h.active for h in health),
    )


def summarise(
    measured: Any,
    *,
    upper: int,
    headroom: int | None,
    stopped: bool = False,
    reason: str | None = None,
    seconds: float = 0.0,
    latency_target_ms: float | None = None,
    latency_figure: str = "p99_latency_ms",
    health: tuple[int | None, ...] = (),
    active: tuple[int | None, ...] = (),
) -> Sweep:
    """The Sweep of the points measured so far: fit, knee, peak (the console calls it on a
    partial sweep too)."""
    points = tuple(sorted(measured, key=lambda p: p.size))
    sizes = [p.size for p in points]
    throughputs = [p.throughput for p in points]
    fitted = usl.fit(sizes, throughputs, [p.throughput_noise for p in points]) if points else None
    peak = sizes[max(range(len(sizes)), key=lambda i: throughputs[i])] if sizes else None
    latency_knee = None
    if latency_target_ms is not None:
        latency_knee = next(
            (p.size for p in points if p.measurement.value(latency_figure) <= latency_target_ms),
            None,
        )
    return Sweep(
        points=points,
        upper=upper,
        headroom=headroom,
        fit=fitted,
        knee=usl.knee(sizes, throughputs),
        peak=peak,
        latency_knee=latency_knee,
        stopped=stopped,
        stop_reason=reason,
        seconds=seconds,
        health=health,
        active=active,
    )
