"""Worked uplift campaign: fit on history, let the optimizer target, evaluate off-policy.

Steps (the Hillstrom example in examples/hillstrom_uplift.yaml):

1. split the randomized history into training and held-out parts (stratified by arm);
2. fit the T-learner (:mod:`.uplift`) on the training part;
3. score the held-out customers into the optimizer's options table (p_accept = 1, value =
   estimated incremental value, contact_cost per channel);
4. build targeting policies for the held-out customers, all with the same contact budget:
   the optimizer's plan, e-mail everyone (each arm), random targeting, highest predicted
   response, plus "no contact" as the baseline;
5. estimate each policy's value on the held-out outcomes by IPS (:mod:`.policy_eval`), with
   95% CIs and the paired lift over no contact.

A held-out customer can only count for a policy when the arm they were randomly assigned is
the one the policy chose, so the held-out part must stay untouched by training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from .config import parse_model, resolve_path
from .errors import ScoringError, UpliftDataError
from .mapping import read_table
from .policy_eval import evaluate_policies
from .uplift import Arm, UpliftModel, fit_uplift, scored_options

__all__ = [
    "POLICIES",
    "CampaignResult",
    "UpliftConfig",
    "greedy_plan",
    "load_uplift_config",
    "optimizer_plan",
    "run_campaign",
    "split_history",
]

NO_CONTACT = "__none__"
POLICIES = ("optimizer", "uplift_rank", "email_everyone", "random", "highest_response", "no_contact")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArmCfg(_Strict):
    offer: str
    channel: str


class FeaturesCfg(_Strict):
    numeric: list[str]
    categorical: list[str] = Field(default_factory=list)


class HistoryCfg(_Strict):
    path: Path
    id: str | None = None
    treatment: str
    control: str
    arms: dict[str, ArmCfg]
    response: str
    value: str | None = None
    extra_outcomes: list[str] = Field(default_factory=list)
    features: FeaturesCfg


class SplitCfg(_Strict):
    test_share: float = Field(0.5, gt=0, lt=1)
    seed: int = 0


class UpliftConfig(_Strict):
    name: str
    history: HistoryCfg
    model: str = "logistic"
    split: SplitCfg = SplitCfg()
    contact_cost: dict[str, float]
    budget: float = Field(ge=0)
    policies: list[str] = Field(default_factory=lambda: list(POLICIES))
    seed: int = 0
    time_limit: float = Field(60.0, gt=0)
    mip_gap: float | None = Field(None, ge=0)  # None: the optimizer's default
    max_rows: int | None = Field(None, ge=30)  # subsample (stratified) for quick runs


@dataclass(frozen=True)
class CampaignResult:
    model: UpliftModel
    options: pd.DataFrame  # held-out scored options
    customers: pd.DataFrame  # held-out customers (customer_id, logged arm, outcomes)
    plans: dict[str, np.ndarray]  # policy -> arm label per held-out customer (NO_CONTACT = none)
    evaluation: pd.DataFrame  # one row per policy
    scenario: dict[str, Any]
    optimizer_info: dict[str, Any]  # status and objective of the optimizer's solve (if run)


def load_uplift_config(data: dict[str, Any], *, base: Path, source: str) -> UpliftConfig:
    cfg = parse_model(UpliftConfig, data, source=source)
    for p in cfg.policies:
        if p not in POLICIES:
            raise ScoringError(f"{source}: key 'policies': unknown policy '{p}' (known: {', '.join(POLICIES)})")
    for label, arm in cfg.history.arms.items():
        if arm.channel not in cfg.contact_cost:
            raise ScoringError(f"{source}: key 'contact_cost': no cost for channel '{arm.channel}' of arm '{label}'")
    if cfg.history.control in cfg.history.arms:
        raise ScoringError(f"{source}: key 'history.control': '{cfg.history.control}' is also listed in history.arms")
    hist = cfg.history.model_copy(update={"path": resolve_path(base, cfg.history.path)})
    return cfg.model_copy(update={"history": hist})


def split_history(labels: pd.Series, test_share: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of held-out rows, stratified by arm so every arm keeps its share."""
    test = np.zeros(len(labels), dtype=bool)
    for idx in labels.reset_index(drop=True).groupby(labels.to_numpy()).indices.values():
        chosen = rng.choice(idx, size=round(test_share * len(idx)), replace=False)
        test[chosen] = True
    return test


