"""The console as a whole: the entry point, quitting, the palette and the modal screens it opens.

Quitting is checked the way the issue asks: the server's own count of the pool's connections is
0 once the app is gone, even when it was left in the middle of a burst.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from textual.widgets import Input, OptionList, Static

from pooltui.cli import common as cli_common
from pooltui.cli import main
from pooltui.core.config import PoolConfig, Workload
from pooltui.core.probes import count_connections_by
from pooltui.core.profiles import user_profiles_dir
from pooltui.core.targets import parse_dsn
from pooltui.tui.app import PoolTuiApp
from pooltui.tui.commands import HELP, command_bindings
from pooltui.tui.messages import BurstFinished, PoolClosed, StatsSampled
from pooltui.tui.screens.connect import ConnectScreen
from pooltui.tui.screens.export import ExportScreen
from pooltui.tui.screens.help import HelpScreen
from pooltui.tui.screens.profiles import ProfilesScreen
from pooltui.tui.screens.run_details import RunDetailsScreen
from pooltui.tui.screens.wizard import WizardScreen
from pooltui.tui.widgets.slider import Slider

from .helpers import SIZE, console, seen, until

# --- the entry point ----------------------------------------------------------------------


def run_console(
    dsn: str | None = None,
    profile: str | None = None,
    ask_password: bool = False,
    overrides: tuple[str, ...] = (),
) -> int:
    """`pooltui [--dsn DSN] [--profile P] [--ask-password] [--set K=V]...`, as typed."""
    argv = ["--dsn", dsn] if dsn is not None else []
    argv += ["--profile", profile] if profile is not None else []
    argv += ["--ask-password"] if ask_password else []
    for pair in overrides:
        argv += ["--set", pair]
    return main(argv)


def one_sentence(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pooltui: "), text
    assert "Traceback" not in text
    return lines[0]


def test_a_bad_dsn_is_one_sentence_and_exit_code_2(capsys):
    assert run_console(dsn="oracle://scott@127.0.0.1/orcl") == 2
    assert "oracle" in one_sentence(capsys.readouterr().err)


def test_an_unknown_profile_is_exit_code_2(capsys):
    assert run_console(profile="no-such-profile-anywhere") == 2
    assert "no-such-profile-anywhere" in one_sentence(capsys.readouterr().err)


def test_an_invalid_profile_names_the_file_and_key(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[pool]\nmaxconections = 5\n')
    assert run_console(profile=str(bad)) == 2
    sentence = one_sentence(capsys.readouterr().err)
    assert "bad.toml" in sentence and "maxconections" in sentence


def test_the_password_prompt_comes_first_and_never_shows(monkeypatch, capsys):
    asked: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        asked.append(prompt)
        return "s3cret-pw"

    monkeypatch.setattr(cli_common.getpass, "getpass", fake_getpass)
    code = run_console(dsn="postgresql://app@127.0.0.1:5432/shop?nosuch=1", ask_password=True)
    assert code == 2 and asked == ["Password: "]
    err = capsys.readouterr().err
    assert "nosuch" in one_sentence(err) and "s3cret-pw" not in err


def test_no_arguments_open_the_demo_with_the_demo_profile(monkeypatch):
    started: list[PoolTuiApp] = []

    def fake_run(self: PoolTuiApp, *args: Any, **kwargs: Any) -> None:
        started.append(self)

    monkeypatch.setattr(PoolTuiApp, "run", fake_run)
    assert run_console() == 0
    (app,) = started
    assert app.session.target.kind == "sqlite" and app.profile.name == "demo"
    assert app.dsn is None  # the demo's file path is not written into profiles
    assert app.session.pool is None  # nothing was opened, so nothing is left open


def test_a_dsn_with_a_password_is_never_written_anywhere(monkeypatch):
    started: list[PoolTuiApp] = []
    monkeypatch.setattr(PoolTuiApp, "run", lambda self, *a, **k: started.append(self))
    assert run_console(dsn="postgresql://app:pw123@127.0.0.1:5432/shop") == 0
    app = started[0]
    assert app.dsn == "postgresql://app@127.0.0.1:5432/shop"
    assert "pw123" not in app.sub_title and "pw123" not in repr(app.session.target)


async def test_the_console_starts_with_the_set_overrides(monkeypatch, sqlite_dsn):
    started: list[PoolTuiApp] = []
    monkeypatch.setattr(PoolTuiApp, "run", lambda self, *a, **k: started.append(self))
    assert run_console(dsn=sqlite_dsn, overrides=("maxconnections=4", "threads=3")) == 0
    (app,) = started
    assert app.profile.pool.maxconnections == 4
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.tune.query_one("#param-maxconnections", Slider).value == 4
        assert app.tune.query_one("#param-threads", Slider).value == 3
        assert app.tune.panel.config.maxconnections == 4


def test_a_bad_set_override_is_one_sentence_before_the_console_opens(capsys):
    assert run_console(overrides=("maxconections=4",)) == 2
    assert "maxconections" in one_sentence(capsys.readouterr().err)


# --- quitting closes every connection -----------------------------------------------------


async def test_ctrl_q_mid_burst_stops_it_and_closes_every_connection(pg_dsn):
    app, messages = console(
        pg_dsn,
        PoolConfig(maxconnections=8, maxcached=8),
        Workload(threads=16, duration_s=60.0, hold_ms=1.0),
    )
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await pilot.press("b")
        await until(pilot, lambda: seen(messages, StatsSampled))
        pool = app.session.pool
        assert pool is not None
        tag, target = pool.tag, app.session.target
        assert count_connections_by(target, tag, set()) > 0
        # the burst's threads run in the pool's own process, not under the console's GIL
        assert pool.pid not in (None, os.getpid())
        assert not [t for t in threading.enumerate() if t.name.startswith("pooltui-worker")]
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 0
    finished = seen(messages, BurstFinished)
    assert finished and finished[0].result.stopped  # stopped, not abandoned
    assert count_connections_by(target, tag, set()) == 0
    assert app.session.pool is None


async def test_leaving_without_ctrl_q_still_closes_every_connection(pg_dsn):
    app, messages = console(
        pg_dsn,
        PoolConfig(maxconnections=4, maxcached=4),
        Workload(threads=8, duration_s=60.0, hold_ms=2.0),
    )
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await pilot.press("b")
        await until(pilot, lambda: seen(messages, StatsSampled))
        pool = app.session.pool
        assert pool is not None
        tag, target = pool.tag, app.session.target
    # run_test ended under the burst's feet: the app's unmount stopped it and closed the pool
    assert count_connections_by(target, tag, set()) == 0


# --- footer, palette, help ------------------------------------------------------------------


async def test_every_footer_action_is_in_the_palette_and_runs_from_it(sqlite_dsn):
    app, messages = console(sqlite_dsn)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await pilot.pause()
        shown = {b.description for _, b in command_bindings(app.tune)}
        assert {
            "Warm up",
            "Burst",
            "Stop",
            "Baseline",
            "Connect",
            "Profile",
            "Export",
            "Quit",
            "Help",
        } <= shown
        await pilot.press("ctrl+p")
        await until(pilot, lambda: app.screen is not app.tune)
        palette = app.screen
        await pilot.press(*"burst")
        await until(
            pilot,
            lambda: "Burst (b)" in str(palette.query_one(OptionList).get_option_at_index(0).prompt),
        )
        await pilot.press("enter")
        await until(pilot, lambda: seen(messages, BurstFinished))
        assert len(app.history) == 1
        await app.workers.wait_for_complete()
        await pilot.press("ctrl+p")  # a widget's key (enter on a run) is in the palette too
        await until(pilot, lambda: app.screen is not app.tune)
        palette = app.screen
        await pilot.press(*"run details")
        await until(
            pilot,
            lambda: (
                "Run details" in str(palette.query_one(OptionList).get_option_at_index(0).prompt)
            ),
        )
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunDetailsScreen))
        assert app.screen.record is app.history.records[0]


async def test_help_opens_on_question_mark_and_f1(sqlite_dsn):
    app, _ = console(sqlite_dsn)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for key in ("question_mark", "f1"):
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
            markdown = app.screen._markdown  # the page as written, keys from the footer
            for action in ("warm_up", "burst", "stop", "mark_baseline", "export"):
                assert HELP[action] in markdown
            assert "| `w` |" in markdown and "| `ctrl+p` |" in markdown
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.tune)


# --- the modal screens --------------------------------------------------------------------


async def test_export_shows_the_sliders_and_a_file_that_cannot_be_written(sqlite_dsn, tmp_path):
    app, _ = console(sqlite_dsn)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        slider = app.tune.query_one("#param-maxconnections", Slider)
        slider.focus()
        await pilot.press("right", "right")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ExportScreen))
        export = app.screen
        assert "maxconnections = 6" in (export.text("toml") or "")
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        export.query_one("#file", Input).value = str(blocker / "profile.toml")
        await pilot.press("ctrl+s")
        error = export.query_one("#error", Static)
        await until(pilot, lambda: str(error.render()))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.tune)
        await pilot.press("right")  # the console kept working
        assert slider.value == 7


async def test_profiles_load_one_and_refuse_an_invalid_one(sqlite_dsn):
    directory = user_profiles_dir()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "aaa-tuned.toml").write_text(
        'name = "aaa-tuned"\n[pool]\nmaxconnections = 7\nmaxcached = 3\n'
        "[workload]\nthreads = 12\nhold_ms = 4\n"
    )
    (directory / "aaa-broken.toml").write_text('name = "aaa-broken"\n[pool]\nping = "yes"\n')
    app, _ = console(sqlite_dsn)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ProfilesScreen) and app.screen.listed)
        screen = app.screen
        names = [Path(entry.path).stem for entry in screen.entries]
        option_list = screen.query_one("#list", OptionList)
        option_list.highlighted = names.index("aaa-broken")
        await pilot.press("l")
        error = screen.query_one("#error", Static)
        await until(pilot, lambda: "ping" in str(error.render()))
        assert app.screen is screen  # refused in place, nothing loaded
        option_list.highlighted = names.index("aaa-tuned")
        await pilot.press("l")
        await until(pilot, lambda: app.screen is app.tune)
        config, workload = app.tune.panel.config, app.tune.panel.workload
        assert (config.maxconnections, config.maxcached) == (7, 3)
        assert (workload.threads, workload.hold_ms) == (12, 4.0)
        assert app.profile.name == "aaa-tuned" and "aaa-tuned" in app.sub_title


async def test_connecting_elsewhere_closes_the_old_pool(pg_dsn, sqlite_dsn):
    app, messages = console(pg_dsn)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await pilot.press("b")
        await until(pilot, lambda: seen(messages, BurstFinished))
        await app.workers.wait_for_complete()
        old = app.session.pool
        assert old is not None
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConnectScreen))
        await pilot.press(*sqlite_dsn)
        await pilot.press("ctrl+u")
        await until(pilot, lambda: app.screen is app.tune, timeout=20)
        await until(pilot, lambda: seen(messages, PoolClosed))
        assert app.session.target.kind == "sqlite" and app.session.pool is None
        assert app.tune.panel.facts.module_name == "sqlite3"
        assert count_connections_by(parse_dsn(pg_dsn), old.tag, set()) == 0
        assert app.dsn == sqlite_dsn
        await pilot.press("b")  # and the console works on the new target
        await until(pilot, lambda: len(seen(messages, BurstFinished)) == 2)
        assert app.history.records[1].result.driver == "sqlite3"


async def test_the_wizard_opens_on_d_and_not_during_a_run(sqlite_dsn):
    app, messages = console(sqlite_dsn, workload=Workload(threads=2, duration_s=60.0))
    warnings: list[str] = []
    notify = app.notify
    app.notify = lambda message, **kw: (warnings.append(message), notify(message, **kw))[-1]
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, WizardScreen))
        assert app.screen.current == app.tune.panel.config
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.tune)
        await pilot.press("b")
        await until(pilot, lambda: seen(messages, StatsSampled))
        await pilot.press("d")  # the wizard runs bursts of its own: not beside this one
        await until(pilot, lambda: warnings)
        assert "Stop the run" in warnings[0] and app.screen is app.tune
        await pilot.press("s")
        await until(pilot, lambda: seen(messages, BurstFinished))
