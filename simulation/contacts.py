"""Contact plans and the contact policy the engine enforces on every strategy.

A strategy returns a :class:`ContactPlan`: rows (customer slot, offer, channel) in priority
order. The engine, not the strategy, guarantees the rules, so that no strategy (including a
buggy or adversarial one) can break them:

* only live customers are contacted, at most once a month (the first row wins);
* no customer exceeds ``fatigue.max_contacts_per_window`` reached contacts in the window;
* spend never exceeds the month's budget, under one of two rules (``budget_rule``):
  ``realised`` (default): the campaign runs down the list and stops at the first contact
  whose cost (contact, connected call, offer if accepted) would overrun the budget, as an
  operator stops when the money is spent; ``reserve``: each row reserves its worst-case
  cost (the offer's cost as if accepted) and rows past the budget are dropped, which holds
  whatever the responses but leaves most of the budget unspent when acceptance is low.
  Either way realised spend <= budget (calls the seats never dial cost nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import SimConfig
from .errors import SimulationConfigError
from .population import Population

__all__ = [
    "CALL",
    "ContactPlan",
    "RowOutcomes",
    "channel_names",
    "enforce_policy",
    "row_outcomes",
    "worst_case_cost",
]

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
                f"customer, offer and channel must have equal lengths (={n}, {len(self.offer)}, {len(self.channel)})",
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
        [cc.cost_per_attempt + cc.cost_per_connected] + [ch.cost_per_contact for ch in cfg.channels.values()]
    )
    offer = np.array([o.cost for o in cfg.offers.values()])
    return contact[plan.channel] + offer[plan.offer]


def enforce_policy(
    cfg: SimConfig,
    pop: Population,
    plan: ContactPlan,
    budget: float,
    strategy: str,
    uniforms: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> ContactPlan:
    """Drop the rows that break the contact policy or the budget (see module docstring).

    ``uniforms`` = (reach, accept, store) per-customer uniforms of the month, needed by the
    ``realised`` budget rule; without them the ``reserve`` rule applies.
    """
    if len(plan) == 0:
        return plan
    n_off, n_ch = len(cfg.offers), len(cfg.channels) + 1
    c = plan.customer
    if c.min() < 0 or c.max() >= pop.slots:
        raise SimulationConfigError(f"strategies.{strategy}", f"planned a customer slot outside [0, {pop.slots})")
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
    kept = ContactPlan(c[idx], plan.offer[idx], plan.channel[idx])
    if cfg.budget_rule == "reserve" or uniforms is None:
        cost = worst_case_cost(cfg, kept)
        idx = idx[np.cumsum(cost) <= budget + 1e-9]
    else:  # realised: stop at the first contact that would overrun the budget
        cost = row_outcomes(cfg, kept, *uniforms).cost
        over = np.flatnonzero(np.cumsum(cost) > budget + 1e-9)
        idx = idx[: over[0]] if over.size else idx
    return ContactPlan(c[idx], plan.offer[idx], plan.channel[idx])


@dataclass(frozen=True)
class RowOutcomes:
    """What each plan row would give if executed (calls: if the seats dial it)."""

    attempted: np.ndarray  # a contact happened (store: the customer visited)
    reached: np.ndarray  # connected call, delivered message, store conversation
    accepted: np.ndarray
    accept_prob: np.ndarray
    cost: np.ndarray  # contact cost of the attempt plus the offer's cost if accepted


def row_outcomes(
    cfg: SimConfig,
    plan: ContactPlan,
    u_reach: np.ndarray,
    u_accept: np.ndarray,
    u_store: np.ndarray,
) -> RowOutcomes:
    """Outcomes of every row from the month's per-customer uniforms (common random numbers).

    The one place that turns uniforms into contact outcomes and costs: the engine uses it
    both for the budget rule and for the month's results, so the two cannot disagree.
    """
    cc = cfg.call_centre
    chans = list(cfg.channels.values())
    names = list(cfg.channels)
    f32 = np.float32
    c, ch = plan.customer, plan.channel
    reach_p = np.array([cc.connect_rate] + [x.reach for x in chans], f32)[ch]
    visit_p = np.array([1.0] + [x.visit_prob if n == "store" else 1.0 for n, x in zip(names, chans)], f32)[ch]
    mult = np.array([1.0] + [x.response_multiplier for x in chans], f32)[ch]
    is_store = np.array([False] + [n == "store" for n in names])[ch]
    attempted = ~is_store | (u_store[c] < visit_p)
    reached = attempted & (u_reach[c] < reach_p)
    acc_p = np.minimum(np.array([o.accept_prob for o in cfg.offers.values()], f32)[plan.offer] * mult, f32(1.0))
    accepted = reached & (u_accept[c] < acc_p)
    per_contact = np.array([cc.cost_per_attempt] + [x.cost_per_contact for x in chans])[ch]
    connected_cost = np.where(ch == CALL, cc.cost_per_connected, 0.0)
    offer_cost = np.array([o.cost for o in cfg.offers.values()])[plan.offer]
    cost = attempted * per_contact + (reached & (ch == CALL)) * connected_cost + accepted * offer_cost
    return RowOutcomes(attempted, reached, accepted, acc_p, cost)
