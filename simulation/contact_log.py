"""The contacts a run executed: who got which offer through which channel, on which day, and
what came of it (the optimizer's contact-history vocabulary, :data:`optimizer.contact_history.OUTCOMES`).

One block of arrays per month, appended by the engine (no Python object per contact: a
month at a million customers holds hundreds of thousands of rows). A strategy sees the
months before its own through :attr:`simulation.view.MonthView.past_contacts`, so a planner
can count its contact windows over what the simulation really did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from optimizer.contact_history import OUTCOMES

__all__ = ["ContactLog"]


@dataclass(frozen=True)
class ContactLog:
    """Executed contacts in simulator codes, in the order they were made.

    ``customer`` is the slot, ``offer`` and ``channel`` the codes of the run's configuration
    (channel 0: the call centre), ``day`` days since the run's start (month ``t`` starts on day
    ``t * MONTH_DAYS``; a call on the day its shift dialled it, any other channel on the
    month's first day), ``outcome`` a position in ``OUTCOMES``.
    """

    customer: np.ndarray
    offer: np.ndarray
    channel: np.ndarray
    day: np.ndarray
    outcome: np.ndarray

    def __len__(self) -> int:
        return len(self.customer)

    @classmethod
    def empty(cls) -> ContactLog:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int16), np.zeros(0, np.int8), np.zeros(0, np.int32), np.zeros(0, np.int8))

    @classmethod
    def concat(cls, logs: Sequence[ContactLog]) -> ContactLog:
        if not logs:
            return cls.empty()
        if len(logs) == 1:
            return logs[0]
        return cls(*(np.concatenate([getattr(log, k) for log in logs]) for k in ("customer", "offer", "channel", "day", "outcome")))

    def counts(self) -> dict[str, int]:
        """Contacts per outcome, every outcome named."""
        n = np.bincount(self.outcome, minlength=len(OUTCOMES))
        return {name: int(n[i]) for i, name in enumerate(OUTCOMES)}
