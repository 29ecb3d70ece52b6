"""COIN-OR CBC through PuLP: the second backend, and the baseline most hand-built scripts use.

The model is rebuilt as PuLP expressions row by row from the same sparse matrix, so that a
comparison with HiGHS measures the solver and PuLP's modelling layer, not a different model.
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from ..model import MatrixModel
from .base import RawSolution, RawStatus, SolveOptions

__all__ = ["CbcBackend"]


class CbcBackend:
    name = "cbc"

    def available(self) -> bool:
        try:
            import pulp
        except ImportError:
            return False
        return bool(pulp.PULP_CBC_CMD(msg=False).available())

    def version(self) -> str:
        import pulp

        return f"CBC (PuLP {pulp.__version__})"

    def _build(self, model: MatrixModel, integer: bool):  # type: ignore[no-untyped-def]
        import pulp

        problem = pulp.LpProblem("campaign", pulp.LpMaximize)
        variables = [
            problem.add_variable(
                f"x{j}", float(model.col_lower[j]), float(model.col_upper[j]) if np.isfinite(model.col_upper[j]) else None,
                cat=pulp.LpInteger if integer and model.integer[j] else pulp.LpContinuous,
            )
            for j in range(model.n_cols)
        ]
        problem += pulp.LpAffineExpression(zip(variables, model.objective.tolist()))
        csr = model.matrix
        names: list[list[str]] = []
        for i in range(model.n_rows):
            lo, hi = float(model.row_lower[i]), float(model.row_upper[i])
            cols = csr.indices[csr.indptr[i] : csr.indptr[i + 1]]
            coefs = csr.data[csr.indptr[i] : csr.indptr[i + 1]]
            expr = pulp.LpAffineExpression(zip([variables[c] for c in cols], coefs.tolist()))
            row_names = []
            if lo == hi:
                problem += (expr == lo, f"r{i}")
                row_names.append(f"r{i}")
            else:
                if np.isfinite(lo):
                    problem += (expr >= lo, f"r{i}_lo")
                    row_names.append(f"r{i}_lo")
                if np.isfinite(hi):
                    problem += (expr <= hi, f"r{i}_hi")
                    row_names.append(f"r{i}_hi")
            names.append(row_names)
        return problem, variables, names

    def _run(self, model: MatrixModel, options: SolveOptions, integer: bool, start: np.ndarray | None = None):  # type: ignore[no-untyped-def]
        import pulp

        problem, variables, names = self._build(model, integer)
        if start is not None:
            for variable, value in zip(variables, start.tolist()):
                variable.setInitialValue(value)
        solver = pulp.PULP_CBC_CMD(
            warmStart=start is not None,
            msg=False,
            mip=integer,
            timeLimit=options.time_limit,
            gapRel=options.mip_gap if integer else None,
            threads=options.threads,
            options=[f"randomCbcSeed {options.seed + 1}"],  # CBC reads 0 as "use the clock"
        )
        # PuLP writes its MPS and solution files to the working directory by default; keep
        # them in a private temporary folder so that parallel runs never share files.
        with tempfile.TemporaryDirectory() as tmp:
            previous = os.getcwd()
            os.chdir(tmp)
            try:
                start = time.perf_counter()
                problem.solve(solver)
                runtime = time.perf_counter() - start
            finally:
                os.chdir(previous)
        return problem, variables, names, runtime

    def solve_mip(self, model: MatrixModel, options: SolveOptions, start: np.ndarray | None = None) -> RawSolution:
        import pulp

        problem, variables, _, runtime = self._run(model, options, integer=True, start=start)
        sol = problem.sol_status
        if sol in (pulp.LpSolutionInfeasible,) or problem.status == pulp.LpStatusInfeasible:
            return RawSolution(RawStatus.INFEASIBLE, None, None, None, runtime)
        if sol not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            timed_out = options.time_limit is not None and runtime >= 0.95 * options.time_limit
            status = RawStatus.TIME_LIMIT if timed_out else RawStatus.ERROR
            return RawSolution(status, None, None, None, runtime, message=pulp.LpStatus[problem.status])
        x = np.array([v.varValue or 0.0 for v in variables])
        objective = float(model.objective @ x)
        if sol == pulp.LpSolutionOptimal:
            return RawSolution(RawStatus.OPTIMAL, x, objective, objective, runtime)
        # PuLP does not expose CBC's best bound, so a stopped CBC run reports no bound.
        return RawSolution(RawStatus.TIME_LIMIT, x, objective, None, runtime)

    def solve_lp(self, model: MatrixModel, options: SolveOptions) -> RawSolution:
        import pulp

        problem, variables, names, runtime = self._run(model, options, integer=False)
        if problem.status != pulp.LpStatusOptimal:
            status = RawStatus.INFEASIBLE if problem.status == pulp.LpStatusInfeasible else RawStatus.ERROR
            return RawSolution(status, None, None, None, runtime)
        x = np.array([v.varValue or 0.0 for v in variables])
        duals = np.array(
            [sum(problem.get_constraint_by_name(n).pi or 0.0 for n in row) for row in names], dtype=np.float64
        )
        objective = float(model.objective @ x)
        return RawSolution(RawStatus.OPTIMAL, x, objective, objective, runtime, row_duals=duals)
