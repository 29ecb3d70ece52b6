"""Options cut by customer into shards: the unit every dual step maps over.

A shard is a contiguous range of customers with all their options, sorted by
(customer, offer, channel), and the coupling coefficients of those options in "<=" form
(a ">=" limit is negated), as a sparse (options x limits) matrix. Everything the per-customer
walk and the dual step need is here, so a shard can be evaluated anywhere: in this process
or on a Dask worker that read it from Parquet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np
import scipy.sparse as sp

from ..contact_windows import UNLIMITED
from ..problem import Problem
from .subproblem import Coupling, PatternDP, PatternSolution, WaveLinks

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
    dense: tuple[int, ...] = ()  # limits over every option: full columns, not in the sparse matrix
    # channels whose cap differs by customer (contact windows): shards carry one column of caps each
    customer_capped: tuple[int, ...] = ()
    # a multi-wave problem whose waves are tied by linked rows: the number of waves, and per kind
    # of linked row what it counts (see WaveLinks); a shard's units are then (customer, wave)
    waves: int = 1
    linked_terms: tuple[tuple[tuple[int, int, int], ...], ...] = ()

    @property
    def counted(self) -> tuple[tuple[int, int], ...]:
        return tuple(sorted({(o, h) for kind in self.linked_terms for _, o, h in kind}))

    def walk(self) -> PatternDP:
        return PatternDP(self.n_offers, self.n_channels, self.max_contacts, self.channel_caps, self.exclusions, self.customer_capped,
                         self.counted)


@dataclass(eq=False)
class Shard:
    """Customers ``first .. first + n_customers - 1`` and their options."""

    first: int
    n_customers: int
    customer: np.ndarray  # local customer of each option (int32), nondecreasing
    offer: np.ndarray  # int16
    channel: np.ndarray  # int16
    net: np.ndarray  # float64 net value
    coef: sp.csr_matrix  # (options x limits), "<=" form, the layout's dense limits left out
    # the options' rows in the problem's options table: int64 per option, or, for a shard that is
    # a range of table rows in order, that range as a slice (an index array of 93M options is 0.7 GB)
    rows: np.ndarray | slice
    min_contacts: np.ndarray  # int16 per customer
    max_contacts: np.ndarray  # int16 per customer
    # coefficients of the layout's dense limits, one float64 array each, unsigned (views of the
    # problem's arrays where the shard is a range of its rows)
    dense: tuple[np.ndarray, ...] = ()
    # (customers x layout.customer_capped) int16: each customer's cap on those channels
    channel_caps: np.ndarray | None = None
    # a multi-wave problem tied by linked rows: (customers x kinds) each real customer's room in
    # each kind; the shard's "customers" above are then units, customer r's waves at r*W .. r*W+W-1
    linked_room: np.ndarray | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_options(self) -> int:
        return int(self.net.size)

    def table_rows(self, local: np.ndarray) -> np.ndarray:
        """The problem rows of the shard's options ``local`` (positions in the shard)."""
        if isinstance(self.rows, slice):
            return local.astype(np.int64) + self.rows.start
        return self.rows[local]

    def starts(self) -> np.ndarray:
        """Option offsets per local customer: customer c owns options starts[c] .. starts[c+1]-1."""
        if "starts" not in self._cache:
            self._cache["starts"] = np.searchsorted(self.customer, np.arange(self.n_customers + 1)).astype(np.int64)
        return self._cache["starts"]

    def patterns(self, layout: Layout, multipliers: np.ndarray, *, second: bool = False) -> PatternSolution:
        dense = np.array(layout.dense, np.int64)
        coupling = Coupling(self.coef.indptr, self.coef.indices, self.coef.data, self.dense, dense, layout.sign[dense])
        links = None if self.linked_room is None else WaveLinks(layout.waves, layout.linked_terms, self.linked_room)
        return walk_for(layout).solve(
            self.net, self.starts(), self.offer, self.channel, self.min_contacts, self.max_contacts,
            coupling=coupling, multipliers=multipliers, second=second, channel_caps=self.channel_caps, links=links,
        )

    def problem_customer(self, local: int) -> int:
        """The problem's customer for the shard's customer ``local`` (of a solution's ``best``)."""
        if self.linked_room is None:
            return self.first + local
        return self.first // (self.n_customers // self.linked_room.shape[0]) + local  # a customer in its first wave


