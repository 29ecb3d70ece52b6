"""IPS off-policy evaluation: unbiased with honest 95% intervals on simulated randomized logs."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.scoring.errors import ScoringError
from optimizer.scoring.policy_eval import evaluate_policies, ips_value


def _simulate(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x = rng.uniform(-1, 1, n)
    p = np.stack([0.10 + 0 * x, 0.10 + 0.08 * x, 0.10 - 0.08 * x], axis=1)  # arms 0 (control), 1, 2
    a = rng.integers(0, 3, n)
    y = (rng.random(n) < p[np.arange(n), a]).astype(float)
    return x, p, a, y


def test_interval_coverage_and_unbiasedness() -> None:
    rng = np.random.default_rng(11)
    hits, estimates = 0, []
    reps = 400
    for _ in range(reps):
        x, p, a, y = _simulate(rng, 3000)
        pi = np.where(x > 0, 1, 2)  # the right arm for each x
        truth = p[np.arange(x.size), pi].mean()  # = 0.10 + 0.08 * E|x| in-sample
        v = ips_value(a, y, np.full(x.size, 1 / 3), pi)
        hits += v.ci_low <= truth <= v.ci_high
        estimates.append(v.value - truth)
    assert 0.92 <= hits / reps <= 0.98
    assert abs(np.mean(estimates)) < 0.002  # SE of the mean error ~ 0.0005


def test_everyone_policy_equals_arm_mean_with_empirical_propensity() -> None:
    rng = np.random.default_rng(5)
    _, _, a, y = _simulate(rng, 5000)
    share = np.bincount(a) / a.size
    v = ips_value(a, y, share[a], np.full(a.size, 2))
    assert v.value == pytest.approx(y[a == 2].mean(), rel=1e-12)
    assert v.snips == pytest.approx(y[a == 2].mean(), rel=1e-12)
    assert v.n_matched == int((a == 2).sum())


def test_paired_lift_is_tighter_when_policies_overlap() -> None:
    rng = np.random.default_rng(8)
    x, _, a, y = _simulate(rng, 30000)
    # contact only x > 0.5 with arm 1 (true lift there 0.08 * 0.75 = 0.06 per contacted unit)
    pols = {"target": np.where(x > 0.5, 1, 0), "none": np.zeros(x.size, dtype=int)}
    t = evaluate_policies(
        a, {"y": y}, np.full(x.size, 1 / 3), pols, baseline="none", cost_per_contact={1: 0.01, 2: 0.01}, no_contact=0
    ).set_index("policy")
    row, none = t.loc["target"], t.loc["none"]
    assert row["contacts"] == int((x > 0.5).sum())
    assert row["net"] == pytest.approx(row["y"] - 0.01 * row["contacts"] / x.size)
    assert row["y_lift_ci_low"] > 0
    assert none["y_lift"] == 0
    paired = row["y_lift_ci_high"] - row["y_lift_ci_low"]
    separate = np.hypot(row["y_ci_high"] - row["y_ci_low"], none["y_ci_high"] - none["y_ci_low"])
    # the 75% of units where both policies choose "no contact" cancel exactly
    assert paired < 0.7 * separate


def test_bad_inputs() -> None:
    with pytest.raises(ScoringError, match="propensities must be in"):
        ips_value([0, 1], [1.0, 0.0], [0.0, 0.5], [0, 0])
    with pytest.raises(ScoringError, match="same length"):
        ips_value([0, 1], [1.0], [0.5, 0.5], [0, 0])
    with pytest.raises(ScoringError, match="baseline policy 'x'"):
        evaluate_policies([0], {"y": [1.0]}, [1.0], {"a": [0]}, baseline="x")
