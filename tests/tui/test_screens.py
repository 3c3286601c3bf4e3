"""The console's modal screens, each pushed onto a tiny host app and driven by keys.

The connect screen talks to the real PostgreSQL and MariaDB; the run details show a real SQLite
run. What a person would see is checked through ``export_screenshot`` (the SVG's text).
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from pooltui.core.config import PARAMETER_HELP, POOL_FIELDS, WORKLOAD_FIELDS, PoolConfig, Workload
from pooltui.core.history import RunHistory
from pooltui.core.load import engine
from pooltui.core.load.engine import RunResult
from pooltui.core.numbers import figure, ms, seconds
from pooltui.core.pool import InstrumentedPool
from pooltui.core.profiles import Profile, load_profile, user_profiles_dir
from pooltui.core.targets import Target, parse_dsn
from pooltui.tui.screens.connect import ConnectScreen
from pooltui.tui.screens.export import ExportScreen
from pooltui.tui.screens.help import GAUGE_HELP, HelpScreen
from pooltui.tui.screens.profiles import ProfilesScreen
from pooltui.tui.screens.run_details import RunDetailsScreen, leaks_text

from .helpers import NO_RESULT, Host, opened, screen_text, static_text, until

GAUGES = (
    "checked_out",
    "idle",
    "shared",
    "open",
    "overflow",
    "waiting",
    "peak_checked_out",
    "peak_open",
    "peak_waiting",
    "checkouts",
    "connects",
    "connect_errors",
    "closes",
    "rejections",
    "query_errors",
    "acquire",
    "hold",
)


# --- help ---------------------------------------------------------------------------------------


async def test_help_names_every_parameter_gauge_and_key() -> None:
    host = Host(HelpScreen())
    async with host.run_test(size=(120, 36)) as pilot:
        await opened(pilot)
        page = host.modal.query_one("#page")
        seen = [screen_text(host)]
        while page.scroll_y < page.max_scroll_y:  # read it page by page, as a person would
            before = page.scroll_y
            await pilot.press("pagedown")
            await until(pilot, lambda before=before: page.scroll_y > before)
            seen.append(screen_text(host))
        text = "\n".join(seen)
        for name in [*POOL_FIELDS, *WORKLOAD_FIELDS, *GAUGES]:
            assert name in text, name
        for sentence in list(PARAMETER_HELP.values())[:3]:
            assert sentence.split(".")[0][:40] in " ".join(text.split()), sentence
        for key in ("ctrl+p", "ctrl+q", "enter"):
            assert key in text
        await pilot.press("q")
        await until(pilot, lambda: host.result is None)


async def test_help_scrolls_and_closes_on_escape() -> None:
    host = Host(HelpScreen(keys=[("x", "a key the app passed in")]))
    async with host.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        page = host.modal.query_one("#page")
        assert page.max_scroll_y > 0  # more than a screenful: it must scroll
        await pilot.press("end")
        await until(pilot, lambda: page.scroll_y == page.max_scroll_y)
        assert "a key the app passed in" in screen_text(host)
        assert set(GAUGE_HELP) >= {"checked_out", "waiting", "histograms"}
        await pilot.press("escape")
        await until(pilot, lambda: host.result is None)


# --- profiles -----------------------------------------------------------------------------------


def current_profile() -> Profile:
    return Profile(
        name="mine",
        description="what the sliders say",
        pool=PoolConfig(maxconnections=7, mincached=2, maxcached=4),
        workload=Workload(threads=5, hold_ms=2.5),
    )


async def listed(pilot: Pilot, screen: ProfilesScreen) -> None:
    """The screen reads the profile files in a thread: wait until it has listed them."""
    await opened(pilot)
    await until(pilot, lambda: screen.listed)


async def test_profiles_load_a_shipped_profile() -> None:
    screen = ProfilesScreen(current_profile())
    host = Host(screen)
    async with host.run_test(size=(120, 36)) as pilot:
        await listed(pilot, screen)
        names = [e.profile.name for e in screen.entries if e.profile]
        assert "web-api" in names
        shipped = next(e for e in screen.entries if e.profile and e.profile.name == "web-api")
        assert shipped.where == "shipped"
        index = screen.entries.index(shipped)
        await pilot.press("home", *["down"] * index)
        await until(pilot, lambda: screen.highlighted_entry() is shipped)
        assert "maxconnections" in screen_text(host)
        await pilot.press("l")
        await until(pilot, lambda: host.result is not NO_RESULT)
        assert host.result == load_profile(shipped.path)


async def test_profiles_save_as_goes_to_the_user_dir_and_is_listed() -> None:
    screen = ProfilesScreen(current_profile())
    host = Host(screen)
    async with host.run_test(size=(120, 36)) as pilot:
        await listed(pilot, screen)
        await pilot.press("n")
        name_input = screen.query_one("#name", Input)
        assert screen.focused is name_input
        name_input.value = ""
        await pilot.press(*"tuned-1", "enter")
        path = user_profiles_dir() / "tuned-1.toml"
        await until(pilot, lambda: path.is_file())
        assert load_profile(path) == replace(current_profile(), name="tuned-1")
        # listed again, the new one under the cursor
        await until(pilot, lambda: getattr(screen.highlighted_entry(), "path", None) == path)
        entry = screen.highlighted_entry()
        assert entry is not None and entry.where == "user" and entry.profile is not None
        assert host.result is NO_RESULT  # saving does not close the screen
        await pilot.press("escape")
        await until(pilot, lambda: host.result is None)


async def test_profiles_refuse_a_bad_name() -> None:
    screen = ProfilesScreen(current_profile())
    host = Host(screen)
    async with host.run_test(size=(120, 36)) as pilot:
        await listed(pilot, screen)
        screen.query_one("#name", Input).value = "../escape"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "name of letters" in static_text(screen, "#error"))
        assert not (user_profiles_dir().parent / "escape.toml").exists()
        assert not user_profiles_dir().exists() or not list(user_profiles_dir().iterdir())


async def test_profiles_show_an_invalid_profile_error_in_place() -> None:
    user_dir = user_profiles_dir()
    user_dir.mkdir(parents=True)
    broken = user_dir / "broken.toml"
    broken.write_text('name = "broken"\n[pool]\nmaxconections = 3\n', encoding="utf-8")
    screen = ProfilesScreen(current_profile())
    host = Host(screen)
    async with host.run_test(size=(120, 36)) as pilot:
        await listed(pilot, screen)
        entry = next(e for e in screen.entries if e.path == broken)
        assert entry.profile is None and entry.error and "maxconections" in entry.error
        index = screen.entries.index(entry)
        await pilot.press("home", *["down"] * index)
        await until(pilot, lambda: screen.highlighted_entry() is entry)
        await pilot.press("enter")
        await until(pilot, lambda: "maxconections" in static_text(screen, "#error"))
        assert host.result is NO_RESULT and host.screen is screen
        assert "maxconections" in " ".join(screen_text(host).split())


# --- connect ------------------------------------------------------------------------------------


def connect_host() -> tuple[ConnectScreen, Host, list[Any]]:
    screen = ConnectScreen()
    return screen, Host(screen), []


async def type_dsn(pilot: Pilot, screen: ConnectScreen, dsn: str) -> None:
    field = screen.query_one("#dsn", Input)
    field.focus()
    field.value = dsn
    await pilot.press("enter")


async def test_the_password_hint_names_the_typed_dsns_variable() -> None:
    """The hint said PGPASSWORD whatever was typed: an ODBC DSN reads POOLTUI_ODBC_PASSWORD,
    MySQL's MYSQL_PWD, and a SQLite file has none."""
    screen, host, _ = connect_host()
    async with host.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        dsn, password = screen.query_one("#dsn", Input), screen.query_one("#password", Input)
        assert password.placeholder.endswith("PGPASSWORD")  # the example DSN is PostgreSQL's
        for typed, said in (
            ("odbc:Driver={MariaDB Unicode};Server=127.0.0.1", "POOLTUI_ODBC_PASSWORD"),
            ("mysql://root@127.0.0.1/test", "MYSQL_PWD"),
            ("postgresql://u@h/db", "PGPASSWORD"),
        ):
            dsn.value = typed
            await pilot.pause()
            assert password.placeholder.endswith(said), typed
            assert len(password.placeholder) <= password.content_region.width
        dsn.value = "sqlite:///x.db"
        await pilot.pause()
        assert "no password" in password.placeholder


