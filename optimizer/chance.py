"""A budget that holds with a stated probability, as a sequence of safe linear budgets.

``budget: {amount: B, confidence: c}`` asks for the best plan whose *realised* spend stays
within ``B`` with probability at least ``c``. Realised spend is a sum of independent terms
(contact cost always, offer cost on acceptance, :mod:`optimizer.risk`), with mean
``m.x`` and variance ``v.x`` (``v_j = offer_cost_j^2 p_j (1 - p_j)``; ``x`` is 0/1, so
``x^2 = x``). The constraint we impose is

    m.x + w sqrt(v.x) <= B

where ``w`` is the larger of the normal quantile ``z_c`` and the Cornish-Fisher multiplier
of the plan (the skewness and kurtosis corrections of :func:`optimizer.risk.quantile`), so
that the plan's Cornish-Fisher ``c``-quantile of spend is within ``B``.

``sqrt`` is concave, so its tangent at any ``V0 > 0`` lies above it:
``sqrt(V) <= (V + V0) / (2 sqrt(V0))``. Replacing the root by the tangent gives the linear
limit ``sum (m_j + a v_j) x_j <= B - w sqrt(V0) / 2`` with ``a = w / (2 sqrt(V0))``: every
plan that meets it meets the square-root constraint (the reformulation is *safe*), and it is
one more budget row, so exact mode and decomposition mode solve it unchanged. The tangent
is taken at the plan of the previous round (the first round is the expected-spend plan) and
re-solved until the variance settles (Ben-Tal and Nemirovski's successive linearisation of a
second-order-cone constraint, "Lectures on Modern Convex Optimization", SIAM 2001, ch. 3).

What is exact and what is conservative:
- mean and variance of the spend are exact under the model's assumption (independent
  Bernoulli acceptances with the stated ``p_accept``);
- the ``c``-quantile is the Cornish-Fisher expansion to the fourth cumulant: an
  approximation, checked against Monte Carlo in the tests;
- the tangent makes the returned plan feasible for the square-root constraint; it may miss
  a better plan that the exact (non-linear) chance constraint would allow. The expected-spend
  plan's bound is an upper bound on that exact optimum, reported as ``relaxation_bound``;
  the true chance-constrained optimum lies between the plan's objective and it.
The shadow price reported for the amount is the dual of the final linear row: what one more
yuan of ``B`` is worth at the final tangent point.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import ndtri  # the normal quantile (scipy.stats.norm.ppf), without scipy.stats' 0.2 s import

from .problem import CouplingLimit, Problem
from .result import SolveResult
from .risk import cumulants, quantile, tail_above

__all__ = ["MAX_ROUNDS", "solve_with_confidence", "spend_at_confidence"]

#: Rounds of re-linearisation: a guard, not a budget (the bundled scenarios settle in 3).
MAX_ROUNDS = 12
#: The tangent point has settled when the plan's sd moves less than this, relatively: on the
#: demo, rounds after that changed the objective by under 1e-5 (integer plans wobble at 1e-5).
SETTLED = 1e-3
#: A plan holds the budget when its spend at the confidence is within the amount up to the
#: verifier's relative tolerance (optimizer.verify): a millionth of a yuan per yuan.
TOLERANCE = 1e-6

Solver = Callable[[Problem, float | None], SolveResult]


def _spend_terms(problem: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    o = problem.options
    return o["contact_cost"].to_numpy(float), o["offer_cost"].to_numpy(float), o["p_accept"].to_numpy(float)


def _spend_cumulants(problem: Problem, chosen: np.ndarray) -> tuple[float, float, float, float]:
    contact, offer, p = _spend_terms(problem)
    rows = np.flatnonzero(chosen)
    return cumulants(contact[rows], offer[rows], p[rows])


def _multiplier(k: tuple[float, float, float, float], confidence: float) -> float:
    """``w`` such that mean + w sd is the plan's spend at ``confidence``: max(normal, Cornish-Fisher)."""
    z = float(ndtri(confidence))
    sd = math.sqrt(max(k[1], 0.0))
    return z if sd == 0.0 else max(z, (quantile(k, confidence) - k[0]) / sd)


def spend_at_confidence(k: tuple[float, float, float, float], confidence: float) -> float:
    """The spend a chance budget holds: mean + w sd for the sum with cumulants ``k`` (w: :func:`_multiplier`)."""
    return k[0] + _multiplier(k, confidence) * math.sqrt(max(k[1], 0.0))


