"""Evaluating a rule over a table of columns: a boolean mask, or a column of values.

A *table* is anything with ``names`` (the columns a rule may use), ``len()`` and
``column(name)`` returning a numpy array, a pandas Series or a :class:`Coded` column;
:class:`FrameTable` wraps a DataFrame. The simulator's month view and the optimizer's option
table are tables too, so one evaluator serves scenario filters, scoring tags, strategy rules
and derived columns.

Types are kept, not guessed from text: numbers compare with numbers, text with text (a
number written in a rule matches the same digits in a text column: ``segment == 1``), and
a true/false column is a condition by itself. A text column whose values are all
true/false words (a CSV round trip turns booleans into ``'True'``) is read as true/false.
A missing value (NaN, empty or blank text) fails every comparison, ``!=`` and ``NOT IN``
included; a missing flag counts as false.
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .syntax import (
    And, Arithmetic, Call, Compare, Expression, Literal, Member, Name, Negate, Not, Or, RuleError, Scalar, parse, to_text, walk,
)

__all__ = [
    "Coded", "FrameTable", "MappingTable", "Table", "check_names", "compared_values", "mask", "names_used", "suggest", "values",
]

_TRUE_FALSE = {"true": True, "false": False}
_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
}


@dataclass(frozen=True)
class Coded:
    """A text column as integer codes into ``labels`` (-1: missing), like a pandas Categorical."""

    codes: np.ndarray
    labels: np.ndarray


class Table(Protocol):
    @property
    def names(self) -> Collection[str]: ...

    def __len__(self) -> int: ...

    def column(self, name: str) -> Any: ...


class FrameTable:
    """A pandas DataFrame as a table (columns by name)."""

    def __init__(self, frame: Any) -> None:
        self.frame = frame
        self.names = [str(c) for c in frame.columns]

    def __len__(self) -> int:
        return len(self.frame)

    def column(self, name: str) -> Any:
        return self.frame[name]


class MappingTable:
    """Equal-length arrays by name as a table."""

    def __init__(self, columns: Mapping[str, Any], n_rows: int) -> None:
        self.columns, self.n_rows, self.names = columns, n_rows, list(columns)

    def __len__(self) -> int:
        return self.n_rows

    def column(self, name: str) -> Any:
        return self.columns[name]


# ----------------------------------------------------------------- values
@dataclass(frozen=True)
class _Num:
    values: np.ndarray
    missing: np.ndarray


@dataclass(frozen=True)
class _Bool:
    values: np.ndarray  # missing rows already false


@dataclass(frozen=True)
class _Text:
    codes: np.ndarray
    labels: np.ndarray  # str objects


_Value = _Num | _Bool | _Text | Scalar


def _text_column(codes: np.ndarray, labels: np.ndarray) -> _Text | _Bool:
    labels = np.asarray([str(v) for v in labels], dtype=object)
    blank = np.asarray([not v.strip() for v in labels], dtype=bool)
    if blank.any():
        codes = np.where(blank[np.maximum(codes, 0)] & (codes >= 0), -1, codes)
    words = {v.strip().lower() for v, b in zip(labels, blank) if not b}
    if words and words <= set(_TRUE_FALSE):
        truth = np.asarray([_TRUE_FALSE.get(v.strip().lower(), False) for v in labels], dtype=bool)
        return _Bool(truth[np.maximum(codes, 0)] & (codes >= 0) if len(labels) else np.zeros(len(codes), bool))
    return _Text(np.asarray(codes), labels)


def _read(raw: Any, name: str) -> _Value:
    """A column in whatever form a table holds it, as one of the evaluator's typed values."""
    import pandas as pd

    if isinstance(raw, Coded):
        return _text_column(np.asarray(raw.codes), np.asarray(raw.labels, dtype=object))
    if isinstance(raw, (pd.Series, pd.Index)) or hasattr(raw, "dtype") and isinstance(raw.dtype, pd.api.extensions.ExtensionDtype):
        series = pd.Series(raw)
        if isinstance(series.dtype, pd.CategoricalDtype):
            if series.cat.categories.dtype.kind in "iuf":
                return _read(series.astype(float).to_numpy(), name)
            return _text_column(series.cat.codes.to_numpy(), series.cat.categories.to_numpy(object))
        if pd.api.types.is_bool_dtype(series.dtype):
            return _Bool(series.fillna(False).to_numpy(bool))
        if pd.api.types.is_numeric_dtype(series.dtype):
            missing = series.isna().to_numpy()
            native = series.dtype.numpy_dtype if hasattr(series.dtype, "numpy_dtype") else series.dtype
            if missing.any() and native.kind != "f":
                native = np.dtype(float)
            return _Num(series.to_numpy(dtype=native, na_value=np.nan if native.kind == "f" else 0), missing)
        raw = series.to_numpy(object)
    array = np.asarray(raw)
    if array.dtype.kind == "b":
        return _Bool(array)
    if array.dtype.kind in "iuf":
        return _Num(array, np.isnan(array) if array.dtype.kind == "f" else np.zeros(len(array), bool))
    if array.dtype.kind in "OUS":
        if array.dtype.kind == "O" and len(array) and all(isinstance(v, (bool, np.bool_)) for v in array):
            return _Bool(array.astype(bool))
        codes, labels = pd.factorize(array, use_na_sentinel=True)
        return _text_column(codes, np.asarray(labels, dtype=object))
    raise RuleError(f"column {name!r} holds {array.dtype} values, which rules cannot compare yet")


