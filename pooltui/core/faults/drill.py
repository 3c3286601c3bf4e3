"""Fault drills: what a pool does when the network or the server fails, measured end to end.

A drill puts a FaultProxy (faults/proxy.py) between a fresh InstrumentedPool and the server,
warms the pool, runs the engine with the workload and, from a timer thread, injects one fault a
third of the way into the run and ends it ``fault_s`` later. The engine's samples (every
``SAMPLE_INTERVAL_S``) tell the before, during and after phases apart; from them a DrillReport
says how long the fault took to show, how long the pool took to serve cleanly again, how many
requests failed, how many statements DBUtils quietly re-ran, and how many of the pool's sessions
the server still held after the pool was closed (counted on the direct target, not through the
proxy). The advice is one sentence per thing seen, naming the pool setting that would have
helped, or saying that none would.

Scenarios: ``latency`` (added delay per chunk, each way), ``freeze`` (a hung, half-open server),
``reset`` (every connection RST at once), ``down`` (new connections reset and the open ones too,
for ``fault_s``), ``restart`` (a down of at most RESTART_S), ``idle-kill`` (a middlebox or
``wait_timeout`` that closes connections idle for IDLE_KILL_S; the workload thinks for
IDLE_THINK_MS between requests so its connections go idle, as in a quiet period).
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass, replace
from time import monotonic, perf_counter
from typing import TYPE_CHECKING, Any

from pooltui.core import probes
from pooltui.core.config import PoolConfig, Validation, Workload, validate, validate_workload
from pooltui.core.errors import BadInput, redact
from pooltui.core.faults.proxy import FaultProxy, loopback_address
from pooltui.core.load import engine
from pooltui.core.numbers import count, ms, rate, seconds
from pooltui.core.pool import InstrumentedPool

if TYPE_CHECKING:
    from pooltui.core.load.engine import RunResult, Sample
    from pooltui.core.targets import Target

SCENARIOS = ("latency", "freeze", "reset", "down", "idle-kill", "restart")
DEFAULT_FAULT_S = 2.0
RESTART_S = 0.5  # the outage of a restart: a fast restart of a small server
LATENCY_MS, JITTER_MS = 25.0, 5.0  # the latency drill's delay, each direction, per chunk
IDLE_KILL_S = 0.15  # the idle-kill drill closes connections idle this long
IDLE_THINK_MS = 300.0  # ... and the workload pauses this long between requests
SAMPLE_INTERVAL_S = 0.1  # the engine's sample interval: the figures' resolution
MIN_BEFORE_S = 0.5  # the fault starts no earlier (a baseline is needed)
MIN_AFTER_S = 1.0  # ... and ends this long before the run does, to watch recovery
DETECT_GRACE_S = 1.0  # a symptom this long after the fault's end still counts as its own
SLOW_FACTOR, SLOW_MIN_MS = 3.0, 20.0  # an interval is slow past both 3 x and +20 ms the baseline
MIN_EXPECTED = 3.0  # zero throughput is a stall only when this many requests were due
LEFT_POLL_S = 3.0  # how long the server may take to end a closed session


@dataclass(frozen=True)
class Fault:
    """One scenario's fault: how to start and end it on the proxy, and how long it lasts."""

    scenario: str
    length_s: float
    describe: str
    inject: Callable[[FaultProxy], Any]
    clear: Callable[[FaultProxy], Any]


