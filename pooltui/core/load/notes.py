"""What a run's notes are about: a kind per note, so a reader (a test, a front end, a script
reading ``bench --json``) can tell them apart without matching their English wording."""

from __future__ import annotations

from enum import StrEnum


class RunNote(StrEnum):
    """The kind of one ``RunResult.events`` text (``RunResult.event_kinds`` holds them)."""

    STALL = "stall"  # no request completed while some were in flight
    ON_SAMPLE_FAILED = "on_sample_failed"  # the front end's sample callback raised
    CONNECTIONS_CUT = "connections_cut"  # statements ignored the cancel: connections cut
    THREADS_BLOCKED = "threads_blocked"  # threads still blocked after the stop path
    UNSERVED = "unserved"  # arrivals still waiting for a thread at the end
    OUTAGE = "outage"  # the server was unreachable for a while
    FATAL = "fatal"  # too many failures in a row ended the run
    GAVE_UP = "gave_up"  # unreachable for longer than give_up_after_s
    STOPPED = "stopped"  # stopped on request before its end
    CANCELLED = "cancelled"  # the end cancelled statements still running
    OVERLOAD = "overload"  # open loop: arrivals dropped, no thread free
    REJECTED = "rejected"  # blocking off: the pool refused requests
    RECONNECTED = "reconnected"  # connections lost or recycled, replaced by DBUtils
    REEXECUTED = "reexecuted"  # DBUtils ran statements again after a lost one
    STILL_WAITING = "still_waiting"  # callers still waiting for a connection at the end
    CLIENT_SATURATED = "client_saturated"  # the client's CPU, not the pool, was the ceiling
