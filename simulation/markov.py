"""Theory for the constant-hazard lifecycle: the absorbing Markov chain and its moments.

With every multiplier neutral (one value tier multiplier, no tenure boost, no contracts,
no decline escalation, no contacts, no arrears, ``maturity_tenure_months: None``), a month
is one step of an absorbing chain on the live stages {acquisition, growth, maturity,
decline} with exit absorbing. Writing P_T for the live-to-live block of the monthly matrix
and Q_T = P_T - I for its generator, the expected months spent in each live stage before
exit, starting from stage i, are row i of the fundamental matrix N = -Q_T^{-1} =
(I - P_T)^{-1}, and the expected time to exit is N 1 (months counted including the one in
which the customer leaves, which is how the engine's first-exit month + 1 counts them).

The matrix is built here from the configuration by its own reading of the lifecycle rules
(exit first, then decline, then progression, each capped by what is left), not by calling
the engine, so that the test compares two independent derivations.
"""

from __future__ import annotations

import numpy as np

from .config import SimConfig
from .errors import SimulationConfigError
from .stages import STAGE_NAMES

__all__ = ["absorption_times", "monthly_matrix", "occupancy", "truncated_occupancy"]


def monthly_matrix(cfg: SimConfig, tier: str | None = None) -> np.ndarray:
    """5x5 monthly transition matrix (live stages, then exit) for one value tier."""
    lc = cfg.lifecycle
    if lc.maturity_tenure_months is not None:
        raise SimulationConfigError(
            "lifecycle.maturity_tenure_months",
            f"(={lc.maturity_tenure_months}) must be null for a Markov chain (a tenure rule is not memoryless)",
        )
    me = lc.tier_exit_multiplier[tier] if tier else 1.0
    md = lc.tier_decline_multiplier[tier] if tier else 1.0
    P = np.zeros((5, 5))
    prog = {
        "acquisition": (lc.acquisition_to_growth, 1),
        "growth": (lc.growth_to_maturity, 2),
        "maturity": (0.0, 2),
        "decline": (lc.recovery_hazard, 2),
    }
    for i, s in enumerate(STAGE_NAMES):
        e = min(lc.exit_hazard[s] * me, 1.0)
        d = min(lc.decline_hazard.get(s, 0.0) * md, 1.0 - e)
        p_prog, dest = prog[s]
        p = min(p_prog, max(1.0 - e - d, 0.0))
        P[i, 4] += e
        P[i, 3] += d
        P[i, dest] += p
        P[i, i] += 1.0 - e - d - p
    P[4, 4] = 1.0
    return P


def occupancy(cfg: SimConfig, tier: str | None = None) -> np.ndarray:
    """Fundamental matrix N = -Q_T^{-1}: expected months in each live stage, per start."""
    P = monthly_matrix(cfg, tier)
    Q_T = P[:4, :4] - np.eye(4)
    return -np.linalg.inv(Q_T)


def absorption_times(cfg: SimConfig, tier: str | None = None) -> np.ndarray:
    """Expected months to exit from each live stage: -Q_T^{-1} 1."""
    return occupancy(cfg, tier) @ np.ones(4)


def truncated_occupancy(cfg: SimConfig, horizon: int, tier: str | None = None) -> np.ndarray:
    """Expected months in each live stage within the first ``horizon`` months, per start.

    sum_{k < horizon} P_T^k: what a finite run measures exactly, so no censoring correction
    is needed when comparing with a simulation of that horizon.
    """
    P_T = monthly_matrix(cfg, tier)[:4, :4]
    acc = np.zeros((4, 4))
    power = np.eye(4)
    for _ in range(horizon):
        acc += power
        power = power @ P_T
    return acc
