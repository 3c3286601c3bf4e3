"""The `pooltui` command: the console by default, headless subcommands for scripts and CI.

stdout carries results (text, JSON, TOML, Python); diagnostics go to stderr. Exit codes:
0 ok, 2 bad input, 3 cannot connect, 1 anything else, 128 + the signal's number when SIGINT,
SIGTERM or SIGHUP ended it (after what ran on the server was cancelled and the connections
closed and counted). Nothing here imports textual unless the console itself is asked for.
"""

from __future__ import annotations

import argparse
import getpass
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from pooltui.core.errors import BadInput, PooltuiError, redact

EXIT_OK, EXIT_FAILED = 0, 1  # 2 (bad input) and 3 (cannot connect): PooltuiError.exit_code
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """A stop signal arrived while no run was going on (probing, connecting, warming up)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class StopSignals:
    """SIGINT, SIGTERM and SIGHUP end a command through the run's own stop path instead of
    killing it mid-statement: during a run a signal only sets ``stop`` (the engine cancels what
    runs on the server, then returns); outside one it raises Interrupted, so the ``finally``
    that closes the pool runs. While connections are being closed, further signals wait."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.signum: int | None = None
        self._raising = True
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._saved[signum] = signal.signal(signum, self._received)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)

    def _received(self, signum: int, _frame: object) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        self.stop.set()
        if self._raising and first:
            raise Interrupted(signum)
        print(f"pooltui: {signal.Signals(signum).name}: cancelling what runs on the server and "
              "closing every connection (a few seconds at most)", file=sys.stderr)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """A run or the closing of connections: signals set ``stop`` and wait for the end."""
        self._raising = False
        try:
            yield
        finally:
            self._raising = True

    @property
    def exit_code(self) -> int | None:
        return None if self.signum is None else 128 + self.signum


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one sentence and exit code 2, like every other error,
    and never quote a password: argparse echoes what was typed (``--dns postgresql://u:pw@h``)."""

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None) -> Any:
        self._typed = list(sys.argv[1:] if args is None else args)  # what error() may echo
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> None:  # type: ignore[override]
        message = redact(message, typed_secrets(getattr(self, "_typed", sys.argv[1:])))
        raise BadInput(f"{message[0].upper()}{message[1:]}; see `{self.prog} --help`.")


def typed_secrets(argv: Sequence[str]) -> list[str]:
    """The secrets in the arguments (DSNs with passwords) and in the drivers' password
    variables: what no message of this process may show."""
    import os

    from pooltui.core.targets import PASSWORD_ENVS, dsn_secrets

    found = [secret for arg in argv for secret in dsn_secrets(arg)]
    return found + [os.environ[name] for name in PASSWORD_ENVS.values() if os.environ.get(name)]


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
    parser.add_argument("--statement-timeout-ms", type=float, dest="statement_timeout_ms",
                        help="the server cancels a statement running longer (default: the "
                        "run's duration + 5 s)")
    parser.add_argument("--allow-writes", action="store_const", const=True, dest="allow_writes",
                        help="let the query write (sessions are read-only otherwise)")
    parser.add_argument("--give-up-after", type=float, dest="give_up_after_s", metavar="S",
                        help="end the run when the server stays unreachable this long "
                        "(default: retry with back-off until the run ends)")


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
    export.add_argument("-o", "--output", metavar="FILE",
                        help="file to write atomically (default, or -, stdout)")
    export.add_argument("--force", action="store_true",
                        help="replace the output file even when it is read-only")

    check = sub.add_parser("check", help="connectivity, driver facts and server limits")
    _add_target_options(check, profile=False)
    check.add_argument("--json", action="store_true")

    from pooltui.cli import diagnose as diagnose_cli
    diagnose_cli.add_parser(sub)
    _add_drill_parser(sub)
    return parser


def _add_drill_parser(sub: Any) -> None:
    """`pooltui drill`: fault drills through a loopback proxy (core/faults/drill.py)."""
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
    workload_fields = ("threads", "duration_s", "requests", "query", "hold_ms", "pattern", "rate",
                       "statement_timeout_ms", "allow_writes", "give_up_after_s")
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
            _print_findings([f for f in validation.findings if f.level == "warning"])
        pool = InstrumentedPool(target, settings.pool, leak_threshold_s=args.leak_threshold,
                                guards=SessionGuards.of(settings.workload))
        try:
            warmup = engine.warm_up(pool) if args.warmup else None
            with signals.deferred():
                result = engine.run(pool, settings.workload, stop=signals.stop,
                                    server_version=server.version)
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


