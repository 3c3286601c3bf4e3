"""The pool host: the console's pool in a process of its own (core/host), against real servers.

What it must keep from the in-process pool: samples and events reach the console, a stop
reaches the run, and nothing is left on the server however the child or the console ends
(killed child, killed console, a server that does not answer).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pooltui.core.compare.runner import Comparison, Side
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.errors import BadInput, CannotConnect, RunFailed
from pooltui.core.host import HostedPool
from pooltui.core.host.job import comparison as hosted_comparison
from pooltui.core.host.job import run_hosted
from pooltui.core.load.results import RunResult
from pooltui.core.pool import PoolEvent
from pooltui.core.probes import count_connections_by
from pooltui.core.targets import parse_dsn

pytestmark = pytest.mark.db


def alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def eventually(condition: object, timeout: float = 20.0) -> bool:
    """Wait for a condition the server or the kernel settles on its own time (a backend that
    exits after its client's socket closed), polling it; False if it never held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return bool(condition())  # type: ignore[operator]


def test_a_run_in_the_child_reports_samples_events_and_its_state(pg_dsn: str) -> None:
    events: list[PoolEvent] = []
    pool = HostedPool(
        parse_dsn(pg_dsn),
        PoolConfig(mincached=2, maxcached=2, maxconnections=2),
        leak_threshold_s=0.05,
        on_event=events.append,
    )
    try:
        assert pool.pid is not None and pool.pid != os.getpid() and alive(pool.pid)
        assert pool.snapshot().open == 2  # mincached, opened in the child's build
        assert count_connections_by(pool.target, pool.tag, set()) == 2
        samples = []
        result = pool.run(
            Workload(threads=2, duration_s=0.6, hold_ms=120.0),
            on_sample=samples.append,
            sample_interval_s=0.1,
        )
        assert isinstance(result, RunResult) and result.requests > 0 and result.errors == 0
        assert samples and samples[-1].final
        assert pool.snapshot().open == 2 and len(pool.server_ids()) == 2
        # a connection held 120 ms past a 50 ms threshold: the child's leak detector reported it
        assert any(event.kind == "leak" for event in events)
    finally:
        pool.close()
    assert not alive(pool.pid) and pool.closed
    assert count_connections_by(pool.target, pool.tag, set()) == 0


def test_a_stop_reaches_the_run_in_the_child(sqlite_dsn: str) -> None:
    pool = HostedPool(parse_dsn(sqlite_dsn), PoolConfig(maxconnections=2, maxcached=2))
    stop, first = threading.Event(), threading.Event()
    results: list[RunResult] = []
    worker = threading.Thread(
        target=lambda: results.append(
            pool.run(
                Workload(threads=2, duration_s=60.0, hold_ms=1.0),
                stop=stop,
                on_sample=lambda _: first.set(),
                sample_interval_s=0.05,
            )
        )
    )
    worker.start()
    try:
        assert first.wait(30)
        stop.set()
        worker.join(30)
        (result,) = results
        assert result.stopped and result.duration_s < 60.0
    finally:
        pool.close()


def test_a_killed_child_fails_its_run_in_words_and_leaves_no_session(pg_dsn: str) -> None:
    pool = HostedPool(parse_dsn(pg_dsn), PoolConfig(mincached=2, maxcached=4, maxconnections=4))
    first = threading.Event()
    failures: list[Exception] = []

    def run() -> None:
        try:
            pool.run(
                Workload(threads=4, duration_s=60.0, hold_ms=2.0),
                on_sample=lambda _: first.set(),
                sample_interval_s=0.05,
            )
        except Exception as error:
            failures.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    assert first.wait(30)
    assert pool.pid is not None
    os.kill(pool.pid, signal.SIGKILL)
    worker.join(30)
    (failure,) = failures
    assert isinstance(failure, RunFailed) and "killed by SIGKILL" in str(failure)
    assert pool.closed  # the session builds a new pool for the next run
    with pytest.raises(RunFailed, match="closed"):
        pool.warm_up()
    pool.close()  # ends on the server what the dead child had
    assert eventually(lambda: count_connections_by(pool.target, pool.tag, set()) == 0)


def test_a_dead_server_fails_the_build_in_words_and_leaves_no_process() -> None:
    target = parse_dsn("postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=2")
    with pytest.raises(CannotConnect) as refused:
        HostedPool(target, PoolConfig(mincached=1))
    assert "127.0.0.1:1" in str(refused.value) and "Traceback" not in str(refused.value)
    assert not [t for t in threading.enumerate() if t.name == "pooltui-host-reader"]


def test_a_killed_console_leaves_its_pool_process_to_close_the_pool(
    pg_dsn: str, tmp_path: Path
) -> None:
    """The console dies by SIGKILL mid-run: its pool's process sees the pipe end, stops the
    run through the stop path, closes every connection and exits."""
    script = tmp_path / "console.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, threading
            from pooltui.core.config import PoolConfig, Workload
            from pooltui.core.host import HostedPool
            from pooltui.core.targets import parse_dsn

            if __name__ == "__main__":
                pool = HostedPool(parse_dsn({pg_dsn!r}), PoolConfig(mincached=2, maxcached=3))
                first = threading.Event()
                threading.Thread(
                    target=pool.run,
                    args=(Workload(threads=3, duration_s=120.0, hold_ms=2.0),),
                    kwargs=dict(on_sample=lambda _: first.set(), sample_interval_s=0.05),
                    daemon=True,
                ).start()
                first.wait(30)
                print(pool.tag, pool.pid, flush=True)
                threading.Event().wait()
            """
        )
    )
    console = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        assert console.stdout is not None
        tag, pid = console.stdout.readline().split()
        target = parse_dsn(pg_dsn)
        assert count_connections_by(target, tag, set()) == 3
    finally:
        console.kill()
        console.wait(30)
    assert eventually(lambda: not alive(int(pid)))
    assert eventually(lambda: count_connections_by(target, tag, set()) == 0)


# --- a whole job in a process of its own: the console's A/B ---------------------------------


def test_a_comparison_runs_as_a_hosted_job_and_reports_each_run(pg_dsn: str) -> None:
    workload = Workload(threads=2, duration_s=0.3, hold_ms=1.0)
    a = Side(PoolConfig(maxconnections=2, maxcached=2), workload, "A")
    b = Side(PoolConfig(maxconnections=1, maxcached=1), workload, "B")
    reports: list[tuple[str, object]] = []
    comparison = run_hosted(
        hosted_comparison,
        parse_dsn(pg_dsn),
        a,
        b,
        1,
        None,
        on_report=lambda kind, payload: reports.append((kind, payload)),
    )
    assert isinstance(comparison, Comparison) and not comparison.outcome.fatal_error
    assert comparison.outcome.left_open == 0 and comparison.differences  # judged, all closed
    assert "".join(run.side for run in comparison.runs) == "ABBA"
    progress = [payload for kind, payload in reports if kind == "progress"]
    assert [done.side for done in progress] == ["A", "B", "B", "A"]  # type: ignore[attr-defined]
    assert all(done.pool is None for done in progress)  # type: ignore[attr-defined]
    assert any(kind == "sample" for kind, _ in reports)
    assert not [t for t in threading.enumerate() if t.name.startswith("pooltui-worker")]


def test_a_hosted_job_stops_when_told_and_fails_in_words(sqlite_dsn: str) -> None:
    target = parse_dsn(sqlite_dsn)
    long = Side(PoolConfig(maxconnections=2), Workload(threads=2, duration_s=60.0), "A")
    stop = threading.Event()

    def on_report(kind: str, _payload: object) -> None:
        if kind == "sample":
            stop.set()

    began = time.monotonic()
    comparison = run_hosted(
        hosted_comparison, target, long, long, 3, None, stop=stop, on_report=on_report
    )
    assert stop.is_set() and comparison.outcome.stopped
    assert time.monotonic() - began < 60.0
    with pytest.raises(BadInput, match="rounds is 0"):
        run_hosted(hosted_comparison, target, long, long, 0, None)
