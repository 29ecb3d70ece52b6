"""The statistics of ``campaignlab evaluate``: intervals for what a wave realised, and calibration.

Every interval is two-sided at 95% (:data:`LEVEL`). Which method, and why:

- **Acceptance multiplier** m, where realised acceptances ``X = sum_i Bernoulli(m p_i)`` over a
  group's contacts (``p_i`` the plan's p_accept). ``E X = m mu`` and ``Var X = m mu - m^2 s2``
  with ``mu = sum p_i`` and ``s2 = sum p_i^2``. The *score* interval is every m with
  ``(X - m mu)^2 <= z^2 (m mu - m^2 s2)``, a quadratic in m solved in closed form. With all
  ``p_i`` equal it is exactly Wilson's (1927) interval for a binomial proportion, whose
  coverage is close to nominal even for small counts (Brown, Cai & DasGupta 2001, Statistical
  Science 16:101-133). Measured (``tests/scenarios/test_evaluate.py``): 94.3% and 94.7% over
  2,000 draws of a 1,170-contact group with 420 expected acceptances (m = 1 and 0.8), 96.7%
  over 4,000 draws of a 20-contact group with 3.8. When X is larger than any m in the model allows
  (the quadratic has no real root: possible only when the p_i are very uneven), the
  conservative exact Poisson interval (Garwood 1936, Biometrika 28:437-442) is used instead.
- **A rate** (the observed acceptance rate of a reliability bin): Wilson's score interval
  (``scipy.stats.binomtest(...).proportion_ci(method="wilson")``).
- **A realised total** (revenue, cost, net value of a group): Student's t interval for the
  mean per contact, times the contacts: the contacts taken as independent draws of the
  group's per-contact outcome. Approximate when revenue is very skewed and contacts few.
- **Realised ROI** ``sum revenue / sum cost - 1``: the ratio estimator's linearised
  (delta-method) standard error ``sqrt(sum (y_i - R x_i)^2 / (n - 1)) * sqrt(n) / sum x``
  (Cochran 1977, Sampling Techniques, 3rd ed., section 6.3), with a t quantile.
- **Churn-rate difference against the holdout**: Newcombe's (1998) hybrid score interval,
  his method 10 (Statistics in Medicine 17:873-890), built from the two Wilson intervals;
  better coverage than the Wald interval near 0 and 1.
- **Revenue difference against the holdout**: Welch's (1947) unequal-variance t interval
  (Biometrika 34:28-35; ``scipy.stats.ttest_ind(equal_var=False).confidence_interval``).
- **Calibration** of p_accept: the Brier (1950) score ``mean (p - accepted)^2`` (Monthly
  Weather Review 78:1-3) beside the score of always predicting the observed rate, and a
  reliability table over deciles of p_accept (equal-count bins).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "LEVEL", "brier", "multiplier_interval", "newcombe_difference", "ratio_interval", "reliability_table",
    "total_interval", "welch_difference", "wilson",
]

LEVEL = 0.95
Z = float(stats.norm.ppf(0.5 + LEVEL / 2))


def multiplier_interval(x: np.ndarray, mu: np.ndarray, s2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score interval for the scale m in ``X = sum Bernoulli(m p_i)``; arrays of lower, upper and method.

    ``x`` realised acceptances, ``mu`` the sum of p_i, ``s2`` the sum of p_i^2 (one entry per
    group). A group with ``mu == 0`` has no interval (NaN). The method is ``"score"`` or, when
    the quadratic has no real root, ``"poisson exact"``.
    """
    x, mu, s2 = (np.asarray(a, float) for a in (x, mu, s2))
    with np.errstate(invalid="ignore", divide="ignore"):
        a = mu * mu + Z * Z * s2
        b = 2 * x * mu + Z * Z * mu
        disc = b * b - 4 * a * x * x
        root = np.sqrt(np.maximum(disc, 0.0))
        lower = np.maximum((b - root) / (2 * a), 0.0)
        upper = (b + root) / (2 * a)
        poisson = disc < 0
        if poisson.any():
            xp, mp = x[poisson], mu[poisson]
            lower[poisson] = np.where(xp > 0, stats.chi2.ppf((1 - LEVEL) / 2, 2 * xp) / 2, 0.0) / mp
            upper[poisson] = stats.chi2.ppf(0.5 + LEVEL / 2, 2 * xp + 2) / 2 / mp
    none = ~(mu > 0)
    lower[none], upper[none] = np.nan, np.nan
    method = np.where(none, "none", np.where(poisson, "poisson exact", "score"))
    return lower, upper, method


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """Wilson's score interval for a proportion (scipy); NaN for no trials."""
    if trials <= 0:
        return math.nan, math.nan
    ci = stats.binomtest(int(successes), int(trials)).proportion_ci(confidence_level=LEVEL, method="wilson")
    return float(ci.low), float(ci.high)


