"""How a diagnosis is shown, shared by `pooltui diagnose` (text) and the wizard (Rich tables):
which answers were assumed, and the prediction table (rows of labels and values that each
front end renders in its own way). Pure: no terminal, no textual, no rich."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pooltui.core.diagnosis.recommend import ANSWER_NAMES
from pooltui.core.diagnosis.rules import ms, pct

if TYPE_CHECKING:
    from pooltui.core.diagnosis.recommend import Answers, Measurements, Prediction, Recommendation
    from pooltui.core.diagnosis.verify import Measured

PREDICTION_FIGURES = (
    "offered load (Erlangs)",
    "utilisation",
    "P(wait)",
    "mean wait",
    "p95 wait",
    "rejections",
)
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
        f"{p.offered_load:.2f}",
        f"{p.utilisation:.0%}",
        pct(p.p_wait),
        ms(p.mean_wait_ms),
        ms(p.p95_wait_ms),
        pct(p.p_reject),
    ]


def measured_cells(m: Measured | None) -> list[str]:
    """A verification burst's figures beside the prediction's, throughput included; … while
    it has not run."""
    if m is None:
        return ["…"] * (len(PREDICTION_FIGURES) + 1)
    return [
        f"{m.offered_load:.2f}",
        f"{m.utilisation:.0%}",
        pct(m.p_wait),
        ms(m.mean_wait_ms),
        ms(m.p95_wait_ms),
        f"{pct(m.p_reject)} ({m.rejections})",
        f"{m.throughput_rps:.3g}/s",
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
    labels = PREDICTION_FIGURES if rate_per_s is None else (*PREDICTION_FIGURES, THROUGHPUT)
    columns: list[tuple[str, str]] = []
    cells: list[list[str]] = []
    for which, prediction in zip(
        CONFIGURATIONS, (rec.prediction_before, rec.prediction), strict=True
    ):
        predicted = prediction_cells(prediction)
        if rate_per_s is not None:
            predicted.append(f"{rate_per_s * (1 - prediction.p_reject):.3g}/s")
        columns.append((which, "predicted"))
        cells.append(predicted)
        if verified is not None:
            columns.append((which, "measured"))
            cells.append(measured_cells(verified.get(which))[: len(labels)])
    rows = tuple((label, *(column[i] for column in cells)) for i, label in enumerate(labels))
    return PredictionTable(tuple(columns), rows)
