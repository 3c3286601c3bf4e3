"""Issue #9 §6: saves (export -o, diagnose -o, the console's) write regular files only, through
symlinks, keeping the file's mode, and leave read-only files alone unless asked.

Real files in tmp_path: a FIFO, symlinks, chmod'ed files. /dev/null is only looked at: the call
must refuse it before writing anything, so it is still the same character device afterwards.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import one_sentence, run_cli

from pooltui.core.errors import RunFailed
from pooltui.core.profiles import save_text_atomically

REPO = Path(__file__).resolve().parents[1]


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_a_fifo_is_refused_and_left_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(RunFailed, match="FIFO"):
        save_text_atomically(fifo, "x = 1\n")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]  # no temp file left behind


def test_dev_null_is_refused_before_anything_is_written() -> None:
    before = os.lstat("/dev/null")
    with pytest.raises(RunFailed, match="character device"):
        save_text_atomically(Path("/dev/null"), "x = 1\n")
    after = os.lstat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (
        before.st_ino,
        before.st_rdev,
    )


def test_a_directory_and_a_path_under_a_file_are_sentences(tmp_path: Path) -> None:
    with pytest.raises(RunFailed, match="is a directory, not a regular file"):
        save_text_atomically(tmp_path, "x")
    blocker = tmp_path / "file.txt"
    blocker.write_text("keep")
    with pytest.raises(RunFailed, match=r"file\.txt is a file, not a directory"):
        save_text_atomically(blocker / "deeper" / "x.toml", "x")
    assert blocker.read_text() == "keep"


def test_a_symlink_is_written_through_to_its_target(tmp_path: Path) -> None:
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    target = real_dir / "profile.toml"
    target.write_text("old\n")
    target.chmod(0o640)
    link = link_dir / "profile.toml"
    link.symlink_to(target)
    save_text_atomically(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in real_dir.iterdir()) == ["profile.toml"]
    dangling = link_dir / "later.toml"
    dangling.symlink_to(real_dir / "later.toml")
    save_text_atomically(dangling, "created\n")
    assert dangling.is_symlink() and (real_dir / "later.toml").read_text() == "created\n"


def test_an_existing_file_keeps_its_mode_and_a_new_one_follows_the_umask(tmp_path: Path) -> None:
    private = tmp_path / "private.toml"
    private.write_text("old")
    private.chmod(0o600)
    save_text_atomically(private, "new")
    assert private.read_text() == "new" and stat.S_IMODE(private.stat().st_mode) == 0o600
    fresh = tmp_path / "fresh.toml"
    save_text_atomically(fresh, "x")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~current_umask()


def test_a_read_only_file_is_refused_unless_asked(tmp_path: Path) -> None:
    locked = tmp_path / "locked.toml"
    locked.write_text("keep me")
    locked.chmod(0o444)
    with pytest.raises(RunFailed, match="read-only"):
        save_text_atomically(locked, "overwritten")
    assert locked.read_text() == "keep me"
    save_text_atomically(locked, "asked for", overwrite_readonly=True)
    assert locked.read_text() == "asked for" and stat.S_IMODE(locked.stat().st_mode) == 0o444


# --- the CLI's -o -------------------------------------------------------------------------------


def test_export_output_options(capsys, tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "export", "--format", "toml", "-o", "-")
    assert code == 0 and out.startswith('name = "cli"') and err == ""
    code, out, err = run_cli(capsys, "export", "--format", "toml", "-o", "")
    assert code == 2 and out == "" and "-o is empty" in one_sentence(err)
    blocker = tmp_path / "file.txt"
    blocker.write_text("keep")
    code, _, err = run_cli(capsys, "export", "--format", "toml", "-o", str(blocker / "x.toml"))
    assert code == 1 and "is a file, not a directory" in one_sentence(err)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, _, err = run_cli(capsys, "export", "--format", "python", "-o", str(fifo))
    assert code == 1 and "FIFO" in one_sentence(err) and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_export_force_replaces_a_read_only_file(capsys, tmp_path: Path) -> None:
    locked = tmp_path / "locked.toml"
    locked.write_text("keep me")
    locked.chmod(0o444)
    code, _, err = run_cli(capsys, "export", "--format", "toml", "-o", str(locked))
    assert code == 1 and "read-only" in one_sentence(err) and locked.read_text() == "keep me"
    code, _, err = run_cli(capsys, "export", "--format", "toml", "-o", str(locked), "--force")
    assert code == 0, err
    assert locked.read_text().startswith('name = "cli"')
    assert stat.S_IMODE(locked.stat().st_mode) == 0o444


def test_diagnose_output_is_written_the_same_way(capsys, tmp_path: Path) -> None:
    locked = tmp_path / "tuned.toml"
    locked.write_text("keep me")
    locked.chmod(0o444)
    argv = ("diagnose", "--rate", "50", "--format", "toml", "-o", str(locked))
    code, _, err = run_cli(capsys, *argv)
    assert code == 1 and "read-only" in one_sentence(err) and locked.read_text() == "keep me"
    code, _, err = run_cli(capsys, *argv, "--force")
    assert code == 0, err
    assert "[pool]" in locked.read_text()


def test_a_link_to_stdout_is_refused_not_replaced(tmp_path: Path) -> None:
    """``-o /dev/stdout`` with stdout a pipe: a symlink to the process's fd 1, like this one."""
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    result = subprocess.run(
        [sys.executable, "-m", "pooltui", "export", "--format", "toml", "-o", str(link)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 1 and result.stdout == ""
    assert "FIFO" in one_sentence(result.stderr) and "-o - writes to stdout" in result.stderr
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"


def test_export_never_replaces_a_file_without_force(capsys, tmp_path: Path) -> None:
    """Issue 12: `-o FILE` over an existing file is refused, naming --force; --force replaces."""
    existing = tmp_path / "x.toml"
    existing.write_text("keep me")
    code, out, err = run_cli(capsys, "export", "--format", "python", "-o", str(existing))
    assert code == 1 and out == "" and existing.read_text() == "keep me"
    assert "exists already" in one_sentence(err) and "--force" in err
    code, _, err = run_cli(capsys, "export", "--format", "toml", "-o", str(existing), "--force")
    assert code == 0, err
    assert existing.read_text().startswith('name = "cli"')
    fresh = tmp_path / "new.toml"
    code, _, err = run_cli(capsys, "export", "--format", "toml", "-o", str(fresh))
    assert code == 0 and fresh.read_text().startswith('name = "cli"')
