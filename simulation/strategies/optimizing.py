"""The optimizer in the loop: re-plan every month on the current base (rolling horizon).

Each month the strategy estimates every eligible (customer, offer, channel) option from the
operator's view (:mod:`.valuation`) and keeps a shortlist (the MIP is solved on thousands of
rows, not millions): per channel, ``shortlist_factor`` times the contacts the budget (and
for calls the capacity) could pay for, ranked by expected net value per unit of reserved
budget (the knapsack ratio); at most ``max_options`` in all. It then asks the optimizer
for the plan that maximises expected net value subject to that month's limits:

* the month's budget: under the engine's ``realised`` budget rule as the optimizer's
  budget on expected spend (contact cost + p_accept x offer cost; the engine stops the
  list if the realised spend would overrun, which cuts only the least valuable tail);
  under the ``reserve`` rule as an optimizer rule on the worst-case ``reserve`` column
  (sum of reserved cost <= budget), so the engine never has to cut the plan;
* the call centre's expected dial capacity for the month, as the call channel's capacity;
* one contact per customer per month (the engine's rule), customers at the contact cap
  excluded, and fatigue priced into each option's contact cost (contact history).

It plans the simulator's own scenarios (``retention_default``), whose contact rule is the
engine's fatigue cap over reached contacts, not an optimizer contact window (which counts
every contact), so it builds no window. A planner's scenario with ``contact_policy.windows``
runs through ``scenarios.monthly``, which counts them over ``MonthView.past_contacts``.

``mip_gap`` defaults to 0.5%: the budget row is a knapsack over hundreds of near-identical
options, where proving the last 0.1% (about one contact's value) takes HiGHS tens of
seconds a month and changes nothing that the simulation can measure.

The plan goes back to the engine most valuable first, so that if the call centre runs short
(inbound traffic takes seats) the calls lost are the least valuable. Each month's solver
status and runtime are kept in ``history`` for the caller. A solve that ends without a plan
(a time limit before any incumbent) falls back to the greedy plan on the same shortlist,
marked ``fallback`` in the history. Note: when ``time_limit`` binds, the plan depends on the
machine's speed, so runs are reproducible only while the solves finish inside it (the
history says whether they did).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..config import SimConfig
from ..contacts import ContactPlan, channel_names
from ..errors import SimulationConfigError
from ..view import MonthView
from .valuation import estimate_options

__all__ = ["OptimizerStrategy", "greedy_plan"]


class OptimizerStrategy:
    """Rolling-horizon plan from :func:`optimizer.solve` each month."""

    def __init__(
        self,
        channels: tuple[str, ...] | list[str] = ("call", "sms"),
        max_options: int = 8_000,
        shortlist_factor: float = 3.0,
        solver: str = "highs",
        time_limit: float = 10.0,
        mip_gap: float = 5e-3,
        min_net_value: float = 0.0,
        horizon_months: int = 24,
        name: str = "optimizer",
    ) -> None:
        import optimizer  # fail at construction, not mid-run, if the package is missing

        self._optimizer = None  # the module is re-imported lazily in workers
        del optimizer
        if not channels:
            raise SimulationConfigError(f"strategies.{name}.channels", "at least one is needed")
        if max_options < 1:
            raise SimulationConfigError(f"strategies.{name}.max_options", f"(={max_options}) must be >= 1")
        self.name = name
        self.channels = tuple(channels)
        self.max_options = int(max_options)
        self.shortlist_factor = float(shortlist_factor)
        self.mip_gap = float(mip_gap)
        self.solver = solver
        self.time_limit = float(time_limit)
        self.min_net_value = float(min_net_value)
        if horizon_months < 1:
            raise SimulationConfigError(f"strategies.{name}.horizon_months", f"(={horizon_months}) must be >= 1")
        self.horizon_months = int(horizon_months)
        self.history: list[dict[str, Any]] = []

    @property
    def uses_calls(self) -> bool:
        return "call" in self.channels

    def _shortlist(self, view: MonthView, channel: np.ndarray, weight: np.ndarray, net: np.ndarray) -> np.ndarray:
        """Per channel, the best options by net value per budget yuan, as many as
        ``shortlist_factor`` times what the budget (and, for calls, the capacity) could buy.

        Per channel, because a binding call capacity sends the rest of the budget to other
        channels, whose options may rank far below the calls overall.
        """
        good = net > self.min_net_value
        parts = []
        for code in np.unique(channel[good]):
            idx = np.flatnonzero(good & (channel == code))
            afford = view.budget / max(float(weight[idx].min()), 1e-9)
            if code == 0:
                afford = min(afford, view.call_capacity)
            limit = int(max(50, self.shortlist_factor * afford))
            ratio = net[idx] / np.maximum(weight[idx], 1e-9)
            parts.append(idx[np.argsort(-ratio, kind="stable")][:limit])
        keep = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        if keep.size > self.max_options:
            ratio = net[keep] / np.maximum(weight[keep], 1e-9)
            keep = keep[np.argsort(-ratio, kind="stable")][: self.max_options]
        return keep

    def validate(self, config: SimConfig) -> None:
        known = channel_names(config)
        for ch in self.channels:
            if ch not in known:
                raise SimulationConfigError(
                    f"strategies.{self.name}.channels",
                    f"(={ch!r}) is not configured; known: {known}",
                )

    def plan(self, view: MonthView, rng: np.random.Generator) -> ContactPlan:
        from optimizer import Problem, Rule, Scenario, solve

        for ch in self.channels:
            if ch not in view.channel_names:
                raise SimulationConfigError(
                    f"strategies.{self.name}.channels",
                    f"(={ch!r}) is not configured; known: {view.channel_names}",
                )
        est = estimate_options(view, self.channels, self.horizon_months)
        net = est.net_value
        reserve_rule = view.config.budget_rule == "reserve"
        # What the budget is charged per option: worst case, or expected spend.
        weight = est.reserve if reserve_rule else est.contact_cost + est.p_accept * est.offer_cost
        keep = self._shortlist(view, est.channel, weight, net)
        record: dict[str, Any] = {"month": view.month, "options": int(keep.size)}
        self.history.append(record)
        if keep.size == 0 or view.budget <= 0:
            record["status"] = "NO_OPTIONS"
            return ContactPlan.empty()
        offer_names = view.offer_names
        chan_names = view.channel_names
        options = pd.DataFrame(
            {
                "customer_id": est.customer[keep].astype(str),
                "offer_id": np.asarray(offer_names, dtype=object)[est.offer[keep]],
                "channel_id": np.asarray(chan_names, dtype=object)[est.channel[keep]],
                "p_accept": est.p_accept[keep],
                "value": est.value[keep],
                "contact_cost": est.contact_cost[keep],
                "offer_cost": est.offer_cost[keep],
                "reserve": est.reserve[keep],
            }
        )
        channels = {ch: ({"capacity": int(view.call_capacity)} if ch == "call" else {}) for ch in self.channels}
        scenario = Scenario(
            name=f"sim-month-{view.month}",
            min_roi=None,
            channels=channels,
            offers={o: {} for o in offer_names},
            budget=None if reserve_rule else float(view.budget),
            rules=[Rule(name="reserved_budget", sum="reserve", max=float(view.budget))] if reserve_rule else [],
        )
        problem = Problem.from_tables(scenario, options)
        result = solve(
            problem,
            solver=self.solver,
            time_limit=self.time_limit,
            mip_gap=self.mip_gap,
            shadow_prices=False,
        )
        record["status"] = result.status.value
        record["runtime_s"] = float(result.runtime)
        if not result.has_plan:
            # No incumbent (a time limit before the first feasible plan, a solver error):
            # fall back to the greedy plan on the same shortlist rather than skip the month.
            record["fallback"] = "greedy"
            chosen = greedy_plan(
                est.customer[keep],
                est.channel[keep],
                weight[keep],
                net[keep],
                float(view.budget),
                int(view.call_capacity),
            )
            rows = keep[chosen]
            record["planned"] = int(rows.size)
            record["expected_net_value"] = float(net[rows].sum())
            return ContactPlan(
                est.customer[rows].astype(np.int64),
                est.offer[rows].astype(np.int16),
                est.channel[rows].astype(np.int8),
            )
        plan = result.plan
        value = (plan["expected_value"] - plan["expected_cost"]).to_numpy()
        plan = plan.iloc[np.argsort(-value, kind="stable")]
        record["planned"] = len(plan)
        record["expected_net_value"] = float(value.sum())
        return ContactPlan.build(
            view.config,
            plan["customer_id"].astype(np.int64).to_numpy(),
            plan["offer_id"].to_numpy(dtype=object),
            plan["channel_id"].to_numpy(dtype=object),
        )


def greedy_plan(
    customer: np.ndarray,
    channel: np.ndarray,
    weight: np.ndarray,
    net: np.ndarray,
    budget: float,
    call_capacity: int,
) -> np.ndarray:
    """Positions chosen greedily by net value per budget yuan (``weight``: what the budget
    rule charges an option): one per customer, within the budget and the call capacity,
    returned most valuable first."""
    order = np.argsort(-(net / np.maximum(weight, 1e-9)), kind="stable")
    seen: set[int] = set()
    spent, calls, chosen = 0.0, 0, []
    for j in order.tolist():
        c = int(customer[j])
        if net[j] <= 0 or c in seen or spent + weight[j] > budget:
            continue
        if channel[j] == 0 and calls >= call_capacity:
            continue
        seen.add(c)
        spent += float(weight[j])
        calls += int(channel[j] == 0)
        chosen.append(j)
    out = np.asarray(chosen, dtype=np.int64)
    return out[np.argsort(-net[out], kind="stable")]
