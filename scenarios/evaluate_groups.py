"""Per-group figures of an evaluation, and the effect against the holdout.

A group's figures are sums over its contacts *with a response* (expected and realised
alike, so the two are compared over the same contacts); ``contacts`` and ``no_response``
count every planned contact of the group. Intervals: :mod:`scenarios.evaluate_stats`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from optimizer.acceptance import MIN_EXPECTED_ACCEPTANCES
from optimizer.problem import Problem

from .evaluate_stats import multiplier_interval, newcombe_difference, ratio_interval, total_interval, welch_difference

__all__ = ["group_figures", "holdout_effect"]


def group_figures(contacts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per group of ``keys`` (one row ``_all`` for none), sorted by the keys."""
    w = contacts["responded"].to_numpy().astype(float)
    p = contacts["p_accept"].to_numpy(float)
    revenue, cost = contacts["revenue"].to_numpy(float) * w, contacts["cost"].to_numpy(float) * w
    net = revenue - cost
    frame = pd.DataFrame({k: contacts[k].to_numpy() for k in keys} if keys else {"_all": np.full(len(contacts), "all")})
    frame = frame.assign(
        contacts=1, responded=w, reached=contacts["reached"].to_numpy(float) * w, x=contacts["accepted"].to_numpy(float) * w,
        mu=p * w, s2=p * p * w, ev=contacts["expected_value"].to_numpy(float) * w, ec=contacts["expected_cost"].to_numpy(float) * w,
        rev=revenue, rev2=revenue * revenue, cost=cost, cost2=cost * cost, net=net, net2=net * net, revcost=revenue * cost,
    )
    by = keys or ["_all"]
    g = frame.groupby(by, sort=True, observed=True).sum().reset_index()
    # the range a total can take: an interval beyond n x (smallest, largest value) is an artefact of the t approximation
    labels = pd.MultiIndex.from_frame(g[by])
    answered = frame.loc[w > 0, by + ["rev", "cost", "net"]].groupby(by, sort=True, observed=True)
    smallest = answered.min().set_axis(pd.MultiIndex.from_frame(answered.min().reset_index()[by])).reindex(labels)
    largest = answered.max().set_axis(pd.MultiIndex.from_frame(answered.max().reset_index()[by])).reindex(labels)
    n = g["responded"].to_numpy()
    lower, upper, method = multiplier_interval(g["x"].to_numpy(), g["mu"].to_numpy(), g["s2"].to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        multiplier = np.where(g["mu"] > 0, g["x"] / g["mu"], np.nan)
    lower, upper = np.fmin(lower, multiplier), np.fmax(upper, multiplier)  # the estimate inside its interval, to the last bit
    out = g[by].copy()
    out["contacts"] = g["contacts"].astype(np.int64)
    out["responded"] = n.astype(np.int64)
    out["no_response"] = out["contacts"] - out["responded"]
    out["reached"] = g["reached"].astype(np.int64)
    out["expected_acceptances"] = g["mu"]
    out["realised_acceptances"] = g["x"].astype(np.int64)
    out["acceptances_ci_low"], out["acceptances_ci_high"] = lower * g["mu"], upper * g["mu"]
    out["multiplier"], out["multiplier_ci_low"], out["multiplier_ci_high"] = multiplier, lower, upper
    out["interval"] = method
    out["small_group"] = (g["mu"] < MIN_EXPECTED_ACCEPTANCES).astype(np.int64)
    # money intervals need acceptances to vary over: none (not a fake [0, 0]) for a small group or fewer than 2 acceptances
    informative = (out["small_group"].to_numpy() == 0) & (out["realised_acceptances"].to_numpy() >= 2)
    for measure, expected, total in (("revenue", "expected_return", "rev"), ("cost", "expected_cost", "cost"),
                                     ("net_value", "expected_net_value", "net")):
        out[expected] = (g["ev"] if total == "rev" else g["ec"] if total == "cost" else g["ev"] - g["ec"]).to_numpy()
        out[f"realised_{measure}"] = g[total].to_numpy()
        low, high = total_interval(n, g[total], g[total + "2"])
        low = np.fmax(low, n * smallest[total].to_numpy())
        high = np.fmin(high, n * largest[total].to_numpy())
        out[f"realised_{measure}_ci_low"] = np.where(informative, low, np.nan)
        out[f"realised_{measure}_ci_high"] = np.where(informative, high, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["roi_planned"] = np.where(g["ec"] > 0, g["ev"] / g["ec"] - 1, np.nan)
    ratio, low, high = ratio_interval(n, g["rev"], g["cost"], g["rev2"], g["revcost"], g["cost2"])
    out["roi_realised"] = ratio - 1
    out["roi_realised_ci_low"] = np.where(informative, low - 1, np.nan)
    out["roi_realised_ci_high"] = np.where(informative, high - 1, np.nan)
    return out

def holdout_effect(contacts: pd.DataFrame, holdout: pd.DataFrame, problem: Problem) -> dict[str, Any]:
    """Contacted customers (with a response) against the holdout: churn rate and revenue per customer.

    A contacted customer's revenue is the sum over their contacts; churned is one value per
    customer (the responses reader checks). Contacted minus holdout, so a campaign that
    keeps customers has a negative churn difference.
    """
    answered = contacts[contacts["responded"]]
    per = answered.assign(net=answered["revenue"] - answered["cost"]).groupby("customer_id", sort=True).agg(
        churned=("churned", "first"), revenue=("revenue", "sum"), net=("net", "sum"))
    k1, n1 = int(per["churned"].sum()), len(per)
    k2, n2 = int(holdout["churned"].sum()), len(holdout)
    unanswered = int((~contacts["customer_id"].drop_duplicates().isin(per.index)).sum())
    out: dict[str, Any] = {
        "contacted_customers": n1, "holdout_customers": n2,
        "contacted_customers_without_any_response": unanswered,
        "churn_rate_contacted": k1 / n1, "churn_rate_holdout": k2 / n2,
        "churn_difference": {**newcombe_difference(k1, n1, k2, n2), "what": "contacted minus holdout churn rate (fraction of "
                             "customers), Newcombe (1998) hybrid score interval; negative: the campaign kept customers"},
        "revenue_per_customer_contacted": float(per["revenue"].mean()), "revenue_per_customer_holdout": float(holdout["revenue"].mean()),
        "revenue_difference": {**welch_difference(per["revenue"].to_numpy(), holdout["revenue"].to_numpy()),
                               "what": "contacted minus holdout mean revenue per customer (yuan, over the period the files "
                                       "cover), Welch (1947) interval"},
        "net_difference": {**welch_difference(per["net"].to_numpy(), holdout["revenue"].to_numpy()),
                           "what": "contacted (revenue minus campaign cost) minus holdout revenue per customer (yuan), Welch interval"},
    }
    drawn = getattr(problem, "holdout", None)
    if drawn is not None:
        ids = set(problem.customers["customer_id"].astype(str).to_numpy()[drawn.rows])
        out["holdout_customers_not_drawn_by_the_scenario"] = int((~holdout["customer_id"].isin(ids)).sum())
    return out
