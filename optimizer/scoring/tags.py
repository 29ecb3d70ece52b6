"""Tag rules for targeting: the project's rule language (optimizer.rule_language) over a customer table.

A tag such as ``arpu > 80 AND NOT has_online_security AND contract IN ('Month-to-month')``
is a rule of that language; this module adds what targeting needs on top of it, with errors
as :class:`TagRuleError` so that the scoring commands report them like every other bad input.

:func:`threshold_for_count` is step three of the operator's targeting recipe (pick key tags,
combine them with AND/OR/NOT, tune a threshold until the target list fits the campaign's
resources).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import rule_language
from ..rule_language import Expression, FrameTable, RuleError

from .errors import TagRuleError

__all__ = ["columns_used", "evaluate", "parse_rule", "threshold_for_count"]


def parse_rule(text: str) -> Expression:
    """Parse a tag rule; a syntax error gives the position and what was expected."""
    try:
        return rule_language.parse(text)
    except RuleError as exc:
        raise TagRuleError(str(exc)) from None


def columns_used(rule: Expression | str) -> set[str]:
    return rule_language.names_used(parse_rule(rule) if isinstance(rule, str) else rule)


def evaluate(rule: Expression | str, df: pd.DataFrame) -> pd.Series:
    """Boolean mask of the rows that satisfy ``rule``."""
    tree = parse_rule(rule) if isinstance(rule, str) else rule
    try:
        return pd.Series(rule_language.mask(tree, FrameTable(df)), index=df.index, dtype=bool)
    except RuleError as exc:
        raise TagRuleError(str(exc)) from None


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        raise TagRuleError(f"unknown column {name!r}{rule_language.suggest(name, [str(c) for c in df.columns])}")
    return df[name]


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
