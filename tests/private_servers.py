"""Private PostgreSQL and MariaDB servers for the tests that restart, stop or freeze a server.

The shared servers on 5432 / 3306 belong to everyone on this machine and are never stopped,
frozen or reconfigured; a test that needs to do that to a server gets one of these, started
once per session on a free loopback port in a temp dir, and ended (thawed first) at the end.
Teardown ends only the processes these fixtures started. Missing binaries skip the tests that
ask for them (or fail them under POOLTUI_REQUIRE_DB=1).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


def _missing(reason: str) -> None:
    if os.environ.get("POOLTUI_REQUIRE_DB") == "1":
        pytest.fail(f"{reason} (POOLTUI_REQUIRE_DB=1, so this fails instead of skipping)")
    pytest.skip(reason)


def free_port() -> int:
    """A loopback port nothing listens on now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(cmd: list[str], what: str, timeout_s: float = START_TIMEOUT_S) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr.strip()[-800:]}")


def _children(pid: int) -> list[int]:
    """The direct children of ``pid`` (PostgreSQL's backends and helpers), from /proc."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        if int(fields[1]) == pid:
            found.append(int(stat.split("/")[2]))
    return found


def _signal(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # ended already
            os.kill(pid, sig)


class PrivateServer:
    """What both kinds share: a DSN, and freeze/thaw by SIGSTOP/SIGCONT of the server."""

    dsn = ""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self._frozen: list[int] = []

    @property
    def pid(self) -> int:
        raise NotImplementedError

    def _server_pids(self) -> list[int]:
        return [self.pid]

    def freeze(self) -> None:
        """SIGSTOP the server: connections stay open, nothing answers (a hung server)."""
        self._frozen = self._server_pids()
        _signal(self._frozen, signal.SIGSTOP)

    def thaw(self) -> None:
        _signal(self._frozen, signal.SIGCONT)
        self._frozen = []

    def wait_until_answers(self, dsn: str, timeout_s: float = START_TIMEOUT_S) -> None:
        """Until a connection to ``dsn`` succeeds (bounded); RuntimeError with the log's tail
        if not."""
        from pooltui.core.targets import parse_dsn

        deadline, pause, last = time.monotonic() + timeout_s, threading.Event(), None
        while time.monotonic() < deadline:
            try:
                parse_dsn(dsn).connect(timeout_s=2.0).close()
                return
            except Exception as exc:
                last = exc
                pause.wait(0.1)
        raise RuntimeError(
            f"{dsn} did not answer within {timeout_s:g} s: {last}; log: {self.log_tail()}"
        )

    def log_tail(self) -> str:
        for name in ("server.log", "error.log"):
            path = self.root / name
            if path.exists():
                return path.read_text(errors="replace")[-800:]
        return "(no log)"


class PrivatePostgres(PrivateServer):
    """initdb (as the postgres OS user when run as root) and pg_ctl, on a free port."""

    def __init__(self, bindir: Path, root: Path) -> None:
        super().__init__(root)
        self.bindir = bindir
        self.data = root / "data"
        self.sockets = root / "sock"
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/test"
        self._prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _pg_ctl(self, *args: str, what: str) -> None:
        _run(
            [
                *self._prefix,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-w",
                "-t",
                f"{START_TIMEOUT_S:g}",
                *args,
            ],
            f"pg_ctl {what}",
        )

    def setup(self) -> None:
        self.sockets.mkdir()
        if self._prefix:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")
        _run(
            [
                *self._prefix,
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "-N",
                "--no-instructions",
            ],
            "initdb",
        )
        self.start()
        _run(
            [
                *self._prefix,
                str(self.bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "test",
            ],
            "createdb",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._pg_ctl("-l", str(self.root / "server.log"), "-o", options, "start", what="start")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop", what="stop")

    def restart(self) -> None:
        """A fast restart: sessions are ended, the postmaster is a new process."""
        self._pg_ctl("-m", "fast", "-l", str(self.root / "server.log"), "restart", what="restart")

    @property
    def pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def _server_pids(self) -> list[int]:
        # the postmaster alone keeps serving through its backends: freeze them all
        return [self.pid, *_children(self.pid)]

    def teardown(self) -> None:
        self.thaw()
        if (self.data / "postmaster.pid").exists():
            pid = self.pid
            try:
                self._pg_ctl("-m", "immediate", "stop", what="stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                _signal([pid], signal.SIGKILL)  # the postmaster we started; nothing else


class PrivateMariaDB(PrivateServer):
    """mariadb-install-db and a mariadbd of our own in the background, on a free port."""

    def __init__(self, install_db: str, mariadbd: str, root: Path) -> None:
        super().__init__(root)
        self.install_db, self.mariadbd = install_db, mariadbd
        self.data = root / "data"
        self.socket = root / "mariadb.sock"
        self.dsn = f"mysql://root@127.0.0.1:{self.port}/test"
        self._proc: subprocess.Popen[bytes] | None = None
        self._small = ["--innodb-log-file-size=8M", "--innodb-buffer-pool-size=32M"]

    def setup(self) -> None:
        _run(
            [
                self.install_db,
                "--no-defaults",
                "--user=root",
                f"--datadir={self.data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *self._small,
            ],
            "mariadb-install-db",
            timeout_s=120,
        )
        self.start()
        import pymysql

        con = pymysql.connect(unix_socket=str(self.socket), user="root")
        try:
            con.cursor().execute("CREATE DATABASE IF NOT EXISTS test")
        finally:
            con.close()

    def start(self) -> None:
        log = open(self.root / "error.log", "ab")  # noqa: SIM115 (the server keeps it)
        self._proc = subprocess.Popen(
            [
                self.mariadbd,
                "--no-defaults",
                f"--datadir={self.data}",
                f"--port={self.port}",
                f"--socket={self.socket}",
                "--bind-address=127.0.0.1",
                "--user=root",
                f"--pid-file={self.root / 'mariadb.pid'}",
                "--skip-log-bin",
                "--skip-performance-schema",
                *self._small,
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        self.wait_until_answers(f"mysql://root@127.0.0.1:{self.port}/")  # `test` may not be there

    def stop(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        self.thaw()
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def teardown(self) -> None:
        self.thaw()
        self.stop()


def _serving(server: PrivatePostgres | PrivateMariaDB) -> Iterator[Any]:
    """Set the server up, hand it over, and end it (and its temp dir) whatever happens."""
    try:
        server.setup()
        yield server
    finally:
        server.teardown()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of this session's own (``.dsn``, restart/stop/start, freeze/thaw)."""
    bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    bindir = next((Path(d) for d in bindirs if (Path(d) / "initdb").exists()), None)
    if bindir is None:
        _missing(
            "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin "
            "(apt-get install postgresql)"
        )
    yield from _serving(PrivatePostgres(bindir, Path(tempfile.mkdtemp(prefix="pooltui-pg-"))))


@pytest.fixture(scope="session")
def private_mariadb() -> Iterator[PrivateMariaDB]:
    """A MariaDB of this session's own (``.dsn``, restart/stop/start, freeze/thaw)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])
    install_db = shutil.which("mariadb-install-db", path=path)
    mariadbd = shutil.which("mariadbd", path=path)
    if not (install_db and mariadbd):
        _missing(
            "no MariaDB server binaries (mariadb-install-db, mariadbd) on PATH or in "
            "/usr/sbin (apt-get install mariadb-server)"
        )
    root = Path(tempfile.mkdtemp(prefix="pooltui-mariadb-"))
    yield from _serving(PrivateMariaDB(install_db, mariadbd, root))
