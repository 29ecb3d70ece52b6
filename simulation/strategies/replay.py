"""A fixed plan executed as written: the optimizer's wave (or a baseline's) put to the test.

The engine still enforces what it enforces on every strategy (live customers only, the
contact policy, the seats and shifts of the call centre), so what the replay measures is the
plan meeting execution: calls the seats cannot place, connect rates, acceptances drawn, and
what the accepted offers then do over the horizon.
"""

from __future__ import annotations

import numpy as np

from ..contacts import CALL, ContactPlan
from ..view import MonthView

__all__ = ["PlanReplay"]


class PlanReplay:
    """Contact ``plan`` (rows in execution order) in month ``month``, nothing otherwise."""

    def __init__(self, plan: ContactPlan, name: str = "plan", month: int = 0) -> None:
        self.plan_rows = plan
        self.name = name
        self.month = int(month)

    @property
    def uses_calls(self) -> bool:
        return bool((self.plan_rows.channel == CALL).any())

    def plan(self, view: MonthView, rng: np.random.Generator) -> ContactPlan:
        return self.plan_rows if view.month == self.month else ContactPlan.empty()