def checked(messages: list[Any]) -> list[ConnectScreen.TargetChecked]:
    return [m for m in messages if isinstance(m, ConnectScreen.TargetChecked)]


def failed(messages: list[Any]) -> list[ConnectScreen.TargetCheckFailed]:
    return [m for m in messages if isinstance(m, ConnectScreen.TargetCheckFailed)]


def assert_report_shown(host: Host, message: ConnectScreen.TargetChecked) -> None:
    text = " ".join(screen_text(host).split())
    report = message.report
    assert report.server.version.split()[0] in text
    assert f"{report.facts.module_name}, threadsafety {report.facts.threadsafety}" in text
    if report.server.max_connections is not None:
        assert f"max_connections {report.server.max_connections}" in text
    assert ms(report.latencies.query_ms) in text
    for note in report.facts.notes:
        assert note[:30] in text


@pytest.mark.postgres
async def test_connect_to_postgresql_and_use_it(pg_dsn: str) -> None:
    screen, host, messages = connect_host()
    async with host.run_test(size=(120, 36), message_hook=messages.append) as pilot:
        await opened(pilot)
        await type_dsn(pilot, screen, pg_dsn)
        await until(pilot, lambda: bool(checked(messages)))
        await pilot.pause()
        message = checked(messages)[0]
        assert message.target.backend == "postgresql"
        assert_report_shown(host, message)
        assert not failed(messages)
        await pilot.press("ctrl+u")
        await until(pilot, lambda: host.result is not NO_RESULT)
        assert host.result is message.target


