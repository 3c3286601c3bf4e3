"""One look at a target before tuning: can we connect, how long does it take, what are the limits.

Shared by `pooltui check`, the console's connect screen and the wizard's measured answers.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from pooltui.core.config import PoolConfig, SessionGuards, Workload
from pooltui.core.errors import BadInput, RunFailed, describe_db_error
from pooltui.core.probes import ServerInfo, probe_server
from pooltui.core.targets import DriverFacts, Target

if TYPE_CHECKING:
    from pooltui.core.host import HostedPool
    from pooltui.core.pool import InstrumentedPool


@dataclass(frozen=True)
class Latencies:
    """Medians of a few real round trips: what a connect and one query cost on this target."""

    connect_ms: float
    query_ms: float
    samples: int


@dataclass(frozen=True)
class CheckReport:
    target: str
    kind: str
    backend: str
    facts: DriverFacts
    server: ServerInfo
    latencies: Latencies

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "target": self.target,
            "kind": self.kind,
            "backend": self.backend,
            "driver": asdict(self.facts),
            "server": asdict(self.server) | {"usable_connections": self.server.usable_connections},
            "connect_ms": round(self.latencies.connect_ms, 3),
            "query_ms": round(self.latencies.query_ms, 3),
        }


MEASURE_GUARDS = SessionGuards(read_only=True, statement_timeout_s=30.0)


def measure_latencies(target: Target, query: str = "SELECT 1", samples: int = 3) -> Latencies:
    """Open `samples` connections one after another and time the connect and one query on each.

    The query is the user's (diagnose --query, the wizard): it runs read-only and bounded by a
    statement timeout, like every workload session, and a write is refused by the server."""
    connects: list[float] = []
    queries: list[float] = []
    for _ in range(max(1, samples)):
        started = time.perf_counter()
        con = target.connect()
        connects.append(time.perf_counter() - started)
        try:
            try:
                target.guard_session(con, MEASURE_GUARDS)
            except Exception as error:
                raise RunFailed(describe_db_error(error, target)) from None
            cursor = con.cursor()
            started = time.perf_counter()
            try:
                cursor.execute(query)
                if cursor.description:
                    cursor.fetchall()
            except Exception as error:
                raise RunFailed(describe_db_error(error, target)) from None
            queries.append(time.perf_counter() - started)
            cursor.close()
        finally:
            con.close()
    return Latencies(
        connect_ms=statistics.median(connects) * 1000,
        query_ms=statistics.median(queries) * 1000,
        samples=len(connects),
    )


def check_target(target: Target, query: str = "SELECT 1", samples: int = 3) -> CheckReport:
    latencies = measure_latencies(target, query, samples)
    return CheckReport(
        target=target.redacted,
        kind=target.kind,
        backend=target.backend,
        facts=target.facts,
        server=probe_server(target),
        latencies=latencies,
    )


def most_connections(config: PoolConfig, workload: Workload) -> int:
    """The most connections a run of ``workload`` can make the pool open at once (effective
    config): maxconnections when set, else one per thread (and the mincached opened at start)."""
    if config.maxconnections:
        return config.maxconnections
    return max(workload.threads, config.mincached)


def capacity_problem(
    server: ServerInfo,
    config: PoolConfig,
    workload: Workload,
    target: Target,
    *,
    own: int = 0,
    processes: int = 1,
) -> str | None:
    """A sentence when the run could take more connections than the server has free now, or
    None. Without it the run ends in "too many connections" (and a superuser's pool takes the
    slots the server keeps for administrators); a server that does not say gives None. ``own``:
    connections the pool already has open (counted in use, but the run reuses them).
    ``processes``: a fleet of that many processes, each with its own pool of ``config``: the
    fleet needs ``processes`` times the pool's connections, and the sentence says what fits
    per process."""
    usable, in_use = server.usable_connections, server.connections_in_use
    if usable is None or in_use is None:
        return None
    free = max(0, usable - in_use + own)
    most = most_connections(config, workload)
    if most * processes <= free:
        return None
    reserved = server.reserved_connections or 0
    kept = f", {reserved} more kept for superusers" if reserved and server.reserves_inside else ""
    if processes > 1:
        return _fleet_problem(server, config, workload, target, processes, free, kept)
    if config.maxconnections:
        bound, fix = "maxconnections", f"set maxconnections to at most {free}"
    elif config.mincached >= workload.threads:
        bound, fix = "mincached, opened at once", f"set mincached to at most {free}"
    else:
        bound = "one per thread: maxconnections is 0"
        fix = f"set maxconnections (or threads) to at most {free}"
    return (
        f"This run can open {most} connections ({bound}) but the server at "
        f"{target.redacted} has {free} free ({usable} usable, {in_use} in use{kept}): "
        f"{fix}, or free connections on the server."
    )


def _fleet_problem(
    server: ServerInfo,
    config: PoolConfig,
    workload: Workload,
    target: Target,
    processes: int,
    free: int,
    kept: str,
) -> str:
    """capacity_problem's sentence for a fleet: W private pools multiply (the failure nobody
    computes: gunicorn's workers x pool size), so it names the product and the per-process
    figure that fits."""
    most = most_connections(config, workload)
    per = free // processes
    if config.maxconnections:
        bound = f"maxconnections {most}"
    elif config.mincached >= workload.threads:
        bound = f"mincached {most}, opened at once"
    else:
        bound = f"one per thread, {most} threads: maxconnections is 0"
    fix = (
        f"set maxconnections to at most {per} per process"
        if per
        else f"run at most {free} processes with maxconnections 1"
    )
    return (
        f"This fleet of {processes} processes, each with its own pool ({bound}), can open "
        f"{processes} x {most} = {processes * most} connections but the server at "
        f"{target.redacted} has {free} free ({server.usable_connections} usable, "
        f"{server.connections_in_use} in use{kept}): {fix}, use fewer processes, or share "
        "the server's connections through an external pooler."
    )


def refuse_beyond_capacity(pool: InstrumentedPool | HostedPool, workload: Workload) -> None:
    """Before a run on an existing pool: BadInput (capacity_problem's sentence) when the server
    has fewer free slots than the run could take."""
    server = probe_server(pool.target)
    problem = capacity_problem(
        server,
        pool.validation.effective,
        workload,
        pool.target,
        own=pool.snapshot(timings=False).open,
    )
    if problem:
        raise BadInput(problem)
