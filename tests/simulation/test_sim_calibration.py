"""The bundled 10088 calibration scenario reproduces the published figures.

Targets (domain.md): connect 64.9% of called, acceptance 51.5% of connected, churn among
called mid/high-value customers 16.4% lower than among all mid/high-value customers. Each
must lie inside the 99% t interval over the scenario's 8 replications (150,000 customers,
a 6-month window); the intervals are bounded so the check cannot pass by being vague.
"""

from __future__ import annotations

import pytest

from simulation import (
    calibrate_offer_effect,
    load_scenario,
    mean_ci,
    run_experiment,
    xinjiang_10088,
)
from simulation.calibration import predicted_churn_reduction


def test_bundled_multiplier_is_the_calibrated_one() -> None:
    sc = load_scenario("calibration_10088")
    fitted = calibrate_offer_effect(sc.config, "bill_credit", called_fraction=0.3)
    assert sc.config.offers["bill_credit"].churn_multiplier == pytest.approx(fitted, abs=1e-4)
    # The closed form at the fitted value hits the target, and is monotone in the effect.
    total = fitted * sc.config.lifecycle.contract_lock_in_multiplier
    assert predicted_churn_reduction(sc.config, "bill_credit", 0.3, total, 6) == pytest.approx(0.164, abs=1e-8)
    assert predicted_churn_reduction(sc.config, "bill_credit", 0.3, total * 0.5, 6) > 0.164


def test_simulation_reproduces_the_10088_figures() -> None:
    sc = load_scenario("calibration_10088")
    target = xinjiang_10088()
    res = run_experiment(
        sc.config,
        {"wave": sc.strategies["wave"]},
        replications=sc.replications,
        seed=sc.seed,
        workers=2,
    )
    t = res.totals
    assert (t["calls_dialled"] == 45_000).all()  # the whole wave was dialled in month 0
    for kpi, want, max_half in (
        ("connect_rate", target.connect_rate, 0.005),
        ("acceptance_rate", target.acceptance_rate, 0.008),
        ("mid_high_churn_reduction", target.churn_reduction_called, 0.025),
    ):
        m, h = mean_ci(t[kpi], 0.99)
        print(f"{kpi}: {m:.4f} +/- {h:.4f} (99%, {len(t)} reps), target {want}")
        assert abs(m - want) <= h, (kpi, m, h, want)
        assert h < max_half, (kpi, h)


def test_calibration_rejects_unreachable_targets() -> None:
    sc = load_scenario("calibration_10088")
    from simulation import CalibrationTarget, SimulationConfigError

    with pytest.raises(SimulationConfigError, match="calibration"):
        calibrate_offer_effect(sc.config, "bill_credit", 0.3, CalibrationTarget(0.649, 0.515, 0.9, 6))
    with pytest.raises(SimulationConfigError, match="called_fraction"):
        calibrate_offer_effect(sc.config, "bill_credit", 0.0)
