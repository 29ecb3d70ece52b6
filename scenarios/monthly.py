"""The planner's question in one command: month after month, which strategy keeps the most value?

"208 seats and 30,000 yuan a month for six months": every strategy re-plans at the start of
each month on the scenario's own base as it stands then (the optimizer re-solved, the rule
and score lists rebuilt). Month ``m`` is planned on the scenario's ``plan_date`` (default
today) plus ``30 * m`` days, the simulator's month (``simulation.MONTH_DAYS``), with the
scenario's contact history followed by every contact the simulation made before it
(customer, offer, channel, the day a seat dialled the call or the month's first day for the
other channels, and the outcome): the scenario's contact windows, ``min_gap_days``,
sequences and cool-downs bind exactly as in ``campaignlab optimize``. What windows do not
say goes on that month's do-not-contact list: customers who have left, who are at the
simulator's own fatigue cap (``simulation.fatigue``: its engine drops their contacts
anyway), or whose accepted offer is still running. The month's budget and the call centre's
capacity for the month are the limits; every other limit of the scenario holds per month.
The simulator then executes each month's plan (seats and shifts, acceptances drawn, offers'
effects, fatigue) on common random numbers, so the strategies' differences are paired.

Ranking is by net value (yuan): the margin kept against doing nothing over the value horizon
(in-horizon plus residual, ``lifecycle`` effects) or the values credited (``plan`` effects),
minus spend. ``distinct_from_next`` says whether the paired 95% interval of (this - next)
excludes zero.
"""

from __future__ import annotations

import datetime
import itertools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.contact_history import HISTORY_COLUMNS, OUTCOMES, ContactHistory, extend_history, plan_date_of
from optimizer.errors import InputError
from optimizer.problem import Problem
from optimizer.report import jsonable

from .inputs import ScenarioInputs
from .plan_test import CONFIDENCE, UNITS, per_replication
from .plan_world import World, build_world, contact_plan, sim_config

__all__ = ["MonthlyComparison", "MonthlyPlanner", "compare_monthly", "first_plan_date", "month_plan_date", "simulated_history", "write_monthly"]

HISTORY_FILE = "contact_history.csv"

MEASURES = ("net_value", "expected_return", "spend", "acceptances", "calls", "customers_retained")


def month_plan_date(start: datetime.date, month: int) -> datetime.date:
    """The day month ``month`` (0 = the first) is planned on: 30 days a month, the simulator's
    month, so that every simulated contact of a month is dated before the next one's plan."""
    from simulation import MONTH_DAYS

    return start + datetime.timedelta(days=MONTH_DAYS * month)


def first_plan_date(world: World) -> tuple[datetime.date, bool]:
    """The first month's plan date and whether the scenario gave it: the date the scenario's
    history was checked against (else the scenario's plan_date, else today)."""
    h = world.problem.history
    return (h.plan_date, h.plan_date_given) if h is not None else plan_date_of(world.problem.scenario)


def simulated_history(world: World, log: Any, start: datetime.date) -> pd.DataFrame:
    """A run's executed contacts (a ``simulation.ContactLog``) in the contact-history form that
    ``optimize`` reads, dated from ``start`` (the first month's plan date)."""
    p = world.problem
    channels = np.asarray([world.call_channel or "call", *world.other_channels], dtype=object)  # the simulator's channel codes
    return pd.DataFrame({
        "customer_id": np.asarray(world.base.customer_id, dtype=object)[log.customer],
        "offer_id": np.asarray(p.offer_ids, dtype=object)[log.offer],
        "channel_id": channels[log.channel],
        "date": np.datetime64(start, "D") + log.day.astype("timedelta64[D]"),
        "outcome": np.asarray(OUTCOMES, dtype=object)[log.outcome],
    })


