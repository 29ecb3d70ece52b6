"""Options cut by customer into shards: the unit every dual step maps over.

A shard is a contiguous range of customers with all their options, sorted by
(customer, offer, channel), and the coupling coefficients of those options in "<=" form
(a ">=" limit is negated), as a sparse (options x limits) matrix. Everything the per-customer
walk and the dual step need is here, so a shard can be evaluated anywhere: in this process
or on a Dask worker that read it from Parquet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..problem import Problem
from .subproblem import PatternDP, PatternSolution

__all__ = ["Layout", "Shard", "layout_of", "shards_of", "DEFAULT_SHARD_CUSTOMERS"]

DEFAULT_SHARD_CUSTOMERS = 200_000


@dataclass(frozen=True)
class Layout:
    """What every shard shares: the walk's shape and the coupling limits in "<=" form."""

    n_offers: int
    n_channels: int
    max_contacts: int
    channel_caps: tuple[int | None, ...]
    exclusions: tuple[tuple[int, int], ...]
    names: tuple[str, ...]
    sign: np.ndarray  # +1 for a "<=" limit, -1 for ">=": a_i = sign_i * coef_i, b_i = sign_i * rhs_i
    rhs: np.ndarray  # b in "<=" form

    def walk(self) -> PatternDP:
        return PatternDP(self.n_offers, self.n_channels, self.max_contacts, self.channel_caps, self.exclusions)


@dataclass(eq=False)
class Shard:
    """Customers ``first .. first + n_customers - 1`` and their options."""

    first: int
    n_customers: int
    customer: np.ndarray  # local customer of each option (int32), nondecreasing
    offer: np.ndarray  # int16
    channel: np.ndarray  # int16
    net: np.ndarray  # float64 net value
    coef: sp.csr_matrix  # (options x limits), "<=" form
    rows: np.ndarray  # int64: the option's row in the problem's options table
    min_contacts: np.ndarray  # int16 per customer
    max_contacts: np.ndarray  # int16 per customer
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_options(self) -> int:
        return int(self.net.size)

    def grid(self, n_offers: int, n_channels: int) -> tuple[np.ndarray, np.ndarray]:
        key = ("grid", n_offers, n_channels)
        if key not in self._cache:
            cells = (self.customer.astype(np.int64) * n_offers + self.offer) * n_channels + self.channel
            present = np.zeros((n_offers, n_channels), bool)
            present[self.offer, self.channel] = True
            self._cache[key] = (cells, present)
        return self._cache[key]

    def patterns(self, walk: PatternDP, multipliers: np.ndarray, *, second: bool = False) -> PatternSolution:
        adjusted = self.net - self.coef @ multipliers if multipliers.size else self.net
        cells, present = self.grid(walk.n_offers, walk.n_channels)
        return walk.solve(adjusted, cells, self.n_customers, self.min_contacts, self.max_contacts, present, second=second)


def layout_of(problem: Problem) -> Layout:
    scenario = problem.scenario
    caps = tuple(scenario.channels[c].max_per_customer for c in problem.channel_ids)
    pairs = tuple((problem.offer_ids.index(a), problem.offer_ids.index(b)) for a, b in scenario.exclusions)
    sign = np.array([1.0 if lim.sense == "<=" else -1.0 for lim in problem.limits])
    rhs = np.array([lim.rhs for lim in problem.limits], dtype=np.float64) * sign if problem.limits else np.zeros(0)
    max_c = int(problem.customers["max_contacts"].max()) if problem.n_customers else 0
    return Layout(
        n_offers=len(problem.offer_ids), n_channels=len(problem.channel_ids), max_contacts=max_c,
        channel_caps=caps, exclusions=pairs, names=tuple(lim.name for lim in problem.limits), sign=sign, rhs=rhs,
    )


