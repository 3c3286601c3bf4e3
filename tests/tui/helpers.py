"""What the console's tests share: waiting for a state, the console driver, a host for one
modal screen, bursts and sliders driven as a person would, and the screen's text."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.message import Message
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.profiles import Profile
from pooltui.core.targets import parse_dsn
from pooltui.tui.app import PoolTuiApp, make_app
from pooltui.tui.messages import BurstFinished
from pooltui.tui.widgets.event_log import EventLog
from pooltui.tui.widgets.gauge import GaugeRow
from pooltui.tui.widgets.live_panel import LivePanel
from pooltui.tui.widgets.param_panel import ParamPanel
from pooltui.tui.widgets.slider import Slider

SIZE = (120, 36)
SMALL_POOL = PoolConfig(maxconnections=4, maxcached=4)
SHORT_BURST = Workload(threads=4, duration_s=1.0)
NO_RESULT = object()


async def until(pilot: Pilot, condition: Callable[[], Any], timeout: float = 60.0) -> None:
    """Let the app run until ``condition`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the console did not reach the expected state in time")
        await pilot.pause(0.05)


def seen(messages: list[Message], kind: type[Message]) -> list[Any]:
    return [m for m in messages if isinstance(m, kind)]


def console(
    dsn: str, pool: PoolConfig | None = None, workload: Workload | None = None
) -> tuple[PoolTuiApp, list[Message]]:
    """An app on ``dsn`` and the list its messages are recorded into."""
    profile = Profile("test", pool=pool or SMALL_POOL, workload=workload or SHORT_BURST)
    return make_app(parse_dsn(dsn), profile, check_target=False), []


class Console:
    """A console app plus what the tests watch: its messages and its notifications."""

    def __init__(
        self,
        dsn: str,
        pool: PoolConfig = SMALL_POOL,
        workload: Workload = SHORT_BURST,
        *,
        check: bool = False,
    ) -> None:
        self.target = parse_dsn(dsn)
        self.app: PoolTuiApp = make_app(
            self.target, Profile("test", pool=pool, workload=workload), check_target=check
        )
        self.messages: list[Message] = []
        self.notes: list[tuple[str, str]] = []
        self.on_message: Callable[[Message], None] | None = None
        original = self.app.notify

        def notify(message: str, *args: Any, **kwargs: Any) -> None:
            self.notes.append((kwargs.get("severity", "information"), str(message)))
            original(message, *args, **kwargs)

        self.app.notify = notify  # type: ignore[method-assign]

    def hook(self, message: Message) -> None:
        self.messages.append(message)
        if self.on_message is not None:
            self.on_message(message)

    def run(self, size: tuple[int, int] = SIZE) -> Any:
        return self.app.run_test(size=size, message_hook=self.hook)

    def seen(self, kind: type[Message]) -> list[Any]:
        return seen(self.messages, kind)

    @property
    def panel(self) -> ParamPanel:
        return self.app.tune.panel

    @property
    def log(self) -> EventLog:
        return self.app.tune.events

    def slider(self, name: str) -> Slider:
        return self.app.tune.query_one(f"#param-{name}", Slider)

    def gauge(self, name: str) -> GaugeRow:
        return self.app.tune.query_one(LivePanel).gauges.row(name)

    def status(self) -> str:
        return str(self.app.tune.query_one("#status", Static).render())


async def burst(pilot: Pilot, console: Console) -> BurstFinished:
    """Press b and wait for that burst's BurstFinished."""
    before = len(console.seen(BurstFinished))
    await pilot.press("b")
    await until(pilot, lambda: len(console.seen(BurstFinished)) > before)
    await console.app.workers.wait_for_complete()
    await pilot.pause()
    return console.seen(BurstFinished)[-1]


async def set_slider(pilot: Pilot, console: Console, name: str, value: float) -> None:
    """Move a slider with the keyboard, one step at a time, as a person would."""
    slider = console.slider(name)
    slider.focus()
    await pilot.pause()
    key = "right" if value > slider.value else "left"
    for _ in range(1000):
        if slider.value == value:
            break
        await pilot.press(key)
    assert slider.value == value


async def prepare_ab(pilot: Pilot, console: Console, maxconnections: int) -> None:
    """A burst made the baseline, then the sliders at B (``maxconnections``) for one round of
    A/B/B/A: what `a` compares next."""
    await pilot.pause()
    await burst(pilot, console)
    await pilot.press("m")
    await set_slider(pilot, console, "maxconnections", maxconnections)
    await set_slider(pilot, console, "repeats", 1)  # one round: A/B/B/A


class Host(App[None]):
    """An empty app whose only job is to push the screen under test and keep its result."""

    def __init__(self, modal: Screen[Any]) -> None:
        super().__init__()
        self.modal = modal
        self.result: Any = NO_RESULT

    def on_mount(self) -> None:
        self.push_screen(self.modal, self._dismissed)

    def _dismissed(self, result: Any) -> None:
        self.result = result


async def opened(pilot: Pilot) -> None:
    """The host's screen is on top and painted."""
    host = pilot.app
    assert isinstance(host, Host)
    await until(pilot, lambda: host.screen is host.modal)
    await pilot.pause()


def screen_text(app: App[Any]) -> str:
    """What is on the terminal: the text of the screenshot's cells, one space between runs.

    Blank cells are drawn as background only, so each text run is joined with a space.
    """
    svg = app.export_screenshot()
    runs = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return " ".join(html.unescape(run).replace("\xa0", " ") for run in runs)


def static_text(screen: Screen[Any], selector: str) -> str:
    return str(screen.query_one(selector, Static).render())
