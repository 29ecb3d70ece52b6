"""A multi-wave plan: several dated waves planned jointly, one problem stitched from one per wave.

``waves:`` lists dates, each with its own budget, channel capacities, offer limits and rules
(a key it leaves out is the scenario's). Each wave is first a problem of its own
(:meth:`Scenario.wave_scenario`): its plan date, its limits, the history's room in every
contact window on that date. The joint problem puts them side by side: a *customer* of it is a
customer in one wave (``customers.wave``), so every per-customer row (contacts, one option
per offer, exclusions, channel caps) holds within a wave, and each wave's coupling limits
keep their rows under the wave's name ("feb:channel:call"), with their own shadow prices.

What ties a customer's waves together are the contact windows and sequences whose span holds
two waves: the contacts of earlier waves use up the room a window leaves on a later wave's
date. Those become :class:`~optimizer.problem.LinkedRows`, written only for customers with
counted options in two or more waves of a span. A cool-down is started by the history only:
the outcome of a planned contact is not known when the plan is made.

Exact mode solves the joint problem as one integer programme. Decomposition keeps its bound
because a customer is still independent of the others under the prices: its walk runs over
all its waves at once (optimizer.decompose.subproblem), counting in each wave what each kind
of linked row counts (``LinkedRows.terms``), so every row holds in every customer's best mix.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .contact_windows import UNLIMITED, WindowEffect
from .problem import LinkedRows, Problem
from .scenario import Scenario

__all__ = ["joint_problem", "linked_rows"]


def _counted(problem: Problem, offer: str | None, channel: str | None) -> np.ndarray:
    keep = np.ones(problem.n_options, bool)
    if offer is not None:
        keep &= problem.offer == problem.offer_ids.index(offer)
    if channel is not None:
        keep &= problem.channel == problem.channel_ids.index(channel)
    return np.flatnonzero(keep)


def _rows(kind: str, customer: np.ndarray, option: np.ndarray, wave: np.ndarray, room: np.ndarray, owner_offset: int,
          terms: list[tuple[int, int, int]]) -> LinkedRows | None:
    """One row per customer with counted options in two waves or more and fewer room than options."""
    n = room.size
    count = np.bincount(customer, minlength=n)
    waves = np.bincount(np.unique(customer * 1000 + wave) // 1000, minlength=n)
    needed = (waves >= 2) & (count > room) & (room < UNLIMITED)
    if not needed.any():
        return None
    row_of = np.full(n, -1, np.int64)
    ids = np.flatnonzero(needed)
    row_of[ids] = np.arange(ids.size)
    keep = row_of[customer] >= 0
    return LinkedRows(kind, row_of[customer[keep]], option[keep], room[ids].astype(np.float64), ids + owner_offset, tuple(terms))


def _position(ids: tuple[str, ...], name: str | None) -> int:
    return -1 if name is None else ids.index(name)


def linked_rows(scenario: Scenario, parts: list[Problem], option_offset: list[int]) -> list[LinkedRows]:
    """Windows and sequences across waves (see the module docstring)."""
    dates = [w.date for w in scenario.waves]
    n = parts[0].n_customers
    policy = scenario.contact_policy
    out = []
    for i, window in enumerate(policy.all_windows):
        for b in range(len(parts)):
            span = [a for a in range(b + 1) if window.after is not None or (dates[b] - dates[a]).days < window.days]
            if len(span) < 2:
                continue
            customer, option, wave = [], [], []
            for a in span:
                idx = _counted(parts[a], window.offer, window.channel)
                customer.append(parts[a].customer[idx])
                option.append(idx + option_offset[a])
                wave.append(np.full(idx.size, a))
            offer, channel = _position(parts[b].offer_ids, window.offer), _position(parts[b].channel_ids, window.channel)
            rows = _rows(f"window:{window.label}@{scenario.waves[b].name}", np.concatenate(customer), np.concatenate(option),
                         np.concatenate(wave), parts[b].window_rooms[i], b * n, [(a, offer, channel) for a in span])
            if rows is not None:
                out.append(rows)
    for seq in policy.sequences:
        for a in range(len(parts)):
            for b in range(a + 1, len(parts)):
                if (dates[b] - dates[a]).days >= seq.days:
                    continue
                first, then = _counted(parts[a], seq.first, None), _counted(parts[b], seq.then, None)
                both = np.zeros(n, np.int64)
                both[np.unique(parts[a].customer[first])] += 1
                both[np.unique(parts[b].customer[then])] += 1
                rows = _rows(f"sequence:{seq.label}@{scenario.waves[a].name}->{scenario.waves[b].name}",
                             np.concatenate([parts[a].customer[first], parts[b].customer[then]]),
                             np.concatenate([first + option_offset[a], then + option_offset[b]]),
                             np.concatenate([np.zeros(first.size, np.int64), np.ones(then.size, np.int64)]),
                             np.where(both == 2, 1, UNLIMITED), b * n,
                             [(a, _position(parts[a].offer_ids, seq.first), -1), (b, _position(parts[b].offer_ids, seq.then), -1)])
                if rows is not None:
                    out.append(rows)
    return out


def joint_problem(scenario: Scenario, options: pd.DataFrame, customers: pd.DataFrame | None, **tables: object) -> Problem:
    """One problem over every wave of ``scenario`` (the arguments of :meth:`Problem.from_tables`)."""
    parts = [Problem.from_tables(scenario.wave_scenario(k), options, customers, **tables) for k in range(len(scenario.waves))]  # type: ignore[arg-type]
    names = [w.name for w in scenario.waves]
    n = parts[0].n_customers
    offsets = list(np.cumsum([0] + [p.n_options for p in parts[:-1]]))
    limits = []
    for name, part, offset in zip(names, parts, offsets):
        for lim in part.limits:
            index = np.arange(part.n_options) if lim.index is None else lim.index
            limits.append(dataclasses.replace(lim, name=f"{name}:{lim.name}", index=index + offset,
                                              description=f"wave {name} ({part.scenario.plan_date}): {lim.description}"))
    caps = {}
    for channel in sorted({c for p in parts for c in p.channel_caps}):
        caps[channel] = np.concatenate([
            p.channel_caps.get(channel, np.full(n, UNLIMITED if p.scenario.channels[channel].max_per_customer is None
                                                else p.scenario.channels[channel].max_per_customer, np.int32)) for p in parts])
    warnings = list(dict.fromkeys(w for p in parts for w in p.warnings))
    effects = tuple(WindowEffect(f"{name}: {e.name}", e.customers_restricted, e.customers_blocked, e.options_removed)
                    for name, p in zip(names, parts) for e in p.window_effects)
    first = parts[0]
    return Problem(
        scenario=scenario,
        options=pd.concat([p.options.assign(wave=name) for name, p in zip(names, parts)], ignore_index=True),
        customers=pd.concat([p.customers.assign(wave=name) for name, p in zip(names, parts)], ignore_index=True),
        customer=np.concatenate([p.customer + k * n for k, p in enumerate(parts)]),
        offer=np.concatenate([p.offer for p in parts]),
        channel=np.concatenate([p.channel for p in parts]),
        offer_ids=first.offer_ids,
        channel_ids=first.channel_ids,
        spend=np.concatenate([p.spend for p in parts]),
        expected_return=np.concatenate([p.expected_return for p in parts]),
        net_value=np.concatenate([p.net_value for p in parts]),
        limits=tuple(limits),
        do_not_contact=first.do_not_contact,
        removed_by_do_not_contact=sum(p.removed_by_do_not_contact for p in parts),
        sources=first.sources,
        warnings=tuple(warnings),
        holdout=first.holdout,
        history=first.history,
        channel_caps=caps,
        exclusions=first.exclusions,
        window_effects=effects,
        waves=tuple(parts),
        linked=tuple(linked_rows(scenario, parts, offsets)),
    )
