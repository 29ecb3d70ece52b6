"""Errors that a user can act on.

Every bad-input error names where the problem is (file, row, column or key) and the rule
that was broken, so that the message alone is enough to fix the input. The CLI turns an
:class:`InputError` into a one-line message and exit code 2.
"""

from __future__ import annotations


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
            where.append(f"column {self.column!r}")
        if self.key is not None:
            where.append(f"key {self.key!r}")
        return (", ".join(where) + ": " if where else "") + self.rule
