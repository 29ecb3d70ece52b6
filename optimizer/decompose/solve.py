"""Decomposition mode: Lagrangian dual over shards, then exact recovery of the remainder.

``solve_decomposed`` returns the same :class:`~optimizer.SolveResult` as exact mode: the
plan, its objective, ``bound`` = the Lagrangian dual bound L(lambda), the certified relative
gap, and one :class:`~optimizer.LimitReport` per coupling limit whose ``shadow_price`` is the
multiplier lambda_i (yuan per unit of the limit). ``lagrangian_bound(problem, multipliers)``
recomputes L from those prices and the inputs alone, so anyone can check the bound.
"""

from __future__ import annotations

import dataclasses
import math
import time
from importlib.metadata import version
from typing import Mapping, Sequence

import numpy as np

from ..chance import solve_with_confidence
from ..errors import InputError
from ..problem import Problem
from ..result import Diagnosis, LimitReport, SolveResult, Status
from .dual import DualResult, level_bundle
from .lp_check import pdlp_bound
from .recover import plan_usage, recover, sub_problem, violations
from .shard import DEFAULT_SHARD_CUSTOMERS, Layout, StepResult, choice_task, final_task, layout_of, shards_of, step_task
from .sharded import Executor, InProcess, open_executor

__all__ = ["solve_decomposed", "lagrangian_bound"]

SOLVER = "decompose"
# The dual is solved to a hundredth of the plan's gap: its value converges long before its
# multipliers do, and the precision of the multipliers decides how few customers recovery has
# to free (measured at 100k customers: a 500-customer remainder closes to 1e-7 at this
# precision; at a quarter of the gap it needed 2,000 and six times the time).
DUAL_PRECISION = 0.01
# From this many customers the dual starts from the multipliers of a random sample of
# SAMPLE_SHARE of them (limits scaled to the sample). Measured on generated bases: 100k
# customers 71 level-bundle steps from zero against 63 (46 to 63 by the sample drawn), 1M 65
# against 52; the sample's own 40 to 50 steps cost 5% of a step each.
WARM_FROM = 50_000
SAMPLE_SHARE = 0.05
SAMPLE_PRECISION = 1e-5  # relative dual gap the sample is solved to: its prices are only a start


def _multiplier_vector(problem: Problem, multipliers: Sequence[float] | Mapping[str, float] | np.ndarray) -> np.ndarray:
    names = [lim.name for lim in problem.limits]
    if isinstance(multipliers, Mapping):
        unknown = sorted(set(multipliers) - set(names))
        if unknown:
            raise ValueError(f"multipliers name unknown limit {unknown[0]!r}; limits are {', '.join(names)}")
        lam = np.array([float(multipliers.get(n, 0.0)) for n in names])
    else:
        lam = np.asarray(multipliers, dtype=np.float64).ravel()
        if lam.size != len(names):
            raise ValueError(f"multipliers has {lam.size} entries; the problem has {len(names)} coupling limits ({', '.join(names)})")
    if not np.all(np.isfinite(lam)) or (lam < 0).any():
        raise ValueError(f"multipliers(={lam.tolist()}) must be finite and >= 0 (they are shadow prices)")
    return lam


def _reduce(results: list[StepResult], layout: Layout, lam: np.ndarray) -> tuple[float, np.ndarray, float]:
    """L(lambda), the subgradient b - A x, and n.x, summed in shard order."""
    value = math.fsum([r.value for r in results] + [float(lam @ layout.rhs)])
    usage = np.sum([r.usage for r in results], axis=0) if results else np.zeros(layout.rhs.size)
    return value, layout.rhs - usage, math.fsum(r.objective for r in results)


def lagrangian_bound(
    problem: Problem,
    multipliers: Sequence[float] | Mapping[str, float] | np.ndarray,
    *,
    shard_customers: int = DEFAULT_SHARD_CUSTOMERS,
) -> float:
    """L(lambda) for shadow prices ``multipliers`` (one per ``problem.limits``, or a name -> price map).

    Every feasible plan's objective is at most this number, whatever the (non-negative)
    multipliers; with the multipliers a decomposed solve reports, it is that solve's bound.
    Returns -inf when some customer cannot meet min_contacts at all.
    """
    lam = _multiplier_vector(problem, multipliers)
    layout = layout_of(problem)
    results = InProcess(shards_of(problem, layout, shard_customers)).map(step_task, layout, lam)
    if any(r.n_stuck for r in results):
        return -math.inf
    return _reduce(results, layout, lam)[0]


