"""A fleet run: W application processes, each with its own pool and T threads, against one
server, as gunicorn, uWSGI or Celery run them.

``run_fleet`` spawns W processes (multiprocessing's ``spawn`` context: each a fresh interpreter
building its own PooledDB from the same configuration, worker.py), waits until every one is
ready, starts them together, and while they run asks the server every CENSUS_INTERVAL_S how
many of the fleet's sessions it has (each process's tag and session ids: ``probes.count_groups``
over one connection) beside the sum of the processes' ``open`` gauges. Each process's
RunResult comes back with its histograms, and the fleet's result is their exact merge
(``merge_results``: merged snapshots, never averaged percentiles).

Nothing is left on the server, whatever ends the fleet: the parent's ``stop`` (a signal, the
console's stop) reaches every process, which ends its run through the engine's stop path and
closes its pool; a process that dies (killed, crashed) is reported with why, the parent ends
its sessions on the server by its tag and ids at once, and the others go on; a process that
does not end when told is terminated, then killed, and its sessions ended the same way; and
after every process has gone the parent asks the server, per process, that none is left
(``confirm_closed``, which ends any it finds).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from multiprocessing.connection import wait as wait_for
from time import perf_counter
from typing import TYPE_CHECKING, Any

from pooltui.core.errors import BadInput, PooltuiError
from pooltui.core.fleet.worker import (
    CLOSED,
    DONE,
    FAILED,
    GO,
    READY,
    SAMPLE,
    STOP,
    Closed,
    Progress,
    Ready,
    WorkerSpec,
    worker_main,
)
from pooltui.core.host.hosted import real_stdio
from pooltui.core.load.results import PoolLock, merge_results
from pooltui.core.probes import LeftOpen, confirm_closed, count_groups

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from pooltui.core.config import PoolConfig, Workload
    from pooltui.core.drivers.base import ServerInfo
    from pooltui.core.load.results import RunResult, Sample, WarmupResult
    from pooltui.core.targets import Target

__all__ = [
    "Census",
    "FleetResult",
    "FleetSample",
    "ProcessOutcome",
    "run_fleet",
    "share_workload",
]

START_TIMEOUT_S = 60.0  # spawn, imports and the pool's build, for the whole fleet
END_MARGIN_S = 10.0  # past the run's duration before the parent stops a process itself
TERMINATE_AFTER_S = 8.0  # after a stop, before a process still running gets SIGTERM
KILL_AFTER_S = 3.0  # after SIGTERM, before SIGKILL
MAX_PROCESSES = 256  # spawned interpreters on one machine
POLL_S = 0.05  # how soon the loop sees a stop
CENSUS_INTERVAL_S = 0.25  # the server's count of the fleet's sessions, this often
_FLEETS = itertools.count(1)


@dataclass(frozen=True)
class Census:
    """The server's count of the fleet's sessions beside the processes' own ``open`` gauges
    (the last each reported), at one moment of the run."""

    elapsed_s: float
    server: int
    open_gauges: int
    per_process: tuple[int, ...]  # the server's count for each process


@dataclass(frozen=True)
class ProcessOutcome:
    """One process of the fleet: its result, or why it has none."""

    index: int
    tag: str
    pid: int | None
    result: RunResult | None
    error: str | None  # the failure it reported, or how it died
    died: bool  # ended without closing its pool itself (killed, crashed)
    exitcode: int | None
    left: LeftOpen
    warmup: WarmupResult | None = None
    warmup_run: RunResult | None = None  # the unmeasured run before the go (warmup_run_s)

    @property
    def ok(self) -> bool:
        return self.result is not None and self.error is None and not self.died

    @property
    def name(self) -> str:
        return f"process {self.index}" + (f" (pid {self.pid})" if self.pid else "")

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "index": self.index,
            "pid": self.pid,
            "tag": self.tag,
            "ok": self.ok,
            "died": self.died,
            "exitcode": self.exitcode,
            "error": self.error,
            "closed": self.left.as_dict(),
            "result": r.as_dict() if r is not None else None,
        }


@dataclass(frozen=True)
class FleetSample:
    """What the fleet looks like now: each process's last sample (None before its first, or
    once it has ended) and the server's last count of the fleet's sessions."""

    elapsed_s: float
    samples: tuple[Sample | None, ...]
    alive: tuple[bool, ...]
    server: int | None  # None: not counted yet, or the server cannot count sessions
    server_per_process: tuple[int, ...] = ()
    pids: tuple[int | None, ...] = ()  # each process's pid (the console's rows show it)

    @property
    def throughput_rps(self) -> float:
        return sum(s.throughput_rps for s in self.samples if s is not None)

    opens: tuple[int, ...] = ()  # each process's open gauge (its pool's at ready before a sample)

    @property
    def open_gauges(self) -> int:
        return sum(self.opens)


@dataclass(frozen=True)
class FleetResult:
    """A finished fleet: every process's outcome, their merged result, the server's counts."""

    processes: tuple[ProcessOutcome, ...]
    result: RunResult | None  # the merge of every process that finished its run
    census: tuple[Census, ...]
    threads: int  # per process
    events: tuple[str, ...] = ()
    server: ServerInfo | None = None
    merge_s: float = 0.0  # what merging the processes' results cost the parent
    ready_census: Census | None = None  # the count once every pool was built, before go
    stopped: bool = False

    @property
    def size(self) -> int:
        return len(self.processes)

    @property
    def failed(self) -> list[ProcessOutcome]:
        return [p for p in self.processes if not p.ok]

    @property
    def peak_server(self) -> int:
        """The most of the fleet's sessions the server counted at once."""
        counts = [c.server for c in self.census]
        if self.ready_census is not None:
            counts.append(self.ready_census.server)
        return max(counts, default=0)

    @property
    def peak_open_sum(self) -> int:
        """The processes' own peaks added (an upper bound of what was open at once)."""
        return sum(p.result.pool.peak_open for p in self.processes if p.result is not None)

    @property
    def left(self) -> LeftOpen:
        """What the server still has of the whole fleet."""
        lefts = [p.left for p in self.processes]
        return LeftOpen(
            sum(x.sessions for x in lefts),
            verified=all(x.verified for x in lefts),
            ended=sum(x.ended for x in lefts),
            server=all(x.server for x in lefts),
        )

    @property
    def fatal_error(self) -> str | None:
        """Set when no process finished its run: the first one's error."""
        if self.result is not None:
            return None
        return next((p.error for p in self.processes if p.error), "no process ran")

    def as_dict(self) -> dict[str, Any]:
        """``bench --processes W --json``: the merged run's object, plus the fleet's own."""
        base = self.result.as_dict() if self.result is not None else {}
        return base | {
            "fleet": {
                "processes": self.size,
                "threads_per_process": self.threads,
                "peak_server_connections": self.peak_server,
                "peak_open_sum": self.peak_open_sum,
                "merge_ms": round(self.merge_s * 1000.0, 3),
                "events": list(self.events),
                "census": [
                    {
                        "elapsed_s": round(c.elapsed_s, 3),
                        "server": c.server,
                        "open_gauges": c.open_gauges,
                        "per_process": list(c.per_process),
                    }
                    for c in self.census
                ],
                "per_process": [p.as_dict() for p in self.processes],
            },
            "closed": self.left.as_dict(),
        }


