"""The plan test's world: the scenario's own base as the simulator's population, and a plan as
the contacts of its first month.

:func:`build_world` derives, once per scenario, what every replication shares: the problem,
the simulation settings, the simulated base built from the scenario's customers, each offer's
effect by the one value model; :func:`sim_config` sizes the simulator to the plan (seats,
horizon, contact caps); :func:`contact_plan` turns chosen options into the simulator's
contact plan, most valuable call first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputError
from optimizer.problem import Problem
from optimizer.scenario import SimulationSettings
from optimizer.value_model import MARGIN, OfferEffect

from .inputs import ScenarioInputs

__all__ = ["PLANNED_KEYS", "World", "build_world", "contact_plan", "load_plan", "sim_config"]

#: The plan's own expectations the replay is checked against.
PLANNED_KEYS: tuple[str, ...] = ("spend", "expected_return", "net_value", "acceptances", "calls")
_NO_STAGE = {"acquisition": 0.0, "growth": 0.0, "maturity": 0.0, "decline": 0.0}


@dataclass(frozen=True)
class World:
    """Everything the replay needs, derived once from the scenario."""

    problem: Problem
    settings: SimulationSettings
    base: Any  # simulation.CustomerBase
    effects: dict[str, OfferEffect | None]
    call_channel: str | None
    other_channels: tuple[str, ...]
    margin: float
    assumptions: list[dict[str, Any]]


def build_world(
    inputs: ScenarioInputs, *, effects: str | None = None, problem: Problem | None = None, seats: int | None = None
) -> tuple[World, str]:
    """The scenario's problem (``problem`` if built already), settings (``seats`` overriding
    the call centre's), simulated base and offer effects; and the effects mode."""
    from optimizer.demo import OFFERS as DEMO_OFFERS
    from optimizer.demo import offer_effect
    from simulation import SimulationConfigError, base_from_customers

    problem = inputs.problem() if problem is None else problem
    scenario = problem.scenario
    settings = scenario.simulation or SimulationSettings()
    if seats is not None:
        if seats < 1:
            raise InputError(f"(={seats}) must be >= 1", key="--seats")
        settings = settings.model_copy(update={"call_centre": settings.call_centre.model_copy(update={"seats": seats})})
    notes: list[dict[str, Any]] = []
    for offer in settings.offers:
        if offer not in problem.offer_ids:
            raise InputError(f"{offer!r} is not an offer of the scenario (offers: {', '.join(problem.offer_ids)})", key=f"simulation.offers.{offer}")
    call_channel = settings.call_channel
    if call_channel is not None and call_channel not in problem.channel_ids:
        raise InputError(f"{call_channel!r} is not a channel of the scenario (channels: {', '.join(problem.channel_ids)})", key="simulation.call_channel")
    if call_channel is None and "call" in problem.channel_ids:
        call_channel = "call"
    if call_channel is not None and call_channel != "call" and "call" in problem.channel_ids:
        raise InputError("a channel named 'call' must be the call channel", key="simulation.call_channel")
    if call_channel is None:
        notes.append({"what": "call centre", "value": "none", "source": "no channel 'call' and no simulation.call_channel: every channel is contacted at once"})
    others = tuple(c for c in problem.channel_ids if c != call_channel)

    eff: dict[str, OfferEffect | None] = {}
    for offer in problem.offer_ids:
        if offer in settings.offers:
            o = settings.offers[offer]
            eff[offer] = OfferEffect(o.churn_multiplier, o.term_months, o.arpu_uplift)
        elif scenario.synthetic is not None and offer in DEMO_OFFERS:
            eff[offer] = offer_effect(offer)
        else:
            eff[offer] = None
    missing = [o for o, e in eff.items() if e is None]
    mode = effects or settings.effects or ("plan" if missing else "lifecycle")
    if mode == "lifecycle" and missing:
        raise InputError(
            f"effects 'lifecycle' needs what each offer does; no effect given for {', '.join(missing)} "
            f"(set simulation.offers.{missing[0]}: {{churn_multiplier: ..., term_months: ...}}, or use --effects plan)",
            key=f"simulation.offers.{missing[0]}",
        )
    if missing:
        notes.append({"what": "offers without a lifecycle effect", "value": ", ".join(missing),
                      "source": "no simulation.offers entry: they do not move customers_retained or revenue"})
    if settings.margin is None:
        margin = MARGIN
        notes.append({"what": "margin", "value": MARGIN, "source": "share of the bill kept as margin: the value model's placeholder (optimizer.value_model.MARGIN)"})
    else:
        margin = settings.margin
    if scenario.synthetic is not None:
        notes.append({"what": "customers", "value": f"synthetic base of {scenario.synthetic.customers:,} (seed {scenario.synthetic.seed})",
                      "source": "the scenario's generator, the same base the optimizer planned on"})
    customers = problem.customers
    try:
        base = base_from_customers(
            customers,
            source=inputs.customers_file or "customers",
            hazards=settings.hazards.model_dump() if settings.hazards is not None else None,
        )
    except SimulationConfigError as exc:
        raise InputError(exc.rule, key=exc.key) from None
    notes.extend(base.assumptions)
    notes.append({"what": "exit hazard", "value": "per customer", "source": base.hazard_source})
    notes.append({"what": "lifecycle in the replay", "value": "stage held, no re-entry, no arrears, bills as in the table",
                  "source": "the customer's hazard and bill already price stage, arrears and decline; an offer and fatigue move them"})
    return World(problem, settings, base, eff, call_channel, others, margin, notes), mode


