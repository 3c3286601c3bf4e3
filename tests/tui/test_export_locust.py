"""The export screen's Locust format: the locustfile the CLI's ``export --format locust``
writes, previewed and saved; for a driver that blocks gevent, its refusal sentence in place."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, TextArea

from pooltui.core.export import to_locust
from pooltui.core.targets import parse_dsn
from pooltui.tui.screens.export import ExportScreen

from .helpers import Host, opened, static_text, until
from .test_screens import export_profile, secret_target


async def test_export_previews_and_saves_the_locustfile(tmp_path: Path) -> None:
    screen = ExportScreen(export_profile(), secret_target())
    host = Host(screen)
    async with host.run_test(size=(120, 36)) as pilot:
        await opened(pilot)
        await pilot.press("l")
        await until(pilot, lambda: screen.format == "locust")
        file_input = screen.query_one("#file", Input)
        assert file_input.value == "locustfile_web_test.py"
        code = screen.query_one("#locust-text", TextArea).text
        assert code == screen.text("locust") == to_locust(secret_target(), export_profile())
        assert "PooledDB" in code and "s3cret" not in code
        assert "s3cret" not in host.export_screenshot()
        assert static_text(screen, "#error") == ""
        path = tmp_path / "locustfile.py"
        file_input.value = str(path)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: path.is_file())
        saved = path.read_text(encoding="utf-8")
        assert saved == code
        compile(saved, str(path), "exec")
        assert host.screen is screen


async def test_export_locust_for_a_driver_that_blocks_gevent_says_why_in_place(
    sqlite_dsn: str,
) -> None:
    screen = ExportScreen(export_profile(), parse_dsn(sqlite_dsn))
    host = Host(screen)
    async with host.run_test(size=(120, 36)) as pilot:
        await opened(pilot)
        assert screen.text("python") is not None  # the Python code is still offered
        await pilot.press("l")
        await until(pilot, lambda: screen.format == "locust")
        error = static_text(screen, "#error")
        assert "blocks gevent's loop" in error and "bench --processes" in error
        assert screen.text("locust") is None
        assert error in screen.query_one("#locust-text", TextArea).text  # the preview says it
        await pilot.press("ctrl+s")  # nothing to save: the sentence stays, the screen too
        await pilot.pause()
        assert static_text(screen, "#error") == error and host.screen is screen
        await pilot.press("t")
        await until(pilot, lambda: screen.format == "toml")
        assert static_text(screen, "#error") == ""


async def test_export_locust_without_a_target_asks_to_connect() -> None:
    screen = ExportScreen(export_profile(), None)
    host = Host(screen)
    async with host.run_test(size=(120, 36)) as pilot:
        await opened(pilot)
        await pilot.press("l")
        await until(pilot, lambda: screen.format == "locust")
        assert static_text(screen, "#error").startswith("Connect to a database first: the loc")
