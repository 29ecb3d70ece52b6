r"""The offer-allocation integer program, as one sparse matrix shared by every backend.

Notation: options j = (customer c(j), offer o(j), channel h(j)) with acceptance probability
p_j, value v_j, contact cost k_j and offer cost f_j. Expected spend s_j = k_j + p_j f_j,
expected return r_j = p_j v_j, net value n_j = r_j - s_j. x_j = 1 when option j is chosen.

    maximise    sum_j n_j x_j                                                   (OBJ)

  per customer (many small rows, one block per customer):
    min_c <= sum_{j: c(j)=c} x_j <= max_c                        for each customer c   (CONTACTS)
    sum_{j: c(j)=c, o(j)=o} x_j <= 1                             for each (c, o)       (ONE-PER-OFFER)
    sum_{j: c(j)=c, o(j) in {a, b}} x_j <= 1                     for each (c, a, b) excluded pair  (EXCLUSION)
    sum_{j: c(j)=c, h(j)=h} x_j <= cap_ch                        for each (c, h) with a per-customer cap  (CHANNEL-POLICY)

  coupling (few rows that tie customers together; their LP duals are the shadow prices):
    sum_j s_j x_j <= B                                                                  (BUDGET)
    sum_j (r_j - (1 + rho) s_j) x_j >= 0                                                (ROI)
    sum_{j: h(j)=h} x_j <= K_h                                   for each channel h     (CAPACITY)
    sum_{j: o(j)=o} x_j <= U_o,  >= L_o                          for each offer o       (OFFER-TARGETS)
    sum_{j: o(j)=o} s_j x_j <= B_o                                                      (OFFER-BUDGET)
    sum_{j: o(j)=o} (r_j - (1 + rho_o) s_j) x_j >= 0                                    (OFFER-ROI)
    sum_{j in F} m_j x_j <= / >= b                               for each rule (filter F, measure m)  (RULE)
    sum_j m_j ([j in F] - sigma) x_j <= / >= 0                   for each share rule    (SHARE)
    BUDGET, ROI, CAPACITY, OFFER-* again with j restricted to q(j) = q    for each campaign q  (CAMPAIGN)

    x_j in {0, 1}

ROI and share rows are ratios multiplied out, so x = 0 satisfies them: with no row that
forces a contact (min_contacts, min_targets, a rule's min) the empty plan is always feasible,
and a scenario whose only limits are ratios can legitimately return it.

Rolling contact windows over the contact history (optimizer.contact_windows) need no row
kind of their own: they remove options, lower max_c, or give cap_ch per customer. In a
multi-wave plan a customer c above is a customer in one wave, and windows spanning waves add

    sum_{j in W(c, w, b)} x_j <= room_cwb                     per customer, window, anchor wave  (LINKED)

over the customer's counted options in the waves of window w's span ending on wave b's date.

A row of the per-customer block is written only when it can bind (a customer with two
options and max_contacts 3 needs no CONTACTS row), which keeps the matrix close to one
nonzero per option per row kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .errors import InputError
from .problem import Problem

__all__ = ["MatrixModel", "RowBlock", "build_model"]


@dataclass(frozen=True)
class RowBlock:
    """A contiguous run of rows of one kind; ``owner[k]`` is the customer of row start+k."""

    kind: str
    start: int
    stop: int
    owner: np.ndarray


@dataclass(frozen=True, eq=False)
class MatrixModel:
    """``max objective @ x  s.t.  row_lower <= matrix @ x <= row_upper,  col_lower <= x <= col_upper``.

    Columns flagged in ``integer`` are integral (the options: binary); the others are
    continuous (the slacks of the infeasibility diagnosis). Rows ``0 .. n_coupling-1`` are
    ``problem.limits`` in order; the per-customer blocks follow.
    """

    objective: np.ndarray
    matrix: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    n_coupling: int
    blocks: tuple[RowBlock, ...]

    @property
    def n_cols(self) -> int:
        return self.matrix.shape[1]

    @property
    def n_rows(self) -> int:
        return self.matrix.shape[0]


def _group_rows(keys: np.ndarray, members: np.ndarray, needed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row index per member for the groups whose ``needed`` flag is set; returns (rows, cols, group ids)."""
    group_ids = np.flatnonzero(needed)
    row_of_group = np.full(needed.size, -1, dtype=np.int64)
    row_of_group[group_ids] = np.arange(group_ids.size)
    rows = row_of_group[keys]
    keep = rows >= 0
    return rows[keep], members[keep], group_ids


def _check_finite(what: str, values: np.ndarray) -> None:
    """No NaN or infinity may reach a solver: HiGHS given a NaN coefficient ran for minutes past
    its time limit. The table and scenario checks should make this unreachable; this is the guard."""
    bad = ~np.isfinite(values)
    if bad.any():
        raise InputError(f"{what} holds {values[np.flatnonzero(bad)[0]]} where a finite number is needed; check the inputs it is built from")


