"""Customer value index, value matrix, value tiers and the keep/develop/retrench policy.

Following the 4R precision-marketing approach to group customers (a 2008 master's thesis on
Chinese operators' group-customer marketing):

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

Ranks are taken against a reference sample (:class:`RankReference`, one per column) and bands
are cut at fixed points (:func:`band_cuts`). Fitting uses the file itself as the reference;
applying a saved model to next month's file uses May's references and cut points, so a
customer who did not change keeps May's index, band and tier whoever else is in the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import MappingError

__all__ = [
    "POLICY",
    "TIERS",
    "RankReference",
    "band_cuts",
    "rank_references",
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


@dataclass(frozen=True)
class RankReference:
    """A column's reference distribution: its distinct values, sorted, and how many customers had each.

    Distinct values with counts reproduce the reference's average percentile ranks exactly
    (ties included) and stay small for the usual columns (months, counts, tariff prices).
    """

    values: tuple[float, ...]
    counts: tuple[int, ...]

    @classmethod
    def of(cls, x: np.ndarray) -> RankReference:
        v, c = np.unique(np.asarray(x, dtype=float), return_counts=True)
        return cls(tuple(map(float, v)), tuple(map(int, c)))

    @property
    def n(self) -> int:
        return int(sum(self.counts))

    def pct(self, x: np.ndarray) -> np.ndarray:
        """Average percentile rank of each ``x`` among the reference: (below + (equal + 1) / 2) / n.

        For the reference's own values this is pandas' ``rank(pct=True, method="average")``;
        a value the reference lacks ranks halfway between its neighbours.
        """
        v = np.asarray(self.values)
        c = np.asarray(self.counts)
        below = np.concatenate([[0], np.cumsum(c)])
        x = np.asarray(x, dtype=float)
        i = np.searchsorted(v, x, side="left")
        equal = np.where((i < len(v)) & (v[np.minimum(i, len(v) - 1)] == x), c[np.minimum(i, len(v) - 1)], 0)
        return (below[i] + (equal + 1) / 2) / self.n


def _numeric(customers: pd.DataFrame, weights: Mapping[str, float], key: str) -> dict[str, np.ndarray]:
    if not weights:
        raise MappingError(f"value.{key}: give at least one column with a weight")
    out = {}
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
        out[col] = x.to_numpy(float)
    return out


def rank_references(
    customers: pd.DataFrame, current: Mapping[str, float], potential: Mapping[str, float]
) -> dict[str, dict[str, RankReference]]:
    """``{"current": {column: reference}, "potential": {...}}`` with ``customers`` as the reference."""
    return {
        key: {col: RankReference.of(x) for col, x in _numeric(customers, weights, key).items()}
        for key, weights in (("current", current), ("potential", potential))
    }


def _weighted_rank(
    customers: pd.DataFrame, weights: Mapping[str, float], key: str, reference: Mapping[str, RankReference]
) -> np.ndarray:
    total = 0.0
    score = np.zeros(len(customers))
    for col, x in _numeric(customers, weights, key).items():
        if col not in reference:
            raise MappingError(f"value.{key}: column '{col}' has no reference distribution in the model")
        ref = reference[col]
        r = ref.pct(x)
        w = weights[col]
        # clipped: a value beyond the reference's range ranks at its end (in-sample ranks are already in (0, 1])
        score += abs(w) * np.clip(r if w > 0 else 1.0 - r + 1.0 / ref.n, 0.0, 1.0)
        total += abs(w)
    return 100.0 * score / total


def value_index(
    customers: pd.DataFrame,
    current: Mapping[str, float],
    potential: Mapping[str, float],
    *,
    reference: Mapping[str, Mapping[str, RankReference]] | None = None,
) -> pd.DataFrame:
    """Columns ``current_value`` and ``potential_value`` in 0..100 (higher is more valuable).

    Ranks are against ``reference`` (from :func:`rank_references` on the fitted base), by
    default against ``customers`` themselves.
    """
    ref = reference if reference is not None else rank_references(customers, current, potential)
    return pd.DataFrame(
        {
            "current_value": _weighted_rank(customers, current, "current", ref["current"]),
            "potential_value": _weighted_rank(customers, potential, "potential", ref["potential"]),
        },
        index=customers.index,
    )


def band_cuts(index: pd.DataFrame, cuts: tuple[float, float] = (1 / 3, 2 / 3)) -> dict[str, tuple[float, float]]:
    """The index values where low turns mid and mid turns high: the base quantiles ``cuts``."""
    lo, hi = cuts
    if not 0 < lo < hi < 1:
        raise MappingError(f"value.cuts(={cuts}) must satisfy 0 < low < high < 1")
    return {col: tuple(map(float, index[col].quantile([lo, hi]).to_numpy())) for col in ("current_value", "potential_value")}


def value_bands(
    index: pd.DataFrame,
    cuts: tuple[float, float] = (1 / 3, 2 / 3),
    *,
    thresholds: Mapping[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """low / mid / high band per index, cut at ``thresholds`` (default: this base's quantiles ``cuts``)."""
    q_all = thresholds if thresholds is not None else band_cuts(index, cuts)
    out = {}
    for col, name in (("current_value", "current_band"), ("potential_value", "potential_band")):
        q = q_all[col]
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