def layout_of(problem: Problem) -> Layout:
    scenario = problem.scenario
    caps = tuple(scenario.channels[c].max_per_customer for c in problem.channel_ids)
    pairs = tuple((problem.offer_ids.index(a), problem.offer_ids.index(b)) for a, b in problem.exclusions)
    sign = np.array([1.0 if lim.sense == "<=" else -1.0 for lim in problem.limits])
    rhs = np.array([lim.rhs for lim in problem.limits], dtype=np.float64) * sign if problem.limits else np.zeros(0)
    max_c = int(problem.customers["max_contacts"].max()) if problem.n_customers else 0
    return Layout(
        n_offers=len(problem.offer_ids), n_channels=len(problem.channel_ids), max_contacts=max_c,
        channel_caps=caps, exclusions=pairs, names=tuple(lim.name for lim in problem.limits), sign=sign, rhs=rhs,
        dense=tuple(i for i, lim in enumerate(problem.limits) if lim.index is None),
        customer_capped=tuple(h for h, c in enumerate(problem.channel_ids) if c in problem.channel_caps),
        waves=len(problem.waves) if problem.linked else 1,
        linked_terms=tuple(rows.terms for rows in problem.linked),
    )


def _customer_caps(problem: Problem, layout: Layout) -> np.ndarray | None:
    """(customers x customer-capped channels) caps, int16 (a cap above max_contacts cannot bind)."""
    if not layout.customer_capped:
        return None
    top = max(layout.max_contacts, 0)
    return np.stack([np.minimum(problem.channel_caps[problem.channel_ids[h]], top) for h in layout.customer_capped], axis=1).astype(np.int16)


def _csr_by_limit(n: int, by_limit: list[tuple[np.ndarray, np.ndarray]]) -> sp.csr_matrix:
    """The (n x limits) CSR matrix from each limit's (rows, coefficients), rows distinct within a limit.

    The same matrix as scipy's COO -> CSR (each row's entries in limit order), filled by one
    compiled counting pass: scipy's conversion, and numpy's scatters, cost more than all the
    dual steps together at 1M customers.
    """
    if not by_limit:
        return sp.csr_matrix((n, 0))
    nnz = sum(rows.size for rows, _ in by_limit)
    index_type = np.int32 if nnz < np.iinfo(np.int32).max else np.int64
    rows = np.concatenate([r for r, _ in by_limit]).astype(np.int64, copy=False)
    limit = np.concatenate([np.full(r.size, i, index_type) for i, (r, _) in enumerate(by_limit)])
    data = np.concatenate([c for _, c in by_limit]).astype(np.float64, copy=False)
    indptr, indices, values = _fill_csr(n, rows, limit, data)
    return sp.csr_matrix((values, indices, indptr.astype(index_type)), shape=(n, len(by_limit)))


@numba.njit(cache=True)
def _fill_csr(n, rows, limit, data):  # pragma: no cover - compiled; tested against scipy's COO
    indptr = np.zeros(n + 1, np.int64)
    for r in rows:
        indptr[r + 1] += 1
    for r in range(n):
        indptr[r + 1] += indptr[r]
    fill = indptr[:-1].copy()
    indices = np.empty(rows.size, limit.dtype)
    values = np.empty(rows.size)
    for k in range(rows.size):
        at = fill[rows[k]]
        indices[at] = limit[k]
        values[at] = data[k]
        fill[rows[k]] += 1
    return indptr, indices, values


