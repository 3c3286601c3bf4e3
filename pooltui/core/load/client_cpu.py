"""How much CPU the client (pooltui's own process) used during a run, and whether it set the
ceiling.

On a small machine the load generator runs out of CPU before the pool does: every request costs
the client Python code (the engine, DBUtils, the driver), and with the GIL a process's threads
run Python code on about one core at a time, however many there are. A run whose client used
about a core measured the client, not the pool. The sampler reads the process's CPU time
(``time.process_time``: user + system, every thread) at the start, on every tick and at the end;
nothing runs per request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pooltui.core.numbers import figure, share

# Cores of CPU time per wall second at which the client counts as saturated: just under one,
# because the GIL lets Python threads run Python code on one core at a time (the C parts, a
# driver's I/O, SQLite's engine, may use more, but the Python part is already the ceiling
# then). A machine has at least one core, so this comes before "all its cores".
SATURATED_CORES = 0.9


def machine_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def client_saturated(cores: float, machine: float) -> bool:
    """Did a client that used ``cores`` (CPU seconds per wall second) on a machine of
    ``machine`` cores run out of CPU? Near one core (the GIL's ceiling for Python code), or
    near all the machine has when that is less (a CPU quota below one core)."""
    return cores >= SATURATED_CORES * min(1.0, machine if machine > 0 else 1.0)


@dataclass(frozen=True)
class ClientCpu:
    """The client process's CPU over a run: ``cpu_s`` CPU seconds in ``wall_s`` wall seconds
    on a machine of ``machine_cores``."""

    cpu_s: float = 0.0
    wall_s: float = 0.0
    machine_cores: int = 1

    @property
    def cores(self) -> float:
        """Cores used: CPU seconds per wall second (1.0 = one core busy all the run)."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def share(self) -> float:
        """Of the machine's cores (0..1)."""
        return self.cores / self.machine_cores if self.machine_cores else 0.0

    @property
    def saturated(self) -> bool:
        return client_saturated(self.cores, self.machine_cores)

    def sentence(self, embedded: bool = False) -> str:
        """The warning a saturated run carries (``embedded``: the database runs inside the
        client too, as SQLite does)."""
        inside = " (the embedded database runs in it too)" if embedded else ""
        return (
            f"the client, not the pool, set this ceiling: pooltui's process{inside} used "
            f"{figure(self.cores, 'cores')} cores of CPU ({share(self.share)} of the machine's "
            f"{self.machine_cores}), and with the GIL Python threads cannot use much more than "
            "one core: more threads will not raise the throughput; run the load from several "
            "processes or a bigger machine to measure the pool"
        )

    def __add__(self, other: ClientCpu) -> ClientCpu:
        """Two processes that ran at once (a fleet): their CPU adds over the longer run."""
        return ClientCpu(
            self.cpu_s + other.cpu_s,
            max(self.wall_s, other.wall_s),
            max(self.machine_cores, other.machine_cores),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "cpu_s": round(self.cpu_s, 3),
            "wall_s": round(self.wall_s, 3),
            "cores": round(self.cores, 3),
            "machine_cores": self.machine_cores,
            "share": round(self.share, 3),
            "saturated": self.saturated,
        }
