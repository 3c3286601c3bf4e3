"""The diagnosis rules: one small pure function per concern, symptom or DBUtils behaviour.

Split from ``diagnosis`` (which owns the answers and ``recommend``) to keep both files small.
Each ``_rule_xxx(ctx, cfg)`` returns the changes it wants (with the reason) and its advice; the
rules run in ``RULES`` order and each sees the configuration the earlier ones produced. Each
``_finding_xxx(result)`` reads a finished run and returns its advice, or None (``run_findings``
runs ``RUN_FINDINGS``): what a run showed rather than what the answers predict.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pooltui.core.config import PoolConfig
from pooltui.core.diagnosis import queueing as q
from pooltui.core.load.results import STARVED_SHARE, WAITED_S
from pooltui.core.numbers import count, figure, percent, rate, seconds, share
from pooltui.core.numbers import ms as shared_ms
from pooltui.core.pool.lock_time import KINDS

if TYPE_CHECKING:
    from pooltui.core.diagnosis.recommend import Answers
    from pooltui.core.load.results import PoolLock, RunResult
    from pooltui.core.probes import ServerInfo
    from pooltui.core.targets import DriverFacts

# Sizing targets. Latency: few requests wait, and the slow ones only briefly. Fewest connections:
# a busy pool (rho <= 0.85) where waiting is common but short. blocking=False: rare rejections.
LATENCY_MAX_P_WAIT = 0.1
LATENCY_MAX_P95_SHARE = 0.1  # p95 wait <= 10 % of the hold time
FEWEST_MAX_UTILISATION = 0.85
FEWEST_MAX_P_WAIT = 0.5
MAX_REJECTION = {"latency": 0.001, "fewest_connections": 0.01}
HIKARI_FAR_ABOVE = 2.0  # warn when the fleet may open more than this many times the Hikari size


@dataclass(frozen=True)
class Change:
    param: str
    old: Any
    new: Any
    why: str  # one sentence


@dataclass(frozen=True)
class Advice:
    level: str  # "error" | "warning" | "info"
    message: str


@dataclass(frozen=True)
class Prediction:
    """M/M/N figures at peak for one process's pool: waits under blocking, rejections without."""

    offered_load: float
    utilisation: float
    p_wait: float
    mean_wait_ms: float
    p95_wait_ms: float
    p_reject: float
    # requests waiting for a free thread, before the pool (the threads all busy at peak)
    thread_p_wait: float = 0.0
    thread_mean_wait_ms: float = 0.0


@dataclass(frozen=True)
class Context:
    """The answers made effective (measurements applied) and the figures every rule needs."""

    answers: Answers
    facts: DriverFacts
    server: ServerInfo | None
    hold_s: float
    query_ms: float
    connect_ms: float
    rate: float  # peak requests/s per process
    load: float  # offered load at peak, connections per process (Erlangs)
    load_avg: float
    usable: int  # the most connections one process's threads can hold at once
    deadlock: int  # Tn x (Cm - 1) + 1
    mysql: bool

    def has(self, symptom: str) -> bool:
        return symptom in self.answers.symptoms


Outcome = tuple[list[Change], list[Advice]]


def pool_size(cfg: PoolConfig, ctx: Context) -> int:
    """Connections one process can really use: DBUtils' normalised limit, or what threads hold."""
    if not cfg.maxconnections:
        return ctx.usable
    maxcached = max(cfg.maxcached, cfg.mincached) if cfg.maxcached else 0
    return min(max(cfg.maxconnections, maxcached, cfg.maxshared), ctx.usable)


def _limit(cfg: PoolConfig, ctx: Context) -> int:
    """The limit the rules are steering to (later rules bring the other limits within it)."""
    return min(cfg.maxconnections, ctx.usable) if cfg.maxconnections else ctx.usable


