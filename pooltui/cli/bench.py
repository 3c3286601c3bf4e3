"""`pooltui bench`: one load burst headless, its figures on stdout (text or JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from pooltui.cli.common import (
    StopSignals,
    add_target_options,
    add_workload_options,
    print_findings,
    print_run_done,
    resolve_settings,
    resolve_target,
    run_exit_code,
)
from pooltui.core.errors import BadInput

if TYPE_CHECKING:
    from pooltui.core.config import Validation
    from pooltui.core.load.results import RunResult, WarmupResult
    from pooltui.core.probes import LeftOpen
    from pooltui.core.profiles import Profile
    from pooltui.core.targets import Target


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
    bench.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="N runs on one warm pool: each figure as median and spread (min to max)",
    )
    bench.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="W",
        help="a fleet: W processes, each with its own pool and the threads (gunicorn style)",
    )
    bench.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Probe, refuse what does not fit, run, close, count what the server still has."""
    if args.repeat < 1:
        raise BadInput(f"--repeat is {args.repeat} but must be at least 1.")
    if args.processes < 1:
        raise BadInput(f"--processes is {args.processes} but must be at least 1.")
    if args.processes > 1:
        if args.repeat > 1:
            raise BadInput(
                "--repeat and --processes together are not supported: repeat the fleet "
                "yourself, or drop one of them."
            )
        return run_fleet(args)
    if args.repeat > 1:
        return run_repeated(args)
    from pooltui.core.checks import capacity_problem
    from pooltui.core.config import SessionGuards
    from pooltui.core.load import engine
    from pooltui.core.pool import InstrumentedPool
    from pooltui.core.probes import confirm_closed, probe_server
    from pooltui.core.report import format_run

    settings, target, validation = _prepared(args)
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
        if target.session_name and not args.json:  # the user's own name stays visible
            print(
                f"pooltui: the DSN's session name {target.session_name} is kept: the server "
                f"sees this run's sessions as {pool.tag}",
                file=sys.stderr,
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
        print(json.dumps(single_run_payload(result, left, warmup), indent=2))
    else:
        print(format_run(result, warmup))
    return run_exit_code(signals, result.fatal_error, {"A": left})


def _prepared(args: argparse.Namespace) -> tuple[Profile, Target, Validation]:
    """The settings, the target and the validated configuration, or BadInput for a workload
    or configuration no run can honour (one run or a fleet alike)."""
    from pooltui.core.config import validate, validate_workload

    settings = resolve_settings(args)
    problems = [f for f in validate_workload(settings.workload) if f.level == "error"]
    if problems:
        raise BadInput(problems[0].message)
    target = resolve_target(args, settings.dsn, profile=settings)
    validation = validate(settings.pool, target.facts)
    validation.require_ok()
    return settings, target, validation


def single_run_payload(
    result: RunResult, left: LeftOpen, warmup: WarmupResult | None
) -> dict[str, Any]:
    """The ``bench --json`` object of one run (and, with --repeat, of all runs as one)."""
    payload = result.as_dict() | {"closed": left.as_dict()}
    if warmup is not None:
        payload["warmup"] = warmup.as_dict()
    return payload


def run_repeated(args: argparse.Namespace) -> int:
    """``--repeat N``: N runs on one warm pool (core.compare.runner), the single-run figures of
    all runs as one, and each figure's median and spread over the runs."""
    from pooltui.core.compare.display import format_repeats
    from pooltui.core.compare.runner import Side, one_after_another, run_repeats
    from pooltui.core.config import validate
    from pooltui.core.report import format_run

    settings = resolve_settings(args)
    target = resolve_target(args, settings.dsn, profile=settings)
    if not args.json:
        findings = validate(settings.pool, target.facts).findings
        print_findings([f for f in findings if f.level == "warning"])

    with StopSignals() as signals, signals.deferred():
        repeats = run_repeats(
            target,
            Side(settings.pool, settings.workload),
            args.repeat,
            stop=signals.stop,
            on_progress=print_run_done,
            leak_threshold_s=args.leak_threshold,
        )
    outcome = repeats.outcome
    warmup = outcome.warmups.get("A") if args.warmup else None
    if repeats.runs:
        result = one_after_another(repeats.runs)
        if args.json:
            payload = single_run_payload(result, outcome.closed["A"], warmup) | {
                "repeats": len(repeats.runs),
                "spread": {name: s.as_dict() for name, s in repeats.spreads.items()},
                "runs": [r.as_dict() for r in repeats.runs],
            }
            print(json.dumps(payload, indent=2))
        else:
            print(format_repeats(repeats))
            print(f"\nall {len(repeats.runs)} runs as one:")
            print(format_run(result, warmup))
    return run_exit_code(signals, outcome.fatal_error, outcome.closed)


def run_fleet(args: argparse.Namespace) -> int:
    """``--processes W``: probe, refuse a fleet that cannot fit (with what fits per process),
    run the W processes, print each one's figures and the exact merge; exit 1 when a process
    failed or died (after its sessions were ended)."""
    from pooltui.core.checks import capacity_problem
    from pooltui.core.fleet import run_fleet as fleet_run
    from pooltui.core.fleet.display import format_fleet, pooler_comparison
    from pooltui.core.probes import probe_server

    settings, target, validation = _prepared(args)
    with StopSignals() as signals:
        server = probe_server(target)
        too_many = capacity_problem(
            server, validation.effective, settings.workload, target, processes=args.processes
        )
        if too_many:
            raise BadInput(too_many)
        if not args.json:
            print_findings([f for f in validation.findings if f.level == "warning"])
        with signals.deferred():
            fleet = fleet_run(
                target,
                settings.pool,
                settings.workload,
                args.processes,
                stop=signals.stop,
                warmup=args.warmup,
                leak_threshold_s=args.leak_threshold,
                server=server,
            )
    if args.json:
        payload = fleet.as_dict()
        comparison = pooler_comparison(fleet) if target.dialect.external_pooler else None
        payload["fleet"]["pooler"] = comparison.as_dict() if comparison is not None else None
        print(json.dumps(payload, indent=2))
    else:
        print(format_fleet(fleet, target))
    code = run_exit_code(signals, fleet.fatal_error, {"fleet": fleet.left})
    if code == 0 and fleet.failed:
        for p in fleet.failed:
            print(f"pooltui: {p.name}: {p.error}", file=sys.stderr)
        return 1
    return code