@pytest.mark.mariadb
async def test_connect_to_mariadb_with_the_use_button(mysql_dsn: str) -> None:
    screen, host, messages = connect_host()
    async with host.run_test(size=(120, 36), message_hook=messages.append) as pilot:
        await opened(pilot)
        await type_dsn(pilot, screen, mysql_dsn)
        await until(pilot, lambda: bool(checked(messages)))
        await pilot.pause()
        message = checked(messages)[0]
        assert message.target.backend == "mysql" and message.report.facts.can_ping
        assert_report_shown(host, message)
        await pilot.click("#use")
        await until(pilot, lambda: host.result is not NO_RESULT)
        assert host.result is message.target


@pytest.mark.postgres
async def test_connect_refused_port_shows_a_sentence_and_stays_usable(pg_dsn: str) -> None:
    screen, host, messages = connect_host()
    async with host.run_test(size=(120, 36), message_hook=messages.append) as pilot:
        await opened(pilot)
        await type_dsn(pilot, screen, "postgresql://postgres@127.0.0.1:1/test")
        await until(pilot, lambda: bool(failed(messages)))
        await pilot.pause()
        error = failed(messages)[0].error
        assert error and "Traceback" not in error and "\n" not in error.strip()
        assert static_text(screen, "#error") == error
        assert "Traceback" not in screen_text(host)
        assert screen.query_one("#use").disabled
        await pilot.press("ctrl+u")  # Use on a DSN that does not work: checks, stays open
        await until(pilot, lambda: len(failed(messages)) == 2)
        assert host.result is NO_RESULT and host.screen is screen
        await type_dsn(pilot, screen, pg_dsn)  # the screen is still usable
        await until(pilot, lambda: bool(checked(messages)))
        await pilot.pause()
        assert static_text(screen, "#error") == ""
        await pilot.press("escape")
        await until(pilot, lambda: host.result is None)


async def test_connect_bad_scheme_is_refused_at_once() -> None:
    screen, host, messages = connect_host()
    async with host.run_test(size=(120, 36), message_hook=messages.append) as pilot:
        await opened(pilot)
        await type_dsn(pilot, screen, "redis://127.0.0.1:6379/0")
        await until(pilot, lambda: static_text(screen, "#error") != "")
        error = static_text(screen, "#error")
        assert "redis" in error or "postgresql://" in error
        assert not checked(messages) and not failed(messages)  # no worker was needed
        assert host.screen is screen and screen.query_one("#use").disabled


@pytest.mark.postgres
async def test_connect_never_shows_the_password(pg_dsn: str) -> None:
    secret_dsn = "postgresql://postgres:s3cret@127.0.0.1:5432/test"  # trust auth ignores it
    screen, host, messages = connect_host()
    async with host.run_test(size=(120, 36), message_hook=messages.append) as pilot:
        await opened(pilot)
        await type_dsn(pilot, screen, secret_dsn)
        await until(pilot, lambda: bool(checked(messages)))
        await pilot.pause()
        svg = host.export_screenshot()
        assert "s3cret" not in svg and "s3cret" not in screen_text(host)
        first = checked(messages)[0].target
        shown = screen.query_one("#dsn", Input).value
        assert shown == first.redacted and "***" in shown and first.has_password
        # testing again uses the private DSN, not the redacted text in the field
        screen.query_one("#dsn", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: len(checked(messages)) == 2)
        assert checked(messages)[1].target == first
        # a password typed into its own field is masked too
        screen.query_one("#password", Input).value = "hunter22"
        screen.query_one("#dsn", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: len(checked(messages)) == 3)
        await pilot.pause()
        svg = host.export_screenshot()
        for secret in ("s3cret", "hunter22"):
            assert secret not in svg and secret not in screen_text(host)
        await pilot.press("ctrl+u")
        await until(pilot, lambda: host.result is not NO_RESULT)
        assert host.result is checked(messages)[2].target
        assert "s3cret" not in repr(host.result) and "hunter22" not in repr(host.result)


