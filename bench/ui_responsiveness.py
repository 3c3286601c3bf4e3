"""Does the console stay responsive while a burst saturates the pool, and what does it cost?

With the console open (headless Textual, 120x36) and a burst of 64 threads against
maxconnections 8 on PostgreSQL, this measures:
- the event loop's lag: a 100 ms timer on the console's loop, late by how much (goal: p95 < 50 ms);
- the gauge refresh rate: how often the live gauges were redrawn during the run (goal: >= 4/s);
- the burst's throughput in the console vs the same burst run headless by `pooltui bench` in a
  subprocess, alternating console/headless rounds in one run (goal: >= 0.95);
- and, to split the console's cost into the engine's sampling and the UI's share, the same burst
  headless in a subprocess with the console's sampler (a sample every 0.2 s, each taking the
  histogram deltas and percentiles the console gets, handed to a callback that drops it).

The console's burst runs in its pool's own process (core/host): the UI thread's CPU, printed
below, competes with the burst for the machine's cores, no longer for the workers' GIL.

The console runs without the history file (``keep_history=False``): with it, a previous session's
record made the wait for "a record" end at once and the round report a stale throughput.

    .venv/bin/python bench/ui_responsiveness.py [--seconds 4] [--rounds 2] [--dsn DSN]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter, thread_time

from textual.screen import Screen

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.profiles import Profile
from pooltui.core.targets import parse_dsn
from pooltui.tui.app import make_app
from pooltui.tui.widgets.live_panel import LivePanel

THREADS, LIMIT = 64, 8
# how often the lag probe wakes the event loop: the probe is the bench's, not the console's, so
# it wakes as little as a lag figure allows (in-process, a 10 ms probe cost the burst ~4 %)
PROBE_S = 0.1
CONFIG = PoolConfig(mincached=LIMIT, maxcached=LIMIT, maxconnections=LIMIT, blocking=True, ping=0)


def headless_round(dsn: str, seconds: float) -> float:
    """`pooltui bench` in its own process: the burst with nobody drawing it."""
    command = [
        sys.executable,
        "-m",
        "pooltui",
        "bench",
        "--dsn",
        dsn,
        "--json",
        "--threads",
        str(THREADS),
        "--duration",
        str(seconds),
    ]
    for key in ("mincached", "maxcached", "maxconnections", "ping"):
        command += ["--set", f"{key}={getattr(CONFIG, key)}"]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    return json.loads(done.stdout)["throughput_rps"]


def sampled_round(dsn: str, seconds: float) -> float:
    """The burst headless in its own process, sampled as the console samples it (no UI)."""
    command = [sys.executable, __file__, "--sampled-child", "--dsn", dsn, "--seconds", str(seconds)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    return float(done.stdout.split()[-1])


def sampled_child(dsn: str, seconds: float) -> None:
    """What `pooltui bench` does, with the console's sample interval and a callback that drops."""
    from pooltui.core.load import engine
    from pooltui.core.pool import InstrumentedPool
    from pooltui.tui.screens.tune import TuneScreen

    workload = Workload(threads=THREADS, duration_s=seconds, query="SELECT 1")
    pool = InstrumentedPool(parse_dsn(dsn), CONFIG)
    try:
        result = engine.run(
            pool,
            workload,
            on_sample=lambda _sample: None,
            sample_interval_s=TuneScreen.SAMPLE_INTERVAL_S,
        )
    finally:
        pool.close()
    print(result.throughput_rps)


@dataclass
class ConsoleRound:
    """One console burst: its throughput, the loop's lags (s), gauge redraws per second, and
    where the UI thread's CPU went while it ran."""

    throughput_rps: float
    lags: list[float]
    redraw_rate: float
    wall_s: float
    ui_cpu_s: float
    paint_cpu_s: float  # of ui_cpu_s: Textual's compositor turning dirty widgets into a frame
    layout_cpu_s: float  # of ui_cpu_s: layout passes


