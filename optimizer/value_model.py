"""The one value model: what an accepted retention offer is worth, in yuan of margin.

The optimizer's option ``value``, the demo generator, ``prepare`` and the lifecycle
simulator all use these functions, so that "the value of an option" and "what accepting it
does to the customer in the simulator" are one assumption, written once.

A customer on the network now leaves at the end of each month with a constant probability
``h`` (the monthly exit hazard; a 12-month churn probability ``p`` gives
``h = 1 - (1 - p) ** (1/12)``). The month the customer is contacted is billed whatever
happens; an accepted offer *runs* for its term of ``T`` months starting that month: it
multiplies the hazard by ``m`` (``churn_multiplier``, one minus the share of churn risk the
offer removes) at the end of each of those ``T`` months, and adds ``uplift`` yuan to the
monthly bill while it runs. Margin is ``margin`` times the bill.

Over a valuation horizon of ``H`` months (the month of contact and ``H - 1`` after it):

    months billed after the contact month    M(h, m, T, H) = sum_{k=1}^{H-1} P(alive at month k)
                                             P(alive at k) = (1 - h m)^min(k, T) * (1 - h)^max(k - T, 0)
    value = margin * arpu * (M(h, m, T, H) - M(h, 1, 0, H))
          + margin * uplift * sum_{k=0}^{T'-1} (1 - h m)^k          T' = min(T, H)

Nothing is discounted, so the simulator's undiscounted margin over the same months is the
same quantity, and its expectation is this value exactly when the simulated hazard is
constant (no fatigue, no decline in the horizon): the consistency test relies on that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MARGIN",
    "VALUE_HORIZON_MONTHS",
    "OfferEffect",
    "expected_margin",
    "monthly_hazard",
    "option_value",
    "stay_months",
]

#: Share of the monthly bill the operator keeps (contribution margin): a placeholder, as no
#: source gives one; ``prepare`` and a scenario's ``simulation.margin`` can state their own.
MARGIN = 0.6

#: Months an option's value counts: the longest offer term of the demo (a 24-month handset
#: contract), so that no offer's effect is cut off.
VALUE_HORIZON_MONTHS = 24


@dataclass(frozen=True)
class OfferEffect:
    """What an accepted offer does while it runs (see the module docstring)."""

    churn_multiplier: float  # hazard multiplier while the offer runs (1 - churn risk removed)
    term_months: int  # months the offer runs, from the month it is accepted
    arpu_uplift: float = 0.0  # yuan added to the monthly bill while it runs

    def __post_init__(self) -> None:
        if not (np.isfinite(self.churn_multiplier) and self.churn_multiplier >= 0):
            raise ValueError(f"churn_multiplier(={self.churn_multiplier}) must be a finite number >= 0")
        if int(self.term_months) != self.term_months or self.term_months < 0:
            raise ValueError(f"term_months(={self.term_months}) must be an integer >= 0")
        if not np.isfinite(self.arpu_uplift):
            raise ValueError(f"arpu_uplift(={self.arpu_uplift}) must be finite")


def monthly_hazard(p_churn: ArrayLike, months: float = 12.0) -> NDArray[np.float64]:
    """Constant monthly exit hazard of a ``months``-month churn probability."""
    p = np.clip(np.asarray(p_churn, dtype=np.float64), 0.0, 1.0)
    return 1.0 - (1.0 - p) ** (1.0 / months)


def stay_months(h: ArrayLike, months: ArrayLike) -> NDArray[np.float64]:
    """sum_{k=1}^{T} (1 - h)^k: expected months alive after the current one, within T months."""
    h = np.clip(np.asarray(h, dtype=np.float64), 1e-12, 1.0)
    q = 1.0 - h
    return q * (1.0 - q ** np.asarray(months, dtype=np.float64)) / h


def expected_margin(
    arpu: ArrayLike,
    hazard: ArrayLike,
    months: int,
    *,
    margin: float = MARGIN,
    churn_multiplier: ArrayLike = 1.0,
    term_months: ArrayLike = 0,
    arpu_uplift: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """Expected margin of a customer alive now, over the ``months`` months after this one.

    An offer running now with ``term_months`` left (this month included) multiplies the
    hazard at the end of each of those months and adds ``arpu_uplift`` to the later months
    it covers. :func:`option_value` and the simulator's residual value at its horizon are
    both this function.
    """
    h = np.asarray(hazard, dtype=np.float64)
    hm = np.minimum(h * np.asarray(churn_multiplier, dtype=np.float64), 1.0)
    t = np.asarray(term_months, dtype=np.float64)
    t_in = np.minimum(t, months)
    alive = stay_months(hm, t_in) + (1.0 - hm) ** t_in * stay_months(h, months - t_in)
    uplift_months = stay_months(hm, np.clip(t - 1, 0, months))
    return margin * (np.asarray(arpu, dtype=np.float64) * alive + np.asarray(arpu_uplift, dtype=np.float64) * uplift_months)


def option_value(
    arpu: ArrayLike,
    hazard: ArrayLike,
    effect: OfferEffect,
    *,
    margin: float = MARGIN,
    horizon_months: int = VALUE_HORIZON_MONTHS,
) -> NDArray[np.float64]:
    """Incremental margin (yuan) of accepting ``effect`` now, over ``horizon_months``."""
    if horizon_months < 1:
        raise ValueError(f"horizon_months(={horizon_months}) must be >= 1")
    T = min(int(effect.term_months), horizon_months)
    later = horizon_months - 1
    kw = {"margin": margin, "churn_multiplier": effect.churn_multiplier, "term_months": T, "arpu_uplift": effect.arpu_uplift}
    this_month = margin * effect.arpu_uplift if T > 0 else 0.0
    return expected_margin(arpu, hazard, later, **kw) - expected_margin(arpu, hazard, later, margin=margin) + this_month
