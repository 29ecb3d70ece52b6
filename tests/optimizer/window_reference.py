"""A plain-Python reading of the contact policy, contact by contact: the reference that the
model (optimizer.contact_windows, optimizer.waves) and the verifier are tested against.

It reads the README's words and nothing of the package: every contact is an event on a day;
a window counts events in the ``days`` days up to each planned counted contact; a cool-down
counts the events that follow a past counted contact with its outcome until it ends; a
sequence forbids a planned ``then`` less than ``days`` days after any ``first``.
"""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import numpy as np
import pandas as pd


def feasible(policy: dict[str, Any], history: pd.DataFrame, customer: str, chosen: list[tuple[datetime.date, str, str]],
             max_contacts: int) -> bool:
    """One customer's planned contacts (day, offer, channel) against ``max_contacts`` per day, one
    offer per day, and the policy's windows, ``min_gap_days`` and sequences over ``history``."""
    for day in {d for d, _, _ in chosen}:
        today = [o for d, o, _ in chosen if d == day]
        if len(today) > max_contacts or len(set(today)) < len(today):
            return False
    past = [(datetime.date.fromisoformat(r.date), r.offer_id, r.channel_id, r.outcome) for r in history.itertuples() if r.customer_id == customer]
    planned = [(d, o, h, None) for d, o, h in chosen]
    events = past + planned
    windows = list(policy.get("windows", []))
    if policy.get("min_gap_days"):
        windows.append({"days": policy["min_gap_days"], "max": 1})
    for w in windows:
        def counts(e: tuple, w: dict[str, Any] = w) -> bool:
            return (w.get("offer") in (None, e[1])) and (w.get("channel") in (None, e[2]))
        if "after" not in w:
            for end in planned:
                if counts(end) and sum(1 for e in events if counts(e) and 0 <= (end[0] - e[0]).days < w["days"]) > w["max"]:
                    return False
            continue
        for i, start in enumerate(past):
            if counts(start) and start[3] == w["after"]:
                later = [e for j, e in enumerate(events) if j != i and counts(e) and 0 <= (e[0] - start[0]).days < w["days"]]
                if len(later) > w["max"] and any(e[3] is None for e in later):
                    return False
    for q in policy.get("sequences", []):
        for k, then in enumerate(planned):
            if then[1] != q["then"]:
                continue
            for j, first in enumerate(events):
                if j != len(past) + k and first[1] == q["first"] and 0 <= (then[0] - first[0]).days < q["days"]:
                    return False
    return True


def brute_force(policy: dict[str, Any], options: pd.DataFrame, customers: pd.DataFrame, history: pd.DataFrame,
                waves: list[tuple[datetime.date, float]]) -> float:
    """The best plan by enumeration: every customer's every set of (wave, option) that the policy
    allows (:func:`feasible`), every mix of those sets within each wave's budget (dated waves)."""
    spend = (options["contact_cost"] + options["p_accept"] * options["offer_cost"]).to_numpy()
    net = (options["p_accept"] * options["value"]).to_numpy() - spend
    per_customer = []
    for c, cap in zip(customers["customer_id"], customers["max_contacts"]):
        mine = [(w, j) for w in range(len(waves)) for j in np.flatnonzero((options["customer_id"] == c).to_numpy())]
        sets = []
        for r in range(len(mine) + 1):
            for subset in itertools.combinations(mine, r):
                dated = [(waves[w][0], options["offer_id"][j], options["channel_id"][j]) for w, j in subset]
                if feasible(policy, history, c, dated, int(cap)):
                    per_wave = np.zeros(len(waves))
                    for w, j in subset:
                        per_wave[w] += spend[j]
                    sets.append((float(sum(net[j] for _, j in subset)), per_wave))
        per_customer.append(sets)
    budgets = np.array([budget for _, budget in waves])
    best = -np.inf
    for combo in itertools.product(*per_customer):
        if np.all(sum(s for _, s in combo) <= budgets + 1e-9):
            best = max(best, sum(v for v, _ in combo))
    return best
