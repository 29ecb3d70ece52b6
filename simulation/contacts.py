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

import numba
import numpy as np

from .config import SimConfig
from .errors import SimulationConfigError
from .population import Population

__all__ = [
    "CALL",
    "ContactPlan",
    "RowOutcomes",
    "channel_names",
    "ROW_TERMS",
    "enforce_policy",
    "rank_within_customer",
    "row_outcomes",
    "worst_case_cost",
]

#: Channel code 0 is the call centre; codes 1.. are the configured channels in order.
CALL = 0


def channel_names(cfg: SimConfig) -> tuple[str, ...]:
    return ("call", *cfg.channels)


#: Per-row terms a plan may carry from the optimizer (``--effects plan``): the option's own
#: acceptance probability (of a planned contact: connect, reach and visit included), its
#: contact cost (paid when the contact is made: a call when dialled) and offer cost (paid on
#: acceptance), and its value (credited on acceptance).
ROW_TERMS: tuple[str, ...] = ("accept_prob", "contact_cost", "offer_cost", "value")


@dataclass(frozen=True)
class ContactPlan:
    """Rows of (customer slot, offer code, channel code) in priority order.

    Without per-row terms the offers' and channels' configured terms apply; with them (all
    four, see ``ROW_TERMS``) each row is executed on its own terms.
    """

    customer: np.ndarray
    offer: np.ndarray
    channel: np.ndarray
    accept_prob: np.ndarray | None = None
    contact_cost: np.ndarray | None = None
    offer_cost: np.ndarray | None = None
    value: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.customer)
        if len(self.offer) != n or len(self.channel) != n:
            raise SimulationConfigError(
                "plan",
                f"customer, offer and channel must have equal lengths (={n}, {len(self.offer)}, {len(self.channel)})",
            )
        terms = [getattr(self, k) for k in ROW_TERMS]
        if any(t is not None for t in terms) and any(t is None or len(t) != n for t in terms):
            raise SimulationConfigError("plan", f"per-row terms {ROW_TERMS} come all together, one per row")

    def __len__(self) -> int:
        return len(self.customer)

    @property
    def has_terms(self) -> bool:
        return self.accept_prob is not None

    def take(self, idx: np.ndarray) -> ContactPlan:
        """The rows at ``idx``, per-row terms included."""
        terms = {k: None if getattr(self, k) is None else getattr(self, k)[idx] for k in ROW_TERMS}
        return ContactPlan(self.customer[idx], self.offer[idx], self.channel[idx], **terms)

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
    # One comparison per configured name: sorting the rows' names (np.unique over an object
    # array) was a visible part of a simulated month.
    out = np.full(n, -1, dtype=dtype)
    for i, name in enumerate(names):
        out[values == name] = i
    if (out < 0).any():
        name = np.unique(values[out < 0]).tolist()[0]  # the first unknown name in sorted order, as before
        raise SimulationConfigError(what, f"(={name!r}) is not configured; known: {names}")
    return out


def worst_case_cost(cfg: SimConfig, plan: ContactPlan) -> np.ndarray:
    """Cost each row could reach: its contact cost plus the offer's cost if accepted."""
    if plan.has_terms:
        return plan.contact_cost + plan.offer_cost
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
    fc = cfg.fatigue
    rank = rank_within_customer(c)  # the first rows of a customer win
    keep = pop.stage[c] < 4
    keep &= rank < fc.max_contacts_per_month
    # The window's contacts of the plan's customers only (take: a fast gather along slots).
    keep &= pop.contacts.take(c, axis=1).sum(axis=0) + rank < fc.max_contacts_per_window
    idx = np.flatnonzero(keep)
    kept = plan.take(idx)
    if cfg.budget_rule == "reserve" or uniforms is None:
        cost = worst_case_cost(cfg, kept)
        idx = idx[np.cumsum(cost) <= budget + 1e-9]
    else:  # realised: stop at the first contact that would overrun the budget
        cost = row_outcomes(cfg, kept, *uniforms).cost
        over = np.flatnonzero(np.cumsum(cost) > budget + 1e-9)
        idx = idx[: over[0]] if over.size else idx
    return plan.take(idx)


