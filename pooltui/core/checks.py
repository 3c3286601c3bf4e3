"""One look at a target before tuning: can we connect, how long does it take, what are the limits.

Shared by `pooltui check`, the console's connect screen and the wizard's measured answers.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

from pooltui.core.errors import RunFailed, describe_db_error
from pooltui.core.probes import ServerInfo, probe_server
from pooltui.core.targets import DriverFacts, Target


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


def measure_latencies(target: Target, query: str = "SELECT 1", samples: int = 3) -> Latencies:
    """Open `samples` connections one after another and time the connect and one query on each."""
    connects: list[float] = []
    queries: list[float] = []
    for _ in range(max(1, samples)):
        started = time.perf_counter()
        con = target.connect()
        connects.append(time.perf_counter() - started)
        try:
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


def check_target(target: Target, query: str = "SELECT 1") -> CheckReport:
    latencies = measure_latencies(target, query)
    return CheckReport(
        target=target.redacted,
        kind=target.kind,
        backend=target.backend,
        facts=target.facts,
        server=probe_server(target),
        latencies=latencies,
    )