def share_workload(workload: Workload, index: int, processes: int) -> Workload:
    """One process's part of the fleet's workload: every process runs ``threads`` threads for
    the whole duration; a request count and an open-loop rate are the fleet's, split."""
    requests = workload.requests
    if requests:
        requests = requests // processes + (index < requests % processes)
    return replace(workload, requests=requests, rate=workload.rate / processes)


@dataclass
class _Sessions:
    """A process's sessions as ``confirm_closed`` asks about them."""

    tag: str
    ids: set[int]
    unclosed: int = 0

    def opened_ids(self) -> set[int]:
        return set(self.ids)


@dataclass
class _Worker:
    """The parent's side of one process."""

    spec: WorkerSpec
    process: BaseProcess | None = None
    conn: Connection | None = None
    ready: Ready | None = None
    sample: Sample | None = None
    ids: set[int] = field(default_factory=set)
    result: RunResult | None = None
    error: str | None = None
    closed: Closed | None = None
    ended: bool = False
    left: LeftOpen | None = None
    terminated_at: float | None = None

    @property
    def started(self) -> bool:
        """Ready or ended: the fleet's go need not wait for it."""
        return self.ready is not None or self.ended

    def receive(self) -> None:
        """Every message waiting on the pipe; its end means the process is going."""
        conn = self.conn
        while conn is not None:
            try:
                if not conn.poll():
                    return
                kind, payload = conn.recv()
            except (EOFError, OSError):
                conn.close()
                self.conn = conn = None
                return
            if kind == READY:
                self.ready = payload
                self.ids.update(payload.ids)
            elif kind == SAMPLE:
                progress: Progress = payload
                self.sample = progress.sample
                self.ids.update(progress.new_ids)
            elif kind == DONE:
                self.result = payload
            elif kind == FAILED:
                self.error = payload
            elif kind == CLOSED:
                self.closed = payload
                self.ids.update(payload.ids)

    def tell(self, message: str) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError, ValueError):
                self.conn.send(message)

    def sessions(self) -> _Sessions:
        unclosed = self.closed.unclosed if self.closed is not None else 0
        return _Sessions(self.spec.tag, set(self.ids), unclosed)

    @property
    def died(self) -> bool:
        return self.ended and self.closed is None

    def death(self) -> str:
        """How a process that never said it closed its pool ended."""
        code = self.process.exitcode if self.process is not None else None
        if code is not None and code < 0:
            how = f"was killed by {signal.Signals(-code).name}"
        elif code:
            how = f"exited with code {code}"
        else:
            how = "ended without closing its pool"
        said = f" after reporting: {self.error}" if self.error else ""
        return f"the process {how}{said}"


