"""Fleet mode on PostgreSQL and MariaDB: W = 1, 2, 4 processes x T threads, each with its own pool.

For each server and W: the fleet's throughput (merged), its latency p50 / p99 (read off the
merged histograms), the most of its sessions the server counted at once against W x maxconnections,
the parent's cost of merging the W results, and the wall time the fleet took (spawning W
interpreters included). Beside it, the same workload in this process (``engine.run`` on one
pool: W = 1 without a spawn) and W x that throughput: what W independent processes would do if
nothing were shared, so fleet / (W x one) is the scaling the machine and the server allow.

Sized for a 2-core machine shared with others: 3 s runs, T = 4 threads, maxconnections 4, a
2 ms hold (so the fleet waits on the server, not only on the client's CPU); the load average is
printed before and after, and figures on a loaded machine say more about its cores than about
the fleet.

    .venv/bin/python bench/fleet_scaling.py [--duration 3] [--threads 4] [--hold-ms 2]
        [--processes 1 2 4] [--rounds 1] [--dsn DSN ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from pooltui.core.config import PoolConfig, SessionGuards, Workload
from pooltui.core.fleet import run_fleet
from pooltui.core.load import engine
from pooltui.core.pool import InstrumentedPool
from pooltui.core.probes import confirm_closed, probe_server
from pooltui.core.targets import parse_dsn

SERVERS = ("postgresql://postgres@127.0.0.1:5432/test", "mysql://root@127.0.0.1:3306/test")


def one_process(dsn: str, config: PoolConfig, workload: Workload) -> float:
    """The workload on one pool in this process: its throughput."""
    target = parse_dsn(dsn)
    pool = InstrumentedPool(target, config, guards=SessionGuards.of(workload))
    try:
        engine.warm_up(pool)
        result = engine.run(pool, workload)
    finally:
        pool.close()
        left = confirm_closed(target, pool)
    assert not left.sessions, left.sentence()
    return result.throughput_rps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--hold-ms", type=float, default=2.0)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--dsn", action="append")
    args = parser.parse_args()
    config = PoolConfig(mincached=args.threads, maxcached=args.threads, maxconnections=args.threads)
    workload = Workload(threads=args.threads, duration_s=args.duration, hold_ms=args.hold_ms)
    print(f"load average before: {os.getloadavg()}, {os.cpu_count()} cores")
    print(
        f"workload: {args.threads} threads per process, {args.duration:g} s, SELECT 1 + "
        f"{args.hold_ms:g} ms hold; pool maxconnections = mincached = {args.threads}"
    )
    for dsn in args.dsn or SERVERS:
        target = parse_dsn(dsn)
        server = probe_server(target)
        single = statistics.median(one_process(dsn, config, workload) for _ in range(args.rounds))
        print(f"\n{server.product} {server.version}: one process in-process {single:,.0f} req/s")
        print(
            f"  {'W':>2} {'fleet req/s':>11} {'W x one':>9} {'ratio':>6} {'p50 ms':>7} "
            f"{'p99 ms':>7} {'server peak':>11} {'W x maxconn':>11} {'merge ms':>9} {'wall s':>7}"
        )
        for processes in args.processes:
            rates, p50s, p99s, peaks, merges, walls = [], [], [], [], [], []
            for _ in range(args.rounds):
                started = time.perf_counter()
                fleet = run_fleet(target, config, workload, processes, warmup=True, server=server)
                walls.append(time.perf_counter() - started)
                assert fleet.result is not None and not fleet.failed, fleet.failed
                assert not fleet.left.sessions and fleet.left.verified, fleet.left.sentence()
                rates.append(fleet.result.throughput_rps)
                p50s.append(fleet.result.latency.p50)
                p99s.append(fleet.result.latency.p99)
                peaks.append(fleet.peak_server)
                merges.append(fleet.merge_s * 1000.0)
            rate = statistics.median(rates)
            print(
                f"  {processes:>2} {rate:>11,.0f} {processes * single:>9,.0f} "
                f"{rate / (processes * single):>6.2f} {statistics.median(p50s):>7.2f} "
                f"{statistics.median(p99s):>7.2f} {max(peaks):>11} "
                f"{processes * args.threads:>11} {statistics.median(merges):>9.2f} "
                f"{statistics.median(walls):>7.2f}"
            )
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
