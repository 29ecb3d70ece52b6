"""Errors that a user can act on.

Every bad-input error names where the problem is (file, row, column or key) and the rule
that was broken, so that the message alone is enough to fix the input. The CLI turns an
:class:`InputError` into a one-line message and exit code 2.
"""

from __future__ import annotations

import difflib
from typing import Any

#: Longest quotation of user input in a message: a 1 MB cell must not become a 1 MB line.
QUOTE_LIMIT = 60


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters: escaped (no control characters reach a
    terminal) and short, whatever the input holds."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class InputError(ValueError):
    """A scenario, table or argument breaks a documented rule.

    Parameters are kept as attributes so that tests and callers can inspect them; ``str()``
    gives the one-line message ``file, row R (line L), column C: rule``.
    """

    def __init__(
        self,
        rule: str,
        *,
        file: str | None = None,
        row: int | None = None,
        line: int | None = None,
        column: str | None = None,
        key: str | None = None,
    ) -> None:
        self.rule = rule
        self.file = file
        self.row = row
        self.line = line
        self.column = column
        self.key = key
        super().__init__(self._format())

    def _format(self) -> str:
        where: list[str] = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}" + (f" (line {self.line})" if self.line else ""))
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {quote(self.column)}")
        if self.key is not None:
            where.append(f"key {quote(self.key, 2 * QUOTE_LIMIT)}")
        return (", ".join(where) + ": " if where else "") + self.rule


class NoPlan(Exception):
    """A valid scenario whose limits no plan meets (or a solve stopped before finding one).

    Not bad input: the CLI says why in one line and exits 1 ("no plan"), as ``optimize`` does
    for INFEASIBLE, rather than 2.
    """

    @classmethod
    def of(cls, result: Any, what: str) -> "NoPlan":
        """From a :class:`~optimizer.result.SolveResult` without a plan: its status and diagnosis."""
        why = result.diagnosis.summary() if getattr(result, "diagnosis", None) is not None else result.message
        return cls(f"{what}: the optimizer found no plan ({result.status.value}): {why}")


#: Most ids a "did you mean" compares against: difflib is linear in them, a base has millions.
HINT_CANDIDATES = 10_000


def did_you_mean(name: str, choices: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or nothing."""
    if len(choices) > HINT_CANDIDATES:
        return ""
    folded = {c.strip().casefold(): c for c in choices}  # 'C3' for 'c3' is the likeliest slip
    hint = [folded[name.strip().casefold()]] if name.strip().casefold() in folded else difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {quote(hint[0])}?)" if hint else ""