async def console_round(dsn: str, seconds: float) -> ConsoleRound:
    """The same burst started with `b` in the console."""
    profile = Profile(
        name="bench",
        pool=CONFIG,
        workload=Workload(threads=THREADS, duration_s=seconds, query="SELECT 1"),
    )
    app = make_app(parse_dsn(dsn), profile, check_target=False, keep_history=False)
    redraws: list[float] = []
    spent = {"paint": 0.0, "layout": 0.0}
    patched = {
        (LivePanel, "show_stats"): LivePanel.show_stats,
        (Screen, "_compositor_refresh"): Screen._compositor_refresh,
        (Screen, "_refresh_layout"): Screen._refresh_layout,
    }

    def counted(panel: LivePanel, *args: object, **kwargs: object) -> None:
        redraws.append(perf_counter())
        patched[LivePanel, "show_stats"](panel, *args, **kwargs)

    def timed(key: tuple[type, str], share: str) -> Callable[..., object]:
        def call(self: object, *args: object, **kwargs: object) -> object:
            began = thread_time()
            try:
                return patched[key](self, *args, **kwargs)
            finally:
                spent[share] += thread_time() - began

        return call

    LivePanel.show_stats = counted  # type: ignore[method-assign]
    Screen._compositor_refresh = timed((Screen, "_compositor_refresh"), "paint")  # type: ignore[method-assign]
    Screen._refresh_layout = timed((Screen, "_refresh_layout"), "layout")  # type: ignore[method-assign]
    lags: list[float] = []
    try:
        async with app.run_test(size=(120, 36)) as pilot:

            async def probe(until: float) -> None:
                """The lag probe also watches for the run's record: a second watcher waking
                the loop 20 times a second would cost the console's burst, not the console."""
                while not app.history.records and perf_counter() < until:  # no file: none before
                    woke = perf_counter()
                    await asyncio.sleep(PROBE_S)
                    lags.append(perf_counter() - woke - PROBE_S)

            # as a user would: the console drawn and idle before b (startup's layout passes and
            # the footer's first compose ran inside the first burst and cost it ~0.3 s)
            await app.workers.wait_for_complete()
            await pilot.pause()
            redraws.clear()
            spent.update(paint=0.0, layout=0.0)
            started, cpu_started = perf_counter(), thread_time()  # this is the UI thread
            task = asyncio.create_task(probe(started + seconds + 60))
            await pilot.press("b")
            await task  # the burst runs in its own threads; we only watch
            ended, cpu_ended = perf_counter(), thread_time()
            shares = dict(spent)
            if not app.history.records:
                raise SystemExit("the console's burst did not finish within a minute")
            result = app.history.records[-1].result
            await pilot.press("ctrl+q")
    finally:
        for (owner, name), original in patched.items():
            setattr(owner, name, original)
    during = [t for t in redraws if started <= t <= ended]
    return ConsoleRound(
        throughput_rps=result.throughput_rps,
        lags=lags,
        redraw_rate=len(during) / (ended - started),
        wall_s=ended - started,
        ui_cpu_s=cpu_ended - cpu_started,
        paint_cpu_s=shares["paint"],
        layout_cpu_s=shares["layout"],
    )


def ratio_interval(
    console: list[float], headless: list[float], resamples: int = 10_000
) -> tuple[float, float]:
    """A 95 % bootstrap interval of sum(console) / sum(headless), resampling whole rounds (a
    round's two sides met the same moment of the machine): a ratio without it read 0.91 on a
    quiet machine and 0.95 on a loaded one, runs apart."""
    import numpy as np

    pairs = np.array([console, headless], dtype=float)
    picks = np.random.default_rng(0).integers(0, pairs.shape[1], (resamples, pairs.shape[1]))
    ratios = pairs[0][picks].sum(axis=1) / pairs[1][picks].sum(axis=1)
    low, high = np.quantile(ratios, [0.025, 0.975])
    return float(low), float(high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sampled-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sampled_child:
        sampled_child(args.dsn, args.seconds)
        return

    headless, sampled, console, all_lags, rates = [], [], [], [], []
    rounds: list[ConsoleRound] = []
    for _ in range(args.rounds):
        headless.append(headless_round(args.dsn, args.seconds))
        sampled.append(sampled_round(args.dsn, args.seconds))
        round_ = asyncio.run(console_round(args.dsn, args.seconds))
        console.append(round_.throughput_rps)
        all_lags.extend(round_.lags)
        rates.append(round_.redraw_rate)
        rounds.append(round_)
    p95_lag_ms = statistics.quantiles(all_lags, n=20)[-1] * 1000
    ratio = sum(console) / sum(headless)
    print(
        f"burst: {THREADS} threads, maxconnections {LIMIT}, {args.seconds:g} s x "
        f"{args.rounds} rounds, {parse_dsn(args.dsn).redacted}"
    )
    print(
        f"event-loop lag     p95 {p95_lag_ms:6.1f} ms  max {max(all_lags) * 1000:6.1f} ms "
        f"(goal p95 < 50 ms)"
    )
    print(
        f"gauge refresh      {min(rates):6.1f} /s min, {statistics.mean(rates):.1f} /s mean "
        f"(goal >= 4 /s)"
    )
    low, high = ratio_interval(console, headless)
    print(
        f"throughput         console {statistics.mean(console):8.0f} req/s, headless "
        f"{statistics.mean(headless):8.0f} req/s, ratio {ratio:.3f} [{low:.3f}, {high:.3f}] "
        "(95 % over the rounds; goal >= 0.95)"
    )
    print(
        f"                   headless sampled at 0.2 s {statistics.mean(sampled):8.0f} req/s, "
        f"ratio to headless {sum(sampled) / sum(headless):.3f} (the engine's sampling alone)"
    )
    wall = sum(r.wall_s for r in rounds)
    ui, paint, layout = (
        sum(getattr(r, k) for r in rounds) for k in ("ui_cpu_s", "paint_cpu_s", "layout_cpu_s")
    )
    rest = ui - paint - layout
    print(
        f"UI thread CPU      {ui / wall:6.1%} of the bursts' wall time: painting "
        f"{paint / wall:.1%}, layout {layout / wall:.1%}, the rest {rest / wall:.1%} "
        "(the burst runs in the pool's process: this competes for cores, not for its GIL)"
    )
    print(
        f"rounds             console {[round(x) for x in console]} "
        f"headless {[round(x) for x in headless]} sampled {[round(x) for x in sampled]}"
    )


if __name__ == "__main__":
    main()