def _open_now(w: _Worker) -> int:
    """A process's open gauge as it last said (0 once its run has ended: it is closing)."""
    if w.ended or w.result is not None:
        return 0
    if w.sample is not None:
        return w.sample.stats.open
    return w.ready.open if w.ready is not None else 0


class _Census:
    """The parent's thread asking the server how many of the fleet's sessions it has."""

    def __init__(self, target: Target, workers: list[_Worker], started: float) -> None:
        self.target, self.workers, self.started = target, workers, started
        self.counts: list[Census] = []
        self.last: Census | None = None
        self.problem: str | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="pooltui-census")

    def take(self) -> Census | None:
        """One count now (None when the server cannot be asked)."""
        groups = [(w.spec.tag, set(w.ids)) for w in self.workers]
        try:
            per = count_groups(self.target, groups)
        except PooltuiError as exc:
            self.problem = str(exc)
            return None
        gauges = sum(_open_now(w) for w in self.workers)
        census = Census(perf_counter() - self.started, sum(per), gauges, tuple(per))
        self.last = census
        return census

    def _loop(self) -> None:
        while not self.done.wait(CENSUS_INTERVAL_S):
            census = self.take()
            if census is None:
                return
            self.counts.append(census)

    def start(self) -> None:
        if self.target.dialect.counts_sessions:
            self.thread.start()

    def finish(self) -> None:
        self.done.set()
        if self.thread.is_alive():
            self.thread.join(5.0)