def _row_scale(problem: Problem) -> np.ndarray:
    out = []
    for lim in problem.limits:
        top = float(np.max(np.abs(lim.coef))) if lim.coef.size else 0.0
        out.append(top if top > 0 else 1.0)
    return np.array(out)


def _infeasible(problem: Problem, names: list[str], why: list[str], runtime: float, message: str) -> SolveResult:
    diagnosis = Diagnosis(
        tuple((n, float("nan"), w) for n, w in zip(names, why)), (), "Lagrangian dual unbounded below (decompose)"
    )
    return SolveResult(
        Status.INFEASIBLE, None, None, None, None, runtime=runtime, solver=SOLVER, solver_version=_version(),
        diagnosis=diagnosis, message=message or diagnosis.summary(),
    )


def _version() -> str:
    return f"level bundle (numba {version('numba')}) + HiGHS {version('highspy')}"


def solve_decomposed(
    problem: Problem,
    *,
    time_limit: float | None = None,
    gap: float = 1e-5,
    scheduler: str | None = None,
    shard_customers: int = DEFAULT_SHARD_CUSTOMERS,
    shard_dir: str | None = None,
    n_workers: int = 2,
    max_iterations: int = 400,
    max_remainder: int = 20_000,
    lp_check: bool = False,
) -> SolveResult:
    """Solve ``problem`` by Lagrangian decomposition; see the module docstring for the result.

    ``gap`` is the relative gap (bound - objective) / max(1, |objective|) at which the plan is
    reported OPTIMAL. ``scheduler``: None (in-process), "local" (a LocalCluster of
    ``n_workers`` processes) or a "tcp://" scheduler address. ``shard_customers`` sets the
    shard size; in-process and sharded runs with the same value give the same plan.
    ``lp_check`` adds ``independent_bound``: the LP relaxation solved by PDLP, a bound from
    other code than the Lagrangian one (:mod:`optimizer.decompose.lp_check`); it gets what the
    time limit leaves.
    """
    both = [rows.kind for rows in problem.linked if any(o >= 0 and h >= 0 for _, o, h in rows.terms)]
    if both:
        raise InputError(
            f"{both[0]} counts one offer through one channel across waves, which the per-customer walk of decomposition "
            "does not count; use exact mode (--mode exact), or narrow the window to the offer or to the channel", key="waves")
    if not 0 <= gap < 1:
        raise ValueError(f"gap(={gap}) must be in [0, 1)")
    if time_limit is not None and time_limit <= 0:
        raise ValueError(f"time_limit(={time_limit}) must be > 0 seconds")

    def once(linear: Problem, remaining: float | None) -> SolveResult:
        # a chance budget re-solves with a new budget row; each round is a whole decomposition
        return _decomposed(linear, remaining, gap, scheduler, shard_customers, shard_dir, n_workers, max_iterations, max_remainder)

    start = time.perf_counter()
    result = solve_with_confidence(problem, once, time_limit)
    if not lp_check:
        return result
    remaining = None if time_limit is None else max(0.01, time_limit - (time.perf_counter() - start))
    check = pdlp_bound(problem, result.objective_value, time_limit=remaining, threads=problem.scenario.solver.threads)
    if check["bound"] is not None and result.bound is not None:
        check["decomposition_bound"] = result.bound
        check["bound_difference"] = check["bound"] - result.bound
    return dataclasses.replace(result, independent_bound=check)


def _decomposed(problem: Problem, time_limit: float | None, gap: float, scheduler: str | None, shard_customers: int,
                shard_dir: str | None, n_workers: int, max_iterations: int, max_remainder: int) -> SolveResult:
    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    layout = layout_of(problem)
    m = len(problem.limits)
    shards = shards_of(problem, layout, shard_customers)
    option_rows = [s.rows for s in shards]
    executor: Executor = open_executor(shards, scheduler, directory=shard_dir, n_workers=n_workers)
    del shards  # the executor holds them, and lets them go before recovery
    try:
        return _solve(problem, layout, executor, option_rows, start, deadline, gap, max_iterations, max_remainder, m)
    finally:
        executor.close()