def cmd_export(args: argparse.Namespace) -> int:
    from pooltui.core.config import validate
    from pooltui.core.export import to_python, to_toml

    settings = resolve_settings(args)
    if args.name is not None:
        if not args.name.strip():
            raise BadInput("--name is blank: give the profile a name such as web-api, or leave "
                           "--name out.")
        settings = replace(settings, name=args.name)
    target = resolve_target(args, settings.dsn)
    validation = validate(settings.pool, target.facts)
    validation.require_ok()
    if args.format == "toml":
        text = to_toml(replace(settings, dsn=args.dsn or settings.dsn))
    else:
        text = to_python(target, settings.pool)
    write_output(args.output, text, args.format, force=args.force)
    return EXIT_OK


def write_output(output: str | None, text: str, what: str, *, force: bool = False) -> None:
    """``-o FILE``: written atomically, never over a non-regular or (unless ``force``) a
    read-only file (core.profiles.save_text_atomically); no ``-o`` or ``-o -``: stdout."""
    from pooltui.core.profiles import save_text_atomically

    if output is None or output == "-":
        sys.stdout.write(text)
        return
    if not output.strip():
        raise BadInput("-o is empty: give the file to write, or - (or no -o) for stdout.")
    save_text_atomically(Path(output), text, overwrite_readonly=force)
    print(f"pooltui: wrote {what} to {output}", file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    from pooltui.core.checks import check_target
    from pooltui.core.report import format_check

    report = check_target(resolve_target(args))
    print(json.dumps(report.as_dict(), indent=2) if args.json else format_check(report))
    return EXIT_OK


def cmd_drill(args: argparse.Namespace) -> int:
    from pooltui.core.faults import drill
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


class _StdoutLost(Exception):
    """Writing the results to stdout failed (a closed pipe, a full disk)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class _GuardedStdout:
    """sys.stdout while a command runs: a failed write or flush says it was stdout's."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as error:
            raise _StdoutLost(error) from error

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as error:
            raise _StdoutLost(error) from error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _stdout_lost(error: OSError, stdout: Any) -> int:
    """A closed pipe (``| head``) ends quietly; anything else is one sentence. Either way the
    rest goes to devnull, so the interpreter's own flush at exit cannot print a traceback
    (Python's documented recipe for SIGPIPE)."""
    import os

    if not isinstance(error, BrokenPipeError):
        print(f"pooltui: cannot write the results to stdout ({error.strerror or error}): "
              "free space or write them elsewhere.", file=sys.stderr)
    try:
        fileno = stdout.fileno()
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture)
        return EXIT_FAILED
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fileno)
    os.close(devnull)
    return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Run pooltui; every user error becomes one sentence on stderr and its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    stdout = sys.stdout
    sys.stdout = _GuardedStdout(stdout)  # type: ignore[assignment]
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "dsn", None) is not None and not args.dsn.strip():
            raise BadInput("--dsn is empty (an unset shell variable?): give a DSN, or leave "
                           "--dsn out for the profile's target or the embedded demo.")
        if args.command is None:
            sys.stdout = stdout  # the console draws on the terminal itself
        if args.command == "diagnose":
            from pooltui.cli import diagnose as diagnose_cli
            code = diagnose_cli.run(args)
        else:
            code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
        return code
    except _StdoutLost as lost:
        return _stdout_lost(lost.error, stdout)
    except PooltuiError as error:
        print(f"pooltui: {redact(str(error), typed_secrets(argv))}", file=sys.stderr)
        return error.exit_code
    except Interrupted as stopped:  # before or after a run: the pool's finally has closed it
        print(f"pooltui: interrupted by {signal.Signals(stopped.signum).name}.", file=sys.stderr)
        return 128 + stopped.signum
    except KeyboardInterrupt:  # a command without StopSignals: nothing of a run was open
        print("pooltui: interrupted.", file=sys.stderr)
        return 130
    except Exception:  # a bug: its traceback, without any secret, for the report
        import traceback

        print("pooltui: internal error; please report it with this traceback:\n"
              + redact(traceback.format_exc(), typed_secrets(argv)), file=sys.stderr, end="")
        return EXIT_FAILED
    finally:
        sys.stdout = stdout


if __name__ == "__main__":
    sys.exit(main())
