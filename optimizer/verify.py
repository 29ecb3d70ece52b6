"""An independent check of a plan against the inputs, sharing no code with the model.

The verifier reads only the validated tables and the scenario, and recomputes every limit
with pandas group-bys. It does not use the model's matrix, the coupling-limit arrays, the
option table the model builder filters, or any solver output other than the plan's rows, so a
bug in any of those shows up as a violation here instead of as a quietly wrong plan. Every
plan in the tests passes through it; the CLI runs it on every plan it writes.

A rule's filter is read in the project's one rule language (optimizer.rule_language), as a
scenario file is read by the one schema: that language is checked on its own, against a
plain-Python reading of random rules on random tables. What the verifier does not share is
the table it is evaluated on: here the plan's rows merged with customer attributes by
pandas, in the model the option arrays with attributes spread by customer index.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .problem import Problem
from .rule_language import FrameTable, mask
from .scenario import ChannelLimits, OfferLimits, Rule

__all__ = ["Verification", "verify_plan"]

KEYS = ["customer_id", "offer_id", "channel_id"]
CAMPAIGN = "campaign"  # the options' campaign column (the README's name, not the loader's constant)


@dataclass(frozen=True)
class Verification:
    violations: tuple[str, ...]
    usage: dict[str, float] = field(default_factory=dict)
    objective: float = 0.0
    spend: float = 0.0
    expected_return: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations


def _where(frame: pd.DataFrame, rule: Rule) -> np.ndarray:
    """The plan rows a rule's filter covers, evaluated over the verifier's own merged rows."""
    return mask(rule.filter, FrameTable(frame))


def _repeats(frame: pd.DataFrame) -> np.ndarray:
    """Rows equal (as text) to an earlier row, through one integer per row (a 10M-row plan stays small)."""
    key = np.zeros(len(frame), np.int64)
    for column in frame.columns:
        codes, labels = pd.factorize(frame[column])
        key *= len(labels)
        key += codes
    return pd.Series(key).duplicated(keep="first").to_numpy()


def _labels(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of a table's id column and the text each code stands for."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), pd.Index(column.cat.categories.astype(str))
    codes, labels = pd.factorize(column.astype(str))
    return codes, pd.Index(labels)


def _locate(options: pd.DataFrame, picked: pd.DataFrame) -> np.ndarray:
    """Row of ``options`` holding each plan triple, -1 for none; a join on integers, not on 93M strings."""
    table_key = np.zeros(len(options), np.int64)
    plan_key = np.zeros(len(picked), np.int64)
    absent = np.zeros(len(picked), bool)
    for column in KEYS:
        codes, labels = _labels(options[column])
        found = labels.get_indexer(picked[column])
        absent |= found < 0
        table_key *= len(labels)
        table_key += codes
        plan_key *= len(labels)
        plan_key += found
    order = None if bool(np.all(table_key[1:] > table_key[:-1])) else np.argsort(table_key, kind="stable")
    ranked = table_key if order is None else table_key[order]
    slot = np.minimum(np.searchsorted(ranked, plan_key), max(len(ranked) - 1, 0))
    hit = ~absent & (ranked[slot] == plan_key) if len(ranked) else np.zeros(len(picked), bool)
    rows = slot if order is None else order[slot]
    return np.where(hit, rows, -1)


def _plan_rows(problem: Problem, picked: pd.DataFrame, at: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The plan's rows with their option and customer columns, and each row's customer position."""
    options = problem.options.iloc[at].drop(columns=KEYS).reset_index(drop=True)
    who = pd.Index(problem.customers["customer_id"].astype(str)).get_indexer(picked["customer_id"])
    customers = problem.customers.iloc[who].drop(columns="customer_id").reset_index(drop=True)
    return pd.concat([picked, options, customers], axis=1), who


def _has(rows: pd.DataFrame, who: np.ndarray, column: str, value: str, n: int) -> np.ndarray:
    """Per customer position: does any plan row have ``column == value``."""
    return np.bincount(who[(rows[column] == value).to_numpy()], minlength=n) > 0