def total_interval(n: np.ndarray, total: np.ndarray, squares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """t interval for a group total: ``n (mean +- t sd / sqrt n)`` from the sums of values and squares."""
    n, total, squares = (np.asarray(a, float) for a in (n, total, squares))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        var = np.maximum(squares - n * mean * mean, 0.0) / (n - 1)
        half = stats.t.ppf(0.5 + LEVEL / 2, np.maximum(n - 1, 1)) * np.sqrt(var * n)
    half = np.where(n >= 2, half, np.nan)
    return total - half, total + half


def ratio_interval(n: np.ndarray, y: np.ndarray, x: np.ndarray, yy: np.ndarray, xy: np.ndarray, xx: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ratio ``R = sum y / sum x`` and its delta-method t interval, from per-group sums of y, x, y^2, xy, x^2."""
    n, y, x, yy, xy, xx = (np.asarray(a, float) for a in (n, y, x, yy, xy, xx))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(x > 0, y / x, np.nan)
        residual = np.maximum(yy - 2 * ratio * xy + ratio * ratio * xx, 0.0)  # sum (y - R x)^2
        se = np.sqrt(residual / (n - 1)) * np.sqrt(n) / x
        half = stats.t.ppf(0.5 + LEVEL / 2, np.maximum(n - 1, 1)) * se
    half = np.where((n >= 2) & (x > 0), half, np.nan)
    return ratio, ratio - half, ratio + half


def newcombe_difference(k1: int, n1: int, k2: int, n2: int) -> dict[str, float]:
    """``k1/n1 - k2/n2`` with Newcombe's hybrid score interval (1998, method 10)."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p1 - p2
    return {"difference": d, "ci_low": d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            "ci_high": d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)}


def welch_difference(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """``mean a - mean b`` with Welch's t interval (scipy); NaN bounds with fewer than 2 values on a side."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = float(a.mean() - b.mean()) if len(a) and len(b) else math.nan
    if len(a) < 2 or len(b) < 2 or (a.var() == 0 and b.var() == 0):
        return {"difference": d, "ci_low": math.nan, "ci_high": math.nan}
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(confidence_level=LEVEL)
    return {"difference": d, "ci_low": float(ci.low), "ci_high": float(ci.high)}


def brier(p: np.ndarray, outcome: np.ndarray) -> dict[str, float]:
    """Brier score of ``p`` against 0/1 outcomes, beside always predicting the observed rate."""
    p, outcome = np.asarray(p, float), np.asarray(outcome, float)
    rate = float(outcome.mean())
    score = float(np.mean((p - outcome) ** 2))
    reference = rate * (1 - rate)
    return {"brier": score, "reference_brier": reference, "skill": 1 - score / reference if reference > 0 else math.nan,
            "observed_rate": rate, "mean_predicted": float(p.mean()), "contacts": int(len(p))}


def reliability_table(p: np.ndarray, outcome: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Equal-count bins of p (deciles; fewer bins than 10 for fewer contacts): predicted against observed.

    Contacts are ordered by p (stably, so ties keep the plan's order) and cut into ``bins``
    runs of equal size (the first ones one longer when it does not divide).
    """
    p, outcome = np.asarray(p, float), np.asarray(outcome, float)
    order = np.argsort(p, kind="stable")
    rows = []
    for i, chunk in enumerate(np.array_split(order, min(bins, len(p)))):
        k, n = int(outcome[chunk].sum()), len(chunk)
        low, high = wilson(k, n)
        rows.append({"bin": i + 1, "p_min": float(p[chunk].min()), "p_max": float(p[chunk].max()),
                     "mean_predicted": float(p[chunk].mean()), "observed_rate": k / n, "acceptances": k, "count": n,
                     "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)