def predict_for(ctx: Context, cfg: PoolConfig) -> Prediction:
    """Erlang C (blocking) or B (not) for the pool; none at all when it is as big as the threads."""
    n, a = pool_size(cfg, ctx), ctx.load
    if n >= ctx.usable:  # the threads can never ask for more than the pool has: the wait, if
        # any, is for a thread, before the pool
        usable = max(ctx.usable, 1)
        thread_wait = q.erlang_c(usable, a)
        thread_mean = q.mean_wait_s(usable, a, ctx.hold_s) * 1000.0 if thread_wait else 0.0
        return Prediction(a, a / n, 0.0, 0.0, 0.0, 0.0, thread_wait, thread_mean)
    if not cfg.blocking:
        return Prediction(a, a / n, 0.0, 0.0, 0.0, q.erlang_b(n, a))
    mean = q.mean_wait_s(n, a, ctx.hold_s) * 1000.0
    p95 = q.wait_percentile_s(n, a, ctx.hold_s, 0.95) * 1000.0
    return Prediction(a, a / n, q.erlang_c(n, a), mean, p95, 0.0)


def _change(cfg: PoolConfig, param: str, new: Any, why: str) -> list[Change]:
    old = getattr(cfg, param)
    return [] if old == new else [Change(param, old, new, why)]


def pct(p: float) -> str:
    """A probability for people (the shared format's ``percent``)."""
    return percent(p)


def ms(value: float) -> str:
    """Milliseconds for people (the shared format); an unbounded wait says so."""
    return "0 ms" if value == 0 else shared_ms(value)


def _rule_blocking(ctx: Context, cfg: PoolConfig) -> Outcome:
    """Exhaustion under blocking=False is Erlang B rejections: waiting is the cheaper cure.

    Both goals agree: without blocking, fewer rejections need more connections, which costs
    latency nowhere but server connections everywhere.
    """
    if cfg.blocking or not ctx.has("exhaustion"):
        return [], []
    n = pool_size(cfg, ctx)
    reject = q.erlang_b(n, ctx.load) if n < ctx.usable else 0.0
    why = (
        f"With blocking=False DBUtils raises TooManyConnectionsError whenever all {n} connections "
        f"are busy (Erlang B: {pct(reject)} of requests at peak); blocking=True makes them wait."
    )
    warn = Advice(
        "warning",
        "DBUtils waits without a timeout under blocking=True, so keep a request timeout in the "
        "application and watch the acquire-wait histogram.",
    )
    return _change(cfg, "blocking", True, why), [warn]


def _rule_maxconnections(ctx: Context, cfg: PoolConfig) -> Outcome:
    """Smallest pool meeting the goal's target, capped by the threads, floored against deadlock."""
    a, hold = ctx.load, ctx.hold_s
    if not cfg.blocking:
        target = MAX_REJECTION[ctx.answers.goal]
        need = q.min_connections_for(a, max_rejection=target, hold_s=hold)
        goal = f"at most {pct(target)} of requests rejected"
    elif ctx.answers.goal == "latency":
        need = q.min_connections_for(
            a,
            max_wait_probability=LATENCY_MAX_P_WAIT,
            max_p95_wait_s=LATENCY_MAX_P95_SHARE * hold,
            hold_s=hold,
        )
        share_ = share(LATENCY_MAX_P95_SHARE)
        goal = f"P(wait) <= {LATENCY_MAX_P_WAIT:g} and a p95 wait <= {share_} of the hold"
    else:
        need = max(
            q.min_connections_for(a, max_wait_probability=FEWEST_MAX_P_WAIT, hold_s=hold),
            math.ceil(a / FEWEST_MAX_UTILISATION),
        )
        goal = f"utilisation <= {FEWEST_MAX_UTILISATION:g} and P(wait) <= {FEWEST_MAX_P_WAIT:g}"
    n = max(min(need, ctx.usable), ctx.deadlock, 1)
    why = (
        f"Little's law gives {figure(a, 'connections')} busy connections per process at peak "
        f"({rate(ctx.rate)} x {ms(hold * 1000)}); {need} is the smallest pool with {goal}"
    )
    advice = []
    if need > ctx.usable:
        why += f", capped at the {ctx.usable} connections the threads can hold at once"
        wait = q.erlang_c(ctx.usable, a)
        advice.append(
            Advice(
                "warning",
                "The threads are nearly all busy at peak, so requests queue for a thread, not a "
                f"connection (P(wait) ~ {pct(wait)}): add threads or processes, or shorten the "
                "hold.",
            )
        )
    if ctx.deadlock > min(need, ctx.usable):
        why += (
            f", raised to {ctx.deadlock} = threads x (connections per request - 1) + 1 so requests "
            "holding several connections cannot deadlock the pool"
        )
    return _change(cfg, "maxconnections", n, why + "."), advice


