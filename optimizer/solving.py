"""Exact mode: solve the integer program, then price every coupling limit.

The plan's objective, spend and limit usage are recomputed here from the problem's own
arrays rather than read from the solver, so a solver's rounding never leaks into a report.
Shadow prices come from the LP relaxation, solved first: an integer program has no duals,
and the LP's are the standard, reproducible answer to "what is one more yuan of budget
worth". Its optimum is reported as ``lp_bound``, and its solution guides the exact search
(:mod:`optimizer.exact`). ``shadow_prices=False`` leaves the prices out (NaN) for callers
that solve many periods and never read them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from .chance import solve_with_confidence
from .diagnose import diagnose
from .exact import solve_from_lp
from .model import MatrixModel, build_model
from .problem import Problem
from .result import Diagnosis, LimitReport, SolveResult, Status
from .solvers import get_backend
from .solvers.base import Backend, RawSolution, RawStatus, SolveOptions

__all__ = ["solve"]

_STATUS = {
    RawStatus.OPTIMAL: Status.OPTIMAL,
    RawStatus.FEASIBLE: Status.FEASIBLE,
    RawStatus.TIME_LIMIT: Status.TIME_LIMIT,
    RawStatus.INFEASIBLE: Status.INFEASIBLE,
    RawStatus.ERROR: Status.ERROR,
}


def solve(
    problem: Problem,
    *,
    solver: str | None = None,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    seed: int | None = None,
    shadow_prices: bool = True,
    diagnose_infeasible: bool = True,
) -> SolveResult:
    """Solve ``problem`` exactly; unset options come from the scenario's ``solver`` section.

    Returns a :class:`SolveResult` whatever happens: an infeasible scenario comes back with
    status INFEASIBLE and a diagnosis naming the limits in conflict (two more MIP solves;
    ``diagnose_infeasible=False`` skips them for callers that only need the status). A budget with a
    confidence is solved as a few linear budgets in turn (:mod:`optimizer.chance`), all
    within the one time limit.
    """
    settings = problem.scenario.solver
    backend = get_backend(solver or settings.name)
    options = SolveOptions(
        time_limit=time_limit if time_limit is not None else settings.time_limit,
        mip_gap=mip_gap if mip_gap is not None else settings.mip_gap,
        threads=threads if threads is not None else settings.threads,
        seed=seed if seed is not None else problem.scenario.seed,
    )

    def once(linear: Problem, remaining: float | None) -> SolveResult:
        return _solve(linear, backend, dataclasses.replace(options, time_limit=remaining), shadow_prices, diagnose_infeasible)

    return solve_with_confidence(problem, once, options.time_limit)


def _solve(problem: Problem, backend: Backend, options: SolveOptions, shadow_prices: bool, diagnose_infeasible: bool) -> SolveResult:
    model = build_model(problem)
    common = dict(solver=backend.name, solver_version=backend.version())

    def infeasible(spent: float) -> tuple[Diagnosis | None, str]:
        if not diagnose_infeasible:
            return None, "infeasible (not diagnosed)"
        diagnosis = diagnose(problem, model, backend, options.after(spent))
        return diagnosis, diagnosis.summary()

    if model.n_cols == 0:
        return _without_options(problem, model, backend, options, common, infeasible)

    # The LP relaxation first: its duals are the shadow prices, its optimum is a bound, and
    # for this structure (few coupling rows over many small per-customer blocks) a basic LP
    # optimum is often integral already, which proves optimality without branching.
    lp = backend.solve_lp(model, options)
    if lp.status is RawStatus.INFEASIBLE:
        diagnosis, message = infeasible(lp.runtime)
        return SolveResult(
            Status.INFEASIBLE, None, None, None, None, runtime=lp.runtime,
            diagnosis=diagnosis, message=message, **common,
        )
    if lp.x is not None and lp.objective is not None and np.all(np.abs(lp.x - np.round(lp.x)) <= 1e-9):
        raw = RawSolution(RawStatus.OPTIMAL, lp.x, lp.objective, lp.objective, 0.0, message="LP relaxation integral")
    else:
        # one time limit for the whole solve: the MIP gets what the LP left
        options = options.after(lp.runtime)
        raw = solve_from_lp(model, problem.customer, lp, backend, options)
    status = _STATUS[raw.status]

    if raw.x is None:
        diagnosis, message = infeasible(raw.runtime) if status is Status.INFEASIBLE else (None, "")
        message = message or raw.message or "the solver returned no plan"
        return SolveResult(
            status, None, None, None, raw.bound, runtime=raw.runtime, lp_runtime=lp.runtime,
            diagnosis=diagnosis, message=message, **common,
        )

    chosen = (raw.x > 0.5).astype(np.int8)
    objective = float(problem.net_value @ chosen)
    bounds = [b for b in (raw.bound, lp.objective) if b is not None]
    bound = max(min(bounds), objective) if bounds else None
    if status is Status.TIME_LIMIT and bound is not None and bound - objective <= options.mip_gap * max(1.0, abs(objective)):
        status = Status.OPTIMAL

    duals = lp.row_duals[: model.n_coupling] if shadow_prices and lp.row_duals is not None else None
    limits = []
    for i, limit in enumerate(problem.limits):
        price = float("nan") if duals is None else float(duals[i] if limit.sense == "<=" else -duals[i])
        if duals is not None and abs(price) < 1e-9:
            price = 0.0
        limits.append(
            LimitReport(
                name=limit.name, kind=limit.kind, sense=limit.sense, limit=limit.rhs,
                usage=limit.usage(chosen), shadow_price=price, unit=limit.unit, description=limit.description,
            )
        )
    return SolveResult(
        status,
        chosen,
        problem.plan_table(chosen),
        objective,
        bound,
        runtime=raw.runtime,
        limits=tuple(limits),
        lp_bound=lp.objective,
        lp_runtime=lp.runtime,
        message=raw.message,
        **common,
    )


def _without_options(problem: Problem, model: MatrixModel, backend: Backend, options: SolveOptions, common: dict,
                     infeasible: Callable[[float], tuple[Diagnosis | None, str]]) -> SolveResult:
    """No option survived (e.g. everyone is on the do-not-contact list): solvers reject an
    empty model, but the answer is plain: the empty plan, unless some limit forces a contact."""
    if np.all(model.row_lower <= 0) and np.all(model.row_upper >= 0):
        chosen = np.zeros(0, dtype=np.int8)
        limits = tuple(
            LimitReport(lim.name, lim.kind, lim.sense, lim.rhs, 0.0, 0.0, lim.unit, lim.description) for lim in problem.limits
        )
        return SolveResult(
            Status.OPTIMAL, chosen, problem.plan_table(chosen), 0.0, 0.0, runtime=0.0, limits=limits,
            lp_bound=0.0, message="no eligible option: the empty plan", **common,
        )
    diagnosis, message = infeasible(0.0)
    return SolveResult(Status.INFEASIBLE, None, None, None, None, runtime=0.0, diagnosis=diagnosis, message=message, **common)
