r"""The Lagrangian dual of the coupling limits, minimised by the level bundle method.

With every coupling limit written as ``a_i x <= b_i`` and multipliers lambda >= 0,

    L(lambda) = lambda . b + sum_c max_{S feasible for c} sum_{j in S} (n_j - lambda . a_j)      (DUAL)

is an upper bound on every feasible plan's value (weak duality), convex and piecewise linear
in lambda, with subgradient ``b - A x(lambda)`` where x(lambda) is the customers' best sets.
The level method (Lemarechal, Nemirovskii, Nesterov 1995) keeps every cut, computes the
cutting-plane model's minimum (an LP: a lower bound f_low on min L), and projects the best
point so far onto the level set ``model <= f_low + alpha (f_best - f_low)`` (a QP). It needs no
step-size tuning, and f_best - f_low certifies how far the dual is from its minimum.

The multipliers are scaled per limit (``scale``) so that one unit of every limit is of
comparable size; the oracle always sees unscaled multipliers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["DualResult", "level_bundle"]

Oracle = Callable[[np.ndarray], tuple[float, np.ndarray]]  # lambda -> (L(lambda), subgradient)


@dataclass
class DualResult:
    multipliers: np.ndarray
    value: float  # L at multipliers: the best (lowest) bound found
    lower: float  # the cutting-plane model's minimum: no multipliers give less than this
    iterations: int
    history: list[float] = field(default_factory=list)
    stopped: str = ""
    # the multipliers of every step, and the weight of its cut in the last cutting-plane model
    # (the model LP's duals, summing to 1): the steps' best sets mixed by these weights are near
    # the LP optimum of the plan, what primal recovery starts from (recover.blend)
    steps: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _highs():  # type: ignore[no-untyped-def]
    from ..solvers.highs import _quiet_highs

    h = _quiet_highs()
    h.setOptionValue("output_flag", False)
    # HiGHS sizes one process-wide thread pool on its first run and refuses a later run that
    # asks for another size: use the same single thread as the exact backend's default.
    h.setOptionValue("threads", 1)
    # a bound on work, not on time: a clock limit would end the LP at another point on a busy
    # machine than on a quiet one, and the plan with it. These LPs have a few hundred rows.
    h.setOptionValue("simplex_iteration_limit", 100_000)
    return h


def _add_rows(h, dense: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    k, width = dense.shape
    starts = np.arange(k, dtype=np.int32) * width
    index = np.tile(np.arange(width, dtype=np.int32), k)
    h.addRows(k, lower, upper, k * width, starts, index, dense.ravel().astype(np.float64))


def _model_min(points: np.ndarray, values: np.ndarray, grads: np.ndarray, upper: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """min over 0 <= mu <= upper of max_k values_k + grads_k . (mu - points_k): an LP in (mu, t).

    Returns the minimum, its mu, and each cut's weight (its row's dual).
    """
    import highspy

    k, m = grads.shape
    h = _highs()
    inf = highspy.kHighsInf
    h.addVars(m + 1, np.r_[np.zeros(m), -inf], np.r_[upper, inf])
    h.changeColsCost(m + 1, np.arange(m + 1, dtype=np.int32), np.r_[np.zeros(m), 1.0])
    # t - g.mu >= f - g.p
    rhs = values - np.einsum("km,km->k", grads, points)
    _add_rows(h, np.hstack([-grads, np.ones((k, 1))]), rhs, np.full(k, inf))
    h.run()
    sol = h.getSolution()
    x = np.asarray(sol.col_value)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return -np.inf, x[:m], np.zeros(k)  # only the model's minimum is a lower bound on min L
    weights = np.abs(np.asarray(sol.row_dual, np.float64)) if sol.dual_valid else np.zeros(k)
    return float(h.getInfo().objective_function_value), x[:m], weights


def _project(center: np.ndarray, level: float, points: np.ndarray, values: np.ndarray, grads: np.ndarray, upper: np.ndarray) -> np.ndarray | None:
    """The level-set projection of ``center``: values_k + grads_k.(mu - points_k) <= level, 0 <= mu <= upper.

    Projected in the max-norm with an LP rather than in the Euclidean norm with a QP: the QP
    stalled on badly scaled bundles (100k customers) where the LP does not.
    """
    rhs = level - values + np.einsum("km,km->k", grads, points)
    return _project_lp(center, rhs, grads, upper)


def _project_lp(center: np.ndarray, rhs: np.ndarray, grads: np.ndarray, upper: np.ndarray) -> np.ndarray | None:
    """argmin r + 1e-3 sum s  s.t. |mu - center| <= s <= r, grads mu <= rhs, 0 <= mu <= upper."""
    import highspy

    k, m = grads.shape
    h = _highs()
    inf = highspy.kHighsInf
    h.addVars(2 * m + 1, np.zeros(2 * m + 1), np.r_[upper, np.full(m + 1, inf)])
    h.changeColsCost(2 * m + 1, np.arange(2 * m + 1, dtype=np.int32), np.r_[np.zeros(m), np.full(m, 1e-3), 1.0])
    _add_rows(h, np.hstack([grads, np.zeros((k, m + 1))]), np.full(k, -inf), rhs)
    eye = np.eye(m)
    zero = np.zeros((m, 1))
    _add_rows(h, np.hstack([eye, -eye, zero]), np.full(m, -inf), center)  # mu - s <= c
    _add_rows(h, np.hstack([-eye, -eye, zero]), np.full(m, -inf), -center)  # -mu - s <= -c
    _add_rows(h, np.hstack([np.zeros((m, m)), eye, zero - 1.0]), np.full(m, -inf), np.zeros(m))  # s <= r
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.clip(np.asarray(h.getSolution().col_value)[:m], 0.0, upper)


def level_bundle(
    oracle: Oracle,
    start: np.ndarray,
    *,
    scale: np.ndarray,
    upper: np.ndarray,
    tol: float,
    max_iter: int = 300,
    deadline: float | None = None,
    floor: float = -np.inf,
    alpha: float = 0.3,
    max_expansions: int = 8,
) -> DualResult:
    """Minimise ``oracle`` over ``0 <= lambda <= upper`` from ``start``.

    Work happens in scaled multipliers mu = lambda * scale. Stops when the certified dual
    gap ``f_best - f_low <= tol * max(1, |f_best|)``, at ``max_iter``, at ``deadline``
    (time.perf_counter()), or as soon as ``f_best < floor`` (a value no feasible plan can go
    below: the coupling limits are then infeasible).
    """
    m = start.size
    mu_upper = upper * scale
    mu = np.clip(start * scale, 0.0, mu_upper)
    points: list[np.ndarray] = []
    values: list[float] = []
    grads: list[np.ndarray] = []
    history: list[float] = []
    best_mu, best = mu, np.inf
    lower = -np.inf
    weights = np.zeros(0)
    stopped = "iterations"
    expansions = 0
    for it in range(1, max_iter + 1):
        f, g = oracle(mu / scale)
        history.append(f)
        points.append(mu.copy())
        values.append(f)
        grads.append(g / scale)  # d f / d mu
        if f < best:
            best, best_mu = f, mu.copy()
        if best < floor:
            stopped = "below floor"
            break
        if m == 0:
            lower, stopped = best, "no coupling limits"
            break
        P, V, G = np.array(points), np.array(values), np.array(grads)
        model_min, _, weights = _model_min(P, V, G, mu_upper)
        lower = max(lower, model_min)
        if best - lower <= tol * max(1.0, abs(best)):
            at_box = best_mu >= 0.5 * mu_upper
            if at_box.any() and expansions < max_expansions:
                # the box may be cutting the minimum off: widen it where the multipliers press on it
                mu_upper = np.where(at_box, mu_upper * 10.0, mu_upper)
                expansions += 1
                lower, _, weights = _model_min(P, V, G, mu_upper)
            else:
                stopped = "converged"
                break
        if deadline is not None and time.perf_counter() > deadline:
            stopped = "time limit"
            break
        level = lower + alpha * (best - lower)
        nxt = _project(best_mu, level, P, V, G, mu_upper)
        if nxt is None:
            stopped = "projection failed"
            break
        mu = nxt
    steps = np.array(points).reshape(len(points), m) / scale if points else np.zeros((0, m))
    if weights.size != len(points):  # no model was solved (no limits, or the first step was below the floor)
        weights = np.zeros(len(points))
    return DualResult(best_mu / scale, best, lower, len(history), history, stopped, steps, weights)
