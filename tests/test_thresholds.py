"""core/compare/thresholds.py: the --fail-if grammar, its evaluation, its one-sentence errors."""

from __future__ import annotations

import pytest

from pooltui.core.compare.runner import FIGURE_NAMES
from pooltui.core.compare.thresholds import evaluate_all, parse_threshold
from pooltui.core.errors import BadInput


def crossed(text: str, b: float, a: float) -> bool:
    return parse_threshold(text, FIGURE_NAMES).crossed(b, a)


@pytest.mark.parametrize(
    ("text", "b", "a", "expected"),
    [
        ("p99_acquire_ms > 1.2 * baseline", 12.1, 10.0, True),
        ("p99_acquire_ms > 1.2 * baseline", 11.9, 10.0, False),
        ("errors > 0", 1, 0, True),
        ("errors > 0", 0, 5, False),
        ("throughput_rps < 0.9*baseline", 899, 1000, True),
        ("throughput_rps < 0.9*baseline", 901, 1000, False),
        ("p95_latency_ms - baseline >= 2", 5, 3, True),
        ("(p95_latency_ms - baseline) / baseline > .5", 4, 3, False),
        ("-p50_latency_ms < -baseline", 2, 1, True),  # unary minus
        ("2 * baseline + 1 <= max_acquire_ms", 21, 10, True),  # the figure on the right
        ("connects == 0", 0, 3, True),
        ("connects != 0", 0, 3, False),
        ("errors > 1e3", 1001, 0, True),
        ("throughput_rps / baseline < 0.5", 1, 0, False),  # x / 0 is +inf: not below 0.5
        ("errors / baseline > 1", 0, 0, False),  # 0 / 0 is no number: no comparison holds
    ],
)
def test_thresholds_evaluate_with_baseline_as_a(text, b, a, expected) -> None:
    assert crossed(text, b, a) is expected


def test_precedence_is_arithmetic() -> None:
    assert crossed("errors > 1 + 2 * 3", 7.5, 0)  # 1 + (2 * 3) = 7
    assert not crossed("errors > (1 + 2) * 3", 7.5, 0)  # 9
    assert not crossed("errors > 8 - 2 - 1", 5, 0)  # left to right: 5, not 7
    assert crossed("errors > 12 / 2 / 3", 2.5, 0)  # 2, not 18


def test_evaluate_all_names_the_crossed_ones() -> None:
    thresholds = [parse_threshold(t, FIGURE_NAMES) for t in ("errors > 0", "connects > 5")]
    crossed_now = evaluate_all(
        thresholds, {"errors": 1, "connects": 2}, {"errors": 0, "connects": 9}
    )
    assert [t.text for t in crossed_now] == ["errors > 0"]
    assert thresholds[0].figure == "errors" and thresholds[0].comparison == ">"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("p99 > 2", "names 'p99', which is not a figure"),
        ("errors >", "ends where a number, a figure or baseline belongs"),
        ("errors 0", "needs a comparison"),
        ("errors > 0 > 1", "has '>' after the comparison's right side"),
        ("errors + connects > 0", "names connects and errors: a threshold is about one figure"),
        ("1 > 2", "names no figure"),
        ("baseline > 2", "names no figure"),
        ("errors > (1", "has a '(' that is never closed"),
        ("errors >= 1 $", "has '$', which is not a number"),
        ("__import__('os').system('x') > 0", "names '__import__', which is not a figure"),
        ("errors > 1,5", "has ',5'"),
        ("", "ends where a number"),
        ("errors => 1", "has '=> 1', which is not a number"),
    ],
)
def test_a_bad_expression_is_one_sentence_naming_the_bad_part(text, named) -> None:
    with pytest.raises(BadInput) as caught:
        parse_threshold(text, FIGURE_NAMES)
    message = str(caught.value)
    assert named in message, message
    assert message.startswith(f"--fail-if {text!r} ") and message.endswith(".")
    assert "\n" not in message
    for name in FIGURE_NAMES:
        assert name in message  # the valid names, so the user can fix it


def test_no_python_is_ever_evaluated() -> None:
    """Names that would mean something to eval are refused as figures, never looked up."""
    for name in ("math", "inf", "nan", "True", "baseline.real"):
        with pytest.raises(BadInput, match="which is not a figure"):
            parse_threshold(f"errors > {name}", FIGURE_NAMES)
