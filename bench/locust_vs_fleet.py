"""The Locust route against pooltui's own fleet: one workload, two engines, on PostgreSQL and
MariaDB.

pooltui: ``run_fleet`` with W processes x T threads, each with its own pool. Locust: the
locustfile ``pooltui export --format locust`` writes, run headless with a master and W workers
on loopback and W x T users (so each worker runs T users on its own pool, as each fleet process
runs T threads). Printed for both: requests per second, the hold time (checkout to return)
p50 / p95 / p99 and the acquire wait p95: Locust's from its CSV (pool/hold, pool/acquire:
its percentiles are rounded to 2 significant digits and it counts the 1-2 s of ramp-up), pooltui's
from its merged histograms. Also the server sessions each route left (both must be 0).

Sized for a 2-core machine shared with others: 4 s runs, W = 2, T = 4, maxconnections 4, a
2 ms hold; the load average is printed before and after.

    .venv/bin/python bench/locust_vs_fleet.py [--duration 4] [--processes 2] [--threads 4]
        [--hold-ms 2] [--rounds 1] [--dsn DSN ...]
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import subprocess
import tempfile
from pathlib import Path

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.export import to_locust
from pooltui.core.fleet import run_fleet
from pooltui.core.locustfile import loopback_commands
from pooltui.core.profiles import Profile
from pooltui.core.targets import parse_dsn

SERVERS = ("postgresql://postgres@127.0.0.1:5432/test", "mysql://root@127.0.0.1:3306/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def locust_run(
    dsn: str, config: PoolConfig, workload: Workload, processes: int, folder: Path
) -> dict[str, dict[str, str]]:
    """Locust headless: a master and ``processes`` workers; its CSV's rows by name."""
    locustfile = folder / "locustfile.py"
    profile = Profile("bench", pool=config, workload=workload)
    locustfile.write_text(to_locust(parse_dsn(dsn), profile))
    port = free_port()
    users = processes * workload.threads
    master_argv, worker_argv = loopback_commands(
        locustfile,
        port=port,
        workers=processes,
        users=users,
        run_s=workload.duration_s,
        csv_prefix=folder / "run",
    )
    quiet = {"cwd": folder, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    master = subprocess.Popen([*master_argv, "--only-summary"], **quiet)
    workers = [subprocess.Popen(worker_argv, **quiet) for _ in range(processes)]
    try:
        master.wait(timeout=workload.duration_s + 60)
        for worker in workers:
            worker.wait(timeout=30)
    finally:
        for proc in (master, *workers):
            if proc.poll() is None:
                proc.kill()
    with open(folder / "run_stats.csv", newline="") as handle:
        return {row["Name"]: row for row in csv.DictReader(handle)}


def leftover(dsn: str) -> int:
    """Sessions named pooltui-locust-* on PostgreSQL (MariaDB cannot tell without
    performance_schema: the test suite checks its session ids instead)."""
    target = parse_dsn(dsn)
    if not target.dialect.external_pooler:
        return -1
    import psycopg

    with psycopg.connect(f"host={target.host} port={target.port} dbname=test user=postgres") as c:
        row = c.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pooltui-locust-%'"
        ).fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--hold-ms", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--dsn", action="append")
    args = parser.parse_args()
    config = PoolConfig(maxcached=args.threads, maxconnections=args.threads)
    workload = Workload(threads=args.threads, duration_s=args.duration, hold_ms=args.hold_ms)
    print(f"load average before: {os.getloadavg()}, {os.cpu_count()} cores")
    print(
        f"W = {args.processes} processes/workers x T = {args.threads} threads/users, "
        f"{args.duration:g} s, SELECT 1 + {args.hold_ms:g} ms hold, maxconnections {args.threads}"
    )
    for dsn in args.dsn or SERVERS:
        target = parse_dsn(dsn)
        print(f"\n{target.redacted}")
        print(
            f"  {'route':<8} {'req/s':>8} {'hold p50':>9} {'p95':>7} {'p99':>7} "
            f"{'acq p95':>8} {'left':>5}"
        )
        for _ in range(args.rounds):
            fleet = run_fleet(target, config, workload, args.processes)
            r = fleet.result
            assert r is not None and not fleet.failed
            print(
                f"  {'pooltui':<8} {r.throughput_rps:>8,.0f} {r.hold.p50:>9.2f} {r.hold.p95:>7.2f} "
                f"{r.hold.p99:>7.2f} {r.acquire.p95:>8.2f} {fleet.left.sessions:>5}"
            )
            with tempfile.TemporaryDirectory() as folder:
                rows = locust_run(dsn, config, workload, args.processes, Path(folder))
            hold, acquire = rows["hold"], rows["acquire"]
            print(
                f"  {'locust':<8} {float(hold['Requests/s']):>8,.0f} {float(hold['50%']):>9.2f} "
                f"{float(hold['95%']):>7.2f} {float(hold['99%']):>7.2f} "
                f"{float(acquire['95%']):>8.2f} {leftover(dsn):>5}"
            )
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
