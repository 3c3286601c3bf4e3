"""A loopback TCP proxy that breaks the network between a pool and its server on command.

The fault drills (drill.py) point a pool at this proxy instead of the server, then inject the
faults a real deployment meets: added latency, a frozen (half-open) server, connections reset,
a server that is down, a middlebox that kills idle connections. The shared servers are never
touched: every fault happens here, in plain asyncio (no dependency), on an event loop that runs
in a daemon thread of its own, so the engine's worker threads and the drill's timer thread can
call the controls from anywhere. Each control returns once it is in force.

Only loopback addresses are accepted, to listen on and to forward to: a fault drill breaks
connections on this machine only, never someone else's server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import random
import socket
import struct
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from pooltui.core.errors import BadInput, RunFailed

CHUNK = 65536  # bytes read at once from either side
QUEUE_CHUNKS = 256  # chunks delayed per direction before reading waits
UPSTREAM_CONNECT_S = 5.0  # how long a connect to the server may take
CONTROL_TIMEOUT_S = 5.0  # how long a control call waits for the loop to apply it
CLOSE_TIMEOUT_S = 5.0  # close(): the shutdown and the thread join, each
IDLE_CHECK_MAX_S = 0.1  # the idle killer looks at least this often
_RST = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST instead of FIN

T = TypeVar("T")


def loopback_address(host: str, what: str = "address") -> str:
    """The numeric loopback address ``host`` names (a literal IP or ``localhost``); BadInput
    for anything else, without asking DNS: drills break connections on this machine only."""
    if not host or host.startswith("/"):
        shown = "the local socket" if host else "no host (the driver's local socket)"
        raise BadInput(
            f"The {what} is {shown}, but a fault drill needs TCP: write the host "
            "as 127.0.0.1 in the DSN."
        )
    literal = host.strip("[]")
    try:
        candidates = [str(ipaddress.ip_address(literal.split("%")[0]))]
    except ValueError:
        if literal.lower() != "localhost":
            raise BadInput(
                f"The {what} {host!r} is not a loopback address: fault drills only "
                "break connections on this machine (127.0.0.1, ::1 or localhost)."
            ) from None
        try:
            infos = socket.getaddrinfo("localhost", None, type=socket.SOCK_STREAM)
        except OSError:
            infos = []
        candidates = sorted({str(info[4][0]) for info in infos}, key=lambda a: ":" in a)
    loopbacks = [a for a in candidates if ipaddress.ip_address(a).is_loopback]
    if not loopbacks or len(loopbacks) != len(candidates):
        raise BadInput(
            f"The {what} {host!r} is not a loopback address: fault drills only "
            "break connections on this machine (127.0.0.1, ::1 or localhost)."
        )
    return loopbacks[0]


@dataclass(frozen=True)
class ProxyCounters:
    """What the proxy did since it started."""

    accepted: int = 0  # connections the pool made to the proxy
    open: int = 0  # connections being forwarded now
    reset: int = 0  # reset by reset_all() / down() (RST to both sides)
    refused: int = 0  # new connections reset at once while refusing (server down)
    idle_killed: int = 0  # closed by the idle killer
    upstream_failed: int = 0  # the server itself did not accept the forwarded connection
    bytes_up: int = 0  # forwarded pool -> server
    bytes_down: int = 0  # forwarded server -> pool

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _abort(writer: asyncio.StreamWriter | None, *, rst: bool) -> None:
    """End one side at once: RST (SO_LINGER 0, then close) or a plain close (FIN)."""
    if writer is None:
        return
    if rst:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RST)
        writer.transport.abort()
    else:
        writer.close()


class _Link:
    """One forwarded connection: the pool's side, the server's side, when bytes last moved."""

    __slots__ = ("client", "ended", "last_active", "task", "upstream")

    def __init__(self, client: asyncio.StreamWriter, now: float) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.last_active = now
        self.task: asyncio.Task[Any] | None = asyncio.current_task()
        self.ended = False

    def end(self, *, rst: bool) -> bool:
        """Close both sides (RST or FIN) and stop forwarding; False when it had ended already."""
        if self.ended:
            return False
        self.ended = True
        _abort(self.client, rst=rst)
        _abort(self.upstream, rst=rst)
        task = self.task
        if task is not None and task is not asyncio.current_task():
            task.cancel()  # a pipe may be parked on a freeze: it would never see the close
        return True


class FaultProxy:
    """``pool -> FaultProxy(listen) -> server(upstream)``, with faults on command.

    Thread-safe controls: set_latency, freeze/thaw, reset_all, refuse_new/accept_new, down,
    idle_kill, heal. A context manager: ``with FaultProxy(host, port) as proxy:`` starts it and
    closes it (every connection, the loop, the thread) at the end.
    """

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        seed: int | None = None,
    ) -> None:
        self.upstream = (loopback_address(upstream_host, "server address"), int(upstream_port))
        self._listen = (loopback_address(listen_host, "listen address"), int(listen_port))
        self._rng = random.Random(seed)
        self._latency_s = self._jitter_s = 0.0
        self._refusing = False
        self._frozen = False
        self._idle_s: float | None = None
        self._counts = dict.fromkeys(
            (
                "accepted",
                "reset",
                "refused",
                "idle_killed",
                "upstream_failed",
                "bytes_up",
                "bytes_down",
            ),
            0,
        )
        self._links: set[_Link] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._idle_task: asyncio.Task[None] | None = None
        self._accept_again: asyncio.TimerHandle | None = None
        self._address: tuple[str, int] | None = None
        self._closed = False

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> tuple[str, int]:
        """Listen (port 0 = a free port) and forward; the (host, port) the pool should use."""
        if self._address is not None:
            return self._address
        if self._closed:
            raise RunFailed("The fault proxy was closed: build a new one.")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(ready, failure), daemon=True, name="pooltui-fault-proxy"
        )
        self._thread.start()
        if not ready.wait(CONTROL_TIMEOUT_S) or failure:
            self.close()
            why = f" ({failure[0]})" if failure else ""
            raise RunFailed(
                f"The fault proxy could not listen on {self._listen[0]}:"
                f"{self._listen[1]}{why}: choose another port."
            )
        assert self._address is not None
        return self._address

    @property
    def address(self) -> tuple[str, int]:
        """Where the proxy listens (RunFailed before start())."""
        if self._address is None:
            raise RunFailed("The fault proxy is not running: call start() first.")
        return self._address

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        """The proxy's thread: its own event loop, until close() stops it."""
        loop = asyncio.new_event_loop()
        try:
            self._flowing = asyncio.Event()
            self._flowing.set()
            host, port = self._listen
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, host, port, reuse_address=True)
            )
            self._address = tuple(self._server.sockets[0].getsockname()[:2])
            self._loop = loop
        except BaseException as exc:  # reported by start(), in the caller's thread
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            with suppress(Exception):
                loop.run_until_complete(self._shutdown())
            loop.close()

    async def _shutdown(self) -> None:
        """Stop listening, RST every connection, cancel what is left (in the loop)."""
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.end(rst=True)
        for task in (self._idle_task,):
            if task is not None:
                task.cancel()
        me = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not me]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=CLOSE_TIMEOUT_S)

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """End every connection, the loop and its thread, each wait bounded; idempotent."""
        self._closed = True
        loop, thread = self._loop, self._thread
        self._address = None
        if loop is not None and not loop.is_closed():
            with suppress(Exception):  # the loop may be stopping on its own already
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout_s)
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
        self._loop = None

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in the proxy's loop and return its result: a control is in force when
        the call returns."""
        loop = self._loop
        if loop is None or self._closed:
            raise RunFailed("The fault proxy is not running: call start() first.")
        if self._thread is threading.current_thread():
            return fn()
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:
                done.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return done.result(CONTROL_TIMEOUT_S)

    # --- controls (any thread) -------------------------------------------------------------

    def set_latency(self, latency_ms: float, jitter_ms: float = 0.0) -> None:
        """Delay every chunk, in each direction, by ``latency_ms`` ± ``jitter_ms`` (order kept,
        so a round trip gains about twice the latency); 0 turns it off."""
        if not (latency_ms >= 0 and jitter_ms >= 0):
            raise BadInput(
                f"The latency ({latency_ms} ms) and jitter ({jitter_ms} ms) must be 0 or more."
            )
        self._latency_s, self._jitter_s = latency_ms / 1000.0, jitter_ms / 1000.0

    def freeze(self) -> None:
        """Stop forwarding bytes both ways, sockets left open: a hung, half-open server. New
        connections are accepted but carry nothing either."""

        def apply() -> None:
            self._frozen = True
            assert self._flowing is not None
            self._flowing.clear()

        self._call(apply)

    def thaw(self) -> None:
        """Forward again whatever waited during the freeze."""

        def apply() -> None:
            self._frozen = False
            assert self._flowing is not None
            self._flowing.set()

        self._call(apply)

    @property
    def frozen(self) -> bool:
        return self._frozen

    def reset_all(self) -> int:
        """RST every current connection, both sides (the server's session ends at once);
        how many were reset."""

        def apply() -> int:
            count = sum(self._end(link, rst=True) for link in list(self._links))
            self._counts["reset"] += count
            return count

        return self._call(apply)

    def refuse_new(self, seconds: float | None = None) -> None:
        """Reset every new connection at once, for ``seconds`` (None: until accept_new())."""
        if seconds is not None and not seconds > 0:
            raise BadInput(f"Refusing for {seconds} s makes no sense: give more than 0 s.")

        def apply() -> None:
            self._refusing = True
            if self._accept_again is not None:
                self._accept_again.cancel()
                self._accept_again = None
            if seconds is not None:
                assert self._loop is not None
                self._accept_again = self._loop.call_later(seconds, self._stop_refusing)

        self._call(apply)

    def accept_new(self) -> None:
        """Forward new connections again."""
        self._call(self._stop_refusing)

    def _stop_refusing(self) -> None:
        self._refusing = False
        if self._accept_again is not None:
            self._accept_again.cancel()
            self._accept_again = None

    @property
    def refusing(self) -> bool:
        return self._refusing

    def down(self, seconds: float | None = None) -> int:
        """The server goes down: refuse new connections (for ``seconds``) and reset the open
        ones; how many were reset."""
        self.refuse_new(seconds)
        return self.reset_all()

    def idle_kill(self, seconds: float | None) -> None:
        """Close (FIN) every connection that carried no byte for ``seconds``, as a NAT or
        firewall idle timer or MySQL's wait_timeout does; None or 0 turns it off."""
        if seconds is not None and seconds < 0:
            raise BadInput(f"The idle kill after {seconds} s makes no sense: give 0 s or more.")

        def apply() -> None:
            self._idle_s = seconds or None
            if self._idle_task is not None:
                self._idle_task.cancel()
                self._idle_task = None
            if self._idle_s is not None:
                self._idle_task = asyncio.ensure_future(self._idle_killer(self._idle_s))

        self._call(apply)

    def heal(self) -> None:
        """Every fault off: no latency, thawed, accepting, no idle killer."""
        self.set_latency(0.0)
        self.idle_kill(None)
        self.accept_new()
        self.thaw()

    def counters(self) -> ProxyCounters:
        """The counters now (plain reads: each is exact, the set may be a moment apart)."""
        return ProxyCounters(open=len(self._links), **self._counts)

    # --- the loop's side -------------------------------------------------------------------

    def _end(self, link: _Link, *, rst: bool) -> bool:
        """End a link and stop counting it as open now (its task finishes a moment later)."""
        self._links.discard(link)
        return link.end(rst=rst)

    def _delay_s(self) -> float:
        if not (self._latency_s or self._jitter_s):
            return 0.0
        return max(0.0, self._latency_s + self._rng.uniform(-self._jitter_s, self._jitter_s))

    async def _idle_killer(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        period = min(IDLE_CHECK_MAX_S, seconds / 4) or IDLE_CHECK_MAX_S
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            for link in list(self._links):
                if (
                    link.upstream is not None
                    and now - link.last_active >= seconds
                    and self._end(link, rst=False)
                ):
                    self._counts["idle_killed"] += 1

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection from the pool: refuse it, or connect to the server and forward."""
        loop = asyncio.get_running_loop()
        self._counts["accepted"] += 1
        if self._refusing:
            self._counts["refused"] += 1
            _abort(writer, rst=True)
            return
        link = _Link(writer, loop.time())
        self._links.add(link)
        try:
            try:
                up_reader, up_writer = await asyncio.wait_for(
                    asyncio.open_connection(*self.upstream), UPSTREAM_CONNECT_S
                )
            except (TimeoutError, OSError):
                self._counts["upstream_failed"] += 1
                link.end(rst=True)
                return
            link.upstream = up_writer
            if link.ended:  # reset while connecting
                _abort(up_writer, rst=True)
                return
            await asyncio.gather(
                self._pipe(link, reader, up_writer, "bytes_up"),
                self._pipe(link, up_reader, writer, "bytes_down"),
            )
        except (asyncio.CancelledError, Exception):
            pass  # ended by a control or by close(); both sides are closed below
        finally:
            self._links.discard(link)
            link.end(rst=False)

    async def _pipe(
        self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counter: str
    ) -> None:
        """Forward one direction, each chunk delayed by the latency in force when it was read;
        the end of either direction ends the link (database protocols never half-close)."""
        loop = asyncio.get_running_loop()
        flowing = self._flowing
        assert flowing is not None
        chunks: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(QUEUE_CHUNKS)

        async def read_side() -> None:
            last_due = 0.0
            try:
                while True:
                    await flowing.wait()
                    data = await reader.read(CHUNK)
                    if not data:
                        break
                    now = loop.time()
                    link.last_active = now
                    last_due = max(now + self._delay_s(), last_due)
                    await chunks.put((last_due, data))
            except (OSError, asyncio.IncompleteReadError):
                pass
            await chunks.put(None)

        reading = asyncio.ensure_future(read_side())
        try:
            while (item := await chunks.get()) is not None:
                due, data = item
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
                await flowing.wait()
                writer.write(data)
                await writer.drain()
                link.last_active = loop.time()
                self._counts[counter] += len(data)
        except OSError:
            pass
        finally:
            reading.cancel()
        link.end(rst=False)