def plan_fault(scenario: str, fault_s: float = DEFAULT_FAULT_S) -> Fault:
    """The fault of ``scenario`` lasting ``fault_s`` (reset is instant, restart at most
    RESTART_S); BadInput for an unknown scenario or a length that is not positive."""
    if not fault_s > 0:
        raise BadInput(f"The fault length is {fault_s} s but must be more than 0.")

    def nothing(_proxy: FaultProxy) -> None:
        return None

    def cut(proxy: FaultProxy) -> int:
        return proxy.down(None)

    def latency(proxy: FaultProxy) -> None:
        proxy.set_latency(LATENCY_MS, JITTER_MS)

    def no_latency(proxy: FaultProxy) -> None:
        proxy.set_latency(0.0)

    def idle_on(proxy: FaultProxy) -> None:
        proxy.idle_kill(IDLE_KILL_S)

    def idle_off(proxy: FaultProxy) -> None:
        proxy.idle_kill(None)

    restart_s = min(fault_s, RESTART_S)
    faults = {
        "latency": Fault(
            "latency",
            fault_s,
            f"{LATENCY_MS:g} ± {JITTER_MS:g} ms added each way for {fault_s:g} s",
            latency,
            no_latency,
        ),
        "freeze": Fault(
            "freeze",
            fault_s,
            f"no byte forwarded either way for {fault_s:g} s",
            FaultProxy.freeze,
            FaultProxy.thaw,
        ),
        "reset": Fault(
            "reset", 0.0, "every open connection reset (RST) at once", FaultProxy.reset_all, nothing
        ),
        "down": Fault(
            "down",
            fault_s,
            f"server down for {fault_s:g} s: open connections reset, new ones reset at once",
            cut,
            FaultProxy.accept_new,
        ),
        "restart": Fault(
            "restart",
            restart_s,
            f"server restarted: down for {restart_s:g} s",
            cut,
            FaultProxy.accept_new,
        ),
        "idle-kill": Fault(
            "idle-kill",
            fault_s,
            f"connections idle for {IDLE_KILL_S:g} s closed, for {fault_s:g} s",
            idle_on,
            idle_off,
        ),
    }
    if scenario not in faults:
        raise BadInput(f"There is no drill {scenario!r}: choose from {', '.join(SCENARIOS)}.")
    return faults[scenario]


def drill_duration(fault: Fault, duration_s: float | None = None) -> tuple[float, float]:
    """The run's length and when the fault starts (a third in); BadInput when the run leaves
    too little time before or after the fault."""
    least = max(MIN_BEFORE_S, fault.length_s + MIN_AFTER_S) * 1.5
    if duration_s is None:
        duration_s = max(3.0 * fault.length_s, least, 3.0)
    at_s = duration_s / 3.0
    if at_s < MIN_BEFORE_S or duration_s - at_s - fault.length_s < MIN_AFTER_S:
        raise BadInput(
            f"A {duration_s:g} s run is too short for the {fault.scenario} drill "
            f"({fault.length_s:g} s fault a third in, then {MIN_AFTER_S:g} s to "
            f"recover): give a duration of at least {least:g} s."
        )
    return duration_s, at_s


def proxy_upstream(target: Target) -> tuple[str, int]:
    """Where the proxy forwards to: the target's loopback host and port; BadInput for SQLite,
    a socket or any host off this machine."""
    if target.dialect.is_file:
        raise BadInput(
            "A SQLite database has no network to break: run the fault drills against "
            "a PostgreSQL or MariaDB/MySQL server (a postgresql://, mysql:// or "
            "odbc: DSN)."
        )
    host = loopback_address(target.host, "target's host")
    port = target.port or target.dialect.default_port
    if port is None:
        raise BadInput(
            "The ODBC DSN names no Port= and its server family is unknown: add "
            "Port=... so the drill knows where to forward."
        )
    return host, port


# --- what the samples say ------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """One phase of a drill (before, during or after the fault), from the engine's samples."""

    requests: int = 0
    failed: int = 0
    throughput_rps: float = 0.0
    p95_ms: float = 0.0  # median of the intervals' p95 latency
    p95_acquire_ms: float = 0.0  # median of the intervals' p95 acquire wait

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "failed": self.failed,
            "throughput_rps": round(self.throughput_rps, 1),
            "p95_ms": round(self.p95_ms, 2),
            "p95_acquire_ms": round(self.p95_acquire_ms, 2),
        }


def _phase(samples: Sequence[Sample], span_s: float) -> Phase:
    if not samples:
        return Phase()
    ok = [s for s in samples if s.throughput_rps > 0]
    requests = sum(s.interval_requests for s in samples)
    failed = sum(s.interval_errors for s in samples)
    return Phase(
        requests,
        failed,
        (requests - failed) / span_s if span_s > 0 else 0.0,
        statistics.median(s.p95_ms for s in ok) if ok else 0.0,
        statistics.median(s.p95_acquire_ms for s in ok) if ok else 0.0,
    )


