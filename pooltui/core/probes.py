"""What the server itself says: its limits, its idle killers, the pool's sessions as it sees them.

Every probe opens one short-lived untagged connection through the target's own driver (native
or ODBC), so the probe never counts itself among a pool's connections, and closes it at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from time import monotonic, sleep
from typing import Any, Protocol

from pooltui.core.drivers.base import ServerInfo
from pooltui.core.errors import PooltuiError, RunFailed, describe_db_error
from pooltui.core.targets import Target

__all__ = [
    "LeftOpen",
    "ServerInfo",
    "confirm_closed",
    "count_connections_by",
    "count_groups",
    "count_pool_connections",
    "probe_server",
    "terminate_pool_connections",
    "terminate_sessions",
]


class _PoolLike(Protocol):
    tag: str

    def server_ids(self) -> set[int]: ...


@contextmanager
def _session(target: Target, timeout_s: float | None = None) -> Iterator[Any]:
    """One untagged autocommit connection, closed whatever happens."""
    con = target.connect(timeout_s=timeout_s)
    try:
        target.driver.set_autocommit(con)
        yield con
    finally:
        with suppress(Exception):
            con.close()


def _ids(server_ids: Iterable[int]) -> str:
    """A literal id list: ints only, so it is safe to inline (pyodbc cannot bind arrays)."""
    return ", ".join(str(int(i)) for i in sorted(set(server_ids)))


def _fail(exc: Exception, target: Target) -> RunFailed:
    return RunFailed(describe_db_error(exc, target))


def probe_server(target: Target) -> ServerInfo:
    """Read the server's limits with one short-lived connection (CannotConnect if it fails)."""
    with _session(target) as con:
        try:
            return target.driver.probe(target, con)
        except Exception as exc:
            raise _fail(exc, target) from exc


def count_connections_by(target: Target, tag: str | None, server_ids: set[int]) -> int:
    """The server's own count of the given sessions: PostgreSQL by application_name ``tag`` or
    backend pid, MySQL by thread id (its program_name is only visible with performance_schema).
    The probe's own connection is never counted; SQLite and unknown backends give 0."""
    if not target.dialect.counts_sessions:
        return 0
    with _session(target) as con:
        return _count_on(con, target, tag, server_ids)


def count_groups(
    target: Target, groups: Sequence[tuple[str | None, set[int]]], *, timeout_s: float = 2.0
) -> list[int]:
    """The server's count of each group of sessions (a fleet's processes: each one's tag and
    ids), all asked over one short-lived connection so W processes cost one connect."""
    if not target.dialect.counts_sessions:
        return [0] * len(groups)
    with _session(target, timeout_s=timeout_s) as con:
        return [_count_on(con, target, tag, ids) for tag, ids in groups]


def _count_on(con: Any, target: Target, tag: str | None, server_ids: set[int]) -> int:
    try:
        return target.driver.count_sessions(target, con, tag, _ids(server_ids))
    except Exception as exc:
        raise _fail(exc, target) from exc


def terminate_sessions(target: Target, server_ids: set[int], *, tag: str | None = None) -> int:
    """Kill the given server sessions (and, on PostgreSQL, every session tagged ``tag``) as the
    server would on a restart or an idle kill; returns how many the server agreed to end."""
    with _session(target) as con:
        return _terminate_on(con, target, server_ids, tag)


def _terminate_on(con: Any, target: Target, server_ids: set[int], tag: str | None) -> int:
    try:
        return target.driver.terminate_sessions(target, con, tag, set(server_ids))
    except Exception as exc:
        raise _fail(exc, target) from exc


def count_pool_connections(target: Target, pool: _PoolLike) -> int:
    """The server's count of ``pool``'s connections (any object with .tag and .server_ids())."""
    return count_connections_by(target, pool.tag, pool.server_ids())


def terminate_pool_connections(target: Target, pool: _PoolLike) -> int:
    """Kill ``pool``'s connections on the server: the "server kills connections" drill."""
    return terminate_sessions(target, pool.server_ids(), tag=pool.tag)


@dataclass(frozen=True)
class LeftOpen:
    """What the server still has of a closed pool: ``verified`` False when it could not be
    asked (it did not answer, or the backend cannot say)."""

    sessions: int
    verified: bool
    ended: int = 0  # sessions pooltui had to end itself (pg_terminate_backend / KILL)
    server: bool = True  # False: an embedded database (SQLite), where the pool's count is all

    def sentence(self) -> str:
        if not self.server:
            return (
                "every connection was closed"
                if not self.sessions
                else f"{self.sessions} connections could not be closed"
            )
        if not self.verified:
            return (
                "the pool's connections were closed, but the server could not confirm it "
                "(it did not answer): check it for sessions named pooltui-*"
            )
        if self.sessions:
            return (
                f"{self.sessions} of pooltui's sessions are still open on the server: end "
                "them with pg_terminate_backend / KILL (they are named pooltui-*)"
            )
        extra = f" ({self.ended} ended by pooltui)" if self.ended else ""
        return f"every connection was closed: the server counts none of pooltui's sessions{extra}"

    def as_dict(self) -> dict[str, Any]:
        return {"sessions_left": self.sessions, "verified": self.verified, "ended": self.ended}


class _ClosedPool(Protocol):
    tag: str

    @property
    def unclosed(self) -> int: ...

    def opened_ids(self) -> set[int]: ...


def confirm_closed(target: Target, pool: _ClosedPool, *, timeout_s: float = 2.0) -> LeftOpen:
    """After ``pool.close()``: ask the server (not the pool) how many of the pool's sessions it
    still has, end those, and ask again until none is left or ``timeout_s`` passes. A frozen or
    gone server makes it give up within the timeout instead of hanging the exit."""
    if not target.dialect.counts_sessions:  # an embedded database has nothing left to ask
        embedded = not target.driver.has_server
        return LeftOpen(pool.unclosed, verified=embedded, server=not embedded)
    ids, deadline, ended = pool.opened_ids(), monotonic() + timeout_s, 0
    try:
        left = _count_within(target, pool.tag, ids, timeout_s)
        if left:
            ended = _terminate_within(target, pool.tag, ids, timeout_s)
        while left and monotonic() < deadline:
            sleep(0.1)  # pg_terminate_backend lands asynchronously
            left = _count_within(target, pool.tag, ids, deadline - monotonic())
    except PooltuiError:
        return LeftOpen(pool.unclosed, verified=False)
    return LeftOpen(left, verified=True, ended=ended)


def _count_within(target: Target, tag: str, ids: set[int], timeout_s: float) -> int:
    with _session(target, timeout_s=max(1.0, timeout_s)) as con:
        return _count_on(con, target, tag, ids)


def _terminate_within(target: Target, tag: str, ids: set[int], timeout_s: float) -> int:
    with _session(target, timeout_s=max(1.0, timeout_s)) as con:
        return _terminate_on(con, target, ids, tag)
