"""Tag rules: a small, safe expression language for targeting (no ``eval``).

Grammar (keywords case-insensitive)::

    rule    := or
    or      := and ("OR" and)*
    and     := not ("AND" not)*
    not     := "NOT" not | atom
    atom    := "(" rule ")" | NAME op value | NAME "IN" "(" value ("," value)* ")" | NAME
    op      := ">" | ">=" | "<" | "<=" | "==" | "!="
    value   := number | 'text' | "text" | true | false

A bare NAME must be a boolean column. Example: ``arpu > 80 AND NOT has_online_security AND
contract IN ('Month-to-month')``. Parsing returns an immutable tree; evaluation checks column
names against the table, so a typo is reported with the available columns.

:func:`threshold_for_count` is step three of the targeting recipe in the domain notes: tune a
threshold until the target list fits the campaign's resources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import TagRuleError

__all__ = [
    "And",
    "Compare",
    "Flag",
    "Member",
    "Not",
    "Or",
    "Rule",
    "columns_used",
    "evaluate",
    "parse_rule",
    "threshold_for_count",
]

Value = float | str | bool


@dataclass(frozen=True)
class Compare:
    column: str
    op: str
    value: Value


@dataclass(frozen=True)
class Member:
    column: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Flag:
    column: str


@dataclass(frozen=True)
class Not:
    operand: Rule


@dataclass(frozen=True)
class And:
    operands: tuple[Rule, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Rule, ...]


Rule = Compare | Member | Flag | Not | And | Or

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<op>>=|<=|==|!=|>|<)
  | (?P<punct>[(),])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false"}


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise TagRuleError(f"tag rule {text!r}: unexpected character {text[pos]!r} at position {pos}")
        kind = m.lastgroup or ""
        if kind != "ws":
            val = m.group()
            if kind == "name" and val.lower() in _KEYWORDS:
                kind, val = "kw", val.lower()
            tokens.append((kind, val, pos))
        pos = m.end()
    tokens.append(("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.i = text, _tokenize(text), 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def fail(self, what: str) -> TagRuleError:
        kind, val, pos = self.peek()
        got = "end of rule" if kind == "end" else repr(val)
        return TagRuleError(f"tag rule {self.text!r}: expected {what} at position {pos}, got {got}")

    def take(self, kind: str, val: str | None = None) -> str:
        k, v, _ = self.peek()
        if k != kind or (val is not None and v != val):
            raise self.fail(repr(val) if val else kind)
        self.i += 1
        return v

    def at(self, kind: str, val: str | None = None) -> bool:
        k, v, _ = self.peek()
        return k == kind and (val is None or v == val)

    def parse(self) -> Rule:
        rule = self.or_()
        if not self.at("end"):
            raise self.fail("AND, OR or end of rule")
        return rule

    def or_(self) -> Rule:
        parts = [self.and_()]
        while self.at("kw", "or"):
            self.i += 1
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_(self) -> Rule:
        parts = [self.not_()]
        while self.at("kw", "and"):
            self.i += 1
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def not_(self) -> Rule:
        if self.at("kw", "not"):
            self.i += 1
            return Not(self.not_())
        return self.atom()

    def value(self) -> Value:
        k, v, _ = self.peek()
        if k == "num":
            self.i += 1
            return float(v)
        if k == "str":
            self.i += 1
            return v[1:-1]
        if k == "kw" and v in ("true", "false"):
            self.i += 1
            return v == "true"
        raise self.fail("a number, 'text', true or false")

    def atom(self) -> Rule:
        if self.at("punct", "("):
            self.i += 1
            rule = self.or_()
            self.take("punct", ")")
            return rule
        if not self.at("name"):
            raise self.fail("a column name, NOT or '('")
        name = self.take("name")
        if self.at("op"):
            op = self.take("op")
            return Compare(name, op, self.value())
        if self.at("kw", "in"):
            self.i += 1
            self.take("punct", "(")
            values = [self.value()]
            while self.at("punct", ","):
                self.i += 1
                values.append(self.value())
            self.take("punct", ")")
            return Member(name, tuple(values))
        return Flag(name)


def parse_rule(text: str) -> Rule:
    """Parse a tag rule into an immutable tree; syntax errors give the position."""
    if not isinstance(text, str) or not text.strip():
        raise TagRuleError(f"tag rule must be a non-empty string, got {text!r}")
    return _Parser(text).parse()


def columns_used(rule: Rule) -> set[str]:
    if isinstance(rule, (Compare, Member, Flag)):
        return {rule.column}
    if isinstance(rule, Not):
        return columns_used(rule.operand)
    return set().union(*(columns_used(r) for r in rule.operands))


_OPS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal, "==": np.equal, "!=": np.not_equal}


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        raise TagRuleError(
            f"tag rule uses column '{name}', not in the table (columns: {', '.join(map(str, df.columns))})"
        )
    return df[name]


def evaluate(rule: Rule | str, df: pd.DataFrame) -> pd.Series:
    """Boolean mask of the rows that satisfy ``rule``."""
    if isinstance(rule, str):
        rule = parse_rule(rule)
    return pd.Series(_eval(rule, df), index=df.index, dtype=bool)


def _eval(rule: Rule, df: pd.DataFrame) -> np.ndarray:
    if isinstance(rule, Compare):
        s = _column(df, rule.column)
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        if isinstance(rule.value, (bool, str)):
            if rule.op not in ("==", "!="):
                raise TagRuleError(
                    f"tag rule: '{rule.column} {rule.op} {rule.value!r}': only == and != "
                    "compare with text or true/false"
                )
            if isinstance(rule.value, str) and numeric:
                raise TagRuleError(f"tag rule: column '{rule.column}' is numeric, compared with text {rule.value!r}")
            eq = (s.astype(bool) if isinstance(rule.value, bool) else s.astype(str)).to_numpy() == rule.value
            return eq if rule.op == "==" else ~eq
        if not numeric:
            raise TagRuleError(
                f"tag rule: column '{rule.column}' is not numeric, cannot use '{rule.op} {rule.value:g}'"
            )
        return np.asarray(_OPS[rule.op](s.to_numpy(float), rule.value), dtype=bool)
    if isinstance(rule, Member):
        s = _column(df, rule.column)
        vals = list(rule.values)
        if all(isinstance(v, str) for v in vals):
            return s.astype(str).isin(vals).to_numpy()
        return s.isin(vals).to_numpy()
    if isinstance(rule, Flag):
        s = _column(df, rule.column)
        if not pd.api.types.is_bool_dtype(s):
            raise TagRuleError(
                f"tag rule: column '{rule.column}' used alone must be true/false "
                f"(it is {s.dtype}); write a comparison such as '{rule.column} > 0'"
            )
        return s.to_numpy(bool)
    if isinstance(rule, Not):
        return ~_eval(rule.operand, df)
    masks = [_eval(r, df) for r in rule.operands]
    return np.logical_and.reduce(masks) if isinstance(rule, And) else np.logical_or.reduce(masks)


def threshold_for_count(
    df: pd.DataFrame, column: str, target: int, *, base_rule: str | None = None, direction: str = ">="
) -> tuple[float, int]:
    """Threshold t so that ``base_rule AND column >= t`` (or ``<= t``) selects as many rows as
    possible without exceeding ``target``. Returns (t, count); t is +/-inf when even the
    strictest threshold exceeds the target (ties at one value cannot be split).
    """
    if direction not in (">=", "<="):
        raise TagRuleError(f"threshold direction(={direction!r}) must be '>=' or '<='")
    if target < 0:
        raise TagRuleError(f"target(={target}) must be >= 0")
    mask = evaluate(base_rule, df) if base_rule else pd.Series(True, index=df.index)
    x = pd.to_numeric(_column(df, column), errors="coerce")[mask].dropna().to_numpy(float)
    sign = 1.0 if direction == ">=" else -1.0
    vals = np.sort(np.unique(sign * x))[::-1]  # candidate thresholds, strictest first
    best_t, best_n = np.inf, 0
    counts = np.searchsorted(np.sort(sign * x), vals, side="left")
    counts = x.size - counts  # rows with sign*x >= v
    for v, n in zip(vals, counts):
        if n > target:
            break
        best_t, best_n = v, int(n)
    return float(sign * best_t), best_n
