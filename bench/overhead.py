"""What does pooltui's instrumentation cost? Plain PooledDB loop vs pooltui's engine, side by side.

The same closed-loop `SELECT 1` workload (8 threads, maxconnections 8, warm pool) runs through a
bare PooledDB loop (A) and through pooltui's instrumented pool and engine (B). Both pools are
built once and stay warm; the rounds alternate A B, B A, A B ... so drift on the machine hits
both alike. A second bare pool (A') runs in the same rotation as a control: the A'/A ratio is
what this machine's noise alone looks like, so a B/A figure can be read against it. Every
contender's sessions are guarded alike (read-only, the statement timeout pooltui derives from a
round's duration: Target.guard_session), so what differs is pooltui's instrumentation, not the
server's per-statement timer that a statement timeout costs (see guarded_pool).

Prints per backend the throughput ratio B/A (total requests over total time, goal >= 0.95) with
the paired rounds' geometric-mean ratio and its bootstrap 95 % interval (core/compare/noise.py),
and the A'/A control, then the memory of one latency
histogram after 10^6 samples (goal: constant, < 1 MiB).

Throughput on a shared 2-core machine is noisy (a round's ratio can be off by 30 %, so it takes
many rounds). ``--instructions`` adds a figure that is not: the CPU instructions one request
costs this process, counted by valgrind's callgrind for each contender on one thread (the
difference between a run of 300 and of 3,300 requests, so start-up cancels out). The server's
and the kernel's work are not counted, so this ratio is the pessimistic bound of the two.

    .venv/bin/python bench/overhead.py [--seconds 1] [--rounds 16] [--backends postgresql,mysql]
                                       [--instructions]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from dbutils.pooled_db import PooledDB

from pooltui.core.compare import noise
from pooltui.core.config import PoolConfig, SessionGuards, Workload, pooled_db_kwargs
from pooltui.core.load import engine
from pooltui.core.pool import InstrumentedPool
from pooltui.core.pool.histogram import PENDING, LatencyHistogram
from pooltui.core.targets import Target, parse_dsn

DSNS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432/test",
    "mysql": "mysql://root@127.0.0.1:3306/test",
}
THREADS = 8
CONFIG = PoolConfig(mincached=THREADS, maxcached=THREADS, maxconnections=THREADS, blocking=True)


def plain_requests(pool: PooledDB, stop: threading.Event, limit: float = math.inf) -> int:
    """A bare request loop, as an application would write it, until ``stop`` or ``limit``
    requests (the limit check costs ~40 ns of a ~400 µs request); how many it ran."""
    done = 0
    while done < limit and not stop.is_set():
        con = pool.connection()
        cursor = con.cursor()
        cursor.execute("SELECT 1")
        cursor.fetchall()
        cursor.close()
        con.close()
        done += 1
    return done


def guarded_pool(target: Target, seconds: float) -> PooledDB:
    """A bare PooledDB whose connections carry the session guards pooltui's would for a run of
    ``seconds`` (read-only, statement timeout): the comparison is then about instrumentation."""
    module = target.module()
    guards = SessionGuards.of(Workload(duration_s=seconds))

    def creator(**kwargs: Any) -> Any:
        raw = module.connect(**kwargs)
        target.guard_session(raw, guards)
        return raw

    creator.dbapi = module  # type: ignore[attr-defined]
    creator.threadsafety = module.threadsafety  # type: ignore[attr-defined]
    return PooledDB(creator, **pooled_db_kwargs(CONFIG), **target.connect_kwargs(None))


class PlainLoop:
    """A bare PooledDB and a bare loop: the throughput an application would get."""

    def __init__(self, target: Target, seconds: float) -> None:
        self.pool = guarded_pool(target, seconds)

    def round(self, seconds: float) -> tuple[int, float]:
        """(requests done, seconds taken)."""
        pool = self.pool
        stop = threading.Event()
        counts = [0] * THREADS
        start = threading.Barrier(THREADS + 1)

        def worker(index: int) -> None:
            start.wait()
            counts[index] = plain_requests(pool, stop)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        return sum(counts), time.perf_counter() - began

    def close(self) -> None:
        self.pool.close()


class PooltuiRun:
    """pooltui's instrumented pool driven by its own engine, as `pooltui bench` runs it."""

    def __init__(self, target: Target) -> None:
        self.pool = InstrumentedPool(target, CONFIG)

    def round(self, seconds: float) -> tuple[int, float]:
        """(requests done, seconds taken)."""
        workload = Workload(threads=THREADS, duration_s=seconds, query="SELECT 1")
        result = engine.run(self.pool, workload)
        return result.requests - result.errors, result.duration_s

    def close(self) -> None:
        self.pool.close()


