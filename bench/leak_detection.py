"""What does leak detection cost a saturating burst? The same burst with it on and off.

The console watches for leaks (a 10 s threshold, as HikariCP's leakDetectionThreshold) and
`pooltui bench` does not unless asked, so this is part of what the console's burst costs
against headless (bench/ui_responsiveness.py). 64 threads on maxconnections 8 run `SELECT 1`
in this process, rounds alternating on, off, on, off ... on fresh pools; it prints the
throughput ratio on/off with its 95 % bootstrap interval over the rounds, and the CPU this
process spent per request each way (less noisy than throughput on a shared 2-core machine).

In a saturated pool every other thread waits for the connection a thread holds, and what runs
while it holds one must also win the GIL from them: a 3 us stack walk after each checkout cost
~23 us of CPU a request and 6 % of the throughput; a cached stack and a tuple per checkout
still 0.954 [0.922, 0.983] on a slower machine. The engine's workers now check out through a
ScannedBorrower, which records nothing per checkout (pooltui/core/pool/leaks.py): 0.998
[0.921, 1.073] over 8 rounds, 440 against 441 us of CPU a request.

    .venv/bin/python bench/leak_detection.py [--seconds 4] [--rounds 5] [--dsn DSN]
"""

from __future__ import annotations

import argparse
import os
import statistics

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.load import engine
from pooltui.core.pool import InstrumentedPool
from pooltui.core.targets import parse_dsn

THREADS, LIMIT, THRESHOLD_S = 64, 8, 10.0
CONFIG = PoolConfig(mincached=LIMIT, maxcached=LIMIT, maxconnections=LIMIT, blocking=True, ping=0)


def one_round(dsn: str, seconds: float, threshold_s: float | None) -> tuple[float, float]:
    """(throughput req/s, this process's CPU us per request) of one burst on a fresh pool."""
    pool = InstrumentedPool(parse_dsn(dsn), CONFIG, leak_threshold_s=threshold_s)
    began = os.times()
    try:
        result = engine.run(
            pool,
            Workload(threads=THREADS, duration_s=seconds, query="SELECT 1"),
            on_sample=lambda _sample: None,
            sample_interval_s=0.2,  # the console's
        )
    finally:
        pool.close()
    ended = os.times()
    cpu_s = (ended.user - began.user) + (ended.system - began.system)
    return result.throughput_rps, cpu_s / max(result.requests, 1) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    from ui_responsiveness import ratio_interval  # the same paired-rounds bootstrap

    on: list[tuple[float, float]] = []
    off: list[tuple[float, float]] = []
    for _ in range(args.rounds):
        on.append(one_round(args.dsn, args.seconds, THRESHOLD_S))
        off.append(one_round(args.dsn, args.seconds, None))
    on_rps, off_rps = [r for r, _ in on], [r for r, _ in off]
    low, high = ratio_interval(on_rps, off_rps)
    print(
        f"burst: {THREADS} threads, maxconnections {LIMIT}, {args.seconds:g} s x {args.rounds} "
        f"rounds each way, {parse_dsn(args.dsn).redacted}"
    )
    print(
        f"throughput   leak detection on {statistics.mean(on_rps):7.0f} req/s, off "
        f"{statistics.mean(off_rps):7.0f} req/s, ratio {sum(on_rps) / sum(off_rps):.3f} "
        f"[{low:.3f}, {high:.3f}] (95 % over the rounds)"
    )
    print(
        f"CPU/request  on {statistics.median(c for _, c in on):6.1f} us, off "
        f"{statistics.median(c for _, c in off):6.1f} us (medians over the rounds)"
    )


if __name__ == "__main__":
    main()
