"""Arrears: suspension after 1 month, cancellation after 3 months unless won back.

Each month, a paying live customer in stage s falls into arrears with probability a[s]
(``arrears.monthly_prob``). A customer already in arrears pays up with probability c
(``cure_prob``; ``winback_cure_prob`` in a month when they accepted an offer, which is how a
retention contact wins them back); otherwise the count of months in arrears grows. Above
``suspend_after_months`` the line is suspended (no revenue, still a customer); above
``cancel_after_months`` it is cancelled, so a customer entering arrears is cancelled with
probability (1 - c) ** cancel_after_months without a win-back: the 3-month window of the
sources. A cancellation exits the number; a share of them re-enter with a new number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import SimConfig
from .population import Population
from .stages import EXITED, STAGE_NAMES

__all__ = ["ArrearsOutcome", "step_arrears"]


@dataclass
class ArrearsOutcome:
    entered: np.ndarray
    cured: np.ndarray
    cancelled_churn: np.ndarray
    cancelled_reentry: np.ndarray


def step_arrears(cfg: SimConfig, pop: Population, u: np.ndarray, accepted: np.ndarray) -> ArrearsOutcome:
    """One month of arrears with uniforms ``u``; ``accepted`` marks this month's win-backs."""
    ac = cfg.arrears
    live = pop.stage < 4
    in_arrears = live & (pop.arrears > 0)
    cure_p = np.where(accepted, np.float32(max(ac.winback_cure_prob, ac.cure_prob)), np.float32(ac.cure_prob))
    cured = in_arrears & (u < cure_p)
    still = in_arrears & ~cured
    pop.arrears[cured] = 0
    pop.arrears[still] += 1
    cancelled = still & (pop.arrears > ac.cancel_after_months)
    # Re-use the uniform beyond the cure threshold: (u - c) / (1 - c) is uniform again.
    v = (u - cure_p) / np.maximum(1.0 - cure_p, np.float32(1e-12))
    reentry = cancelled & (v < ac.reentry_share)
    churn = cancelled & ~reentry
    pop.stage[cancelled] = EXITED
    table = np.zeros(6, np.float32)
    table[:4] = [ac.monthly_prob[s] for s in STAGE_NAMES]
    entered = live & ~in_arrears & (u < table[pop.stage])
    pop.arrears[entered] = 1
    return ArrearsOutcome(entered, cured, churn, reentry)


def suspended(cfg: SimConfig, pop: Population) -> np.ndarray:
    """Live lines suspended for arrears."""
    return (pop.stage < 4) & (pop.arrears > cfg.arrears.suspend_after_months)
