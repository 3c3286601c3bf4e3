"""Issue 12 in the console: identical event lines fold into one counted line, the workload's
requests and think_ms are sliders, a DSN's application_name is said to be kept, the title
follows the target."""

from __future__ import annotations

from pooltui.core.targets import parse_dsn
from pooltui.tui.widgets.event_log import EventLog

from .helpers import Console, burst, set_slider, until


async def test_identical_events_fold_into_one_line_with_a_count(sqlite_dsn: str) -> None:
    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        await pilot.pause()
        log = console.app.tune.query_one(EventLog)
        before = len(log.lines)
        for _ in range(77):
            log.add("connection_lost", "A connection was lost (the checkout ping found it dead)")
        await pilot.pause()
        assert len(log.lines) == before + 1 and log.repeats() == 77
        assert "(×77)" in log.lines[-1].text  # noqa: RUF001
        log.add("info", "something else")
        log.add("connection_lost", "A connection was lost (the checkout ping found it dead)")
        await pilot.pause()
        assert len(log.lines) == before + 3 and log.repeats() == 1
        assert log.texts("connection_lost").count(log.texts("connection_lost")[0]) == 78


async def test_requests_and_think_ms_are_sliders(sqlite_dsn: str) -> None:
    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        await pilot.pause()
        await set_slider(pilot, console, "requests", 300)
        await set_slider(pilot, console, "think_ms", 3)
        assert console.panel.workload.requests == 300
        assert console.panel.workload.think_ms == 3.0
        finished = await burst(pilot, console)
        assert finished.result.workload.requests == 300
        assert finished.result.workload.think_ms == 3.0
        assert finished.result.requests <= 300


async def test_the_dsn_session_name_is_said_to_be_kept(pg_dsn: str) -> None:
    console = Console(pg_dsn + "?application_name=myapp")
    async with console.run() as pilot:
        await pilot.pause()
        said = [t for t in console.log.texts() if "myapp" in t]
        assert any("is kept" in t and "myapp/pooltui-" in t for t in said)


async def test_the_title_follows_the_target(sqlite_dsn: str, pg_dsn: str) -> None:
    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        await pilot.pause()
        assert "sqlite" in console.app.sub_title
        console.app.tune._connected(parse_dsn(pg_dsn), None)
        await until(pilot, lambda: "postgresql" in console.app.sub_title)


async def test_loading_a_profile_of_another_server_asks_and_says_why(sqlite_dsn: str) -> None:
    from pooltui.tui.screens.confirm import ConfirmScreen
    from pooltui.tui.screens.profiles import ProfilesScreen

    console = Console(sqlite_dsn)
    async with console.run() as pilot:
        await pilot.pause()
        before = console.panel.config
        for answer in ("n", "y"):
            await pilot.press("p")
            await until(pilot, lambda: isinstance(console.app.screen, ProfilesScreen))
            screen = console.app.screen
            assert isinstance(screen, ProfilesScreen)
            await until(pilot, lambda s=screen: s.listed)
            names = [e.profile.name if e.profile else "" for e in screen.entries]
            await pilot.press("home", *["down"] * names.index("batch-mariadb"), "l")
            await until(pilot, lambda: isinstance(console.app.screen, ConfirmScreen))
            question = str(console.app.screen.query_one("#question").render())
            assert "made for MySQL/MariaDB" in question and "SET SESSION" in question
            await pilot.press(answer)
            await until(pilot, lambda: console.app.screen is console.app.tune)
            await pilot.pause()
            if answer == "n":
                assert console.panel.config == before
        assert console.panel.config.setsession == ("SET SESSION max_statement_time = 60",)
        assert any("made for MySQL/MariaDB" in t for t in console.log.texts("warning"))


async def test_a_dead_target_is_tried_again_before_a_burst(pg_dsn: str) -> None:
    """The check at start failed (the proxy refused): b tries again first and starts nothing
    while it still refuses; once it answers, the same b runs the burst."""
    from pooltui.core.faults.proxy import FaultProxy
    from pooltui.tui.messages import BurstFinished, TargetRechecked

    direct = parse_dsn(pg_dsn)
    with FaultProxy(direct.host, direct.port or 5432) as proxy:
        proxy.refuse_new()
        host, port = proxy.address
        console = Console(f"postgresql://postgres@{host}:{port}/test", check=True)
        async with console.run() as pilot:
            await until(pilot, lambda: console.log.texts("error"))
            await pilot.pause()
            # the status line does not say "ready" about a target that did not answer
            assert "did not answer" in console.status() and "ready" not in console.status()
            await pilot.press("b")
            await until(pilot, lambda: console.seen(TargetRechecked))
            await pilot.pause()
            assert console.seen(TargetRechecked)[-1].error is not None
            assert "did not answer" in console.status()
            said = "Still no answer, so no run started. "
            assert any(t.startswith(said) for t in console.log.texts("error"))
            assert console.app.tune.running is None and not console.seen(BurstFinished)
            proxy.accept_new()
            await pilot.press("b")
            await until(pilot, lambda: console.seen(BurstFinished))
            assert console.seen(TargetRechecked)[-1].error is None
            assert any("answers again" in t for t in console.log.texts("connected"))
            await console.app.workers.wait_for_complete()
            await pilot.pause()
            assert console.status().startswith("ready")