def sim_config(
    world: World, plan_calls: int, max_contacts: int, worst_spend: float, horizon: int, budget_per_month: float | None = None
) -> tuple[Any, bool]:
    """The simulator's configuration for this world; and whether the seats were sized here.

    Without ``budget_per_month`` the wave is executed as planned (the budget stops nothing
    unless ``simulation.budget_stop``); with it, contacting stops when a month's realised
    spend would overrun it.
    """
    from simulation import SimulationConfigError, build_config
    from simulation.config import CallCentreConfig

    s = world.settings
    cc: dict[str, Any] = {k: v for k, v in s.call_centre.model_dump().items() if v is not None}
    sized = "seats" not in cc
    if sized:
        # Enough seats to place every call the call channel allows in the wave (month 0),
        # with 10% slack for random handle times and the last call of each shift.
        base_cc = CallCentreConfig(**{k: v for k, v in cc.items() if k != "seats"})
        r = base_cc.connect_rate
        mean_handle = r * base_cc.handle_time_s + (1 - r) * base_cc.no_answer_time_s
        cap = world.problem.scenario.channels[world.call_channel].capacity if world.call_channel else None
        calls = plan_calls if cap is None else max(cap, plan_calls)
        per_seat = base_cc.days_per_month * base_cc.hours_per_day * 3600.0
        cc["seats"] = max(1, math.ceil(1.1 * calls * mean_handle / per_seat) + 1) if calls else 1
    offers = {}
    for o in world.problem.offer_ids:
        e = world.effects[o]
        if e is None or e.term_months == 0:  # no effect: the simulator wants a term, so a neutral one
            e = OfferEffect(1.0, 1, 0.0)
        offers[o] = {
            # cost and accept_prob are unused: every replayed row carries its option's own terms
            "cost": 0.0, "accept_prob": 0.5, "churn_multiplier": e.churn_multiplier, "term_months": int(e.term_months),
            "recovery_prob": 0.0, "arpu_shift": 0.0, "mou_shift": 0.0, "data_shift": 0.0, "contract": False,
            "arpu_uplift": e.arpu_uplift,
        }
    budget = world.problem.scenario.budget
    fatigue = {"max_contacts_per_month": max(max_contacts, 1), "max_contacts_per_window": max(max_contacts, 2), **s.fatigue}
    mapping = {
        "name": world.problem.scenario.name,
        "horizon_months": horizon,
        "budget_per_month": budget_per_month if budget_per_month is not None
        else float(budget) if (s.budget_stop and budget is not None) else float(worst_spend) + 1.0,
        "margin": world.margin,
        "residual_months": max(s.value_horizon_months - horizon, 0),
        "population": {"customers": len(world.base), "gross_adds_per_month": 0.0},
        "lifecycle": {
            "decline_hazard": {k: 0.0 for k in ("acquisition", "growth", "maturity")},
            "recovery_hazard": 0.0,
            "reentry_share": dict(_NO_STAGE),
            **s.lifecycle,
        },
        "arrears": {"monthly_prob": dict(_NO_STAGE)},
        "usage": {"decline_rate": 1.0, "handset_change_prob": 0.0},
        "fatigue": fatigue,
        "call_centre": cc,
        "channels": {c: {"cost_per_contact": 0.0, "reach": 1.0, "response_multiplier": 1.0, "visit_prob": 1.0 if c == "store" else 0.0}
                     for c in world.other_channels},
        "offers": offers,
    }
    try:
        return build_config(mapping), sized
    except SimulationConfigError as exc:
        raise InputError(exc.rule, key=f"simulation.{exc.key}") from None