def coupling_matrix(problem: Problem, sign: np.ndarray) -> sp.csr_matrix:
    """All coupling coefficients in "<=" form as an (options x limits) CSR matrix."""
    n = problem.n_options
    rows, cols, vals = [], [], []
    for i, lim in enumerate(problem.limits):
        idx = np.arange(n) if lim.index is None else lim.index
        coef = np.asarray(lim.coef, dtype=np.float64)
        keep = coef != 0
        rows.append(idx[keep])
        cols.append(np.full(int(keep.sum()), i, np.int64))
        vals.append(sign[i] * coef[keep])
    if not rows:
        return sp.csr_matrix((n, 0))
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, len(problem.limits)))


def shards_of(problem: Problem, layout: Layout, shard_customers: int = DEFAULT_SHARD_CUSTOMERS) -> list[Shard]:
    """The problem's options cut into shards of ``shard_customers`` customers (the last may be smaller)."""
    if shard_customers < 1:
        raise ValueError(f"shard_customers(={shard_customers}) must be >= 1")
    order = np.lexsort((problem.channel, problem.offer, problem.customer))
    customer = problem.customer[order]
    coef = coupling_matrix(problem, layout.sign)[order]
    net = np.asarray(problem.net_value, dtype=np.float64)[order]
    offer, channel = problem.offer[order].astype(np.int16), problem.channel[order].astype(np.int16)
    min_c = problem.customers["min_contacts"].to_numpy().astype(np.int16)
    max_c = problem.customers["max_contacts"].to_numpy().astype(np.int16)
    shards = []
    n = problem.n_customers
    for first in range(0, max(n, 1), shard_customers):
        last = min(n, first + shard_customers)
        lo, hi = np.searchsorted(customer, [first, last])
        shards.append(
            Shard(
                first=first, n_customers=last - first, customer=(customer[lo:hi] - first).astype(np.int32),
                offer=offer[lo:hi], channel=channel[lo:hi], net=net[lo:hi], coef=coef[lo:hi],
                rows=order[lo:hi].astype(np.int64), min_contacts=min_c[first:last], max_contacts=max_c[first:last],
            )
        )
    return shards


# ---- the two tasks a dual step maps over shards (module level, so Dask can ship them) ----

_WALKS: dict[tuple, PatternDP] = {}


def walk_for(layout: Layout) -> PatternDP:
    key = (layout.n_offers, layout.n_channels, layout.max_contacts, layout.channel_caps, layout.exclusions)
    if key not in _WALKS:
        _WALKS[key] = layout.walk()
    return _WALKS[key]


@dataclass(frozen=True)
class StepResult:
    value: float  # sum over the shard's customers of their best adjusted value
    usage: np.ndarray  # A x of the best sets, "<=" form
    objective: float  # n . x of the best sets
    n_stuck: int  # customers with no feasible set (min_contacts they cannot reach)
    first_stuck: int  # global index of one of them, -1 if none


@dataclass(frozen=True)
class FinalResult:
    step: StepResult
    best: np.ndarray
    second: np.ndarray
    rows: np.ndarray  # problem rows of the chosen options


def _summarise(shard: Shard, sol: PatternSolution) -> StepResult:
    stuck = ~np.isfinite(sol.best)
    n_stuck = int(stuck.sum())
    value = float(np.sum(sol.best[~stuck])) if n_stuck else float(np.sum(sol.best))
    usage = np.asarray(shard.coef[sol.chosen].sum(axis=0)).ravel() if shard.coef.shape[1] else np.zeros(0)
    return StepResult(
        value=value, usage=usage, objective=float(np.sum(shard.net[sol.chosen])), n_stuck=n_stuck,
        first_stuck=int(shard.first + np.flatnonzero(stuck)[0]) if n_stuck else -1,
    )


def step_task(shard: Shard, layout: Layout, multipliers: np.ndarray) -> StepResult:
    return _summarise(shard, shard.patterns(walk_for(layout), multipliers))


def final_task(shard: Shard, layout: Layout, multipliers: np.ndarray) -> FinalResult:
    sol = shard.patterns(walk_for(layout), multipliers, second=True)
    assert sol.second is not None
    return FinalResult(_summarise(shard, sol), sol.best, sol.second, shard.rows[sol.chosen])
