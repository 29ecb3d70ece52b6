"""Errors raised by :mod:`optimizer.scoring`.

Every message names the file, column or key at fault and the offending value, so the CLI can
print it on one line and exit with code 2.
"""

from __future__ import annotations

__all__ = ["MappingError", "ScoringError", "TagRuleError", "UpliftDataError"]


class ScoringError(ValueError):
    """Base class: bad input to a scoring step (a user error, not a bug)."""


class MappingError(ScoringError):
    """A column mapping or customer table is inconsistent (missing column, bad value...)."""


class TagRuleError(ScoringError):
    """A tag-rule expression does not parse or refers to an unknown column."""


class UpliftDataError(ScoringError):
    """Campaign history cannot support the requested response or uplift estimate."""
