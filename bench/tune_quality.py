"""How good `pooltui tune`'s pick is: against an exhaustive grid over the same space, in the
same process, on PostgreSQL and MariaDB, for workloads that differ in hold time, query cost,
thread count and pattern.

Per workload and server:
- the grid: the space tune's search varies (search.SEARCHED), exhaustively: every
  maxconnections 1..threads (maxcached following, mincached 0 as in DBUtils' defaults) x ping
  {0, 1} x reset {True, False} x blocking {True, False}, as a user scripting it would; tune's
  search asks for blocking=False only from the threads up (search.blocking_searched: below
  them a non-blocking pool only rejects), so the time share is also printed against the part
  of the grid the search can ask for, the stricter figure; each measured as tune measures a
  point (one batch: a fresh pre-opened pool, an unmeasured run, two measured runs); its best
  by Measurement.value (a percentile pooled over the batch's requests, as tune judges it);
- tune: ``core.tune.tuner.tune`` from DBUtils' defaults, its budget in search trials; its time
  to a recommendation (sweep + search) and with the proof (which is tune vs DBUtils' defaults:
  A/B/B/A with a 95 % interval);
- the ratio: the grid's best (A) against tune's pick (B) in one fresh A/B/B/A comparison (the
  objective's B/A with its interval, a p99 over the pooled requests; for p99, A/B so that
  >= 0.95 is good either way), not the two searches' own numbers, which are the best of many
  noisy draws; its runs are --check-s long (1 s), and for a percentile objective long enough
  that each side pools --check-tail requests beyond the percentile (300: 30 000 requests a
  side for a p99, the search's own judgement pools 10 beyond it), so the ratio of two p99s is
  read off a tail known to about ±2/sqrt(300) = ±12 % in rank, not ±63 %;
- HikariCP's (2 x cores) + 0 and DBUtils' defaults read off the grid (DBUtils' unbounded pool
  opens one connection per thread here: the grid's point at the thread count with ping=1,
  reset=True).

A p99 (the open case's objective) is judged only on the requests measure.TAIL_REQUESTS asks
for (1000): the grid's points and tune's alike run long enough for them (measure.measure); a
point that could not is counted in the table's "low" column.

Goal (issue 13): ratio >= 0.95 in <= 1/5 of the grid's time; tune beats DBUtils' defaults where
they are poor (MariaDB's ping=1 and reset=True each cost a round trip). Other processes on the
machine widen the noise: the load average is printed. Per case, tune's time per phase (sweep,
search, confirm, proof: measurements and runs) says where its fixed cost goes.

    .venv/bin/python bench/tune_quality.py [--run-s 0.3] [--trials 4] [--only NAME] [--dsn DSN]
    .venv/bin/python bench/tune_quality.py --quick     # QUICK: 4 cases, ~10 min on 2 quiet cores
    # (551 s once at load 2-4; --check-tail 300 made the open case's check runs 6.6 s, not
    # 1 s: about 110 s of it)
    .venv/bin/python bench/tune_quality.py --case pg:fast --case mariadb:open
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import threading
import time
from dataclasses import dataclass, replace

from pooltui.core.compare.runner import FIGURES, Comparison, Side, run_comparison
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.diagnosis.queueing import hikari_pool_size
from pooltui.core.load.arrivals import is_open_loop
from pooltui.core.load.client_cpu import machine_cores
from pooltui.core.targets import Target, parse_dsn
from pooltui.core.tune.display import config_line
from pooltui.core.tune.measure import (
    Measurement,
    Plan,
    measure,
    pooled_count,
    pooled_percentile,
)
from pooltui.core.tune.proof import DBUTILS_DEFAULTS
from pooltui.core.tune.search import OBJECTIVES, blocking_searched
from pooltui.core.tune.sweep import size_config
from pooltui.core.tune.tuner import Budget, TuneRequest, phases, tune

SERVERS = {
    "pg": "postgresql://postgres@127.0.0.1:5432/test",
    # this MariaDB has no TLS: without ssl_disabled PyMySQL 1.2 still builds a TLS context at
    # every connect, 25 ms of CPU each (drivers/mysql.py), 0.3 s of every fresh pool of 12 and
    # about a third of both the grid's and tune's time, measuring the client library, not the
    # pool; it is what pooltui's own advice tells a user of such a server to set
    "mariadb": "mysql://root@127.0.0.1:3306/test?ssl_disabled=true",
}
#: a representative subset, one of each workload, the servers alternating (--quick)
QUICK = ("pg:fast", "mariadb:hold", "pg:query", "mariadb:open")


@dataclass(frozen=True)
class Case:
    name: str
    workload: Workload
    objective: str = "throughput"
    queries: tuple[str, str] | None = None  # (PostgreSQL, MariaDB) when not SELECT 1


CASES = (
    Case("fast: SELECT 1, no hold, 12 threads", Workload(threads=12)),
    Case("hold: SELECT 1, 5 ms hold, 12 threads", Workload(threads=12, hold_ms=5)),
    Case(
        "query: a costlier query, 8 threads",
        Workload(threads=8),
        queries=(
            "SELECT sum(g) FROM generate_series(1, 20000) g",
            "SELECT BENCHMARK(20000, MD5('pooltui'))",
        ),
    ),
    Case(
        # 500/s so that a grid point gathers a p99's 1000 requests in two 1.1 s runs (at 300/s
        # with 12 workers it took 3.7 s a point, 6 minutes a grid; 600/s outran a loaded
        # machine's client, 38 of 64 points overloaded); 5 ms hold: about 2.6 connections
        # busy, so sizes 1 and 2 are overloaded and not stretched (measure.overloaded)
        "open: poisson 500/s, 5 ms hold, 8 workers, p99",
        Workload(threads=8, hold_ms=5, pattern="poisson", rate=500),
        objective="p99",
    ),
)


def key(case: Case) -> str:
    """The case's short name (``fast``, ``open``): what --case and --only name."""
    return case.name.split(":")[0]


