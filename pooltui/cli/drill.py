"""`pooltui drill`: fault drills through a loopback proxy (core/faults/drill.py)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from pooltui.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_target_options,
    print_findings,
    resolve_settings,
    resolve_target,
)


def add_parser(subparsers: Any) -> None:
    drill = subparsers.add_parser(
        "drill",
        help="break the network or the server on purpose and see how the pool copes",
        description="Each drill puts a fault proxy between a fresh pool and the server, runs "
        "the workload and injects one fault a third of the way in: time to detect, time to "
        "recover, failed requests, statements DBUtils re-ran, connections left on the server, "
        "and the settings that would have helped. Exit 0 when every drill recovered and left "
        "no connection open, 1 otherwise. Loopback servers only; not SQLite.",
    )
    add_target_options(drill)
    drill.add_argument(
        "--scenario",
        dest="scenarios",
        action="append",
        metavar="NAME",
        help="latency, freeze, reset, down, idle-kill or restart; repeatable (default: all)",
    )
    drill.add_argument(
        "--fault-s",
        type=float,
        dest="fault_s",
        default=2.0,
        metavar="S",
        help="how long each fault lasts (default 2; restart at most 0.5)",
    )
    drill.add_argument(
        "--duration",
        type=float,
        dest="drill_duration_s",
        metavar="S",
        help="seconds each drill runs (default: three times the fault)",
    )
    drill.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Check every drill, probe the server, run them; exit 0 only when each one is ok."""
    from pooltui.core.faults import drill
    from pooltui.core.probes import probe_server
    from pooltui.core.report import format_drills

    settings = resolve_settings(args)
    target = resolve_target(args, settings.dsn, profile=settings)
    scenarios = args.scenarios or list(drill.SCENARIOS)
    # SQLite, a socket, a remote host, a bad plan: refused before anything runs
    validation = drill.check_drills(
        target,
        settings.pool,
        settings.workload,
        scenarios,
        fault_s=args.fault_s,
        duration_s=args.drill_duration_s,
    )
    server = probe_server(target)
    if not args.json:
        print_findings([f for f in validation.findings if f.level == "warning"])
    reports = drill.run_drills(
        target,
        settings.pool,
        settings.workload,
        scenarios,
        fault_s=args.fault_s,
        duration_s=args.drill_duration_s,
        server_version=server.version,
    )
    ok = all(report.ok for report in reports)
    if args.json:
        print(
            json.dumps(
                {
                    "target": target.redacted,
                    "server_version": server.version,
                    "ok": ok,
                    "drills": [r.as_dict() for r in reports],
                },
                indent=2,
            )
        )
    else:
        print(format_drills(reports))
    return EXIT_OK if ok else EXIT_FAILED
