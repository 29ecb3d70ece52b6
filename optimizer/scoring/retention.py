"""Shifted-beta-geometric (sBG) retention model (Fader & Hardie 2007, 2010).

Each customer churns at the end of any period with a constant probability ``theta``;
``theta`` varies across customers as Beta(alpha, beta). For a cohort:

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)      churn in period t = 1, 2, ...
    S(t)     = B(alpha, beta + t) / B(alpha, beta)              alive after t periods
    h(t)     = alpha / (alpha + beta + t - 1)                    P(churn in t | alive after t-1)

The hazard falls with t because the customers with high ``theta`` leave first; that sorting
effect is why a single average churn rate mis-projects retention.

Two likelihoods are provided:

* :func:`fit_sbg` for cohort data (each customer followed from period 0; churned in period
  ``t`` or still active after ``T - 1`` periods). This reproduces the paper's estimates.
* :func:`fit_sbg_hazard` for cross-sectional one-period windows (each customer seen alive at
  tenure ``t - 1`` and observed to churn or not in period ``t``), the shape of a churn
  snapshot such as the IBM Telco table.

Fits convert to per-period, monthly and yearly hazards for the lifecycle simulator
(:func:`hazards`, :func:`monthly_hazards`, :func:`yearly_hazards`) and to customer lifetime
value (:func:`residual_value`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from .errors import ScoringError

__all__ = [
    "ExitHazards",
    "SBGFit",
    "churn_flag",
    "churn_within",
    "fit_exit_hazards",
    "fit_sbg",
    "fit_sbg_cohorts",
    "fit_sbg_hazard",
    "hazards",
    "monthly_hazards",
    "residual_value",
    "residual_value_constant",
    "survival",
    "yearly_hazards",
]


@dataclass(frozen=True)
class SBGFit:
    """A fitted sBG model. ``period_months`` is the length of one period (12 for yearly data)."""

    alpha: float
    beta: float
    log_likelihood: float
    n_customers: int
    period_months: float = 1.0
    #: True when the estimate sits on the search box (alpha, beta ~ e^12): the data show no
    #: heterogeneity, so only the mean churn alpha / (alpha + beta) is meaningful.
    at_bound: bool = False

    @property
    def mean_churn(self) -> float:
        """Mean of the churn probability across customers, alpha / (alpha + beta)."""
        return self.alpha / (self.alpha + self.beta)


def survival(fit: SBGFit, t: ArrayLike) -> NDArray[np.float64]:
    """S(t): share of a fresh cohort still active after ``t`` periods (t >= 0, may be fractional)."""
    t_arr = np.asarray(t, dtype=float)
    if np.any(t_arr < 0):
        raise ScoringError(f"survival: periods t must be >= 0, got min {t_arr.min()}")
    return np.exp(special.betaln(fit.alpha, fit.beta + t_arr) - special.betaln(fit.alpha, fit.beta))


def churn_within(fit: SBGFit, periods_survived: ArrayLike, horizon: float) -> NDArray[np.float64]:
    """P(churn within the next ``horizon`` periods | active after ``periods_survived``) = 1 - S(n + H) / S(n)."""
    n = np.asarray(periods_survived, dtype=float)
    return 1.0 - survival(fit, n + horizon) / survival(fit, n)


def hazards(fit: SBGFit, n_periods: int, *, start: int = 1) -> NDArray[np.float64]:
    """Per-period churn hazards h(start), ..., h(start + n_periods - 1) in the fit's own period."""
    if n_periods < 0 or start < 1:
        raise ScoringError(f"hazards: need n_periods >= 0 and start >= 1, got {n_periods}, {start}")
    t = np.arange(start, start + n_periods, dtype=float)
    return fit.alpha / (fit.alpha + fit.beta + t - 1.0)


def _hazards_in_unit(fit: SBGFit, n: int, unit_months: float) -> NDArray[np.float64]:
    # h_k = 1 - S(b_k)/S(b_{k-1}) with boundaries b_k = k * unit / period (in fit periods).
    # Inside a fit period S is interpolated geometrically (constant hazard within the period),
    # which makes the converted hazards reproduce S exactly at every fit-period boundary.
    if n < 0:
        raise ScoringError(f"number of hazard steps must be >= 0, got {n}")
    edges = np.arange(n + 1, dtype=float) * unit_months / fit.period_months
    lo = np.floor(edges)
    log_s_lo = np.log(survival(fit, lo))
    log_s_hi = np.log(survival(fit, lo + 1.0))
    log_s = log_s_lo + (edges - lo) * (log_s_hi - log_s_lo)
    return 1.0 - np.exp(np.diff(log_s))


