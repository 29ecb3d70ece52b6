"""Lifecycle stages and value tiers as small integer codes.

Why codes and not enums in the arrays: the engine keeps one int8 per customer so a million
customers update in a few vectorised numpy passes; names are used only at the edges
(configuration, KPIs, strategies' rules).
"""

from __future__ import annotations

__all__ = [
    "ACQUISITION",
    "DECLINE",
    "EXITED",
    "GROWTH",
    "MATURITY",
    "STAGE_NAMES",
    "TIER_NAMES",
    "stage_code",
    "tier_code",
]

ACQUISITION, GROWTH, MATURITY, DECLINE, EXITED = 0, 1, 2, 3, 4

#: The four live stages in lifecycle order (exit is the absorbing fifth).
STAGE_NAMES: tuple[str, ...] = ("acquisition", "growth", "maturity", "decline")

#: Value tiers in decreasing retention priority (premium/"quality", loyal, potential, then the
#: two entry-level kinds: new-born customers and price-sensitive "flea" customers).
TIER_NAMES: tuple[str, ...] = ("premium", "loyal", "potential", "newborn", "flea")


def stage_code(name: str) -> int:
    """Code of a stage name (``ValueError`` naming the choices if unknown)."""
    if name == "exited":
        return EXITED
    try:
        return STAGE_NAMES.index(name)
    except ValueError:
        raise ValueError(f"unknown stage {name!r}; expected one of {STAGE_NAMES}") from None


def tier_code(name: str) -> int:
    """Code of a value-tier name (``ValueError`` naming the choices if unknown)."""
    try:
        return TIER_NAMES.index(name)
    except ValueError:
        raise ValueError(f"unknown value tier {name!r}; expected one of {TIER_NAMES}") from None