def _final(executor: Executor, layout: Layout, lam: np.ndarray, option_rows: list, n_options: int):  # type: ignore[no-untyped-def]
    """The bound at ``lam``, every customer's best set (problem rows), margin, and every option's regret."""
    finals = executor.map(final_task, layout, lam)
    bound, _, _ = _reduce([f.step for f in finals], layout, lam)
    regret = np.empty(n_options, np.float32)
    for shard_rows, f in zip(option_rows, finals):
        regret[shard_rows] = f.regret
    # with linked waves a margin is a customer's over all its waves: each wave's customer gets it
    margin = np.tile(np.concatenate([f.best - f.second for f in finals]), layout.waves)
    return bound, np.concatenate([f.rows for f in finals]), margin, regret


# Golden-ratio steps: customers in any order get the steps' weights with a small discrepancy
GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def _blend(problem: Problem, layout: Layout, executor: Executor, dual: DualResult) -> np.ndarray | None:
    """A plan near the LP optimum: each customer takes its best set at one step of the dual,
    the steps in proportion to their weights in the last cutting-plane model (None: one step).

    Why. Where many customers are alike (the same options in every wave of a multi-wave
    plan) they all change their set at the same multipliers, so the best sets at the final
    multipliers miss a limit by thousands of yuan, more than any remainder could move; the
    LP optimum splits those customers between sets, and the weighted steps split them alike.
    """
    steps = np.flatnonzero(dual.weights > 1e-9)
    if steps.size < 2:
        return None
    weights = dual.weights[steps] / dual.weights[steps].sum()
    real = problem.n_customers // layout.waves  # a customer's waves take one step together
    step_of = np.searchsorted(np.cumsum(weights)[:-1], np.modf(np.arange(1, real + 1) * GOLDEN)[0], side="right")
    x = np.zeros(problem.n_options, np.int8)
    for k, step in enumerate(steps):
        rows = np.concatenate(executor.map(choice_task, layout, dual.steps[step]))
        x[rows[step_of[problem.customer[rows] % real] == k]] = 1
    return x


def _sample_prices(problem: Problem, scale: np.ndarray, upper: np.ndarray, deadline: float | None) -> np.ndarray:
    """Where the dual starts: zero, or from :data:`WARM_FROM` customers the multipliers of a sample.

    The sample is ``SAMPLE_SHARE`` of the customers drawn with the scenario's seed, every limit
    scaled to its share; its dual, solved in this process to :data:`SAMPLE_PRECISION`, prices the
    limits nearly as the whole base does. Only the start moves: the bound and its certificate
    come from the whole base, whatever the sample gave. Waves tied by linked rows start at zero
    (a customer's waves would have to be drawn together).
    """
    m = len(problem.limits)
    if problem.n_customers < WARM_FROM or problem.linked or m == 0:
        return np.zeros(m)
    rng = np.random.default_rng(problem.scenario.seed)
    k = max(1, round(problem.n_customers * SAMPLE_SHARE))
    drawn = np.sort(rng.choice(problem.n_customers, k, replace=False))
    sample, _, _ = sub_problem(problem, drawn, np.zeros(problem.n_options, np.int8))
    share = k / problem.n_customers
    sample = dataclasses.replace(sample, limits=tuple(dataclasses.replace(lim, rhs=lim.rhs * share) for lim in sample.limits))
    layout = layout_of(sample)
    executor = InProcess(shards_of(sample, layout))

    def oracle(lam: np.ndarray) -> tuple[float, np.ndarray]:
        value, g, _ = _reduce(executor.map(step_task, layout, lam), layout, lam)
        return value, g

    floor = float(np.sum(np.minimum(sample.net_value, 0.0))) - 1.0
    dual = level_bundle(oracle, np.zeros(m), scale=scale, upper=upper, tol=SAMPLE_PRECISION, deadline=deadline, floor=floor)
    # a sample whose scaled limits cannot hold says nothing about the base's prices
    return np.zeros(m) if dual.stopped == "below floor" else dual.multipliers