def _nonzero(sign: float, at: np.ndarray, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    coef = np.asarray(coef, dtype=np.float64)
    keep = coef != 0
    return at[keep], sign * coef[keep]


def coupling_matrix(problem: Problem, sign: np.ndarray) -> sp.csr_matrix:
    """The coupling coefficients in "<=" form as an (options x limits) CSR matrix; limits over
    every option (the layout's dense ones) have empty columns."""
    empty = (np.zeros(0, np.int64), np.zeros(0))
    return _csr_by_limit(problem.n_options, [
        empty if lim.index is None else _nonzero(sign[i], lim.index, lim.coef) for i, lim in enumerate(problem.limits)
    ])


def _range_coef(problem: Problem, sign: np.ndarray, lo: int, hi: int, perm: np.ndarray) -> sp.csr_matrix:
    """Rows ``lo + perm`` of :func:`coupling_matrix`, built from those options only (same bits, same layout).

    Needs every limit's ``index`` increasing, so a limit's entries in ``lo .. hi-1`` are one slice.
    """
    local = np.empty(hi - lo, np.int64)
    local[perm] = np.arange(hi - lo)  # table row - lo -> position in the shard
    by_limit = []
    for i, lim in enumerate(problem.limits):
        if lim.index is None:  # a dense column of the shard
            by_limit.append((np.zeros(0, np.int64), np.zeros(0)))
            continue
        a, b = np.searchsorted(lim.index, [lo, hi])
        at, coef = _nonzero(sign[i], lim.index[a:b] - lo, lim.coef[a:b])
        by_limit.append((local[at], coef))
    return _csr_by_limit(hi - lo, by_limit)


def _grouped(problem: Problem) -> bool:
    """Options grouped by customer in table order, and every limit's index increasing.

    Then a shard is one range of table rows, sorted on its own: no global sort, no global
    matrix. The generators (and most real extracts) give such tables.
    """
    c = problem.customer
    return bool(np.all(c[1:] >= c[:-1])) and all(lim.index is None or bool(np.all(lim.index[1:] > lim.index[:-1])) for lim in problem.limits)


def _range_shard(problem: Problem, sign: np.ndarray, first: int, last: int, limits_of: tuple[np.ndarray, np.ndarray],
                 caps: np.ndarray | None) -> Shard:
    """The shard of customers ``first .. last-1`` when their options are one range of table rows."""
    lo, hi = (int(v) for v in np.searchsorted(problem.customer, [first, last]))
    customer, offer, channel = problem.customer[lo:hi], problem.offer[lo:hi], problem.channel[lo:hi]
    key = (customer * len(problem.offer_ids) + offer) * len(problem.channel_ids) + channel
    perm, rows = np.arange(hi - lo), slice(lo, hi)
    net = problem.net_value[lo:hi].view()
    net.flags.writeable = False  # a view of the problem's net values: shards read them only
    dense = tuple(np.asarray(lim.coef[lo:hi], np.float64) for lim in problem.limits if lim.index is None)
    if not bool(np.all(key[1:] > key[:-1])):
        perm = np.lexsort((channel, offer, customer))
        customer, offer, channel, net, rows = customer[perm], offer[perm], channel[perm], net[perm], perm + lo
        dense = tuple(column[perm] for column in dense)
    min_c, max_c = limits_of
    return Shard(
        first=first, n_customers=last - first, customer=(customer - first).astype(np.int32),
        offer=offer.astype(np.int16, copy=False), channel=channel.astype(np.int16, copy=False), net=net,
        coef=_range_coef(problem, sign, lo, hi, perm), rows=rows,
        min_contacts=min_c[first:last], max_contacts=max_c[first:last], dense=dense,
        channel_caps=None if caps is None else caps[first:last],
    )


def _sorted_shards(problem: Problem, sign: np.ndarray, shard_customers: int, limits_of: tuple[np.ndarray, np.ndarray],
                   caps: np.ndarray | None, units: np.ndarray | None = None, room: np.ndarray | None = None) -> list[Shard]:
    """Shards of any table: one global sort by (customer, offer, channel) and the global matrix.

    With ``units`` (each option's (customer, wave) unit of a problem with linked rows) the sort
    is by unit, every per-customer array is per unit, and ``room`` (real customers x kinds) is
    cut with the shards; ``shard_customers`` is then a multiple of the number of waves.
    """
    unit = problem.customer if units is None else units
    order = np.lexsort((problem.channel, problem.offer, unit))
    customer = unit[order]
    coef = coupling_matrix(problem, sign)[order]
    net = np.asarray(problem.net_value, dtype=np.float64)[order]
    offer, channel = problem.offer[order].astype(np.int16), problem.channel[order].astype(np.int16)
    dense = [np.asarray(lim.coef, np.float64)[order] for lim in problem.limits if lim.index is None]
    min_c, max_c = limits_of
    shards = []
    n = problem.n_customers
    per_room = 1 if room is None else n // max(1, room.shape[0])  # units per real customer
    for first in range(0, max(n, 1), shard_customers):
        last = min(n, first + shard_customers)
        lo, hi = np.searchsorted(customer, [first, last])
        shards.append(
            Shard(
                first=first, n_customers=last - first, customer=(customer[lo:hi] - first).astype(np.int32),
                offer=offer[lo:hi], channel=channel[lo:hi], net=net[lo:hi], coef=coef[lo:hi],
                rows=order[lo:hi].astype(np.int64), min_contacts=min_c[first:last], max_contacts=max_c[first:last],
                dense=tuple(column[lo:hi] for column in dense), channel_caps=None if caps is None else caps[first:last],
                linked_room=None if room is None else room[first // per_room:last // per_room],
            )
        )
    return shards


def shards_of(problem: Problem, layout: Layout, shard_customers: int = DEFAULT_SHARD_CUSTOMERS) -> list[Shard]:
    """The problem's options cut into shards of ``shard_customers`` customers (the last may be smaller).

    Options grouped by customer (the usual case) are cut shard by shard, so memory grows by
    the shards alone; any other table goes through one global sort. Both give the same shards.
    """
    if shard_customers < 1:
        raise ValueError(f"shard_customers(={shard_customers}) must be >= 1")
    limits_of = (
        problem.customers["min_contacts"].to_numpy().astype(np.int16),
        problem.customers["max_contacts"].to_numpy().astype(np.int16),
    )
    caps = _customer_caps(problem, layout)
    if problem.linked:
        return _linked_shards(problem, layout, shard_customers, limits_of, caps)
    if not _grouped(problem):
        return _sorted_shards(problem, layout.sign, shard_customers, limits_of, caps)
    n = problem.n_customers
    return [
        _range_shard(problem, layout.sign, first, min(n, first + shard_customers), limits_of, caps)
        for first in range(0, max(n, 1), shard_customers)
    ]


def _linked_shards(problem: Problem, layout: Layout, shard_customers: int, limits_of: tuple[np.ndarray, np.ndarray],
                   caps: np.ndarray | None) -> list[Shard]:
    """Shards of a multi-wave problem tied by linked rows: a customer's waves side by side, in one shard.

    The problem's customer ``k * n + r`` (customer r in wave k) is unit ``r * W + k``, so that
    the walk meets a customer's waves one after the other.
    """
    W = layout.waves
    n = problem.n_customers // W
    joint = (np.arange(n * W) % W) * n + np.arange(n * W) // W  # unit -> the problem's customer
    units = (problem.customer % n) * W + problem.customer // n
    room = np.full((n, len(problem.linked)), UNLIMITED, np.int64)
    for ell, rows in enumerate(problem.linked):
        room[rows.owner % n, ell] = rows.rhs.astype(np.int64)
    per_unit = tuple(column[joint] for column in limits_of)
    return _sorted_shards(problem, layout.sign, max(1, shard_customers // W) * W, per_unit,  # type: ignore[arg-type]
                          None if caps is None else caps[joint], units, room)


# ---- the two tasks a dual step maps over shards (module level, so Dask can ship them) ----

_WALKS: dict[tuple, PatternDP] = {}


def walk_for(layout: Layout) -> PatternDP:
    key = (layout.n_offers, layout.n_channels, layout.max_contacts, layout.channel_caps, layout.exclusions, layout.customer_capped,
           layout.counted)
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
    regret: np.ndarray  # float32 per shard option (in shard order): cost of forcing it in or out


def _summarise(shard: Shard, sol: PatternSolution) -> StepResult:
    stuck = np.flatnonzero(sol.stuck)
    return StepResult(
        value=sol.value, usage=sol.usage, objective=sol.objective, n_stuck=int(stuck.size),
        first_stuck=shard.problem_customer(int(stuck[0])) if stuck.size else -1,
    )


def step_task(shard: Shard, layout: Layout, multipliers: np.ndarray) -> StepResult:
    return _summarise(shard, shard.patterns(layout, multipliers))


def choice_task(shard: Shard, layout: Layout, multipliers: np.ndarray) -> np.ndarray:
    """The problem rows of every customer's best set at ``multipliers``."""
    return shard.table_rows(np.flatnonzero(shard.patterns(layout, multipliers).chosen))


def final_task(shard: Shard, layout: Layout, multipliers: np.ndarray) -> FinalResult:
    sol = shard.patterns(layout, multipliers, second=True)
    return FinalResult(
        _summarise(shard, sol), sol.best, sol.second, shard.table_rows(np.flatnonzero(sol.chosen)), sol.regret.astype(np.float32)
    )
