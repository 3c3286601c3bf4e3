"""The pool's process: it builds the console's InstrumentedPool and runs what the console asks.

``host_main`` is what a forkserver forks for each pool the console builds (the server was
started once with this module imported, so a pool's process is ready in milliseconds, with no
lock or thread inherited from the console). Its main thread serves one call at a time
(a warm-up or a run); a listener thread reads the parent's orders, so a STOP reaches the
running call at once.

The parent owns the signals: SIGINT and SIGHUP (a terminal sends them to the whole process
group) are ignored; SIGTERM, CLOSE and the parent's end (the pipe closes when it dies, even by
SIGKILL) stop the running call through the engine's stop path and close the pool: an orphan
never keeps a connection.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import TYPE_CHECKING, Any

from pooltui.core.host.protocol import (
    CALL,
    CLOSE,
    CLOSED,
    DONE,
    EVENT,
    FAILED,
    POLL_S,
    READY,
    RUN,
    SAMPLE,
    STATE,
    STOP,
    WARM_UP,
    Channel,
    HostSpec,
    HostState,
    failure_of,
    settle_child,
)

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from pooltui.core.pool import InstrumentedPool, PoolEvent


class Orders:
    """What the parent asked for, read off the pipe by a thread of its own (a hosted job
    only ever gets STOP, and its end)."""

    def __init__(self) -> None:
        self.calls: queue.Queue[tuple[int, str, Any] | None] = queue.Queue()  # None: close
        self.stop = threading.Event()  # the running call's stop (a new call clears it)
        self.closing = threading.Event()

    def close(self) -> None:
        self.closing.set()
        self.stop.set()
        self.calls.put(None)

    def listen(self, conn: Connection) -> None:
        while True:
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError, ValueError, TypeError):  # the parent has gone
                self.close()
                return
            if kind == CALL:
                self.calls.put(payload)
            elif kind == STOP:
                self.stop.set()
            elif kind == CLOSE:
                self.close()
                return


def _state(pool: InstrumentedPool) -> HostState:
    return HostState(
        pool.snapshot(),
        frozenset(pool.server_ids()),
        frozenset(pool.opened_ids()),
        pool.unclosed,
    )


def _serve(pool: InstrumentedPool, orders: Orders, channel: Channel) -> None:
    """One call at a time until CLOSE; between calls the pool's state every POLL_S."""
    from pooltui.core.load import engine

    while not orders.closing.is_set():
        try:
            call = orders.calls.get(timeout=POLL_S)
        except queue.Empty:
            channel.send(STATE, _state(pool))  # leaks, idle timeouts: the gauges follow
            continue
        if call is None:
            return
        call_id, operation, arguments = call
        orders.stop.clear()
        if orders.closing.is_set():
            orders.stop.set()
        try:
            if operation == WARM_UP:
                outcome: Any = engine.warm_up(pool, arguments)
            elif operation == RUN:
                workload, options = arguments

                def on_sample(sample: Any, call_id: int = call_id) -> None:
                    channel.send(SAMPLE, (call_id, sample, frozenset(pool.server_ids())))

                outcome = engine.run(
                    pool, workload, stop=orders.stop, on_sample=on_sample, **options
                )
            else:
                raise ValueError(f"unknown operation {operation!r}")
        except Exception as exc:
            channel.send(STATE, _state(pool))
            channel.send(FAILED, (call_id, failure_of(exc, pool.target)))
        else:
            channel.send(STATE, _state(pool))  # before DONE: the parent reads it after
            channel.send(DONE, (call_id, outcome))


def host_main(spec: HostSpec, conn: Connection) -> None:
    """The pool's process, from its build to its close (see the module doc)."""
    orders = Orders()
    settle_child(orders.close, quiet=spec.quiet)
    channel = Channel(conn)
    threading.Thread(
        target=orders.listen, args=(conn,), daemon=True, name="pooltui-host-orders"
    ).start()
    pool = None

    def on_event(event: PoolEvent) -> None:
        channel.send(EVENT, event)

    try:
        from pooltui.core.pool import InstrumentedPool

        pool = InstrumentedPool(
            spec.target,
            spec.config,
            leak_threshold_s=spec.leak_threshold_s,
            on_event=on_event,
            tag=spec.tag,
        )
        channel.send(READY, _state(pool))
        _serve(pool, orders, channel)
    except BaseException as exc:
        channel.send(FAILED, (0, failure_of(exc, spec.target)))
    finally:
        if pool is not None:
            pool.close()
            channel.send(CLOSED, _state(pool))
        with contextlib.suppress(OSError):
            conn.close()
