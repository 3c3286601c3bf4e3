"""Issue #9 §6 in the console: the export screen's save refuses what the CLI refuses, in place."""

from __future__ import annotations

import stat
from pathlib import Path

from textual.widgets import Input

from pooltui.tui.screens.export import ExportScreen

from .helpers import Host, opened, static_text, until
from .test_screens import export_profile, secret_target


async def test_export_screen_leaves_a_read_only_file_alone(tmp_path: Path) -> None:
    locked = tmp_path / "web.toml"
    locked.write_text("keep me", encoding="utf-8")
    locked.chmod(0o444)
    screen = ExportScreen(export_profile(), secret_target())
    host = Host(screen)
    async with host.run_test(size=(120, 36)) as pilot:
        await opened(pilot)
        screen.query_one("#file", Input).value = str(locked)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: static_text(screen, "#error") != "")
        assert "read-only" in static_text(screen, "#error")
        assert host.screen is screen
    assert locked.read_text(encoding="utf-8") == "keep me"
    assert stat.S_IMODE(locked.stat().st_mode) == 0o444
