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

import numba
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
    table = np.zeros(6, np.float32)
    table[:4] = [ac.monthly_prob[s] for s in STAGE_NAMES]
    winback = np.float32(max(ac.winback_cure_prob, ac.cure_prob))
    return ArrearsOutcome(*_step(pop.stage, pop.arrears, u, accepted, table, np.float32(ac.cure_prob), winback,
                                 ac.cancel_after_months, np.float32(ac.reentry_share)))


@numba.njit(cache=True, nogil=True)
def _step(stage, arrears, u, accepted, entry_p, cure_p, winback_p, cancel_after, reentry_share):  # type: ignore[no-untyped-def]
    # One compiled pass in numpy's float32 operations (the same bits as the array expressions
    # it replaced, a few temporaries of the base's size each).
    n = stage.size
    entered = np.zeros(n, np.bool_)
    cured = np.zeros(n, np.bool_)
    churn = np.zeros(n, np.bool_)
    reentry = np.zeros(n, np.bool_)
    for i in range(n):
        if stage[i] >= 4:
            continue
        if arrears[i] <= 0:
            entered[i] = u[i] < entry_p[stage[i]]
            if entered[i]:
                arrears[i] = 1
            continue
        c = winback_p if accepted[i] else cure_p
        if u[i] < c:
            cured[i] = True
            arrears[i] = 0
            continue
        arrears[i] += 1
        if arrears[i] > cancel_after:
            # Re-use the uniform beyond the cure threshold: (u - c) / (1 - c) is uniform again.
            v = (u[i] - c) / max(np.float32(1.0) - c, np.float32(1e-12))
            reentry[i] = v < reentry_share
            churn[i] = not reentry[i]
            stage[i] = EXITED
    return entered, cured, churn, reentry


def suspended(cfg: SimConfig, pop: Population) -> np.ndarray:
    """Live lines suspended for arrears."""
    return (pop.stage < 4) & (pop.arrears > cfg.arrears.suspend_after_months)
