"""How a diagnosis is shown, shared by `pooltui diagnose` (text) and the wizard (Rich tables):
which answers were assumed, and the prediction table (rows of labels and values that each
front end renders in its own way). Pure: no terminal, no textual, no rich."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pooltui.core.diagnosis.recommend import ANSWER_NAMES
from pooltui.core.diagnosis.rules import ms, pct
from pooltui.core.numbers import figure, rate, share

if TYPE_CHECKING:
    from pooltui.core.diagnosis.recommend import Answers, Measurements, Prediction, Recommendation
    from pooltui.core.diagnosis.verify import Measured

PREDICTION_FIGURES = (
    "offered load (Erlangs)",
    "utilisation",
    "P(wait for a connection)",
    "mean wait for a connection",
    "p95 wait for a connection",
    "rejections",
)
# the wait before the pool, when the threads are all busy at peak: beside the pool's 0 ms, so
# "mean wait 0 ms" never stands alone next to a warning that requests queue for a thread
THREAD_WAIT = "wait for a thread (mean)"
THROUGHPUT = "throughput"
#: the two configurations a recommendation compares, in column order
CONFIGURATIONS = ("current", "recommended")


def assumed_names(
    answers: Answers, measurements: Measurements | None, order: Iterable[str] = ANSWER_NAMES
) -> list[str]:
    """Answers neither given nor replaced by a measurement, in ``order`` (the CLI's is the
    answers' own, the wizard's its questions')."""
    replaced = set()
    if measurements is not None:
        replaced = {
            name for name in ("connect_ms", "query_ms") if getattr(measurements, name) is not None
        }
    return [name for name in order if name in answers.assumed and name not in replaced]


def prediction_cells(p: Prediction) -> list[str]:
    """A prediction's figures as people read them, in PREDICTION_FIGURES order."""
    return [
        figure(p.offered_load, "Erlangs"),
        share(p.utilisation),
        pct(p.p_wait),
        ms(p.mean_wait_ms),
        ms(p.p95_wait_ms),
        pct(p.p_reject),
    ]


def thread_wait_cell(p: Prediction) -> str:
    """``17.88 %, 35.2 ms``: how often and how long a request waits for a free thread."""
    return f"{pct(p.thread_p_wait)}, {ms(p.thread_mean_wait_ms)}" if p.thread_p_wait else "0 ms"


def measured_cells(m: Measured | None) -> list[str]:
    """A verification burst's figures beside the prediction's, throughput included; … while
    it has not run."""
    if m is None:
        return ["…"] * (len(PREDICTION_FIGURES) + 1)
    return [
        figure(m.offered_load, "Erlangs"),
        share(m.utilisation),
        pct(m.p_wait),
        ms(m.mean_wait_ms),
        ms(m.p95_wait_ms),
        f"{pct(m.p_reject)} ({m.rejections})",
        rate(m.throughput_rps),
    ]


@dataclass(frozen=True)
class PredictionTable:
    """Columns are (configuration, "predicted" | "measured"); each row is a figure's label
    and one cell per column. The front ends word the headers their own way."""

    columns: tuple[tuple[str, str], ...]
    rows: tuple[tuple[str, ...], ...]


def prediction_table(
    rec: Recommendation,
    *,
    rate_per_s: float | None = None,
    verified: Mapping[str, Measured] | None = None,
) -> PredictionTable:
    """The current and the recommended pool at the answered peak (M/M/N).

    ``rate_per_s`` (the peak per process) adds the predicted throughput row; ``verified`` (the
    bursts measured so far, by configuration) adds a measured column beside each prediction.
    """
    predictions = (rec.prediction_before, rec.prediction)
    threads_wait = any(p.thread_p_wait > 0 for p in predictions)
    labels: tuple[str, ...] = PREDICTION_FIGURES
    if threads_wait:
        labels = (*labels, THREAD_WAIT)
    if rate_per_s is not None:
        labels = (*labels, THROUGHPUT)
    columns: list[tuple[str, str]] = []
    cells: list[list[str]] = []
    for which, prediction in zip(CONFIGURATIONS, predictions, strict=True):
        predicted = prediction_cells(prediction)
        if threads_wait:
            predicted.append(thread_wait_cell(prediction))
        if rate_per_s is not None:
            predicted.append(rate(rate_per_s * (1 - prediction.p_reject)))
        columns.append((which, "predicted"))
        cells.append(predicted)
        if verified is not None:
            columns.append((which, "measured"))
            measured = measured_cells(verified.get(which))
            if threads_wait:  # an open-loop arrival's lateness is its wait for a thread
                m = verified.get(which)
                lag = "…" if m is None else ms(m.result.schedule_lag.mean)
                measured.insert(len(PREDICTION_FIGURES), lag)
            cells.append(measured[: len(labels)])
    rows = tuple((label, *(column[i] for column in cells)) for i, label in enumerate(labels))
    return PredictionTable(tuple(columns), rows)


# a measured offered load this far from the prediction (as a ratio) is explained, beyond the
# burst's own noise band
LARGE_DIFFERENCE = 0.25


def verify_notes(
    rec: Recommendation, rate_per_s: float, verified: Mapping[str, Measured]
) -> list[str]:
    """Why a verification burst measured another load than the prediction: the rate the
    client reached (its threads, its CPU), the hold measured, and the burst's noise band (a
    Poisson count of N arrivals is known to about ±1.96/sqrt(N))."""
    notes = []
    for which, prediction in zip(
        CONFIGURATIONS, (rec.prediction_before, rec.prediction), strict=True
    ):
        m = verified.get(which)
        if m is None or m.arrivals == 0 or prediction.offered_load <= 0:
            continue
        band = 1.96 / math.sqrt(m.arrivals)
        ratio = m.offered_load / prediction.offered_load
        loads = (
            f"{which}: measured {figure(m.offered_load, 'Erlangs')} Erlangs, "
            f"{figure(prediction.offered_load, 'Erlangs')}"
        )
        noise = f"a burst of {m.arrivals} arrivals measures the load within about ±{share(band)}"
        if abs(ratio - 1) <= max(band, LARGE_DIFFERENCE):
            notes.append(f"{loads} predicted: within the noise ({noise}).")
            continue
        why = []
        if m.rate_per_s < rate_per_s * (1 - max(band, 0.1)):
            client = m.result.client
            pace = (
                f"the client was CPU-bound ({figure(client.cores, 'cores')} cores: the GIL), "
                "so it could not offer the load"
                if client.saturated
                else "the threads were all busy, so requests waited for a thread and arrived "
                f"late (mean {ms(m.result.schedule_lag.mean)})"
            )
            why.append(
                f"the burst offered {rate(m.rate_per_s)} of the {rate(rate_per_s)} asked: {pace}"
            )
        hold_answered = prediction.offered_load / rate_per_s * 1000.0 if rate_per_s else 0.0
        if hold_answered and abs(m.hold_ms / hold_answered - 1) > LARGE_DIFFERENCE:
            why.append(
                f"a connection was held {ms(m.hold_ms)} on average, not the {ms(hold_answered)}"
                " answered (query and hold)"
            )
        why.append(
            f"utilisation {share(m.utilisation)} measured, "
            f"{share(prediction.utilisation)} predicted"
        )
        notes.append(f"{loads} predicted, beyond the noise ({noise}): " + "; ".join(why) + ".")
    return notes