@dataclass(frozen=True)
class Timeline:
    """The drill's figures read off the samples (times in seconds of the run)."""

    detected_after_s: float | None  # fault start -> first symptom (None: never showed)
    symptom: str  # "errors" | "stalled" | "slow" | ""
    recovered_after_s: float | None  # fault end -> first clean interval (None: never)
    before: Phase
    during: Phase
    after: Phase


def read_timeline(
    samples: Sequence[Sample],
    fault_start_s: float,
    fault_end_s: float,
    end_s: float,
    interval_s: float = SAMPLE_INTERVAL_S,
) -> Timeline:
    """Detection and recovery from a run's samples.

    A symptom is an interval with a failed request, with no successful one where at least
    MIN_EXPECTED were due at the baseline rate (stalled), or with its p95 above both
    SLOW_FACTOR x and SLOW_MIN_MS over the baseline's (slow); the baseline is the intervals
    before the fault, the first left out (it starts cold). Detected: the first symptom after
    the fault began and at most DETECT_GRACE_S after it ended. Recovered: the first interval
    after the fault's end with a successful request and no symptom. Samples after ``end_s``
    (the engine's closing tick) are left out.
    """
    samples = [s for s in samples if s.elapsed_s <= end_s + 1e-9]
    starts = [0.0, *(s.elapsed_s for s in samples)]
    spans = list(zip(starts, samples, strict=False))  # (interval start, sample)
    # the phases' figures take only the intervals wholly inside them
    before = [s for _, s in spans if s.elapsed_s <= fault_start_s]
    during = [s for start, s in spans if start >= fault_start_s and s.elapsed_s <= fault_end_s]
    after = [s for start, s in spans if start >= fault_end_s]
    base = before[1:] or before
    base_rps = statistics.fmean(s.throughput_rps for s in base) if base else 0.0
    base_ok = [s.p95_ms for s in base if s.throughput_rps > 0]
    base_p95 = statistics.median(base_ok) if base_ok else 0.0

    def symptom(s: Sample) -> str:
        if s.interval_errors:
            return "errors"
        if s.throughput_rps == 0:
            return "stalled" if base_rps * interval_s >= MIN_EXPECTED else ""
        if base_p95 and s.p95_ms > max(SLOW_FACTOR * base_p95, base_p95 + SLOW_MIN_MS):
            return "slow"
        return ""

    detected, seen = None, ""
    for s in (s for s in samples if s.elapsed_s > fault_start_s):
        if s.elapsed_s > fault_end_s + max(DETECT_GRACE_S, 2 * interval_s):
            break
        if seen := symptom(s):
            detected = s.elapsed_s - fault_start_s
            break
    recovered = next(
        (
            s.elapsed_s - fault_end_s
            for s in samples
            if s.elapsed_s > fault_end_s
            if s.throughput_rps > 0 and not symptom(s)
        ),
        None,
    )
    return Timeline(
        detected,
        seen if detected is not None else "",
        recovered,
        _phase(before, fault_start_s),
        _phase(during, fault_end_s - fault_start_s),
        _phase(after, end_s - fault_end_s),
    )


# --- the report ----------------------------------------------------------------------------------


def _jsonable(item: Any) -> Any:
    """An outage or stall record of the engine's, whatever its type, as JSON."""
    if hasattr(item, "as_dict"):
        return item.as_dict()
    if is_dataclass(item) and not isinstance(item, type):
        return asdict(item)
    if isinstance(item, (str, int, float, bool, type(None), dict, list)):
        return item
    return str(item)


