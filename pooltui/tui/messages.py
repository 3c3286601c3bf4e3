"""Messages the console's workers post (past tense: something happened) and its handlers apply.

Workers never touch widgets: they post one of these and the screen's handler, on the UI thread,
owns every state change. ``run_id`` ties a message to the run that produced it, so a late sample
of a finished or superseded run is recognised and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from pooltui.core.checks import CheckReport
    from pooltui.core.compare.runner import Comparison, RunDone
    from pooltui.core.config import PoolConfig, Workload
    from pooltui.core.fleet import FleetResult, FleetSample
    from pooltui.core.load.engine import RunResult, Sample, WarmupResult
    from pooltui.core.targets import Target


@dataclass
class TargetChecked(Message, bubble=False):
    """A target answered: it can be connected to, and this is what it looks like."""

    target: Target
    report: CheckReport


@dataclass
class TargetCheckFailed(Message, bubble=False):
    """A target could not be used; ``error`` is the one-sentence reason (no password)."""

    error: str
    target: Target | None = None  # the target checked (None: the session's)


@dataclass
class TargetRechecked(Message, bubble=False):
    """A target known to be dead was tried again before a run: ``error`` None, it answers."""

    target: Target
    error: str | None
    action: str  # the action that asked (burst, repeat, warm_up, compare): run it if it answers


@dataclass
class WarmupFinished(Message, bubble=False):
    """A warm-up opened its connections (or found them open)."""

    run_id: int
    result: WarmupResult


@dataclass
class WarmupFailed(Message, bubble=False):
    """A warm-up could not build the pool or open its connections."""

    run_id: int
    error: str
    unreachable: bool = False  # the server could not be reached (a connection-class failure)


@dataclass
class StatsSampled(Message, bubble=False):
    """One live sample of a running burst (every 0.2 s); a newer one of the same run replaces it.

    Coalescing keeps the queue short when the UI is busy: the gauges only need the latest
    picture, and a dropped sample is one missing point on the trend plots.
    """

    run_id: int
    sample: Sample

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StatsSampled) and message.run_id == self.run_id


@dataclass
class BurstFinished(Message, bubble=False):
    """A burst ended (ran its course, was stopped, or hit errors): it becomes a history row."""

    run_id: int
    config: PoolConfig
    workload: Workload
    result: RunResult


@dataclass
class BurstFailed(Message, bubble=False):
    """A burst could not start or run at all (no pool, unreachable server); nothing to record."""

    run_id: int
    error: str
    unreachable: bool = False  # the server could not be reached (a connection-class failure)


@dataclass
class ComparisonRunFinished(Message, bubble=False):
    """One run of an A/B comparison ended (A or B, measured): it becomes a history row's run."""

    run_id: int
    done: RunDone


@dataclass
class ComparisonFinished(Message, bubble=False):
    """An A/B comparison ended (all its rounds, a stop, a failed run); its pools are closed."""

    run_id: int
    comparison: Comparison


@dataclass
class ComparisonFailed(Message, bubble=False):
    """An A/B comparison could not run at all (a refused configuration, no room on the
    server, an unreachable server); ``error`` is the one-sentence reason."""

    run_id: int
    error: str


@dataclass
class PoolEventOccurred(Message, bubble=False):
    """The pool reported something worth a line in the event log (leak, lost connection, ...)."""

    kind: str
    message: str


@dataclass
class PoolClosed(Message, bubble=False):
    """A pool was closed in the background."""


@dataclass
class PoolBuilt(Message, bubble=False):
    """The session's pool was (re)built: the console's counters start again from zero."""

    tag: str


@dataclass
class FleetSampled(Message, bubble=False):
    """A running fleet's processes and the server's count of their sessions, now."""

    run_id: int
    sample: FleetSample

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FleetSampled) and message.run_id == self.run_id


@dataclass
class FleetFinished(Message, bubble=False):
    """Every process of a fleet burst has ended and the server was asked what is left (the
    merged result follows as the burst's BurstFinished)."""

    run_id: int
    fleet: FleetResult