async def test_connect_to_the_embedded_demo() -> None:
    screen, host, messages = connect_host()
    async with host.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await opened(pilot)
        await pilot.press("ctrl+d")
        await until(pilot, lambda: bool(checked(messages) or failed(messages)))
        assert not failed(messages), failed(messages)[0].error
        message = checked(messages)[0]
        assert message.target.kind == "sqlite"
        await pilot.pause()
        assert screen.query_one("#dsn", Input).value == message.target.redacted
        await pilot.press("ctrl+u")
        await until(pilot, lambda: host.result is not NO_RESULT)
        assert host.result is message.target


# --- export -------------------------------------------------------------------------------------


def export_profile() -> Profile:
    return Profile(
        name="web test",
        description="exported by the screen test",
        dsn="postgresql://postgres@127.0.0.1:5432/test",
        pool=PoolConfig(maxconnections=6, mincached=2, maxcached=4, ping_query="SELECT 1"),
        workload=Workload(threads=4, hold_ms=1.5),
    )


def secret_target() -> Target:
    return parse_dsn("postgresql://postgres:s3cret@127.0.0.1:5432/test")


async def test_export_saves_toml_that_loads_back(tmp_path: Path) -> None:
    screen = ExportScreen(export_profile(), secret_target())
    host = Host(screen)
    async with host.run_test(size=(120, 36)) as pilot:
        await opened(pilot)
        file_input = screen.query_one("#file", Input)
        assert file_input.value == "web_test.toml"
        preview = screen.query_one("#toml-text", TextArea).text
        assert preview == screen.text("toml") and "s3cret" not in preview
        path = tmp_path / "out" / "web.toml"
        file_input.value = str(path)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: path.is_file())
        assert path.read_text(encoding="utf-8") == preview
        assert load_profile(path) == export_profile()
        assert tomllib.loads(preview)["pool"]["maxconnections"] == 6
        assert static_text(screen, "#error") == ""
        assert host.screen is screen  # saving keeps the screen open


async def test_export_saves_python_that_compiles(tmp_path: Path) -> None:
    screen = ExportScreen(export_profile(), secret_target())
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await pilot.press("y")
        await until(pilot, lambda: screen.format == "python")
        file_input = screen.query_one("#file", Input)
        assert file_input.value == "pool_web_test.py"
        code = screen.query_one("#python-text", TextArea).text
        assert code == screen.text("python") and "PooledDB" in code
        assert "s3cret" not in code and "s3cret" not in host.export_screenshot()
        path = tmp_path / "pool.py"
        file_input.value = str(path)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: path.is_file())
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
        assert "maxconnections" in code
        await pilot.press("c")
        assert host.clipboard == code
        await pilot.press("t")
        await until(pilot, lambda: screen.format == "toml")
        assert file_input.value == str(path.with_suffix(".toml"))  # its stem, TOML's extension


async def test_export_unwritable_path_shows_an_error_in_place(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be", encoding="utf-8")
    screen = ExportScreen(export_profile(), secret_target())
    host = Host(screen)
    async with host.run_test(size=(120, 36)) as pilot:
        await opened(pilot)
        screen.query_one("#file", Input).value = str(blocker / "web.toml")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: static_text(screen, "#error") != "")
        error = static_text(screen, "#error")
        assert str(blocker) in error and "Traceback" not in error
        assert host.screen is screen and host.result is NO_RESULT
        assert list(tmp_path.iterdir()) == [blocker]
        await pilot.press("escape")
        await until(pilot, lambda: host.result is None)


# --- run details --------------------------------------------------------------------------------


def sqlite_run(dsn: str, config: PoolConfig, workload: Workload) -> RunResult:
    """A short real run against the SQLite fixture; the pool is always closed."""
    pool = InstrumentedPool(parse_dsn(dsn), config)
    try:
        return engine.run(pool, workload)
    finally:
        pool.close()


def two_runs(dsn: str) -> RunHistory:
    history = RunHistory()
    first = Workload(threads=2, duration_s=2.0, requests=200, query="SELECT count(*) FROM items")
    second = replace(first, threads=3, hold_ms=0.5)
    config_1 = PoolConfig(maxconnections=2, maxcached=2)
    config_2 = PoolConfig(maxconnections=3, maxcached=3, ping=0)
    history.add(config_1, first, sqlite_run(dsn, config_1, first))
    history.add(config_2, second, sqlite_run(dsn, config_2, second))
    history.mark_baseline(1)
    return history