@dataclass(frozen=True)
class DrillReport:
    """One drill's outcome; ``as_dict()`` is its ``pooltui drill --json`` object."""

    scenario: str
    target: str  # the redacted DSN of the server (not the proxy)
    fault: str  # what was done, one phrase
    fault_at_s: float  # when the fault began, in seconds of the run
    fault_s: float  # how long it was in force (0: instant)
    duration_s: float  # how long the run lasted
    timeline: Timeline
    requests: int
    requests_failed: int
    retried_statements: int  # DBUtils' re-runs (reexecutions, else reconnects)
    retried_from: str  # "reexecutions" | "reconnects": which counter said so
    reconnects: int  # connections DBUtils replaced behind the caller's back
    connect_errors: int
    connections_left: int  # the pool's sessions on the server after close (goal 0)
    error_kinds: dict[str, int]
    proxy: dict[str, int]
    advice: tuple[str, ...]
    fatal_error: str | None = None
    outages: list[Any] | None = None  # RunResult.outages / .stalls, when the engine has them
    stalls: list[Any] | None = None
    events: list[str] = field(default_factory=list)

    @property
    def recovered(self) -> bool:
        return self.timeline.recovered_after_s is not None

    @property
    def ok(self) -> bool:
        """Recovered within the run and left nothing open on the server."""
        return self.recovered and self.connections_left == 0

    def as_dict(self) -> dict[str, Any]:
        t = self.timeline

        def seconds(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        out: dict[str, Any] = {
            "scenario": self.scenario,
            "target": self.target,
            "fault": self.fault,
            "fault_at_s": round(self.fault_at_s, 3),
            "fault_s": round(self.fault_s, 3),
            "duration_s": round(self.duration_s, 3),
            "detected_after_s": seconds(t.detected_after_s),
            "symptom": t.symptom or None,
            "recovered_after_s": seconds(t.recovered_after_s),
            "recovered": self.recovered,
            "requests": self.requests,
            "requests_failed": self.requests_failed,
            "retried_statements": self.retried_statements,
            "retried_from": self.retried_from,
            "reconnects": self.reconnects,
            "connect_errors": self.connect_errors,
            "connections_left": self.connections_left,
            "ok": self.ok,
            "fatal_error": self.fatal_error,
            "error_kinds": dict(sorted(self.error_kinds.items())),
            "phases": {
                "before": t.before.as_dict(),
                "during": t.during.as_dict(),
                "after": t.after.as_dict(),
            },
            "proxy": dict(self.proxy),
            "advice": list(self.advice),
            "events": list(self.events),
        }
        if self.outages is not None:
            out["outages"] = [_jsonable(o) for o in self.outages]
        if self.stalls is not None:
            out["stalls"] = [_jsonable(s) for s in self.stalls]
        return out


# --- advice --------------------------------------------------------------------------------------


def _checks_at_checkout(config: PoolConfig, target: Target) -> bool:
    """Does DBUtils test a connection before using it (checkout or execute ping that works)?"""
    return bool(config.ping & 7) and (target.facts.can_ping or bool(config.ping_query))


def _requests(n: int) -> str:
    return count(n, "request")


def _address(host: str, port: int | None) -> str:
    """host:port as describe_db_error writes it (IPv6 in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _ping_fix(target: Target) -> str:
    if target.facts.can_ping:
        return "ping=1"
    return (
        f"ping_query='SELECT 1' ({target.facts.module_name} has no ping(), so ping alone "
        "does nothing)"
    )


def _latency_advice(
    report: DrillReport, config: PoolConfig, workload: Workload, target: Target
) -> list[str]:
    t, out = report.timeline, []
    limited = config.maxconnections and config.maxconnections < workload.threads
    if limited and t.during.p95_acquire_ms > 2 * t.before.p95_acquire_ms + 1:
        out.append(
            f"Threads waited {ms(t.during.p95_acquire_ms)} (p95) for one of the "
            f"{config.maxconnections} connections while each round trip was slower: a "
            "higher maxconnections keeps throughput up on a slow network."
        )
    else:
        out.append(
            f"Throughput went from {rate(t.before.throughput_rps, '')} to "
            f"{rate(t.during.throughput_rps, ' req/s')} and p95 from {ms(t.before.p95_ms)} to "
            f"{ms(t.during.p95_ms)}: every thread had a connection, so no pool "
            "setting hides network latency, only fewer round trips per request do."
        )
    extra = []  # DBUtils' own round trips, both under its pool lock (connection(), cache())
    if _checks_at_checkout(config, target):
        extra.append(
            "the checkout ping (ping=0 drops it; DBUtils still re-runs a statement "
            "whose connection died)"
        )
    if config.reset:
        extra.append(
            "the rollback at checkin (reset=False drops it when requests always end "
            "their transactions)"
        )
    if extra:
        out.append(
            f"Each round trip cost {2 * LATENCY_MS:g} ms more here, and DBUtils makes "
            f"{len(extra)} per request besides the query, under its pool lock, which "
            "stalls every thread: " + "; ".join(extra) + "."
        )
    return out


def _freeze_advice(
    report: DrillReport, config: PoolConfig, workload: Workload, target: Target
) -> list[str]:
    t = report.timeline
    option = target.driver.read_timeout_option  # the DSN option bounding a read, if any
    if option:
        timeout = dict(target._params).get(option)
        if timeout:
            return [
                f"{option}={timeout:g} in the DSN failed the requests stuck on the "
                f"frozen server after {timeout:g} s ({report.requests_failed} failed); a "
                "statement timeout cannot fire on a server that does not run."
            ]
        return [
            f"{option}=SECONDS in the DSN ({target.driver.label}) would have failed the "
            "requests stuck on the frozen server after that long instead of holding their "
            f"connections for the whole {seconds(report.fault_s)}; a statement timeout cannot "
            "fire on a server that does not run."
        ]
    if t.during.requests < t.before.throughput_rps * report.fault_s / 2:
        return [
            f"Requests waited out the whole {seconds(report.fault_s)} freeze: "
            f"{target.facts.module_name} has no read timeout and a frozen server runs no "
            "statement_timeout, so only the application can bound them (a deadline that "
            "cancels the statement, as pooltui's stop does)."
        ]
    return []


def _reset_advice(
    report: DrillReport, config: PoolConfig, workload: Workload, target: Target
) -> list[str]:
    out = []
    if report.requests_failed:
        out.append(
            f"{_requests(report.requests_failed)} failed on the reset connections: DBUtils "
            f"re-runs only a failed execute, so {_ping_fix(target)} checks each "
            "connection at checkout, before it is used."
        )
    if report.retried_statements:
        how = (
            f"re-ran {count(report.retried_statements, 'statement')}"
            if report.retried_from == "reexecutions"
            else "re-ran the failed statements on them"
            + (
                " (or its checkout ping replaced them first)"
                if _checks_at_checkout(config, target)
                else ""
            )
        )
        out.append(
            f"DBUtils reopened {count(report.reconnects, 'connection')} and {how}: a re-run "
            "write that had reached the server runs twice, so make writes idempotent or "
            "run them in transactions (begin()), which DBUtils never re-runs."
        )
    return out


def _down_advice(
    report: DrillReport, config: PoolConfig, workload: Workload, target: Target
) -> list[str]:
    out = []
    if report.requests_failed:
        out.append(
            f"{_requests(report.requests_failed)} failed while the server was away: no "
            "pool setting keeps requests working then; DBUtils opens connections again "
            "at the next use once it is back, so the application must retry with "
            "back-off or fail fast."
        )
    if report.reconnects and not _checks_at_checkout(config, target):
        out.append(
            f"{_ping_fix(target)} would have replaced the dead connections at checkout "
            "after the server came back, instead of at a failed statement."
        )
    return out


def _idle_kill_advice(
    report: DrillReport, config: PoolConfig, workload: Workload, target: Target
) -> list[str]:
    out, failed = [], report.requests_failed
    if not _checks_at_checkout(config, target) and (failed or report.retried_statements):
        done = (
            f"{_requests(failed)} failed"
            if failed
            else f"DBUtils replaced {count(report.reconnects, 'connection')} after statements "
            "failed"
        )
        out.append(
            f"{_ping_fix(target)} would have found the dead connections at checkout "
            f"(here {done} on them)."
        )
    elif report.retried_statements and not failed:
        out.append(
            f"The checkout ping found {count(report.reconnects, 'connection')} killed while idle "
            "and DBUtils replaced them before use; no request failed."
        )
    out.append(
        "PooledDB has no idle lifetime: a lower maxcached keeps fewer connections idle "
        "long enough to be killed, and the server's or firewall's idle timer must be "
        "longer than the pool's quiet periods (this drill killed after "
        f"{IDLE_KILL_S:g} s)."
    )
    return out


_ADVICE = {
    "latency": _latency_advice,
    "freeze": _freeze_advice,
    "reset": _reset_advice,
    "down": _down_advice,
    "restart": _down_advice,
    "idle-kill": _idle_kill_advice,
}


def advise(
    report: DrillReport, config: PoolConfig, workload: Workload, target: Target
) -> tuple[str, ...]:
    """One sentence per thing the drill saw, naming the setting that would have helped (or
    saying none would). ``config`` is the effective configuration."""
    out = _ADVICE[report.scenario](report, config, workload, target)
    if report.fatal_error:
        out.append(
            "The run ended early after failures in a row (see fatal_error), so the "
            "recovery could not be watched within it."
        )
    if report.connections_left:
        out.append(
            f"{report.connections_left} of the pool's sessions were still open on the "
            "server after the pool was closed: a server idle timeout "
            "(idle_session_timeout, wait_timeout) or TCP keepalives end sessions whose "
            "client vanished."
        )
    return tuple(out) or ("Nothing went wrong that a pool setting could have changed.",)


# --- running a drill -----------------------------------------------------------------------------


class _FaultTimer(threading.Thread):
    """Starts the fault ``at_s`` after ``base`` (perf_counter) and ends it ``length_s`` later,
    or at once when cancelled; records both moments."""

    def __init__(self, fault: Fault, proxy: FaultProxy, base: float, at_s: float) -> None:
        super().__init__(daemon=True, name=f"pooltui-drill-{fault.scenario}")
        self.fault, self.proxy, self.base, self.at_s = fault, proxy, base, at_s
        self.cancelled = threading.Event()
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.failure: BaseException | None = None

    def run(self) -> None:
        if self.cancelled.wait(max(0.0, self.base + self.at_s - perf_counter())):
            return
        try:
            self.started_at = perf_counter()  # before: the fault window is never understated
            self.fault.inject(self.proxy)
            if self.fault.length_s:
                self.cancelled.wait(self.fault.length_s)
        except BaseException as exc:
            self.failure = exc
        finally:
            try:
                self.fault.clear(self.proxy)
            except BaseException as exc:
                self.failure = self.failure or exc
            self.ended_at = perf_counter()

    def finish(self, timeout_s: float = 5.0) -> None:
        self.cancelled.set()
        self.join(timeout_s)


def _warm_count(config: PoolConfig, threads: int) -> int:
    """A connection per thread, within maxconnections and maxcached."""
    count = threads
    for limit in (config.maxconnections, config.maxcached):
        if limit:
            count = min(count, limit)
    return max(count, 1)


def connections_left(
    target: Target, tag: str, server_ids: set[int], wait_s: float = LEFT_POLL_S
) -> int:
    """The pool's sessions the server still has, polled for up to ``wait_s`` (a server ends a
    closed session a moment after the client goes)."""
    deadline, pause = monotonic() + wait_s, threading.Event()
    while True:
        left = probes.count_connections_by(target, tag, server_ids)
        if left == 0 or monotonic() >= deadline:
            return left
        pause.wait(0.05)


def run_drill(
    target: Target,
    config: PoolConfig,
    workload: Workload,
    scenario: str,
    *,
    fault_s: float = DEFAULT_FAULT_S,
    duration_s: float | None = None,
    server_version: str | None = None,
    stop: threading.Event | None = None,
) -> DrillReport:
    """One drill on ``target`` (the server itself; the proxy is made here) with a fresh pool.

    Everything it opens (proxy, pool, timer) is closed before it returns, the fault cleared
    first; bounded by the run's duration plus the engine's grace and LEFT_POLL_S.
    """
    fault = plan_fault(scenario, fault_s)
    duration_s, at_s = drill_duration(fault, duration_s)
    upstream = proxy_upstream(target)
    workload = replace(workload, duration_s=duration_s, requests=0)
    if scenario == "idle-kill":
        workload = replace(workload, think_ms=max(workload.think_ms, IDLE_THINK_MS))
    samples: list[tuple[float, Sample]] = []
    seen: set[int] = set()
    with FaultProxy(*upstream) as proxy:
        pool = InstrumentedPool(target.via(*proxy.address), config)
        try:
            engine.warm_up(pool, _warm_count(pool.validation.effective, workload.threads))
            seen |= pool.server_ids()

            def collect(sample: Sample) -> None:
                samples.append((perf_counter(), sample))
                seen.update(pool.server_ids())

            timer = _FaultTimer(fault, proxy, perf_counter(), at_s)
            timer.start()
            try:
                result = engine.run(
                    pool,
                    workload,
                    stop=stop,
                    on_sample=collect,
                    sample_interval_s=SAMPLE_INTERVAL_S,
                    server_version=server_version,
                )
            finally:
                timer.finish()
                proxy.heal()
            seen |= pool.server_ids()
            counters = proxy.counters()  # as the run ended: `open` = the pool's connections
        finally:
            pool.close()
    left = connections_left(target, pool.tag, seen)
    return _report(fault, target, workload, pool, result, timer, samples, left, counters.as_dict())


def _report(
    fault: Fault,
    target: Target,
    workload: Workload,
    pool: InstrumentedPool,
    result: RunResult,
    timer: _FaultTimer,
    samples: list[tuple[float, Sample]],
    left: int,
    counters: dict[str, int],
) -> DrillReport:
    """Fold the run, the fault's moments and the samples into the report (and its advice)."""
    start = min((at - s.elapsed_s for at, s in samples), default=timer.base)
    began = (timer.started_at - start) if timer.started_at is not None else result.duration_s
    ended = (timer.ended_at - start) if timer.ended_at is not None else began
    ended = max(ended, began)
    timeline = read_timeline([s for _, s in samples], began, ended, result.duration_s)
    stats = result.pool
    reexecutions = getattr(stats, "reexecutions", None)  # the engine's coming counter
    # the pool spoke to the proxy: name the server the user knows, and say how it was reached
    via = _address(pool.target.host, pool.target.port)
    server = f"{_address(target.host, target.port)} (through the drill's proxy)"
    events = [event.replace(via, server) for event in result.events]
    if timer.failure is not None:
        events.append(redact(f"the fault could not be applied: {timer.failure}", target))
    fatal = result.fatal_error.replace(via, server) if result.fatal_error else None
    outages, stalls = getattr(result, "outages", None), getattr(result, "stalls", None)
    report = DrillReport(
        scenario=fault.scenario,
        target=target.redacted,
        fault=fault.describe,
        fault_at_s=began,
        fault_s=ended - began if fault.length_s else 0.0,
        duration_s=result.duration_s,
        timeline=timeline,
        requests=result.requests,
        requests_failed=result.errors,
        retried_statements=int(reexecutions if reexecutions is not None else stats.reconnects),
        retried_from="reconnects" if reexecutions is None else "reexecutions",
        reconnects=stats.reconnects,
        connect_errors=stats.connect_errors,
        connections_left=left,
        error_kinds=dict(result.error_kinds),
        proxy=counters,
        advice=(),
        fatal_error=fatal,
        outages=list(outages) if outages is not None else None,
        stalls=list(stalls) if stalls is not None else None,
        events=events,
    )
    return replace(report, advice=advise(report, pool.validation.effective, workload, target))


