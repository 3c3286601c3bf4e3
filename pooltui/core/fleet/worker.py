"""One process of a fleet: its own pool, its own threads, its figures sent to the parent.

``worker_main`` is what the parent starts with multiprocessing's ``spawn`` context (a fresh
interpreter: no pool, lock or thread inherited from the parent, as a gunicorn or Celery worker
builds its own). It builds an InstrumentedPool from the same configuration with the tag the
parent chose, reports it ready (its open connections and their server ids), waits for ``go``
so every process starts at once, runs ``engine.run`` and sends each sample and the result, and
closes its pool whatever happens.

The parent owns the signals: SIGINT and SIGHUP (which a terminal sends to the whole process
group) are ignored here, SIGTERM sets the run's stop, and so does the parent's ``stop`` or its
end (the pipe closes when the parent dies, even by SIGKILL): an orphan never keeps running.
Every message is a ``(kind, payload)`` pair of picklable values.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pooltui.core.host.protocol import Channel, failure_sentence, settle_child

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from pooltui.core.config import PoolConfig, Workload
    from pooltui.core.load.results import Sample
    from pooltui.core.targets import Target

# messages: parent -> worker
GO, STOP = "go", "stop"
# messages: worker -> parent
READY, SAMPLE, DONE, FAILED, CLOSED = "ready", "sample", "done", "failed", "closed"


@dataclass(frozen=True)
class WorkerSpec:
    """What one process of the fleet runs (pickled into the spawned interpreter)."""

    index: int
    target: Target
    config: PoolConfig
    workload: Workload
    tag: str  # the pool's session tag (application_name / program_name) on the server
    warmup: bool = False
    leak_threshold_s: float | None = None
    sample_interval_s: float = 0.25
    seed: int | None = None
    server_version: str | None = None
    quiet: bool = False  # the process's stdout and stderr go to /dev/null (under the console)
    warmup_connections: int | None = None  # with warmup: how many to open (None: mincached)
    # an unmeasured run of the workload this long before ready (0: none): a new session's
    # first statements pay what the measured ones must not (catalog and plan caches)
    warmup_run_s: float = 0.0


@dataclass(frozen=True)
class Ready:
    """The pool is built (and warmed up if asked): what it holds on the server now."""

    pid: int
    open: int
    ids: frozenset[int]
    warmup: Any = None  # WarmupResult | None
    warmup_run: Any = None  # RunResult | None: the unmeasured run's


@dataclass(frozen=True)
class Progress:
    """One engine sample, with the server ids opened since the last one (the parent needs
    them to count and end this process's sessions on MySQL, which counts by id only)."""

    sample: Sample
    new_ids: frozenset[int]


@dataclass(frozen=True)
class Closed:
    """The pool is closed: every id it ever opened, and what it could not close."""

    ids: frozenset[int]
    unclosed: int


def _listen(conn: Connection, go: threading.Event, stop: threading.Event) -> None:
    """The parent's orders: ``go``, ``stop``; its end (EOF) is a stop."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            stop.set()
            go.set()
            return
        if message == GO:
            go.set()
        elif message == STOP:
            stop.set()
            go.set()


def worker_main(spec: WorkerSpec, conn: Connection) -> None:
    """The spawned process's whole life (see the module doc)."""
    go, stop = threading.Event(), threading.Event()
    settle_child(stop.set, quiet=spec.quiet)
    channel = Channel(conn)
    threading.Thread(
        target=_listen, args=(conn, go, stop), daemon=True, name="pooltui-fleet-orders"
    ).start()
    pool = None
    try:
        from pooltui.core.config import SessionGuards
        from pooltui.core.load import engine
        from pooltui.core.pool import InstrumentedPool

        pool = InstrumentedPool(
            spec.target,
            spec.config,
            leak_threshold_s=spec.leak_threshold_s,
            tag=spec.tag,
            guards=SessionGuards.of(spec.workload),
        )
        warmup = engine.warm_up(pool, spec.warmup_connections) if spec.warmup else None
        warmup_run = None
        if spec.warmup_run_s > 0:
            workload = spec.workload
            warmup_run = engine.run(
                pool,
                replace(
                    workload, duration_s=min(spec.warmup_run_s, workload.duration_s), requests=0
                ),
                stop=stop,
                server_version=spec.server_version,
            )
        sent = pool.opened_ids()
        open_now = pool.snapshot(timings=False).open
        channel.send(READY, Ready(os.getpid(), open_now, frozenset(sent), warmup, warmup_run))
        go.wait()
        if warmup_run is not None and warmup_run.fatal_error:
            # what ended the unmeasured run ends the measured one the same way (a refused
            # session setting, a query the server rejects): the error, not a second run of it
            channel.send(FAILED, warmup_run.fatal_error)
            return
        built = pool

        def on_sample(sample: Sample) -> None:
            ids = built.opened_ids()
            new = ids - sent
            sent.update(new)
            channel.send(SAMPLE, Progress(sample, frozenset(new)))

        result = engine.run(
            pool,
            spec.workload,
            stop=stop,
            on_sample=on_sample,
            sample_interval_s=spec.sample_interval_s,
            server_version=spec.server_version,
            seed=spec.seed,
        )
        channel.send(DONE, result)
    except BaseException as exc:
        channel.send(FAILED, failure_sentence(exc, spec.target))
    finally:
        if pool is not None:
            pool.close()
            channel.send(CLOSED, Closed(frozenset(pool.opened_ids()), pool.unclosed))
        with contextlib.suppress(OSError):
            conn.close()
