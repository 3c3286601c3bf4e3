"""Issue #9 §6 in the console: the export screen's save refuses what the CLI refuses, in place."""

from __future__ import annotations

import stat
from pathlib import Path

from textual.widgets import Input

from pooltui.core.profiles import load_profile, user_profiles_dir
from pooltui.tui.screens.confirm import ConfirmScreen
from pooltui.tui.screens.export import ExportScreen
from pooltui.tui.screens.profiles import ProfilesScreen

from .helpers import Host, opened, static_text, until
from .test_screens import current_profile, export_profile, secret_target


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


# --- issue 12: saves that never clobber ---------------------------------------------------------


async def test_export_asks_before_replacing_a_file(tmp_path: Path) -> None:
    existing = tmp_path / "web.toml"
    existing.write_text("keep me", encoding="utf-8")
    screen = ExportScreen(export_profile(), secret_target())
    host = Host(screen)
    async with host.run_test(size=(120, 36)) as pilot:
        await opened(pilot)
        screen.query_one("#file", Input).value = str(existing)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(host.screen, ConfirmScreen))
        assert "exists already" in static_text(host.screen, "#question")
        await pilot.press("n")
        await until(pilot, lambda: host.screen is screen)
        assert existing.read_text(encoding="utf-8") == "keep me"
        assert "Not saved" in static_text(screen, "#error")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(host.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: existing.read_text(encoding="utf-8") != "keep me")
        assert existing.read_text(encoding="utf-8") == screen.text("toml")


async def test_export_suggests_the_extension_and_warns_of_another(tmp_path: Path) -> None:
    screen = ExportScreen(export_profile(), secret_target())
    host = Host(screen)
    async with host.run_test(size=(120, 36)) as pilot:
        await opened(pilot)
        file_input = screen.query_one("#file", Input)
        file_input.value = str(tmp_path / "x.toml")
        await pilot.press("y")  # Python: the typed stem kept, the extension follows
        await until(pilot, lambda: screen.format == "python")
        assert file_input.value == str(tmp_path / "x.py")
        wrong = tmp_path / "x.toml"
        file_input.value = str(wrong)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(host.screen, ConfirmScreen))
        question = static_text(host.screen, "#question")
        assert "x.toml has the extension of TOML profile" in question
        assert "Python code (.py)" in question
        await pilot.press("escape")
        await until(pilot, lambda: host.screen is screen)
        assert not wrong.exists()


async def test_profile_save_asks_before_replacing_one() -> None:
    path = user_profiles_dir() / "mine.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('name = "mine"\n', encoding="utf-8")
    screen = ProfilesScreen(current_profile())
    host = Host(screen)
    async with host.run_test(size=(120, 36)) as pilot:
        await opened(pilot)
        await until(pilot, lambda: screen.listed)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(host.screen, ConfirmScreen))
        await pilot.press("n")
        await until(pilot, lambda: host.screen is screen)
        assert path.read_text(encoding="utf-8") == 'name = "mine"\n'
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(host.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: load_profile(path) == current_profile())


async def test_every_export_key_is_in_the_footer_at_80_columns() -> None:
    """At 80x24 the footer is one row: "j Runs JSON" was cut to "j Runs JSO", the last key
    half hidden."""
    from .helpers import screen_text

    screen = ExportScreen(export_profile(), secret_target())
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        text = " ".join(screen_text(host).split())
        for key, words in (("t", "TOML"), ("y", "Python"), ("l", "Locust"), ("v", "CSV")):
            assert f"{key} {words}" in text
        assert "j JSON" in text