def run_fleet(
    target: Target,
    config: PoolConfig,
    workload: Workload,
    processes: int,
    *,
    stop: threading.Event | None = None,
    on_sample: Callable[[FleetSample], None] | None = None,
    warmup: bool = False,
    leak_threshold_s: float | None = None,
    sample_interval_s: float = 0.25,
    server: ServerInfo | None = None,
    seed: int | None = None,
    quiet: bool = False,
    warmup_connections: int | None = None,
    warmup_run_s: float = 0.0,
) -> FleetResult:
    """Run ``workload`` in ``processes`` processes at once, each with its own pool of
    ``config`` and ``workload.threads`` threads; see the module doc. Never raises for a failing
    process or database (each outcome says what happened); BadInput for a fleet no run can be.
    ``quiet``: the processes print nothing (a console owns the terminal).
    ``warmup_connections``: with ``warmup``, the connections each pool opens before the go
    (None: mincached; compare opens one per thread so no connect is timed).
    ``warmup_run_s``: each process makes an unmeasured run this long before the go, as
    compare's fresh pools do (its result is each ProcessOutcome's ``warmup_run``)."""
    if not 1 <= processes <= MAX_PROCESSES:
        raise BadInput(
            f"processes is {processes} but must be from 1 to {MAX_PROCESSES}: beyond that one "
            "machine measures its own scheduler; spread the load with the Locust export."
        )
    if workload.requests and workload.requests < processes:
        raise BadInput(
            f"requests is {workload.requests} but a fleet of {processes} processes needs at "
            "least one per process: raise requests or lower the processes."
        )
    stop = stop if stop is not None else threading.Event()
    fleet = next(_FLEETS)
    workers = [
        _Worker(
            WorkerSpec(
                index=i,
                target=target,
                config=config,
                workload=share_workload(workload, i, processes),
                tag=f"pooltui-{os.getpid()}-f{fleet}p{i}",
                warmup=warmup,
                leak_threshold_s=leak_threshold_s,
                sample_interval_s=sample_interval_s,
                seed=None if seed is None else seed + i,
                server_version=server.version if server is not None else None,
                quiet=quiet,
                warmup_connections=warmup_connections,
                warmup_run_s=warmup_run_s,
            )
        )
        for i in range(processes)
    ]
    events: list[str] = []
    started = perf_counter()
    census = _Census(target, workers, started)
    ready_census: Census | None = None
    stopped = False
    try:
        context = get_context("spawn")
        with real_stdio():
            _start(context, workers)
        go_at: float | None = None
        stop_at: float | None = None
        last_sample = 0.0
        while not all(w.ended for w in workers):
            waitables: list[Any] = []
            for w in workers:
                if not w.ended and w.process is not None:
                    waitables.append(w.process.sentinel)
                    if w.conn is not None:
                        waitables.append(w.conn)
            wait_for(waitables, timeout=POLL_S)
            now = perf_counter()
            for w in workers:
                if w.ended:
                    continue
                w.receive()
                if w.process is not None and not w.process.is_alive():
                    w.process.join(0)
                    w.receive()  # whatever it sent before it went
                    w.ended = True
                    if w.died:
                        w.error = w.death()
                        w.left = _end_sessions(target, w)
                        others = sum(not x.ended for x in workers)
                        events.append(
                            f"{_label(w)} {w.error}; pooltui ended its sessions on the server "
                            f"({w.left.sentence()}); the other {others} processes went on"
                        )
            if go_at is None and all(w.started for w in workers):
                ready_census = census.take() if target.dialect.counts_sessions else None
                for w in workers:
                    w.tell(GO)
                go_at = census.started = now  # the census's times count from the go
                census.start()
            if stop_at is None and (
                stop.is_set()
                or (go_at is None and now - started > START_TIMEOUT_S)
                or (go_at is not None and now - go_at > workload.duration_s + END_MARGIN_S)
            ):
                stop_at = now
                stopped = stop.is_set()
                if go_at is None and not stopped:
                    events.append(
                        f"the fleet's processes were not all ready within {START_TIMEOUT_S:g} "
                        "s: pooltui stopped them"
                    )
                for w in workers:
                    w.tell(STOP)
            if stop_at is not None:
                _escalate(workers, now - stop_at)
            if (
                on_sample is not None
                and go_at is not None
                and now - last_sample >= max(sample_interval_s, POLL_S)
            ):
                last_sample = now
                _report(on_sample, workers, census, now - go_at)
    finally:
        census.finish()
        for w in workers:  # an exception above (or a signal's): nothing may outlive the fleet
            _reap(w)
    outcomes = []
    for w in workers:
        left = w.left if w.left is not None else confirm_closed(target, w.sessions())
        if w.error is None and w.result is None:
            w.error = "the process ended before its run (stopped while starting)"
        pid = w.ready.pid if w.ready is not None else (w.process.pid if w.process else None)
        outcomes.append(
            ProcessOutcome(
                index=w.spec.index,
                tag=w.spec.tag,
                pid=pid,
                result=w.result,
                error=w.error,
                died=w.died,
                exitcode=w.process.exitcode if w.process is not None else None,
                left=left,
                warmup=w.ready.warmup if w.ready is not None else None,
                warmup_run=w.ready.warmup_run if w.ready is not None else None,
            )
        )
    merge_started = perf_counter()
    merged = merge_fleet([o for o in outcomes if o.result is not None])
    merge_s = perf_counter() - merge_started
    if census.problem:
        events.append(f"the server's count of the fleet's sessions stopped: {census.problem}")
    events.extend(_full_sentences(merged, outcomes, census.counts, server, config, workload))
    return FleetResult(
        processes=tuple(outcomes),
        result=merged,
        census=tuple(census.counts),
        threads=workload.threads,
        events=tuple(events),
        server=server,
        merge_s=merge_s,
        ready_census=ready_census,
        stopped=stopped,
    )


