"""Customer value index, value matrix, value tiers and the keep/develop/retrench policy.

Following the 4R thesis in shared/domain.md:

* **Value index.** Current value (e.g. ARPU, tenure, payment behaviour) and potential value
  (e.g. unused services, usage trend) are each a weighted mean of the customers' percentile
  ranks on the chosen columns, scaled to 0..100. A negative weight means "lower is better".
  Percentile ranks make columns in yuan, months and counts comparable without assuming a
  distribution.
* **Value matrix.** Each index is cut into low / mid / high bands at base quantiles
  (default terciles); the matrix counts customers in each current x potential cell.
* **Tiers.** premium: current high. loyal: current mid with long tenure. potential: current
  mid with short tenure, or current low with potential high. The rest are entry-level:
  new-born (tenure within the growth window) or flea.
* **Policy.** keep premium and loyal, develop potential and new-born, retrench on flea.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .errors import MappingError

__all__ = [
    "POLICY",
    "TIERS",
    "tier_policy",
    "value_bands",
    "value_index",
    "value_matrix",
    "value_tiers",
]

TIERS = ("premium", "loyal", "potential", "newborn", "flea")
POLICY: dict[str, str] = {
    "premium": "keep",
    "loyal": "keep",
    "potential": "develop",
    "newborn": "develop",
    "flea": "retrench",
}
_BANDS = ("low", "mid", "high")


def _weighted_rank(customers: pd.DataFrame, weights: Mapping[str, float], key: str) -> np.ndarray:
    if not weights:
        raise MappingError(f"value.{key}: give at least one column with a weight")
    total = 0.0
    score = np.zeros(len(customers))
    for col, w in weights.items():
        if col not in customers.columns:
            raise MappingError(
                f"value.{key}: column '{col}' not in customers (available: {', '.join(map(str, customers.columns))})"
            )
        if not np.isfinite(w) or w == 0:
            raise MappingError(f"value.{key}.{col}: weight(={w}) must be finite and non-zero")
        x = pd.to_numeric(customers[col], errors="coerce")
        if x.isna().any():
            raise MappingError(f"value.{key}: column '{col}' must be numeric with no blanks")
        r = x.rank(pct=True, method="average").to_numpy()
        score += abs(w) * (r if w > 0 else 1.0 - r + 1.0 / len(x))
        total += abs(w)
    return 100.0 * score / total


def value_index(customers: pd.DataFrame, current: Mapping[str, float], potential: Mapping[str, float]) -> pd.DataFrame:
    """Columns ``current_value`` and ``potential_value`` in 0..100 (higher is more valuable)."""
    return pd.DataFrame(
        {
            "current_value": _weighted_rank(customers, current, "current"),
            "potential_value": _weighted_rank(customers, potential, "potential"),
        },
        index=customers.index,
    )


def value_bands(index: pd.DataFrame, cuts: tuple[float, float] = (1 / 3, 2 / 3)) -> pd.DataFrame:
    """low / mid / high band per index, cut at the base quantiles ``cuts``."""
    lo, hi = cuts
    if not 0 < lo < hi < 1:
        raise MappingError(f"value.cuts(={cuts}) must satisfy 0 < low < high < 1")
    out = {}
    for col, name in (("current_value", "current_band"), ("potential_value", "potential_band")):
        q = index[col].quantile([lo, hi]).to_numpy()
        x = index[col].to_numpy()
        out[name] = np.where(x > q[1], "high", np.where(x > q[0], "mid", "low"))
    return pd.DataFrame(out, index=index.index)


def value_matrix(bands: pd.DataFrame) -> pd.DataFrame:
    """Customer counts: rows current band, columns potential band (low, mid, high)."""
    m = pd.crosstab(bands["current_band"], bands["potential_band"])
    return m.reindex(index=list(_BANDS), columns=list(_BANDS), fill_value=0)


def value_tiers(
    bands: pd.DataFrame, tenure_months: pd.Series, *, loyal_min_months: float = 24, newborn_max_months: float = 6
) -> pd.Series:
    """Tier per customer from the value bands and tenure (see module docstring)."""
    if newborn_max_months > loyal_min_months:
        raise MappingError(
            f"value: newborn_max_months(={newborn_max_months}) must be <= loyal_min_months(={loyal_min_months})"
        )
    cur = bands["current_band"].to_numpy()
    pot = bands["potential_band"].to_numpy()
    t = np.asarray(tenure_months, dtype=float)
    tier = np.where(t <= newborn_max_months, "newborn", "flea").astype(object)
    tier[(cur == "low") & (pot == "high")] = "potential"
    tier[(cur == "mid") & (t < loyal_min_months)] = "potential"
    tier[(cur == "mid") & (t >= loyal_min_months)] = "loyal"
    tier[cur == "high"] = "premium"
    return pd.Series(tier, index=bands.index, name="value_tier", dtype=object)


def tier_policy(tiers: pd.Series, policy: Mapping[str, str] | None = None) -> pd.Series:
    """keep / develop / retrench per customer; ``policy`` overrides the default per tier."""
    rule = dict(POLICY)
    for tier, action in (policy or {}).items():
        if tier not in POLICY:
            raise MappingError(f"value.policy: unknown tier '{tier}' (tiers: {', '.join(TIERS)})")
        if action not in ("keep", "develop", "retrench"):
            raise MappingError(f"value.policy.{tier}: '{action}' is not keep, develop or retrench")
        rule[tier] = action
    return tiers.map(rule).rename("value_policy")
