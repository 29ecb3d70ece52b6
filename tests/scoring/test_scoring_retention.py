"""sBG retention: the published Fader & Hardie (2007) fit, parameter recovery, conversions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimizer.scoring import retention as rt
from optimizer.scoring.errors import ScoringError


def test_fader_hardie_2007_estimates_to_three_decimals(data_file) -> None:
    df = pd.read_csv(data_file("sbg_paper.csv"))
    fits = rt.fit_sbg_cohorts(df, cohort="cohorts", period_months=12)
    # Table in Fader & Hardie (2007), "How to Project Customer Retention".
    assert round(fits["highend"].alpha, 3) == 0.668
    assert round(fits["highend"].beta, 3) == 3.806
    assert round(fits["regular"].alpha, 3) == 0.704
    assert round(fits["regular"].beta, 3) == 1.182


def test_fader_hardie_survivor_counts_and_holdout_projection(data_file) -> None:
    df = pd.read_csv(data_file("sbg_paper.csv"))
    fits = rt.fit_sbg_cohorts(df, cohort="cohorts", period_months=12)
    # Survivors per year in the paper (years 0..7) are what the file encodes.
    observed = {
        "highend": [1000, 869, 743, 653, 593, 551, 517, 491],
        "regular": [1000, 631, 468, 382, 326, 289, 262, 241],
    }
    for name, counts in observed.items():
        g = df[df["cohorts"] == name]
        alive = [int((g["recency"] > t).sum()) for t in range(8)]
        assert alive == counts
        fitted = 1000 * rt.survival(fits[name], np.arange(8))
        # the fit tracks the calibration years within 2.5 percentage points
        assert np.max(np.abs(fitted - np.array(counts))) < 25
    # Holdout years 8..12 from the 13-year file: projection error below 3 points for highend
    hold = pd.read_csv(data_file("sbg_paper_T13.csv"))
    g = hold[hold["cohort"] == "highend"]
    actual = np.array([(g["recency"] > t).sum() for t in range(8, 13)]) / 1000
    proj = rt.survival(fits["highend"], np.arange(8, 13))
    assert np.max(np.abs(proj - actual)) < 0.03


def test_parameter_recovery_from_simulated_cohort() -> None:
    rng = np.random.default_rng(20070101)
    alpha, beta, n, horizon = 1.3, 4.0, 40_000, 10
    theta = rng.beta(alpha, beta, size=n)
    life = rng.geometric(theta)  # period of churn, 1, 2, ...
    churned = life[life <= horizon]
    alive = np.full(int((life > horizon).sum()), horizon)
    fit = rt.fit_sbg(churned, alive)
    assert fit.alpha == pytest.approx(alpha, rel=0.08)
    assert fit.beta == pytest.approx(beta, rel=0.10)


def test_hazard_window_fit_recovers_parameters() -> None:
    rng = np.random.default_rng(7)
    alpha, beta = 0.8, 2.5
    n = 60_000
    t = rng.integers(1, 40, size=n)
    theta = rng.beta(alpha, beta, size=n)
    # condition on survival to t-1: draw theta from its posterior by rejection
    keep = rng.random(n) < (1 - theta) ** (t - 1)
    t, theta = t[keep], theta[keep]
    churn = rng.random(t.size) < theta
    fit = rt.fit_sbg_hazard(t, churn)
    assert fit.alpha == pytest.approx(alpha, rel=0.12)
    assert fit.beta == pytest.approx(beta, rel=0.15)


def test_hazards_match_survival_ratios() -> None:
    fit = rt.SBGFit(alpha=0.704, beta=1.182, log_likelihood=0.0, n_customers=1, period_months=12)
    s = rt.survival(fit, np.arange(6))
    h = rt.hazards(fit, 5)
    np.testing.assert_allclose(h, 1 - s[1:] / s[:-1], rtol=1e-12)
    # monthly hazards compound to the yearly survival exactly at year boundaries
    m = rt.monthly_hazards(fit, 60)
    s_from_monthly = np.cumprod(1 - m)[11::12]
    np.testing.assert_allclose(s_from_monthly, s[1:], rtol=1e-10)
    np.testing.assert_allclose(rt.yearly_hazards(fit, 5), h, rtol=1e-10)
    # a monthly fit turned into yearly hazards
    fm = rt.SBGFit(alpha=0.5, beta=6.0, log_likelihood=0.0, n_customers=1, period_months=1)
    y = rt.yearly_hazards(fm, 3)
    sm = rt.survival(fm, [0, 12, 24, 36])
    np.testing.assert_allclose(y, 1 - sm[1:] / sm[:-1], rtol=1e-10)
    # hazards fall with tenure (sorting effect)
    assert np.all(np.diff(m) <= 1e-15)


def test_residual_value_equals_truncated_series() -> None:
    fit = rt.SBGFit(alpha=0.668, beta=3.806, log_likelihood=0.0, n_customers=1)
    d, m = 0.1, 50.0
    for n in (0, 3, 10):
        k = np.arange(1, 2000)
        s = rt.survival(fit, n + k) / rt.survival(fit, n)
        series = m * np.sum(s / (1 + d) ** k)
        assert rt.residual_value(fit, m, d, n) == pytest.approx(series, rel=1e-9)
    # customers who have stayed longer are worth more (lower hazard)
    v = rt.residual_value(fit, m, d, np.array([0, 5, 20]))
    assert np.all(np.diff(v) > 0)


def test_bad_inputs_raise_named_errors() -> None:
    with pytest.raises(ScoringError, match="discount_rate"):
        rt.residual_value(rt.SBGFit(1, 1, 0, 1), 1.0, 0.0)
    with pytest.raises(ScoringError, match="no churners"):
        rt.fit_sbg([], [3, 3])
    with pytest.raises(ScoringError, match="whole numbers"):
        rt.fit_sbg([1.5, 2], [3])
    with pytest.raises(ScoringError, match="column 'cohort'"):
        rt.fit_sbg_cohorts(pd.DataFrame({"recency": [1], "T": [2]}))
