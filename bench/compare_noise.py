"""Whether `pooltui compare`'s verdicts can be trusted: A/A and A/B comparisons on PostgreSQL
and MariaDB.

A/A compares one configuration with itself (the same settings on both sides): the verdict should
say "within noise" for throughput and latency p95 in >= 95 % of trials. A/B compares a known
change (hold 1 ms vs 4 ms, maxconnections 4, 8 threads of SELECT 1): it should say "worse" in
>= 95 %. Each trial is one `core.compare.runner.run_comparison`, as `pooltui compare` runs it.
Printed per server: both rates (per figure, and both figures at once), the trials, and the wall
time one comparison takes; `--raw FILE` keeps every run's figures and histograms (written after
every trial), `--judge FILE` re-judges saved trials without running anything (to try a change to
core/compare/noise.py), `--one-pool-per-side` runs the method before the fix (one pool per side
for the whole comparison, whose A/A rate was 82-92 %).

Sized for a 2-core machine: 0.5 s runs, the CLI's default rounds (5: 20 runs, about 12 s a
comparison), 30 trials per case per server (about 25 minutes). Other processes on the machine
widen the noise; the load average is printed before and after.

    .venv/bin/python bench/compare_noise.py [--trials 30] [--rounds 3] [--duration 0.5]
        [--only aa|ab] [--dsn DSN ...] [--raw FILE] [--judge FILE] [--one-pool-per-side]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from pooltui.core.compare.noise import Verdict
from pooltui.core.compare.runner import FIGURES, Side, judge, pairs_of, run_comparison
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.pool.histogram import bucket_values_s
from pooltui.core.probes import probe_server
from pooltui.core.targets import parse_dsn

SERVERS = ("postgresql://postgres@127.0.0.1:5432/test", "mysql://root@127.0.0.1:3306/test")
WATCHED = ("throughput_rps", "p95_latency_ms")  # the figures the goals are about
GOAL = 0.95
POOL = PoolConfig(maxconnections=4)
WORKLOAD = Workload(threads=8, hold_ms=1.0)
CHANGED = {"hold_ms": 4.0}  # the A/B change: each request holds its connection 4x as long
DEFAULT_ROUNDS = 5  # pooltui compare's default (cli/compare.py)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30, help="comparisons per case and server")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="A/B/B/A rounds")
    parser.add_argument("--duration", type=float, default=0.5, help="each run, s")
    parser.add_argument("--only", choices=("aa", "ab"), help="one case only")
    parser.add_argument("--dsn", action="append", help="servers (default: the shared two)")
    parser.add_argument("--raw", type=Path, help="write every run's figures to this JSON file")
    parser.add_argument("--judge", type=Path, help="re-judge a --raw file; run nothing")
    parser.add_argument(
        "--one-pool-per-side",
        action="store_true",
        help="keep one pool per side for the whole comparison (the method before the fix)",
    )
    args = parser.parse_args()
    if args.judge:
        report(json.loads(args.judge.read_text()))
        return 0
    cases = [args.only] if args.only else ["aa", "ab"]
    saved: dict[str, Any] = {"load": [os.getloadavg()[0]], "servers": {}}
    print(f"load average (1 min) before: {os.getloadavg()[0]:.2f}", flush=True)
    for dsn in args.dsn or SERVERS:
        target = parse_dsn(dsn)
        product = probe_server(target).product
        workload = replace(WORKLOAD, duration_s=args.duration)
        changed = replace(workload, **CHANGED)
        saved["servers"][product] = server = {}
        for case in cases:
            b = workload if case == "aa" else changed
            trials = server[case] = []
            print(f"== {product} {case.upper()}: {args.trials} trials", end="", flush=True)
            for _ in range(args.trials):
                started = time.monotonic()
                comparison = run_comparison(
                    target,
                    Side(POOL, workload, "A"),
                    Side(POOL, b, "B"),
                    args.rounds,
                    fresh_pools=not args.one_pool_per_side,
                )
                trials.append(
                    {
                        "seconds": time.monotonic() - started,
                        "left": comparison.outcome.left_open,
                        "runs": [
                            [run.side, run.complete, run.figures, _histograms(run.result)]
                            for run in comparison.runs
                        ],
                    }
                )
                if args.raw:  # after every trial: a long run stopped midway keeps what it has
                    args.raw.write_text(json.dumps(saved | {"load": [*saved["load"], 0.0]}))
                print(".", end="", flush=True)
            print(flush=True)
    saved["load"].append(os.getloadavg()[0])
    if args.raw:
        args.raw.write_text(json.dumps(saved))
    report(saved)
    return 0


def _histograms(result: Any) -> dict[str, dict[str, int]]:
    """The run's latency and acquire histograms, sparse (bucket -> count), for --judge."""
    out = {}
    for name in ("latency", "acquire"):
        counts = getattr(result.histograms, name).counts
        out[name] = {str(i): int(counts[i]) for i in counts.nonzero()[0]}
    return out


def _dense(sparse: dict[str, int]) -> np.ndarray:
    counts = np.zeros(len(bucket_values_s()), dtype=np.int64)
    for bucket, count in sparse.items():
        counts[int(bucket)] = count
    return counts


def verdicts(trial: dict[str, Any]) -> dict[str, Verdict]:
    """The trial judged afresh from its runs' figures (so --judge sees a changed noise.py)."""
    sides = [run[0] for run in trial["runs"]]
    pairs = pairs_of(sides, [run[1] for run in trial["runs"]])
    histograms = [
        {name: _dense(sparse) for name, sparse in run[3].items()} if len(run) > 3 else None
        for run in trial["runs"]
    ]
    judged = judge(
        [run[2] for run in trial["runs"]],
        pairs,
        None if None in histograms else histograms,  # type: ignore[arg-type]
    )
    return {name: difference.verdict for name, difference in judged.items()}


def report(saved: dict[str, Any]) -> None:
    load = saved["load"]
    print(
        f"load average (1 min): {load[0]:.2f} before, {load[-1]:.2f} after ({os.cpu_count()} cores)"
    )
    for product, cases in saved["servers"].items():
        for case, trials in cases.items():
            want = Verdict.NOISE if case == "aa" else Verdict.WORSE
            judged = [verdicts(trial) for trial in trials]
            n = len(judged)
            seconds = statistics.median(t["seconds"] for t in trials)
            left = sum(t["left"] for t in trials)
            title = "A/A within noise" if case == "aa" else "A/B (hold 1 -> 4 ms) worse"
            print(f"{product} {title}: {n} trials, {seconds:.1f} s per comparison, {left} left")
            for name in WATCHED:
                hits = sum(v[name] == want for v in judged)
                print(f"  {name:<16} {hits}/{n} = {hits / n:6.1%}  (goal >= {GOAL:.0%})")
            both = sum(all(v[name] == want for name in WATCHED) for v in judged)
            print(f"  {'both':<16} {both}/{n} = {both / n:6.1%}")
            if case == "aa":
                others = ", ".join(
                    f"{f.name} {sum(v[f.name] in (want, Verdict.SAME) for v in judged)}/{n}"
                    for f in FIGURES
                    if f.name not in WATCHED and all(f.name in v for v in judged)
                )
                print(f"  other figures within noise or same: {others}")


if __name__ == "__main__":
    sys.exit(main())
