"""Issue 9 §2: restarts, outages and frozen servers, on private server instances (never the shared
ones). A run backs off and waits for a server that went away, reports the outage, detects a server
that stopped answering, and still stops at once when asked."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress

import pytest

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.load import engine
from pooltui.core.load.notes import RunNote
from pooltui.core.pool import InstrumentedPool
from pooltui.core.targets import parse_dsn

DEADLINE_S = 30.0


@pytest.fixture(params=["private_pg", "private_mariadb"])
def server(request):
    """A private server, running again (and thawed) after each test whatever it did to it."""
    instance = request.getfixturevalue(request.param)
    yield instance
    with suppress(Exception):
        instance.thaw()
    try:
        parse_dsn(instance.dsn).connect(timeout_s=2).close()
    except Exception:  # stopped by the test (and not started again): start it
        instance.start()
        instance.wait_until_answers(instance.dsn)


@contextmanager
def fault_after_first_success(
    result_box: list, fault: Callable[[], None]
) -> Iterator[Callable[[engine.Sample], None]]:
    """An on_sample that runs ``fault`` in a thread of its own once requests are succeeding:
    the fault lands in the middle of a working run, not at its start."""
    started = threading.Event()
    thread = threading.Thread(target=lambda: (started.wait(DEADLINE_S), fault()), daemon=True)
    thread.start()

    def on_sample(sample: engine.Sample) -> None:
        if sample.throughput_rps > 0:
            started.set()

    yield on_sample
    thread.join(DEADLINE_S)
    result_box.append(not thread.is_alive())


def run_through(server, fault: Callable[[], None], workload: Workload) -> engine.RunResult:
    done: list[bool] = []
    with ExitStack() as stack:
        pool = stack.enter_context(
            InstrumentedPool(parse_dsn(server.dsn), PoolConfig(maxconnections=4))
        )
        with fault_after_first_success(done, fault) as on_sample:
            result = engine.run(pool, workload, on_sample=on_sample, sample_interval_s=0.1)
    assert done == [True], "the fault did not finish"
    return result


def served_after(result: engine.RunResult) -> bool:
    """Requests succeeded again after the last outage ended."""
    return bool(result.outages) and result.outages[-1].ended_s is not None


def test_a_fast_restart_is_survived_and_reported(server) -> None:
    result = run_through(server, server.restart, Workload(threads=4, duration_s=4))
    assert result.fatal_error is None, result.fatal_error
    # every connection died with the old server: either requests failed while it was away (an
    # outage, which then ended), or a restart fast enough hid behind DBUtils' reconnects
    assert result.outages or result.pool.reconnects >= 1, result.events
    for outage in result.outages:
        assert outage.failed >= 1 and outage.recovery_s is not None and outage.error
    if result.outages:
        assert result.noted(RunNote.OUTAGE)


def test_a_server_down_for_three_seconds_is_waited_for(server) -> None:
    def three_seconds_down() -> None:
        server.stop()
        time.sleep(3.0)  # the length of the outage is the scenario, not a synchronisation
        server.start()

    result = run_through(server, three_seconds_down, Workload(threads=4, duration_s=8))
    assert result.fatal_error is None, result.fatal_error
    assert served_after(result), result.events
    assert len(result.outages) == 1  # a flapping shutdown is one outage, not several
    assert result.outages[0].recovery_s >= 2.5
    assert result.requests - result.errors > 0


def test_giving_up_after_a_deadline_ends_the_run(server) -> None:
    result = run_through(
        server, server.stop, Workload(threads=2, duration_s=20, give_up_after_s=1.0)
    )
    assert result.fatal_error is not None and "so the run gave up" in result.fatal_error
    assert "backs off and retries" not in result.fatal_error
    assert result.duration_s < 10  # it did not wait for the whole run
    assert any("give_up_after_s" in text for text in result.noted(RunNote.GAVE_UP)), result.events
    assert result.outages and result.outages[0].ended_s is None


def test_a_frozen_server_is_reported_as_a_stall_and_the_run_goes_on(server) -> None:
    def frozen_for_two_seconds() -> None:
        server.freeze()
        time.sleep(2.5)
        server.thaw()

    result = run_through(server, frozen_for_two_seconds, Workload(threads=4, duration_s=6))
    assert result.stalls and result.stalls[0].ended_s is not None
    assert result.stalls[0].in_flight >= 1
    assert result.fatal_error is None


def test_a_stop_during_a_freeze_ends_at_once_and_leaves_nothing(server) -> None:
    """SIGINT while the server is frozen: the run cannot cancel on it, so it cuts the sockets,
    says it could not confirm, and once the server wakes it finds none of pooltui's sessions."""
    target = parse_dsn(server.dsn)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pooltui",
            "bench",
            "--dsn",
            server.dsn,
            "--threads",
            "4",
            "--duration",
            "60",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + DEADLINE_S
        while _sessions(target) < 4:
            assert time.monotonic() < deadline, "the run never opened its connections"
            time.sleep(0.05)
        server.freeze()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=DEADLINE_S)
    finally:
        server.thaw()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    payload = json.loads(out)
    assert payload["stopped"]
    server.wait_until_answers(server.dsn)
    deadline = time.monotonic() + DEADLINE_S
    while _sessions(target):  # the server ends them once it sees the closed sockets
        assert time.monotonic() < deadline, "pooltui's sessions outlived the freeze"
        time.sleep(0.1)


def _sessions(target) -> int:
    """Client sessions named pooltui-* on the server (PostgreSQL) or any other client (MariaDB,
    where the tag is not visible): the private server has no other clients."""
    con = target.connect()
    try:
        cursor = con.cursor()
        if target.backend == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE "
                "'pooltui-%' AND pid <> pg_backend_pid()"
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM information_schema.PROCESSLIST WHERE "
                "ID <> CONNECTION_ID() AND COMMAND <> 'Daemon'"
            )
        return int(cursor.fetchone()[0])
    finally:
        con.close()
