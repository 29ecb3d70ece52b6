"""Why a plan test's figures differ from the plan's: the call centre, fatigue, sampling.

Each planned-vs-simulated gap wider than its interval gets its causes in words: calls the
seats could not place, customers not reached, the exit hazard fatigue adds, and when nothing
explains it, sampling.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from optimizer.value_model import expected_margin


from .plan_world import PLANNED_KEYS, World

__all__ = ["call_centre_figures", "explain_gaps", "fatigue_loss"]


def call_centre_figures(cfg: Any, totals: pd.DataFrame, sized: bool, plan_calls: int) -> dict[str, Any]:
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


def explain_gaps(
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
        loss, n_fat, n_growth = fatigue_loss(world, cfg, cp)
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


def fatigue_loss(world: World, cfg: Any, cp: Any) -> tuple[float, int, int]:
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


