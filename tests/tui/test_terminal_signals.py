"""The console in a real terminal (a pty), ended by a signal mid-burst: it closes every
connection, exits 128 + the signal, and ends even when its terminal has hung up.

A console whose tmux session was killed was seen still running an hour later, blocked in
Textual's terminal restore writes after it had closed its connections; and its exit code was
0 whatever the signal (``App.exit``'s first argument is the result, not the code).
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import psycopg
import pytest

DEADLINE_S = 30.0


def sessions(con: psycopg.Connection, count: str) -> int:
    row = con.execute(count).fetchone()
    assert row is not None
    return int(row[0])


def group_members(pgid: int) -> set[int]:
    """Live processes of a process group: the console and what it started (its pool's
    forkserver and pool process inherit its group)."""
    members = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.add(int(entry.name))
    return members


def _drain(master: int, seconds: float) -> None:
    """Read what the console drew for up to ``seconds`` (a full pty would block its writes)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        readable, _, _ = select.select([master], [], [], 0.05)
        if readable:
            try:
                os.read(master, 65536)
            except OSError:
                return


@pytest.mark.parametrize("hang_up", [False, True], ids=["terminal-open", "terminal-gone"])
@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
def test_a_signal_mid_burst_closes_everything_and_exits_with_its_code(
    signum: int, hang_up: bool, pg_dsn: str, tmp_path: Path
) -> None:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", POOLTUI_DATA_DIR=str(tmp_path))
    console = subprocess.Popen(
        [sys.executable, "-m", "pooltui", "--dsn", pg_dsn, "--set", "duration_s=30"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    count = (  # the console's sessions, by its tag's pid
        "SELECT count(*) FROM pg_stat_activity "
        f"WHERE application_name LIKE '%pooltui-{console.pid}-%'"
    )
    try:
        with psycopg.connect(pg_dsn, autocommit=True) as con:
            end = time.monotonic() + DEADLINE_S
            while not sessions(con, count):  # b, until the burst's sessions are there
                assert time.monotonic() < end, "the console's burst never reached the server"
                os.write(master, b"b")
                _drain(master, 0.5)
            # the burst runs in the pool's own process, beside the console (its group)
            assert len(group_members(console.pid)) >= 2
            if hang_up:  # the terminal goes first, as when tmux kills the session
                os.close(master)
            os.killpg(console.pid, signum)
            if not hang_up:  # a terminal that is read: its restore writes go through
                end = time.monotonic() + DEADLINE_S
                while console.poll() is None and time.monotonic() < end:
                    _drain(master, 0.1)
            code = console.wait(timeout=DEADLINE_S)
            assert code == 128 + signum
            assert sessions(con, count) == 0  # every connection closed
            # and nothing it started outlives it: the pool's process and its forkserver end
            # on their own once the console's pipes close (polled: they exit after it does)
            end = time.monotonic() + DEADLINE_S
            while group_members(console.pid) and time.monotonic() < end:
                time.sleep(0.05)
            assert not group_members(console.pid)
    finally:
        if console.poll() is None:
            console.kill()
            console.wait()
        if not hang_up:
            os.close(master)