def _start(context: Any, workers: list[_Worker]) -> None:
    """Spawn every process, each with its end of a pipe."""
    for w in workers:
        parent_end, child_end = context.Pipe()
        w.conn = parent_end
        w.process = context.Process(
            target=worker_main,
            args=(w.spec, child_end),
            name=f"pooltui-fleet-{w.spec.index}",
            daemon=True,
        )
        w.process.start()
        child_end.close()


def merge_fleet(outcomes: list[ProcessOutcome]) -> RunResult | None:
    """The processes' results as one: exact merged histograms (``merge_results``), each
    thread named by its process (``p1/pooltui-worker-0``) so the fairness table tells them
    apart."""
    merged: RunResult | None = None
    for outcome in outcomes:
        result = outcome.result
        if result is None:
            continue
        named = replace(
            result,
            per_thread=[replace(t, name=f"p{outcome.index}/{t.name}") for t in result.per_thread],
            pool_locks=(PoolLock.of(result, outcome.index),),  # its own lock, kept apart
        )
        merged = named if merged is None else merge_results(merged, named)
    return merged


def _label(w: _Worker) -> str:
    pid = w.ready.pid if w.ready is not None else (w.process.pid if w.process else None)
    return f"process {w.spec.index}" + (f" (pid {pid})" if pid else "")


def _end_sessions(target: Target, w: _Worker) -> LeftOpen:
    """A dead process's sessions, ended on the server by its tag and ids (confirm_closed
    counts, ends what is left, and counts again)."""
    return confirm_closed(target, w.sessions(), timeout_s=5.0)


def _escalate(workers: list[_Worker], since_stop: float) -> None:
    """A process still running TERMINATE_AFTER_S after the stop gets SIGTERM (it sets its
    stop), and KILL_AFTER_S later SIGKILL: its sessions are then ended by the parent."""
    for w in workers:
        process = w.process
        if w.ended or process is None or not process.is_alive():
            continue
        if since_stop > TERMINATE_AFTER_S and w.terminated_at is None:
            w.terminated_at = since_stop
            process.terminate()
        elif w.terminated_at is not None and since_stop > w.terminated_at + KILL_AFTER_S:
            process.kill()


def _reap(w: _Worker) -> None:
    """Make sure the process is gone (told, then terminated, then killed) and its pipe
    closed."""
    process = w.process
    if process is not None and process.is_alive():
        w.tell(STOP)
        process.join(TERMINATE_AFTER_S)
        if process.is_alive():
            process.terminate()
            process.join(KILL_AFTER_S)
        if process.is_alive():
            process.kill()
            process.join(KILL_AFTER_S)
    if process is not None and not w.ended:
        w.receive()
        w.ended = True
    if w.conn is not None:
        w.conn.close()
        w.conn = None


def _report(
    on_sample: Callable[[FleetSample], None], workers: list[_Worker], census: _Census, at: float
) -> None:
    last = census.last
    sample = FleetSample(
        elapsed_s=at,
        samples=tuple(None if w.ended else w.sample for w in workers),
        alive=tuple(not w.ended for w in workers),
        server=last.server if last is not None else None,
        server_per_process=last.per_process if last is not None else (),
        pids=tuple(w.ready.pid if w.ready is not None else None for w in workers),
        opens=tuple(_open_now(w) for w in workers),
    )
    with contextlib.suppress(Exception):
        on_sample(sample)


def _full_sentences(
    merged: RunResult | None,
    outcomes: list[ProcessOutcome],
    counts: list[Census],
    server: ServerInfo | None,
    config: PoolConfig,
    workload: Workload,
) -> list[str]:
    """The "too many connections" failures, attributed to the fleet: how many, how many
    sessions the fleet had on the server at its peak, and what fits per process."""
    if merged is None or not merged.server_full:
        return []
    from pooltui.core.checks import most_connections

    size = len(outcomes)
    each = most_connections(config, workload)
    peak = max((c.server for c in counts), default=0)
    fits = server.free_per_process(size) if server is not None else None
    fix = (
        f": at most {fits} connections per process fit (maxconnections {fits})"
        if fits is not None
        else ": lower maxconnections per process, or the processes"
    )
    return [
        f"{merged.server_full} requests failed because the server had no free connection slot "
        f"(too many connections): the fleet of {size} processes can open {size} x {each} = "
        f"{size * each} connections and the server counted up to {peak} of its sessions at "
        f"once{fix}"
    ]
