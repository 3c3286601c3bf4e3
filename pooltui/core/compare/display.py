"""What the CLI prints of a comparison or of repeats: plain aligned text, no colour.

Every figure is shown with its noise (median ±spread over the runs), a change as B/A, or as
B - A where A is within noise of zero (a ratio to 0.00 ms says nothing), and the tail users tune
for (the worst acquire wait of any run, every error) next to the medians, never hidden by them.
"""

from __future__ import annotations

from collections.abc import Sequence

from pooltui.core.compare.noise import (
    Difference,
    Spread,
    format_ratio,
    format_signed,
    format_value,
)
from pooltui.core.compare.runner import FIGURES, Comparison, Figure, Repeats, changes


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    head = "  ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True))
    return "\n".join(line.rstrip() for line in [head, *lines])


def _unit(figure: Figure) -> str:
    return f" {figure.unit}" if figure.unit else ""


def change_cells(difference: Difference, figure: Figure) -> tuple[str, str]:
    """(the change, its 95 % interval): ``-52.2 %`` and ``[-55.4, -48.4] %`` for a ratio,
    ``+3.00 ms`` and ``[+1.00, +5.00] ms`` for a difference."""
    if difference.relative:
        low, high = (format_ratio(x, unit="") for x in (difference.low, difference.high))
        return format_ratio(difference.change), f"[{low}, {high}] %"
    unit = _unit(figure)
    return (
        f"{format_signed(difference.change)}{unit}",
        f"[{format_signed(difference.low)}, {format_signed(difference.high)}]{unit}",
    )


def comparison_rows(comparison: Comparison) -> list[tuple[str, str, str, str, str, str]]:
    """(figure, A, B, B/A or B - A, 95 % interval, verdict) per figure."""
    rows = []
    for figure in FIGURES:
        difference = comparison.differences.get(figure.name)
        if difference is None:
            continue
        change, interval = change_cells(difference, figure)
        rows.append(
            (
                figure.label,
                difference.a.describe(_unit(figure)),
                difference.b.describe(_unit(figure)),
                change,
                interval,
                str(difference.verdict),
            )
        )
    return rows


def format_comparison(comparison: Comparison) -> str:
    """The text report of ``pooltui compare``."""
    a, b = comparison.a, comparison.b
    runs = comparison.runs
    duration = a.workload.duration_s
    changed = changes(a, b)
    lines = [
        f"A: {a.label}",
        f"B: {b.label}",
        "B changes: " + (", ".join(changed) if changed else "nothing: the same configuration as A"),
        f"{len(runs)} runs of {format_value(duration)} s in A/B/B/A order "
        f"({''.join(run.side for run in runs)}), {len(comparison.pairs)} pairs in "
        f"{comparison.rounds_judged} rounds judged (each B run against the A run beside it; "
        "the intervals resample rounds)",
    ]
    if comparison.processes > 1:
        lines.append(
            f"each run a fleet of {comparison.processes} processes, each with its own fresh pool "
            "and the threads; figures are the fleet's exact merge"
        )
    if not comparison.differences:
        lines.append("no pair of runs completed: nothing to compare.")
        return "\n".join(lines)
    header = ("figure", "A", "B", "B/A or B-A", "95 % interval", "verdict")
    lines += ["", _table(header, comparison_rows(comparison)), "", tail_line(comparison)]
    if comparison.rounds_judged < 2:
        lines.append("one round only: no noise estimate; more --rounds give a verdict.")
    if not changed:
        lines.append(
            "A and B are the same configuration: every difference above is noise; its size is "
            "what a real change has to exceed."
        )
    note = client_bound_note(comparison)
    if note:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def client_bound_note(comparison: Comparison) -> str | None:
    """Why two runs of one side can differ by half on SQLite: when most runs were bound by the
    client's CPU (about one core, the GIL's ceiling), the throughput measures how fast the
    interpreter ran on a shared machine at that moment, not the pool; an embedded database
    runs its queries in that same process. The note names how far runs of one side drifted
    apart, the size a real change must exceed. None when the client was not the bottleneck."""
    from pooltui.core.drivers.registry import driver_for_module
    from pooltui.core.numbers import figure, share

    runs = [run for run in comparison.runs if run.result.requests]
    bound = [run for run in runs if run.result.client.saturated]
    if not runs or 2 * len(bound) < len(runs):
        return None
    worst: tuple[float, str] | None = None
    for side in ("A", "B"):
        rates = [
            (run.result.throughput_rps, i + 1) for i, run in enumerate(runs) if run.side == side
        ]
        if len(rates) < 2:
            continue
        (low, slow), (high, fast) = min(rates), max(rates)
        if high > 0 and (worst is None or 1 - low / high > worst[0]):
            worst = (1 - low / high, f"{side}: run {fast} against run {slow}")
    cores = sorted(run.result.client.cores for run in bound)[len(bound) // 2]
    driver = driver_for_module(runs[0].result.driver)
    inside = (
        "; the embedded database runs its queries in that same process"
        if driver is not None and not driver.has_server
        else ""
    )
    drift = (
        ""
        if worst is None
        else f" Runs of one side differed by up to {share(worst[0])} ({worst[1]}): a "
        "difference smaller than that is this machine's noise, not the pool's."
    )
    return (
        f"{len(bound)} of {len(runs)} runs were bound by the client's CPU ({figure(cores, 'cores')}"
        f" cores: with the GIL about all Python threads can use){inside}, so their throughput "
        "follows how fast the interpreter ran on this machine at that moment (other processes, "
        f"the CPU's caches and clock) more than the pool.{drift}"
    )


def tail_line(comparison: Comparison) -> str:
    """The worst of every paired run: the tail a median of medians would hide."""
    worst = comparison.differences["max_acquire_ms"]
    errors = comparison.differences["errors"]
    return (
        f"tail: the longest acquire wait of any run A {format_value(worst.a.high)} ms, "
        f"B {format_value(worst.b.high)} ms; errors in all runs A {sum(errors.a.values):.0f}, "
        f"B {sum(errors.b.values):.0f}"
    )


def repeats_rows(spreads: dict[str, Spread]) -> list[tuple[str, str, str, str]]:
    """(figure, median, min to max, ±) per figure."""
    rows = []
    for figure in FIGURES:
        s = spreads[figure.name]
        relative = s.relative
        spread_cell = (
            f"±{format_value((s.high - s.low) / 2)}{_unit(figure)}"
            if relative is None or s.near_zero
            else f"±{relative * 100:.1f} %"
        )
        rows.append(
            (
                figure.label,
                f"{format_value(s.median)}{_unit(figure)}",
                f"{format_value(s.low)} to {format_value(s.high)}",
                spread_cell,
            )
        )
    return rows


def format_repeats(repeats: Repeats) -> str:
    """The spread table of ``pooltui bench --repeat``."""
    runs = repeats.runs
    judged = repeats.complete or runs
    lines = [
        f"{len(runs)} runs of {format_value(repeats.side.workload.duration_s)} s on one warm pool; "
        f"each figure over the {len(judged)} complete runs:",
        "",
        _table(("figure", "median", "min to max", "spread"), repeats_rows(repeats.spreads)),
    ]
    return "\n".join(lines)