def _rule_server_headroom(ctx: Context, cfg: PoolConfig) -> Outcome:
    """processes x maxconnections must fit in the server's usable slots minus others' use."""
    s, procs, per = ctx.server, ctx.answers.processes, _limit(cfg, ctx)
    usable = s.usable_connections if s is not None else None
    if s is None or usable is None:
        if not ctx.has("server_too_many"):
            return [], []
        message = (
            f"The server refuses connections: {procs} processes x {per} connections must fit in "
            "max_connections minus reserved slots and what others use; give --dsn so pooltui can "
            "read those limits."
        )
        return [], [Advice("warning", message)]
    in_use, reserved = s.connections_in_use or 0, s.reserved_connections or 0
    free, fleet = usable - in_use, procs * per
    if fleet <= free:
        if not ctx.has("server_too_many"):
            return [], []
        message = (
            f"The fleet fits ({procs} x {per} = {fleet} of {free} free slots), so the refusals "
            "come from other clients or leaked sessions."
        )
        return [], [Advice("warning", message)]
    if usable == s.max_connections:  # MySQL: the administrators' slot comes on top
        limits = f"max_connections {s.max_connections}"
    else:
        limits = f"max_connections {s.max_connections}, {reserved} reserved for administrators"
    numbers = (
        f"{procs} processes x {per} connections = {fleet} could be open at once, but the server "
        f"lets applications open {usable} ({limits}) and {in_use} are in use, leaving {free}"
    )
    fit = free // procs
    floor = max(ctx.deadlock, math.floor(ctx.load) + 1)
    if fit >= floor:
        why = f"{fit} = {free} free server slots / {procs} processes: the fleet cannot exhaust it."
        advice = Advice("error", f"{numbers}; maxconnections lowered to {fit} per process.")
        return _change(cfg, "maxconnections", fit, why), [advice]
    message = (
        f"{numbers}; even {floor} per process would not fit, so run fewer processes, put pgbouncer "
        "in front or raise max_connections."
    )
    return [], [Advice("error", message)]


def _rule_hikari(ctx: Context, cfg: PoolConfig) -> Outcome:
    """HikariCP's cores x 2 as a sanity bound on what the database can actually work on."""
    cores = ctx.answers.db_cores
    if cores is None:
        return [], []
    size, procs = q.hikari_pool_size(cores), ctx.answers.processes
    busy, fleet = ctx.load * procs, _limit(cfg, ctx) * procs
    if busy > size:
        message = (
            f"At peak the fleet keeps {figure(busy, 'connections')} connections busy, more "
            f"than the {size} "
            f"(2 x {cores} cores) the database works on efficiently: shorten hold and query times "
            "or add database capacity, not connections."
        )
        return [], [Advice("warning", message)]
    if fleet > HIKARI_FAR_ABOVE * size:
        message = (
            f"The fleet may open {fleet} connections, far above the {size} (2 x {cores} cores) of "
            "HikariCP's sizing rule: a small pool with threads waiting for it is usually faster."
        )
        return [], [Advice("warning", message)]
    return [], []