def check_drills(
    target: Target,
    config: PoolConfig,
    workload: Workload,
    scenarios: Sequence[str] = SCENARIOS,
    *,
    fault_s: float = DEFAULT_FAULT_S,
    duration_s: float | None = None,
) -> Validation:
    """Everything the drills need, checked before the first starts: a TCP target on this
    machine, a configuration DBUtils accepts, a workload the engine runs, room in each run
    for its fault; BadInput naming the first problem, else the pool's validation."""
    proxy_upstream(target)
    validation = validate(config, target.facts).require_ok()
    refused = next((f for f in validate_workload(workload) if f.level == "error"), None)
    if refused is not None:
        raise BadInput(refused.message)
    for scenario in scenarios:
        drill_duration(plan_fault(scenario, fault_s), duration_s)
    return validation


def run_drills(
    target: Target,
    config: PoolConfig,
    workload: Workload,
    scenarios: Sequence[str] = SCENARIOS,
    *,
    fault_s: float = DEFAULT_FAULT_S,
    duration_s: float | None = None,
    server_version: str | None = None,
    stop: threading.Event | None = None,
) -> list[DrillReport]:
    """The drills one after another, each with its own proxy and pool; all checked first."""
    check_drills(target, config, workload, scenarios, fault_s=fault_s, duration_s=duration_s)
    reports = []
    for scenario in scenarios:
        if stop is not None and stop.is_set():
            break
        reports.append(
            run_drill(
                target,
                config,
                workload,
                scenario,
                fault_s=fault_s,
                duration_s=duration_s,
                server_version=server_version,
                stop=stop,
            )
        )
    return reports
