"""Optimizer plan against the baselines a retention team runs today, at equal budget.

* **Rule targeting** (tag rules, e.g. ``arpu > 80 AND stage == 'decline'``): every matching
  customer, highest ``order_by`` (ARPU) first, gets one offer through one channel.
* **Score targeting**: customers ranked by a score column (churn risk, a model score), highest
  first, get one offer through one channel.

Both fill their list until the budget or a capacity is used, exactly as a planner tunes a
list to the campaign's resources: a candidate is added only if every upper limit of the
scenario (budget, capacities, offer limits, "at most" rules, per-customer contact policy,
exclusions) still holds. A list that runs out before the budget does (a rule matches few
customers, or the channel's capacity is full) is then *filled to the budget* by the same
ranking: the customers not yet contacted, ARPU (or score) first, the same offers, through
the baseline's channel and then every other channel of the scenario in its order. So "at
equal budget" means what it says: a baseline is not made to look cheap by leaving money
unspent. ``Baseline(fill=False)`` keeps the bare list. A budget with a confidence is held the
way the verifier checks it: the realised spend at that confidence (:mod:`optimizer.chance`).

Every plan, the optimizer's included, then goes through :func:`optimizer.verify_plan`; a
baseline that misses a lower limit (a minimum ROI, an "at least" rule) is reported with the
verifier's reason, not silently repaired.

Since each baseline plan meets the scenario's upper limits, the optimal plan is at least as
good in expected net value: the gap is the value of optimizing. Headline: at the same
budget, how much more expected net value per yuan of budget, and how many more expected
acceptances per 1,000 yuan spent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optimizer.chance import spend_at_confidence
from optimizer.errors import InputError, NoPlan
from optimizer.problem import Problem
from optimizer.risk import cumulants
from optimizer.scoring.errors import TagRuleError
from optimizer.scoring.tags import evaluate as evaluate_rule
from optimizer.solving import solve
from optimizer.verify import verify_plan

__all__ = ["Baseline", "baseline_defaults", "baseline_plan", "compare", "default_baselines", "headline", "rule_targeting", "score_targeting"]


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
    fill: bool = True  # spend what the list leaves of the budget, by the same ranking (module docstring)

    def describe(self) -> str:
        who = f"IF {self.rule}" if self.rule else f"rank by {self.score}" + (f" (>= {self.min_score:g})" if self.min_score is not None else "")
        text = f"{who} THEN {' / '.join(self.offers)} by {self.channel}"
        if self.fill:
            ranking = self.order_by if self.rule is not None else self.score
            text += f"; budget left: the other customers{f' by {ranking}' if ranking else ''}, any open channel"
        return text


def rule_targeting(rule: str, offers: Sequence[str] | str, channel: str, *, order_by: str | None = "arpu", name: str = "rule") -> Baseline:
    return Baseline(name, (offers,) if isinstance(offers, str) else tuple(offers), channel, rule=rule, order_by=order_by)


def score_targeting(score: str, offers: Sequence[str] | str, channel: str, *, min_score: float | None = None, name: str = "score") -> Baseline:
    return Baseline(name, (offers,) if isinstance(offers, str) else tuple(offers), channel, score=score, order_by=None, min_score=min_score)


def baseline_defaults(problem: Problem) -> tuple[list[str], str]:
    """The offers (in priority order) and the channel a baseline uses when none is named.

    The demo's bill-credit contract by outbound call where the scenario has them; otherwise
    the scenario's own first offer and its call channel (a channel whose name says call), else
    its first channel: any scenario gets a comparison without naming them.
    """
    channels = problem.channel_ids
    calls = [c for c in channels if "call" in c.lower()]
    channel = "call" if "call" in channels else calls[0] if calls else channels[0]
    offers = [o for o in ("bill_credit_contract", "loyalty_points") if o in problem.offer_ids] or list(problem.offer_ids[:1])
    return offers, channel


def default_baselines(problem: Problem) -> list[Baseline]:
    """The domain notes' two baselines on the synthetic base's attributes, by call.

    Rule: "IF ARPU > 80 AND stage = decline THEN bill-credit contract by outbound call";
    score: churn risk, highest first (the sources' "IF score > 500"), same offer and channel.
    """
    cols = set(problem.customers.columns)
    offers, channel = baseline_defaults(problem)
    out = []
    if {"arpu", "stage"} <= cols:
        out.append(rule_targeting("arpu > 80 AND stage == 'decline'", offers, channel, name="rule: arpu>80 AND decline"))
    if "churn_risk" in cols:
        out.append(score_targeting("churn_risk", offers, channel, name="score: churn risk"))
    return out


def _customer_frame(problem: Problem) -> pd.DataFrame:
    return problem.customers.reset_index(drop=True)


def _ranking(problem: Problem, baseline: Baseline, customers: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Every customer in the baseline's order (highest first), and the listed ones (its rule or score threshold)."""
    n = len(customers)
    if baseline.rule is not None:
        try:
            listed = evaluate_rule(baseline.rule, customers).to_numpy(bool)
        except TagRuleError as exc:
            raise InputError(str(exc), key=f"baseline {baseline.name}") from None
        rank_col = baseline.order_by
    else:
        listed = np.ones(n, bool)
        rank_col = baseline.score
    if rank_col is None:
        ranking = np.arange(n)
    else:
        if rank_col not in customers.columns:
            raise InputError(f"unknown customer column {rank_col!r}; known: {', '.join(customers.columns)}", key=f"baseline {baseline.name}")
        score = customers[rank_col].to_numpy(float)
        if baseline.min_score is not None:
            listed &= score >= baseline.min_score
        ranking = np.argsort(-score, kind="stable")  # a stable sort: ties keep table order
    return ranking, ranking[listed[ranking]]


@dataclass(frozen=True)
class _ChanceBudget:
    """Realised spend at the scenario's budget confidence, as the verifier computes it (optimizer.chance)."""

    confidence: float
    contact: np.ndarray
    offer: np.ndarray
    p: np.ndarray

    def increment(self, k: int) -> tuple[float, float, float, float]:
        return cumulants(self.contact[k : k + 1], self.offer[k : k + 1], self.p[k : k + 1])

    def spend(self, k: tuple[float, float, float, float]) -> float:
        return spend_at_confidence(k, self.confidence)


def _chance_budget(problem: Problem) -> _ChanceBudget | None:
    confidence = problem.scenario.budget_confidence
    if confidence is None:
        return None
    o = problem.options
    return _ChanceBudget(confidence, o["contact_cost"].to_numpy(float), o["offer_cost"].to_numpy(float), o["p_accept"].to_numpy(float))


def baseline_plan(problem: Problem, baseline: Baseline) -> np.ndarray:
    """The baseline's 0/1 choice over the problem's options (see the module docstring)."""
    customers = _customer_frame(problem)
    unknown = [o for o in baseline.offers if o not in problem.offer_ids]
    if unknown or baseline.channel not in problem.channel_ids:
        what = f"offer {unknown[0]!r}" if unknown else f"channel {baseline.channel!r}"
        raise InputError(f"{what} is not in the scenario (offers: {', '.join(problem.offer_ids)}; channels: {', '.join(problem.channel_ids)})", key=f"baseline {baseline.name}")
    ranking, listed = _ranking(problem, baseline, customers)
    # options of the baseline's offers, looked up per (customer, offer, channel)
    wanted = [problem.offer_ids.index(o) for o in baseline.offers]
    sel = np.flatnonzero(np.isin(problem.offer, wanted))
    lookup = {(int(problem.customer[k]), int(problem.offer[k]), int(problem.channel[k])): int(k) for k in sel}
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
    slack = 1e-9 * np.maximum(1.0, np.abs(rhs))
    budget = next((i for i, lim in enumerate(uppers) if lim.kind == "budget"), None)
    held = _chance_budget(problem)
    if held is not None and budget is not None:
        coef[budget] = 0.0  # the chance budget is checked on the spend's cumulants instead
    spend_k = (0.0, 0.0, 0.0, 0.0)
    max_contacts = customers["max_contacts"].to_numpy()
    chosen = np.zeros(problem.n_options, np.int8)
    contacted = np.zeros(len(customers), bool)

    def take(c: int, channel_k: int) -> bool:
        nonlocal usage, spend_k
        for o in wanted:
            k = lookup.get((c, o, channel_k))
            if k is None:
                continue
            new = usage + coef[:, k]
            if not np.all(new <= rhs + slack):
                continue
            if held is not None and budget is not None:
                new_k = tuple(a + b for a, b in zip(spend_k, held.increment(k)))
                if held.spend(new_k) > rhs[budget] + slack[budget]:
                    continue
                new[budget], spend_k = held.spend(new_k), new_k
            chosen[k], contacted[c], usage = 1, True, new
            return True
        return False

    def open_channel(channel_id: str) -> bool:
        per_customer = problem.scenario.channels[channel_id].max_per_customer
        return per_customer is None or per_customer >= 1

    own = problem.channel_ids.index(baseline.channel)
    if open_channel(baseline.channel):
        for c in listed:
            if max_contacts[c] >= 1:
                take(int(c), own)
    if not baseline.fill or budget is None or not sel.size:
        return chosen
    channels = [own] + [k for k, ch in enumerate(problem.channel_ids) if k != own and open_channel(ch)]
    if not open_channel(baseline.channel):
        channels = channels[1:]
    cheapest = float(problem.spend[sel].min())
    for c in ranking:
        if rhs[budget] - usage[budget] < cheapest:
            break  # nothing fits in what is left
        if contacted[c] or max_contacts[c] < 1:
            continue
        for k in channels:
            if take(int(c), k):
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


def compare(
    problem: Problem, baselines: Sequence[Baseline] | None = None, *, chosen: np.ndarray | None = None, gap: float | None = None
) -> pd.DataFrame:
    """One row per strategy (optimizer first) with expected spend, return, net value, ROI, retained
    (expected acceptances) and the verifier's verdict with its reasons (``violations``).

    ``chosen`` (with its ``gap``) is the optimizer's plan of ``problem`` when the caller has it: no re-solve.
    """
    baselines = list(baselines) if baselines is not None else default_baselines(problem)
    if chosen is None:
        result = solve(problem)
        if not result.has_plan:
            raise NoPlan.of(result, "nothing to compare")
        chosen, gap = result.chosen, result.gap
    rows = [{"strategy": "optimizer", "description": "exact optimum under every limit", **_metrics(problem, chosen), "gap": gap}]
    for b in baselines:
        rows.append({"strategy": b.name, "description": b.describe(), **_metrics(problem, baseline_plan(problem, b)), "gap": None})
    table = pd.DataFrame(rows)
    best = table.loc[0, "net_value"]
    table["optimizer_gain"] = best - table["net_value"]
    table["optimizer_gain_pct"] = np.where(table["net_value"].abs() > 0, 100 * table["optimizer_gain"] / table["net_value"].abs(), np.nan)
    return table


def headline(table: pd.DataFrame, budget: float | None) -> str:
    """'At an equal budget ..., the optimizer keeps more: ...': the sentence a budget owner reads first."""
    opt = table.iloc[0]
    parts = []
    for _, row in table.iloc[1:].iterrows():
        per_yuan = (opt["net_value"] - row["net_value"]) / budget if budget else float("nan")
        failed = "" if row["verified"] else ", and it breaks a limit of the scenario"
        parts.append(
            f"vs {row['strategy']} (spends {row['spend']:,.0f} yuan): +{opt['net_value'] - row['net_value']:,.0f} yuan of expected "
            f"net value (+{per_yuan:,.2f} yuan per yuan of budget), {opt['retained_per_1000_yuan']:,.1f} vs "
            f"{row['retained_per_1000_yuan']:,.1f} expected acceptances per 1,000 yuan spent{failed}"
        )
    at = f"At an equal budget of {budget:,.0f} yuan (the optimizer spends {opt['spend']:,.0f})" if budget else "At equal limits"
    return f"{at}, the optimizer keeps more: " + "; ".join(parts) + "."
