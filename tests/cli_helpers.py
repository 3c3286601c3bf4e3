"""Running the CLI in-process and reading its one-sentence errors (tests/ is on sys.path)."""

from __future__ import annotations

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