class MonthlyPlanner:
    """A strategy that re-plans every month on the live base (see the module docstring).

    ``choose(problem)`` returns the month's 0/1 choice over ``problem``'s options, or None
    when it has no plan (an infeasible month: a rule's minimum no longer reachable).
    ``start`` is the first month's plan date and whether the scenario gave it (default:
    :func:`first_plan_date`).
    """

    uses_calls = True

    def __init__(self, name: str, world: World, inputs: ScenarioInputs, choose: Callable[[Problem], np.ndarray | None], budget: float,
                 start: tuple[datetime.date, bool] | None = None) -> None:
        self.name = name
        self.world = world
        self.inputs = inputs
        self.choose = choose
        self.budget = float(budget)
        self.start, self.start_given = first_plan_date(world) if start is None else start
        self.history: list[dict[str, Any]] = []

    def month_history(self, view: Any, plan_date: datetime.date) -> ContactHistory | None:
        """The scenario's history (checked when the world was built) followed by the simulation's contacts so far."""
        earlier = self.world.problem.history
        log = view.past_contacts
        if earlier is None and not len(log):
            return None  # nothing to count: the month is built as without a history
        return extend_history(earlier, simulated_history(self.world, log, self.start), plan_date,
                              file=earlier.file if earlier is not None else "simulated contacts", plan_date_given=self.start_given)

    def month_problem(self, view: Any) -> Problem:
        """The scenario for this month: its budget, the seats' capacity, the live base, its
        plan date and the contact history up to it."""
        world = self.world
        blocked = ~view.eligible | view.has_offer
        dnc = list(world.base.customer_id[blocked]) + list(self.inputs.do_not_contact or [])
        scenario = world.problem.scenario
        channels = dict(scenario.channels)
        if world.call_channel is not None:
            call = channels[world.call_channel]
            cap = int(view.call_capacity) if call.capacity is None else min(call.capacity, int(view.call_capacity))
            channels[world.call_channel] = call.model_copy(update={"capacity": cap})
        plan_date = month_plan_date(self.start, view.month)
        month = scenario.model_copy(update={"budget": self.budget, "channels": channels, "name": f"{scenario.name}-month-{view.month + 1}",
                                            "plan_date": plan_date})
        return Problem.from_tables(month, self.inputs.options, self.inputs.customers, do_not_contact=dnc,
                                   history=self.month_history(view, plan_date), history_file=self.inputs.history_file,
                                   acceptance=self.inputs.acceptance, acceptance_file=self.inputs.acceptance_file)

    def plan(self, view: Any, rng: np.random.Generator) -> Any:
        from simulation import ContactPlan

        problem = self.month_problem(view)
        chosen = self.choose(problem)
        record = {"month": view.month, "customers_open": int(problem.n_customers), "planned": 0 if chosen is None else int(np.sum(chosen)),
                  "options_removed_by_windows": sum(e.options_removed for e in problem.window_effects)}
        self.history.append(record)
        if chosen is None or not np.any(chosen):
            return ContactPlan.empty()
        return contact_plan(self.world, np.asarray(chosen, np.int8), problem)[0]


def _optimizer(problem: Problem) -> np.ndarray | None:
    from optimizer.solving import solve

    result = solve(problem, shadow_prices=False)
    return result.chosen.astype(np.int8) if result.has_plan else None


def _baseline(baseline: Any) -> Callable[[Problem], np.ndarray]:
    from .compare import baseline_plan

    return lambda problem: baseline_plan(problem, baseline)


