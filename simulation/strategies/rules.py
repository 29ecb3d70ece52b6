"""Tag rules: tags combined with AND/OR/NOT and thresholds, evaluated over the whole base.

The sources' three-step targeting (pick key tags, combine them with AND/OR/NOT, tune the
thresholds until the list fits the campaign's resources) as a small expression language:

    arpu > 100 AND (usage_drop OR contract_months_left <= 2) AND NOT tier == "flea"

Parsed with Python's ``ast`` and walked over an allow-list of node types, so a rule can
never run code; names must be tags of :data:`simulation.view.TAGS`. Each rule compiles once
into a function of the month's view returning a boolean mask over all slots.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import SimulationConfigError
from ..view import TAGS, MonthView

__all__ = ["compile_rule"]

_CMP: dict[type, Callable[[Any, Any], Any]] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_KEYWORDS = re.compile(r"\b(AND|OR|NOT)\b")


def compile_rule(text: str, key: str = "rule") -> Callable[[MonthView], np.ndarray]:
    """Compile ``text`` into ``f(view) -> bool mask``; errors name ``key`` and the problem."""
    if not isinstance(text, str) or not text.strip():
        raise SimulationConfigError(key, f"(={text!r}) must be a non-empty rule expression")
    src = _KEYWORDS.sub(lambda m: m.group(1).lower(), text)
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        raise SimulationConfigError(key, f"(={text!r}) is not a valid rule: {exc.msg}") from None
    fn = _compile(tree.body, key, text)
    return lambda view: np.asarray(fn(view), dtype=bool) & view.live


def _compile(node: ast.AST, key: str, text: str) -> Callable[[MonthView], Any]:
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v, key, text) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda v: _fold(np.logical_and, [p(v) for p in parts])
        return lambda v: _fold(np.logical_or, [p(v) for p in parts])
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _compile(node.operand, key, text)
        return lambda v: np.logical_not(inner(v))
    if isinstance(node, ast.Compare):
        return _compare(node, key, text)
    if isinstance(node, ast.Name):
        _check_tag(node.id, key, text)
        tag = node.id
        return lambda v: np.asarray(v[tag]) != 0
    raise SimulationConfigError(
        key,
        f"(={text!r}) uses an unsupported construct "
        f"{type(node).__name__}; use tags, numbers, comparisons, "
        "AND/OR/NOT and parentheses",
    )


def _fold(op: Callable[[Any, Any], Any], values: list[Any]) -> Any:
    out = values[0]
    for v in values[1:]:
        out = op(out, v)
    return out


def _check_tag(name: str, key: str, text: str) -> None:
    if name not in TAGS:
        raise SimulationConfigError(
            key, f"(={text!r}) uses unknown tag {name!r}; known tags: {', '.join(sorted(TAGS))}"
        )


def _operand(node: ast.AST, other: ast.AST, key: str, text: str) -> Callable[[MonthView], Any]:
    if isinstance(node, ast.Name):
        _check_tag(node.id, key, text)
        tag = node.id
        return lambda v: v[tag]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if not isinstance(other, ast.Name) or other.id not in ("tier", "stage"):
            raise SimulationConfigError(
                key, f"(={text!r}): the text {node.value!r} can only be compared with tier or stage"
            )
        try:
            code = MonthView.code_of(other.id, node.value)
        except KeyError as exc:
            raise SimulationConfigError(key, f"(={text!r}): {exc.args[0]}") from None
        return lambda v: code
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        val = node.value
        return lambda v: val
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        val = -node.operand.value  # type: ignore[operator]
        return lambda v: val
    raise SimulationConfigError(key, f"(={text!r}): comparisons take tags, numbers or quoted tier/stage names")


def _compare(node: ast.Compare, key: str, text: str) -> Callable[[MonthView], Any]:
    terms = [node.left, *node.comparators]
    ops = []
    for i, op in enumerate(node.ops):
        if type(op) not in _CMP:
            raise SimulationConfigError(key, f"(={text!r}) uses an unsupported comparison {type(op).__name__}")
        left = _operand(terms[i], terms[i + 1], key, text)
        right = _operand(terms[i + 1], terms[i], key, text)
        ops.append((_CMP[type(op)], left, right))

    def evaluate(v: MonthView) -> Any:
        return _fold(np.logical_and, [f(a(v), b(v)) for f, a, b in ops])

    return evaluate
