"""Fleet mode: W application processes, each with its own pool and T threads, against one
server (runner.py: the parent; worker.py: one spawned process; pooler.py: one shared external
pooler against W private pools, by the queueing model)."""

from pooltui.core.fleet.runner import (
    Census,
    FleetResult,
    FleetSample,
    ProcessOutcome,
    merge_fleet,
    run_fleet,
    share_workload,
)

__all__ = [
    "Census",
    "FleetResult",
    "FleetSample",
    "ProcessOutcome",
    "merge_fleet",
    "run_fleet",
    "share_workload",
]
