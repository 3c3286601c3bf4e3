"""`pooltui compare`: two configurations run A/B/B/A (each run on a fresh, pre-opened pool of its
side), every figure with a bootstrap 95 % interval and a verdict, and ``--fail-if`` thresholds
that gate CI (exit 4).

A is the profile and ``--set`` settings with the workload options as given; B is A plus
``--b-set`` (pool or workload keys), or ``--b-profile`` with the same options laid over it. Both
run on one target.
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
    print_run_done,
    resolve_settings,
    resolve_target,
    run_exit_code,
)
from pooltui.core.errors import BadInput

if TYPE_CHECKING:
    from pooltui.core.compare.runner import Side
    from pooltui.core.targets import Target

EXIT_THRESHOLD = 4  # a --fail-if threshold was crossed
DEFAULT_ROUNDS = 5  # 5 rounds are 5 units of the interval: bench/compare_noise.py's rates


def add_parser(subparsers: Any) -> None:
    compare = subparsers.add_parser(
        "compare",
        help="run two configurations alternately and judge each figure against its noise",
        description="A is the profile, --set and the workload options as given; B is A plus "
        "--b-set, or --b-profile with the same options. They run A/B/B/A for --rounds on one "
        "warm pool each; every figure gets B/A (or B-A near zero), a 95 %% interval and a "
        "verdict. Exit 4 when a --fail-if threshold is crossed.",
    )
    add_target_options(compare)
    add_workload_options(compare)
    compare.add_argument(
        "--b-set",
        dest="b_overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="B is A with this pool or workload setting (repeatable)",
    )
    compare.add_argument(
        "--b-profile",
        metavar="NAME|PATH",
        help="B is this profile, with the workload options and --set given for A",
    )
    compare.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"A/B/B/A rounds, 2 pairs of runs each (default {DEFAULT_ROUNDS})",
    )
    compare.add_argument(
        "--fail-if",
        dest="fail_if",
        action="append",
        default=[],
        metavar="EXPR",
        help="exit 4 when this holds for B, with baseline = A's value, e.g. "
        "'p99_acquire_ms > 1.2 * baseline', 'errors > 0' (repeatable)",
    )
    compare.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="W",
        help="each run a fleet: W processes, each with its own fresh pool of its side and the "
        "threads (gunicorn style); figures are the fleet's exact merge",
    )
    compare.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Resolve A and B, parse the thresholds, run, print, gate."""
    from pooltui.core.compare.display import format_comparison
    from pooltui.core.compare.runner import FIGURE_NAMES, check_sides, run_comparison
    from pooltui.core.compare.thresholds import evaluate_all, parse_threshold
    from pooltui.core.config import validate

    if args.rounds < 1:
        raise BadInput(
            f"--rounds is {args.rounds} but must be at least 1 (3 or more for a verdict)."
        )
    if args.processes < 1:
        raise BadInput(f"--processes is {args.processes} but must be at least 1.")
    thresholds = [parse_threshold(text, FIGURE_NAMES) for text in args.fail_if]
    a, b, target = resolve_sides(args)
    check_sides(target, {"A": a, "B": b})  # a side that cannot run says so before anything
    if not args.json:
        a_warnings, b_warnings = (
            [f for f in validate(side.config, target.facts).findings if f.level == "warning"]
            for side in (a, b)
        )
        print_findings(a_warnings)
        print_findings(
            [replace(f, param=f"B {f.param}") for f in b_warnings if f not in a_warnings]
        )

    with StopSignals() as signals, signals.deferred():
        comparison = run_comparison(
            target,
            a,
            b,
            args.rounds,
            stop=signals.stop,
            on_progress=print_run_done,
            processes=args.processes,
        )
    outcome = comparison.outcome
    b_values, a_values = comparison.values("B"), comparison.values("A")
    crossed = evaluate_all(thresholds, b_values, a_values) if comparison.differences else []
    if args.json:
        payload = comparison.as_dict()
        payload["thresholds"] = [
            {
                "expression": t.text,
                "figure": t.figure,
                "a": a_values.get(t.figure),
                "b": b_values.get(t.figure),
                "crossed": t in crossed,
            }
            for t in thresholds
        ]
        print(json.dumps(payload, indent=2))
    else:
        print(format_comparison(comparison))
    for threshold in crossed:
        print(
            f"pooltui: threshold crossed: {threshold.text} (B {b_values[threshold.figure]:.6g}, "
            f"A {a_values[threshold.figure]:.6g})",
            file=sys.stderr,
        )
    code = run_exit_code(signals, outcome.fatal_error, outcome.closed)
    if code != EXIT_OK:
        return code
    if thresholds and not comparison.differences:
        print("pooltui: no pair of runs completed, so no threshold was evaluated.", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_THRESHOLD if crossed else EXIT_OK


def resolve_sides(args: argparse.Namespace) -> tuple[Side, Side, Target]:
    """(A, B, the target): B's settings are A's (or --b-profile's, with the same options) with
    --b-set over them; one target for both."""
    from pooltui.core.compare.runner import Side
    from pooltui.core.config import apply_overrides

    a_settings = resolve_settings(args)
    b_settings = (
        resolve_settings(argparse.Namespace(**{**vars(args), "profile": args.b_profile}))
        if args.b_profile
        else a_settings
    )
    b_pool, b_workload = apply_overrides(
        b_settings.pool, b_settings.workload, args.b_overrides, option="--b-set"
    )
    if not getattr(args, "dsn", None) and args.b_profile and b_settings.dsn != a_settings.dsn:
        raise BadInput(
            f"--b-profile {args.b_profile} names another target than A: compare runs both on "
            "one target; give it with --dsn."
        )
    target = resolve_target(args, a_settings.dsn, profile=a_settings)
    a_label = f"profile {args.profile}" if getattr(args, "profile", None) else "the settings given"
    b_label = f"profile {args.b_profile}" if args.b_profile else "A"
    if args.b_overrides:
        b_label += " with --b-set " + " ".join(pair.strip() for pair in args.b_overrides)
    return (
        Side(a_settings.pool, a_settings.workload, a_label),
        Side(b_pool, b_workload, b_label),
        target,
    )
