"""`pooltui diagnose`: the wizard's answers as options (or a TOML file), a recommendation out.

Options beat the answers file, which beats the stated defaults; every answer that is neither
given nor measured is listed as assumed. With a target (``--dsn`` or the profile's) pooltui
measures what it can: the connect time, the round trip (or the ``--query`` given, timed as the
representative query) and the server's limits and idle timeouts.

Decisions, documented in ``--help`` too:

* No target at all: nothing is measured. The embedded demo is a local SQLite file whose figures
  describe nothing about the application's database, and they would silently replace the stated
  defaults; the recommendation uses the demo's driver facts (what ``bench`` would run on).
* A target that cannot be reached: when it came from ``--dsn`` the user asked for measurement
  explicitly, so it is an error (exit 3, with a hint to use ``--no-measure``); when it came from
  a profile, a warning on stderr and the recommendation from the answers alone (exit 0).
* Without ``--query`` the profile's workload query is timed as the representative query
  (median of several runs), since it is what the profile's bursts run. A profile whose query is
  the default SELECT 1 has it timed the same way (its bursts run it, so its time goes into the
  hold read off the profile), but, as without a profile, the SELECT 1 round trip is not used as
  ``query_ms``: it is a floor, not the application's query, and it would override
  ``--complexity``.
* The profile's workload answers what the options and the file leave open, exactly as the
  wizard prefills from it (``workload_answers``: threads, rate, shape, query, hold with the
  measured query); the text and ``from_profile`` in the JSON say which answers it gave.

Nothing here imports textual.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pooltui.cli.common import StopSignals, resolve_target, write_output
from pooltui.core.config import PoolConfig, Workload, apply_overrides, validate
from pooltui.core.diagnosis.display import assumed_names, prediction_table
from pooltui.core.diagnosis.recommend import (
    ANSWER_NAMES,
    COMPLEXITIES,
    DEFAULT_ANSWERS,
    GOALS,
    SHAPES,
    SYMPTOMS,
    TYPICAL_QUERY_MS,
    AnswerRefused,
    Answers,
    Recommendation,
    answers_from_mapping,
    recommend,
    recommendation_as_dict,
    workload_answers,
)
from pooltui.core.diagnosis.verify import TargetFigures, measure_target, verify_workload
from pooltui.core.errors import BadInput, CannotConnect
from pooltui.core.numbers import ms
from pooltui.core.profiles import Profile, read_toml_file
from pooltui.core.targets import DriverFacts

if TYPE_CHECKING:
    from pooltui.core.fleet import FleetResult
    from pooltui.core.targets import Target

FLEET_MEASURE_S = 3.0  # --measure-fleet: long enough for a few thousand requests at most rates

#: option -> (answer name, type, help); dest is "answer_<name>" so nothing collides
ANSWER_OPTIONS: tuple[tuple[str, str, type, str], ...] = (
    ("--threads", "threads_per_process", int, "threads (concurrent requests) per process"),
    ("--processes", "processes", int, "processes sharing the database, each with a pool"),
    ("--rate", "peak_rate_per_s", float, "requests per second at peak, all processes together"),
    ("--peak-to-average", "peak_to_average", float, "peak rate / average rate (1 = flat)"),
    ("--query", "query", str, "a representative read-only query, timed on the target"),
    ("--hold-ms", "hold_ms", float, "ms a request holds its connection, query included"),
    ("--query-ms", "query_ms", float, "ms one typical query takes (measured with --query)"),
    ("--connect-ms", "connect_ms", float, "ms to open a connection (measured with a target)"),
    (
        "--connections-per-request",
        "connections_per_request",
        int,
        "connections one request holds at the same time",
    ),
    ("--db-cores", "db_cores", int, "CPU cores of the database server"),
)
CHOICE_OPTIONS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("--shape", "shape", SHAPES, "steady load or bursts"),
    ("--complexity", "complexity", COMPLEXITIES, "what the queries mostly do"),
    ("--goal", "goal", GOALS, "lowest latency or fewest server connections"),
)


def add_parser(subparsers: Any) -> None:
    """Register `diagnose` on the CLI's subparsers."""
    p = subparsers.add_parser(
        "diagnose",
        help="recommend a pool configuration from answers about the workload",
        description="Answers about the workload become a full PooledDB configuration, with the "
        "reason for each change. Options beat --answers, which beats the stated defaults. With "
        "--dsn (or the profile's target) pooltui measures connect and query time and reads the "
        "server's limits; without a target nothing is measured (the embedded demo says nothing "
        "about your database). An unreachable --dsn is an error (exit 3; use --no-measure); an "
        "unreachable profile target only a warning.",
    )
    unset = argparse.SUPPRESS  # as in common.add_target_options: options given before
    # `diagnose` are kept
    p.add_argument(
        "--dsn", default=unset, help="the database to measure (default: the profile's target)"
    )
    p.add_argument(
        "--ask-password", action="store_true", default=unset, help="prompt for the password"
    )
    p.add_argument(
        "--profile", default=unset, help="the current configuration: a profile name or TOML path"
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=unset,
        metavar="KEY=VALUE",
        help="change a parameter of the current configuration",
    )
    p.add_argument(
        "--answers",
        type=Path,
        metavar="FILE.toml",
        help=f"answers as TOML keys: {', '.join(ANSWER_NAMES)}",
    )
    for flag, name, kind, text in ANSWER_OPTIONS:
        metavar = {int: "N", float: "X", str: "SQL"}[kind]
        p.add_argument(flag, dest=f"answer_{name}", type=kind, metavar=metavar, help=text)
    for flag, name, choices, text in CHOICE_OPTIONS:
        p.add_argument(flag, dest=f"answer_{name}", choices=choices, help=text)
    p.add_argument(
        "--symptom",
        dest="answer_symptoms",
        action="append",
        choices=SYMPTOMS,
        metavar="NAME",
        help=f"what you see now, repeatable: {', '.join(SYMPTOMS)}",
    )
    p.add_argument("--no-measure", action="store_true", help="measure nothing, even with a DSN")
    p.add_argument(
        "--measure-fleet",
        action="store_true",
        help="run the recommended pool in --processes processes at the peak (a few seconds) and "
        "show what the fleet measured",
    )
    form = p.add_mutually_exclusive_group()
    form.add_argument(
        "--json", dest="format", action="store_const", const="json", help="print one JSON object"
    )
    form.add_argument(
        "--format",
        choices=("text", "json", "toml"),
        help="text (default), json, or toml: a profile `bench --profile` loads",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", help="file to write atomically (default, or -, stdout)"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the output file if it exists, even a read-only one",
    )


