"""The project's one rule language: filters, tags, strategy rules and derived columns.

A rule such as ``arpu > 80 AND stage == 'decline' AND NOT in_arrears`` is parsed once into
an immutable tree (:mod:`.syntax`, whose docstring holds the grammar) and evaluated over
any table of columns (:mod:`.evaluation`): a scenario's options, a customer table, the
simulator's month view. Nothing is ever passed to ``eval``. :func:`from_mapping` turns the
scenario's mapping form of a filter (``{stage: decline, arpu: {">": 80}}``) into the same
tree, so both forms mean exactly the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .evaluation import (
        Coded, FrameTable, MappingTable, Table, check_names, compared_values, mask, names_used, suggest, values,
    )
from .syntax import (
    FUNCTIONS, And, Arithmetic, Call, Compare, Expression, Literal, Member, Name, Negate, Not, Or, RuleError, parse, to_text, walk,
)

__all__ = [
    "FUNCTIONS", "And", "Arithmetic", "Call", "Coded", "Compare", "Expression", "FrameTable", "Literal", "MappingTable",
    "Member", "Name", "Negate", "Not", "Or", "RuleError", "Table", "check_names", "compared_values", "from_mapping", "mask", "names_used",
    "parse", "suggest", "to_text", "values", "walk",
]

#: Names of :mod:`.evaluation`, imported on first use: the syntax alone (a scenario file's
#: filters are parsed when it is read) does not need numpy.
_EVALUATION = ("Coded", "FrameTable", "MappingTable", "Table", "check_names", "compared_values", "mask", "names_used", "suggest", "values")


def __getattr__(name: str) -> Any:
    if name not in _EVALUATION:
        raise AttributeError(f"module 'optimizer.rule_language' has no attribute {name!r}")
    from . import evaluation

    value = getattr(evaluation, name)
    globals()[name] = value
    return value


#: The mapping form's operators and what each means in the rule language.
MAPPING_OPERATORS = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in")


def from_mapping(where: Mapping[str, Any], *, key: str = "where") -> Expression:
    """The rule a mapping-form filter means: every column's condition must hold.

    ``{c: v}`` is ``c == v``, ``{c: [v, w]}`` is ``c IN (v, w)``, and ``{c: {op: v, ...}}``
    each operator of :data:`MAPPING_OPERATORS` (``not_in`` is ``NOT IN``). An empty mapping
    matches every row.
    """
    parts: list[Expression] = []
    for column, condition in where.items():
        name = Name(str(column))
        if isinstance(condition, list):
            parts.append(Member(name, _literals(condition, f"{key}.{column}")))
        elif isinstance(condition, Mapping):
            for op, operand in condition.items():
                if op not in MAPPING_OPERATORS:
                    raise RuleError(f"{key}.{column}: unknown operator {op!r}; use one of {', '.join(MAPPING_OPERATORS)}")
                if op in ("in", "not_in"):
                    listed = operand if isinstance(operand, list) else [operand]
                    parts.append(Member(name, _literals(listed, f"{key}.{column}.{op}"), negated=op == "not_in"))
                elif op in ("==", "!="):
                    parts.append(Compare(op, name, _literals([operand], f"{key}.{column}.{op}")[0]))
                else:
                    if isinstance(operand, bool) or not isinstance(operand, (int, float)) or not math.isfinite(operand):
                        # `arpu: {">": .nan}` would silently match nothing
                        raise RuleError(f"{key}.{column}: {op!r} needs a finite number (got {operand!r})")
                    parts.append(Compare(op, name, Literal(operand)))
        else:
            parts.append(Compare("==", name, _literals([condition], f"{key}.{column}")[0]))
    if not parts:
        return Literal(True)
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _literals(items: list[Any], key: str) -> tuple[Literal, ...]:
    if not items:
        raise RuleError(f"{key}: an empty list matches nothing; list at least one value")
    out = []
    for item in items:
        if isinstance(item, float) and not math.isfinite(item):
            raise RuleError(f"{key}: {item} matches nothing; give a finite value")
        if isinstance(item, (bool, int, float, str)):
            out.append(Literal(item))
        else:
            raise RuleError(f"{key}: {item!r} is not a number, text or true/false")
    return tuple(out)
