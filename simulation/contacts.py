"""Contact plans and the contact policy the engine enforces on every strategy.

A strategy returns a :class:`ContactPlan`: rows (customer slot, offer, channel) in priority
order. The engine, not the strategy, guarantees the rules, so that no strategy (including a
buggy or adversarial one) can break them:

* only live customers are contacted, at most once a month (the first row wins);
* no customer exceeds ``fatigue.max_contacts_per_window`` reached contacts in the window;
* spend never exceeds the month's budget: each row reserves its worst-case cost (contact
  cost, connected-call cost, and the offer's cost as if accepted) and rows past the budget
  are dropped, so realised spend <= reserved <= budget whatever the responses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import SimConfig
from .errors import SimulationConfigError
from .population import Population

__all__ = ["CALL", "ContactPlan", "channel_names", "enforce_policy", "worst_case_cost"]

#: Channel code 0 is the call centre; codes 1.. are the configured channels in order.
CALL = 0


def channel_names(cfg: SimConfig) -> tuple[str, ...]:
    return ("call", *cfg.channels)


@dataclass(frozen=True)
class ContactPlan:
    """Rows of (customer slot, offer code, channel code) in priority order."""

    customer: np.ndarray
    offer: np.ndarray
    channel: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.customer)
        if len(self.offer) != n or len(self.channel) != n:
            raise SimulationConfigError(
                "plan",
                "customer, offer and channel must have equal "
                f"lengths (={n}, {len(self.offer)}, {len(self.channel)})",
            )

    def __len__(self) -> int:
        return len(self.customer)

    @classmethod
    def empty(cls) -> ContactPlan:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int16), np.zeros(0, np.int8))

    @classmethod
    def build(
        cls,
        cfg: SimConfig,
        customers: np.ndarray,
        offer: str | np.ndarray,
        channel: str | np.ndarray,
    ) -> ContactPlan:
        """Plan from names (one name for all rows, or an array of names per row)."""
        customers = np.asarray(customers, dtype=np.int64)
        n = customers.size
        return cls(
            customers,
            _codes(list(cfg.offers), offer, n, "offer"),
            _codes(list(channel_names(cfg)), channel, n, "channel"),
        )


def _codes(names: list[str], value: str | np.ndarray, n: int, what: str) -> np.ndarray:
    lookup = {name: i for i, name in enumerate(names)}
    dtype = np.int16 if what == "offer" else np.int8
    if isinstance(value, str):
        if value not in lookup:
            raise SimulationConfigError(what, f"(={value!r}) is not configured; known: {names}")
        return np.full(n, lookup[value], dtype=dtype)
    values = np.asarray(value)
    out = np.empty(n, dtype=dtype)
    for name in np.unique(values):
        if name not in lookup:
            raise SimulationConfigError(what, f"(={name!r}) is not configured; known: {names}")
        out[values == name] = lookup[name]
    return out


def worst_case_cost(cfg: SimConfig, plan: ContactPlan) -> np.ndarray:
    """Cost each row could reach: its contact cost plus the offer's cost if accepted."""
    cc = cfg.call_centre
    contact = np.array(
        [cc.cost_per_attempt + cc.cost_per_connected]
        + [ch.cost_per_contact for ch in cfg.channels.values()]
    )
    offer = np.array([o.cost for o in cfg.offers.values()])
    return contact[plan.channel] + offer[plan.offer]


def enforce_policy(
    cfg: SimConfig, pop: Population, plan: ContactPlan, budget: float, strategy: str
) -> ContactPlan:
    """Drop the rows that break the contact policy or the budget (see module docstring)."""
    if len(plan) == 0:
        return plan
    n_off, n_ch = len(cfg.offers), len(cfg.channels) + 1
    c = plan.customer
    if c.min() < 0 or c.max() >= pop.slots:
        raise SimulationConfigError(
            f"strategies.{strategy}", f"planned a customer slot outside [0, {pop.slots})"
        )
    if plan.offer.min() < 0 or plan.offer.max() >= n_off:
        raise SimulationConfigError(f"strategies.{strategy}", "planned an unknown offer code")
    if plan.channel.min() < 0 or plan.channel.max() >= n_ch:
        raise SimulationConfigError(f"strategies.{strategy}", "planned an unknown channel code")
    keep = pop.stage[c] < 4
    keep &= pop.contacts.sum(axis=0)[c] < cfg.fatigue.max_contacts_per_window
    _, first = np.unique(c, return_index=True)
    once = np.zeros(c.size, dtype=bool)
    once[first] = True
    keep &= once
    idx = np.flatnonzero(keep)
    cost = worst_case_cost(cfg, ContactPlan(c[idx], plan.offer[idx], plan.channel[idx]))
    idx = idx[np.cumsum(cost) <= budget + 1e-9]
    return ContactPlan(c[idx], plan.offer[idx], plan.channel[idx])
