"""Plain-text reports for the headless CLI: aligned, greppable, no colour codes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pooltui.core.diagnosis.rules import run_findings
from pooltui.core.errors import explain_error_kind
from pooltui.core.load.results import STARVED_SHARE
from pooltui.core.numbers import count, figure, ms, rate, seconds, share

if TYPE_CHECKING:
    from pooltui.core.checks import CheckReport
    from pooltui.core.faults.drill import DrillReport
    from pooltui.core.load.engine import RunResult, WarmupResult
    from pooltui.core.pool.leaks import LeakReport


def _rows(pairs: list[tuple[str, Any]]) -> str:
    width = max(len(label) for label, _ in pairs)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in pairs)


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


def check_rows(report: CheckReport) -> list[tuple[str, str]]:
    """The check's figures as (label, value) rows: `pooltui check` and the connect screen."""
    server = report.server
    facts = report.facts
    return [
        ("target", report.target),
        ("driver", f"{facts.module_name}, threadsafety {facts.threadsafety}"),
        (
            "can ping",
            "yes" if facts.can_ping else "no: DBUtils' ping is a no-op unless ping_query is set",
        ),
        ("can share", "yes" if facts.can_share else "no: maxshared is ignored"),
        ("server", server.described),
        ("max_connections", _or_dash(server.max_connections)),
        ("reserved", _or_dash(server.reserved_connections)),
        ("in use now", _or_dash(server.connections_in_use)),
        ("usable for apps", _or_dash(server.usable_connections)),
        ("wait_timeout", _or_dash(server.wait_timeout_s) + (" s" if server.wait_timeout_s else "")),
        ("connect", f"{ms(report.latencies.connect_ms)} (median of {report.latencies.samples})"),
        ("SELECT 1", ms(report.latencies.query_ms)),
    ]


def format_check(report: CheckReport) -> str:
    notes = "\n".join(f"  - {note}" for note in report.facts.notes)
    return _rows(check_rows(report)) + ("\nnotes:\n" + notes if notes else "")


def _summary_line(summary: Any) -> str:
    return (
        f"p50 {_ms8(summary.p50)}  p95 {_ms8(summary.p95)}  p99 {_ms8(summary.p99)}  "
        f"p99.9 {_ms8(summary.p999)}  max {_ms8(summary.max)}  mean {_ms8(summary.mean)} ms"
    )


def _ms8(value: float) -> str:
    """Milliseconds in an 8-column cell of the shared format."""
    return figure(value, "ms").rjust(8)


WORST_THREADS = 3  # the least-served threads the text summary names (the JSON has them all)


def _percent(share: float) -> str:
    """A share for people: two significant digits below 1 %, none needed above 10 %."""
    value = share * 100.0
    if value >= 10 or value == 0:
        return f"{value:.0f} %"
    return f"{value:.1f} %" if value >= 1 else f"{value:.2g} %"


def _seconds(value: float) -> str:
    return f"{value:g} s" if value >= 1 else f"{value * 1000:g} ms"


def tail_lines(result: RunResult) -> list[str]:
    """The tail of a run in a few lines: fairness and the least-served threads, the
    acquire-timeout what-if, and the findings (starvation, ...)."""
    lines = []
    threads = result.per_thread
    fairness = result.fairness
    if threads and fairness is not None:
        worst = sorted(threads, key=lambda t: (t.ok, -t.longest_wait_ms))[:WORST_THREADS]
        named = "; ".join(
            f"{t.name} {t.ok:,} ok, {t.waits:,} waited, longest {ms(t.longest_wait_ms)}"
            + (f" (still waiting {ms(t.waiting_ms)})" if t.waiting_ms else "")
            for t in worst
        )
        lines.append(
            f"threads: {len(threads)}, fairness {figure(fairness, 'index')} (Jain's index on "
            f"successful requests, 1 = even), {len(result.starved)} starved (served < "
            f"{share(STARVED_SHARE)} of the mean); least served: {named}"
        )
    rungs = result.timeout_what_if()
    if rungs:
        shares = ", ".join(f"{_seconds(t)} {_percent(share)}" for t, share in rungs)
        lines.append(f"acquire timeout what-if (share of acquires that would fail): {shares}")
    elif result.acquire.count:
        lines.append(
            f"acquire timeout what-if: no acquire took {_seconds(0.01)} or more, so no "
            "timeout on the ladder would have failed a request"
        )
    lines.extend(f"finding: {advice.message}" for advice in run_findings(result))
    return lines


def leak_lines(result: RunResult) -> list[str]:
    """The run's leaks, one entry per stack (a load loop's 64 workers held at one line are
    one entry, not 64): the first's hold and thread, how many more and the longest hold, and
    the stack (where it was taken, or where a load loop's worker held it when found)."""
    by_stack: dict[tuple[str, str], list[LeakReport]] = {}
    for leak in result.leaks:
        by_stack.setdefault((leak.stack_at, leak.stack), []).append(leak)
    lines = []
    for leaks in by_stack.values():
        first = leaks[0]
        held = seconds(first.held_s)
        if not first.returned:
            held += " or more (not back when last seen)"
        head = f"leak: held {held} by thread {first.thread}"
        if len(leaks) > 1:
            longest = max(leak.held_s for leak in leaks)
            head += (
                f", and {count(len(leaks) - 1, 'more leak')} at this stack (the longest held "
                f"{seconds(longest)})"
            )
        lines.append(f"{head}, {first.stack_title}:\n{first.stack}")
    return lines