def build_model(problem: Problem) -> MatrixModel:
    n = problem.n_options
    inf = np.inf
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lower: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    blocks: list[RowBlock] = []
    next_row = 0

    def add(kind: str, r: np.ndarray, c: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray, owner: np.ndarray) -> None:
        nonlocal next_row
        rows.append(r + next_row)
        cols.append(c)
        vals.append(v)
        lower.append(lo)
        upper.append(hi)
        if kind != "coupling":
            blocks.append(RowBlock(kind, next_row, next_row + lo.size, owner))
        next_row += lo.size

    # (BUDGET) (ROI) (CAPACITY) (OFFER-*) (RULE) (SHARE): one row per coupling limit
    for k, limit in enumerate(problem.limits):
        idx = np.arange(n) if limit.index is None else limit.index
        _check_finite(f"limit {limit.name!r}", np.append(limit.coef, limit.rhs))
        lo = np.array([limit.rhs if limit.sense == ">=" else -inf])
        hi = np.array([limit.rhs if limit.sense == "<=" else inf])
        add("coupling", np.zeros(idx.size, np.int64), idx, limit.coef.astype(np.float64), lo, hi, np.array([-1]))
    n_coupling = next_row
    members = np.arange(n)
    customer = problem.customer
    n_cust = problem.n_customers
    max_c = problem.customers["max_contacts"].to_numpy()
    min_c = problem.customers["min_contacts"].to_numpy()

    # (CONTACTS): written when the cap is below the customer's option count, or a minimum exists
    count = np.bincount(customer, minlength=n_cust)
    needed = (max_c < count) | (min_c > 0)
    r, c, ids = _group_rows(customer, members, needed)
    add("contacts", r, c, np.ones(c.size), min_c[ids].astype(float), max_c[ids].astype(float), ids)

    # (ONE-PER-OFFER): only where a customer has the same offer through several channels
    n_offers = len(problem.offer_ids)
    key = customer * n_offers + problem.offer
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    r, c, ids = _group_rows(inverse, members, counts > 1)
    add("one_per_offer", r, c, np.ones(c.size), np.full(ids.size, -inf), np.ones(ids.size), uniq[ids] // n_offers)

    # (EXCLUSION): one row per customer holding both offers of an excluded pair
    for a_id, b_id in problem.exclusions:
        a, b = problem.offer_ids.index(a_id), problem.offer_ids.index(b_id)
        in_pair = (problem.offer == a) | (problem.offer == b)
        has_a = np.bincount(customer[problem.offer == a], minlength=n_cust) > 0
        has_b = np.bincount(customer[problem.offer == b], minlength=n_cust) > 0
        both = has_a & has_b
        r, c, ids = _group_rows(customer[in_pair], members[in_pair], both)
        add(f"exclusion:{a_id}+{b_id}", r, c, np.ones(c.size), np.full(ids.size, -inf), np.ones(ids.size), ids)

    # (CHANNEL-POLICY): per-customer cap on one channel, where it can bind; a contact window over
    # the channel gives each customer a cap of its own (problem.channel_caps)
    for h, channel_id in enumerate(problem.channel_ids):
        cap = problem.scenario.channels[channel_id].max_per_customer
        caps = problem.channel_caps.get(channel_id)
        if cap is None and caps is None:
            continue
        on_h = problem.channel == h
        per_customer = np.bincount(customer[on_h], minlength=n_cust)
        bound = np.full(n_cust, cap, np.int64) if caps is None else caps.astype(np.int64)
        r, c, ids = _group_rows(customer[on_h], members[on_h], per_customer > bound)
        add(f"channel_policy:{channel_id}", r, c, np.ones(c.size), np.full(ids.size, -inf), bound[ids].astype(float), ids)

    # (LINKED): windows and sequences across the waves of a multi-wave plan (optimizer.waves)
    for linked in problem.linked:
        add(linked.kind, linked.row, linked.option, np.ones(linked.option.size), np.full(linked.rhs.size, -inf), linked.rhs, linked.owner)

    row_lower = np.concatenate(lower) if lower else np.zeros(0)
    row_upper = np.concatenate(upper) if upper else np.zeros(0)
    # a per-customer row is bounded above (a cap); only CONTACTS rows have a lower bound too
    below = row_lower[n_coupling:]
    _check_finite("a per-customer limit", np.concatenate([row_upper[n_coupling:], below[below != -inf]]))
    _check_finite("the objective (net value per option)", problem.net_value)
    matrix = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(next_row, n)
    )
    return MatrixModel(
        objective=problem.net_value.astype(np.float64),
        matrix=matrix,
        row_lower=row_lower,
        row_upper=row_upper,
        col_lower=np.zeros(n),
        col_upper=np.ones(n),
        integer=np.ones(n, dtype=bool),
        n_coupling=n_coupling,
        blocks=tuple(blocks),
    )
