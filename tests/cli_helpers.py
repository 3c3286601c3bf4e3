"""Running the CLI in-process and reading its one-sentence errors (tests/ is on sys.path)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest

from pooltui.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``pooltui ARGV`` in this process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_sentence(err: str) -> str:
    """The only line of ``err``, which must be one ``pooltui: ...`` sentence, no traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pooltui: ") and "Traceback" not in err, err
    return lines[0]


@dataclass(frozen=True)
class Signalled:
    """How ``python -m pooltui`` ended after a signal: its code, its stderr, and how long it
    took from the signal to its end."""

    returncode: int
    err: str
    after_s: float
    pid: int


def signal_when(
    argv: Sequence[str],
    ready: Callable[[str, int], bool],
    signum: int,
    deadline_s: float = 20.0,
) -> Signalled:
    """Run ``python -m pooltui ARGV``, send ``signum`` once ``ready(stderr so far, its pid)``
    holds (polled: the server acts asynchronously), and wait for it to end (killed past the
    deadline, which then fails the test)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pooltui", *argv],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(process.stderr or ()))
    reader.start()
    try:
        end = time.monotonic() + deadline_s
        while not ready("".join(seen), process.pid):
            assert time.monotonic() < end, f"timed out before the signal: {''.join(seen)}"
            time.sleep(0.05)
        sent = time.monotonic()
        process.send_signal(signum)
        process.wait(timeout=deadline_s)  # not communicate(): the reader keeps stderr
        after = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(deadline_s)
    return Signalled(process.returncode, "".join(seen), after, process.pid)