def _rule_maxshared(ctx: Context, cfg: PoolConfig) -> Outcome:
    """maxshared is a no-op below threadsafety 2, and shared connections share their transaction."""
    if not cfg.maxshared:
        return [], []
    f = ctx.facts
    if not f.can_share:
        why = f"{f.module_name} has threadsafety {f.threadsafety}, so DBUtils ignores maxshared."
        return _change(cfg, "maxshared", 0, why), []
    why = "DBUtils would raise maxconnections to maxshared; keep it within the limit."
    message = (
        "Shared connections run one query at a time and share one transaction, and the sizing "
        "assumes dedicated ones: use begin() or connection(shareable=False) for transactions."
    )
    new = min(cfg.maxshared, cfg.maxconnections) if cfg.maxconnections else cfg.maxshared
    return _change(cfg, "maxshared", new, why), [Advice("info", message)]


def _rule_mincached(ctx: Context, cfg: PoolConfig) -> Outcome:
    """Warm up the expected busy connections: DBUtils creates them serially under its lock."""
    bursty = ctx.answers.shape == "bursty"
    n = _limit(cfg, ctx)
    want = max(1, min(math.ceil(ctx.load if bursty else ctx.load_avg), n))
    if ctx.answers.goal == "latency" and want <= cfg.mincached <= n:
        return [], []
    busy_at = "peak" if bursty else "average load"
    if want == 1:
        why = (
            f"On a cold pool the first request pays the {ms(ctx.connect_ms)} connect; "
            f"pre-open the 1 connection busy at {busy_at} (DBUtils never refills it)."
        )
    else:
        why = (
            f"DBUtils opens connections one at a time under the pool lock, so on a cold pool "
            f"the last of {want} concurrent requests waits about {want} x "
            f"{ms(ctx.connect_ms)}; pre-open the {want} busy at {busy_at} (DBUtils never "
            "refills them)."
        )
    return _change(cfg, "mincached", want, why), []


def _rule_maxcached(ctx: Context, cfg: PoolConfig) -> Outcome:
    """Connections beyond maxcached are closed on return: churn, reconnect cost, cold bursts."""
    n, low, cur = _limit(cfg, ctx), cfg.mincached, cfg.maxcached
    if ctx.has("churn") or ctx.answers.shape == "bursty":
        cause = "the churn" if ctx.has("churn") else "each burst"
        why = (
            f"A returned connection is closed once maxcached are idle; maxcached = maxconnections "
            f"keeps all {n} open, so {cause} stops paying {ms(ctx.connect_ms)} per reconnect."
        )
        return _change(cfg, "maxcached", n, why), []
    if ctx.answers.goal == "fewest_connections":
        why = (
            f"Keeps the {low} connections busy on average and closes the rest on return, freeing "
            "server slots after a peak at the cost of reconnecting at the next one."
        )
        return _change(cfg, "maxcached", low, why), []
    if cur > n:
        return _change(cfg, "maxcached", n, "DBUtils would raise maxconnections to maxcached."), []
    if 0 < cur < low:
        return _change(cfg, "maxcached", low, "DBUtils raises maxcached to mincached anyway."), []
    return [], []


def _rule_maxusage(ctx: Context, cfg: PoolConfig) -> Outcome:
    """A small maxusage is churn by design."""
    if not ctx.has("churn") or not cfg.maxusage:
        return [], []
    why = (
        f"maxusage={cfg.maxusage} reopens each connection after that many statements, churn by "
        "design; 0 keeps connections until they fail."
    )
    return _change(cfg, "maxusage", 0, why), []


