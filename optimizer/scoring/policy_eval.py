"""Off-policy evaluation by inverse propensity scoring (IPS) on randomized history.

For logged data (x_i, a_i, y_i) where arm a_i was assigned with known propensity e(a_i | x_i)
(1/3 per arm in the Hillstrom test), the value of a deterministic policy pi is estimated by

    V_IPS(pi) = (1/n) sum_i  1[a_i = pi(x_i)] * y_i / e(a_i | x_i)

which is unbiased whenever e > 0 for every arm pi may choose. Each term is i.i.d., so the
standard error is the sample standard deviation of the terms over sqrt(n) and the normal
interval is V +/- z * SE. The self-normalised estimate (SNIPS: divide by the sum of weights
rather than n) is reported beside it. Differences between two policies are evaluated on the
same units (paired terms): wherever both policies choose the same arm the terms cancel, so
the lift of a targeted policy over "no contact" gets a much tighter interval than two
separate intervals would suggest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from .errors import ScoringError

__all__ = ["PolicyValue", "evaluate_policies", "ips_terms", "ips_value"]


@dataclass(frozen=True)
class PolicyValue:
    value: float
    se: float
    ci_low: float
    ci_high: float
    snips: float
    n: int
    n_matched: int


def ips_terms(
    logged_action: ArrayLike, outcome: ArrayLike, propensity: ArrayLike, policy_action: ArrayLike
) -> NDArray[np.float64]:
    """Per-unit IPS terms 1[a_i = pi_i] * y_i / e_i."""
    a = np.asarray(logged_action)
    pi = np.asarray(policy_action)
    y = np.asarray(outcome, dtype=float)
    e = np.asarray(propensity, dtype=float)
    if not (a.shape == pi.shape == y.shape == e.shape):
        raise ScoringError(
            f"ips: logged actions {a.shape}, policy actions {pi.shape}, outcomes {y.shape} "
            f"and propensities {e.shape} must have the same length"
        )
    if np.any(~np.isfinite(y)):
        raise ScoringError("ips: outcomes must be finite")
    if np.any(~(e > 0)) or np.any(e > 1):
        raise ScoringError(f"ips: propensities must be in (0, 1], got min {np.nanmin(e)}")
    return np.where(a == pi, y / e, 0.0)


def _summary(terms: NDArray[np.float64], weights: NDArray[np.float64], level: float) -> PolicyValue:
    n = terms.size
    v = float(terms.mean())
    se = float(terms.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    z = float(stats.norm.ppf(0.5 + level / 2))
    w = weights.sum()
    return PolicyValue(
        value=v,
        se=se,
        ci_low=v - z * se,
        ci_high=v + z * se,
        snips=float(terms.sum() / w) if w > 0 else float("nan"),
        n=n,
        n_matched=int((weights > 0).sum()),
    )


def ips_value(
    logged_action: ArrayLike,
    outcome: ArrayLike,
    propensity: ArrayLike,
    policy_action: ArrayLike,
    *,
    level: float = 0.95,
) -> PolicyValue:
    """IPS estimate of a deterministic policy's mean outcome per unit, with a normal CI."""
    if not 0 < level < 1:
        raise ScoringError(f"level(={level}) must be in (0, 1)")
    t = ips_terms(logged_action, outcome, propensity, policy_action)
    w = ips_terms(logged_action, np.ones_like(t), propensity, policy_action)
    return _summary(t, w, level)


def evaluate_policies(
    logged_action: ArrayLike,
    outcomes: Mapping[str, ArrayLike],
    propensity: ArrayLike,
    policies: Mapping[str, ArrayLike],
    *,
    baseline: str | None = None,
    cost_per_contact: Mapping[str, float] | None = None,
    no_contact: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per policy: IPS value and CI of each outcome, contacts and, if ``baseline`` is
    given, the paired lift over it with its CI.

    ``cost_per_contact`` (arm -> cost) adds a ``net`` outcome: the first outcome minus the
    policy's contact cost per unit (the cost is known exactly from the policy, not estimated).
    """
    if baseline is not None and baseline not in policies:
        raise ScoringError(f"baseline policy '{baseline}' is not among the policies")
    a = np.asarray(logged_action)
    e = np.asarray(propensity, dtype=float)
    rows = []
    first = next(iter(outcomes))
    terms_of: dict[str, dict[str, NDArray[np.float64]]] = {}
    for name, pi_raw in policies.items():
        pi = np.asarray(pi_raw)
        row: dict[str, float | str | int] = {"policy": name}
        if no_contact is not None:
            row["contacts"] = int((pi != no_contact).sum())
        terms_of[name] = {}
        for oname, y in outcomes.items():
            t = ips_terms(a, y, e, pi)
            if oname == first and cost_per_contact is not None:
                cost = pd.Series(pi).map(lambda arm: cost_per_contact.get(arm, 0.0)).to_numpy(float)
                terms_of[name]["net"] = t - cost
            terms_of[name][oname] = t
        w = ips_terms(a, np.ones(a.size), e, pi)
        for oname, t in terms_of[name].items():
            s = _summary(t, w, level)
            row.update({oname: s.value, f"{oname}_ci_low": s.ci_low, f"{oname}_ci_high": s.ci_high})
        rows.append(row)
    table = pd.DataFrame(rows)
    if baseline is not None:
        z = float(stats.norm.ppf(0.5 + level / 2))
        for oname in terms_of[baseline]:
            lifts, lo, hi = [], [], []
            for name in policies:
                d = terms_of[name][oname] - terms_of[baseline][oname]
                m, se = d.mean(), d.std(ddof=1) / np.sqrt(d.size)
                lifts.append(m)
                lo.append(m - z * se)
                hi.append(m + z * se)
            table[f"{oname}_lift"] = lifts
            table[f"{oname}_lift_ci_low"] = lo
            table[f"{oname}_lift_ci_high"] = hi
    return table