def _linear_budget(problem: Problem, budget: CouplingLimit, variance: np.ndarray, w: float, v0: float) -> Problem:
    """``problem`` with its budget row replaced by the tangent of the chance constraint at ``v0``."""
    a = w / (2.0 * math.sqrt(v0))
    row = dataclasses.replace(
        budget,
        coef=problem.spend + a * variance,
        rhs=budget.rhs - w * math.sqrt(v0) / 2.0,
        description=f"expected spend + {w:.3f} x sd of spend <= {budget.rhs:g} (linearised at sd {math.sqrt(v0):,.1f})",
    )
    return dataclasses.replace(problem, limits=tuple(row if lim is budget else lim for lim in problem.limits))


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.perf_counter(), 1e-3)


def solve_with_confidence(problem: Problem, solve_once: Solver, time_limit: float | None = None) -> SolveResult:
    """Solve with the scenario's chance-constrained budget (see the module docstring).

    ``solve_once(problem, time_limit)`` is exact or decomposition mode. The result is the best
    plan that meets the chance constraint, with the budget's :class:`LimitReport` giving the
    plan's spend at the confidence as its usage, and ``chance_budget`` the details that
    summary.json reports under ``budget``. Without a confidence it is one plain solve.
    """
    s = problem.scenario
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    expected = solve_once(problem, time_limit)
    confidence = s.budget_confidence
    if confidence is None or s.budget is None or not expected.has_plan:
        return expected
    budget = next(lim for lim in problem.limits if lim.kind == "budget")
    contact, offer, p = _spend_terms(problem)
    variance = offer * offer * p * (1.0 - p)
    amount = float(s.budget)
    tolerance = TOLERANCE * max(1.0, amount)

    k = _spend_cumulants(problem, expected.chosen)
    rounds: list[dict[str, float]] = []
    # any V0 > 0 gives a safe row; with no variance in the first plan, start at the mean option's
    v0 = k[1] if k[1] > 0 else float(np.mean(variance[variance > 0])) if (variance > 0).any() else 0.0
    # the expected-spend plan may already hold (then it is optimal here too), or no offer cost
    # is random and the chance budget is the plain one
    settled = v0 == 0.0 or spend_at_confidence(k, confidence) <= amount + tolerance
    best, best_k = (expected, k) if settled else (None, k)
    w = _multiplier(k, confidence)
    result = expected
    while not settled and len(rounds) < MAX_ROUNDS:
        if deadline is not None and time.perf_counter() >= deadline:
            break
        result = solve_once(_linear_budget(problem, budget, variance, w, v0), _remaining(deadline))
        if not result.has_plan:
            break
        k_new = _spend_cumulants(problem, result.chosen)
        held = spend_at_confidence(k_new, confidence)
        rounds.append({"sd_at_tangent": math.sqrt(v0), "objective": result.objective, "spend_at_confidence": held})
        if held <= amount + tolerance and (best is None or result.objective > best.objective):
            best, best_k = result, k_new
        w_new = _multiplier(k_new, confidence)
        settled = abs(math.sqrt(k_new[1]) - math.sqrt(v0)) <= SETTLED * math.sqrt(v0) and abs(w_new - w) <= SETTLED * w
        w, v0 = w_new, max(k_new[1], 1e-12)
    if best is None:
        why = result.message if not result.has_plan else f"no round of {len(rounds)} met it"
        return dataclasses.replace(
            result, chosen=None, plan_table=None, objective_value=None,
            message=f"no plan meets the budget at {confidence:.0%} confidence (linearised conservatively): {why}",
        )
    held = spend_at_confidence(best_k, confidence)
    reported = next(lim for lim in best.limits if lim.kind == "budget")
    limits = tuple(
        dataclasses.replace(lim, limit=amount, usage=held, description=f"spend at {confidence:.0%} confidence <= {amount:g} yuan")
        if lim is reported else lim
        for lim in best.limits
    )
    details: dict[str, Any] = {
        "kind": "chance",
        "amount": amount,
        "confidence": confidence,
        "what": f"realised spend <= amount with probability >= {confidence:g} (Cornish-Fisher quantile, "
        "safe tangent linearisation of the square root; see optimizer.chance)",
        "spend_at_confidence": held,
        "expected_spend": best_k[0],
        "sd_spend": math.sqrt(max(best_k[1], 0.0)),
        "p_spend_over_amount": tail_above(best_k, amount),
        "shadow_price": reported.shadow_price,
        "expected_spend_plan": {
            "objective": expected.objective,
            "expected_spend": _spend_cumulants(problem, expected.chosen)[0],
            "spend_at_confidence": spend_at_confidence(k, confidence),
            "p_spend_over_amount": tail_above(k, amount),
        },
        "price_of_certainty": expected.objective - best.objective,
        "relaxation_bound": expected.bound,
        "rounds": rounds,
        "settled": settled,
    }
    return dataclasses.replace(best, limits=limits, chance_budget=details)
