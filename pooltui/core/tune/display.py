# ruff: noqa: RUF001, RUF003
# (λ, σ and κ are the USL's own names)
"""The text report of a tune: the sweep's table, the fit, the search's best trials, the proof,
the rules of thumb. Shared by ``pooltui tune`` and the console's sweep screen."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pooltui.core.compare.noise import format_value
from pooltui.core.config import PoolConfig
from pooltui.core.tune.measure import TAIL_REQUESTS, Measurement
from pooltui.core.tune.search import PICK_TOLERANCE
from pooltui.core.tune.tuner import TuneProgress, TuneResult, phases

BEST_TRIALS_SHOWN = 5

#: What the report says when the proof measured the winner worse than the start
KEEP_START = (
    "recommendation: keep the starting configuration: side by side it beat the winner, whose "
    "search figures were the luck of its draws (the start is what --format writes and the "
    "console's a applies)"
)


# how a trial came to be measured, where it was not the search's own ask
SOURCE_NOTES = {
    "sweep": " (sweep)",
    "sibling": " (the leader without ping and reset)",
}


def config_line(config: PoolConfig, threads: int | None = None) -> str:
    """``maxconnections=4 maxcached=4 mincached=0 ping=0 reset=False blocking=True``."""
    text = (
        f"maxconnections={config.maxconnections} maxcached={config.maxcached} "
        f"mincached={config.mincached} ping={config.ping} reset={config.reset} "
        f"blocking={config.blocking}"
    )
    return text + (f" threads={threads}" if threads is not None else "")


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in
              enumerate(header)]  # fmt: skip
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return lines


def format_tune(result: TuneResult) -> str:
    lines: list[str] = []
    sweep = result.sweep
    if sweep is not None:
        headroom = "unknown" if sweep.headroom is None else str(sweep.headroom)
        lines.append(
            f"sweep: maxconnections 1..{sweep.upper} (maxcached following; headroom {headroom} "
            f"per process), {len(sweep.points)} sizes in {sweep.seconds:.1f} s"
        )
        rows = [
            (
                str(p.size),
                p.measurement.figure("throughput_rps").describe(),
                p.measurement.figure("p95_latency_ms").describe(" ms"),
                p.measurement.figure("p99_latency_ms").describe(" ms"),
                p.measurement.figure("p95_acquire_ms").describe(" ms"),
                format_value(p.measurement.figure("max_acquire_ms").high),
                str(p.measurement.errors),
                str(len(p.measurement.complete)),
                _requests(p.measurement),
            )
            for p in sweep.points
        ]
        header = (
            "size", "req/s", "p95", "p99", "acquire p95", "acq max", "errors", "runs", "requests"
        )  # fmt: skip
        lines += ["  " + line for line in _table(header, rows)]
        if any(p.measurement.low_confidence for p in sweep.points):
            lines.append(
                f"  ? fewer requests than its percentile needs ({TAIL_REQUESTS} beyond it) "
                "within the budget: that size's tail is a guess"
            )
        marks = [f"knee {sweep.knee}" if sweep.knee else "no knee"]
        if sweep.peak:
            marks.append(f"measured peak {sweep.peak}")
        if sweep.latency_knee is not None:
            marks.append(f"smallest size meeting the p99 target {sweep.latency_knee}")
        lines.append("  " + ", ".join(marks))
        if sweep.fit is not None:
            f = sweep.fit
            lines.append(
                f"  USL fit: λ {f.lam:.4g} ±{f.lam_se:.2g}, σ {f.sigma:.3g} ±{f.sigma_se:.2g}, "
                f"κ {f.kappa:.3g} ±{f.kappa_se:.2g}, R² {f.r2:.3f}"
            )
            lines.append(f"  {f.sentence()}")
        else:
            lines.append("  USL fit: too few sizes measured for a fit.")
        lines.append(f"  {result.cross_check.sentence(sweep.knee)}")
        lines.append(f"  {sweep.health_sentence()}")
        if sweep.stop_reason:
            lines.append(f"  {sweep.stop_reason}")
    search = result.search
    if search is not None:
        feasible = sum(t.feasible for t in search.trials)
        lines.append("")
        lines.append(
            f"search ({search.objective}, Optuna TPE): {len(search.trials)} trials, "
            f"{feasible} feasible, in {search.seconds:.1f} s"
            + (f" (and the sweep's {len(search.seeded)} sizes as seeds)" if search.seeded else "")
        )
        figure = "throughput_rps" if search.objective == "throughput" else "p99_latency_ms"
        unit = "" if figure == "throughput_rps" else " ms"
        higher = search.objective == "throughput"
        ranked = sorted(
            (t for t in search.candidates if math.isfinite(t.value)),
            key=lambda t: (not t.feasible, -t.value if higher else t.value),
        )[:BEST_TRIALS_SHOWN]
        for t in ranked:
            mark = "*" if search.best is not None and t.number == search.best.number else " "
            why = "" if t.feasible else f"  (infeasible: {'; '.join(t.violations)})"
            if t.measurement.ended_early:
                why += "  (ended at its first run with errors)"
            if t.judged.low_confidence:
                why += f"  (low confidence: {_requests(t.judged)})"
            lines.append(
                f" {mark}#{t.number:<3} {t.measurement.figure(figure).describe(unit):<22} "
                f"{config_line(t.config, t.workload.threads)}"
                f"{SOURCE_NOTES.get(t.source, '')}{why}"
            )
        smaller, best = search.smaller, search.best
        if smaller is not None and best is not None:
            lines.append(
                f"  a smaller pool within noise: #{smaller.number}, "
                f"maxconnections={smaller.config.maxconnections}, {smaller.value:.4g} against "
                f"the winner's {best.value:.4g} (a smaller pool is picked only within "
                f"{PICK_TOLERANCE:.0%} of the best and its noise)"
            )
        if search.early_stop:
            lines.append(f"  {search.early_stop}")
        if search.stop_reason:
            lines.append(f"  {search.stop_reason}")
    lines.append("")
    best = result.best
    if best is not None:
        lines.append(f"winner: {config_line(best.config, best.workload.threads)}")
    else:
        lines.append("winner: none (no trial met the constraints)")
    proof = result.proof
    if proof is not None:
        lines.append(f"proof: {proof.sentence()}")
        if result.keeps_start:
            lines.append(KEEP_START)
        for rule in proof.rules:
            measured = (
                f"sweep at {rule.measured_size}: {rule.throughput_rps:.1f} req/s, p99 "
                f"{rule.p99_ms:.2f} ms"
                if rule.measured_size is not None
                and rule.throughput_rps is not None
                and rule.p99_ms is not None
                else "not measured"
            )
            lines.append(f"  {rule.name}: {rule.size} connections ({measured})")
    spent = phases(result)
    if spent:
        lines.append(
            "time: "
            + ", ".join(
                f"{name} {p.seconds:.1f} s ({p.measurements} measured, {p.runs} runs"
                + (f", {p.low_confidence} low-confidence" if p.low_confidence else "")
                + (f", {p.ended_early} ended at errors" if p.ended_early else "")
                + ")"
                for name, p in spent.items()
            )
        )
    if result.stopped:
        lines.append("stopped: what was measured before the stop is kept above.")
    return "\n".join(lines)


def _requests(m: Measurement) -> str:
    """``1204`` or, short of what its percentile needs, ``420 of 1000?`` (a tail guessed)."""
    if m.low_confidence:
        return f"{m.requests} of {m.requests_needed}?"
    return str(m.requests)


def progress_line(progress: TuneProgress) -> str:
    """One line for a sweep point, a trial or a proof run (the CLI's stderr, the screen's log)."""
    if progress.point is not None:
        p = progress.point
        guess = (
            f" (low confidence: {_requests(p.measurement)})" if p.measurement.low_confidence else ""
        )
        return (
            f"size {p.size}: {p.measurement.figure('throughput_rps').describe(' req/s')}, "
            f"p95 {p.p95_ms:.2f} ms{guess}"
        )
    if progress.trial is not None:
        t = progress.trial
        feasible = "" if t.feasible else f" (infeasible: {'; '.join(t.violations)})"
        if t.measurement.low_confidence:
            feasible += f" (low confidence: {_requests(t.measurement)})"
        return f"trial {t.number}: {config_line(t.config)}: {t.value:.4g}{feasible}"
    if progress.run is not None:
        r = progress.run
        return (
            f"proof run {r.index}/{r.total} ({r.label}): {r.result.throughput_rps:.1f} req/s, "
            f"p99 {r.result.latency.p99:.2f} ms"
        )
    return ""