def format_run(result: RunResult, warmup: WarmupResult | None = None) -> str:
    stats = result.pool
    lines = []
    if warmup is not None:
        lines.append(
            f"warm-up: opened {count(warmup.opened, 'connection')} "
            f"(cold acquire {ms(warmup.cold_acquire_ms)}, "
            f"warm {ms(warmup.warm_acquire_ms)})"
        )
    state = "failed" if result.fatal_error else "stopped early" if result.stopped else "finished"
    lines.append(
        f"run {state}: {count(result.requests, 'request')}, {count(result.errors, 'error')} in "
        f"{seconds(result.duration_s)} = {rate(result.throughput_rps, ' req/s')}"
    )
    lines.append(
        _rows(
            [
                ("latency", _summary_line(result.latency)),
                ("acquire", _summary_line(result.acquire)),
                ("query", _summary_line(result.query)),
                ("hold", _summary_line(result.hold)),
            ]
        )
    )
    lines.append(
        f"pool: peak checked out {stats.peak_checked_out}, peak open {stats.peak_open}, "
        f"peak waiting {stats.peak_waiting}, peak overflow {stats.peak_overflow}; "
        f"connects {stats.connects}, closes {stats.closes}, rejections {stats.rejections}, "
        f"connect errors {stats.connect_errors}"
    )
    lines.append(
        f"       reconnects {stats.reconnects}, statements re-run by DBUtils "
        f"{stats.reexecutions}; rows {result.rows}, cut short by the end "
        f"{result.cancelled}"
    )
    lines.extend(tail_lines(result))
    lines.append(_lock_line(result))
    lines.append(_client_line(result))
    if result.error_kinds:
        kinds = ", ".join(
            f"{explain_error_kind(kind)}: {n:,}" for kind, n in sorted(result.error_kinds.items())
        )
        lines.append(f"errors by kind: {kinds}")
    for outage in result.outages:
        recovery = outage.recovery_s
        lines.append(
            f"outage: from {seconds(outage.started_s)}, "
            + (
                f"recovered after {seconds(recovery)}"
                if recovery is not None
                else "not recovered by the end"
            )
            + f", {count(outage.failed, 'request')} failed: {outage.error}"
        )
    for stall in result.stalls:
        until = seconds(stall.ended_s) if stall.ended_s is not None else "the end"
        lines.append(
            f"stall: no request completed from {seconds(stall.started_s)} to {until} "
            f"with up to {stall.in_flight} in flight"
        )
    lines.extend(leak_lines(result))
    guards = result.guards
    lines.append(
        f"session: {'read-only' if guards.read_only else 'writes allowed'}, statement "
        f"timeout {guards.statement_timeout_s * 1000:.0f} ms"
    )
    lines.extend(f"event: {event}" for event in result.events)
    return "\n".join(lines)


def _lock_line(result: RunResult) -> str:
    """The round trips DBUtils made holding its pool lock: each kind's total and count."""
    lock = result.pool.under_lock
    of_run = lock.total_ms / 1000.0 / result.duration_s if result.duration_s > 0 else 0.0
    share_of_run = share(of_run)
    parts = ", ".join(
        f"{kind} {ms(lock.ms(kind))} ({lock.count(kind)})" for kind in ("connect", "ping", "reset")
    )
    return f"pool lock held for round trips: {parts} = {share_of_run} of the run"


def _client_line(result: RunResult) -> str:
    """The client process's own CPU: when it is saturated the run measured the client."""
    client = result.client
    return (
        f"client CPU: {figure(client.cores, 'cores')} cores ({share(client.share)} of the "
        f"machine's {client.machine_cores}) over {seconds(client.wall_s)}"
        + (": saturated, the client, not the pool, set this ceiling" if client.saturated else "")
    )


def _drill_row(report: DrillReport) -> list[str]:
    t = report.timeline
    detected = (
        "not seen" if t.detected_after_s is None else f"{seconds(t.detected_after_s)} ({t.symptom})"
    )
    recovered = "no" if t.recovered_after_s is None else seconds(t.recovered_after_s)
    outcome = (
        "ok"
        if report.ok
        else "; ".join(
            ([] if report.recovered else ["not recovered"])
            + ([f"{report.connections_left} left open"] if report.connections_left else [])
        )
    )
    return [
        report.scenario,
        detected,
        recovered,
        str(report.requests_failed),
        str(report.retried_statements),
        str(report.connections_left),
        outcome,
    ]


def format_drills(reports: list[DrillReport]) -> str:
    """`pooltui drill`: one row per drill (the figures), then each drill's fault and advice."""
    if not reports:
        return "no drill ran"
    table = [
        ["drill", "detected after", "recovered after", "failed", "retried", "left", "result"],
        *(_drill_row(r) for r in reports),
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [f"target: {reports[0].target}"]
    lines += [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    for report in reports:
        lines.append(
            f"{report.scenario}: {report.fault}; {count(report.requests, 'request')} in "
            f"{seconds(report.duration_s)}"
        )
        if report.fatal_error:
            lines.append(f"  run ended early: {report.fatal_error}")
        lines.extend(f"  - {advice}" for advice in report.advice)
    return "\n".join(lines)
