"""Optimizer plan against the baselines a retention team runs today, at equal budget.

* **Rule targeting** (tag rules, e.g. ``arpu > 80 AND stage == 'decline'``): every matching
  customer, highest ``order_by`` (ARPU) first, gets one offer through one channel.
* **Score targeting**: customers ranked by a score column (churn risk, a model score), highest
  first, get one offer through one channel.

Both fill their list until the budget or a capacity is used, exactly as a planner tunes a
list to the campaign's resources: a candidate is added only if every upper limit of the
scenario (budget, capacities, offer limits, "at most" rules, per-customer contact policy,
exclusions) still holds. Every plan, the optimizer's included, then goes through
:func:`optimizer.verify_plan`; a baseline that misses a lower limit (a minimum ROI, a
"at least" rule) is reported as such, not silently repaired.

Since each baseline plan meets the scenario's limits, the optimal plan is at least as good in
expected net value: the gap is the value of optimizing. Headline: at the same budget, how
much more expected net value per yuan of budget, and how many more retained customers
(expected acceptances) per 1,000 yuan spent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputError, NoPlan
from optimizer.problem import Problem
from optimizer.scoring.errors import TagRuleError
from optimizer.scoring.tags import evaluate as evaluate_rule
from optimizer.solve import solve
from optimizer.verify import verify_plan

__all__ = ["Baseline", "baseline_plan", "compare", "default_baselines", "headline", "rule_targeting", "score_targeting"]


@dataclass(frozen=True)
class Baseline:
    """A list-building strategy: who (a tag rule or a score ranking), which offer(s), which channel."""

    name: str
    offers: tuple[str, ...]
    channel: str
    rule: str | None = None  # tag rule over customer attributes (optimizer.scoring.tags grammar)
    score: str | None = None  # customer column to rank by, highest first
    order_by: str | None = "arpu"  # rule targeting: who comes first within the rule
    min_score: float | None = None

    def describe(self) -> str:
        who = f"IF {self.rule}" if self.rule else f"rank by {self.score}" + (f" (>= {self.min_score:g})" if self.min_score is not None else "")
        return f"{who} THEN {' / '.join(self.offers)} by {self.channel}"


def rule_targeting(rule: str, offers: Sequence[str] | str, channel: str, *, order_by: str | None = "arpu", name: str = "rule") -> Baseline:
    return Baseline(name, (offers,) if isinstance(offers, str) else tuple(offers), channel, rule=rule, order_by=order_by)


def score_targeting(score: str, offers: Sequence[str] | str, channel: str, *, min_score: float | None = None, name: str = "score") -> Baseline:
    return Baseline(name, (offers,) if isinstance(offers, str) else tuple(offers), channel, score=score, order_by=None, min_score=min_score)


def default_baselines(problem: Problem) -> list[Baseline]:
    """The domain notes' two baselines on the synthetic base's attributes, by call.

    Rule: "IF ARPU > 80 AND stage = decline THEN bill-credit contract by outbound call";
    score: churn risk, highest first (the sources' "IF score > 500"), same offer and channel.
    """
    cols = set(problem.customers.columns)
    channel = "call" if "call" in problem.channel_ids else problem.channel_ids[0]
    offers = [o for o in ("bill_credit_contract", "loyalty_points") if o in problem.offer_ids] or list(problem.offer_ids[:1])
    out = []
    if {"arpu", "stage"} <= cols:
        out.append(rule_targeting("arpu > 80 AND stage == 'decline'", offers, channel, name="rule: arpu>80 AND decline"))
    if "churn_risk" in cols:
        out.append(score_targeting("churn_risk", offers, channel, name="score: churn risk"))
    return out


def _customer_frame(problem: Problem) -> pd.DataFrame:
    return problem.customers.reset_index(drop=True)


def baseline_plan(problem: Problem, baseline: Baseline) -> np.ndarray:
    """The baseline's 0/1 choice over the problem's options (see the module docstring)."""
    customers = _customer_frame(problem)
    unknown = [o for o in baseline.offers if o not in problem.offer_ids]
    if unknown or baseline.channel not in problem.channel_ids:
        what = f"offer {unknown[0]!r}" if unknown else f"channel {baseline.channel!r}"
        raise InputError(f"{what} is not in the scenario (offers: {', '.join(problem.offer_ids)}; channels: {', '.join(problem.channel_ids)})", key=f"baseline {baseline.name}")
    n = len(customers)
    if baseline.rule is not None:
        try:
            mask = evaluate_rule(baseline.rule, customers).to_numpy(bool)
        except TagRuleError as exc:
            raise InputError(str(exc), key=f"baseline {baseline.name}") from None
        rank_col = baseline.order_by
    else:
        mask = np.ones(n, bool)
        rank_col = baseline.score
    if rank_col is not None:
        if rank_col not in customers.columns:
            raise InputError(f"unknown customer column {rank_col!r}; known: {', '.join(customers.columns)}", key=f"baseline {baseline.name}")
        score = customers[rank_col].to_numpy(float)
        if baseline.min_score is not None:
            mask &= score >= baseline.min_score
        order = np.flatnonzero(mask)[np.argsort(-score[mask], kind="stable")]
    else:
        order = np.flatnonzero(mask)
    # options of the baseline's channel and offers, looked up per (customer, offer)
    channel_k = problem.channel_ids.index(baseline.channel)
    lookup: dict[tuple[int, int], int] = {}
    wanted = [problem.offer_ids.index(o) for o in baseline.offers]
    sel = np.flatnonzero((problem.channel == channel_k) & np.isin(problem.offer, wanted))
    for k in sel:
        lookup[(int(problem.customer[k]), int(problem.offer[k]))] = int(k)
    # upper limits as dense coefficient rows over the options
    uppers = [lim for lim in problem.limits if lim.sense == "<="]
    coef = np.zeros((len(uppers), problem.n_options))
    rhs = np.array([lim.rhs for lim in uppers])
    for i, lim in enumerate(uppers):
        if lim.index is None:
            coef[i] = lim.coef
        else:
            coef[i, lim.index] = lim.coef
    usage = np.zeros(len(uppers))
    max_contacts = problem.customers["max_contacts"].to_numpy()
    per_channel = problem.scenario.channels[baseline.channel].max_per_customer
    chosen = np.zeros(problem.n_options, np.int8)
    slack = 1e-9 * np.maximum(1.0, np.abs(rhs))
    for c in order:
        if max_contacts[c] < 1 or (per_channel is not None and per_channel < 1):
            continue
        for o in wanted:
            k = lookup.get((int(c), o))
            if k is None:
                continue
            new = usage + coef[:, k]
            if np.all(new <= rhs + slack):
                chosen[k] = 1
                usage = new
                break
    return chosen


def _metrics(problem: Problem, chosen: np.ndarray) -> dict[str, Any]:
    plan = problem.plan_table(chosen)
    spend = float(plan["expected_cost"].sum())
    ret = float(plan["expected_value"].sum())
    retained = float(plan["p_accept"].sum())
    verification = verify_plan(problem, plan)
    return {
        "contacts": len(plan),
        "spend": spend,
        "expected_return": ret,
        "net_value": ret - spend,
        "roi": (ret - spend) / spend if spend > 0 else float("nan"),
        "retained": retained,
        "retained_per_1000_yuan": 1000 * retained / spend if spend > 0 else float("nan"),
        "net_value_per_budget_yuan": (ret - spend) / problem.scenario.budget if problem.scenario.budget else float("nan"),
        "verified": verification.ok,
        "violations": "; ".join(verification.violations),
    }


def compare(problem: Problem, baselines: Sequence[Baseline] | None = None) -> pd.DataFrame:
    """One row per strategy (optimizer first) with expected spend, return, net value, ROI, retained."""
    baselines = list(baselines) if baselines is not None else default_baselines(problem)
    result = solve(problem)
    if not result.has_plan:
        raise NoPlan.of(result, "nothing to compare")
    rows = [{"strategy": "optimizer", "description": "exact optimum under every limit", **_metrics(problem, result.chosen), "gap": result.gap}]
    for b in baselines:
        rows.append({"strategy": b.name, "description": b.describe(), **_metrics(problem, baseline_plan(problem, b)), "gap": None})
    table = pd.DataFrame(rows)
    best = table.loc[0, "net_value"]
    table["optimizer_gain"] = best - table["net_value"]
    table["optimizer_gain_pct"] = np.where(table["net_value"].abs() > 0, 100 * table["optimizer_gain"] / table["net_value"].abs(), np.nan)
    return table


def headline(table: pd.DataFrame, budget: float | None) -> str:
    """'At equal budget, the optimizer keeps ...': the sentence a budget owner reads first."""
    opt = table.iloc[0]
    parts = []
    for _, row in table.iloc[1:].iterrows():
        per_yuan = (opt["net_value"] - row["net_value"]) / budget if budget else float("nan")
        parts.append(
            f"vs {row['strategy']}: +{opt['net_value'] - row['net_value']:,.0f} yuan of expected net value "
            f"(+{per_yuan:,.2f} yuan per yuan of budget), {opt['retained_per_1000_yuan']:,.1f} vs "
            f"{row['retained_per_1000_yuan']:,.1f} retained customers per 1,000 yuan spent"
        )
    at = f"At an equal budget of {budget:,.0f} yuan" if budget else "At equal limits"
    return f"{at}, the optimizer keeps more: " + "; ".join(parts) + "."