def _as_text(value: Scalar) -> str:
    """A number as the digits a text column would hold it with (1 and 1.0 are both '1')."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------- evaluator
class _Evaluation:
    def __init__(self, table: Table, text: str, unmatched: list[tuple[str, Scalar]] | None) -> None:
        self.table, self.text, self.unmatched, self.n = table, text, unmatched, len(table)
        self.cache: dict[str, _Value] = {}

    def fail(self, message: str) -> RuleError:
        return RuleError(f"rule {self.text!r}: {message}")

    def name(self, name: str) -> _Value:
        if name not in self.cache:
            if name not in self.table.names:
                raise RuleError(f"rule {self.text!r} uses {name!r}, which is not a column{suggest(name, self.table.names)}")
            self.cache[name] = _read(self.table.column(name), name)
        return self.cache[name]

    def condition(self, node: Expression) -> np.ndarray:
        value = self.eval(node)
        if isinstance(value, _Bool):
            return value.values
        if isinstance(value, bool):
            return np.full(self.n, value)
        what = f"the column {node.name!r}" if isinstance(node, Name) else f"{to_text(node)!r}"
        kind = "text" if isinstance(value, (_Text, str)) else "a number"
        hint = f"{to_text(node)} > 0" if kind == "a number" else f"{to_text(node)} == '...'"
        raise self.fail(f"{what} is {kind}, not true/false; write a comparison such as {hint}")

    def number(self, node: Expression) -> _Num | float | int:
        value = self.eval(node)
        if isinstance(value, _Num) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return value
        kind = "true/false" if isinstance(value, (_Bool, bool)) else "text"
        raise self.fail(f"{to_text(node)!r} is {kind}; arithmetic and ordering need numbers")

    def eval(self, node: Expression) -> _Value:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Name):
            return self.name(node.name)
        if isinstance(node, (And, Or)):
            reduce = np.logical_and.reduce if isinstance(node, And) else np.logical_or.reduce
            return _Bool(reduce([self.condition(child) for child in node.operands]))
        if isinstance(node, Not):
            return _Bool(~self.condition(node.operand))
        if isinstance(node, Compare):
            return _Bool(self.compare(node.op, node.left, node.right))
        if isinstance(node, Member):
            hit = np.logical_or.reduce([self.compare("==", node.operand, v) for v in node.values])
            if node.negated:
                hit = ~hit & ~self.missing(node.operand)
            return _Bool(hit)
        if isinstance(node, Negate):
            return _arith(operator.neg, self.number(node.operand))
        if isinstance(node, Arithmetic):
            op = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": np.true_divide}[node.op]
            return _arith(op, self.number(node.left), self.number(node.right))
        if isinstance(node, Call):
            return self.call(node)
        raise TypeError(f"not a rule node: {node!r}")

    def missing(self, node: Expression) -> np.ndarray:
        value = self.eval(node)
        if isinstance(value, _Num):
            return value.missing
        if isinstance(value, _Text):
            return value.codes < 0
        return np.zeros(self.n, bool)

    def call(self, node: Call) -> _Value:
        f, args = node.function, node.args
        if f == "missing":
            return _Bool(self.missing(args[0]))
        if f == "where":
            choose = self.condition(args[0])
            a, b = self.eval(args[1]), self.eval(args[2])
            if isinstance(a, (_Text, str)) and isinstance(b, (_Text, str)):
                picked = np.where(choose, self.labels(a), self.labels(b))
                return _read(picked, "where()")
            return _arith(lambda x, y: np.where(choose, x, y), self.number(args[1]), self.number(args[2]))
        numbers = [self.number(a) for a in args]
        if f == "abs":
            return _arith(np.abs, numbers[0])
        if f == "round":
            digits = numbers[1] if len(numbers) > 1 else 0
            if not isinstance(digits, int):
                raise self.fail("round(x, digits) takes a whole number of digits")
            return _arith(lambda x: np.round(x, digits), numbers[0])
        combine = np.minimum if f == "min" else np.maximum
        out = numbers[0]
        for other in numbers[1:]:
            out = _arith(combine, out, other)
        return out

    def labels(self, value: _Text | str) -> np.ndarray:
        if isinstance(value, str):
            return np.full(self.n, value, dtype=object)
        return np.where(value.codes >= 0, value.labels[np.maximum(value.codes, 0)] if len(value.labels) else "", None)

    def compare(self, op: str, left_node: Expression, right_node: Expression) -> np.ndarray:
        left, right = self.eval(left_node), self.eval(right_node)
        if isinstance(left, (bool, int, float, str)) and not isinstance(right, (bool, int, float, str)):
            left, right, left_node, right_node = right, left, right_node, left_node
            op = {">": "<", ">=": "<=", "<": ">", "<=": ">="}.get(op, op)
        hit = self.compare_values(op, left, right, left_node, right_node)
        if (
            self.unmatched is not None and isinstance(left_node, Name) and isinstance(right_node, Literal)
            and op in ("==", "!=") and not self.compare_values("==", left, right, left_node, right_node).any()
        ):
            self.unmatched.append((left_node.name, right_node.value))
        return hit

    def compare_values(self, op: str, left: _Value, right: _Value, left_node: Expression, right_node: Expression) -> np.ndarray:
        equality = op in ("==", "!=")
        if isinstance(left, _Text) or isinstance(right, _Text):
            if not equality:
                raise self.fail(f"{to_text(left_node)} {op} {to_text(right_node)}: text compares only with ==, != and IN")
            if isinstance(right, (bool, _Bool, _Num)) or isinstance(left, (bool, _Bool, _Num)):
                raise self.fail(f"{to_text(left_node)} {op} {to_text(right_node)} compares text with a {'number' if isinstance(right, _Num) or isinstance(left, _Num) else 'true/false'}")
            a = left if isinstance(left, _Text) else right
            b = right if a is left else left
            known = a.codes >= 0
            if isinstance(b, _Text):
                known &= b.codes >= 0
                hit = (self.labels(a) == self.labels(b)) & known
            else:
                where = np.flatnonzero(a.labels == _as_text(b))
                hit = a.codes == where[0] if len(where) else np.zeros(self.n, bool)
            return hit if op == "==" else ~hit & known
        if isinstance(left, _Bool) or isinstance(right, _Bool) or isinstance(left, bool) or isinstance(right, bool):
            if not equality:
                raise self.fail(f"{to_text(left_node)} {op} {to_text(right_node)}: true/false compares only with == and !=")
            return _ORDER[op](self.truth(left, left_node), self.truth(right, right_node)) & np.ones(self.n, bool)
        if isinstance(right, str) and isinstance(left, _Num):
            try:
                right = float(right)
            except ValueError:
                raise self.fail(f"{to_text(left_node)} holds numbers; it is compared with the text {right!r}") from None
        if isinstance(left, str) or isinstance(right, str):
            raise self.fail(f"{to_text(left_node)} {op} {to_text(right_node)} compares a number with text")
        values = _ORDER[op](left.values if isinstance(left, _Num) else left, right.values if isinstance(right, _Num) else right)
        known = np.ones(self.n, bool)
        for side in (left, right):
            if isinstance(side, _Num):
                known &= ~side.missing
        return np.asarray(values, bool) & known

    def truth(self, value: _Value, node: Expression) -> Any:
        if isinstance(value, _Bool):
            return value.values
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE_FALSE:
            return _TRUE_FALSE[value.strip().lower()]
        raise self.fail(f"{to_text(node)} is not true/false; compare true/false columns with true or false")


def _arith(op: Callable[..., Any], *operands: _Num | float | int) -> _Num | float | int:
    arrays = [o.values if isinstance(o, _Num) else o for o in operands]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        result = op(*arrays)
    masks = [o.missing for o in operands if isinstance(o, _Num)]
    if not masks:
        return result.item() if isinstance(result, np.generic) else result
    result = np.asarray(result)
    return _Num(result, np.logical_or.reduce(masks) | (np.isnan(result) if result.dtype.kind == "f" else False))


# ----------------------------------------------------------------- entry points
def _tree(rule: str | Expression) -> tuple[Expression, str]:
    tree = parse(rule) if isinstance(rule, str) else rule
    return tree, rule if isinstance(rule, str) else to_text(tree)


def mask(rule: str | Expression, table: Table, *, unmatched: list[tuple[str, Scalar]] | None = None) -> np.ndarray:
    """The rows of ``table`` that satisfy ``rule``, as a boolean array.

    ``unmatched`` collects ``(column, value)`` for each value the rule compares a column
    with by ``==``, ``!=`` or ``IN`` that no row holds: usually a typo in a scenario.
    """
    tree, text = _tree(rule)
    return np.asarray(_Evaluation(table, text, unmatched).condition(tree), bool)


def values(expression: str | Expression, table: Table) -> np.ndarray:
    """The column an expression computes: numbers (NaN where missing), true/false, or text (None where missing)."""
    tree, text = _tree(expression)
    evaluation = _Evaluation(table, text, None)
    value = evaluation.eval(tree)
    if isinstance(value, _Num):
        out = value.values
        if value.missing.any():
            out = out.astype(float)
            out[value.missing] = np.nan
        return out
    if isinstance(value, _Bool):
        return value.values
    if isinstance(value, _Text):
        return evaluation.labels(value)
    return np.full(len(table), value)


def names_used(rule: str | Expression) -> set[str]:
    """Every column name a rule reads."""
    return {node.name for node in walk(_tree(rule)[0]) if isinstance(node, Name)}


def compared_values(rule: str | Expression) -> list[tuple[str, Scalar]]:
    """``(column, value)`` for each value a rule compares a column with (``==``, ``!=``, ``IN``), in order."""
    out: list[tuple[str, Scalar]] = []
    for node in walk(_tree(rule)[0]):
        if isinstance(node, Compare) and node.op in ("==", "!="):
            for a, b in ((node.left, node.right), (node.right, node.left)):
                if isinstance(a, Name) and isinstance(b, Literal):
                    out.append((a.name, b.value))
        elif isinstance(node, Member) and isinstance(node.operand, Name):
            out.extend((node.operand.name, v.value) for v in node.values)
    return out


def suggest(name: str, known: Collection[str], *, limit: int = 30) -> str:
    """'; did you mean X? known: ...' for an unknown name (the known list shortened beyond ``limit``)."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    listed = sorted(map(str, known))
    shown = ", ".join(listed[:limit]) + (f" and {len(listed) - limit} more" if len(listed) > limit else "")
    return (f"; did you mean {close[0]!r}?" if close else "") + f" (known: {shown})"


def check_names(rule: str | Expression, known: Collection[str], *, what: str = "column") -> None:
    """Fail before any data is read when a rule names something ``known`` does not hold."""
    tree, text = _tree(rule)
    for name in sorted(names_used(tree)):
        if name not in known:
            raise RuleError(f"rule {text!r} uses {name!r}, which is not a {what}{suggest(name, known)}")
