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
from optimizer.report import jsonable
from optimizer.problem import Problem

from .inputs import ScenarioInputs
from .plan_gaps import call_centre_figures, explain_gaps
from .plan_world import PLANNED_KEYS, build_world, contact_plan, load_plan, sim_config

__all__ = [
    "PLANNED_KEYS",
    "SIMULATED_KEYS",
    "PlanTest",
    "is_plan_scenario",
    "per_replication",
    "run_plan_test",
    "sentence",
    "write_plan_test",
]

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
    from optimizer.solving import solve
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
    call_info = call_centre_figures(cfg, res.totals, sized, plan_calls)
    gaps = explain_gaps(world, cfg, mode, planned, simulated_by["plan"], plans["plan"], mine, p_over, call_info)
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
    from optimizer.scenario_file import bundled_path
    from optimizer.yaml_reading import read_yaml

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
