"""Why a scenario has no plan: elastic relaxations that name both sides of the conflict.

Every limit that can force or forbid contacts gets a slack variable, and the elastic model
minimises the total *relative* violation (each slack divided by the size of its limit, so
that "one yuan over a 100k budget" weighs less than "one customer short of 3 targets").
The limits whose slack is positive at that optimum are one side of the conflict: relaxing
them by the amounts shown makes the scenario feasible. A second elastic solve keeps those
limits hard and lets only the others give way; what it has to relax is the other side.
This is the elastic-filter idea behind solver IIS finders, done with the MIP we already
have, so it also catches conflicts that only integrality creates.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .model import MatrixModel
from .problem import Problem
from .result import Diagnosis
from .solvers.base import Backend, RawStatus, SolveOptions

__all__ = ["diagnose"]


def _elastic_rows(model: MatrixModel, problem: Problem) -> list[tuple[int, float, float]]:
    """(row, +1 for >= rows / -1 for <= rows, weight) for each limit that may give way."""
    rows = []
    for i, limit in enumerate(problem.limits):
        scale = abs(limit.rhs) if limit.rhs != 0 else float(np.mean(np.abs(limit.coef))) if limit.coef.size else 1.0
        rows.append((i, 1.0 if limit.sense == ">=" else -1.0, 1.0 / max(1.0, scale)))
    for block in model.blocks:
        if block.kind == "contacts":
            rows.extend((i, 1.0, 1.0) for i in range(block.start, block.stop) if model.row_lower[i] > 0)
    return rows


def _solve_elastic(
    model: MatrixModel, rows: list[tuple[int, float, float]], backend: Backend, options: SolveOptions
) -> tuple[tuple[np.ndarray, np.ndarray] | None, float]:
    """Least weighted violation when only ``rows`` may give way (None if even that is impossible), and the seconds it took."""
    k = len(rows)
    slack = sp.csr_matrix(([s for _, s, _ in rows], ([r for r, _, _ in rows], np.arange(k))), shape=(model.n_rows, k))
    elastic = MatrixModel(
        # a whisper of the original objective breaks ties towards plans that still make sense
        objective=np.concatenate([model.objective * 1e-9, -np.array([w for _, _, w in rows])]),
        matrix=sp.hstack([model.matrix, slack], format="csr"),
        row_lower=model.row_lower,
        row_upper=model.row_upper,
        col_lower=np.concatenate([model.col_lower, np.zeros(k)]),
        col_upper=np.concatenate([model.col_upper, np.full(k, np.inf)]),
        integer=np.concatenate([model.integer, np.zeros(k, dtype=bool)]),
        n_coupling=model.n_coupling,
        blocks=model.blocks,
    )
    raw = backend.solve_mip(elastic, options)
    if raw.x is None or raw.status is RawStatus.INFEASIBLE:
        return None, raw.runtime
    return (raw.x[: model.n_cols], raw.x[model.n_cols :]), raw.runtime


def _explain(
    problem: Problem, model: MatrixModel, rows: list[tuple[int, float, float]], x: np.ndarray, slacks: np.ndarray
) -> list[tuple[str, float, str]]:
    found: list[tuple[str, float, str]] = []
    short: list[tuple[int, float]] = []
    for (row, _, _), amount in zip(rows, slacks):
        if amount <= 1e-6:
            continue
        if row < model.n_coupling:
            lim = problem.limits[row]
            usage = lim.usage(x)
            need = "need {:,.6g} against a limit of {:,.6g}" if lim.sense == "<=" else "allow only {:,.6g} against a minimum of {:,.6g}"
            found.append((lim.name, float(amount), f"the other limits {need.format(usage, lim.rhs)} {lim.unit}s ({lim.description})"))
        else:
            short.append((row, float(amount)))
    if short:
        owner = {}
        for block in model.blocks:
            if block.kind == "contacts":
                owner.update({row: int(block.owner[row - block.start]) for row, _ in short if block.start <= row < block.stop})
        ids = problem.customers["customer_id"].to_numpy()
        counts = np.bincount(problem.customer, minlength=problem.n_customers)
        examples = []
        for row, _ in short[:5]:
            c = owner[row]
            reason = (
                "is on the do-not-contact list" if ids[c] in problem.do_not_contact
                else "has no eligible option" if counts[c] == 0
                else f"has {counts[c]} option(s)"
            )
            examples.append(f"{ids[c]} {reason}")
        found.append(
            (
                "min_contacts",
                sum(a for _, a in short),
                f"{len(short)} customer(s) short of their minimum contacts, e.g. " + ", ".join(examples),
            )
        )
    return found


def diagnose(problem: Problem, model: MatrixModel, backend: Backend, options: SolveOptions) -> Diagnosis:
    """Name the limits in conflict; both elastic solves together keep within ``options.time_limit`` (at most 60 s)."""
    settings = SolveOptions(
        time_limit=60.0 if options.time_limit is None else min(60.0, options.time_limit),
        mip_gap=1e-6,
        threads=options.threads,
        seed=options.seed,
    )
    rows = _elastic_rows(model, problem)
    first, spent = _solve_elastic(model, rows, backend, settings)
    method = f"elastic relaxation, least total relative violation ({backend.name})"
    if first is None:
        return Diagnosis((), (), method + ": no answer within the time limit")
    violated = _explain(problem, model, rows, *first)
    relaxed = {row for (row, _, _), amount in zip(rows, first[1]) if amount > 1e-6}
    others = [r for r in rows if r[0] not in relaxed]
    second, _ = _solve_elastic(model, others, backend, settings.after(spent))
    if second is None:
        other_side: tuple[str, ...] = (
            "no other limit: the eligible options and the per-customer caps (max_contacts, one option per "
            "offer, exclusions, per-channel caps) cannot meet them even if every other limit gives way",
        )
    else:
        other_side = tuple(name for name, _, _ in _explain(problem, model, others, *second))
    return Diagnosis(tuple(violated), other_side, method)
