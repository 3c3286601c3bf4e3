"""What each fault drill measures on PostgreSQL and MariaDB, in one short run (< 2 minutes).

Every scenario of `pooltui drill` (core/faults/drill.py) against both shared servers, through the
fault proxy (the servers themselves are never touched): a fresh pool (pooltui's defaults),
8 threads of SELECT 1 back to back, one fault a third of the way into each run. Printed per
drill: time to detect (fault start -> first interval with errors, a stall or a p95 3 x the
baseline), time to recover (fault end -> first clean interval), failed requests, statements
DBUtils re-ran (its reconnects until the engine counts re-executions) and the pool's sessions
left on the server after close (goal 0), then the advice.

    .venv/bin/python bench/fault_drills.py [--fault-s 1] [--duration 3.5] [--only reset]
"""

from __future__ import annotations

import argparse
import sys
import time

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.faults.drill import SCENARIOS, run_drills
from pooltui.core.probes import probe_server
from pooltui.core.report import format_drills
from pooltui.core.targets import parse_dsn

SERVERS = ("postgresql://postgres@127.0.0.1:5432/test", "mysql://root@127.0.0.1:3306/test")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fault-s", type=float, default=1.0, help="each fault's length")
    parser.add_argument("--duration", type=float, default=3.5, help="each drill's run, s")
    parser.add_argument("--only", action="append", choices=SCENARIOS, help="these drills")
    parser.add_argument("--dsn", action="append", help="servers (default: the shared two)")
    args = parser.parse_args()
    scenarios = args.only or list(SCENARIOS)
    started = time.monotonic()
    all_ok = True
    for dsn in args.dsn or SERVERS:
        target = parse_dsn(dsn)
        server = probe_server(target)
        print(
            f"== {server.product} {server.version}: {len(scenarios)} drills, "
            f"{args.fault_s:g} s faults in {args.duration:g} s runs, 8 threads, "
            "pooltui's default pool",
            flush=True,
        )
        reports = run_drills(
            target,
            PoolConfig(),
            Workload(threads=8),
            scenarios,
            fault_s=args.fault_s,
            duration_s=args.duration,
            server_version=server.version,
        )
        print(format_drills(reports), end="\n\n", flush=True)
        all_ok &= all(report.ok for report in reports)
    print(
        f"{time.monotonic() - started:.0f} s in all; every drill recovered and left nothing: "
        f"{'yes' if all_ok else 'no'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