@dataclass
class Tally:
    """One contender's rounds: throughput per round, and the CPU its requests cost."""

    throughputs: list[float] = field(default_factory=list)
    requests: int = 0
    process_s: float = 0.0  # this process's CPU time (user + system)
    busy_s: float = 0.0  # the whole machine's CPU time not idle: the servers' share included

    def per_request_us(self, seconds: float) -> float:
        return seconds / max(self.requests, 1) * 1e6


def busy_cpu_s() -> float:
    """CPU seconds the machine has spent not idle (Linux /proc/stat; 0 elsewhere)."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:8]]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq = ticks
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def process_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def compare(target: Target, rounds: int, seconds: float) -> dict[str, Tally]:
    """Each contender's rounds, in alternating order."""
    contenders: dict[str, Callable[[], PlainLoop | PooltuiRun]] = {
        "plain": lambda: PlainLoop(target, seconds),
        "pooltui": lambda: PooltuiRun(target),
        "control": lambda: PlainLoop(target, seconds),
    }
    built = {name: make() for name, make in contenders.items()}
    try:
        for runner in built.values():  # warm: the first statements on a session are slower
            runner.round(min(seconds, 0.5))
        tallies = {name: Tally() for name in built}
        names = list(built)
        for index in range(rounds):
            for name in names if index % 2 == 0 else names[::-1]:
                tally = tallies[name]
                process, busy = process_cpu_s(), busy_cpu_s()
                requests, took = built[name].round(seconds)
                tally.process_s += process_cpu_s() - process
                tally.busy_s += busy_cpu_s() - busy
                tally.requests += requests
                tally.throughputs.append(requests / took)
        return tallies
    finally:
        for runner in built.values():
            runner.close()


def histogram_memory() -> tuple[int, int]:
    """Bytes a histogram holds after 10 samples and after 10^6, its buffer of unfolded samples
    folded (that buffer is bounded apart: PENDING doubles): constant memory means equal."""
    rng = random.Random(7)
    sizes = []
    for count in (10, 1_000_000):
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        histogram = LatencyHistogram()
        for _ in range(count):
            histogram.record(rng.lognormvariate(-7, 1.5))
        histogram.shard().fold()
        sizes.append(tracemalloc.get_traced_memory()[0] - before)
        tracemalloc.stop()
        del histogram
    return sizes[0], sizes[1]


COUNTED = (300, 3300)  # requests per counted run: the difference is what 3,000 requests cost


def requests_in_one_thread(contender: str, backend: str, requests: int) -> None:
    """What a counted run does (inside valgrind): ``requests`` requests on one thread."""
    with tempfile.TemporaryDirectory() as scratch:
        if backend == "sqlite":
            path = f"{scratch}/bench.db"
            sqlite3.connect(path).close()  # pooltui opens SQLite files, never creates them
            target = parse_dsn(f"sqlite:///{path}")
        else:
            target = parse_dsn(DSNS[backend])
        if contender == "plain":
            pool = guarded_pool(target, 3600)
            plain_requests(pool, threading.Event(), requests)
            pool.close()
        else:
            instrumented = InstrumentedPool(target, CONFIG)
            workload = Workload(threads=1, requests=requests, duration_s=3600, query="SELECT 1")
            result = engine.run(instrumented, workload)
            instrumented.close()
            if result.errors or result.requests != requests:
                raise SystemExit(f"the counted run went wrong: {result.error_kinds}")


