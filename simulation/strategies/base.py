"""The interface every retention strategy implements, and the do-nothing baseline.

A strategy is an injected object (like Ciw's ``node_class``): the engine calls
``plan(view, rng)`` at the start of each month and enforces the contact policy and budget on
what comes back, so a strategy only decides who gets which offer through which channel, in
priority order. ``uses_calls`` lets the engine reject a calling strategy on a scenario with
no seats before the run starts; an optional ``validate(config)`` method is called before
the first month, so a strategy naming an unknown offer fails at once, not in month 0 of a
worker process.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..contacts import ContactPlan
from ..view import MonthView

__all__ = ["DoNothing", "Strategy"]


@runtime_checkable
class Strategy(Protocol):
    """What the engine needs from a strategy."""

    name: str
    uses_calls: bool

    def plan(self, view: MonthView, rng: np.random.Generator) -> ContactPlan:
        """Rows to contact this month, most important first."""
        ...


class DoNothing:
    """The control arm: no contact at all."""

    uses_calls = False

    def __init__(self, name: str = "do_nothing") -> None:
        self.name = name

    def plan(self, view: MonthView, rng: np.random.Generator) -> ContactPlan:
        return ContactPlan.empty()