def _rule_ping(ctx: Context, cfg: PoolConfig) -> Outcome:
    """ping works only where the connection has ping(); elsewhere a ping query does the job."""
    f, gone = ctx.facts, ctx.has("gone_away")
    if f.can_ping:
        if not gone or cfg.ping & 1:
            return [], []
        why = (
            f"{f.module_name} connections have ping(): with ping=1 DBUtils checks each connection "
            "taken from the idle cache and reopens it when the server has closed it."
        )
        return _change(cfg, "ping", cfg.ping | 1, why), []
    if not f.has_server or cfg.ping_query:  # no server to lose, or already a query
        return [], []
    if gone:
        why = (
            f"{f.module_name} connections have no ping(), so DBUtils' ping alone does nothing; "
            "ping_query runs SELECT 1 at checkout (one round trip) and reopens a dead connection."
        )
        changes = _change(cfg, "ping_query", "SELECT 1", why)
        if not cfg.ping & 1:
            why = "The ping query runs at checkout only when bit 1 of ping is set."
            changes += _change(cfg, "ping", cfg.ping | 1, why)
        return changes, []
    if not cfg.ping:
        return [], []
    message = (
        f"{f.module_name} connections have no ping(), so ping={cfg.ping} is a no-op and a dead "
        'connection shows only when a statement fails; set ping_query = "SELECT 1" if stale '
        "connections hurt (a round trip per checkout)."
    )
    return [], [Advice("info", message)]


def _rule_idle_timeout(ctx: Context, cfg: PoolConfig) -> Outcome:
    """The server's idle killer against DBUtils' FIFO idle cache, which has no idle limit."""
    s, gone = ctx.server, ctx.has("gone_away")
    name, timeout = "wait_timeout", getattr(s, "wait_timeout_s", None)
    if not timeout:
        name, timeout = "idle_session_timeout", getattr(s, "idle_session_timeout_s", None)
    if not timeout:
        if not gone:
            return [], []
        if s is None:
            message = (
                "Connections die while idle and DBUtils has no idle or lifetime limit: compare the "
                "idle time with the server's wait_timeout or idle_session_timeout and any firewall "
                "idle cut; give --dsn so pooltui reads the server's timeout."
            )
        else:
            message = (
                "The server closes no idle connections itself, so a firewall, NAT or load "
                "balancer idle cut or a server restart kills them, and DBUtils has no idle or "
                "lifetime limit: check connections at checkout."
            )
        return [], [Advice("warning", message)]
    kept = cfg.maxcached or _limit(cfg, ctx)
    avg_rate = ctx.rate / ctx.answers.peak_to_average
    reuse_s = kept / avg_rate
    if reuse_s < timeout and not gone:
        return [], []
    checked = bool(cfg.ping & 1) and (ctx.facts.can_ping or bool(cfg.ping_query))
    fix = "the checkout ping replaces dead ones"
    if not checked:
        fix = f"turn on a checkout ping, lower maxcached or raise {name} above the longest lull"
    message = (
        f"The server closes connections idle for {timeout:g} s ({name}) and DBUtils reuses idle "
        f"ones in FIFO order: at the average {rate(avg_rate)} each of {kept} sits idle about "
        f"{seconds(reuse_s)}, and longer lulls kill them; {fix}."
    )
    return [], [Advice("info" if checked else "warning", message)]


def _rule_reset(ctx: Context, cfg: PoolConfig) -> Outcome:
    """reset=True costs a rollback round trip per checkin on MySQL; False leaks transactions."""
    if not cfg.reset:
        message = (
            "reset=False returns connections without a rollback unless begin() started the "
            "transaction, so a request that forgets to commit leaves the next one inside its "
            "transaction."
        )
        return [], [Advice("warning", message)]
    if not ctx.mysql:
        return [], []
    message = (
        "reset=True rolls back every returned connection: one round trip to MySQL per checkin, "
        "made under the pool lock; keep it unless all transactional code uses begin()."
    )
    return [], [Advice("info", message)]


RULES: tuple[Callable[[Context, PoolConfig], Outcome], ...] = (
    _rule_blocking,
    _rule_maxconnections,
    _rule_server_headroom,
    _rule_hikari,
    _rule_maxshared,
    _rule_mincached,
    _rule_maxcached,
    _rule_maxusage,
    _rule_ping,
    _rule_idle_timeout,
    _rule_reset,
)