def verify_plan(problem: Problem, plan: pd.DataFrame, *, tolerance: float = 1e-6, windows: bool = True) -> Verification:
    """Every violated limit of ``plan`` (rows of customer_id, offer_id, channel_id, and wave in a
    multi-wave plan), in words. ``windows=False`` leaves the contact windows out (a wave of a
    multi-wave plan: they are checked over every wave at once)."""
    if problem.waves:
        return _verify_waves(problem, plan, tolerance)
    s = problem.scenario
    bad: list[str] = []
    usage: dict[str, float] = {}

    def check(name: str, value: float, sense: str, bound: float) -> None:
        usage[name] = value
        slack = tolerance * max(1.0, abs(bound))
        if (sense == "<=" and value > bound + slack) or (sense == ">=" and value < bound - slack):
            bad.append(f"{name}: {value:,.6g} breaks {sense} {bound:,.6g}")

    picked = plan[KEYS].astype(str).reset_index(drop=True)
    # the campaign a plan row claims (plan.csv carries it), to hold against the options table's
    claimed = plan[CAMPAIGN].fillna("").astype(str).str.strip().reset_index(drop=True) if CAMPAIGN in plan.columns else None
    dup = _repeats(picked)
    if dup.any():
        bad.append(f"{int(dup.sum())} plan row(s) repeat an option, e.g. {tuple(picked[dup].iloc[0])}")
        picked = picked[~dup].reset_index(drop=True)
        claimed = None if claimed is None else claimed[~dup].reset_index(drop=True)
    at = _locate(problem.options, picked)
    missing = at < 0
    if missing.any():
        bad.append(f"{int(missing.sum())} plan row(s) are not eligible options, e.g. {tuple(picked.loc[missing, KEYS].iloc[0])}")
    blocked = picked["customer_id"].isin(list(problem.do_not_contact))
    if blocked.any():
        bad.append(f"{int(blocked.sum())} plan row(s) contact customers on the do-not-contact list")
    if problem.holdout is not None:
        # the held-out ids are data (the drawn list), not model code: the check stays independent
        withheld = picked["customer_id"][picked["customer_id"].isin(problem.holdout.table["customer_id"].astype(str))]
        if len(withheld):
            more = f" ({withheld.nunique() - 1} more held-out customer(s) planned)" if withheld.nunique() > 1 else ""
            bad.append(f"holdout: customer {withheld.iloc[0]} is held out but planned{more}")
    rows, who = _plan_rows(problem, picked[~missing].reset_index(drop=True), at[~missing])
    rows["spend"] = rows["contact_cost"] + rows["p_accept"] * rows["offer_cost"]
    rows["expected_return"] = rows["p_accept"] * rows["value"]
    rows["net_value"] = rows["expected_return"] - rows["spend"]

    # per customer: CONTACTS, ONE-PER-OFFER, EXCLUSION, CHANNEL-POLICY (counted by customer position)
    ids = problem.customers["customer_id"]
    contacts = np.bincount(who, minlength=len(ids))
    over = contacts > problem.customers["max_contacts"].to_numpy()
    under = contacts < problem.customers["min_contacts"].to_numpy()
    if over.any():
        bad.append(f"{int(over.sum())} customer(s) get more than max_contacts, e.g. {ids.iloc[int(np.flatnonzero(over)[0])]}")
    if under.any():
        bad.append(f"{int(under.sum())} customer(s) get fewer than min_contacts, e.g. {ids.iloc[int(np.flatnonzero(under)[0])]}")
    twice = _repeats(rows[["customer_id", "offer_id"]])
    if twice.any():
        pairs = rows.loc[twice, ["customer_id", "offer_id"]].drop_duplicates()
        bad.append(f"{len(pairs)} customer(s) get one offer twice, e.g. {min(map(tuple, pairs.to_numpy()))}")
    # each pair once, whichever way round and however often the scenario lists it; each offer's
    # holders found once (20,000 listed pairs took 8 s as a pass over the plan per pair)
    excluded: dict[frozenset[str], tuple[str, str]] = {}
    for pair in s.exclusions:
        excluded.setdefault(frozenset(pair), pair)
    holders = {o: _has(rows, who, "offer_id", o, len(ids)) for pair in excluded for o in pair}
    for a, b in excluded.values():
        both = holders[a] & holders[b]
        if both.any():
            bad.append(f"exclusion {a}+{b}: {int(both.sum())} customer(s) get both, e.g. {min(ids[both])}")
    for channel_id, channel in s.channels.items():
        if channel.max_per_customer is not None:
            through = (rows["channel_id"] == channel_id).to_numpy()
            worst = np.bincount(who[through], minlength=len(ids))
            if (worst > channel.max_per_customer).any():
                bad.append(f"channel_policy:{channel_id}: {int((worst > channel.max_per_customer).sum())} customer(s) over {channel.max_per_customer}")

    # over every plan row: a contact a window forbids is not an eligible option either, and is still a contact
    if windows:
        plan_day = problem.history.plan_date if problem.history is not None else s.plan_date or np.datetime64("today", "D")
        bad.extend(_window_violations(problem, picked.assign(date=np.datetime64(plan_day, "D"))))

    # coupling: BUDGET, ROI, OFFER-*, RULE, SHARE
    spend, ret = float(rows["spend"].sum()), float(rows["expected_return"].sum())
    if s.budget is not None:
        # a chance budget bounds the spend at its confidence, which is at least the mean
        held = spend if s.budget_confidence is None else _spend_at(rows, s.budget_confidence)
        check("budget", held, "<=", s.budget)
    _spend_checks(check, rows, "", None, s.min_roi, s.channels, s.offers)
    if claimed is not None and CAMPAIGN in rows.columns:
        moved = claimed[~missing].to_numpy() != rows[CAMPAIGN].astype(str).to_numpy()
        if moved.any():
            bad.append(f"{int(moved.sum())} plan row(s) name another campaign than the options table, e.g. {tuple(rows.loc[moved, KEYS].iloc[0])}")
    for name, campaign in s.campaigns.items():
        # the options table's campaign of each plan row, not the plan's own column: a plan cannot move spend out of a budget
        mine = rows[(rows[CAMPAIGN] == name).to_numpy()]
        _spend_checks(check, mine, f"campaign:{name}:", campaign.budget, campaign.min_roi, campaign.channels, campaign.offers)
    for rule in s.rules:
        measure = pd.Series(1.0, index=rows.index) if rule.sum is None else rows[rule.sum].astype(float)
        inside = float(measure[_where(rows, rule)].sum()) if len(rows) else 0.0
        both = rule.max is not None and rule.min is not None
        if rule.max is not None:
            check(f"{rule.name}:max" if both else rule.name, inside, "<=", rule.max)
        if rule.min is not None:
            check(f"{rule.name}:min" if both else rule.name, inside, ">=", rule.min)
        total = float(measure.sum())
        if rule.max_share is not None:
            check(f"{rule.name}:max_share", inside - rule.max_share * total, "<=", 0.0)
        if rule.min_share is not None:
            check(f"{rule.name}:min_share", inside - rule.min_share * total, ">=", 0.0)
    return Verification(tuple(bad), usage, float(np.sum(rows["net_value"])), spend, ret)


