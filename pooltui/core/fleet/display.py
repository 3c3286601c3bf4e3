"""The text of a fleet run: one row per process, the fleet's totals beside the server's count,
the shared-pooler comparison where the server has one, then the merged run's usual report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pooltui.core.checks import most_connections
from pooltui.core.diagnosis.fleet import PoolerComparison, compare_pooler
from pooltui.core.numbers import count, ms, rate

if TYPE_CHECKING:
    from pooltui.core.fleet.runner import FleetResult
    from pooltui.core.targets import Target


def pooler_comparison(fleet: FleetResult) -> PoolerComparison | None:
    """The model's shared pooler vs the fleet's private pools, at the fleet's measured rate
    and hold time (None without a finished run)."""
    result = fleet.result
    if result is None or not result.hold.count:
        return None
    per = most_connections(result.config, result.workload)
    return compare_pooler(fleet.size, per, result.throughput_rps, result.hold.mean / 1000.0)


def format_fleet(fleet: FleetResult, target: Target) -> str:
    """The per-process table, the totals, the pooler comparison and the merged report."""
    from pooltui.core.report import format_run

    lines = [
        f"fleet: {fleet.size} processes x {fleet.threads} threads, each with its own pool",
        f"  {'process':<18} {'req/s':>9} {'p95 ms':>8} {'acq max ms':>10} {'errors':>7} "
        f"{'peak open':>9}  closed",
    ]
    for p in fleet.processes:
        r = p.result
        if r is None or p.error:
            lines.append(f"  {p.name:<18} {p.error or 'no result'}")
            if r is None:
                continue
        lines.append(
            f"  {p.name:<18} {r.throughput_rps:>9.1f} {r.latency.p95:>8.2f} "
            f"{r.acquire.max:>10.2f} {r.errors:>7} {r.pool.peak_open:>9}  "
            f"{p.left.sessions} left"
        )
    merged = fleet.result
    if merged is not None:
        lines.append(
            f"  {'fleet (merged)':<18} {merged.throughput_rps:>9.1f} {merged.latency.p95:>8.2f} "
            f"{merged.acquire.max:>10.2f} {merged.errors:>7} {fleet.peak_open_sum:>9}  "
            f"{fleet.left.sessions} left"
        )
    if fleet.census or fleet.ready_census is not None:
        lines.append(
            f"server: counted up to {fleet.peak_server} of the fleet's sessions at once "
            f"(the processes' peak open gauges add up to {fleet.peak_open_sum})"
        )
    server = fleet.server
    if server is not None and server.usable_connections is not None:
        free = server.free_connections
        lines.append(
            f"headroom: the server allows {server.usable_connections} connections to an "
            f"application ({free} were free before the run: {server.free_per_process(fleet.size)}"
            " per process)"
        )
    pooler = target.dialect.external_pooler
    comparison = pooler_comparison(fleet) if pooler else None
    if pooler and comparison is not None:
        lines += comparison.lines(pooler)
    lines += [f"note: {event}" for event in fleet.events]
    if merged is not None:
        lines += ["", "the fleet's run, merged (histograms added, not percentiles averaged):"]
        lines.append(format_run(merged))
    return "\n".join(lines)


def diagnosis_lines(
    processes: int,
    per_process: int,
    rate_per_s: float,
    hold_ms: float,
    pooler: str | None,
    fleet: FleetResult | None,
) -> list[str]:
    """What ``pooltui diagnose`` adds for a fleet: the shared pooler against the private pools
    (where the server has one) at the answered peak, and the measured fleet run if one ran."""
    lines: list[str] = []
    comparison = (
        compare_pooler(processes, per_process, rate_per_s, hold_ms / 1000.0)
        if pooler and processes > 1
        else None
    )
    if pooler and comparison is not None:
        lines += ["", *comparison.lines(pooler)]
    if fleet is not None:
        merged = fleet.result
        lines += ["", f"Measured fleet ({fleet.size} processes, the recommended pool each):"]
        if merged is None:
            lines.append(f"  no process finished its run: {fleet.fatal_error}")
        else:
            lines.append(
                f"  {rate(merged.throughput_rps, ' req/s')}, acquire p95 {ms(merged.acquire.p95)}"
                f" p99 {ms(merged.acquire.p99)} max {ms(merged.acquire.max)}, "
                f"{count(merged.errors, 'error')} ({merged.server_full} too many connections); the "
                f"server counted up to {fleet.peak_server} of the fleet's sessions"
            )
        lines += [f"  {p.name}: {p.error}" for p in fleet.failed]
        lines += [f"  note: {event}" for event in fleet.events]
        lines.append(f"  {fleet.left.sentence()}")
    return lines
