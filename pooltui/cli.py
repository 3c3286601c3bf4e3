"""The `pooltui` command: the console by default, headless subcommands for scripts and CI.

stdout carries results (text, JSON, TOML, Python); diagnostics go to stderr. Exit codes:
0 ok, 2 bad input, 3 cannot connect, 1 anything else. Nothing here imports textual unless the
console itself is asked for.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pooltui.core.errors import BadInput, PooltuiError

EXIT_OK, EXIT_FAILED = 0, 1  # 2 (bad input) and 3 (cannot connect): PooltuiError.exit_code


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one sentence and exit code 2, like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadInput(f"{message[0].upper()}{message[1:]}; see `{self.prog} --help`.")


def _add_target_options(parser: argparse.ArgumentParser, *, profile: bool = True,
                        subcommand: bool = True) -> None:
    """The options every command takes. A subcommand's copies default to "not given", so
    ``pooltui --dsn X check`` keeps the X given before the subcommand."""
    unset = {"default": argparse.SUPPRESS} if subcommand else {}
    parser.add_argument("--dsn", **unset, help="postgresql://, mysql://, odbc:<conn string> or "
                        "sqlite:///file (default: the profile's target, else the embedded "
                        "SQLite demo)")
    parser.add_argument("--ask-password", action="store_true", **unset,
                        help="prompt for the password instead of putting it in the DSN")
    if profile:
        parser.add_argument("--profile", **unset,
                            help="a profile name (profiles/, user dir) or a TOML path")
        parser.add_argument("--set", dest="overrides", action="append",
                            **(unset or {"default": []}),
                            metavar="KEY=VALUE", help="override a pool or workload setting")


def _add_workload_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, help="concurrent request threads")
    bound = parser.add_mutually_exclusive_group()
    bound.add_argument("--duration", type=float, dest="duration_s", help="seconds to run")
    bound.add_argument("--requests", type=int, help="stop after this many requests")
    parser.add_argument("--query", help="the SQL each request runs (default SELECT 1)")
    parser.add_argument("--hold-ms", type=float, dest="hold_ms",
                        help="milliseconds a request keeps its connection after the query")
    parser.add_argument("--pattern", choices=("steady", "bursty", "poisson"))
    parser.add_argument("--rate", type=float, help="arrivals per second (poisson, bursty)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pooltui", description="Tune a DBUtils PooledDB against a real database.")
    _add_target_options(parser, subcommand=False)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    bench = sub.add_parser("bench", help="run a load burst headless and print its figures")
    _add_target_options(bench)
    _add_workload_options(bench)
    bench.add_argument("--warmup", action="store_true", help="pre-open mincached connections first")
    bench.add_argument("--leak-threshold", type=float, metavar="S",
                       help="report connections held longer than S seconds")
    bench.add_argument("--json", action="store_true", help="print one JSON object")

    export = sub.add_parser("export", help="write the configuration as a profile or Python code")
    _add_target_options(export)
    export.add_argument("--format", choices=("toml", "python"), required=True)
    export.add_argument("--name", help="the profile name written in TOML")
    export.add_argument("-o", "--output", type=Path, help="file to write (default stdout)")

    check = sub.add_parser("check", help="connectivity, driver facts and server limits")
    _add_target_options(check, profile=False)
    check.add_argument("--json", action="store_true")

    from pooltui import diagnose_cli
    diagnose_cli.add_parser(sub)
    _add_drill_parser(sub)
    return parser


def _add_drill_parser(sub: Any) -> None:
    """`pooltui drill`: fault drills through a loopback proxy (core/drill.py)."""
    drill = sub.add_parser(
        "drill", help="break the network or the server on purpose and see how the pool copes",
        description="Each drill puts a fault proxy between a fresh pool and the server, runs "
        "the workload and injects one fault a third of the way in: time to detect, time to "
        "recover, failed requests, statements DBUtils re-ran, connections left on the server, "
        "and the settings that would have helped. Exit 0 when every drill recovered and left "
        "no connection open, 1 otherwise. Loopback servers only; not SQLite.")
    _add_target_options(drill)
    drill.add_argument("--scenario", dest="scenarios", action="append", metavar="NAME",
                       help="latency, freeze, reset, down, idle-kill or restart; repeatable "
                       "(default: all)")
    drill.add_argument("--fault-s", type=float, dest="fault_s", default=2.0, metavar="S",
                       help="how long each fault lasts (default 2; restart at most 0.5)")
    drill.add_argument("--duration", type=float, dest="drill_duration_s", metavar="S",
                       help="seconds each drill runs (default: three times the fault)")
    drill.add_argument("--json", action="store_true", help="print one JSON object")


# --- shared resolution of target, profile and overrides ---------------------------------------


def resolve_target(args: argparse.Namespace, profile_dsn: str | None = None) -> Any:
    """--dsn wins, then the profile's target, then the embedded demo database."""
    from pooltui.core.targets import demo_target, parse_dsn

    dsn = args.dsn or profile_dsn
    if not dsn:
        return demo_target()
    password = getpass.getpass("Password: ") if getattr(args, "ask_password", False) else None
    return parse_dsn(dsn, password=password)