# --- answers ------------------------------------------------------------------------------------


def read_answers_file(path: Path) -> dict[str, Any]:
    """The TOML answers file as a mapping; any problem is a BadInput naming the file."""
    data = read_toml_file(path, "answers")
    unknown = sorted(set(data) - set(ANSWER_NAMES))
    if unknown:
        raise BadInput(
            f"answers file {path}: {unknown[0]!r} is not an answer; use {', '.join(ANSWER_NAMES)}."
        )
    return data


def given_answers(args: argparse.Namespace) -> dict[str, Any]:
    """The answers the user gave: options beat the file."""
    data = read_answers_file(args.answers) if args.answers else {}
    for name in ANSWER_NAMES:
        value = getattr(args, f"answer_{name}", None)
        if value is not None:
            data[name] = value
    return data


def profile_answers(
    profile: Profile | None, given: Mapping[str, Any], measured: TargetFigures | None
) -> dict[str, Any]:
    """The profile's workload as answers, for those not given: what the wizard prefills from
    the same profile (``workload_answers``), its hold with the measured time of the profile's
    query when that is the query timed."""
    if profile is None:
        return {}
    timed = timed_profile_query(profile, measured)
    read = workload_answers(profile.workload, measured.query_ms if timed and measured else None)
    return {name: value for name, value in read.items() if name not in given}


# --- target and measurement ---------------------------------------------------------------------


def refusal_with_defaults(error: AnswerRefused, data: Mapping[str, Any]) -> str:
    """The refusal, plus which of the answers it names are defaults (not in ``data``, the
    answers given or read off the profile) and the option for each: a default rate the
    measured query cannot keep up with is the likeliest to be wrong."""
    options = {name: flag for flag, name, _, _ in ANSWER_OPTIONS}
    defaults = [name for name in error.answers if name not in data and name in options]
    if not defaults:
        return str(error)
    named = ", ".join(f"{name} ({_answer_value(DEFAULT_ANSWERS, name)})" for name in defaults)
    flags = ", ".join(options[name] for name in defaults)
    are = (
        "is a default, not your figure" if len(defaults) == 1 else "are defaults, not your figures"
    )
    return f"{str(error).rstrip('.')}; {named} {are}: give {flags}."