def symptom_advice(
    ctx: Context, current: PoolConfig, before: Prediction, after: Prediction
) -> list[Advice]:
    """Advice that explains symptoms and hazards of the current setup, changing no knob."""
    advice = []
    if ctx.has("hanging"):
        message = (
            "DBUtils has no acquire timeout: under blocking=True a request waits forever while "
            "every connection is held, so a leaked connection or a long transaction hangs the "
            "rest; run bursts with the leak detector and return connections with "
            "`with pool.connection()`."
        )
        advice.append(Advice("warning", message))
    if ctx.has("exhaustion") and current.blocking and not ctx.has("server_too_many"):
        message = (
            "With blocking=True DBUtils never raises TooManyConnectionsError, so exhaustion shows "
            "as waiting, which the sizing above addresses."
        )
        advice.append(Advice("info", message))
    if ctx.has("timeouts") or ctx.has("slow_under_load"):
        message = (
            f"At peak requests wait {ms(before.mean_wait_ms)} for a connection on average now "
            f"(p95 {ms(before.p95_wait_ms)}) and {ms(after.mean_wait_ms)} (p95 "
            f"{ms(after.p95_wait_ms)}) as recommended; the rest is query time "
            f"({ms(ctx.query_ms)}) or server load."
        )
        advice.append(Advice("info", message))
    if ctx.answers.complexity == "report" and "complexity" not in ctx.answers.assumed:
        message = (
            "Long reports hold connections and starve short requests in the same pool: give them "
            "a small pool of their own."
        )
        advice.append(Advice("info", message))
    advice += [Advice("info", message) for message in ctx.facts.advice]  # the driver's own
    message = (
        "When a statement fails with a connection error outside begin(), DBUtils reconnects and "
        "runs it again, so a write can run twice: wrap writes in con.begin() ... con.commit()."
    )
    advice.append(Advice("info", message))
    return advice


# --- findings on a finished run (what a run showed, not what the answers predict) -------------


def _finding_starvation(result: RunResult) -> Advice | None:
    """Threads the pool left unserved while others were served again and again.

    DBUtils' pool waits on a ``threading.Condition``, which is not FIFO: a thread returning a
    connection notifies a waiter, but can take the connection back itself before the woken
    thread runs (unfair handoff), so under saturation a few threads are served over and over
    and the rest wait for seconds. Only threads that waited count: a thread whose requests
    were rejected or failed is not starved by the pool.
    """
    starved = [t for t in result.starved if t.longest_wait_ms > WAITED_S * 1000.0]
    fairness = result.fairness
    if not starved or fairness is None:
        return None
    threads = len(result.per_thread)
    longest = max(t.longest_wait_ms for t in starved)
    mean = sum(t.ok for t in result.per_thread) / threads
    message = (
        f"{len(starved)} of {threads} threads were starved: served fewer than "
        f"{share(STARVED_SHARE)} of the mean {figure(mean, '')} requests (Jain's fairness "
        f"{figure(fairness, 'index')}, 1 is even), while the acquire max was "
        f"{ms(result.acquire.max)} "
        f"(p99.9 {ms(result.acquire.p999)}, the longest wait of a starved thread "
        f"{ms(longest)}). DBUtils' pool Condition is not FIFO: a thread that returns a "
        "connection can take it again before a thread that has waited for seconds (unfair "
        "handoff). What helps: fewer threads than connections (maxconnections >= threads: "
        "nobody waits), think time between requests, or a FIFO queue in front of the pool "
        "(a semaphore or queue that hands out connections in arrival order)."
    )
    return Advice("warning", message)


# --- a finding from a run: the round trips DBUtils makes under its pool lock ---------------------

# The lock time dominates a run's acquire waits when it is at least this share of their total
# (the holder's own ping or connect is part of its wait, and every caller queued meanwhile waits
# too), provided acquiring is a noticeable part of a request (LOCK_MATERIAL_WAIT of the whole
# latency); or, whatever the waits, when the lock was held for round trips this share of the run:
# checkouts and returns then take turns behind them, a ceiling on the throughput.
LOCK_SHARE_OF_WAIT = 0.5
LOCK_MATERIAL_WAIT = 0.05
LOCK_SHARE_OF_RUN = 0.5


