"""What a strategy may see at the start of a month: the operator's view, not the truth.

Strategies get tags computed from observable data only: billed ARPU, usage reported with
the configured lag and noise, tenure, contract end, arrears, handset changes, contact
history and value tier. The true lifecycle stage is hidden: the ``stage`` tag is the
operator's reading (acquisition in the first month, growth until the maturity tenure,
maturity after, and ``decline`` when a usage drop is flagged), so decline must be detected
before it can be treated, as the sources insist.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np

from .config import SimConfig
from .contact_log import ContactLog
from .contacts import channel_names
from .population import Population
from .stages import ACQUISITION, DECLINE, GROWTH, MATURITY, STAGE_NAMES, TIER_NAMES
from .usage import observed_drops

__all__ = ["TAGS", "MonthView"]

#: Tag name -> meaning; rule expressions may use exactly these names.
TAGS: dict[str, str] = {
    "arpu": "billed ARPU last month (yuan)",
    "mou": "observed minutes of use (lagged)",
    "data_mb": "observed data use in MB (lagged)",
    "voice_drop": "1 - observed MOU / baseline",
    "data_drop": "1 - observed data / baseline",
    "double_drop": "voice and data both dropped beyond the threshold",
    "secondary_card": "exactly one of voice and data dropped beyond the threshold",
    "usage_drop": "double_drop or secondary_card",
    "tenure": "months on the current number",
    "contract_months_left": "months until the contract lock-in ends (0: none)",
    "in_contract": "under a contract lock-in",
    "handset_change": "changed handset this month",
    "in_arrears": "at least one month in arrears",
    "has_offer": "an accepted offer is running",
    "contacts_recent": "reached contacts in the fatigue window",
    "tier": "value tier (premium, loyal, potential, newborn, flea)",
    "stage": "observed lifecycle stage (acquisition, growth, maturity, decline)",
}


class MonthView:
    """Read-only, lazily computed tags over all slots for month ``month``."""

    def __init__(
        self,
        cfg: SimConfig,
        pop: Population,
        month: int,
        budget: float,
        call_capacity: int,
        last_arpu: np.ndarray,
        past_contacts: Sequence[ContactLog] = (),
    ) -> None:
        self.config = cfg
        self.month = month
        self.budget = budget
        self.call_capacity = call_capacity
        self.offer_names = tuple(cfg.offers)
        self.channel_names = channel_names(cfg)
        self._pop = pop
        self._last_arpu = last_arpu
        self._past_contacts = tuple(past_contacts)

    @property
    def slots(self) -> int:
        return self._pop.slots

    @cached_property
    def live(self) -> np.ndarray:
        return self._pop.stage < 4

    @cached_property
    def past_contacts(self) -> ContactLog:
        """Every contact executed in the months before this one, with its day and outcome."""
        return ContactLog.concat(self._past_contacts)

    @cached_property
    def eligible(self) -> np.ndarray:
        """Live and below the contact cap (the engine would drop the others anyway)."""
        cap = self.config.fatigue.max_contacts_per_window
        return self.live & (self.contacts_recent < cap)

    @cached_property
    def _drops(self) -> tuple[np.ndarray, np.ndarray]:
        return observed_drops(self.config, self._pop, self.month)

    def __getitem__(self, tag: str) -> np.ndarray:
        if tag not in TAGS:
            raise KeyError(f"unknown tag {tag!r}; known tags: {sorted(TAGS)}")
        return getattr(self, tag)

    # ------------------------------------------------------------------ tags
    @cached_property
    def arpu(self) -> np.ndarray:
        return self._last_arpu

    @cached_property
    def mou(self) -> np.ndarray:
        return self._pop.mou_base * (1.0 - self._drops[0])

    @cached_property
    def data_mb(self) -> np.ndarray:
        return self._pop.data_base * (1.0 - self._drops[1])

    @cached_property
    def voice_drop(self) -> np.ndarray:
        return self._drops[0]

    @cached_property
    def data_drop(self) -> np.ndarray:
        return self._drops[1]

    @cached_property
    def _flags(self) -> tuple[np.ndarray, np.ndarray]:
        thr = self.config.usage.drop_threshold
        return self._drops[0] > thr, self._drops[1] > thr

    @cached_property
    def double_drop(self) -> np.ndarray:
        v, d = self._flags
        return v & d & self.live

    @cached_property
    def secondary_card(self) -> np.ndarray:
        v, d = self._flags
        return (v ^ d) & self.live

    @cached_property
    def usage_drop(self) -> np.ndarray:
        v, d = self._flags
        return (v | d) & self.live

    @cached_property
    def tenure(self) -> np.ndarray:
        return self._pop.tenure

    @cached_property
    def contract_months_left(self) -> np.ndarray:
        return np.maximum(self._pop.contract_end.astype(np.int32) - self.month, 0)

    @cached_property
    def in_contract(self) -> np.ndarray:
        return self._pop.contract_end > self.month

    @cached_property
    def handset_change(self) -> np.ndarray:
        return self._pop.handset_change & self.live

    @cached_property
    def in_arrears(self) -> np.ndarray:
        return (self._pop.arrears > 0) & self.live

    @cached_property
    def has_offer(self) -> np.ndarray:
        return self._pop.offer_end > self.month

    @cached_property
    def contacts_recent(self) -> np.ndarray:
        return self._pop.contacts.sum(axis=0, dtype=np.int16)

    @cached_property
    def tier(self) -> np.ndarray:
        return self._pop.tier

    @cached_property
    def stage(self) -> np.ndarray:
        mt = self.config.lifecycle.maturity_tenure_months or 6
        t = self._pop.tenure
        s = np.where(t == 0, ACQUISITION, np.where(t < mt, GROWTH, MATURITY)).astype(np.int8)
        s[self.usage_drop] = DECLINE
        return s

    @staticmethod
    def code_of(tag: str, name: str) -> int:
        """Code of a categorical tag value (``tier == "premium"`` in rules)."""
        names = TIER_NAMES if tag == "tier" else STAGE_NAMES if tag == "stage" else None
        if names is None:
            raise KeyError(f"tag {tag!r} is numeric; compare it with a number")
        if name not in names:
            raise KeyError(f"{tag} has no value {name!r}; expected one of {names}")
        return names.index(name)

    # ------------------------------------------------------------------ truth for KPIs
    def detection_counts(self) -> tuple[int, int, int]:
        """(flagged, truly declining, both) for measured precision and recall."""
        flagged = self.usage_drop
        truth = self._pop.stage == DECLINE
        return int(flagged.sum()), int(truth.sum()), int((flagged & truth).sum())