def monthly_hazards(fit: SBGFit, n_months: int) -> NDArray[np.float64]:
    """Monthly churn hazards for a fresh cohort's first ``n_months`` months of tenure."""
    return _hazards_in_unit(fit, n_months, 1.0)


def yearly_hazards(fit: SBGFit, n_years: int) -> NDArray[np.float64]:
    """Yearly churn hazards for a fresh cohort's first ``n_years`` years of tenure."""
    return _hazards_in_unit(fit, n_years, 12.0)


def residual_value(
    fit: SBGFit,
    margin_per_period: ArrayLike,
    discount_rate: float,
    periods_survived: ArrayLike = 0,
) -> NDArray[np.float64]:
    """Expected discounted future margin of a customer active now (Fader & Hardie 2010, DERL).

    The customer has survived ``periods_survived`` periods; each further period they survive
    pays ``margin_per_period`` at its end, discounted at ``discount_rate`` per period:

        sum_{k>=1} m * S(n + k) / S(n) / (1 + d)^k = m * (2F1(1, beta + n; alpha + beta + n; 1/(1+d)) - 1)

    since S(n + k) / S(n) = (beta + n)_k / (alpha + beta + n)_k (rising factorials).
    """
    if not discount_rate > 0:
        raise ScoringError(f"discount_rate(={discount_rate}) must be > 0 for a finite value")
    n = np.asarray(periods_survived, dtype=float)
    if np.any(n < 0):
        raise ScoringError(f"periods_survived must be >= 0, got min {n.min()}")
    m = np.asarray(margin_per_period, dtype=float)
    x = 1.0 / (1.0 + discount_rate)
    factor = special.hyp2f1(1.0, fit.beta + n, fit.alpha + fit.beta + n, x) - 1.0
    return np.asarray(m * factor, dtype=float)


def residual_value_constant(margin_per_period: ArrayLike, hazard: ArrayLike, discount_rate: float) -> NDArray[np.float64]:
    """:func:`residual_value` for a known constant hazard ``h`` (a churn model's, not an sBG mix):

        sum_{k>=1} m (1 - h)^k / (1 + d)^k = m (1 - h) / (d + h)
    """
    if not discount_rate > 0:
        raise ScoringError(f"discount_rate(={discount_rate}) must be > 0 for a finite value")
    h = np.asarray(hazard, dtype=float)
    return np.asarray(np.asarray(margin_per_period, dtype=float) * (1.0 - h) / (discount_rate + h), dtype=float)


# --- estimation ------------------------------------------------------------------------


# log alpha and log beta stay within +-12 (alpha, beta in [6e-6, 1.6e5]).
_LOG_BOX = 12.0


def _validate_periods(name: str, values: NDArray[np.float64]) -> None:
    if values.size == 0:
        raise ScoringError(f"{name}: no observations to fit")
    if not np.all(np.isfinite(values)):
        raise ScoringError(f"{name}: values must be finite")
    if np.any(values < 1) or np.any(values != np.round(values)):
        bad = values[(values < 1) | (values != np.round(values))][0]
        raise ScoringError(f"{name}: periods must be whole numbers >= 1, got {bad}")


def _maximise(neg_ll, n: int, period_months: float) -> SBGFit:
    # Optimise on the log scale so alpha, beta > 0. The box keeps the search off the ridge
    # alpha, beta -> infinity (a homogeneous geometric) where the likelihood is flat; several
    # starts guard against stopping early there. Nelder-Mead polishes to ~1e-10 inside the box.
    # Along that ridge alpha / (alpha + beta) stays fixed: the direction (1, 1) on the log
    # scale. Where the likelihood still rises that way, Nelder-Mead would crawl up the flat
    # ridge to its iteration limit (2.5 s per fit on a 3,333-customer base), so the polish
    # starts from the box's edge along (1, 1) instead. Near that edge betaln's cancellation
    # leaves ~1e-9 of relative noise in the likelihood, below which fatol cannot be met: the
    # iteration cap (a 2-D simplex converges in ~200) stops the polish there.
    best = None
    box = [(-_LOG_BOX, _LOG_BOX)] * 2
    for start in ((0.0, 0.0), (np.log(0.5), np.log(5.0)), (np.log(3.0), np.log(3.0))):
        res = optimize.minimize(neg_ll, np.array(start), method="L-BFGS-B", bounds=box)
        edge = res.x + (_LOG_BOX - res.x.max())
        if neg_ll(edge) < res.fun:
            res = optimize.OptimizeResult(x=edge, fun=float(neg_ll(edge)))
        res = optimize.minimize(
            neg_ll, res.x, method="Nelder-Mead", bounds=box, options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 1000}
        )
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    a, b = np.exp(best.x)
    at_bound = bool(np.any(np.abs(best.x) > _LOG_BOX - 0.1))
    return SBGFit(
        alpha=float(a),
        beta=float(b),
        log_likelihood=float(-best.fun),
        n_customers=n,
        period_months=period_months,
        at_bound=at_bound,
    )