def _spend_checks(check: Callable[[str, float, str, float], None], rows: pd.DataFrame, prefix: str, budget: float | None,
                  min_roi: float | None, channels: Mapping[str, ChannelLimits], offers: Mapping[str, OfferLimits]) -> None:
    """BUDGET, ROI, CAPACITY, OFFER-* over ``rows`` (the whole plan, or one campaign's rows), named ``prefix`` + the limit."""
    spend, ret = float(rows["spend"].sum()), float(rows["expected_return"].sum())
    if budget is not None:
        check(f"{prefix}budget", spend, "<=", budget)
    if min_roi is not None:
        check(f"{prefix}min_roi", ret - (1 + min_roi) * spend, ">=", 0.0)
    for channel_id, channel in channels.items():
        if channel.capacity is not None:
            check(f"{prefix}channel:{channel_id}", float((rows["channel_id"] == channel_id).sum()), "<=", channel.capacity)
    for offer_id, offer in offers.items():
        of = rows[rows["offer_id"] == offer_id]
        name = f"{prefix}offer:{offer_id}"
        if offer.max_targets is not None:
            check(f"{name}:max_targets", float(len(of)), "<=", offer.max_targets)
        if offer.min_targets is not None:
            check(f"{name}:min_targets", float(len(of)), ">=", offer.min_targets)
        if offer.budget is not None:
            check(f"{name}:budget", float(of["spend"].sum()), "<=", offer.budget)
        if offer.min_roi is not None:
            check(f"{name}:min_roi", float(of["expected_return"].sum() - (1 + offer.min_roi) * of["spend"].sum()), ">=", 0.0)