@dataclass(frozen=True)
class MonthlyComparison:
    """Strategies re-planned every month on the scenario's base, compared on paired replications."""

    scenario: str
    effects: str
    months: int
    budget_per_month: float
    seats: int
    replications: int
    seed: int
    ranking: pd.DataFrame  # one row per strategy: measures' mean and 95% CI, rank, distinct_from_next
    per_replication: pd.DataFrame
    assumptions: list[dict[str, Any]]
    experiment: Any = field(repr=False)
    first_plan_date: datetime.date
    # every replanning strategy's executed contacts (HISTORY_COLUMNS, then strategy and replication)
    contact_history: pd.DataFrame = field(repr=False)
    # per strategy and month: options the contact windows removed (mean over replications)
    window_effects: pd.DataFrame = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        h = self.contact_history
        counts = h.groupby(["strategy", "outcome"]).size().unstack(fill_value=0).reindex(columns=list(OUTCOMES), fill_value=0)
        return jsonable({
            "scenario": self.scenario, "effects": self.effects, "months": self.months, "budget_per_month": self.budget_per_month,
            "seats": self.seats, "replications": self.replications, "seed": self.seed, "confidence": CONFIDENCE,
            "units": {k: UNITS[k] for k in MEASURES}, "ranking": self.ranking.to_dict(orient="records"),
            "assumptions": self.assumptions,
            "plan_dates": [month_plan_date(self.first_plan_date, m).isoformat() for m in range(self.months)],
            "contact_history": {
                "file": HISTORY_FILE, "rows": len(h), "outcomes_per_strategy": {str(k): v for k, v in counts.to_dict(orient="index").items()},
                "next_plan_date": month_plan_date(self.first_plan_date, self.months).isoformat(),
                "use": "keep one strategy and replication; as contact_history: with plan_date on or after next_plan_date",
            },
            "options_removed_by_windows": self.window_effects.to_dict(orient="records"),
        })


