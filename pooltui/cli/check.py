"""`pooltui check`: connectivity, driver facts and server limits."""

from __future__ import annotations

import argparse
import json
from typing import Any

from pooltui.cli.common import EXIT_OK, add_target_options, resolve_target


def add_parser(subparsers: Any) -> None:
    check = subparsers.add_parser("check", help="connectivity, driver facts and server limits")
    add_target_options(check, profile=False)
    check.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Connect, time a query, read the server's limits and the driver's facts."""
    from pooltui.core.checks import check_target
    from pooltui.core.report import format_check

    report = check_target(resolve_target(args))
    print(json.dumps(report.as_dict(), indent=2) if args.json else format_check(report))
    return EXIT_OK
