"""The exported locustfile, run by Locust itself: a headless master and two workers on loopback
against the real servers. Its CSV must carry the pool's request events, every worker must print
its pool's figures, and the server must keep none of its sessions afterwards."""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import socket
import subprocess

import pytest
from cli_helpers import one_sentence, run_cli

from pooltui.core.locustfile import EVENT_NAMES, loopback_commands
from pooltui.core.probes import count_connections_by
from pooltui.core.targets import parse_dsn

# never imported here: importing locust monkey-patches this whole process with gevent (threads,
# sockets, signals), which would break every other test collected with this one
if importlib.util.find_spec("locust") is None:
    pytest.skip("Locust is not installed (pip install 'pooltui[locust]')", allow_module_level=True)

STATS = re.compile(
    r"pooltui pool stats \(worker pid (\d+)\): checkouts (\d+),.* server sessions \[([\d, ]*)\]"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["pg_dsn", "mysql_dsn"])
def server_dsn(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(request.param)


def test_a_locust_master_and_two_workers_report_the_pool_and_leave_nothing(
    capsys, tmp_path, server_dsn
):
    locustfile = tmp_path / "locustfile.py"
    code, _, err = run_cli(
        capsys,
        "export",
        "--format",
        "locust",
        "--dsn",
        server_dsn,
        "--set",
        "threads=4",
        "--set",
        "hold_ms=2",
        "--set",
        "maxconnections=2",
        "--set",
        "maxcached=2",
        "-o",
        str(locustfile),
    )
    assert code == 0, err
    port = _free_port()
    master_argv, worker_argv = loopback_commands(
        locustfile, port=port, workers=2, users=4, run_s=3, csv_prefix=tmp_path / "run"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    piped = {
        "cwd": tmp_path,
        "env": env,
        "stdout": subprocess.PIPE,
        "stderr": subprocess.STDOUT,
        "text": True,
    }
    master = subprocess.Popen(master_argv, **piped)
    workers = [subprocess.Popen(worker_argv, **piped) for _ in range(2)]
    try:
        master_out, _ = master.communicate(timeout=90)
        worker_out = [w.communicate(timeout=30)[0] for w in workers]
    finally:
        for proc in (master, *workers):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert master.returncode == 0, master_out
    with open(tmp_path / "run_stats.csv", newline="") as handle:
        rows = {(row["Type"], row["Name"]): row for row in csv.DictReader(handle)}
    for key in EVENT_NAMES:
        assert int(rows[key]["Request Count"]) > 0, rows
        assert int(rows[key]["Failure Count"]) == 0, rows
    stats = [STATS.search(out) for out in worker_out]
    assert all(stats), worker_out
    target = parse_dsn(server_dsn)
    for match in stats:
        assert match is not None and int(match.group(2)) > 0
        ids = {int(i) for i in match.group(3).split(",") if i.strip()}
        assert ids, "the worker reported no server session"
        tag = f"pooltui-locust-{match.group(1)}"
        assert count_connections_by(target, tag, ids) == 0
    # the two workers' checkouts are the CSV's acquire events
    assert sum(int(m.group(2)) for m in stats if m) == int(
        rows[("pool", "acquire")]["Request Count"]
    )


def test_locust_export_refuses_a_driver_that_blocks_gevent(capsys, sqlite_dsn):
    code, out, err = run_cli(capsys, "export", "--format", "locust", "--dsn", sqlite_dsn)
    sentence = one_sentence(err)
    assert code == 2 and not out
    assert "blocks gevent's loop" in sentence and "--processes" in sentence


def test_locust_export_has_no_password(capsys, monkeypatch):
    code, out, err = run_cli(
        capsys,
        "export",
        "--format",
        "locust",
        "--dsn",
        "postgresql://app:s3cr3t-pw@db.example:5432/shop",
    )
    assert code == 0, err
    assert "s3cr3t-pw" not in out and "PGPASSWORD" in out
    compile(out, "locustfile.py", "exec")
