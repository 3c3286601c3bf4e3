"""A whole job in a process of its own, as the console's bursts are (see the package doc).

An A/B comparison builds, warms, runs and closes its own two pools: in the console's process
its runs would share the UI's GIL while the bursts beside them in the Runs table did not, and
the table would compare the two; the wizard's verify burst, set beside its prediction, and
the Sweep screen's tune, whose figures are the CLI's, too.
``run_hosted`` forks a child from the pool host's forkserver that calls ``job(target, *args,
stop=..., report=...)``; what the job reports (``report(kind, payload)``: picklable values)
reaches ``on_report`` in the caller's thread, the caller's stop reaches the job within
STOP_POLL_S, and the job's result or failure comes back as HostedPool's do. The child ends
with the job; the console's end (the pipe closes, even on SIGKILL) or SIGTERM sets the job's
stop, and every job closes what it opened on its stop path.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pooltui.core.errors import RunFailed
from pooltui.core.host.child import Orders
from pooltui.core.host.hosted import FORKSERVER, STOP_POLL_S, real_stdio
from pooltui.core.host.protocol import (
    DONE,
    FAILED,
    STOP,
    Channel,
    death_sentence,
    failure_of,
    raised,
    settle_child,
)

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from pooltui.core.compare.runner import Comparison, Side
    from pooltui.core.config import PoolConfig, Workload
    from pooltui.core.diagnosis.verify import Measured
    from pooltui.core.targets import Target
    from pooltui.core.tune.tuner import TuneProgress, TuneRequest, TuneResult

REPORT = "report"  # child -> parent: (kind, payload) from the job
T = TypeVar("T")
Report = Callable[[str, Any], None]


def run_hosted(
    job: Callable[..., T],
    target: Target,
    *args: Any,
    stop: threading.Event | None = None,
    on_report: Report | None = None,
) -> T:
    """``job(target, *args, stop=, report=)`` in a forked child; blocks until it ends (workers
    only). Raises what the job raised, as BadInput, CannotConnect or RunFailed with its
    sentence, and RunFailed if the child dies."""
    parent_end, child_end = FORKSERVER.Pipe()
    process = FORKSERVER.Process(
        target=_job_main,
        args=(job, target, args, child_end),
        daemon=True,
        name="pooltui-job",
    )
    with real_stdio():
        process.start()
    child_end.close()
    channel = Channel(parent_end)
    stop_sent = False
    try:
        while True:
            if stop is not None and stop.is_set() and not stop_sent:
                stop_sent = channel.send(STOP)
            try:
                if not parent_end.poll(STOP_POLL_S):
                    continue
                kind, payload = parent_end.recv()
            except (EOFError, OSError):
                raise RunFailed(death_sentence(process, "The job's process")) from None
            if kind == REPORT and on_report is not None:
                report_kind, report_payload = payload
                on_report(report_kind, report_payload)
            elif kind == DONE:
                result: T = payload
                return result
            elif kind == FAILED:
                raise raised(payload)
    finally:
        with contextlib.suppress(OSError):
            parent_end.close()  # a child still running sees the pipe end: its job stops
        process.join(15.0)
        if process.is_alive():
            process.kill()
            process.join(2.0)


def _job_main(
    job: Callable[..., Any], target: Target, args: tuple[Any, ...], conn: Connection
) -> None:
    """The job's process: quiet, the parent's signals ignored, its orders read by a thread."""
    orders = Orders()
    settle_child(orders.close)
    channel = Channel(conn)
    threading.Thread(
        target=orders.listen, args=(conn,), daemon=True, name="pooltui-job-orders"
    ).start()

    def report(kind: str, payload: Any) -> None:
        channel.send(REPORT, (kind, payload))

    try:
        result = job(target, *args, stop=orders.stop, report=report)
    except BaseException as exc:
        channel.send(FAILED, failure_of(exc, target))
    else:
        channel.send(DONE, result)
    finally:
        with contextlib.suppress(OSError):
            conn.close()


def comparison(
    target: Target,
    a: Side,
    b: Side,
    rounds: int,
    leak_threshold_s: float | None,
    *,
    stop: threading.Event,
    report: Report,
) -> Comparison:
    """``compare.run_comparison`` as a hosted job: each finished run reported as
    ``("progress", RunDone)`` (its pool left out: it stays in the child) and each sample as
    ``("sample", (side, Sample))``."""
    from dataclasses import replace

    from pooltui.core.compare.runner import run_comparison

    return run_comparison(
        target,
        a,
        b,
        rounds,
        stop=stop,
        on_progress=lambda done: report("progress", replace(done, pool=None)),
        on_sample=lambda side, sample: report("sample", (side, sample)),
        leak_threshold_s=leak_threshold_s,
    )


def verification(
    target: Target,
    config: PoolConfig,
    workload: Workload,
    *,
    stop: threading.Event,
    report: Report,
) -> Measured:
    """The wizard's verify burst (``diagnosis.verify.measure``) as a hosted job: what it
    measures is set beside the queueing prediction, so it runs as the bursts do."""
    from pooltui.core.diagnosis.verify import measure

    return measure(target, config, workload, stop=stop)


def tuning(
    target: Target, request: TuneRequest, *, stop: threading.Event, report: Report
) -> TuneResult:
    """``tune.tuner.tune`` as a hosted job (the Sweep screen's): each step reported as
    ``("progress", TuneProgress)``; its measurements are the CLI's, with no UI beside them."""
    from dataclasses import replace

    from pooltui.core.tune.tuner import tune

    def progress(p: TuneProgress) -> None:
        # a proof run's pool stays in the child (it holds locks; the runner closes it)
        report("progress", replace(p, run=replace(p.run, pool=None)) if p.run else p)

    return tune(target, request, stop=stop, on_progress=progress)