def chosen(args: argparse.Namespace) -> list[tuple[str, str, Case]]:
    """(server name, DSN, case) to run, in order: --case/--quick pairs, else every case (or
    --only's) on every server (--dsn's, else SERVERS)."""
    pairs = list(args.case or ()) + (list(QUICK) if args.quick else [])
    by_key = {key(c): c for c in CASES}
    if pairs:
        found = []
        for pair in pairs:
            server, _, name = pair.partition(":")
            if server not in SERVERS or name not in by_key:
                raise SystemExit(
                    f"--case {pair!r}: give server:case, server one of {', '.join(SERVERS)}, "
                    f"case one of {', '.join(by_key)}."
                )
            found.append((server, SERVERS[server], by_key[name]))
        return found
    dsns = (
        {f"{parse_dsn(d).backend}{i or ''}": d for i, d in enumerate(args.dsn)}
        if args.dsn
        else SERVERS
    )
    return [
        (server, dsn, case)
        for server, dsn in dsns.items()
        for case in CASES
        if not args.only or case.name.startswith(args.only)
    ]


def grid(base: PoolConfig, threads: int) -> list[PoolConfig]:
    """Every configuration of the space: the searched parameters' every combination."""
    return [
        replace(size_config(base, n), ping=ping, reset=reset, blocking=blocking)
        for n, ping, reset, blocking in itertools.product(
            range(1, threads + 1), (0, 1), (True, False), (True, False)
        )
    ]


def searchable(config: PoolConfig, threads: int) -> bool:
    """Whether tune's search can ask for ``config`` (search.blocking_searched)."""
    return config.blocking or blocking_searched(config.maxconnections, threads)


def quantile_of(figure: str) -> float | None:
    """The percentile (99 for a p99) figure ``figure`` pools, None for one that is none."""
    found = next(f for f in FIGURES if f.name == figure)
    return None if found.pooled is None else found.pooled[1]