def measure(target: Target, query: str | None, profile: Profile | None) -> TargetFigures:
    """Time ``--query``, else the profile's own query (its bursts run it: its median over
    several samples goes into the hold it prefills), else the SELECT 1 round trip. A profile's
    default SELECT 1 is timed all the same, but is not the application's query_ms."""
    chosen = query or profile_query(profile)
    if chosen:
        return measure_target(target, chosen)
    if profile is not None and profile.workload.query.strip():
        return measure_target(target, profile.workload.query, representative=False)
    return measure_target(target)


def timed_profile_query(profile: Profile | None, measured: TargetFigures | None) -> bool:
    """The query timed is the profile's own (its time goes into the hold read off it)."""
    return profile is not None and measured is not None and measured.query == profile.workload.query


def profile_query(profile: Profile | None) -> str | None:
    """The profile's workload query, the representative query when --query is not given (its
    time is the profile's, where SELECT 1 would time only the round trip)."""
    if profile is None or profile.workload.query.strip().upper() in ("", "SELECT 1"):
        return None
    return profile.workload.query


def workload_for(answers: Answers, measured: TargetFigures | None) -> Workload:
    """The peak the recommendation is sized for, as a bench workload (Poisson at peak rate)."""
    query_ms = measured.query_ms if measured and measured.representative else None
    return verify_workload(answers, query_ms=query_ms, duration_s=Workload().duration_s)


# --- output ---------------------------------------------------------------------------------------


def _answer_value(answers: Answers, name: str) -> str:
    value = getattr(answers, name)
    if name == "symptoms":
        return ", ".join(sorted(value)) or "none"
    if name == "db_cores" and value is None:
        return "unknown"
    if name == "query" and not value:
        return "none"
    if name == "query_ms" and "complexity" not in answers.assumed:
        return f"{TYPICAL_QUERY_MS[answers.complexity]:g} (typical of {answers.complexity})"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, width=100, initial_indent=indent, subsequent_indent=indent)


def profile_lines(
    profile: Profile | None, from_profile: Mapping[str, Any], measured: TargetFigures | None
) -> list[str]:
    """Which answers came from the profile's workload (and the hold's parts), so a reader tells
    the profile's figures from the measured ones."""
    if profile is None:
        return []
    if not from_profile:
        return [f"From the profile {profile.name}: nothing (every answer it holds was given)."]
    w = profile.workload
    parts = []
    for name, value in from_profile.items():
        text = f"{name} = {value:g}" if isinstance(value, float) else f"{name} = {value}"
        if name == "query":
            text = f"query = {value!r} (timed: see Measured)" if measured else f"query = {value!r}"
        elif name == "hold_ms":
            spent = value - w.hold_ms
            timed = timed_profile_query(profile, measured)
            source = "measured" if timed else "the default query_ms"
            text += f" (its {w.hold_ms:g} ms hold + the query's {ms(spent)}, {source})"
        elif name == "peak_rate_per_s" and w.pattern == "steady":
            text += f" (its {w.threads} threads with {w.think_ms:g} ms think time, nobody waiting)"
        parts.append(text)
    return [_wrap(f"From the profile {profile.name}'s workload: " + "; ".join(parts) + ".", "")]