async def test_run_details_show_figures_deltas_and_load(sqlite_dsn: str) -> None:
    history = two_runs(sqlite_dsn)
    baseline, record = history.records
    assert record.result.requests > 0 and baseline.result.requests > 0
    screen = RunDetailsScreen(history, history.group(record.number))
    host = Host(screen)
    async with host.run_test(size=(120, 80)) as pilot:
        await opened(pilot)
        text = " ".join(screen_text(host).split())
        assert history.changes(history.group(record.number)) in text
        mine, theirs = record.result, baseline.result
        change = (mine.throughput_rps - theirs.throughput_rps) / theirs.throughput_rps
        throughput_row = (
            f"throughput (req/s) {figure(mine.throughput_rps, 'req/s')} "
            f"{figure(theirs.throughput_rps, 'req/s')} {change:+.1%}"
        )
        assert throughput_row in text
        assert (
            f"latency p95 (ms) {figure(mine.latency.p95, 'ms')} "
            f"{figure(theirs.latency.p95, 'ms')}" in text
        )
        assert f"peak open {mine.pool.peak_open:,} {theirs.pool.peak_open:,}" in text
        assert f"connects {mine.pool.connects:,} {theirs.pool.connects:,}" in text
        assert "maxconnections 3 2" in text and "threads 3 2" in text and "hold_ms 0.5 0" in text
        for name in ("acquire wait p99", "query p50", "hold max", "peak waiting", "rejections"):
            assert name in text
        await pilot.press("l")
        await until(pilot, lambda: host.result is not NO_RESULT)
        assert host.result is True


async def test_run_details_of_the_baseline_itself_and_escape(sqlite_dsn: str) -> None:
    history = two_runs(sqlite_dsn)
    screen = RunDetailsScreen(history, history.group(1))
    host = Host(screen)
    async with host.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        text = " ".join(screen_text(host).split())
        assert "This is the baseline." in text and "change" not in text
        await pilot.press("escape")
        await until(pilot, lambda: host.result is not NO_RESULT)
        assert host.result is False


async def test_run_details_show_the_tail_of_a_starved_run(sqlite_dsn: str) -> None:
    """8 threads on 2 SQLite connections starve most of them (test_engine says why): the
    details show p99.9, fairness, the starved threads, the timeout what-if and the finding."""
    history = RunHistory()
    config, workload = PoolConfig(maxconnections=2, maxcached=2), Workload(threads=8, duration_s=2)
    record = history.add(config, workload, sqlite_run(sqlite_dsn, config, workload))
    result = record.result
    assert result.starved, [(t.name, t.ok) for t in result.per_thread]
    screen = RunDetailsScreen(history, history.group(record.number))
    host = Host(screen)
    async with host.run_test(size=(120, 80)) as pilot:
        await opened(pilot)
        text = " ".join(screen_text(host).split())
        assert f"acquire wait p99.9 (ms) {figure(result.acquire.p999, 'ms')}" in text
        assert f"fairness (Jain, 1 = even) {result.fairness:,.2f}" in text
        assert f"starved threads {len(result.starved):,}" in text
        assert f"{len(result.starved)} starved (served < 10% of the mean)" in text
        assert "acquire timeout what-if" in text
        assert "finding: " in text and "unfair handoff" in text


async def test_run_details_show_each_leak_with_its_stack(sqlite_dsn: str) -> None:
    """The event log only says a leak was found; the details show where: a load loop's
    worker's stack when it was found, inside the engine's request."""
    config, workload = PoolConfig(maxconnections=1), Workload(threads=1, duration_s=1, hold_ms=400)
    pool = InstrumentedPool(parse_dsn(sqlite_dsn), config, leak_threshold_s=0.1)
    try:
        result = engine.run(pool, workload)
    finally:
        pool.close()
    assert result.leaks and all(leak.returned for leak in result.leaks)
    history = RunHistory()
    record = history.add(config, workload, result)
    screen = RunDetailsScreen(history, history.group(record.number))
    host = Host(screen)
    async with host.run_test(size=(120, 80)) as pilot:
        await opened(pilot)
        text = " ".join(screen_text(host).split())
        first = result.leaks[0]
        assert f"leak: held {seconds(first.held_s)} by thread {first.thread}" in text
        assert "held at," in text and "when found:" in text  # the line may wrap between them
        assert "engine.py" in text and "in request" in text
    plain = leaks_text(record).plain  # one worker held at one line: one entry with the count
    assert plain.count("leak: held") == 1
    assert len(result.leaks) == 1 or f"and {len(result.leaks) - 1} more leak" in plain