def _window_violations(problem: Problem, planned: pd.DataFrame) -> list[str]:
    """Contact windows and sequences, counted over the history and the plan together.

    ``planned`` holds the plan's contacts with the ``date`` each is made on. A window is broken
    when a customer has more than ``max`` counted contacts in the ``days`` days up to one of
    their planned counted contacts; a cool-down when more than ``max`` counted contacts,
    some planned, follow (on or after its day, before it ends) a past counted contact with the
    window's outcome; a sequence when a planned ``then`` comes less than ``days`` days after a
    ``first`` (the same day included).
    """
    policy = problem.scenario.contact_policy
    if not (policy.windows or policy.min_gap_days or policy.sequences):
        return []
    columns = ["customer_id", "offer_id", "channel_id", "date", "outcome"]
    past = problem.history.table[columns] if problem.history is not None else pd.DataFrame({c: [] for c in columns})
    events = pd.concat([past.assign(planned=False), planned[columns[:4]].assign(outcome="", planned=True)], ignore_index=True)
    events = events.astype({"customer_id": str, "offer_id": str, "channel_id": str})
    events["day"] = events["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    bad = []
    gap = [{"days": policy.min_gap_days, "max": 1, "offer": None, "channel": None, "after": None, "label": f"min_gap_days {policy.min_gap_days}"}]
    specs = [{**w.model_dump(), "label": w.label} for w in policy.windows] + (gap if policy.min_gap_days else [])
    for w in specs:
        counted = events
        if w["offer"] is not None:
            counted = counted[counted["offer_id"] == w["offer"]]
        if w["channel"] is not None:
            counted = counted[counted["channel_id"] == w["channel"]]
        counted = counted[counted["customer_id"].isin(set(counted.loc[counted["planned"], "customer_id"]))]
        if not len(counted):
            continue
        if w["after"] is None:
            ends = counted.loc[counted["planned"], ["customer_id", "day"]].drop_duplicates().reset_index(drop=True)
            pairs = ends.reset_index().merge(counted[["customer_id", "day"]], on="customer_id", suffixes=("", "_other"))
            inside = pairs[(pairs["day_other"] <= pairs["day"]) & (pairs["day"] - pairs["day_other"] < w["days"])]
            held = inside.groupby("index").size()
            over = ends.loc[held.index[held.to_numpy() > w["max"]], "customer_id"]
        else:
            starts = counted[~counted["planned"] & (counted["outcome"] == w["after"])].reset_index()
            pairs = starts[["index", "customer_id", "day"]].merge(
                counted[["customer_id", "day", "planned"]].reset_index().rename(columns={"index": "other"}),
                on="customer_id", suffixes=("", "_other"))
            follow = pairs[(pairs["other"] != pairs["index"]) & (pairs["day_other"] >= pairs["day"]) & (pairs["day_other"] - pairs["day"] < w["days"])]
            per_start = follow.groupby(["index", "customer_id"])["planned"].agg(["size", "any"]).reset_index()
            over = per_start.loc[(per_start["size"] > w["max"]) & per_start["any"], "customer_id"]
        if len(over):
            bad.append(f"contact window {w['label']!r}: {over.nunique()} customer(s) get more than {w['max']} counted contact(s) "
                       f"in it with the history, e.g. {min(over)}")
    for q in policy.sequences:
        then = events[events["planned"] & (events["offer_id"] == q.then)].reset_index()
        first = events[events["offer_id"] == q.first].reset_index().rename(columns={"index": "other"})
        pairs = then[["index", "customer_id", "day"]].merge(first[["other", "customer_id", "day"]], on="customer_id", suffixes=("", "_first"))
        close = pairs[(pairs["other"] != pairs["index"]) & (pairs["day_first"] <= pairs["day"]) & (pairs["day"] - pairs["day_first"] < q.days)]
        if len(close):
            bad.append(f"contact sequence {q.label!r}: {close['customer_id'].nunique()} customer(s) planned {q.then} within {q.days} days "
                       f"of {q.first}, e.g. {close['customer_id'].min()}")
    return bad


def _verify_waves(problem: Problem, plan: pd.DataFrame, tolerance: float) -> Verification:
    """A multi-wave plan: each wave against its own problem, then the windows over every wave's dates."""
    bad: list[str] = []
    usage: dict[str, float] = {}
    objective = spend = ret = 0.0
    waves = {w.name: w.date for w in problem.scenario.waves}
    if "wave" not in plan.columns:
        return Verification(("a multi-wave plan needs a wave column",))
    stray = ~plan["wave"].astype(str).isin(list(waves))
    if stray.any():
        bad.append(f"{int(stray.sum())} plan row(s) name no wave of the scenario, e.g. {plan.loc[stray, 'wave'].astype(str).iloc[0]!r}")
    for (name, day), part in zip(waves.items(), problem.waves):
        mine = plan[plan["wave"].astype(str) == name]
        checked = verify_plan(part, mine, tolerance=tolerance, windows=False)
        bad.extend(f"wave {name}: {v}" for v in checked.violations)
        usage |= {f"{name}:{k}": v for k, v in checked.usage.items()}
        objective, spend, ret = objective + checked.objective, spend + checked.spend, ret + checked.expected_return
    dated = plan.loc[~stray, KEYS].astype(str).assign(date=plan.loc[~stray, "wave"].astype(str).map(waves).to_numpy().astype("datetime64[D]"))
    bad.extend(_window_violations(problem, dated))
    return Verification(tuple(bad), usage, objective, spend, ret)


def _spend_at(rows: pd.DataFrame, confidence: float) -> float:
    """The plan's realised spend at ``confidence``: offer costs paid on independent Bernoulli
    acceptances; the higher of the normal and the Cornish-Fisher quantile (what a chance
    budget promises, README "A budget that holds with a stated probability")."""
    from scipy.stats import norm

    p, cost = rows["p_accept"].to_numpy(float), rows["offer_cost"].to_numpy(float)
    mean = float(rows["spend"].sum())
    variance = float(np.sum(cost**2 * p * (1 - p)))
    if variance <= 0:
        return mean
    sd = variance**0.5
    skew = float(np.sum(cost**3 * p * (1 - p) * (1 - 2 * p))) / sd**3
    excess = float(np.sum(cost**4 * p * (1 - p) * (1 - 6 * p * (1 - p)))) / sd**4
    z = float(norm.ppf(confidence))
    cornish_fisher = z + (z * z - 1) * skew / 6 + (z**3 - 3 * z) * excess / 24 - (2 * z**3 - 5 * z) * skew**2 / 36
    return mean + max(z, cornish_fisher) * sd