# --------------------------------------------------------------------------- plans


def load_plan(problem: Problem, path: str | Path) -> np.ndarray:
    """A plan file as a 0/1 choice over the problem's options, refused unless the verifier passes it."""
    from optimizer.tables import read_table
    from optimizer.verify import verify_plan

    plan = read_table(path)
    missing = [c for c in ("customer_id", "offer_id", "channel_id") if c not in plan.columns]
    if missing:
        raise InputError("a plan needs customer_id, offer_id and channel_id columns", file=str(path), column=missing[0])
    check = verify_plan(problem, plan)
    if not check.ok:
        shown = "; ".join(check.violations[:3])
        more = len(check.violations) - 3
        raise InputError(
            f"the plan does not belong to this scenario or breaks its limits: {shown}" + (f" (and {more} more)" if more > 0 else ""),
            file=str(path),
        )
    keys = ["customer_id", "offer_id", "channel_id"]
    index = pd.MultiIndex.from_frame(problem.options[keys].astype(str))
    at = index.get_indexer(pd.MultiIndex.from_frame(plan[keys].astype(str)))
    chosen = np.zeros(problem.n_options, np.int8)
    chosen[at] = 1
    return chosen


def contact_plan(world: World, chosen: np.ndarray, problem: Problem | None = None) -> tuple[Any, np.ndarray, int]:
    """The chosen options (of ``problem``, default the world's) as the simulator's contact
    plan, most valuable first.

    Returns the plan, the option rows in plan order, and how many chosen options name a
    customer who is not in the simulated base (left already; not executed).
    """
    from simulation import ContactPlan

    p = world.problem if problem is None else problem
    rows = np.flatnonzero(chosen)
    net = p.expected_return[rows] - p.spend[rows]
    rows = rows[np.argsort(-net, kind="stable")]
    opts = p.options.iloc[rows]
    pos = pd.Index(world.base.customer_id).get_indexer(opts["customer_id"].astype(str))
    inside = pos >= 0
    rows, opts, pos = rows[inside], opts.iloc[np.flatnonzero(inside)], pos[inside]
    chan_code = {c: i + 1 for i, c in enumerate(world.other_channels)}
    if world.call_channel is not None:
        chan_code[world.call_channel] = 0
    plan = ContactPlan(
        pos.astype(np.int64),
        pd.Index(p.offer_ids).get_indexer(opts["offer_id"].astype(str)).astype(np.int16),
        np.array([chan_code[c] for c in opts["channel_id"].astype(str)], np.int8),
        accept_prob=opts["p_accept"].to_numpy(float),
        contact_cost=opts["contact_cost"].to_numpy(float),
        offer_cost=opts["offer_cost"].to_numpy(float),
        value=opts["value"].to_numpy(float),
    )
    return plan, rows, int((~inside).sum())