def rank_within_customer(customer: np.ndarray) -> np.ndarray:
    """0 for a customer's first row in the plan, 1 for the second, ..."""
    # a read-only view: whether an array is writable is part of its compiled type, and the
    # plan's columns come both ways (one compilation, not two)
    order = np.ascontiguousarray(customer, dtype=np.int64).view()
    order.flags.writeable = False
    return _rank_within_customer(order)


@numba.njit(cache=True, nogil=True)
def _rank_within_customer(customer):  # type: ignore[no-untyped-def]
    # One pass counting each customer's rows so far: a stable argsort of the plan's customers
    # did the same in O(n log n) and was a visible part of a simulated month.
    seen = np.zeros(customer.max() + 1 if customer.size else 0, np.int64)
    rank = np.empty(customer.size, np.int64)
    for i in range(customer.size):
        rank[i] = seen[customer[i]]
        seen[customer[i]] += 1
    return rank


#: Shift of the month's uniforms for a customer's second, third... contact: each row keeps a
#: uniform marginal (so its outcome has the right probability) from the same common random
#: numbers, without the rows of one customer all succeeding or failing together.
_GOLDEN = 0.6180339887498949


def _row_uniform(u: np.ndarray, c: np.ndarray, rank: np.ndarray) -> np.ndarray:
    x = u[c]
    if rank.any():
        x = np.where(rank > 0, np.mod(x + rank * _GOLDEN, 1.0), x).astype(u.dtype)
    return x


@dataclass(frozen=True)
class RowOutcomes:
    """What each plan row would give if executed (calls: if the seats dial it)."""

    attempted: np.ndarray  # a contact happened (store: the customer visited)
    reached: np.ndarray  # connected call, delivered message, store conversation
    accepted: np.ndarray
    accept_prob: np.ndarray  # given reached
    cost: np.ndarray  # contact cost of the attempt plus the offer's cost if accepted
    offer_cost: np.ndarray  # the offer's cost, paid by the accepted rows


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
    is_store = np.array([False] + [n == "store" for n in names])[ch]
    rank = rank_within_customer(c)
    ur, ua = _row_uniform(u_reach, c, rank), _row_uniform(u_accept, c, rank)
    if plan.has_terms:
        # The option's p_accept is the truth of a planned contact: a call still has to
        # connect (and is then accepted with p_accept / connect rate; an option that
        # promises more than the connect rate connects as often as it is accepted); the
        # other channels' reach and store visits are inside p_accept already.
        is_call = ch == CALL
        p = plan.accept_prob.astype(f32)
        reach_p = np.where(is_call, np.maximum(f32(cc.connect_rate), p), f32(1.0))
        attempted = np.ones(c.size, bool)
        acc_p = np.minimum(np.where(is_call, p / np.maximum(reach_p, f32(1e-12)), p), f32(1.0))
        reached = ur < reach_p
        per_contact = plan.contact_cost.astype(np.float64)
        connected_cost = np.zeros(c.size)
        offer_cost = plan.offer_cost.astype(np.float64)
    else:
        mult = np.array([1.0] + [x.response_multiplier for x in chans], f32)[ch]
        attempted = ~is_store | (u_store[c] < visit_p)
        reached = attempted & (ur < reach_p)
        acc_p = np.minimum(np.array([o.accept_prob for o in cfg.offers.values()], f32)[plan.offer] * mult, f32(1.0))
        per_contact = np.array([cc.cost_per_attempt] + [x.cost_per_contact for x in chans])[ch]
        connected_cost = np.where(ch == CALL, cc.cost_per_connected, 0.0)
        offer_cost = np.array([o.cost for o in cfg.offers.values()])[plan.offer]
    accepted = reached & (ua < acc_p)
    cost = attempted * per_contact + (reached & (ch == CALL)) * connected_cost + accepted * offer_cost
    return RowOutcomes(attempted, reached, accepted, acc_p, cost, offer_cost)
