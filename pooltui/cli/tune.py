"""`pooltui tune`: find the best pool for a workload by measurement: sweep the pool size, fit
the USL, search the other parameters under constraints (Optuna TPE), prove the winner against
the starting configuration (A/B/B/A with intervals). ``--format`` writes the winner as a
profile or Python code; ``--json`` for CI. Signals and exit codes are compare's.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pooltui.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    StopSignals,
    add_target_options,
    add_workload_options,
    print_findings,
    resolve_settings,
    resolve_target,
    run_exit_code,
    write_output,
)
from pooltui.core.errors import BadInput

if TYPE_CHECKING:
    from pooltui.core.tune.tuner import TuneProgress, TuneResult

DEFAULT_BUDGET = "120"
DEFAULT_POINT_S = 1.0


def add_parser(subparsers: Any) -> None:
    tune = subparsers.add_parser(
        "tune",
        help="find the best pool for the workload by measurement (sweep, fit, search, proof)",
        description="Sweeps maxconnections (maxcached following), fits the Universal "
        "Scalability Law, searches the size with ping/reset/blocking (and --vary-threads) "
        "with Optuna under the constraints (no errors, the server's headroom, the targets), "
        "and proves the winner against the starting configuration with A/B/B/A runs. "
        "Needs the tune extra: pip install 'pooltui[tune]'.",
    )
    add_target_options(tune)
    add_workload_options(tune)
    tune.add_argument(
        "--budget",
        default=DEFAULT_BUDGET,
        help=f"seconds for the whole tune (120, 2m) or trials for the search (30t); "
        f"default {DEFAULT_BUDGET} s",
    )
    tune.add_argument(
        "--objective",
        choices=("throughput", "p99"),
        default="throughput",
        help="maximise throughput, or minimise p99 latency (at the workload's --rate)",
    )
    tune.add_argument(
        "--max-p99-ms", type=float, dest="p99_ms", metavar="MS", help="p99 latency target"
    )
    tune.add_argument(
        "--max-acquire-p99-ms",
        type=float,
        dest="acquire_p99_ms",
        metavar="MS",
        help="acquire p99 target",
    )
    tune.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="W",
        help="worker processes that will each run this pool: the server's free connections "
        "are divided among them (default 1)",
    )
    tune.add_argument(
        "--point-s",
        type=float,
        default=DEFAULT_POINT_S,
        dest="point_s",
        metavar="S",
        help=f"seconds of one measured run (default {DEFAULT_POINT_S:g}; --duration is not "
        "used: the budget bounds the tune)",
    )
    tune.add_argument(
        "--vary-threads",
        action="store_true",
        help="let the search choose the thread count too (1 to --threads)",
    )
    tune.add_argument(
        "--proof-rounds", type=int, default=3, metavar="K", help="A/B/B/A rounds of the proof"
    )
    tune.add_argument(
        "--db-cores",
        type=int,
        metavar="N",
        help="the database's cores for HikariCP's (2 x cores) + spindles (default: this machine's)",
    )
    tune.add_argument("--spindles", type=int, default=0, help="for HikariCP's formula")
    tune.add_argument("--seed", type=int, default=0, help="the search's seed (default 0)")
    out = tune.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.add_argument(
        "--format", choices=("toml", "python"), help="write the winner as a profile or as code"
    )
    out.add_argument(
        "-o", "--output", metavar="FILE", help="where --format writes (default stdout)"
    )
    out.add_argument(
        "--force", action="store_true", help="replace the output file even when it is read-only"
    )


def run(args: argparse.Namespace) -> int:
    """Check, tune, report, write the winner, exit like compare."""
    from pooltui.core.config import validate
    from pooltui.core.tune import deps

    deps.require()
    from pooltui.core.tune.search import Targets
    from pooltui.core.tune.tuner import TuneRequest, check_request, closed, parse_budget, tune

    if args.json and args.format and (args.output in (None, "-")):
        raise BadInput("--json and --format both write stdout: give --format an -o FILE.")
    for name, value in (("--db-cores", args.db_cores), ("--proof-rounds", args.proof_rounds)):
        if value is not None and value < 1:
            raise BadInput(f"{name} is {value} but must be at least 1.")
    if args.spindles < 0:
        raise BadInput(f"--spindles is {args.spindles} but must be 0 or more.")
    settings = resolve_settings(args)
    request = TuneRequest(
        config=settings.pool,
        workload=settings.workload,
        budget=parse_budget(args.budget),
        objective=args.objective,
        targets=Targets(p99_ms=args.p99_ms, acquire_p99_ms=args.acquire_p99_ms),
        processes=args.processes,
        run_s=args.point_s,
        vary_threads=args.vary_threads,
        proof_rounds=args.proof_rounds,
        db_cores=args.db_cores,
        spindles=args.spindles,
        seed=args.seed,
    )
    check_request(request)
    target = resolve_target(args, settings.dsn)
    validation = validate(settings.pool, target.facts)
    validation.require_ok()
    if not args.json:
        print_findings([f for f in validation.findings if f.level == "warning"])
    with StopSignals() as signals, signals.deferred():
        result = tune(target, request, stop=signals.stop, on_progress=print_progress)
    report_stream = sys.stderr if args.format and args.output in (None, "-") else sys.stdout
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        from pooltui.core.tune.display import format_tune

        print(format_tune(result), file=report_stream)
    if args.format and result.best is not None and not signals.stop.is_set():
        write_winner(args, settings, target, result)
    code = run_exit_code(signals, None, closed(result))
    if code != EXIT_OK:
        return code
    if result.stop_reason:
        print(f"pooltui: {result.stop_reason}", file=sys.stderr)
        return EXIT_FAILED
    if result.best is None:
        print("pooltui: no configuration met the constraints.", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def write_winner(args: argparse.Namespace, settings: Any, target: Any, result: TuneResult) -> None:
    from pooltui.core.export import to_python, to_toml
    from pooltui.core.tune.tuner import winner_profile_config

    chosen = winner_profile_config(result)
    if chosen is None:
        return
    config, workload = chosen
    if args.format == "toml":
        profile = replace(
            settings,
            name=f"{settings.name}-tuned" if settings.name != "cli" else "tuned",
            description="found by pooltui tune",
            dsn=args.dsn or settings.dsn,
            pool=config,
            workload=workload,
        )
        text = to_toml(profile)
    else:
        text = to_python(target, config)
    write_output(args.output, text, args.format, force=args.force)


def print_progress(progress: TuneProgress) -> None:
    """One stderr line per sweep point, trial and proof run."""
    left = "" if progress.left_s != progress.left_s else f", {progress.left_s:.0f} s left"
    from pooltui.core.tune.display import progress_line

    text = progress_line(progress)
    if not text:
        return
    print(f"pooltui: tune {progress.phase}: {text}{left}", file=sys.stderr, flush=True)
