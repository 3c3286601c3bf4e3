"""What every `pooltui` command shares: the parser, the target and settings, stop signals,
the guarded stdout and the one error printer.

Subcommand modules (``bench``, ``export``, ``check``, ``drill``, ``diagnose``, ``console``)
import from here and never from each other or from the package, so nothing imports in a cycle.
Nothing here imports textual.
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pooltui.core.errors import BadInput, PooltuiError, redact
from pooltui.core.numbers import count, ms, rate, seconds

if TYPE_CHECKING:
    from pooltui.core.compare.runner import RunDone
    from pooltui.core.config import Finding
    from pooltui.core.probes import LeftOpen
    from pooltui.core.profiles import Profile
    from pooltui.core.targets import Target

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
        print(
            f"pooltui: {signal.Signals(signum).name}: cancelling what runs on the server and "
            "closing every connection (a few seconds at most)",
            file=sys.stderr,
        )

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


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one sentence and exit code 2, like every other error,
    and never quote a password: argparse echoes what was typed (``--dns postgresql://u:pw@h``)."""

    def parse_known_args(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        namespace: argparse.Namespace | None = None,
    ) -> Any:
        self._typed = list(sys.argv[1:] if args is None else args)  # what error() may echo
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> None:  # type: ignore[override]
        message = redact(message, typed_secrets(getattr(self, "_typed", sys.argv[1:])))
        raise BadInput(f"{message[0].upper()}{message[1:]}; see `{self.prog} --help`.")


def typed_secrets(argv: Sequence[str]) -> list[str]:
    """The secrets in the arguments (DSNs with passwords) and in the drivers' password
    variables: what no message of this process may show."""
    from pooltui.core.targets import PASSWORD_ENVS, dsn_secrets

    found = [secret for arg in argv for secret in dsn_secrets(arg)]
    return found + [os.environ[name] for name in PASSWORD_ENVS.values() if os.environ.get(name)]


def add_target_options(
    parser: argparse.ArgumentParser, *, profile: bool = True, subcommand: bool = True
) -> None:
    """The options every command takes. A subcommand's copies default to "not given", so
    ``pooltui --dsn X check`` keeps the X given before the subcommand."""
    unset: dict[str, Any] = {"default": argparse.SUPPRESS} if subcommand else {}
    parser.add_argument(
        "--dsn",
        **unset,
        help="postgresql://, mysql://, odbc:<conn string> or "
        "sqlite:///file (default: the profile's target, else the embedded "
        "SQLite demo)",
    )
    parser.add_argument(
        "--ask-password",
        action="store_true",
        **unset,
        help="prompt for the password instead of putting it in the DSN",
    )
    if profile:
        parser.add_argument(
            "--profile", **unset, help="a profile name (profiles/, user dir) or a TOML path"
        )
        parser.add_argument(
            "--set",
            dest="overrides",
            action="append",
            **(unset or {"default": []}),
            metavar="KEY=VALUE",
            help="override a pool or workload setting",
        )


def add_workload_options(parser: argparse.ArgumentParser) -> None:
    """What a run does: threads, how long, the query, the hold, the arrival pattern, guards."""
    parser.add_argument("--threads", type=int, help="concurrent request threads")
    bound = parser.add_mutually_exclusive_group()
    bound.add_argument("--duration", type=float, dest="duration_s", help="seconds to run")
    bound.add_argument("--requests", type=int, help="stop after this many requests")
    parser.add_argument("--query", help="the SQL each request runs (default SELECT 1)")
    parser.add_argument(
        "--hold-ms",
        type=float,
        dest="hold_ms",
        help="milliseconds a request keeps its connection after the query",
    )
    parser.add_argument("--pattern", choices=("steady", "bursty", "poisson"))
    parser.add_argument("--rate", type=float, help="arrivals per second (poisson, bursty)")
    parser.add_argument(
        "--statement-timeout-ms",
        type=float,
        dest="statement_timeout_ms",
        help="the server cancels a statement running longer (default: the run's duration + 5 s)",
    )
    parser.add_argument(
        "--allow-writes",
        action="store_const",
        const=True,
        dest="allow_writes",
        help="let the query write (sessions are read-only otherwise)",
    )
    parser.add_argument(
        "--give-up-after",
        type=float,
        dest="give_up_after_s",
        metavar="S",
        help="end the run when the server stays unreachable this long "
        "(default: retry with back-off until the run ends)",
    )


# --- shared resolution of target, profile and overrides ---------------------------------------


def resolve_target(
    args: argparse.Namespace, profile_dsn: str | None = None, *, profile: Profile | None = None
) -> Target:
    """--dsn wins, then the profile's target, then the embedded demo database. A ``profile``
    made for another kind of server than the target is said on stderr, with what does not fit
    (core.profiles.profile_misfits), before anything runs."""
    from pooltui.core.targets import demo_target, parse_dsn

    dsn = args.dsn or profile_dsn
    if not dsn:
        target = demo_target()
    else:
        password = getpass.getpass("Password: ") if getattr(args, "ask_password", False) else None
        target = parse_dsn(dsn, password=password)
    if profile is not None:
        from pooltui.core.profiles import profile_misfits

        misfit = profile_misfits(profile, target)
        if misfit:
            print(f"pooltui: warning: {misfit}", file=sys.stderr)
    return target


WORKLOAD_OPTIONS = (
    "threads",
    "duration_s",
    "requests",
    "query",
    "hold_ms",
    "pattern",
    "rate",
    "statement_timeout_ms",
    "allow_writes",
    "give_up_after_s",
)


