"""`pooltui history`: the runs the console kept across sessions, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pooltui.cli.common import EXIT_OK


def add_parser(subparsers: Any) -> None:
    history = subparsers.add_parser("history", help="the runs the console kept across sessions")
    form = history.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="a JSON array, one object per run")
    form.add_argument("--csv", action="store_true", help="CSV, one row per run, a header")


def run(args: argparse.Namespace) -> int:
    """List the kept runs, oldest first; a damaged file is set aside (said on stderr)."""
    from pooltui.core.history_store import HistoryStore, format_runs, to_csv, to_json

    store = HistoryStore()
    try:
        if store.notice:
            print(f"pooltui: {store.notice}", file=sys.stderr)
        runs = store.runs()
    finally:
        store.close()
    if args.json:
        sys.stdout.write(to_json(runs))
    elif args.csv:
        sys.stdout.write(to_csv(runs))
    else:
        sys.stdout.write(format_runs(runs, store.path))
    return EXIT_OK