def fit_sbg(churn_period: ArrayLike, alive_after: ArrayLike, *, period_months: float = 1.0) -> SBGFit:
    """Maximum-likelihood sBG fit to cohort data.

    ``churn_period``: for each customer who churned, the period (1, 2, ...) in which they left.
    ``alive_after``: for each customer still active, the number of periods they have survived.
    """
    churned = np.asarray(churn_period, dtype=float).ravel()
    alive = np.asarray(alive_after, dtype=float).ravel()
    if churned.size:
        _validate_periods("churn_period", churned)
    if alive.size and (np.any(alive < 0) or np.any(alive != np.round(alive))):
        raise ScoringError("alive_after: periods survived must be whole numbers >= 0")
    if churned.size == 0:
        raise ScoringError("fit_sbg: no churners, so alpha and beta are not identified")
    t_c, n_c = np.unique(churned, return_counts=True)
    t_a, n_a = np.unique(alive, return_counts=True)

    def neg_ll(z: NDArray[np.float64]) -> float:
        a, b = np.exp(z)
        base = special.betaln(a, b)
        ll = np.sum(n_c * (special.betaln(a + 1.0, b + t_c - 1.0) - base))
        ll += np.sum(n_a * (special.betaln(a, b + t_a) - base))
        return float(-ll)

    return _maximise(neg_ll, int(churned.size + alive.size), period_months)


def fit_sbg_hazard(period: ArrayLike, churned: ArrayLike, *, period_months: float = 1.0) -> SBGFit:
    """sBG fit to one-period windows: customer i was active after ``period - 1`` periods and
    ``churned`` (bool) says whether they left in ``period``. Likelihood: h(t) or 1 - h(t).
    """
    t = np.asarray(period, dtype=float).ravel()
    y = np.asarray(churned).ravel()
    if t.shape != y.shape:
        raise ScoringError(f"period ({t.size}) and churned ({y.size}) differ in length")
    _validate_periods("period", t)
    y = y.astype(bool)
    if not y.any() or y.all():
        raise ScoringError("fit_sbg_hazard: need both churners and stayers")

    def neg_ll(z: NDArray[np.float64]) -> float:
        a, b = np.exp(z)
        h = a / (a + b + t - 1.0)
        return float(-(np.sum(np.log(h[y])) + np.sum(np.log1p(-h[~y]))))

    return _maximise(neg_ll, int(t.size), period_months)


def fit_sbg_cohorts(
    df: pd.DataFrame,
    *,
    recency: str = "recency",
    horizon: str = "T",
    cohort: str = "cohort",
    period_months: float = 1.0,
) -> dict[str, SBGFit]:
    """Fit one sBG per cohort from a (recency, T) table in the pymc-marketing layout.

    ``recency < T`` means the customer churned in period ``recency``; ``recency == T`` means
    still active after ``T - 1`` periods (so T = 8 covers years 1..7 of the paper).
    """
    for col in (recency, horizon, cohort):
        if col not in df.columns:
            raise ScoringError(f"column '{col}' not in table (columns: {', '.join(map(str, df.columns))})")
    fits: dict[str, SBGFit] = {}
    for name, g in df.groupby(cohort, sort=True):
        r = pd.to_numeric(g[recency], errors="raise").to_numpy(float)
        big_t = pd.to_numeric(g[horizon], errors="raise").to_numpy(float)
        if np.any(r > big_t):
            raise ScoringError(f"column '{recency}' exceeds '{horizon}' in cohort '{name}'")
        active = r == big_t
        fits[str(name)] = fit_sbg(r[~active], big_t[active] - 1.0, period_months=period_months)
    return fits