def resolve_settings(
    args: argparse.Namespace, default: Callable[[], Profile] | None = None
) -> Profile:
    """The profile (or ``default()``, else pooltui's defaults) with the options the user
    actually typed laid over it: workload options, then every ``--set``."""
    from pooltui.core.config import apply_overrides
    from pooltui.core.profiles import Profile, find_profile, load_profile

    if getattr(args, "profile", None):
        profile = load_profile(find_profile(args.profile))
    else:
        profile = default() if default is not None else Profile(name="cli")
    typed = {
        name: getattr(args, name)
        for name in WORKLOAD_OPTIONS
        if getattr(args, name, None) is not None
    }
    workload = replace(profile.workload, **typed)
    if typed.get("requests") and "duration_s" not in typed:
        workload = replace(workload, duration_s=max(workload.duration_s, 3600.0))
    pool, workload = apply_overrides(profile.pool, workload, getattr(args, "overrides", None) or [])
    return replace(profile, pool=pool, workload=workload)


def print_run_done(done: RunDone) -> None:
    """One stderr line per finished run of a repeat or a comparison (its side, if it has two)."""
    r = done.result
    side = f" ({done.side})" if done.compared else ""
    cut = f" (stopped after {seconds(r.duration_s)}: not judged)" if r.stopped else ""
    print(
        f"pooltui: run {done.index}/{done.total}{side}: {rate(r.throughput_rps, ' req/s')}, "
        f"latency p95 {ms(r.latency.p95)}, acquire max {ms(r.acquire.max)}, "
        f"{count(r.errors, 'error')}{cut}",
        file=sys.stderr,
        flush=True,
    )


def run_exit_code(
    signals: StopSignals, fatal_error: str | None, closed: Mapping[str, LeftOpen]
) -> int:
    """How a command that ran load ends, after its results are printed: the signal's code, 1
    for a fatal error (printed) or a session the server still has (or could not confirm),
    else 0. What the pools left (``closed``, by side) is printed first."""
    from pooltui.core.compare.runner import closed_sentence

    print(f"pooltui: {closed_sentence(closed)}.", file=sys.stderr)
    if signals.exit_code is not None:
        return signals.exit_code
    if fatal_error:
        print(f"pooltui: {fatal_error}", file=sys.stderr)
        return EXIT_FAILED
    clean = all(left.verified and not left.sessions for left in closed.values())
    return EXIT_OK if clean else EXIT_FAILED


def print_findings(findings: Sequence[Finding]) -> None:
    """Findings on stderr, one a line (stdout carries only results)."""
    for finding in findings:
        print(f"{finding.level}: {finding.param}: {finding.message}", file=sys.stderr)


def write_output(output: str | None, text: str, what: str, *, force: bool = False) -> None:
    """``-o FILE``: written atomically, never over a non-regular file, nor (unless ``force``)
    over an existing one (core.profiles.save_text_atomically); no ``-o`` or ``-o -``: stdout."""
    from pooltui.core.profiles import save_text_atomically

    if output is None or output == "-":
        sys.stdout.write(text)
        return
    if not output.strip():
        raise BadInput("-o is empty: give the file to write, or - (or no -o) for stdout.")
    save_text_atomically(Path(output), text, overwrite_readonly=force, overwrite=force)
    print(f"pooltui: wrote {what} to {output}", file=sys.stderr)


def require_usable_dsn(args: argparse.Namespace) -> None:
    """An explicitly given blank ``--dsn`` or ``--profile`` (an unset shell variable) is bad
    input, not the demo."""
    if getattr(args, "dsn", None) is not None and not args.dsn.strip():
        raise BadInput(
            "--dsn is empty (an unset shell variable?): give a DSN, or leave "
            "--dsn out for the profile's target or the embedded demo."
        )
    if getattr(args, "profile", None) is not None and not args.profile.strip():
        raise BadInput(
            "--profile is empty (an unset shell variable?): give a profile name or "
            "path, or leave --profile out."
        )


# --- errors and stdout ------------------------------------------------------------------------


def print_error(error: BaseException, argv: Sequence[str]) -> int:
    """The one place an error of any command is printed: one redacted sentence on stderr (a
    bug: its redacted traceback) and the exit code it means."""
    secrets = typed_secrets(argv)
    if isinstance(error, PooltuiError):
        print(f"pooltui: {redact(str(error), secrets)}", file=sys.stderr)
        return error.exit_code
    if isinstance(error, Interrupted):  # before or after a run: the pool's finally closed it
        print(f"pooltui: interrupted by {signal.Signals(error.signum).name}.", file=sys.stderr)
        return 128 + error.signum
    if isinstance(error, KeyboardInterrupt):  # a command without StopSignals: no run was open
        print("pooltui: interrupted.", file=sys.stderr)
        return 130
    print(
        "pooltui: internal error; please report it with this traceback:\n"
        + redact("".join(traceback.format_exception(error)), secrets),
        file=sys.stderr,
        end="",
    )
    return EXIT_FAILED


class StdoutLost(Exception):
    """Writing the results to stdout failed (a closed pipe, a full disk)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class GuardedStdout:
    """sys.stdout while a command runs: a failed write or flush says it was stdout's."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as error:
            raise StdoutLost(error) from error

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as error:
            raise StdoutLost(error) from error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def stdout_lost(error: OSError, stdout: Any) -> int:
    """A closed pipe (``| head``) ends quietly; anything else is one sentence. Either way the
    rest goes to devnull, so the interpreter's own flush at exit cannot print a traceback
    (Python's documented recipe for SIGPIPE)."""
    if not isinstance(error, BrokenPipeError):
        print(
            f"pooltui: cannot write the results to stdout ({error.strerror or error}): "
            "free space or write them elsewhere.",
            file=sys.stderr,
        )
    try:
        fileno = stdout.fileno()
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture)
        return EXIT_FAILED
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fileno)
    os.close(devnull)
    return EXIT_FAILED
