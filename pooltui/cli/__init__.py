"""The `pooltui` command: the console by default, headless subcommands for scripts and CI.

stdout carries results (text, JSON, TOML, Python); diagnostics go to stderr. Exit codes:
0 ok, 2 bad input, 3 cannot connect, 1 anything else, 4 a ``compare --fail-if`` threshold
crossed, 128 + the signal's number when SIGINT, SIGTERM or SIGHUP ended it (after what ran on
the server was cancelled and the connections closed and counted). Nothing here imports textual
unless the console itself is asked for.

One module per subcommand, each with ``add_parser(subparsers)`` and ``run(args) -> int``;
what they share (target, settings, signals, output, the error printer) is ``common``. A new
subcommand is a module plus one entry in ``SUBCOMMANDS``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from pooltui.cli import bench, check, compare, console, diagnose, drill, export, history, tune
from pooltui.cli.common import (
    GuardedStdout,
    Interrupted,
    Parser,
    StdoutLost,
    add_target_options,
    print_error,
    require_usable_dsn,
    stdout_lost,
)

SUBCOMMANDS: tuple[tuple[str, ModuleType], ...] = (
    ("bench", bench),
    ("compare", compare),
    ("export", export),
    ("check", check),
    ("diagnose", diagnose),
    ("drill", drill),
    ("history", history),
    ("tune", tune),
)
#: the command table main() dispatches on: None is the console
COMMANDS: dict[str | None, Callable[..., int]] = {
    None: console.run,
    **{name: module.run for name, module in SUBCOMMANDS},
}


def build_parser() -> Parser:
    parser = Parser(prog="pooltui", description="Tune a DBUtils PooledDB against a real database.")
    add_target_options(parser, subcommand=False)
    subparsers = parser.add_subparsers(dest="command", parser_class=Parser)
    for _, module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run pooltui; every error becomes one sentence on stderr (print_error) and its exit code.

    stdout is guarded while a command runs and flushed before returning, so a write that fails
    is known to be stdout's (a closed pipe ends quietly, a full disk is one sentence)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    stdout = sys.stdout
    sys.stdout = GuardedStdout(stdout)
    try:
        args = build_parser().parse_args(argv)
        require_usable_dsn(args)
        if args.command is None:
            sys.stdout = stdout  # the console draws on the terminal itself
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
        return code
    except StdoutLost as lost:
        return stdout_lost(lost.error, stdout)
    except (Exception, KeyboardInterrupt, Interrupted) as error:
        return print_error(error, argv)
    finally:
        sys.stdout = stdout


if __name__ == "__main__":
    sys.exit(main())
