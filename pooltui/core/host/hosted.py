"""The console's side of a pool that lives in a process of its own (see the package doc).

``HostedPool`` is built, warmed up, run and closed by the console's workers (each call blocks
its worker until the child answers); the UI thread only reads ``snapshot``, ``server_ids`` and
the rest, which return what the child last reported and never wait for it. A reader thread
takes the child's messages: the state it caches, pool events and run samples it hands to their
callbacks, and each call's answer.

If the child dies (killed, crashed), the call in progress fails with a sentence saying so,
its sessions are ended on the server by its tag and ids, and the pool counts as closed: the
session builds a new one for the next run.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pooltui.core.config import validate
from pooltui.core.drivers import BUILT_IN
from pooltui.core.errors import RunFailed
from pooltui.core.host.child import host_main
from pooltui.core.host.protocol import (
    CALL,
    CLOSE,
    CLOSED,
    DONE,
    EVENT,
    FAILED,
    READY,
    RUN,
    SAMPLE,
    STATE,
    STOP,
    WARM_UP,
    Channel,
    Failure,
    HostSpec,
    HostState,
    death_sentence,
    raised,
)
from pooltui.core.pool.instrumented import new_tag
from pooltui.core.pool.stats import PoolStats

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from pooltui.core.config import PoolConfig, Workload
    from pooltui.core.load.results import RunResult, Sample, WarmupResult
    from pooltui.core.pool import PoolEvent
    from pooltui.core.targets import Target

# building opens mincached connections: each may take the driver's connect timeout
BUILD_TIMEOUT_S = 120.0
# the child's close is bounded (InstrumentedPool.close: twice CLOSE_WAIT_S); then it is ended
CLOSE_TIMEOUT_S = 15.0
STOP_POLL_S = 0.05  # how soon a caller's own stop event reaches the child
FORKSERVER = multiprocessing.get_context("forkserver")
# The forkserver imports these once and each pool's process is a fork of it. A forked child
# still runs the parent's main script (as __mp_main__: multiprocessing's rule), and the
# ``pooltui`` script imports pooltui.cli: preloaded, that costs nothing (100 ms otherwise).
# The DB-API modules too: psycopg alone takes ~100 ms to import, which every pool's build paid.
# One that is not installed is skipped (the forkserver ignores an ImportError in its preload).
PRELOAD = [
    "pooltui.core.host.child",
    "pooltui.core.load.engine",
    "pooltui.cli",
    *(driver.module_name for driver in BUILT_IN),
]
FORKSERVER.set_forkserver_preload(PRELOAD)


def start_pool_host() -> None:
    """Start the forkserver now (it returns at once; the server imports PRELOAD on its own):
    the console calls this before Textual takes the terminal, so its first pool does not wait
    for those imports (0.3 to 0.8 s)."""
    from multiprocessing import forkserver

    with real_stdio():
        forkserver.ensure_running()


def preload_also(*modules: str) -> None:
    """Have the forkserver import ``modules`` too (before the first pool is built): a front end
    whose main script imports more (pytest's does) keeps its pools' start fast."""
    FORKSERVER.set_forkserver_preload([*PRELOAD, *modules])


class _Call:
    """One call waiting for the child's answer."""

    def __init__(self, on_sample: Callable[[Sample], None] | None = None) -> None:
        self.on_sample = on_sample
        self.answered = threading.Event()
        self.outcome: Any = None
        self.failure: Failure | None = None


class HostedPool:
    """An InstrumentedPool in a child process, with the surface the console uses.

    The constructor blocks until the child has built the pool (PooledDB opens mincached
    connections then) and raises what the build raised: BadInput for a configuration the
    driver refuses (checked here first, as InstrumentedPool does), CannotConnect for a server
    that does not answer, RunFailed for the rest.
    """

    def __init__(
        self,
        target: Target,
        config: PoolConfig,
        *,
        leak_threshold_s: float | None = None,
        on_event: Callable[[PoolEvent], None] | None = None,
    ) -> None:
        self.target = target
        self.config = config
        self.validation = validate(config, target.facts).require_ok()
        self.leak_threshold_s = leak_threshold_s
        self.on_event = on_event
        self.tag = new_tag(target)
        self._state = HostState(_limits(self.validation.effective), frozenset(), frozenset())
        self._calls: dict[int, _Call] = {}
        self._ids = itertools.count(1)
        self._mutex = threading.Lock()
        self._closed = False
        self._gone = threading.Event()  # the child's pipe ended: it closed its pool or died
        self._clean = False  # the child said CLOSED: its pool closed before it ended
        build = _Call()
        self._calls[0] = build
        parent_end, child_end = FORKSERVER.Pipe()
        spec = HostSpec(target, config, self.tag, leak_threshold_s)
        self._process: BaseProcess = FORKSERVER.Process(
            target=host_main, args=(spec, child_end), daemon=True, name="pooltui-pool-host"
        )
        with real_stdio():
            self._process.start()
        child_end.close()
        self._channel = Channel(parent_end)
        threading.Thread(
            target=self._read, args=(parent_end,), daemon=True, name="pooltui-host-reader"
        ).start()
        if not build.answered.wait(BUILD_TIMEOUT_S):
            self.close()
            raise RunFailed(
                f"The pool's process did not build the pool within {BUILD_TIMEOUT_S:g} s: "
                "check that the server answers."
            )
        if build.failure is not None:
            self.close()
            raise raised(build.failure)

    # --- what the UI thread reads: the child's last report, never a wait -------------------

    def snapshot(self, *, timings: bool = True) -> PoolStats:
        """The pool's gauges, counters and timings as the child last reported them (every
        run sample, every call's end and every POLL_S between calls)."""
        return self._state.stats

    def server_ids(self) -> set[int]:
        return set(self._state.server_ids)

    def opened_ids(self) -> set[int]:
        return set(self._state.opened_ids)

    @property
    def unclosed(self) -> int:
        return self._state.unclosed

    @property
    def closed(self) -> bool:
        """Closed, or its process has gone: the session must build a new pool."""
        return self._closed or self._gone.is_set()

    # --- what the workers call: each blocks until the child answers ------------------------

    def warm_up(self, count: int | None = None) -> WarmupResult:
        """``engine.warm_up`` on the child's pool."""
        result: WarmupResult = self._call(WARM_UP, count)
        return result

    def run(
        self,
        workload: Workload,
        *,
        stop: threading.Event | None = None,
        on_sample: Callable[[Sample], None] | None = None,
        sample_interval_s: float = 0.25,
        server_version: str | None = None,
        seed: int | None = None,
    ) -> RunResult:
        """``engine.run`` on the child's pool: ``stop`` reaches it within STOP_POLL_S, and
        ``on_sample`` is called from the reader thread."""
        options = {
            "sample_interval_s": sample_interval_s,
            "server_version": server_version,
            "seed": seed,
        }
        result: RunResult = self._call(RUN, (workload, options), stop=stop, on_sample=on_sample)
        return result

    def _call(
        self,
        operation: str,
        arguments: Any,
        *,
        stop: threading.Event | None = None,
        on_sample: Callable[[Sample], None] | None = None,
    ) -> Any:
        call = _Call(on_sample)
        with self._mutex:
            if self.closed:
                raise RunFailed("The pool is closed: build a new one to open connections again.")
            call_id = next(self._ids)
            self._calls[call_id] = call
        self._channel.send(CALL, (call_id, operation, arguments))
        stop_sent = False
        while not call.answered.wait(STOP_POLL_S):
            if stop is not None and stop.is_set() and not stop_sent:
                stop_sent = self._channel.send(STOP)
        if call.failure is not None:
            raise raised(call.failure)
        return call.outcome

    def stop(self) -> None:
        """Stop the running call now (any thread)."""
        self._channel.send(STOP)

    # --- the child's messages ---------------------------------------------------------------

    def _read(self, conn: Any) -> None:
        while True:
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError, ValueError, TypeError):
                break
            if kind == STATE:
                self._state = payload
            elif kind == READY:
                self._state = payload
                self._answer(0, None, None)
            elif kind == SAMPLE:
                call_id, sample, server_ids = payload
                self._state = HostState(
                    sample.stats, server_ids, self._state.opened_ids | server_ids
                )
                call = self._calls.get(call_id)
                if call is not None and call.on_sample is not None:
                    with contextlib.suppress(Exception):  # the front end's problem, not the run's
                        call.on_sample(sample)
            elif kind == EVENT:
                if self.on_event is not None:
                    with contextlib.suppress(Exception):
                        self.on_event(payload)
            elif kind in (DONE, FAILED):
                call_id, outcome = payload
                self._answer(call_id, outcome if kind == DONE else None, _or_none(kind, outcome))
            elif kind == CLOSED:
                self._state = payload
                self._clean = True
        with contextlib.suppress(OSError):
            conn.close()
        with self._mutex:
            waiting = list(self._calls)
        if not self._clean:  # it died: the kernel closed its connections with it
            self._state = HostState(
                _limits(self.validation.effective), frozenset(), self._state.opened_ids
            )
        if waiting:  # it died under a call: say how (the join reaps it; close has not yet)
            died = Failure(self._death(), "run_failed")
            for call_id in waiting:
                self._answer(call_id, None, died)
        self._gone.set()

    def _answer(self, call_id: int, outcome: Any, failure: Failure | None) -> None:
        with self._mutex:
            call = self._calls.pop(call_id, None)
        if call is not None:
            call.outcome, call.failure = outcome, failure
            call.answered.set()

    def _death(self) -> str:
        """Why the child's pipe ended before it answered."""
        return death_sentence(self._process, "The pool's process")

    # --- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the child's pool and end the child; bounded and idempotent. A child that
        does not end is terminated, then killed, and its sessions ended on the server."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
        self._channel.send(CLOSE)
        clean = self._gone.wait(CLOSE_TIMEOUT_S) and self._clean
        self._process.join(CLOSE_TIMEOUT_S if clean else 1.0)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(2.0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(2.0)
        with contextlib.suppress(OSError, ValueError):
            self._channel.conn.close()
        if not clean:
            self._end_sessions()

    def _end_sessions(self) -> None:
        """What a child that died or hung may have left on the server: ended by its tag and
        its session ids (best effort: the server may be the reason it died)."""
        if not self.target.dialect.counts_sessions:
            return
        from pooltui.core.probes import terminate_sessions

        with contextlib.suppress(Exception):
            terminate_sessions(self.target, set(self._state.opened_ids), tag=self.tag)

    @property
    def pid(self) -> int | None:
        """The child's process id (tests and the bench look at it)."""
        return self._process.pid

    def __repr__(self) -> str:
        return f"HostedPool({self.target.redacted!r}, tag={self.tag!r}, pid={self.pid})"


@contextmanager
def real_stdio() -> Iterator[None]:
    """Starting a process passes the parent's stderr to multiprocessing's resource tracker by
    its file descriptor: a front end that replaced sys.stderr (Textual captures it: fileno() is
    -1) would make the start fail ("bad value(s) in fds_to_keep"), so the real streams stand in
    while a process starts (the fleet's spawns, a pool's fork)."""
    saved = sys.stdout, sys.stderr
    try:
        real = all(stream.fileno() >= 0 for stream in saved)
    except (AttributeError, OSError, ValueError):
        real = False
    if not real and sys.__stdout__ is not None and sys.__stderr__ is not None:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _or_none(kind: str, outcome: Any) -> Failure | None:
    return outcome if kind == FAILED else None


def _limits(effective: PoolConfig) -> PoolStats:
    """What the gauges show before the child's first report: the configured limits."""
    return PoolStats(
        maxconnections=effective.maxconnections,
        maxcached=effective.maxcached,
        maxshared=effective.maxshared,
    )
