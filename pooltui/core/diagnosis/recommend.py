"""The diagnosis wizard's pure core: answers about a workload become a PooledDB configuration.

Every value it recommends comes with the reason, drawn from what DBUtils really does (research
notes §1, §6, §7) and from the queueing models in ``queueing`` (whose assumptions are listed in
each recommendation). Nothing here touches a database: the wizard measures, this module decides.
The rules themselves live in ``rules``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.diagnosis import queueing as q
from pooltui.core.diagnosis.rules import (
    RULES,
    Advice,
    Change,
    Context,
    Prediction,
    predict_for,
    symptom_advice,
)
from pooltui.core.errors import BadInput
from pooltui.core.numbers import is_int, is_number, ms, rate

if TYPE_CHECKING:
    from pooltui.core.probes import ServerInfo
    from pooltui.core.targets import DriverFacts

__all__ = [
    "ANSWER_HELP",
    "ANSWER_NAMES",
    "COMPLEXITIES",
    "DEFAULT_ANSWERS",
    "GOALS",
    "SHAPES",
    "SYMPTOMS",
    "TYPICAL_QUERY_MS",
    "Advice",
    "Answers",
    "Change",
    "Measurements",
    "Prediction",
    "Recommendation",
    "answers_from_mapping",
    "predict",
    "recommend",
    "recommendation_as_dict",
    "validate_answers",
    "workload_answers",
]

SYMPTOMS = (
    "exhaustion",
    "hanging",
    "timeouts",
    "gone_away",
    "slow_under_load",
    "churn",
    "server_too_many",
)
SHAPES = ("steady", "bursty")
COMPLEXITIES = ("lookup", "join", "report")
GOALS = ("latency", "fewest_connections")
TYPICAL_QUERY_MS = {"lookup": 2.0, "join": 20.0, "report": 2000.0}


@dataclass(frozen=True)
class Answers:
    """What the wizard asks; times in milliseconds, the rate over all processes together."""

    threads_per_process: int = 8
    processes: int = 1
    peak_rate_per_s: float = 50.0
    shape: str = "steady"
    peak_to_average: float = 1.0
    complexity: str = "lookup"
    query: str | None = None
    hold_ms: float = 20.0  # connection hold per request, query and app time included
    query_ms: float = 2.0
    connect_ms: float = 20.0
    connections_per_request: int = 1
    symptoms: frozenset[str] = frozenset()
    goal: str = "latency"
    db_cores: int | None = None
    assumed: frozenset[str] = frozenset()  # answers that are defaults, not the user's figures


ANSWER_NAMES = tuple(f.name for f in fields(Answers) if f.name != "assumed")
DEFAULT_ANSWERS = Answers(assumed=frozenset(ANSWER_NAMES))
ANSWER_HELP = {
    "threads_per_process": "How many threads (concurrent requests) does one process run?",
    "processes": "How many processes or instances share the database, each with its own pool?",
    "peak_rate_per_s": "How many requests per second at peak, all processes together?",
    "shape": "Is the load steady, or does it come in bursts?",
    "peak_to_average": "How many times the average rate is the peak rate (1 = flat)?",
    "complexity": "What do the queries mostly do: simple lookups, joins or long reports?",
    "query": "A representative read-only query pooltui can time on the target, if you have one.",
    "hold_ms": "How long does a request keep its connection, application work included (ms)?",
    "query_ms": "How long does one typical query take (ms)?",
    "connect_ms": "How long does opening a new connection take (ms)?",
    "connections_per_request": "How many connections does one request hold at the same time?",
    "symptoms": "What do you see now: exhaustion, hanging, timeouts, gone_away, "
    "slow_under_load, churn, server_too_many?",
    "goal": "What matters most: the lowest latency, or the fewest server connections?",
    "db_cores": "How many CPU cores does the database server have (if known)?",
}


@dataclass(frozen=True)
class Measurements:
    """Figures pooltui measured on the target; they replace answers left at their default."""

    connect_ms: float | None = None
    query_ms: float | None = None
    server: ServerInfo | None = None


@dataclass(frozen=True)
class Recommendation:
    config: PoolConfig
    changes: tuple[Change, ...]  # only parameters whose value differs from the current config
    advice: tuple[Advice, ...]  # errors first, then warnings, then info
    prediction: Prediction  # the recommended config at peak
    prediction_before: Prediction  # the current config at peak
    assumptions: tuple[str, ...]  # sentences: model assumptions, defaults, measured figures


class AnswerRefused(BadInput):
    """Answers that cannot all be true together; ``answers`` names them, the likeliest to be
    wrong first, so a front end can show each where it can be changed."""

    def __init__(self, message: str, answers: tuple[str, ...]) -> None:
        super().__init__(message)
        self.answers = answers


KEEP_UP_ANSWERS = ("peak_rate_per_s", "threads_per_process", "hold_ms", "processes")


def _check_keep_up(threads: int, rate_per_process: float, hold_ms: float) -> None:
    interval_ms = threads / rate_per_process * 1000.0
    if hold_ms >= interval_ms:
        raise AnswerRefused(
            f"At {rate(rate_per_process, ' requests/s')} per process each of the {threads} "
            f"threads must start a request every {ms(interval_ms)} but holds a connection for "
            f"{hold_ms:g} ms, so the threads could never keep up; check the rate, the hold time "
            "or the threads.",
            KEEP_UP_ANSWERS,
        )


def validate_answers(answers: Answers) -> None:
    """Refuse impossible answers with one sentence naming the answer and what it must be."""
    a = answers
    for name in ("threads_per_process", "processes", "connections_per_request"):
        value = getattr(a, name)
        if not is_int(value) or value < 1:
            raise BadInput(f"{name} must be a whole number of at least 1, not {value!r}.")
    if not is_number(a.peak_rate_per_s) or a.peak_rate_per_s <= 0:
        raise BadInput(f"peak_rate_per_s must be above 0 requests/s, not {a.peak_rate_per_s!r}.")
    if not is_number(a.peak_to_average) or a.peak_to_average < 1:
        raise BadInput(
            "peak_to_average must be at least 1 (a peak is never below the average), "
            f"not {a.peak_to_average!r}."
        )
    if not is_number(a.hold_ms) or a.hold_ms <= 0:
        raise BadInput(f"hold_ms must be a positive number of milliseconds, not {a.hold_ms!r}.")
    for name in ("query_ms", "connect_ms"):
        value = getattr(a, name)
        if not is_number(value) or value < 0:
            raise BadInput(f"{name} must be a number of milliseconds >= 0, not {value!r}.")
    for name, allowed in (("shape", SHAPES), ("complexity", COMPLEXITIES), ("goal", GOALS)):
        if getattr(a, name) not in allowed:
            raise BadInput(f"{name} must be one of {', '.join(allowed)}, not {getattr(a, name)!r}.")
    if not isinstance(a.symptoms, frozenset | set):
        raise BadInput(f"symptoms must be a set of names, not {a.symptoms!r}.")
    for symptom in sorted(a.symptoms):
        if symptom not in SYMPTOMS:
            raise BadInput(f"Unknown symptom {symptom!r}; choose from {', '.join(SYMPTOMS)}.")
    for name in sorted(set(a.assumed) - set(ANSWER_NAMES)):
        raise BadInput(f"Unknown answer {name!r} in assumed; use {', '.join(ANSWER_NAMES)}.")
    if a.db_cores is not None and (not is_int(a.db_cores) or a.db_cores < 1):
        raise BadInput(f"db_cores must be a whole number of at least 1, not {a.db_cores!r}.")
    if a.query is not None and not isinstance(a.query, str):
        raise BadInput(f"query must be SQL text, not {a.query!r}.")
    if a.hold_ms < a.query_ms and not {"hold_ms", "query_ms"} & a.assumed:
        raise AnswerRefused(
            f"hold_ms ({a.hold_ms:g} ms) is shorter than query_ms ({a.query_ms:g} ms), but a "
            "request holds its connection at least while its query runs; give the hold time "
            "including it.",
            ("hold_ms", "query_ms"),
        )
    _check_keep_up(a.threads_per_process, a.peak_rate_per_s / a.processes, a.hold_ms)


def answers_from_mapping(data: Mapping[str, Any]) -> Answers:
    """Answers from a parsed file or CLI options; a missing answer keeps its default, assumed."""
    unknown = sorted(set(data) - set(ANSWER_NAMES))
    if unknown:
        raise BadInput(f"Unknown answer {unknown[0]!r}; the answers are {', '.join(ANSWER_NAMES)}.")
    values = dict(data)
    if "symptoms" in values:
        symptoms = values["symptoms"]
        if isinstance(symptoms, str) or not all(isinstance(s, str) for s in symptoms):
            raise BadInput(f"symptoms must be a list of names, not {symptoms!r}.")
        values["symptoms"] = frozenset(symptoms)
    for name in ("peak_rate_per_s", "peak_to_average", "hold_ms", "query_ms", "connect_ms"):
        if is_int(values.get(name)):
            values[name] = float(values[name])
    answers = replace(DEFAULT_ANSWERS, **values, assumed=DEFAULT_ANSWERS.assumed - set(values))
    validate_answers(answers)
    return answers


def workload_answers(workload: Workload, query_ms: float | None = None) -> dict[str, Any]:
    """What a workload (the console's sliders, a profile's [workload]) says about the
    application, as answers: the one reading the wizard prefills from and `diagnose --profile`
    starts from, so the two agree on the same profile.

    Its threads; an open loop's rate, or, for a closed loop with think time, the rate its
    threads offer when nobody waits (threads / (hold + think): without think time a closed loop
    keeps every thread busy and says nothing of the rate); bursty as the shape; its query
    unless SELECT 1; its hold plus the query's time (``query_ms``, measured, else the default
    answer's), since an answer's hold includes the query. Rounded as a field shows them."""
    w = workload
    values: dict[str, Any] = {"threads_per_process": w.threads}
    query = w.query.strip()
    if query and query.upper() != "SELECT 1":
        values["query"] = w.query
    spent = DEFAULT_ANSWERS.query_ms if query_ms is None else query_ms
    hold = round(float(w.hold_ms) + spent, 1) if w.hold_ms > 0 else None
    if hold is not None:
        values["hold_ms"] = hold
    if w.pattern in ("poisson", "bursty") and w.rate > 0:
        values["peak_rate_per_s"] = float(w.rate)
    elif w.think_ms > 0:
        busy_ms = (hold if hold is not None else spent) + float(w.think_ms)
        values["peak_rate_per_s"] = float(f"{w.threads * 1000.0 / busy_ms:.3g}")
    if w.pattern == "bursty":
        values["shape"] = "bursty"
    return values


def _context(
    answers: Answers, facts: DriverFacts, measurements: Measurements | None
) -> tuple[Context, list[str]]:
    """Apply measurements to assumed answers and derive the load; notes say what was done."""
    m, a, notes = measurements or Measurements(), answers, []
    query_ms, connect_ms, hold_ms = a.query_ms, a.connect_ms, a.hold_ms
    if "query_ms" in a.assumed and m.query_ms is not None:
        query_ms = m.query_ms
        notes.append(f"query_ms is the {ms(query_ms)} measured on the target.")
    elif "query_ms" in a.assumed and "complexity" not in a.assumed:
        query_ms = TYPICAL_QUERY_MS[a.complexity]
        notes.append(f"query_ms {query_ms:g} ms is typical of {a.complexity} queries, not timed.")
    if "connect_ms" in a.assumed and m.connect_ms is not None:
        connect_ms = m.connect_ms
        notes.append(f"connect_ms is the {ms(connect_ms)} measured on the target.")
    if hold_ms < query_ms:
        notes.append(f"hold_ms raised from {hold_ms:g} ms to the query time, {ms(query_ms)}.")
        hold_ms = query_ms
    per_process = a.peak_rate_per_s / a.processes
    _check_keep_up(a.threads_per_process, per_process, hold_ms)
    cpr = a.connections_per_request
    load = q.littles_law(per_process, hold_ms / 1000.0) * cpr
    ctx = Context(
        answers=a,
        facts=facts,
        server=m.server,
        hold_s=hold_ms / 1000.0,
        query_ms=query_ms,
        connect_ms=connect_ms,
        rate=per_process,
        load=load,
        load_avg=load / a.peak_to_average,
        usable=a.threads_per_process * cpr,
        deadlock=q.deadlock_free_size(a.threads_per_process, cpr),
        mysql=facts.mysql_family or bool(getattr(m.server, "mysql_family", False)),
    )
    for name in ANSWER_NAMES:
        if name in a.assumed and name not in ("query_ms", "connect_ms", "query", "symptoms"):
            notes.append(f"{name} = {getattr(a, name)!r} is a default, not your figure.")
    return ctx, notes


def predict(
    answers: Answers,
    config: PoolConfig,
    facts: DriverFacts,
    measurements: Measurements | None = None,
) -> Prediction:
    """The waits (or rejections) ``config`` would give this workload at peak, e.g. for a slider."""
    validate_answers(answers)
    return predict_for(_context(answers, facts, measurements)[0], config)


_MODEL_ASSUMPTIONS = (
    "Poisson arrivals and exponential hold times (M/M/N) are assumed; real holds are "
    "heavier-tailed, so real waits are usually somewhat longer.",
    "The database is assumed not to slow down as more connections are busy.",
)
_LEVEL_ORDER = {"error": 0, "warning": 1, "info": 2}


def recommend(
    answers: Answers,
    current: PoolConfig,
    facts: DriverFacts,
    measurements: Measurements | None = None,
) -> Recommendation:
    """Run every rule in order on ``current``; later rules see the values earlier ones chose."""
    validate_answers(answers)
    ctx, notes = _context(answers, facts, measurements)
    cfg, changes, advice = current, {}, []
    for rule in RULES:
        rule_changes, rule_advice = rule(ctx, cfg)
        for c in rule_changes:
            cfg = replace(cfg, **{c.param: c.new})
            changes[c.param] = replace(c, old=getattr(current, c.param))
        advice += rule_advice
    before, after = predict_for(ctx, current), predict_for(ctx, cfg)
    advice += symptom_advice(ctx, current, before, after)
    advice.sort(key=lambda item: _LEVEL_ORDER.get(item.level, 3))
    assumptions = [*_MODEL_ASSUMPTIONS, *notes]
    if answers.shape == "bursty":
        assumptions.append("Bursts arrive more clumped than Poisson: expect more waiting in them.")
    if answers.processes > 1:
        assumptions.append(f"Figures are per process; each of the {answers.processes} has a pool.")
    if answers.db_cores is None:
        assumptions.append("db_cores is unknown, so HikariCP's cores x 2 bound was not checked.")
    final = tuple(c for c in changes.values() if c.old != c.new)
    return Recommendation(cfg, final, tuple(advice), after, before, tuple(assumptions))


def recommendation_as_dict(rec: Recommendation) -> dict[str, Any]:
    """The JSON form (``pooltui diagnose --json``); an unbounded wait becomes null."""

    def finite(values: dict[str, Any]) -> dict[str, Any]:
        return {k: None if isinstance(v, float) and math.isinf(v) else v for k, v in values.items()}

    config = rec.config.as_dict()
    return {
        "config": config,
        "changes": [asdict(c) for c in rec.changes],
        "advice": [asdict(a) for a in rec.advice],
        "prediction": finite(asdict(rec.prediction)),
        "prediction_before": finite(asdict(rec.prediction_before)),
        "assumptions": list(rec.assumptions),
    }
