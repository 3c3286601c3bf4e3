"""What does pooltui's instrumentation cost? Plain PooledDB loop vs pooltui's engine, side by side.

The same closed-loop `SELECT 1` workload (8 threads, maxconnections 8, warm pool) runs through a
bare PooledDB loop (A) and through pooltui's instrumented pool and engine (B). Both pools are
built once and stay warm; the rounds alternate A B, B A, A B ... so drift on the machine hits
both alike. A second bare pool (A') runs in the same rotation as a control: the A'/A ratio is
what this machine's noise alone looks like, so a B/A figure can be read against it.

Prints per backend the throughput ratio B/A (total requests over total time, goal >= 0.95) with
the median of the per-round ratios and the A'/A control, then the memory of one latency
histogram after 10^6 samples (goal: constant, < 1 MiB).

    .venv/bin/python bench/overhead.py [--seconds 1] [--rounds 16] [--backends postgresql,mysql]
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable

from dbutils.pooled_db import PooledDB

from pooltui.core import engine
from pooltui.core.config import PoolConfig, Workload, pooled_db_kwargs
from pooltui.core.histogram import LatencyHistogram
from pooltui.core.pool import InstrumentedPool
from pooltui.core.targets import Target, parse_dsn

DSNS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432/test",
    "mysql": "mysql://root@127.0.0.1:3306/test",
}
THREADS = 8
CONFIG = PoolConfig(mincached=THREADS, maxcached=THREADS, maxconnections=THREADS, blocking=True)


class PlainLoop:
    """A bare PooledDB and a bare loop: the throughput an application would get."""

    def __init__(self, target: Target) -> None:
        self.pool = PooledDB(target.module(), **pooled_db_kwargs(CONFIG),
                             **target.connect_kwargs(None))

    def round(self, seconds: float) -> float:
        pool = self.pool
        stop = threading.Event()
        counts = [0] * THREADS
        start = threading.Barrier(THREADS + 1)

        def worker(index: int) -> None:
            start.wait()
            done = 0
            while not stop.is_set():
                con = pool.connection()
                cursor = con.cursor()
                cursor.execute("SELECT 1")
                cursor.fetchall()
                cursor.close()
                con.close()
                done += 1
            counts[index] = done

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        return sum(counts) / (time.perf_counter() - began)

    def close(self) -> None:
        self.pool.close()


class PooltuiRun:
    """pooltui's instrumented pool driven by its own engine, as `pooltui bench` runs it."""

    def __init__(self, target: Target) -> None:
        self.pool = InstrumentedPool(target, CONFIG)

    def round(self, seconds: float) -> float:
        workload = Workload(threads=THREADS, duration_s=seconds, query="SELECT 1")
        return engine.run(self.pool, workload).throughput_rps

    def close(self) -> None:
        self.pool.close()


def compare(target: Target, rounds: int, seconds: float) -> dict[str, list[float]]:
    """Throughput per round of each contender, in alternating order."""
    contenders: dict[str, Callable[[], PlainLoop | PooltuiRun]] = {
        "plain": lambda: PlainLoop(target),
        "pooltui": lambda: PooltuiRun(target),
        "control": lambda: PlainLoop(target),
    }
    built = {name: make() for name, make in contenders.items()}
    try:
        for runner in built.values():  # warm: the first statements on a session are slower
            runner.round(min(seconds, 0.5))
        results: dict[str, list[float]] = {name: [] for name in built}
        names = list(built)
        for index in range(rounds):
            for name in names if index % 2 == 0 else names[::-1]:
                results[name].append(built[name].round(seconds))
        return results
    finally:
        for runner in built.values():
            runner.close()


def histogram_memory() -> tuple[int, int]:
    """Bytes a histogram holds after 10 samples and after 10^6: constant memory means equal."""
    rng = random.Random(7)
    sizes = []
    for count in (10, 1_000_000):
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        histogram = LatencyHistogram()
        for _ in range(count):
            histogram.record(rng.lognormvariate(-7, 1.5))
        sizes.append(tracemalloc.get_traced_memory()[0] - before)
        tracemalloc.stop()
        del histogram
    return sizes[0], sizes[1]


def ratio_line(name: str, mine: list[float], plain: list[float]) -> str:
    per_round = [a / b for a, b in zip(mine, plain, strict=True)]
    median = statistics.median(per_round)
    return (f"{name} {sum(mine) / sum(plain):.3f} (median of rounds {median:.3f}, "
            f"range {min(per_round):.3f}-{max(per_round):.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--backends", default="postgresql,mysql")
    args = parser.parse_args()

    for backend in args.backends.split(","):
        results = compare(parse_dsn(DSNS[backend]), args.rounds, args.seconds)
        plain, mine, control = results["plain"], results["pooltui"], results["control"]
        print(f"{backend:<10} plain PooledDB {statistics.fmean(plain):6.0f} req/s   "
              f"pooltui {statistics.fmean(mine):6.0f} req/s   "
              f"({args.rounds} rounds of {args.seconds:g} s, {THREADS} threads)")
        print(f"{'':<10} {ratio_line('pooltui/plain', mine, plain)}   goal >= 0.95")
        print(f"{'':<10} {ratio_line('control/plain', control, plain)}   (noise alone)")
    small, large = histogram_memory()
    print(f"histogram  after 10 samples {small} B, after 10^6 samples {large} B "
          f"({large / 1024:.1f} KiB; goal: constant, < 1024 KiB)")


if __name__ == "__main__":
    main()