def format_text(
    rec: Recommendation,
    answers: Answers,
    current_label: str,
    target_label: str,
    measured: TargetFigures | None,
    assumed: list[str],
    origin: list[str] | None = None,
) -> str:
    """The recommendation for a terminal: what was measured and what came from the profile
    (``origin``), changes, advice, prediction, assumptions."""
    out = [f"pooltui diagnose: {target_label}; current configuration: {current_label}"]
    if measured is not None:
        s = measured.server
        limit = (
            ""
            if s.max_connections is None
            else (
                f", max_connections {s.max_connections} ({s.reserved_connections or 0} reserved, "
                f"{s.connections_in_use or 0} in use)"
            )
        )
        timeout = "" if not s.wait_timeout_s else f", wait_timeout {s.wait_timeout_s:g} s"
        out.append(
            f"Measured: connect {ms(measured.connect_ms)}, {measured.query} "
            f"{ms(measured.query_ms)} (medians of {measured.samples}); "
            f"{s.product or 'server'} {s.version}"
            f"{limit}{timeout}"
        )
    out += origin or []
    out += ["", "Changes" if rec.changes else "Changes: none, the current configuration fits"]
    for change in rec.changes:
        out.append(f"  {change.param}: {change.old!r} -> {change.new!r}")
        out.append(_wrap(change.why, "      "))
    config = ", ".join(f"{k}={v!r}" for k, v in asdict(rec.config).items())
    out += ["", "Recommended configuration", _wrap(config, "  ")]
    if rec.advice:
        out += ["", "Advice"]
        for item in rec.advice:
            out.append(
                textwrap.fill(
                    f"{item.level}: {item.message}",
                    width=100,
                    initial_indent="  ",
                    subsequent_indent="    ",
                )
            )
    out += ["", f"Prediction at peak, per process   {'now':>12}  {'recommended':>12}"]
    for label, now, new in prediction_table(rec).rows:
        out.append(f"  {label:<32}{now:>12}  {new:>12}")
    out += ["", "Assumptions"]
    out += [
        textwrap.fill(f"- {text}", width=100, initial_indent="  ", subsequent_indent="    ")
        for text in rec.assumptions
    ]
    if assumed:
        values = ", ".join(f"{n} = {_answer_value(answers, n)}" for n in assumed)
        out += [
            "",
            "Assumed (not given, not measured; give them as options or in --answers):",
            _wrap(values, "  "),
        ]
    return "\n".join(out) + "\n"


def as_json(
    rec: Recommendation,
    answers: Answers,
    current: PoolConfig,
    facts: DriverFacts,
    target_label: str | None,
    measured: TargetFigures | None,
    assumed: list[str],
) -> dict:
    """The ``--json`` object: the recommendation plus what it was based on."""
    answers_dict = {n: getattr(answers, n) for n in ANSWER_NAMES}
    answers_dict["symptoms"] = sorted(answers.symptoms)
    current_dict = current.as_dict()
    measured_dict = None
    if measured is not None:
        server = asdict(measured.server) | {
            "usable_connections": measured.server.usable_connections
        }
        measured_dict = {
            "connect_ms": round(measured.connect_ms, 3),
            "query_ms": round(measured.query_ms, 3),
            "query": measured.query,
            "representative": measured.representative,
            "samples": measured.samples,
            "server": server,
        }
    return {
        "target": target_label,
        "driver": facts.module_name,
        "measured": measured_dict,
        "answers": answers_dict,
        "assumed": assumed,
        "current": current_dict,
        **recommendation_as_dict(rec),
    }


def as_profile_toml(
    rec: Recommendation,
    answers: Answers,
    measured: TargetFigures | None,
    name: str,
    dsn: str | None,
) -> str:
    """A profile of the recommended pool and the peak workload: `bench --profile` loads it."""
    from pooltui.core.export import to_toml
    from pooltui.core.profiles import Profile, strip_password

    description = (
        f"Recommended by pooltui diagnose for {answers.threads_per_process} threads x "
        f"{answers.processes} processes at {answers.peak_rate_per_s:g}/s peak, hold "
        f"{answers.hold_ms:g} ms, goal {answers.goal}; the workload is the peak."
    )
    profile = Profile(
        name=name,
        description=description,
        dsn=strip_password(dsn) if dsn else None,
        pool=rec.config,
        workload=workload_for(answers, measured),
    )
    return to_toml(profile)


def measure_fleet(
    args: argparse.Namespace,
    target: Target | None,
    answers: Answers,
    rec: Recommendation,
    measured: TargetFigures | None,
) -> tuple[FleetResult | None, int | None]:
    """With --measure-fleet: the recommended pool run in the answered number of processes at
    the peak, FLEET_MEASURE_S long (refused beforehand, with what fits per process, when the
    server cannot hold the fleet); and the exit code of a signal that stopped it."""
    if not args.measure_fleet:
        return None, None
    if target is None or measured is None:
        raise BadInput(
            "--measure-fleet needs a target it can measure: give --dsn (and no --no-measure)."
        )
    from pooltui.core.checks import capacity_problem
    from pooltui.core.fleet import run_fleet

    peak = workload_for(answers, measured)
    problem = capacity_problem(
        measured.server, rec.config, peak, target, processes=answers.processes
    )
    if problem:
        raise BadInput(problem)
    with StopSignals() as signals, signals.deferred():
        fleet = run_fleet(
            target,
            rec.config,
            replace(peak, rate=answers.peak_rate_per_s, duration_s=FLEET_MEASURE_S),
            answers.processes,
            stop=signals.stop,
            server=measured.server,
        )
    return fleet, signals.exit_code