# --- per-customer hazards from a churn snapshot -----------------------------------------


_TRUE = {"true", "yes", "1", "1.0", "y", "t"}
_FALSE = {"false", "no", "0", "0.0", "n", "f"}


def churn_flag(column: pd.Series, name: str) -> NDArray[np.bool_]:
    """A churn flag as booleans: bool, 0/1, or text (true/false, yes/no, 1/0) from a CSV."""
    if pd.api.types.is_bool_dtype(column):
        return column.to_numpy(bool)
    text = column.astype(str).str.strip().str.lower()
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ScoringError(f"column {name!r}, row {row + 1}: {column.iloc[row]!r} is not a churn flag (true/false, yes/no, 1/0)")
    return text.isin(_TRUE).to_numpy()


@dataclass(frozen=True)
class ExitHazards:
    """sBG fits per group of a customers table, and each customer's monthly exit hazard.

    A customer still active after ``n`` months has the posterior mean churn probability
    ``alpha / (alpha + beta + n)``: in the sBG model an individual's hazard is constant, so
    this is the constant monthly hazard the lifecycle simulator and the value model use.
    """

    hazard: NDArray[np.float64]  # per customer (row order of the table)
    churned: NDArray[np.bool_]  # the churn flag as read
    fits: dict[str, SBGFit]
    table: pd.DataFrame  # one row per group: the fit and how well it matches the data
    by: str | None
    likelihood: str


def fit_exit_hazards(
    customers: pd.DataFrame,
    *,
    tenure: str,
    churned: str,
    by: str | None = None,
    likelihood: str = "cohort",
) -> ExitHazards:
    """Fit one sBG model per ``by`` group from the ``tenure`` (months) and ``churned`` columns.

    ``likelihood="cohort"`` reads tenure as the duration and the churn flag as the event
    (churners left in month t; stayers are censored after t months), the usual survival
    reading of a churn snapshot; ``"window"`` reads each row as one month observed at tenure
    t. Raises :class:`ScoringError` naming the group when a group cannot be fitted.
    """
    for col in (tenure, churned) + ((by,) if by else ()):
        if col not in customers.columns:
            raise ScoringError(f"column {col!r} not in the customers table (columns: {', '.join(map(str, customers.columns))})")
    if likelihood not in ("cohort", "window"):
        raise ScoringError(f"likelihood(={likelihood!r}) must be 'cohort' or 'window'")
    groups = customers[by].astype(str).to_numpy() if by else np.full(len(customers), "all", dtype=object)
    t = pd.to_numeric(customers[tenure], errors="coerce").to_numpy(float)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        bad = int(np.flatnonzero(~(np.isfinite(t) & (t >= 0)))[0])
        raise ScoringError(f"column {tenure!r}, row {bad + 1}: tenure must be a number of months >= 0 (got {customers[tenure].iloc[bad]!r})")
    y = churn_flag(customers[churned], churned)
    hazard = np.full(len(customers), np.nan)
    fits: dict[str, SBGFit] = {}
    rows = []
    for g in sorted(set(groups)):
        idx = groups == g
        try:
            if likelihood == "cohort":
                fit = fit_sbg(t[idx & y], t[idx & ~y], period_months=1)
            else:  # tenure-0 rows have not completed a month: no hazard information
                use = idx & (t >= 1)
                fit = fit_sbg_hazard(t[use], y[use], period_months=1)
        except ScoringError as exc:
            raise ScoringError(f"cannot fit group {g!r}" + (f" of column {by!r}" if by else "") + f": {exc}") from None
        fits[g] = fit
        hazard[idx] = fit.alpha / (fit.alpha + fit.beta + t[idx])
        # Fit check: churners expected within the observed tenures against those observed.
        expected = float(np.sum(1.0 - survival(fit, t[idx]))) if likelihood == "cohort" else float(np.sum(hazard[idx]))
        rows.append(
            {
                "group": g,
                "customers": int(idx.sum()),
                "churned": int((idx & y).sum()),
                "alpha": fit.alpha,
                "beta": fit.beta,
                "log_likelihood": fit.log_likelihood,
                "at_bound": fit.at_bound,
                "mean_monthly_hazard_active": float(np.mean(hazard[idx & ~y])) if (idx & ~y).any() else float("nan"),
                "churned_expected_by_fit": expected,
            }
        )
    return ExitHazards(hazard, y, fits, pd.DataFrame(rows), by, likelihood)
