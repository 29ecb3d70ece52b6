"""Why a scenario has no plan: an elastic relaxation that names the limits in conflict.

Every limit that can force or forbid contacts gets a slack variable, and the elastic model
minimises the total *relative* violation (each slack divided by the size of its limit, so
that "one yuan over a 100k budget" weighs less than "one customer short of 3 targets").
The limits whose slack is positive at the optimum are the ones to relax, by the amounts
shown; the limits that are tight in that least-violation plan are what they conflict with.
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


def _elastic(model: MatrixModel, problem: Problem) -> tuple[MatrixModel, list[tuple[int, float]]]:
    """The model with a weighted slack on each coupling row and each forcing CONTACTS row."""
    slack_rows: list[tuple[int, float]] = []  # (row, +1 for >= rows / -1 for <= rows)
    weights: list[float] = []
    for i, limit in enumerate(problem.limits):
        scale = abs(limit.rhs) if limit.rhs != 0 else float(np.mean(np.abs(limit.coef))) if limit.coef.size else 1.0
        slack_rows.append((i, 1.0 if limit.sense == ">=" else -1.0))
        weights.append(1.0 / max(1.0, scale))
    for block in model.blocks:
        if block.kind == "contacts":
            for i in range(block.start, block.stop):
                if model.row_lower[i] > 0:
                    slack_rows.append((i, 1.0))
                    weights.append(1.0)
    k = len(slack_rows)
    slack_matrix = sp.csr_matrix(
        ([s for _, s in slack_rows], ([r for r, _ in slack_rows], np.arange(k))), shape=(model.n_rows, k)
    )
    elastic = MatrixModel(
        # a whisper of the original objective breaks ties towards plans that still make sense
        objective=np.concatenate([model.objective * 1e-9, -np.asarray(weights)]),
        matrix=sp.hstack([model.matrix, slack_matrix], format="csr"),
        row_lower=model.row_lower,
        row_upper=model.row_upper,
        col_upper=np.concatenate([model.col_upper, np.full(k, np.inf)]),
        integer=np.concatenate([model.integer, np.zeros(k, dtype=bool)]),
        n_coupling=model.n_coupling,
        blocks=model.blocks,
    )
    return elastic, slack_rows


def diagnose(problem: Problem, model: MatrixModel, backend: Backend, options: SolveOptions) -> Diagnosis:
    elastic, slack_rows = _elastic(model, problem)
    limit = 60.0 if options.time_limit is None else min(60.0, options.time_limit)
    raw = backend.solve_mip(elastic, SolveOptions(time_limit=limit, mip_gap=1e-6, threads=options.threads, seed=options.seed))
    if raw.x is None or raw.status is RawStatus.INFEASIBLE:
        return Diagnosis((), (), f"elastic relaxation ({backend.name}) found no answer: {raw.message}")
    x = raw.x[: model.n_cols]
    slacks = raw.x[model.n_cols :]
    violated: list[tuple[str, float, str]] = []
    short_customers: list[int] = []
    for (row, _), amount in zip(slack_rows, slacks):
        if amount <= 1e-6:
            continue
        if row < model.n_coupling:
            lim = problem.limits[row]
            usage = lim.usage(x)
            if lim.sense == "<=":
                why = f"the other limits need {usage:,.6g} against a limit of {lim.rhs:,.6g} {lim.unit}s: {lim.description}"
            else:
                why = f"the other limits allow only {usage:,.6g} against a minimum of {lim.rhs:,.6g} {lim.unit}s: {lim.description}"
            violated.append((lim.name, float(amount), why))
        else:
            short_customers.append(row)
    if short_customers:
        owners = {}
        for block in model.blocks:
            if block.kind == "contacts":
                for row in short_customers:
                    if block.start <= row < block.stop:
                        owners[row] = int(block.owner[row - block.start])
        ids = problem.customers["customer_id"].to_numpy()
        counts = np.bincount(problem.customer, minlength=problem.n_customers)
        examples = []
        for row in short_customers[:5]:
            c = owners[row]
            reason = (
                "on the do-not-contact list" if ids[c] in problem.do_not_contact
                else "has no eligible option" if counts[c] == 0
                else f"has {counts[c]} option(s)"
            )
            examples.append(f"{ids[c]} {reason}")
        violated.append(
            (
                "min_contacts",
                float(sum(slacks[[i for i, (r, _) in enumerate(slack_rows) if r in owners]])),
                f"{len(short_customers)} customer(s) cannot get their minimum number of contacts, e.g. "
                + ", ".join(examples),
            )
        )
    empty = not x.any()
    binding = tuple(
        lim.name
        for i, lim in enumerate(problem.limits)
        if slacks[i] <= 1e-6
        and abs(lim.usage(x) - lim.rhs) <= 1e-6 * max(1.0, abs(lim.rhs))
        and not (empty and lim.rhs == 0)  # a ratio limit is "tight" at the empty plan without conflicting
    )
    return Diagnosis(tuple(violated), binding, f"elastic relaxation, least total relative violation ({backend.name})")