def fleet_text(
    target: Target | None,
    answers: Answers,
    rec: Recommendation,
    measured: TargetFigures | None,
    fleet: FleetResult | None,
) -> str:
    """The fleet's part of the text: the shared pooler against the private pools (PostgreSQL)
    and what the measured fleet did."""
    from pooltui.core.checks import most_connections
    from pooltui.core.fleet.display import diagnosis_lines

    lines = diagnosis_lines(
        answers.processes,
        most_connections(rec.config, workload_for(answers, measured)),
        answers.peak_rate_per_s,
        answers.hold_ms,
        target.dialect.external_pooler if target is not None else None,
        fleet,
    )
    return "\n".join(lines) + "\n" if lines else ""


# --- the command ----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """`pooltui diagnose`; PooltuiErrors propagate to main's printer (one sentence, exit code)."""
    from pooltui.core.profiles import find_profile, load_profile
    from pooltui.core.targets import driver_facts

    profile = load_profile(find_profile(args.profile)) if args.profile else None
    current, _ = apply_overrides(
        profile.pool if profile else PoolConfig(), Workload(), args.overrides
    )
    given = given_answers(args)
    dsn = args.dsn or (profile.dsn if profile else None)
    target = resolve_target(args, dsn) if dsn else None  # no target: nothing to measure
    facts = target.facts if target else driver_facts("sqlite3")
    validation = validate(current, facts)
    validation.require_ok()

    measured = None
    if target is not None and not args.no_measure:
        try:
            measured = measure(target, given.get("query"), profile)
        except CannotConnect as error:
            if args.dsn:
                raise CannotConnect(
                    f"{str(error).rstrip('.')}; or add --no-measure for a "
                    "recommendation from the answers alone."
                ) from None
            print(
                f"pooltui: warning: {error} The recommendation uses the answers and stated "
                "defaults instead of measured figures.",
                file=sys.stderr,
            )
    from_profile = profile_answers(profile, given, measured)
    try:
        answers = answers_from_mapping(from_profile | given)
        rec = recommend(answers, current, facts, measured.measurements() if measured else None)
    except AnswerRefused as error:
        raise BadInput(refusal_with_defaults(error, from_profile | given)) from None
    assumed = assumed_names(answers, measured.measurements() if measured else None)
    if target is None:
        target_label = "no target (nothing measured; demo driver facts)"
    elif measured is None:
        target_label = f"{target.redacted} (not measured)"
    else:
        target_label = target.redacted
    current_label = f"the pool of profile {profile.name}" if profile else "pooltui's defaults"
    if args.overrides:
        current_label += " with " + ", ".join(args.overrides)

    fleet, stopped_by = measure_fleet(args, target, answers, rec, measured)
    form = args.format or "text"
    if form == "json":
        data = as_json(
            rec, answers, current, facts, target.redacted if target else None, measured, assumed
        )
        data["from_profile"] = from_profile
        text = json.dumps(data, indent=2) + "\n"
    elif form == "toml":
        name = f"{profile.name}-recommended" if profile else "diagnosed"
        text = as_profile_toml(rec, answers, measured, name, dsn)
    else:
        text = format_text(
            rec,
            answers,
            current_label,
            target_label,
            measured,
            assumed,
            profile_lines(profile, from_profile, measured),
        )
        text += fleet_text(target, answers, rec, measured, fleet)
    write_output(args.output, text, f"the {form} recommendation", force=args.force)
    if fleet is not None:
        print(f"pooltui: the measured fleet: {fleet.left.sentence()}.", file=sys.stderr)
        if stopped_by is not None:
            return stopped_by
        return 0 if fleet.left.verified and not fleet.left.sessions else 1
    return 0