def compare_monthly(
    inputs: ScenarioInputs,
    *,
    budget_per_month: float,
    months: int | None = None,
    seats: int | None = None,
    replications: int | None = None,
    seed: int | None = None,
    effects: str | None = None,
    baselines: Sequence[Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MonthlyComparison:
    """Do nothing, the optimizer re-run every month, and the rule and score baselines."""
    from simulation import DoNothing, mean_ci, run_experiment

    from .compare import default_baselines

    if not (math.isfinite(budget_per_month) and budget_per_month > 0):
        raise InputError(f"(={budget_per_month}) must be a positive number of yuan", key="--budget-per-month")
    world, mode = build_world(inputs, effects=effects, seats=seats)
    settings = world.settings
    H = months or settings.horizon_months
    reps = replications or settings.replications
    root = seed if seed is not None else (settings.seed if settings.seed is not None else world.problem.scenario.seed)
    problem = world.problem
    calls = problem.scenario.channels[world.call_channel].capacity if world.call_channel else 0
    cap = int(problem.customers["max_contacts"].max()) if problem.n_customers else 1
    cfg, sized = sim_config(world, int(calls or 0), max(cap, 1), 0.0, H, budget_per_month=budget_per_month)
    start = first_plan_date(world)
    strategies: dict[str, Any] = {"do_nothing": DoNothing(), "optimizer": MonthlyPlanner("optimizer", world, inputs, _optimizer, budget_per_month, start)}
    for b in default_baselines(problem) if baselines is None else baselines:
        strategies[b.name] = MonthlyPlanner(b.name, world, inputs, _baseline(b), budget_per_month, start)
    res = run_experiment(cfg, strategies, replications=reps, seed=root, workers=1, base=world.base, progress=progress)
    history = pd.concat(
        [simulated_history(world, log, start[0]).assign(strategy=name, replication=rep)
         for (rep, name), log in res.contacts.items() if name != "do_nothing"]
        or [pd.DataFrame(columns=[*HISTORY_COLUMNS, "strategy", "replication"])], ignore_index=True)
    history["date"] = pd.to_datetime(history["date"]).dt.strftime("%Y-%m-%d")
    windows = pd.DataFrame([{"strategy": name, **r} for name, s in strategies.items() if isinstance(s, MonthlyPlanner) for r in s.history])
    windows = windows.groupby(["strategy", "month"], sort=False)["options_removed_by_windows"].mean().reset_index()
    per_rep = per_replication(res.totals, mode, list(strategies))
    rows = []
    for name in strategies:
        d = per_rep[per_rep["strategy"] == name]
        row: dict[str, Any] = {"strategy": name}
        for k in MEASURES:
            m, h = mean_ci(d[k], CONFIDENCE)
            h = 0.0 if not math.isfinite(h) else h
            row[k] = m
            row[f"{k}_ci_low"], row[f"{k}_ci_high"] = m - h, m + h
        rows.append(row)
    ranking = pd.DataFrame(rows).sort_values("net_value", ascending=False, kind="stable").reset_index(drop=True)
    t = per_rep.set_index(["replication", "strategy"])["net_value"]
    distinct, gap_low, gap_high = [], [], []
    for a, b in itertools.pairwise(ranking["strategy"]):
        m, h = mean_ci(t.xs(a, level="strategy") - t.xs(b, level="strategy"), CONFIDENCE)
        ok = math.isfinite(h)
        distinct.append(bool(ok and m - h > 0))
        gap_low.append(m - h if ok else float("nan"))
        gap_high.append(m + h if ok else float("nan"))
    ranking.insert(0, "rank", range(1, len(ranking) + 1))
    ranking["net_value_over_next_ci_low"] = gap_low + [float("nan")]
    ranking["net_value_over_next_ci_high"] = gap_high + [float("nan")]
    ranking["distinct_from_next"] = distinct + [False]
    notes = list(world.assumptions) + [
        {"what": "re-planning", "value": "every month on the live base",
         "source": "contact windows over the scenario's history and the simulated contacts; left, at the simulator's fatigue cap, "
                   "or under a running offer: on that month's do-not-contact list"},
        {"what": "plan dates", "value": f"{start[0].isoformat()} + 30 days a month",
         "source": "plan_date" if start[1] else "today (plan_date not set)"},
        {"what": "seats", "value": cfg.call_centre.seats, "source": "--seats" if seats is not None else
         "simulation.call_centre.seats" if not sized else "sized to place the call channel's capacity in a month"},
    ]
    return MonthlyComparison(problem.scenario.name, mode, H, float(budget_per_month), cfg.call_centre.seats, reps, int(root),
                             ranking, per_rep, notes, res, start[0], history, windows)


def write_monthly(result: MonthlyComparison, out: Path) -> list[Path]:
    """ranking.csv, replications.csv, contact_history.csv and monthly.png, then monthly.json last
    with their sha256 (atomic.write_folder). The history is written raw: ``optimize`` reads it back."""
    from optimizer.atomic import neutralised, write_folder

    data = result.to_json()
    json.dumps(data, allow_nan=False)  # a value JSON cannot hold fails here, before any file is written
    writers = [
        ("ranking.csv", lambda p: neutralised(result.ranking).to_csv(p, index=False, float_format="%.10g")),
        ("replications.csv", lambda p: neutralised(result.per_replication).to_csv(p, index=False, float_format="%.10g")),
        (HISTORY_FILE, lambda p: result.contact_history.to_csv(p, index=False)),
        ("monthly.png", lambda p: _plot(result, p)),
    ]
    summary = ("monthly.json", lambda files: json.dumps(data | {"files": files}, indent=2, allow_nan=False))
    return write_folder(Path(out), writers, summary=summary)


def _plot(result: MonthlyComparison, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulation.plots import literal

    r = result.ranking
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(r) + 1.8))
    err = [r["net_value"] - r["net_value_ci_low"], r["net_value_ci_high"] - r["net_value"]]
    ax.barh(r["strategy"].map(literal), r["net_value"], xerr=err, capsize=4, color="#4c72b0")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.invert_yaxis()
    what = "net value against doing nothing" if result.effects == "lifecycle" else "net value (values credited minus spend)"
    ax.set_xlabel(f"{what}, yuan (mean and 95% CI, {result.replications} replications)")
    ax.set_title(f"{literal(result.scenario)}: {result.budget_per_month:,.0f} yuan a month, {result.seats} seats, {result.months} months")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