def _solve(problem: Problem, layout: Layout, executor: Executor, option_rows: list, start: float,
           deadline: float | None, gap: float, max_iterations: int, max_remainder: int, m: int) -> SolveResult:
    first = executor.map(step_task, layout, np.zeros(m))
    stuck = sum(r.n_stuck for r in first)
    if stuck:
        c = next(r.first_stuck for r in first if r.n_stuck)
        cid = problem.customers["customer_id"].iloc[c]
        why = f"{stuck} customer(s) cannot get their minimum number of contacts from their own options, e.g. {cid}"
        return _infeasible(problem, ["min_contacts"], [why], time.perf_counter() - start, "")

    def oracle(lam: np.ndarray) -> tuple[float, np.ndarray]:
        # the bundle starts where the check for stuck customers already evaluated
        value, g, _ = _reduce(executor.map(step_task, layout, lam) if lam.any() else first, layout, lam)
        return value, g

    # No feasible plan is worth less than taking every negative option: L below that proves
    # the coupling limits cannot all hold (weak duality).
    floor = float(np.sum(np.minimum(problem.net_value, 0.0))) - 1.0
    scale = _row_scale(problem)
    top = max(1.0, float(np.max(np.abs(problem.net_value)))) if problem.n_options else 1.0
    upper = np.full(m, top) / scale  # widened by the dual where the multipliers press on it
    dual = level_bundle(oracle, _sample_prices(problem, scale, upper, deadline), scale=scale, upper=upper,
                        tol=gap * DUAL_PRECISION, max_iter=max_iterations, deadline=deadline, floor=floor)
    lam = np.where(dual.multipliers * scale < 1e-12 * top, 0.0, dual.multipliers)
    if dual.stopped == "below floor":
        finals = executor.map(step_task, layout, lam)
        usage = np.sum([r.usage for r in finals], axis=0)
        mu = lam * scale
        pulled = [int(i) for i in np.argsort(-mu, kind="stable") if mu[i] > 1e-6 * mu.max()]
        names = [problem.limits[i].name for i in pulled]
        why = [
            f"{problem.limits[i].description}; under these prices customers would give {layout.sign[i] * usage[i]:,.6g}"
            for i in pulled
        ]
        return _infeasible(problem, names, why, time.perf_counter() - start,
                           "these coupling limits cannot all hold: " + ", ".join(names))

    bound, best_rows, margin, regret = _final(executor, layout, lam, option_rows, problem.n_options)
    # one wave: the best sets were close enough at every size measured (1M: an 823-customer
    # remainder closed the gap), and the blend's extra walks cost 2.5 s there
    blended = _blend(problem, layout, executor, dual) if problem.linked else None
    executor.close()  # recovery needs the problem only: the shards' memory goes back first
    dual_time = time.perf_counter() - start
    rec = recover(problem, best_rows, margin, regret, lam, bound, gap=gap, deadline=deadline, blended=blended,
                  max_remainder=max_remainder, seed=problem.scenario.seed)
    runtime = time.perf_counter() - start
    extra = {
        "dual_iterations": float(dual.iterations), "dual_lower": float(dual.lower), "dual_seconds": dual_time,
        "remainder_customers": float(rec.remainder_customers), "recovery_rounds": float(rec.rounds),
        "proven_by_fixing": float(rec.proven), "n_shards": float(len(option_rows)),
    }
    usage = plan_usage(problem, rec.chosen) if rec.chosen is not None else np.full(m, np.nan)
    limits = tuple(
        LimitReport(
            name=lim.name, kind=lim.kind, sense=lim.sense, limit=lim.rhs, usage=float(usage[i]),
            shadow_price=float(lam[i]), unit=lim.unit, description=lim.description,
        )
        for i, lim in enumerate(problem.limits)
    )
    message = f"dual {dual.stopped} after {dual.iterations} steps" + (f"; {rec.message}" if rec.message else "")
    if rec.chosen is None:
        status = Status.TIME_LIMIT if deadline is not None and time.perf_counter() > deadline else Status.ERROR
        return SolveResult(status, None, None, None, bound, runtime=runtime, solver=SOLVER, solver_version=_version(),
                           limits=limits, message=message, extra=extra)
    assert not violations(problem, rec.chosen)
    objective = float(problem.net_value @ rec.chosen)
    rel = max(0.0, bound - objective) / max(1.0, abs(objective))
    if rel <= gap:
        status = Status.OPTIMAL
    elif deadline is not None and time.perf_counter() > deadline:
        status = Status.TIME_LIMIT
    else:
        status = Status.FEASIBLE
    if rec.proven and rel > gap:
        message += "; no better plan exists (reduced-cost fixing), though the Lagrangian bound stays above it"
    return SolveResult(
        status, rec.chosen, problem.plan_table(rec.chosen), objective, bound, runtime=runtime, solver=SOLVER,
        solver_version=_version(), limits=limits, message=message, extra=extra,
    )