def _total(ms_: float) -> str:
    """A total in milliseconds for people: 1,027 ms, 71.10 ms, 0.52 ms."""
    return shared_ms(ms_)


def _lock_remedy(result: RunResult, lock: PoolLock, kind: str) -> str:
    """What helps against the round trips of ``kind`` (connect, ping or reset) under the lock
    of one pool (``lock``: a fleet's busiest process's)."""
    config, held = result.config, lock.under_lock
    each = held.ms(kind) / max(held.count(kind), 1)
    if kind == "reset":
        did = f"{count(held.resets, 'rollback')} on return ({ms(each)} each)"
        if not config.reset:
            return (
                f"{did}: with reset=False they are of transactions opened with begin(); end "
                "them with commit() before returning the connection"
            )
        if not result.workload.allow_writes:
            return (
                f"{did}: the workload is read-only, so reset=False (DBUtils then rolls back "
                "only transactions opened with begin()) saves that round trip"
            )
        return (
            f"{did}: commit (or roll back) in the application and set reset=False, so the "
            "return makes no round trip"
        )
    if kind == "ping":
        return (
            f"{held.pings} liveness checks at checkout ({ms(each)} each): ping less often "
            "(ping=0: DBUtils still replaces a connection a statement finds dead) or use a "
            "cheaper ping_query"
        )
    return (
        f"{held.connects} connections opened at checkout ({ms(each)} each): open them "
        f"before the burst (mincached={max(lock.peak_checked_out, 1)}, or a warm-up) "
        "and keep maxcached at least that, so returns do not close them"
    )


def lock_time_finding(result: RunResult) -> Advice | None:
    """A warning when the connects, pings and resets DBUtils made while holding its pool lock
    dominate the run's acquire waits (or held the lock for most of the run), naming the
    largest of the three and what helps; None otherwise.

    A fleet's processes each have their own pool lock, so the finding reads the busiest one
    (the longest held share of its run), never a sum or mean over processes: a mean hides the
    one process whose callers queue behind its lock, a sum over W pools can pass 100 %."""
    lock = max(result.locks, key=lambda lock: (lock.of_run, lock.under_lock.total_ms))
    held = lock.under_lock
    held_s = held.total_ms / 1000.0
    if held_s <= 0 or lock.duration_s <= 0:
        return None
    waited_s, spent_s = lock.waited_ms / 1000.0, lock.spent_ms / 1000.0
    of_wait = held_s / waited_s if waited_s > 0 else 0.0
    of_run = lock.of_run
    material = waited_s >= LOCK_MATERIAL_WAIT * spent_s
    if not ((of_wait >= LOCK_SHARE_OF_WAIT and material) or of_run >= LOCK_SHARE_OF_RUN):
        return None
    parts = ", ".join(f"{kind} {_total(held.ms(kind))}" for kind in KINDS if held.count(kind))
    largest = held.largest()
    pools = len(result.locks)
    where = (
        f"In process {lock.process}, the busiest of the fleet's {pools} pools (each process "
        "has a lock of its own), DBUtils"
        if pools > 1
        else "DBUtils"
    )
    message = (
        f"{where} held its pool lock for {_total(held_s * 1000)} of round trips ({parts}): "
        f"{share(of_run)} of the run and {share(of_wait)} of the {_total(waited_s * 1000)} callers "
        "waited to acquire, and every other checkout and return waits while it is held. Most "
        f"of it was {largest}: {_lock_remedy(result, lock, largest)}."
    )
    return Advice("warning", message)


RUN_FINDINGS: tuple[Callable[[RunResult], Advice | None], ...] = (
    _finding_starvation,
    lock_time_finding,
)


def run_findings(result: RunResult) -> list[Advice]:
    """What a finished run's figures show, each finding with its numbers, cause and cure."""
    return [found for finding in RUN_FINDINGS if (found := finding(result)) is not None]
