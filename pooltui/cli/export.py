"""`pooltui export`: the configuration as a TOML profile or as Python PooledDB code."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from pooltui.cli.common import (
    EXIT_OK,
    add_target_options,
    resolve_settings,
    resolve_target,
    write_output,
)
from pooltui.core.errors import BadInput


def add_parser(subparsers: Any) -> None:
    export = subparsers.add_parser(
        "export", help="write the configuration as a profile, Python code or a locustfile"
    )
    add_target_options(export)
    export.add_argument("--format", choices=("toml", "python", "locust"), required=True)
    export.add_argument("--name", help="the profile name written in TOML")
    export.add_argument(
        "-o", "--output", metavar="FILE", help="file to write atomically (default, or -, stdout)"
    )
    export.add_argument(
        "--force",
        action="store_true",
        help="replace the output file if it exists, even a read-only one",
    )


def run(args: argparse.Namespace) -> int:
    """The settings as a profile (TOML) or as Python PooledDB code, to stdout or -o."""
    from pooltui.core.config import validate
    from pooltui.core.export import to_locust, to_python, to_toml

    settings = resolve_settings(args)
    if args.name is not None:
        if not args.name.strip():
            raise BadInput(
                "--name is blank: give the profile a name such as web-api, or leave --name out."
            )
        settings = replace(settings, name=args.name)
    target = resolve_target(args, settings.dsn, profile=settings)
    validation = validate(settings.pool, target.facts)
    validation.require_ok()
    if args.format == "toml":
        text = to_toml(replace(settings, dsn=args.dsn or settings.dsn))
    elif args.format == "locust":
        text = to_locust(target, settings)
    else:
        text = to_python(target, settings.pool)
    write_output(args.output, text, args.format, force=args.force)
    return EXIT_OK