def check_run_s(
    args: argparse.Namespace, workload: Workload, figure: str, rates: tuple[float, float]
) -> float:
    """The check's run length: --check-s, or longer for a percentile objective, so that each
    side's 2 x --check-rounds runs pool --check-tail requests beyond the percentile at the
    workload's rate (an open loop) or the slower side's measured throughput."""
    quantile = quantile_of(figure)
    if quantile is None or args.check_tail <= 0:
        return float(args.check_s)
    tail: int = args.check_tail
    needed = math.ceil(tail / (1.0 - quantile / 100.0))
    rate = workload.rate if is_open_loop(workload.pattern) and workload.rate > 0 else min(rates)
    if rate <= 0:
        return float(args.check_s)
    rounds: int = args.check_rounds
    return max(float(args.check_s), 1.1 * needed / (rate * 2 * rounds))


def value(m: Measurement, figure: str) -> float:
    return m.value(figure)


def run_case(target: Target, case: Case, args: argparse.Namespace) -> dict[str, object]:
    workload = case.workload
    if case.queries:
        query = case.queries[0 if target.backend == "postgresql" else 1]
        workload = replace(workload, query=query)
    figure, higher = OBJECTIVES[case.objective]
    plan = Plan(run_s=args.run_s, runs_per_batch=2, max_batches=1, objective=figure)
    stop = threading.Event()

    started = time.monotonic()
    measured = []
    for config in grid(DBUTILS_DEFAULTS, workload.threads):
        measured.append(measure(target, config, workload, plan, stop=stop))
    grid_s = time.monotonic() - started
    searchable_s = sum(m.seconds for m in measured if searchable(m.config, workload.threads))
    feasible = [m for m in measured if m.usable and not m.errors]
    best = (max if higher else min)(feasible, key=lambda m: value(m, figure))

    request = TuneRequest(
        config=DBUTILS_DEFAULTS,
        workload=workload,
        budget=Budget(trials=args.trials),
        objective=case.objective,
        run_s=args.run_s,
        proof_rounds=args.proof_rounds,
        max_batches=1,
    )
    result = tune(target, request, stop=stop)
    pick = result.best
    assert pick is not None, "tune found no feasible configuration"
    to_pick_s = (result.sweep.seconds if result.sweep else 0.0) + (
        result.search.seconds if result.search else 0.0
    )

    rates = (
        best.figure("throughput_rps").median,
        pick.judged.figure("throughput_rps").median,
    )
    check_s = check_run_s(args, workload, figure, rates)
    check = run_comparison(
        target,
        Side(best.config, replace(workload, duration_s=check_s), "grid best"),
        Side(pick.config, replace(pick.workload, duration_s=check_s, requests=0), "tune pick"),
        args.check_rounds,
        stop=stop,
        warmup_s=0.1,
    )
    d = check.differences[figure]
    if not d.relative:  # A within noise of zero: the comparison judged B - A, not B / A
        ratio = d.b.median / d.a.median if d.a.median else float("nan")
        ratio = ratio if higher or not ratio else 1 / ratio
        low = high = float("nan")
    elif higher:
        ratio, low, high = d.change, d.low, d.high
    else:
        ratio, low, high = 1 / d.change, 1 / d.high, 1 / d.low

    def grid_at(n: int, ping: int, reset: bool) -> Measurement:
        return next(
            m
            for m in measured
            if m.config.maxconnections == n
            and m.config.ping == ping
            and m.config.reset == reset
            and m.config.blocking
        )

    hikari = min(hikari_pool_size(machine_cores()), workload.threads)
    defaults = grid_at(workload.threads, 1, True)
    proof = result.proof.difference if result.proof else None
    unit = "req/s" if higher else "ms"
    print(f"\n  {case.name}")
    print(
        f"    grid best   {value(best, figure):9.2f} {unit}  {config_line(best.config)}  "
        f"({len(measured)} configs, {grid_s:.1f} s)"
    )
    print(
        f"    tune pick   {pick.value:9.2f} {unit}  {config_line(pick.config)}  "
        f"({to_pick_s:.1f} s to the pick = {to_pick_s / grid_s:.2f} of the grid's, "
        f"{to_pick_s / searchable_s:.2f} of its searchable part's; "
        f"{result.seconds:.1f} s with the proof)"
    )
    print(
        f"    ratio       {ratio:.3f} [{low:.3f}, {high:.3f}] (A/B/B/A x{args.check_rounds} of "
        f"{check_s:.3g} s, "
        f"{d.verdict} for tune's pick vs the grid's best)"
    )
    tail = tail_check(check, figure, args, (value(best, figure), pick.value), unit)
    if tail is not None:
        print(f"    tail        {tail[0]}")
    print(
        f"    HikariCP    {value(grid_at(hikari, 1, True), figure):9.2f} {unit}  "
        f"maxconnections={hikari} (2 x {machine_cores()} cores, capped at the threads)"
    )
    print(
        f"    DBUtils     {value(defaults, figure):9.2f} {unit}  defaults (one connection a "
        "thread, ping=1, reset=True)"
        + (f"; proof, tune vs defaults: {proof.describe()} {proof.verdict}" if proof else "")
    )
    fit = result.sweep.fit if result.sweep else None
    if fit is not None:
        print(f"    USL         {fit.sentence()}")
    spent = phases(result)
    print(
        "    phases      "
        + ", ".join(
            f"{name} {p.seconds:.1f} s ({p.measurements} measured, {p.runs} runs"
            + (f", {p.ended_early} ended at errors" if p.ended_early else "")
            + ")"
            for name, p in spent.items()
        )
        + f"; grid {len(measured)} measured"
    )
    trials = result.search.trials if result.search else ()
    # which configuration erred, and how (the search spent one run on it)
    for t in (t for t in trials if t.measurement.ended_early):
        kinds: dict[str, int] = {}
        for r in t.measurement.runs:
            kinds.update(r.error_kinds)
        print(
            f"    ended early #{t.number} {config_line(t.config, t.workload.threads)}: "
            f"{t.measurement.errors} errors {dict(sorted(kinds.items()))}"
        )
    low_grid = sum(m.low_confidence for m in measured)
    low_tune = sum(p.low_confidence for p in spent.values())
    if low_grid or low_tune:
        print(
            f"    requests    short of the {plan.needed} a {figure} needs: {low_grid} grid "
            f"points, {low_tune} of tune's measurements (low confidence)"
        )
    return {
        "ratio": ratio,
        "low": low,
        "high": high,
        "grid_value": value(best, figure),
        "pick_value": pick.value,
        "hikari_value": value(grid_at(hikari, 1, True), figure),
        "hikari": hikari,
        "unit": unit,
        "grid_s": grid_s,
        "tune_s": to_pick_s,
        "time_share": to_pick_s / grid_s,
        "searchable_share": to_pick_s / searchable_s,
        "check_s": check_s,
        "tail": "-" if tail is None else str(tail[1]),
        "grid_size": best.config.maxconnections,
        "pick_size": pick.config.maxconnections,
        "pick_threads": pick.workload.threads,
        "low_confidence": low_grid + low_tune,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-s", type=float, default=0.3, help="each measured run, s")
    parser.add_argument(
        "--trials",
        type=int,
        default=4,
        help="tune's search trials (4: its three starts, the knee, the peak and the top "
        "without ping and reset, and one of TPE's; 6 cost 0.26 of an 8-thread grid's time)",
    )
    parser.add_argument("--proof-rounds", type=int, default=2)
    parser.add_argument(
        "--check-rounds",
        type=int,
        default=5,
        help="grid best vs tune pick (3 rounds read "
        "one configuration against itself as 0.964 [0.737, 1.194] under load)",
    )
    parser.add_argument(
        "--check-s",
        type=float,
        default=1.0,
        help="each run of that comparison, s (its p99 at "
        "300/s needs the requests: 0.3 s runs gave intervals of 0.4-2.4)",
    )
    parser.add_argument(
        "--check-tail",
        type=int,
        default=300,
        metavar="N",
        help="for a percentile objective (the open case's p99), stretch that comparison's "
        "runs until each side pools N requests beyond the percentile (300: 30 000 for a p99; "
        "0: --check-s alone)",
    )
    parser.add_argument("--only", help="the cases whose name starts with this")
    parser.add_argument("--dsn", action="append", help="servers (default: the shared two)")
    parser.add_argument(
        "--case",
        action="append",
        metavar="SERVER:CASE",
        help=f"one case on one server (pg or mariadb; {', '.join(key(c) for c in CASES)}), "
        "repeatable",
    )
    parser.add_argument("--quick", action="store_true", help=f"the cases {', '.join(QUICK)}")
    args = parser.parse_args()
    todo = chosen(args)
    print(f"load average before: {os.getloadavg()}; {machine_cores()} cores")
    started = time.monotonic()
    summary = []
    for server, dsn, case in todo:
        target = parse_dsn(dsn)
        print(f"\n{server} {target.redacted}")
        summary.append((server, key(case), run_case(target, case, args)))
    print(f"\nload average after: {os.getloadavg()}; {time.monotonic() - started:.0f} s in all")
    print("\n" + "\n".join(table(summary)))
    print("(goal: ratio >= 0.95 with its interval's low end near it, time share <= 0.20)")
    print(
        "(low: measurements short of their percentile's requests; tail: the check's requests "
        "beyond the p99, the fewer side's, for a p99 objective)"
    )
    return 0


def tail_check(
    check: Comparison,
    figure: str,
    args: argparse.Namespace,
    searched: tuple[float, float],
    unit: str,
) -> tuple[str, int] | None:
    """The requests the check pooled beyond the percentile per side (what a p99's ratio rests
    on) beside the two p99s it read and the ones the grid and tune had read on their own
    TAIL_REQUESTS, and the fewer of the two sides' requests beyond it; None for an objective
    that is no percentile."""
    quantile = quantile_of(figure)
    if quantile is None:
        return None
    share = 1.0 - quantile / 100.0
    counts, pooled = {}, {}
    for side in "AB":
        runs = tuple(r.result for r in check.runs if r.side == side and r.complete)
        counts[side] = pooled_count(runs, figure)
        pooled[side] = pooled_percentile(runs, figure) or math.nan
    wanted = f"wanted {args.check_tail}" if args.check_tail > 0 else "--check-tail 0"
    line = (
        f"{figure} over {counts['A']} / {counts['B']} requests, "
        f"{counts['A'] * share:.0f} / {counts['B'] * share:.0f} beyond it ({wanted}): "
        f"grid best {pooled['A']:.2f} {unit}, tune pick {pooled['B']:.2f} {unit} "
        f"(their own measurements read {searched[0]:.2f} and {searched[1]:.2f})"
    )
    return line, math.floor(min(counts.values()) * share)


def table(summary: list[tuple[str, str, dict[str, object]]]) -> list[str]:
    """Per case: the grid's best, tune's pick, the ratio with its interval, both times, the
    share, HikariCP's pick (its value read off the grid)."""
    header = (
        "server", "case", "grid best", "tune pick", "ratio [95 % interval]", "grid s", "tune s",
        "share", "of searchable", "HikariCP", "low", "tail",
    )  # fmt: skip
    rows = []
    for server, name, f in summary:
        unit = f["unit"]
        rows.append(
            (
                server,
                name,
                f"{f['grid_value']:.2f} {unit} @{f['grid_size']}",
                f"{f['pick_value']:.2f} {unit} @{f['pick_size']}",
                f"{f['ratio']:.3f} [{f['low']:.3f}, {f['high']:.3f}]",
                f"{f['grid_s']:.0f}",
                f"{f['tune_s']:.0f}",
                f"{f['time_share']:.2f}",
                f"{f['searchable_share']:.2f}",
                f"{f['hikari_value']:.2f} {unit} @{f['hikari']}",
                str(f["low_confidence"]),
                str(f["tail"]),
            )
        )
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
