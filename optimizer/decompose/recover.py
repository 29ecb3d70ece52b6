r"""Primal recovery: fix the settled customers, solve the rest exactly, repair if need be.

Why fixing is safe. For any feasible plan x and multipliers lambda >= 0,

    value(x) = L(lambda) - sum_c loss_c(x) - lambda . (b - A x)  <=  L(lambda) - sum_c loss_c(x),

where loss_c(x) >= 0 is what customer c's set in x gives up against c's best set under lambda.
A customer whose *margin* (best minus second-best set) exceeds G = L(lambda) - value(P) of a
plan P we already hold therefore takes its best set in every plan better than P. When every
customer with margin <= G was free in a remainder solved exactly (HiGHS on the same model as
exact mode, limits reduced by what the fixed customers use), no better plan exists.

Which customers to free. At scale most customers have tiny margins (an SMS worth a few
fen either way), and freeing them moves no limit. What a plan needs is the few customers
whose change of set brings each binding limit to its right-hand side at the least cost: the
smallest *regret per unit of the limit* (the cost of forcing an option in or out, from a
backward walk of :mod:`.subproblem`), which is what a reduced cost is in the LP. The
remainder is those, per binding limit, plus the smallest margins; it grows until the plan is
within the gap of L(lambda).

Where many customers are alike (the same options in every wave of a multi-wave plan) they
change their sets together at the same prices, and the best sets at the final multipliers
miss a limit by more than a remainder can move; the others then keep a *blended* plan
instead, each customer's best set at one of the dual's last steps in proportion to the steps'
weights (solve._blend), which is near the LP optimum.

Repair. Only when the remainder has no feasible completion with everyone else at their best
sets are the others held at a greedily repaired plan instead (options dropped, least net
value lost per unit of violation removed); a plan that breaks a limit is never returned.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass

import numpy as np

from ..model import build_model
from ..problem import Problem
from ..solvers import get_backend
from ..solvers.base import RawSolution, RawStatus, SolveOptions

__all__ = ["Recovery", "recover"]

log = logging.getLogger(__name__)


@dataclass
class Recovery:
    chosen: np.ndarray | None  # int8 per option, None when no feasible plan was found
    remainder_customers: int
    proven: bool  # every customer with margin <= L - value was in the exactly solved remainder
    rounds: int
    message: str


def plan_usage(problem: Problem, x: np.ndarray) -> np.ndarray:
    """Each limit's left-hand side for a 0/1 plan ``x`` (int8), summed over the chosen options only.

    ``CouplingLimit.usage`` would cast the plan to float64 for every limit: 0.7 GB at 10M
    customers, where the chosen options are a tenth of that.
    """
    chosen = x.view(bool)
    return np.array([lim.coef[chosen if lim.index is None else chosen[lim.index]].sum() for lim in problem.limits],
                    dtype=np.float64)


def violations(problem: Problem, x: np.ndarray, tol: float = 1e-9) -> list[str]:
    out = []
    for lim, u in zip(problem.limits, plan_usage(problem, x)):
        slack = tol * max(1.0, abs(lim.rhs))
        if (lim.sense == "<=" and u > lim.rhs + slack) or (lim.sense == ">=" and u < lim.rhs - slack):
            out.append(lim.name)
    return out


def sub_problem(problem: Problem, customers: np.ndarray, outside: np.ndarray) -> tuple[Problem, np.ndarray, np.ndarray]:
    """The problem restricted to ``customers``, with everyone else held at the plan ``outside`` (0/1).

    Returns the sub-problem (limits reduced by what the others use), its options' rows in the
    problem, and the plan of the others (``outside`` with the remainder's options cleared).
    """
    in_sub = np.zeros(problem.n_customers, bool)
    in_sub[customers] = True
    opt_in = in_sub[problem.customer]
    rows = np.flatnonzero(opt_in)
    cust_rows = np.flatnonzero(in_sub)
    fixed = outside.copy()
    fixed[rows] = 0
    # positions in the remainder by binary search: no position table over every option
    limits = []
    linked = []
    for rows_of in problem.linked:  # a customer's waves are all in the remainder or all out of it
        keep_row = in_sub[rows_of.owner]
        entry = keep_row[rows_of.row]
        renumber = np.cumsum(keep_row) - 1
        linked.append(dataclasses.replace(rows_of, row=renumber[rows_of.row[entry]], option=np.searchsorted(rows, rows_of.option[entry]),
                                          rhs=rows_of.rhs[keep_row], owner=np.searchsorted(cust_rows, rows_of.owner[keep_row])))
    for lim, used in zip(problem.limits, plan_usage(problem, fixed)):
        if lim.index is None:
            coef, index = lim.coef[rows], None
        else:
            keep = opt_in[lim.index]
            coef, index = lim.coef[keep], np.searchsorted(rows, lim.index[keep])
        limits.append(dataclasses.replace(lim, rhs=float(lim.rhs - used), coef=coef, index=index))
    sub = dataclasses.replace(
        problem,
        options=problem.options.iloc[rows].reset_index(drop=True),
        customers=problem.customers.iloc[cust_rows].reset_index(drop=True),
        customer=np.searchsorted(cust_rows, problem.customer[rows]),
        offer=problem.offer[rows],
        channel=problem.channel[rows],
        spend=problem.spend[rows],
        expected_return=problem.expected_return[rows],
        net_value=problem.net_value[rows],
        limits=tuple(limits),
        channel_caps={channel: caps[cust_rows] for channel, caps in problem.channel_caps.items()},
        linked=tuple(linked),
    )
    return sub, rows, fixed


def _greedy_repair(problem: Problem, x: np.ndarray, max_passes: int = 60) -> np.ndarray:
    """Drop chosen options, least net value lost per unit of violation removed, until the limits hold.

    Vectorised per violated limit: one sort, one cumulative sum. Dropping only helps limits
    that dropping can fix ("<=" rows, and ratio rows where the dropped option pulls the ratio
    down); a plan that still breaks a limit is returned as is and rejected by the caller.
    """
    x = x.copy()
    min_c = problem.customers["min_contacts"].to_numpy()
    for _ in range(max_passes):
        usage = plan_usage(problem, x)
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


def _solve_remainder(
    problem: Problem, customers: np.ndarray, outside: np.ndarray, backend, allowed: float,  # type: ignore[no-untyped-def]
    deadline: float | None, sub_time_limit: float, seed: int, enough: float,
) -> tuple[np.ndarray | None, RawSolution]:
    """The MIP over ``customers`` with everyone else fixed at ``outside``, to an absolute gap of
    ``allowed`` yuan, or until the whole plan is worth ``enough`` (within the requested gap of
    the Lagrangian bound: proving the remainder's own optimum adds nothing then); the whole
    plan, or None."""
    sub, rows, fixed = sub_problem(problem, customers, outside)
    left = sub_time_limit if deadline is None else max(1.0, min(sub_time_limit, deadline - time.perf_counter()))
    # relative to the remainder's own (much smaller) value
    own = abs(float(problem.net_value[rows] @ outside[rows]))
    sub_gap = float(np.clip(allowed / max(1.0, own), 1e-9, 1e-2))
    stop_at = enough - float(problem.net_value @ fixed)
    raw = backend.solve_mip(build_model(sub), SolveOptions(time_limit=left, mip_gap=sub_gap, seed=seed, stop_at=stop_at))
    if raw.x is None:
        return None, raw
    x = fixed.copy()
    x[rows] = (raw.x > 0.5).astype(np.int8)
    return x, raw


def remainder_customers(
    problem: Problem, by_margin: np.ndarray, regret: np.ndarray, shortfall: dict[int, float], size: int
) -> np.ndarray:
    """At least ``size`` customers whose choice is least settled, for the limits that need moving.

    A binding limit is brought to its right-hand side by customers who change their set, and
    the cheap changes are those with a small regret per unit of the limit moved:
    regret_j / |a_ij| over the limit's options, unchosen ones (forced in) and chosen ones
    (forced out) alike, the analogue of a reduced cost in the LP. Each limit in ``shortfall``
    (limit -> how far the best sets are from its right-hand side) gets an equal share of
    ``size``, and more if the cheapest moves of that share cannot cover four times its
    shortfall; the customers with the smallest margins (near-ties, where the LP would be
    fractional; ``by_margin`` lists the customers in that order) take another share.
    """
    n = problem.n_customers
    if size >= n:
        return np.arange(n)
    share = max(1, size // (len(shortfall) + 1))
    picked = [by_margin[:share]]
    for i, short in shortfall.items():
        lim = problem.limits[i]
        # float32 and no index arrays over every option: at 10M customers a limit over all
        # options is 93M entries, and this ranking is only a choice of whom to free
        per_unit = np.abs(lim.coef).astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(regret if lim.index is None else regret[lim.index], per_unit, out=per_unit)
        per_unit[np.isnan(per_unit)] = np.inf  # no move (a zero coefficient, or one that cannot be made)
        k = min(per_unit.size, 4 * share)  # the cheapest k moves; several may belong to one customer
        while True:
            threshold = np.partition(per_unit, k - 1)[k - 1] if 0 < k < per_unit.size else np.inf
            top = np.flatnonzero(per_unit <= threshold)
            top = top[np.argsort(per_unit[top], kind="stable")]
            at = top if lim.index is None else lim.index[top]
            who = problem.customer[at]
            _, first = np.unique(who, return_index=True)
            first = np.sort(first)
            covered = np.cumsum(np.abs(lim.coef[top][first]))
            enough = max(share, int(np.searchsorted(covered, 4.0 * short)) + 1)
            if enough <= first.size or k == per_unit.size:
                break
            k = min(per_unit.size, 2 * k)
        picked.append(who[first[:enough]])
    chosen = np.unique(np.concatenate(picked))
    if chosen.size < size:  # shares overlapped: fill up with the next smallest margins
        rest = np.setdiff1d(by_margin[: size + chosen.size], chosen)
        chosen = np.union1d(chosen, rest[: size - chosen.size])
    if problem.linked:  # linked rows tie a customer's waves: free all of them or none
        real = problem.n_customers // len(problem.waves)
        chosen = np.unique((chosen % real)[None, :] + real * np.arange(len(problem.waves))[:, None])
    return chosen


def recover(
    problem: Problem,
    best_rows: np.ndarray,
    margin: np.ndarray,
    regret: np.ndarray,
    multipliers: np.ndarray,
    bound: float,
    *,
    gap: float,
    deadline: float | None,
    first_remainder: int | None = None,
    max_remainder: int = 20_000,
    sub_time_limit: float = 30.0,
    seed: int = 0,
    blended: np.ndarray | None = None,
) -> Recovery:
    """A feasible plan from every customer's best set under the final multipliers (``best_rows``).

    ``blended`` (a 0/1 plan, from the dual's steps: solve._blend), where it breaks the limits
    by less than the best sets do, takes their place as the plan the others keep; the proof
    by fixing then needs a remainder solved with the others at their best sets, so it is not made.

    Rounds: solve a remainder exactly with everyone else fixed at their best sets (or the
    blended plan); stop when
    the plan is within ``gap`` of ``bound``, or when every customer who could still improve it
    (margin <= bound - value) was in an exactly solved remainder; else a remainder four times
    larger, up to ``max_remainder`` customers.
    """
    base = np.zeros(problem.n_options, np.int8)
    base[best_rows] = 1
    n = problem.n_customers
    backend = get_backend("highs")
    chosen: np.ndarray | None = None
    value = -np.inf
    rhs = np.array([lim.rhs for lim in problem.limits])
    sign = np.array([1.0 if lim.sense == "<=" else -1.0 for lim in problem.limits])

    def broken(x: np.ndarray) -> float:  # how far x breaks the limits, relative to each one's size
        return float(np.sum(np.maximum(0.0, sign * (plan_usage(problem, x) - rhs)) / np.maximum(1.0, np.abs(rhs))))

    for candidate in (base, blended):
        if candidate is not None and not violations(problem, candidate) and float(problem.net_value @ candidate) > value:
            chosen, value = candidate, float(problem.net_value @ candidate)
    start = blended if blended is not None and broken(blended) < broken(base) else base
    size = min(n, max_remainder, first_remainder if first_remainder is not None else 100 + 40 * len(problem.limits))
    order = np.argsort(margin, kind="stable")
    by_margin = margin[order]
    # limits that a plan must bring to their right-hand side: priced, or broken by the plan the others keep
    off = rhs - plan_usage(problem, start)
    shortfall = {i: abs(float(off[i])) for i in range(len(problem.limits)) if multipliers[i] > 0 or sign[i] * off[i] < 0}
    allowed = 0.2 * gap * max(1.0, abs(bound))  # the remainder's share of the gap, in yuan
    enough = bound - 0.9 * gap * max(1.0, abs(bound))  # a plan worth this is within the gap: stop there
    rounds, proven, solved, message = 0, False, 0, ""
    while True:
        if chosen is not None and bound - value <= gap * max(1.0, abs(value)):
            break  # certified within the requested gap
        if deadline is not None and time.perf_counter() > deadline and chosen is not None:
            message = "time limit reached during recovery"
            break
        rounds += 1
        customers = remainder_customers(problem, order, regret, shortfall, size)
        solved = customers.size
        # everyone else keeps their best set (or the blended plan); only if that leaves the
        # remainder no feasible completion do they keep the plan we hold instead
        outside = start
        x, raw = _solve_remainder(problem, customers, outside, backend, allowed, deadline, sub_time_limit, seed, enough)
        if x is None and raw.status is RawStatus.INFEASIBLE:
            outside = chosen if chosen is not None else _greedy_repair(problem, start)
            x, raw = _solve_remainder(problem, customers, outside, backend, allowed, deadline, sub_time_limit, seed, enough)
        if x is not None:
            v = float(problem.net_value @ x)
            if not violations(problem, x) and v > value:
                chosen, value = x, v
            log.debug("remainder %d customers: %s in %.2fs, plan %.4f, bound %.4f", customers.size, raw.status.value,
                      raw.runtime, value, bound)
            if raw.status is not RawStatus.OPTIMAL and value < enough:  # (stopped at ``enough``: nothing to say)
                message = f"remainder of {customers.size} customers stopped {raw.status.value}"
            # the others at their best sets and every customer who could take part in a better
            # plan free: no better plan exists
            if raw.status is RawStatus.OPTIMAL and outside is base and chosen is not None:
                could = int(np.searchsorted(by_margin, bound - value, side="right"))
                proven = could <= np.count_nonzero(margin[customers] <= bound - value)
        elif raw.status is not RawStatus.INFEASIBLE:
            message = f"remainder of {customers.size} customers: {raw.message or raw.status.value}"
            break
        if proven or size >= min(n, max_remainder):
            break
        size = min(n, max_remainder, size * 4)
    if chosen is None:
        repaired = _greedy_repair(problem, start)
        if not violations(problem, repaired):
            chosen = repaired
            message = (message + "; " if message else "") + "greedy repair"
        else:
            message = (message + "; " if message else "") + "no feasible completion found for the largest remainder"
    return Recovery(chosen, solved, proven, rounds, message)
