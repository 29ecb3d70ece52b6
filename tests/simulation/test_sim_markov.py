"""The constant-hazard lifecycle against its Markov chain, and Little's law for the base.

Theory: :mod:`simulation.markov` (absorption times -Q_T^-1 1, fundamental matrix, finite-
horizon occupancy sum_{k<H} P_T^k). Each check runs R replications with fixed seeds and
asserts that the theory lies inside the 99% t interval of the replication means, and that
the interval is narrow (relative half-width bound), so a wrong model cannot pass by noise.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulation import (
    STAGE_NAMES,
    DoNothing,
    absorption_times,
    build_config,
    mean_ci,
    occupancy,
    run_experiment,
    truncated_occupancy,
)
from simulation.presets import constant_hazard_config

ALL_IN_ACQUISITION = {"acquisition": 1.0, "growth": 0.0, "maturity": 0.0, "decline": 0.0}


def test_theory_by_hand_for_a_two_stage_chain() -> None:
    # Only maturity and exit reachable from maturity (no decline): N = 1 / e = 1 / 0.02 = 50.
    cfg = build_config(
        constant_hazard_config(lifecycle={"decline_hazard": {"acquisition": 0.0, "growth": 0.0, "maturity": 0.0}})
    )
    assert abs(absorption_times(cfg)[2] - 50.0) < 1e-9
    # From acquisition: 1/(1 - 0.27) months there, then growth 0.7/0.73 of the time, ...
    n = occupancy(cfg)[0]
    assert abs(n[0] - 1 / (0.03 + 0.7)) < 1e-9


def test_absorption_time_and_occupancy_match_the_markov_chain() -> None:
    horizon = 300
    cfg = build_config(
        constant_hazard_config(
            horizon_months=horizon,
            population={"customers": 30_000, "initial_stage_mix": ALL_IN_ACQUISITION},
        )
    )
    res = run_experiment(cfg, {"none": DoNothing()}, replications=8, seed=11, workers=2)
    n0 = cfg.population.customers
    t = res.totals
    # Mean time to exit: exited customers count first-exit month + 1; the few still live at
    # the horizon are censored, so compare with the finite-horizon expectation E[min(T, H)].
    lived = (t["lifetime_sum_initial"] + t["censored_initial"] * horizon) / n0
    theory_trunc = truncated_occupancy(cfg, horizon)[0].sum()
    theory = absorption_times(cfg)[0]
    assert abs(theory - theory_trunc) < 0.05  # censoring is negligible at this horizon
    m, h = mean_ci(lived, 0.99)
    print(f"mean months to exit {m:.3f} +/- {h:.3f} (99%), theory {theory_trunc:.3f}")
    assert abs(m - theory_trunc) <= h, (m, h, theory_trunc)
    assert h / theory < 0.02
    # Stage occupancy: months spent in each live stage per initial customer.
    ts = res.timeseries
    want = truncated_occupancy(cfg, horizon)[0]
    for i, stage in enumerate(STAGE_NAMES):
        per_rep = ts.groupby("replication")[f"active_{stage}"].sum() / n0
        m, h = mean_ci(per_rep, 0.99)
        print(f"occupancy {stage}: {m:.3f} +/- {h:.3f}, theory {want[i]:.3f}")
        assert abs(m - want[i]) <= h, (stage, m, h, want[i])
        assert h / want[i] < 0.03, (stage, h)


@pytest.mark.parametrize("engine", ["fast", "events"])
def test_littles_law_for_the_steady_base(engine: str) -> None:
    # Gross adds lambda per month, mean lifetime W = absorption time from acquisition; start
    # from the stationary stage mix lambda * N[0, :] so a short warm-up suffices. The months
    # step through either call centre engine (its seats idle: nobody is called).
    lam, horizon, warmup = 300.0, 96, 24
    probe = build_config(constant_hazard_config())
    n_row = occupancy(probe)[0]
    W = n_row.sum()
    n_start = round(lam * W)
    mix = dict(zip(STAGE_NAMES, (n_row / W).tolist()))
    cfg = build_config(
        constant_hazard_config(
            horizon_months=horizon,
            population={
                "customers": n_start,
                "gross_adds_per_month": lam,
                "initial_stage_mix": mix,
            },
            call_centre={"engine": engine},
        )
    )
    res = run_experiment(cfg, {"none": DoNothing()}, replications=6, seed=21, workers=2)
    ts = res.timeseries[res.timeseries["month"] >= warmup]
    base = ts.groupby("replication")["active"].mean()
    adds = ts.groupby("replication")["gross_adds"].mean()
    m, h = mean_ci(base / (adds * W), 0.99)
    print(f"Little: base / (adds x W) = {m:.4f} +/- {h:.4f}; W = {W:.3f} months")
    assert abs(m - 1.0) <= h, (m, h)
    assert h < 0.01
    assert abs(base.mean() - lam * W) / (lam * W) < 0.01
    assert np.isfinite(W) and W > 10
