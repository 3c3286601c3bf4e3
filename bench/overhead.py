"""What does pooltui's instrumentation cost? Plain PooledDB loop vs pooltui's engine, side by side.

The same closed-loop `SELECT 1` workload (8 threads, maxconnections 8, warm pool) runs through a
bare PooledDB loop (A) and through pooltui's instrumented pool and engine (B), alternating
A/B/A/B so drift on the machine hits both equally. Prints the throughput ratio B/A per backend
(goal: >= 0.95) and the memory of one latency histogram after 10^6 samples
(goal: constant, < 1 MiB).

    .venv/bin/python bench/overhead.py [--seconds 3] [--rounds 3] [--backends postgresql,mysql]
"""

from __future__ import annotations

import argparse
import random
import threading
import time
import tracemalloc

from dbutils.pooled_db import PooledDB

from pooltui.core import engine
from pooltui.core.config import PoolConfig, Workload, pooled_db_kwargs
from pooltui.core.histogram import LatencyHistogram
from pooltui.core.pool import InstrumentedPool
from pooltui.core.targets import parse_dsn

DSNS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432/test",
    "mysql": "mysql://root@127.0.0.1:3306/test",
}
THREADS = 8
CONFIG = PoolConfig(mincached=THREADS, maxcached=THREADS, maxconnections=THREADS, blocking=True)


def plain_round(target, seconds: float) -> float:
    """A bare PooledDB and a bare loop: the throughput an application would get."""
    module = target.module()
    pool = PooledDB(module, **pooled_db_kwargs(CONFIG), **target.connect_kwargs(None))
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
    elapsed = time.perf_counter() - began
    pool.close()
    return sum(counts) / elapsed


def pooltui_round(target, seconds: float) -> float:
    pool = InstrumentedPool(target, CONFIG)
    try:
        result = engine.run(pool, Workload(threads=THREADS, duration_s=seconds, query="SELECT 1"))
    finally:
        pool.close()
    return result.throughput_rps


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="postgresql,mysql")
    args = parser.parse_args()

    for backend in args.backends.split(","):
        target = parse_dsn(DSNS[backend])
        plain, instrumented = [], []
        for _ in range(args.rounds):
            plain.append(plain_round(target, args.seconds))
            instrumented.append(pooltui_round(target, args.seconds))
        ratio = sum(instrumented) / sum(plain)
        print(f"{backend:<10} plain PooledDB {sum(plain) / len(plain):9.0f} req/s   "
              f"pooltui {sum(instrumented) / len(instrumented):9.0f} req/s   "
              f"ratio {ratio:.3f} (goal >= 0.95)")
        print(f"{'':<10} rounds plain {[round(x) for x in plain]} "
              f"pooltui {[round(x) for x in instrumented]}")
    small, large = histogram_memory()
    print(f"histogram  after 10 samples {small} B, after 10^6 samples {large} B "
          f"({large / 1024:.1f} KiB; goal: constant, < 1024 KiB)")


if __name__ == "__main__":
    main()
