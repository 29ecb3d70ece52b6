"""Test the plan before launch: the optimizer's plan replayed on the scenario's own base.

One world, flowing one way: the scenario file gives the customers, offers, channels and
limits; the optimizer (or ``--plan``) gives the plan; the lifecycle simulator then executes
that plan in the first month of its horizon on *the same customers*: the call list goes
through the SimPy call centre most valuable first, SMS and app at once, store contacts as
the store option says; acceptances are drawn; what the accepted offers do follows over the
horizon. Do-nothing and the scenario's rule and score baselines run beside it on common
random numbers, so their differences are paired.

Two readings of an accepted offer (``effects``):

* ``lifecycle``: the offer changes the customer's exit hazard and bill for its term, by the
  one value model (:mod:`optimizer.value_model`); the plan's return is then *measured*: the
  margin it keeps against doing nothing, in the horizon plus the residual value of the
  customers alive at its end (the value model's expectation for the months of the value
  horizon the simulation does not run), replication by replication.
* ``plan``: each option's own p_accept, value and costs are the truth of the wave (options
  scored outside CampaignLab); the replay tests execution (seats, connect rate, shifts,
  budget overrun) against the plan's own promise, and credits each acceptance its value.

The result (:class:`PlanTest`) holds the plan's expectation, the simulated figures with 95%
intervals over replications, the share of replications whose spend overran the budget, and
every planned-vs-simulated gap larger than its interval with its causes in words.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputError, NoPlan
from optimizer.problem import Problem
from optimizer.scenario import SimulationSettings
from optimizer.value_model import MARGIN, OfferEffect, expected_margin

from .inputs import ScenarioInputs

__all__ = [
    "PLANNED_KEYS",
    "SIMULATED_KEYS",
    "PlanTest",
    "World",
    "build_world",
    "contact_plan",
    "is_plan_scenario",
    "jsonable",
    "load_plan",
    "per_replication",
    "run_plan_test",
    "sentence",
    "sim_config",
    "write_plan_test",
]

#: The plan's own expectations the replay is checked against.
PLANNED_KEYS: tuple[str, ...] = ("spend", "expected_return", "net_value", "acceptances", "calls")
#: What the simulation reports per strategy (95% intervals across replications).
SIMULATED_KEYS: tuple[str, ...] = (*PLANNED_KEYS, "customers_retained", "revenue", "in_horizon_return", "residual_return")
UNITS = {
    "spend": "yuan, the wave's contact and offer costs",
    "expected_return": "yuan of margin over the value horizon",
    "net_value": "yuan, return minus spend",
    "acceptances": "offers accepted",
    "calls": "outbound calls placed (planned: in the plan)",
    "customers_retained": "customers of the base on the network at the horizon",
    "revenue": "yuan billed to the base over the horizon",
    "in_horizon_return": "yuan of margin within the simulated horizon",
    "residual_return": "yuan of margin after the horizon (value model)",
}
CONFIDENCE = 0.95
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


@dataclass(frozen=True)
class PlanTest:
    """The plan test's results (see the module docstring); :meth:`to_json` is plan_test.json."""

    scenario: str
    effects: str
    horizon_months: int
    value_horizon_months: int
    replications: int
    seed: int
    planned: dict[str, float]
    simulated: dict[str, dict[str, float]]
    p_spend_over_budget: float | None
    budget: float | None
    gaps: list[dict[str, Any]]
    call_centre: dict[str, Any]
    assumptions: list[dict[str, Any]]
    hazards: dict[str, Any]
    strategies: pd.DataFrame  # one row per (strategy, measure): planned, mean, ci_low, ci_high
    comparison: pd.DataFrame  # paired differences against the plan
    per_replication: pd.DataFrame
    experiment: Any = field(repr=False)  # simulation.ExperimentResult

    def to_json(self) -> dict[str, Any]:
        return jsonable(
            {
                "scenario": self.scenario,
                "what": "the scenario's plan executed in month 0 on the scenario's base, beside do-nothing and "
                "the rule and score baselines on common random numbers",
                "effects": self.effects,
                "horizon_months": self.horizon_months,
                "value_horizon_months": self.value_horizon_months,
                "replications": self.replications,
                "seed": self.seed,
                "confidence": CONFIDENCE,
                "units": UNITS,
                "planned": self.planned,
                "simulated": self.simulated,
                "budget": self.budget,
                "p_spend_over_budget": self.p_spend_over_budget,
                "gaps": self.gaps,
                "call_centre": self.call_centre,
                "assumptions": self.assumptions,
                "hazards": self.hazards,
                "strategies": self.strategies.to_dict(orient="records"),
                "comparison": self.comparison.to_dict(orient="records"),
            }
        )


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars as Python numbers and non-finite floats as None (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


# --------------------------------------------------------------------------- the world


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


def _planned(problem: Problem, chosen: np.ndarray, call_channel: str | None) -> dict[str, float]:
    rows = np.flatnonzero(chosen)
    spend = float(problem.spend[rows].sum())
    ret = float(problem.expected_return[rows].sum())
    calls = 0
    if call_channel is not None:
        calls = int((problem.channel[rows] == problem.channel_ids.index(call_channel)).sum())
    return {
        "spend": spend,
        "expected_return": ret,
        "net_value": ret - spend,
        "acceptances": float(problem.options["p_accept"].to_numpy(float)[rows].sum()),
        "calls": float(calls),
    }


# --------------------------------------------------------------------------- the test


def run_plan_test(
    inputs: ScenarioInputs,
    plan: np.ndarray | str | Path | None = None,
    *,
    effects: str | None = None,
    replications: int | None = None,
    seed: int | None = None,
    horizon_months: int | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    baselines: Sequence[Any] | None = None,
    problem: Problem | None = None,
    seats: int | None = None,
) -> PlanTest:
    """Replay ``plan`` (a 0/1 choice, a plan file, or None: the optimizer's plan) on the scenario's base.

    ``baselines`` (:class:`scenarios.compare.Baseline`) replace the scenario's default rule
    and score baselines; ``problem`` is ``inputs.problem()`` when the caller has it already.
    """
    from optimizer.cli import AUTO_DECOMPOSE_CUSTOMERS
    from optimizer.solve import solve
    from simulation import DoNothing, PlanReplay, mean_ci, run_experiment

    from .compare import baseline_plan, default_baselines

    world, mode = build_world(inputs, effects=effects, problem=problem, seats=seats)
    problem, settings = world.problem, world.settings
    notes = list(world.assumptions)
    if plan is None:
        # The optimizer as `campaignlab optimize` runs it in auto mode.
        if problem.n_customers < AUTO_DECOMPOSE_CUSTOMERS:
            result = solve(problem)
        else:
            from optimizer.decompose import solve_decomposed

            result = solve_decomposed(problem)
        if not result.has_plan:
            raise NoPlan.of(result, "nothing to test")
        chosen = result.chosen.astype(np.int8)
        notes.append({"what": "plan", "value": f"the optimizer's plan ({result.status.value}, gap {result.gap:.2g})", "source": "solved for this run"})
    elif isinstance(plan, (str, Path)):
        chosen = load_plan(problem, plan)
        notes.append({"what": "plan", "value": str(plan), "source": "--plan, checked by the verifier"})
    else:
        chosen = np.asarray(plan, np.int8)
    H = horizon_months or settings.horizon_months
    reps = replications or settings.replications
    if reps < 2:
        raise InputError(f"(={reps}) must be >= 2 for an interval", key="--replications")
    root_seed = seed if seed is not None else (settings.seed if settings.seed is not None else problem.scenario.seed)

    chosen_by: dict[str, np.ndarray] = {"plan": chosen}
    descriptions = {"plan": "the plan under test", "do_nothing": "no contact (control)"}
    for b in default_baselines(problem) if baselines is None else baselines:
        kind = "rule" if b.rule is not None else "score"
        if baselines is not None or kind in settings.strategies:
            chosen_by[b.name] = baseline_plan(problem, b)
            descriptions[b.name] = b.describe()
    plans: dict[str, tuple[Any, np.ndarray, int]] = {}
    # One configuration for every strategy (common random numbers need the same world).
    counts = [np.bincount(problem.customer[np.flatnonzero(c)], minlength=1).max(initial=0) for c in chosen_by.values()]
    worst = max(float((problem.options["contact_cost"].to_numpy(float) + problem.options["offer_cost"].to_numpy(float))[np.flatnonzero(c)].sum()) for c in chosen_by.values())
    planned_by = {name: _planned(problem, c, world.call_channel) for name, c in chosen_by.items()}
    plan_calls = int(planned_by["plan"]["calls"])
    cfg, sized = sim_config(world, plan_calls, int(max(counts)), worst, H)
    for name, c in chosen_by.items():
        plans[name] = contact_plan(world, c)
    cp0 = plans["plan"][0]
    over = int(((cp0.channel == 0) & (cp0.accept_prob > cfg.call_centre.connect_rate)).sum()) if world.call_channel else 0
    if over:
        notes.append({"what": "calls that promise more than the connect rate", "value": over,
                      "source": f"their p_accept exceeds the {cfg.call_centre.connect_rate:.1%} connect rate: they connect as often as they are accepted"})
    if plans["plan"][2]:
        notes.append({"what": "planned contacts not executed", "value": plans["plan"][2], "source": "their customers have left (churned or in stage exit)"})
    strategies: dict[str, Any] = {"do_nothing": DoNothing()}
    strategies.update({name: PlanReplay(cp, name=name) for name, (cp, _, _) in plans.items()})
    res = run_experiment(cfg, strategies, replications=reps, seed=root_seed, workers=workers, base=world.base, progress=progress)

    per_rep = per_replication(res.totals, mode, list(strategies))
    simulated_by: dict[str, dict[str, dict[str, float]]] = {}
    rows = []
    for name in strategies:
        d = per_rep[per_rep["strategy"] == name]
        planned = planned_by.get(name, dict.fromkeys(PLANNED_KEYS, 0.0))
        simulated_by[name] = {}
        for k in SIMULATED_KEYS:
            m, h = mean_ci(d[k], CONFIDENCE)
            h = 0.0 if not math.isfinite(h) else h
            simulated_by[name][k] = {"mean": m, "ci_low": m - h, "ci_high": m + h}
            rows.append({"strategy": name, "description": descriptions.get(name, ""), "measure": k,
                         "planned": planned.get(k, float("nan")), "mean": m, "ci_low": m - h, "ci_high": m + h})
    table = pd.DataFrame(rows)
    comparison = _paired(per_rep, list(strategies), mean_ci)

    planned = planned_by["plan"]
    budget = problem.scenario.budget
    mine = per_rep[per_rep["strategy"] == "plan"]
    p_over = float((mine["spend"] > budget * (1 + 1e-9)).mean()) if budget is not None else None
    call_info = _call_centre(cfg, res.totals, sized, plan_calls)
    gaps = _gaps(world, cfg, mode, planned, simulated_by["plan"], plans["plan"], mine, p_over, call_info)
    hazards = {"source": world.base.hazard_source}
    if world.base.hazard_fit is not None:
        hazards["fit"] = world.base.hazard_fit.to_dict(orient="records")
        hazards["by"] = (settings.hazards.by if settings.hazards else None)
    return PlanTest(
        scenario=problem.scenario.name, effects=mode, horizon_months=H, value_horizon_months=settings.value_horizon_months,
        replications=reps, seed=int(root_seed), planned=planned, simulated=simulated_by["plan"], p_spend_over_budget=p_over,
        budget=budget, gaps=gaps, call_centre=call_info, assumptions=notes, hazards=hazards, strategies=table,
        comparison=comparison, per_replication=per_rep, experiment=res,
    )


def per_replication(totals: pd.DataFrame, mode: str, names: list[str]) -> pd.DataFrame:
    """Each strategy's measures per replication; the lifecycle return is paired with do-nothing."""
    t = totals.set_index(["replication", "strategy"])
    none = t.xs("do_nothing", level="strategy")
    out = []
    for name in names:
        d = t.xs(name, level="strategy").loc[none.index]
        in_h = d["margin_value"] - none["margin_value"]
        resid = d["residual_value"] - none["residual_value"]
        ret = d["value_credited"] if mode == "plan" else in_h + resid
        out.append(pd.DataFrame({
            "replication": d.index, "strategy": name, "spend": d["cost"].to_numpy(), "expected_return": ret.to_numpy(),
            "net_value": (ret - d["cost"]).to_numpy(), "acceptances": d["offers_accepted"].to_numpy(),
            "calls": d["calls_dialled"].to_numpy(), "customers_retained": d["customers_retained"].to_numpy(),
            "revenue": d["revenue"].to_numpy(), "in_horizon_return": in_h.to_numpy(), "residual_return": resid.to_numpy(),
        }))
    return pd.concat(out, ignore_index=True)


def _paired(per_rep: pd.DataFrame, names: list[str], mean_ci: Callable[..., tuple[float, float]]) -> pd.DataFrame:
    """Plan minus each other strategy, per replication (common random numbers), 95% t intervals."""
    t = per_rep.set_index(["replication", "strategy"])
    mine = t.xs("plan", level="strategy")
    rows = []
    for name in names:
        if name == "plan":
            continue
        other = t.xs(name, level="strategy").loc[mine.index]
        for k in ("net_value", "expected_return", "spend", "acceptances", "customers_retained"):
            m, h = mean_ci(mine[k] - other[k], CONFIDENCE)
            h = 0.0 if not math.isfinite(h) else h
            rows.append({"versus": name, "measure": k, "plan_minus_other": m, "ci_low": m - h, "ci_high": m + h,
                         "distinct": bool(m - h > 0 or m + h < 0)})
    return pd.DataFrame(rows)


def _call_centre(cfg: Any, totals: pd.DataFrame, sized: bool, plan_calls: int) -> dict[str, Any]:
    cc = cfg.call_centre
    r = cc.connect_rate
    mean_handle = r * cc.handle_time_s + (1 - r) * cc.no_answer_time_s
    plan = totals[totals["strategy"] == "plan"]
    return {
        "seats": cc.seats,
        "seats_source": "sized to place every call the call channel allows in the wave" if sized else "simulation.call_centre.seats",
        "hours_per_day": cc.hours_per_day,
        "days_per_month": cc.days_per_month,
        "connect_rate": r,
        "handle_time_s": cc.handle_time_s,
        "dials_per_month_capacity": int(cc.seats * cc.days_per_month * min(cc.hours_per_day, 24.0) * 3600.0 / mean_handle),
        "calls_planned": plan_calls,
        "calls_dialled_mean": float(plan["calls_dialled"].mean()),
        "utilisation_mean": float(plan["cc_utilisation"].mean()),
        "inbound_mean_wait_s": float(plan["inbound_mean_wait_s"].mean()) if plan["inbound_mean_wait_s"].notna().any() else None,
        "inbound_p_abandon": float(plan["inbound_p_abandon"].mean()) if "inbound_p_abandon" in plan and plan["inbound_p_abandon"].notna().any() else None,
    }


def _gaps(
    world: World,
    cfg: Any,
    mode: str,
    planned: dict[str, float],
    simulated: dict[str, dict[str, float]],
    plan: tuple[Any, np.ndarray, int],
    per_rep: pd.DataFrame,
    p_over: float | None,
    call_info: dict[str, Any],
) -> list[dict[str, Any]]:
    """Every planned figure outside its simulated interval, with the causes that explain it."""
    cp, rows, _ = plan
    p = world.problem
    net = p.expected_return[rows] - p.spend[rows]
    is_call = cp.channel == 0 if world.call_channel is not None else np.zeros(len(cp), bool)
    causes: dict[str, list[str]] = {k: [] for k in PLANNED_KEYS}

    def add(keys: tuple[str, ...], text: str) -> None:
        for k in keys:
            causes[k].append(text)

    n_calls = int(is_call.sum())
    dialled = per_rep["calls"].to_numpy(float)
    if n_calls and dialled.mean() < n_calls - 0.5:
        call_net = net[is_call]
        lost = np.mean([call_net[int(k):].sum() for k in dialled])
        add(PLANNED_KEYS, (
            f"calls not placed for capacity: {n_calls - dialled.mean():,.0f} of {n_calls:,} planned calls on average; "
            f"{call_info['seats']} seats x {call_info['days_per_month']} days x {call_info['hours_per_day']:g} h dial about "
            f"{call_info['dials_per_month_capacity']:,} calls a month at a {call_info['connect_rate']:.1%} connect rate and "
            f"{call_info['handle_time_s']:g} s per connected call; the calls left out carried {lost:,.0f} yuan of the plan's "
            f"expected net value"
        ))
    if mode == "lifecycle":
        loss, n_fat, n_growth = _fatigue_loss(world, cfg, cp)
        if n_fat:
            add(("expected_return", "net_value"), (
                f"fatigue: contacts raise the exit hazard of {n_fat:,} customers ({n_growth:,} in the growth stage, where every "
                f"contact counts) for {cfg.fatigue.window_months} months, which the option values do not price: about "
                f"{loss:,.0f} yuan of margin by the value model"
            ))
        counts = np.bincount(cp.customer, minlength=len(world.base)) if len(cp) else np.zeros(0, np.int64)
        twice = int((counts > 1).sum())
        if twice:
            add(("expected_return", "net_value"), (
                f"two offers to one customer: {twice:,} customers get more than one offer; the plan adds every offer's value, "
                f"the simulator runs one offer at a time (a later acceptance replaces the earlier one's effect)"
            ))
        if cfg.residual_months:
            add(("expected_return", "net_value"), (
                f"horizon: the simulation runs {cfg.horizon_months} months; customers alive at its end are valued by the value "
                f"model for the remaining {cfg.residual_months} months of the {world.settings.value_horizon_months}-month value "
                f"horizon (residual {simulated['residual_return']['mean']:,.0f} yuan of the simulated return)"
            ))
    if p_over:
        add(("spend",), f"budget overrun: realised spend exceeds the budget in {p_over:.0%} of replications (offer costs are paid on acceptance)")
    out = []
    for k in PLANNED_KEYS:
        s = simulated[k]
        if s["ci_low"] - 1e-9 <= planned[k] <= s["ci_high"] + 1e-9:
            continue
        why = causes[k] or ["no execution cause found: sampling (with 95% intervals about one figure in twenty lies outside by chance; more replications narrow it)"]
        out.append({"measure": k, "planned": planned[k], "simulated": s["mean"], "ci_low": s["ci_low"], "ci_high": s["ci_high"],
                    "difference": s["mean"] - planned[k], "causes": why})
    return out


def _fatigue_loss(world: World, cfg: Any, cp: Any) -> tuple[float, int, int]:
    """Expected margin lost to fatigue from the plan's reached contacts, by the value model."""
    if len(cp) == 0:
        return 0.0, 0, 0
    from simulation.stages import GROWTH

    fc = cfg.fatigue
    reach = np.where(cp.channel == 0, cfg.call_centre.connect_rate, 1.0)
    contacts = np.bincount(cp.customer, weights=reach, minlength=len(world.base))
    who = np.flatnonzero(contacts > 0)
    growth = world.base.stage[who] == GROWTH
    c = contacts[who]
    mult = np.where(growth, 1.0 + fc.growth_per_contact * c, 1.0 + fc.per_excess_contact * np.maximum(c - fc.free_contacts, 0.0))
    hit = mult > 1.0
    if not hit.any():
        return 0.0, 0, 0
    arpu = world.base.arpu[who].astype(float)
    h = world.base.hazard[who].astype(float)
    V = world.settings.value_horizon_months - 1
    lost = expected_margin(arpu, h, V, margin=world.margin) - expected_margin(
        arpu, h, V, margin=world.margin, churn_multiplier=mult, term_months=fc.window_months
    )
    return float(lost[hit].sum()), int(hit.sum()), int((hit & growth).sum())


def sentence(result: PlanTest) -> str:
    """The plan test in one sentence a budget owner can read, with why it differs from the plan."""
    sim, plan = result.simulated["net_value"], result.planned["net_value"]
    against = "against doing nothing" if result.effects == "lifecycle" else "crediting each acceptance its option value"
    text = (
        f"Replayed {result.replications} times on this base over {result.horizon_months} months "
        f"({result.effects} effects), the plan's net value {against} is {sim['mean']:,.0f} yuan "
        f"(95% CI {sim['ci_low']:,.0f} to {sim['ci_high']:,.0f}), against {plan:,.0f} yuan expected by the plan"
    )
    gap = next((g for g in result.gaps if g["measure"] == "net_value"), None)
    if gap is None:
        return text + ": the plan's expected net value lies inside the simulated interval."
    return text + "; the difference comes from " + "; ".join(c.split(":")[0] for c in gap["causes"]) + " (details below)."


def is_plan_scenario(name_or_path: str | Path) -> bool:
    """True for an optimizer scenario (bundled name or YAML with options, synthetic, extends...)."""
    from optimizer.errors import InputError
    from optimizer.scenario_file import bundled_path, read_yaml

    path = Path(name_or_path)
    if not path.is_file():
        return bundled_path(str(name_or_path)) is not None
    try:
        data = read_yaml(path)
    except (OSError, InputError):
        return True  # let the optimizer's reader name the problem
    return isinstance(data, dict) and bool({"options", "synthetic", "extends", "simulation", "budget"} & set(data))


# --------------------------------------------------------------------------- output


def write_plan_test(result: PlanTest, out: Path) -> list[Path]:
    """The tables and the plots, then plan_test.json last with their sha256 (optimizer.atomic.write_folder)."""
    from optimizer.atomic import neutralised, write_folder

    res = result.experiment
    data = result.to_json()
    json.dumps(data, allow_nan=False)  # a value JSON cannot hold fails here, before any file is written

    def csv(table: pd.DataFrame) -> Callable[[Path], None]:
        return lambda p: neutralised(table).to_csv(p, index=False, float_format="%.10g")

    writers: list[tuple[str, Callable[[Path], None]]] = [
        ("strategies.csv", csv(result.strategies)),
        ("comparison.csv", csv(result.comparison)),
        ("replications.csv", csv(result.per_replication)),
        ("totals.csv", csv(res.totals)),
        ("timeseries.parquet", lambda p: res.timeseries.to_parquet(p, index=False)),
        ("retention.png", lambda p: _retention_plot(result, p)),
        ("plan_test.png", lambda p: _plan_plot(result, p)),
    ]
    summary = ("plan_test.json", lambda files: json.dumps(data | {"files": files}, indent=2, allow_nan=False))
    return write_folder(Path(out), writers, summary=summary)


def _retention_plot(result: PlanTest, path: Path) -> None:
    from simulation.plots import plot_retention

    plot_retention(result.experiment, path, int(result.experiment.totals["initial_customers"].iloc[0]))


def _plan_plot(result: PlanTest, path: Path) -> None:
    """Planned against simulated for the plan (with 95% intervals), and every strategy's net value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulation.plots import literal

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    keys = ["spend", "expected_return", "net_value"]
    x = np.arange(len(keys))
    sim = result.simulated
    a.bar(x - 0.2, [result.planned[k] for k in keys], 0.4, label="planned (expectation)", color="#4c72b0")
    means = np.array([sim[k]["mean"] for k in keys])
    err = np.array([[sim[k]["mean"] - sim[k]["ci_low"] for k in keys], [sim[k]["ci_high"] - sim[k]["mean"] for k in keys]])
    a.bar(x + 0.2, means, 0.4, yerr=err, capsize=4, label=f"simulated (mean, 95% CI, {result.replications} replications)", color="#dd8452")
    a.set_xticks(x, ["spend", "return", "net value"])
    a.set_ylabel("yuan")
    a.set_title(f"{literal(result.scenario)}: the plan, planned vs simulated ({result.effects} effects)")
    a.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=8, frameon=False)
    t = result.strategies[result.strategies["measure"] == "net_value"]
    b.barh(t["strategy"].map(literal), t["mean"], xerr=[t["mean"] - t["ci_low"], t["ci_high"] - t["mean"]], capsize=4, color="#55a868")
    b.set_xlabel(f"net value, yuan over {result.value_horizon_months} months (mean, 95% CI)")
    b.invert_yaxis()
    b.set_title("strategies on common random numbers")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