def _best_per_customer(options: pd.DataFrame, score: np.ndarray) -> pd.DataFrame:
    o = options.assign(_score=score)
    return o.loc[o.groupby("customer_id", sort=False)["_score"].idxmax()]


def greedy_plan(options: pd.DataFrame, budget: float) -> pd.DataFrame:
    """Best option per customer by net value, then customers by net value while it is
    positive and the budget lasts. With one contact per customer and equal contact costs
    (one channel) this greedy choice is exactly optimal for the optimizer's model."""
    net = (options["p_accept"] * (options["value"] - options["offer_cost"]) - options["contact_cost"]).to_numpy()
    best = _best_per_customer(options, net)
    best = best[best["_score"] > 0].sort_values("_score", ascending=False, kind="stable")
    spend = (best["contact_cost"] + best["p_accept"] * best["offer_cost"]).cumsum()
    return best[spend.to_numpy() <= budget + 1e-9].drop(columns="_score")


def optimizer_plan(
    options: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    name: str,
    budget: float,
    channels: list[str],
    offers: list[str],
    time_limit: float,
    mip_gap: float | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Solve the held-out targeting problem with the optimizer core; returns its plan."""
    try:
        import optimizer as core
    except ImportError as exc:  # the core is a sibling package; report why it cannot be used
        raise ScoringError(f"optimizer core not importable ({exc}); drop 'optimizer' from 'policies'") from None
    scenario = core.Scenario(
        name=name, budget=budget, channels={c: {} for c in channels}, offers={o: {} for o in offers}
    )
    problem = core.Problem.from_tables(scenario, options, customers)
    result = core.solve(problem, solver="highs", time_limit=time_limit, mip_gap=mip_gap)
    status = getattr(result.status, "name", str(result.status))
    if not getattr(result, "has_plan", True):
        raise ScoringError(f"optimizer returned status {status} with no plan for the held-out targeting problem")
    info = {"status": status, "objective": float(result.objective)}
    return result.plan, info


def _plan_to_arms(plan: pd.DataFrame, ids: np.ndarray, arm_of: dict[tuple[str, str], str]) -> np.ndarray:
    out = np.full(ids.size, NO_CONTACT, dtype=object)
    pos = pd.Series(np.arange(ids.size), index=ids)
    keys = list(zip(plan["offer_id"], plan["channel_id"]))
    out[pos.loc[plan["customer_id"].to_numpy()].to_numpy()] = [arm_of[k] for k in keys]
    return out


def run_campaign(cfg: UpliftConfig, table: pd.DataFrame | None = None) -> CampaignResult:
    h = cfg.history
    df = read_table(h.path) if table is None else table.copy()
    for col in [h.treatment, h.response, *h.extra_outcomes] + ([h.value] if h.value else []) + ([h.id] if h.id else []):
        if col not in df.columns:
            raise UpliftDataError(f"{h.path}: column '{col}' not in campaign history")
    labels = df[h.treatment].astype(str).str.strip()
    known = set(h.arms) | {h.control}
    unknown = sorted(set(labels) - known)
    if unknown:
        raise UpliftDataError(
            f"{h.path}: column '{h.treatment}' has value '{unknown[0]}' that is neither "
            f"history.control nor one of history.arms"
        )
    root = np.random.SeedSequence(cfg.seed)
    # child 0 is reserved (the split has its own seed, split.seed, so it is stable across runs)
    _, sub_ss, random_ss = root.spawn(3)
    if cfg.max_rows is not None and cfg.max_rows < len(df):
        keep = split_history(labels, cfg.max_rows / len(df), np.random.default_rng(sub_ss))
        df, labels = df.loc[keep].reset_index(drop=True), labels[keep].reset_index(drop=True)
    df = df.reset_index(drop=True)
    labels = labels.reset_index(drop=True)
    ids = (df[h.id].astype(str) if h.id else pd.Series(np.arange(1, len(df) + 1)).astype(str)).to_numpy()
    test = split_history(labels, cfg.split.test_share, np.random.default_rng(np.random.SeedSequence(cfg.split.seed)))
    arms = [Arm(label, a.offer, a.channel) for label, a in h.arms.items()]
    model = fit_uplift(
        df.loc[~test].assign(**{h.treatment: labels[~test]}),
        treatment=h.treatment,
        control=h.control,
        arms=arms,
        response=h.response,
        value=h.value,
        numeric=h.features.numeric,
        categorical=h.features.categorical,
        model=cfg.model,
        seed=cfg.seed,
    )
    held = df.loc[test].reset_index(drop=True)
    held_ids = ids[test]
    held_labels = labels[test].to_numpy()
    pred = model.predict(held)
    options = scored_options(pred, held_ids, contact_cost=cfg.contact_cost)
    customers = pd.DataFrame({"customer_id": held_ids, "max_contacts": 1})

    arm_of = {(a.offer_id, a.channel_id): a.label for a in arms}
    cost_of = {a.label: cfg.contact_cost[a.channel_id] for a in arms}
    plans: dict[str, np.ndarray] = {}
    info: dict[str, Any] = {}
    n = held_ids.size
    greedy = greedy_plan(options, cfg.budget)
    if "optimizer" in cfg.policies:
        plan, info = optimizer_plan(
            options,
            customers,
            name=cfg.name,
            budget=cfg.budget,
            channels=sorted({a.channel_id for a in arms}),
            offers=sorted({a.offer_id for a in arms}),
            time_limit=cfg.time_limit,
            mip_gap=cfg.mip_gap,
        )
        plans["optimizer"] = _plan_to_arms(plan, held_ids, arm_of)
    if "uplift_rank" in cfg.policies:
        plans["uplift_rank"] = _plan_to_arms(greedy, held_ids, arm_of)
    # baselines contact as many customers as the model-based plan (same budget, same channel mix)
    k = int(
        (plans.get("optimizer", plans.get("uplift_rank", _plan_to_arms(greedy, held_ids, arm_of))) != NO_CONTACT).sum()
    )
    if "email_everyone" in cfg.policies:
        for a in arms:
            plans[f"everyone:{a.label}"] = np.full(n, a.label, dtype=object)
    if "random" in cfg.policies:
        rng = np.random.default_rng(random_ss)
        pi = np.full(n, NO_CONTACT, dtype=object)
        who = rng.choice(n, size=k, replace=False)
        pi[who] = rng.choice([a.label for a in arms], size=k)
        plans["random"] = pi
    if "highest_response" in cfg.policies:
        best = _best_per_customer(options, options["p_response"].to_numpy())
        best = best.sort_values("_score", ascending=False, kind="stable").head(k)
        plans["highest_response"] = _plan_to_arms(best, held_ids, arm_of)
    plans["no_contact"] = np.full(n, NO_CONTACT, dtype=object)

    # propensities: the held-out share of each logged arm (1/3 each by design in Hillstrom)
    share = pd.Series(held_labels).value_counts(normalize=True)
    prop = pd.Series(held_labels).map(share).to_numpy(float)
    logged = np.where(held_labels == h.control, NO_CONTACT, held_labels).astype(object)
    outcomes = {}
    if h.value:
        outcomes[h.value] = pd.to_numeric(held[h.value]).to_numpy(float)
    outcomes[h.response] = pd.to_numeric(held[h.response]).to_numpy(float)
    for c in h.extra_outcomes:
        outcomes[c] = pd.to_numeric(held[c], errors="coerce").to_numpy(float)
    evaluation = evaluate_policies(
        logged, outcomes, prop, plans, baseline="no_contact", cost_per_contact=cost_of, no_contact=NO_CONTACT
    )
    evaluation.insert(
        2,
        "contact_cost",
        evaluation["contacts"] * 0.0 + [sum(cost_of.get(x, 0.0) for x in plans[p]) for p in evaluation["policy"]],
    )
    scenario = {
        "name": cfg.name,
        "description": f"held-out targeting, {n} customers",
        "options": "options.csv",
        "customers": "customers.csv",
        "budget": cfg.budget,
        "channels": {c: {} for c in sorted({a.channel_id for a in arms})},
        "offers": {o: {} for o in sorted({a.offer_id for a in arms})},
    }
    cust_out = customers.assign(logged_arm=held_labels, **{k2: v for k2, v in outcomes.items()})
    return CampaignResult(
        model=model,
        options=options,
        customers=cust_out,
        plans=plans,
        evaluation=evaluation,
        scenario=scenario,
        optimizer_info=info,
    )
