"""`pooltui bench`: one load burst headless, its figures on stdout (text or JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pooltui.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    StopSignals,
    add_target_options,
    add_workload_options,
    print_findings,
    resolve_settings,
    resolve_target,
)
from pooltui.core.errors import BadInput


def add_parser(subparsers: Any) -> None:
    bench = subparsers.add_parser("bench", help="run a load burst headless and print its figures")
    add_target_options(bench)
    add_workload_options(bench)
    bench.add_argument("--warmup", action="store_true", help="pre-open mincached connections first")
    bench.add_argument(
        "--leak-threshold",
        type=float,
        metavar="S",
        help="report connections held longer than S seconds",
    )
    bench.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Probe, refuse what does not fit, run, close, count what the server still has."""
    from pooltui.core.checks import capacity_problem
    from pooltui.core.config import SessionGuards, validate, validate_workload
    from pooltui.core.load import engine
    from pooltui.core.pool import InstrumentedPool
    from pooltui.core.probes import confirm_closed, probe_server
    from pooltui.core.report import format_run

    settings = resolve_settings(args)
    problems = [f for f in validate_workload(settings.workload) if f.level == "error"]
    if problems:
        raise BadInput(problems[0].message)
    target = resolve_target(args, settings.dsn)
    validation = validate(settings.pool, target.facts)
    validation.require_ok()
    with StopSignals() as signals:
        server = probe_server(target)  # an unreachable target says so before anything else
        too_many = capacity_problem(server, validation.effective, settings.workload, target)
        if too_many:
            raise BadInput(too_many)
        if not args.json:
            print_findings([f for f in validation.findings if f.level == "warning"])
        pool = InstrumentedPool(
            target,
            settings.pool,
            leak_threshold_s=args.leak_threshold,
            guards=SessionGuards.of(settings.workload),
        )
        try:
            warmup = engine.warm_up(pool) if args.warmup else None
            with signals.deferred():
                result = engine.run(
                    pool, settings.workload, stop=signals.stop, server_version=server.version
                )
        finally:
            with signals.deferred():
                pool.close()
                left = confirm_closed(target, pool)
    if args.json:
        payload = result.as_dict() | {"closed": left.as_dict()}
        if warmup is not None:
            payload["warmup"] = warmup.as_dict()
        print(json.dumps(payload, indent=2))
    else:
        print(format_run(result, warmup))
    print(f"pooltui: {left.sentence()}.", file=sys.stderr)
    if signals.exit_code is not None:
        return signals.exit_code
    if result.fatal_error:
        print(f"pooltui: {result.fatal_error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK if left.verified and not left.sessions else EXIT_FAILED
