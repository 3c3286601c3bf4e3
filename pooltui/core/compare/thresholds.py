"""``--fail-if`` thresholds (k6 style): ``p99_acquire_ms > 1.2 * baseline``, ``errors > 0``.

A threshold is one comparison about one figure of B, where ``baseline`` is A's value of the same
figure (the medians over the paired runs). The grammar is small and parsed here, never handed to
``eval``::

    threshold  := sum ( "<" | "<=" | ">" | ">=" | "==" | "!=" ) sum
    sum        := product ( ("+" | "-") product )*
    product    := unary ( ("*" | "/") unary )*
    unary      := "-" unary | atom
    atom       := NUMBER | FIGURE | "baseline" | "(" sum ")"

FIGURE is a name of ``runner.FIGURES``; NUMBER is a decimal (``1.2``, ``5``, ``1e3``). Every
mistake is a BadInput sentence that names the bad part and lists the figure names.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from pooltui.core.errors import BadInput

BASELINE = "baseline"
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<op><=|>=|==|!=|[<>+\-*/()]))"
)

# an expression as a tree: a number, a name, or (operator, left, right); unary minus is
# (neg, operand)
Node = float | str | tuple[str, "Node", "Node"] | tuple[str, "Node"]


@dataclass(frozen=True)
class Threshold:
    """One parsed ``--fail-if`` expression."""

    text: str
    figure: str
    comparison: str
    left: Node
    right: Node

    def crossed(self, b: float, a: float) -> bool:
        """True when the expression holds with the figure = ``b`` and baseline = ``a``."""
        values = {self.figure: b, BASELINE: a}
        return COMPARISONS[self.comparison](
            _evaluate(self.left, values), _evaluate(self.right, values)
        )


def parse_threshold(text: str, figures: Sequence[str]) -> Threshold:
    """The Threshold ``text`` says, or BadInput naming what is wrong in it."""
    tokens = _tokens(text, figures)
    parser = _Parser(text, tokens, figures)
    left = parser.sum()
    kind, comparison = parser.peek()
    if kind != "op" or comparison not in COMPARISONS:
        parser.fail(
            "needs a comparison (<, <=, >, >=, ==, !=)"
            + (f" where it has {comparison!r}" if comparison else " and has none")
        )
    parser.take()
    right = parser.sum()
    kind, value = parser.peek()
    if kind != "end":
        parser.fail(f"has {value!r} after the comparison's right side")
    names = sorted({name for name in _names(left) + _names(right) if name != BASELINE})
    if not names:
        parser.fail("names no figure")
    if len(names) > 1:
        parser.fail(f"names {' and '.join(names)}: a threshold is about one figure")
    return Threshold(text, names[0], comparison, left, right)


def evaluate_all(
    thresholds: Sequence[Threshold], b: Mapping[str, float], a: Mapping[str, float]
) -> list[Threshold]:
    """The thresholds crossed, given each figure's value for B and for A (the baseline)."""
    return [t for t in thresholds if t.crossed(b[t.figure], a[t.figure])]


def _tokens(text: str, figures: Sequence[str]) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    at = 0
    stripped = text.rstrip()
    while at < len(stripped):
        match = _TOKEN.match(stripped, at)
        if match is None or match.end() == at:
            bad = stripped[at:].strip()
            problem = f"has {bad[:12]!r}, which is not a number, a figure or an operator"
            _fail(text, problem, figures)
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "name" and value != BASELINE and value not in figures:
            _fail(text, f"names {value!r}, which is not a figure", figures)
        tokens.append((kind, value))
        at = match.end()
    return tokens


def _fail(text: str, problem: str, figures: Sequence[str]) -> NoReturn:
    raise BadInput(
        f"--fail-if {text!r} {problem}; write e.g. 'p99_acquire_ms > 1.2 * baseline' with a "
        f"figure of: {', '.join(figures)} (baseline is A's value of it)."
    )


class _Parser:
    """Recursive descent over the tokens."""

    def __init__(self, text: str, tokens: list[tuple[str, str]], figures: Sequence[str]) -> None:
        self.text, self.tokens, self.figures, self.at = text, tokens, figures, 0

    def fail(self, problem: str) -> NoReturn:
        _fail(self.text, problem, self.figures)

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.at += 1
        return token

    def sum(self) -> Node:
        node = self.product()
        while self.peek() in (("op", "+"), ("op", "-")):
            node = (self.take()[1], node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.peek() in (("op", "*"), ("op", "/")):
            node = (self.take()[1], node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek() == ("op", "-"):
            self.take()
            return ("neg", self.unary())
        return self.atom()

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "number":
            return float(value)
        if kind == "name":
            return value
        if value == "(":
            node = self.sum()
            if self.take() != ("op", ")"):
                self.fail("has a '(' that is never closed")
            return node
        self.fail(
            f"has {value!r} where a number, a figure or baseline belongs"
            if value
            else "ends where a number, a figure or baseline belongs"
        )


def _names(node: Node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, tuple):
        return [name for child in node[1:] for name in _names(child)]
    return []


def _evaluate(node: Node, values: Mapping[str, float]) -> float:
    if isinstance(node, float):
        return node
    if isinstance(node, str):
        return values[node]
    if node[0] == "neg":
        return -_evaluate(node[1], values)
    op, left, right = node  # type: ignore[misc]
    x, y = _evaluate(left, values), _evaluate(right, values)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if y == 0:  # x / 0: unbounded (0 / 0 is no number, and no comparison with it holds)
        return math.nan if x == 0 else math.copysign(math.inf, x)
    return x / y