def resolve_settings(args: argparse.Namespace) -> Any:
    """The profile (or defaults) with the options the user actually typed laid over it."""
    from pooltui.core.config import apply_overrides
    from pooltui.core.profiles import Profile, find_profile, load_profile

    profile = load_profile(find_profile(args.profile)) if getattr(args, "profile", None) else \
        Profile(name="cli")
    workload_fields = ("threads", "duration_s", "requests", "query", "hold_ms", "pattern", "rate")
    typed = {name: getattr(args, name) for name in workload_fields
             if getattr(args, name, None) is not None}
    workload = replace(profile.workload, **typed)
    if typed.get("requests") and "duration_s" not in typed:
        workload = replace(workload, duration_s=max(workload.duration_s, 3600.0))
    pool, workload = apply_overrides(profile.pool, workload, getattr(args, "overrides", []))
    return replace(profile, pool=pool, workload=workload)


def _print_findings(findings: Sequence[Any]) -> None:
    for finding in findings:
        print(f"{finding.level}: {finding.param}: {finding.message}", file=sys.stderr)


# --- subcommands ------------------------------------------------------------------------------


def cmd_bench(args: argparse.Namespace) -> int:
    from pooltui.core import engine
    from pooltui.core.config import validate, validate_workload
    from pooltui.core.pool import InstrumentedPool
    from pooltui.core.probes import probe_server
    from pooltui.core.report import format_run

    settings = resolve_settings(args)
    problems = [f for f in validate_workload(settings.workload) if f.level == "error"]
    if problems:
        raise BadInput(problems[0].message)
    target = resolve_target(args, settings.dsn)
    validation = validate(settings.pool, target.facts)
    validation.require_ok()
    server = probe_server(target)  # a target that cannot be reached says so before anything else
    if not args.json:
        _print_findings([f for f in validation.findings if f.level == "warning"])
    pool = InstrumentedPool(target, settings.pool, leak_threshold_s=args.leak_threshold)
    try:
        warmup = engine.warm_up(pool) if args.warmup else None
        result = engine.run(pool, settings.workload, server_version=server.version)
    finally:
        pool.close()
    if args.json:
        payload = result.as_dict()
        if warmup is not None:
            payload["warmup"] = warmup.as_dict()
        print(json.dumps(payload, indent=2))
    else:
        print(format_run(result, warmup))
    if result.fatal_error:
        print(f"pooltui: {result.fatal_error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from pooltui.core.config import validate
    from pooltui.core.export import to_python, to_toml
    from pooltui.core.profiles import save_text_atomically

    settings = resolve_settings(args)
    if args.name:
        settings = replace(settings, name=args.name)
    target = resolve_target(args, settings.dsn)
    validation = validate(settings.pool, target.facts)
    validation.require_ok()
    if args.format == "toml":
        text = to_toml(replace(settings, dsn=args.dsn or settings.dsn))
    else:
        text = to_python(target, settings.pool)
    if args.output:
        save_text_atomically(args.output, text)
        print(f"pooltui: wrote {args.format} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from pooltui.core.checks import check_target
    from pooltui.core.report import format_check

    report = check_target(resolve_target(args))
    print(json.dumps(report.as_dict(), indent=2) if args.json else format_check(report))
    return EXIT_OK


def cmd_drill(args: argparse.Namespace) -> int:
    from pooltui.core import drill
    from pooltui.core.probes import probe_server
    from pooltui.core.report import format_drills

    settings = resolve_settings(args)
    target = resolve_target(args, settings.dsn)
    scenarios = args.scenarios or list(drill.SCENARIOS)
    # SQLite, a socket, a remote host, a bad plan: refused before anything runs
    validation = drill.check_drills(target, settings.pool, settings.workload, scenarios,
                                    fault_s=args.fault_s, duration_s=args.drill_duration_s)
    server = probe_server(target)
    if not args.json:
        _print_findings([f for f in validation.findings if f.level == "warning"])
    reports = drill.run_drills(target, settings.pool, settings.workload, scenarios,
                               fault_s=args.fault_s, duration_s=args.drill_duration_s,
                               server_version=server.version)
    ok = all(report.ok for report in reports)
    if args.json:
        print(json.dumps({"target": target.redacted, "server_version": server.version,
                          "ok": ok, "drills": [r.as_dict() for r in reports]}, indent=2))
    else:
        print(format_drills(reports))
    return EXIT_OK if ok else EXIT_FAILED


def cmd_console(args: argparse.Namespace) -> int:
    from pooltui.tui.app import run_console

    return run_console(dsn=args.dsn, profile=args.profile, ask_password=args.ask_password)


COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    None: cmd_console,
    "bench": cmd_bench,
    "export": cmd_export,
    "check": cmd_check,
    "drill": cmd_drill,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run pooltui; every user error becomes one sentence on stderr and its exit code."""
    try:
        args = build_parser().parse_args(argv)
        if args.command == "diagnose":
            from pooltui import diagnose_cli
            return diagnose_cli.run(args)
        return COMMANDS[args.command](args)
    except PooltuiError as error:
        print(f"pooltui: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("pooltui: interrupted; every connection was closed.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
