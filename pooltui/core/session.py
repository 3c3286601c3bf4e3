"""A console session: the target, the one pool built for it and the history of its runs.

No textual here: the console holds one session and drives it from its screens and workers;
tests (and any other front end) use it directly. The pool lives in a process of its own
(core/host: a HostedPool), so the console's drawing never takes the GIL from a burst's threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from pooltui.core.config import PoolConfig
from pooltui.core.errors import RunFailed
from pooltui.core.history import RunHistory
from pooltui.core.host import HostedPool
from pooltui.core.pool import PoolEvent
from pooltui.core.targets import Target


class PoolSession:
    """The target and the one pool built for it; used from the UI thread and from workers.

    Building and closing may block (PooledDB opens mincached connections in its constructor,
    closing waits for a connect in progress), so only workers call ``ensure``; the UI thread
    only reads ``pool``, which is a plain attribute, and the pool's snapshot, which is the
    child's last report: neither waits.
    """

    def __init__(
        self, target: Target, leak_threshold_s: float | None, history: RunHistory | None = None
    ) -> None:
        self.target = target
        self.leak_threshold_s = leak_threshold_s
        self.history = history if history is not None else RunHistory()
        self.pool: HostedPool | None = None
        self.built_config: PoolConfig | None = None
        self._build = threading.Lock()  # held while a worker builds or replaces the pool
        self._state = threading.Lock()  # held only to swap pool/closed: never blocks the UI
        self._closed = False
        self._stop: threading.Event | None = None  # the running burst's, until it ends

    def start_run(self) -> threading.Event:
        """A new run's stop event: ``stop_runs`` (quitting, a signal) sets it."""
        self._stop = threading.Event()
        if self._closed:
            self._stop.set()
        return self._stop

    def stop_runs(self) -> None:
        """Ask the running burst to stop; safe to call at any time, from any thread."""
        stop = self._stop
        if stop is not None:
            stop.set()

    def needs_build(self, config: PoolConfig) -> bool:
        """True when a run with ``config`` must (re)build the pool first."""
        pool = self.pool
        return (
            pool is None
            or pool.closed  # its process died: the next run builds a new one
            or self.built_config != config
            or pool.target is not self.target
        )

    def ensure(
        self,
        config: PoolConfig,
        on_event: Callable[[PoolEvent], None] | None = None,
    ) -> tuple[HostedPool, bool]:
        """The pool for ``config`` (worker threads only): (pool, True) when it was (re)built."""
        with self._build:
            self._check_open()
            pool = self.pool
            if not self.needs_build(config) and pool is not None:
                return pool, False
            self.detach()
            if pool is not None:
                pool.close()
            pool = HostedPool(
                self.target, config, on_event=on_event, leak_threshold_s=self.leak_threshold_s
            )
            with self._state:
                closed = self._closed
                if not closed:
                    self.pool, self.built_config = pool, config
            if closed:  # the session closed while PooledDB opened mincached connections
                pool.close()
                self._check_open()
            return pool, True

    def _check_open(self) -> None:
        if self._closed:
            raise RunFailed("The console is closing: no new pool is built.")

    def retarget(self, target: Target) -> HostedPool | None:
        """Point the session at ``target``; the old pool is returned for the caller to close
        (in a worker: closing may block)."""
        pool = self.detach()
        self.target = target
        return pool

    def detach(self) -> HostedPool | None:
        """Forget the pool (the caller closes it, in a worker when it may block)."""
        with self._state:
            pool, self.pool, self.built_config = self.pool, None, None
        return pool

    def close(self) -> None:
        """Close the pool for good, and any pool a worker is still building; idempotent."""
        with self._state:
            self._closed = True
        self.stop_runs()
        pool = self.detach()
        if pool is not None:
            pool.close()
