r"""Primal recovery: fix the settled customers, solve the rest exactly, repair if need be.

Why fixing is safe. For any feasible plan x and multipliers lambda >= 0,

    value(x) = L(lambda) - sum_c loss_c(x) - lambda . (b - A x)  <=  L(lambda) - sum_c loss_c(x),

where loss_c(x) >= 0 is what customer c's set in x gives up against c's best set under lambda.
A customer whose *margin* (best minus second-best set) exceeds G = L(lambda) - value(P) of a
plan P we already hold therefore takes its best set in every plan better than P. Fixing all
such customers and solving the remaining few exactly (HiGHS on the same model as exact mode,
limits reduced by what the fixed customers use) returns a plan that is optimal overall, not
merely good. When the remainder would be too large the smallest margins are kept and the
plan comes back with its certified gap against L(lambda).

Repair. If the remainder has no feasible completion it is enlarged; if even the largest
remainder fails, options are dropped greedily (least net value lost per unit of violation
removed) until every "<=" limit holds, and a plan that still breaks a limit is not returned.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from ..model import build_model
from ..problem import CouplingLimit, Problem
from ..solvers import get_backend
from ..solvers.base import RawStatus, SolveOptions

__all__ = ["Recovery", "recover"]


@dataclass
class Recovery:
    chosen: np.ndarray | None  # int8 per option, None when no feasible plan was found
    remainder_customers: int
    proven: bool  # every customer with margin <= L - value was in the exactly solved remainder
    rounds: int
    message: str


def _usage(problem: Problem, x: np.ndarray) -> np.ndarray:
    return np.array([lim.usage(x) for lim in problem.limits], dtype=np.float64)


def violations(problem: Problem, x: np.ndarray, tol: float = 1e-9) -> list[str]:
    out = []
    for lim, u in zip(problem.limits, _usage(problem, x)):
        slack = tol * max(1.0, abs(lim.rhs))
        if (lim.sense == "<=" and u > lim.rhs + slack) or (lim.sense == ">=" and u < lim.rhs - slack):
            out.append(lim.name)
    return out


def sub_problem(problem: Problem, customers: np.ndarray, fixed: np.ndarray) -> tuple[Problem, np.ndarray]:
    """The problem restricted to ``customers``, limits reduced by what the ``fixed`` options (0/1) use."""
    in_sub = np.zeros(problem.n_customers, bool)
    in_sub[customers] = True
    opt_in = in_sub[problem.customer]
    rows = np.flatnonzero(opt_in)
    position = np.full(problem.n_options, -1, np.int64)
    position[rows] = np.arange(rows.size)
    cust_rows = np.flatnonzero(in_sub)
    cust_pos = np.full(problem.n_customers, -1, np.int64)
    cust_pos[cust_rows] = np.arange(cust_rows.size)
    limits = []
    for lim in problem.limits:
        used = lim.usage(fixed)
        if lim.index is None:
            coef, index = lim.coef[rows], None
        else:
            keep = opt_in[lim.index]
            coef, index = lim.coef[keep], position[lim.index[keep]]
        limits.append(dataclasses.replace(lim, rhs=float(lim.rhs - used), coef=coef, index=index))
    sub = dataclasses.replace(
        problem,
        options=problem.options.iloc[rows].reset_index(drop=True),
        customers=problem.customers.iloc[cust_rows].reset_index(drop=True),
        customer=cust_pos[problem.customer[rows]],
        offer=problem.offer[rows],
        channel=problem.channel[rows],
        spend=problem.spend[rows],
        expected_return=problem.expected_return[rows],
        net_value=problem.net_value[rows],
        limits=tuple(limits),
    )
    return sub, rows


def _greedy_repair(problem: Problem, x: np.ndarray, max_passes: int = 60) -> np.ndarray:
    """Drop chosen options, least net value lost per unit of violation removed, until the limits hold.

    Vectorised per violated limit: one sort, one cumulative sum. Dropping only helps limits
    that dropping can fix ("<=" rows, and ratio rows where the dropped option pulls the ratio
    down); a plan that still breaks a limit is returned as is and rejected by the caller.
    """
    x = x.copy()
    min_c = problem.customers["min_contacts"].to_numpy()
    for _ in range(max_passes):
        usage = _usage(problem, x)
        worst, amount = None, 0.0
        for i, lim in enumerate(problem.limits):
            over = (usage[i] - lim.rhs) if lim.sense == "<=" else (lim.rhs - usage[i])
            if over > 1e-9 * max(1.0, abs(lim.rhs)) and over / max(1.0, abs(lim.rhs)) > amount:
                worst, amount = i, over / max(1.0, abs(lim.rhs))
        if worst is None:
            return x
        lim = problem.limits[worst]
        over = (usage[worst] - lim.rhs) if lim.sense == "<=" else (lim.rhs - usage[worst])
        idx = np.arange(problem.n_options) if lim.index is None else lim.index
        coef = lim.coef if lim.sense == "<=" else -lim.coef
        counts = np.bincount(problem.customer[x > 0], minlength=problem.n_customers)
        ok = (x[idx] > 0) & (coef > 0) & (counts[problem.customer[idx]] > min_c[problem.customer[idx]])
        cand, gain = idx[ok], coef[ok]
        if cand.size == 0:
            return x
        order = np.argsort(np.maximum(problem.net_value[cand], 0.0) / gain, kind="stable")
        upto = int(np.searchsorted(np.cumsum(gain[order]), over * (1 + 1e-9))) + 1
        # one option per customer per pass keeps min_contacts intact
        drop = cand[order[:upto]]
        _, first = np.unique(problem.customer[drop], return_index=True)
        x[drop[np.sort(first)]] = 0
    return x


def _helps_by_dropping(lim: CouplingLimit) -> bool:
    return lim.sense == "<=" or lim.kind in ("roi", "offer_roi", "rule_share")


def recover(
    problem: Problem,
    best_rows: np.ndarray,
    margin: np.ndarray,
    bound: float,
    *,
    gap: float,
    deadline: float | None,
    max_remainder: int = 3_000,
    sub_time_limit: float = 20.0,
    first_remainder: int | None = None,
    seed: int = 0,
) -> Recovery:
    """A feasible plan from every customer's best set under the final multipliers (``best_rows``)."""
    base = np.zeros(problem.n_options, np.int8)
    base[best_rows] = 1
    order = np.argsort(margin, kind="stable")
    n = problem.n_customers
    backend = get_backend("highs")
    chosen: np.ndarray | None = None
    value = -np.inf
    start = base if not violations(problem, base) else _greedy_repair(problem, base)
    if not violations(problem, start):
        chosen, value = start, float(problem.net_value @ start)
    size = first_remainder if first_remainder is not None else max(100, 20 * len(problem.limits))
    rounds, proven, solved_size, message, sub_optimal = 0, False, 0, "", False
    while True:
        if chosen is not None:
            threshold = bound - value
            need = int(np.searchsorted(margin[order], threshold, side="right"))
            if need <= solved_size and rounds:
                proven = sub_optimal
                break
            if threshold <= gap * max(1.0, abs(value)):
                break  # certified within the requested gap: nothing left to prove
            if rounds:  # the first round stays small: it mostly improves the plan, shrinking `need`
                size = need
        size = min(size, n, max_remainder)
        if rounds and size <= solved_size:
            break
        if deadline is not None and time.perf_counter() > deadline and chosen is not None:
            message = "time limit reached during recovery"
            break
        rounds += 1
        customers = np.sort(order[:size])
        in_sub = np.zeros(n, bool)
        in_sub[customers] = True
        # the remainder is re-solved from scratch; everyone else keeps the current plan
        current = chosen if chosen is not None else base
        fixed = current * (~in_sub[problem.customer])
        sub, rows = sub_problem(problem, customers, fixed)
        left = sub_time_limit if deadline is None else max(1.0, min(sub_time_limit, deadline - time.perf_counter()))
        # the remainder's share of the allowed absolute gap, relative to its own (smaller) value
        sub_gap = float(np.clip(0.2 * gap * n / max(1, size), 1e-9, 1e-3))
        raw = backend.solve_mip(build_model(sub), SolveOptions(time_limit=left, mip_gap=sub_gap, seed=seed))
        solved_size = size
        sub_optimal = raw.status is RawStatus.OPTIMAL
        if raw.x is not None:
            x = fixed.copy()
            x[rows] = (raw.x > 0.5).astype(np.int8)
            v = float(problem.net_value @ x)
            if not violations(problem, x) and v > value:
                chosen, value = x, v
            if raw.status is not RawStatus.OPTIMAL:
                message = f"remainder of {size} customers stopped {raw.status.value}"
        elif raw.status is RawStatus.INFEASIBLE:
            if size >= min(n, max_remainder):
                break
            size = size * 4
            continue
        else:
            message = f"remainder of {size} customers: {raw.message or raw.status.value}"
            break
        if size >= min(n, max_remainder):
            proven = sub_optimal and chosen is not None and int(np.searchsorted(margin[order], bound - value, side="right")) <= size
            break
    if chosen is None:
        repaired = _greedy_repair(problem, base)
        if not violations(problem, repaired):
            chosen = repaired
            message = (message + "; " if message else "") + "greedy repair"
        else:
            message = (message + "; " if message else "") + "no feasible completion found for the largest remainder"
    return Recovery(chosen, solved_size, proven, rounds, message)
