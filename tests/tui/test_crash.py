"""Issue #9 §5.1: a crash of the console prints no local variables and no secret.

Textual's own crash report shows every frame's locals (``password_raw = 'TopSecret99'``). The
crashes here are real exceptions in a real app (a subclass adds the crashing action or worker),
rendered by the app's own crash path and printed to stderr as the user would see them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import work
from textual.widgets import Input

from pooltui.core.profiles import Profile
from pooltui.core.targets import parse_dsn
from pooltui.tui import app as app_module
from pooltui.tui.app import PoolTuiApp
from pooltui.tui.screens.connect import ConnectScreen

SECRET = "TopSecret99"
TYPED = "Typed-Pw-55"


class CrashingApp(PoolTuiApp):
    """The console with two ways to crash while a secret sits in a local variable."""

    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))

    def action_crash(self) -> None:
        password_raw = SECRET  # the target's own password
        raise ValueError(f"cannot use {password_raw}")

    def action_crash_worker(self) -> None:
        self._failing_worker(TYPED)

    @work(thread=True)
    def _failing_worker(self, password_raw: str) -> None:
        raise RuntimeError(f"the worker saw {password_raw} and postgresql://u:{password_raw}@h")


def crashing_app() -> CrashingApp:
    target = parse_dsn(f"mysql://app:{SECRET}@127.0.0.1/db")  # never connected: no check
    return CrashingApp(target, Profile("crash"), check_target=False)


def assert_clean_report(err: str, exception: str) -> None:
    assert "Traceback" in err and exception in err  # the report is still there, for a bug
    assert " locals " not in err  # rich's title of a frame's locals panel
    for secret in (SECRET, TYPED):
        assert secret not in err


async def test_a_crash_in_an_action_shows_no_locals_nor_the_password(capsys) -> None:
    app = crashing_app()
    with pytest.raises(ValueError):
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            app.call_later(app.run_action, "crash")
            await pilot.pause(0.5)
    assert app.return_code == 1
    assert_clean_report(capsys.readouterr().err, "ValueError")


async def test_a_crashed_worker_hides_what_the_connect_screen_holds(capsys) -> None:
    """The secret is only in the connect screen's password field and the DSN typed there."""
    app = crashing_app()
    with pytest.raises(Exception, match="Worker raised exception"):
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            screen = ConnectScreen()
            await app.push_screen(screen)
            await pilot.pause()
            screen.query_one("#password", Input).value = TYPED
            screen.query_one("#dsn", Input).value = f"postgresql://u:{TYPED}@127.0.0.1/db"
            app.call_later(app.run_action, "crash_worker")
            await pilot.pause(1.0)
    assert_clean_report(capsys.readouterr().err, "RuntimeError")


async def test_the_connect_screen_turns_a_bad_port_into_a_sentence() -> None:
    """``'²'.isdigit()`` is True and ``int('²')`` raises: that was the console's crash."""
    app = crashing_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        screen = ConnectScreen()
        await app.push_screen(screen)
        await pilot.pause()
        for port in ("²", "³"):
            field = screen.query_one("#dsn", Input)
            field.focus()
            field.value = f"postgresql://app:{SECRET}@127.0.0.1:{port}/db"
            await pilot.press("enter")
            await pilot.pause()
            error = str(screen.query_one("#error").render())
            assert "port" in error and "1 to 65535" in error and SECRET not in error
        assert app.screen is screen and app.return_code is None  # still running