def instructions(contender: str, backend: str, requests: int) -> int:
    """CPU instructions of a whole counted run, as callgrind counts them."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--count",
        contender,
        backend,
        str(requests),
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"},
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode or not found:
        raise SystemExit(f"valgrind failed: {done.stderr.strip().splitlines()[-1:]}")
    return int(found.group(1))


def instructions_per_request(runs: list[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """Per (contender, backend): (instructions of the long run - of the short) / extra requests."""
    jobs = [(contender, backend, n) for contender, backend in runs for n in COUNTED]
    with ThreadPoolExecutor(2) as workers:  # two valgrinds at once: this machine has 2 cores
        counts = dict(zip(jobs, workers.map(lambda job: instructions(*job), jobs), strict=True))
    extra = COUNTED[1] - COUNTED[0]
    return {
        (contender, backend): (
            counts[contender, backend, COUNTED[1]] - counts[contender, backend, COUNTED[0]]
        )
        / extra
        for contender, backend in runs
    }


def instruction_lines(backends: list[str]) -> list[str]:
    """What pooltui adds to a request, counted exactly on SQLite (no network: the count is the
    same run after run), against what a plain request costs on each server (within ~3 %: the
    drivers poll their sockets a varying number of times)."""
    runs = [("plain", "sqlite"), ("pooltui", "sqlite")] + [("plain", b) for b in backends]
    per = instructions_per_request(runs)
    added = per["pooltui", "sqlite"] - per["plain", "sqlite"]
    lines = [
        f"pooltui adds {added:,.0f} CPU instructions to a request (callgrind, one thread, "
        f"SQLite: plain {per['plain', 'sqlite']:,.0f}, pooltui "
        f"{per['pooltui', 'sqlite']:,.0f})"
    ]
    lines += [
        f"{'':<13}a plain SELECT 1 costs this process {per['plain', b]:,.0f} on {b}: "
        f"pooltui/plain >= {per['plain', b] / (per['plain', b] + added):.3f} in CPU "
        f"instructions"
        for b in backends
    ]
    return lines


def ratio_line(name: str, mine: list[float], plain: list[float]) -> str:
    """The ratio of totals, and the paired rounds' geometric-mean ratio with its bootstrap 95 %
    interval (core/compare/noise.py): a figure this noisy is read with its noise."""
    per_round = [a / b for a, b in zip(mine, plain, strict=True)]
    paired = noise.compare("throughput", plain, mine, higher_is_better=True)
    return (
        f"{name} {sum(mine) / sum(plain):.3f} (paired rounds {paired.change:.3f}, 95 % "
        f"interval {paired.low:.3f}-{paired.high:.3f}; range {min(per_round):.3f}-"
        f"{max(per_round):.3f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--backends", default="postgresql,mysql")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count CPU instructions per request with callgrind",
    )
    parser.add_argument(
        "--count", nargs=3, metavar=("CONTENDER", "BACKEND", "REQUESTS"), help=argparse.SUPPRESS
    )  # one counted run, inside valgrind
    args = parser.parse_args()
    if args.count:
        requests_in_one_thread(args.count[0], args.count[1], int(args.count[2]))
        return
    if args.instructions and not shutil.which("valgrind"):
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind).")

    backends = args.backends.split(",")
    for backend in backends:
        tallies = compare(parse_dsn(DSNS[backend]), args.rounds, args.seconds)
        plain, mine = tallies["plain"].throughputs, tallies["pooltui"].throughputs
        print(
            f"{backend:<10} plain PooledDB {statistics.fmean(plain):6.0f} req/s   "
            f"pooltui {statistics.fmean(mine):6.0f} req/s   "
            f"({args.rounds} rounds of {args.seconds:g} s, {THREADS} threads)"
        )
        print(f"{'':<10} {ratio_line('pooltui/plain', mine, plain)}   goal >= 0.95")
        print(
            f"{'':<10} {ratio_line('control/plain', tallies['control'].throughputs, plain)}"
            "   (noise alone)"
        )
        for kind, label in (("process_s", "this process"), ("busy_s", "the whole machine")):
            costs = {
                name: tally.per_request_us(getattr(tally, kind)) for name, tally in tallies.items()
            }
            print(
                f"{'':<10} CPU per request, {label}: plain {costs['plain']:.1f} µs, pooltui "
                f"{costs['pooltui']:.1f} µs, control {costs['control']:.1f} µs"
            )
    small, large = histogram_memory()
    print(
        f"histogram  after 10 samples {small} B, after 10^6 samples {large} B "
        f"({large / 1024:.1f} KiB; goal: constant, < 1024 KiB), plus a buffer of at most "
        f"{PENDING} unfolded samples ({PENDING * 8 // 1024} KiB) per recording thread"
    )
    if args.instructions:
        lines = instruction_lines(backends)
        print(f"instructions {lines[0]}")
        for line in lines[1:]:
            print(line)


if __name__ == "__main__":
    main()
