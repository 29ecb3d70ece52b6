"""OR-Tools through MathOpt: SCIP for the MIP, GLOP for the LP (Apache-2.0, a third solver stack).

Why a third backend: HiGHS and CBC share no code with SCIP and GLOP, so an optimum all of them
reach is not one solver's bug; and MathOpt also carries PDLP, the first-order LP method behind
the independent bound of decomposition mode (:mod:`optimizer.decompose.lp_check`).

How the model gets there: the sparse :class:`~optimizer.model.MatrixModel` is written straight
into a MathOpt ``ModelProto`` from its numpy arrays and handed to MathOpt's core ``solve``, the
call ``mathopt.solve`` itself makes after exporting its ``Model``. Measured on the 10k-customer
generated base (92,868 columns, 490k nonzeros): one ``mathopt.Model`` variable and constraint
object per column and row took 3.4 s to build, the proto 0.13 s. At 100k customers (930k
columns) the proto takes 1.5 s, and going through the facade anyway
(``Model.from_model_proto`` then the export inside ``mathopt.solve``) would add 5.3 + 3.1 s.

Which MIP engine: SCIP (``MIP_SOLVER``), by measurement. Single thread, the same model, through
``optimizer.solve`` with 60 s per instance (the box shared with other jobs, so times are loose):

    instances                                   SCIP                  CP-SAT
    MMKP I01-I06 but I04, mknap1, IBM (13)      9.3 s, all proven     3.1 s, all proven
    OR-Library GAP gap1-12, both senses (120)   28.1 s, all proven    17.4 s, all proven
    Chu-Beasley gapa-gapc (18)                  38.0 s, all proven    103.7 s, c20200 not proven
    generated base, 1k customers (demo limits)  OPTIMAL in 14.9 s     TIME_LIMIT at 300 s, plan 2.8 below

CP-SAT is fast on integral benchmark data but needs integers: our net values (p_accept * value
- costs) are rescaled, and on the generated base it found neither the optimum nor a bound
beyond the LP's. SCIP also takes the continuous slack columns of the elastic diagnosis as they
are. SCIP uses a solution hint as a MIP start (``start``) and is deterministic for a seed.
"""

from __future__ import annotations

import datetime
import time
from importlib.metadata import version

import numpy as np

from ..model import MatrixModel
from .base import RawSolution, RawStatus, SolveOptions

__all__ = ["OrtoolsBackend", "dense", "model_proto", "parameters", "run_mathopt", "status_of", "termination_text"]

#: MathOpt solver for MIPs (the module docstring says why); "CP_SAT" also works, for comparisons.
MIP_SOLVER = "GSCIP"
#: MathOpt solver for LPs: a simplex method, so the solution is basic (the exact search and
#: the integrality check rely on it) and the row duals are exact.
LP_SOLVER = "GLOP"


def model_proto(model: MatrixModel, *, integer: bool):  # type: ignore[no-untyped-def]
    """``model`` as a MathOpt ``ModelProto`` (maximise), built from its arrays without per-column objects.

    Row and column ids are the matrix positions; the matrix goes in row-major order, as the
    proto requires, with explicit zeros dropped.
    """
    from ortools.math_opt import model_pb2

    proto = model_pb2.ModelProto()
    n, m = model.n_cols, model.n_rows
    columns = proto.variables
    columns.ids.extend(np.arange(n, dtype=np.int64))
    columns.lower_bounds.extend(np.asarray(model.col_lower, dtype=np.float64))
    columns.upper_bounds.extend(np.asarray(model.col_upper, dtype=np.float64))
    columns.integers.extend(np.asarray(model.integer, dtype=bool) & integer)
    proto.objective.maximize = True
    used = np.flatnonzero(model.objective)
    proto.objective.linear_coefficients.ids.extend(used.astype(np.int64))
    proto.objective.linear_coefficients.values.extend(np.asarray(model.objective[used], dtype=np.float64))
    rows = proto.linear_constraints
    rows.ids.extend(np.arange(m, dtype=np.int64))
    rows.lower_bounds.extend(np.asarray(model.row_lower, dtype=np.float64))
    rows.upper_bounds.extend(np.asarray(model.row_upper, dtype=np.float64))
    csr = model.matrix.tocsr(copy=True)
    csr.eliminate_zeros()
    csr.sort_indices()
    matrix = proto.linear_constraint_matrix
    matrix.row_ids.extend(np.repeat(np.arange(m, dtype=np.int64), np.diff(csr.indptr)))
    matrix.column_ids.extend(csr.indices.astype(np.int64))
    matrix.coefficients.extend(csr.data.astype(np.float64))
    return proto


def run_mathopt(proto, solver: str, params, hint: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    """MathOpt's core solve on ``proto``: (SolveResultProto or None, wall seconds, error message).

    MathOpt's own error translation fails with the installed pybind11_abseil (``StatusNotOk``
    has no ``canonical_code``), so the status error is caught here and returned as text.
    """
    from ortools.math_opt import model_parameters_pb2
    from ortools.math_opt.core.python import solver as core
    from ortools.math_opt.python import mathopt
    from pybind11_abseil.status import StatusNotOk

    model_params = model_parameters_pb2.ModelSolveParametersProto()
    if hint is not None:
        kept = np.flatnonzero(np.isfinite(hint))
        values = model_params.solution_hints.add().variable_values
        values.ids.extend(kept.astype(np.int64))
        values.values.extend(np.asarray(hint[kept], dtype=np.float64))
    start = time.perf_counter()
    try:
        result = core.solve(
            proto, mathopt.SolverType[solver].value, mathopt.StreamableSolverInitArguments().to_proto(),
            params.to_proto(), model_params, None, mathopt.CallbackRegistration().to_proto(), None, None,
        )
    except (StatusNotOk, RuntimeError, ValueError) as err:
        return None, time.perf_counter() - start, f"{solver}: {getattr(err, 'message', err)}"
    return result, time.perf_counter() - start, ""


def dense(sparse, n: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """A MathOpt ``SparseDoubleVectorProto`` as a dense float64 array of length ``n``."""
    out = np.zeros(n, dtype=np.float64)
    out[np.asarray(sparse.ids, dtype=np.int64)] = np.asarray(sparse.values, dtype=np.float64)
    return out


def parameters(options: SolveOptions, *, integer: bool, threads: int | None = None):  # type: ignore[no-untyped-def]
    """MathOpt ``SolveParameters`` for ``options``; SCIP and GLOP are single-threaded in MathOpt."""
    from ortools.math_opt.python import mathopt

    params = mathopt.SolveParameters(
        enable_output=False,
        random_seed=int(options.seed),
        threads=threads,
        time_limit=None if options.time_limit is None else datetime.timedelta(seconds=float(options.time_limit)),
    )
    if integer:
        params.relative_gap_tolerance = float(options.mip_gap)
        # MathOpt's default absolute gap (SCIP: 0) is kept: the relative one decides, as in HiGHS
    return params


def status_of(  # type: ignore[no-untyped-def]
    result, runtime: float, time_limit: float | None
) -> tuple[RawStatus, bool]:
    """(RawStatus, whether a primal solution came back) for a MathOpt result proto.

    A time limit is TIME_LIMIT with or without a plan; any other limit with a plan is
    FEASIBLE; INFEASIBLE_OR_UNBOUNDED is INFEASIBLE, as in the HiGHS backend (our models cannot
    be unbounded: options are binary, and the objective penalises the diagnosis's unbounded
    slacks); IMPRECISE and the errors are ERROR.
    """
    from ortools.math_opt.python import mathopt

    termination = mathopt.parse_termination(result.termination)
    reason, limit = termination.reason, termination.limit
    has_solution = bool(result.solutions) and result.solutions[0].HasField("primal_solution") and (
        result.solutions[0].primal_solution.feasibility_status == mathopt.SolutionStatus.FEASIBLE.value
    )
    why = mathopt.TerminationReason
    if reason is why.OPTIMAL:
        return RawStatus.OPTIMAL, has_solution
    if reason in (why.INFEASIBLE, why.INFEASIBLE_OR_UNBOUNDED):
        return RawStatus.INFEASIBLE, False
    if reason in (why.FEASIBLE, why.NO_SOLUTION_FOUND):
        # CP-SAT reports its time limit as UNDETERMINED: the clock decides then, as for CBC
        timed_out = limit is mathopt.Limit.TIME or (
            limit is mathopt.Limit.UNDETERMINED and time_limit is not None and runtime >= 0.95 * time_limit
        )
        if timed_out:
            return RawStatus.TIME_LIMIT, has_solution
        return (RawStatus.FEASIBLE, True) if has_solution else (RawStatus.ERROR, False)
    return RawStatus.ERROR, False


def termination_text(result) -> str:  # type: ignore[no-untyped-def]
    """How MathOpt says the solve ended, e.g. ``feasible (time)``: the RawSolution message."""
    from ortools.math_opt.python import mathopt

    termination = mathopt.parse_termination(result.termination)
    limit = f" ({termination.limit.name.lower()})" if termination.limit is not None else ""
    detail = f": {termination.detail}" if termination.detail else ""
    return f"{termination.reason.name.lower()}{limit}{detail}"


class OrtoolsBackend:
    name = "ortools"

    def available(self) -> bool:
        try:
            from ortools.math_opt.python import mathopt  # noqa: F401
        except ImportError:
            return False
        return True

    def version(self) -> str:
        return f"OR-Tools {version('ortools')} MathOpt ({MIP_SOLVER.removeprefix('G')} MIP, {LP_SOLVER} LP)"

    def solve_mip(self, model: MatrixModel, options: SolveOptions, start: np.ndarray | None = None) -> RawSolution:
        proto = model_proto(model, integer=True)
        params = parameters(options, integer=True, threads=int(options.threads))
        result, runtime, error = run_mathopt(proto, MIP_SOLVER, params, hint=start)
        if result is None:
            return RawSolution(RawStatus.ERROR, None, None, None, runtime, message=error)
        status, has_solution = status_of(result, runtime, options.time_limit)
        x = objective = None
        if has_solution:
            primal = result.solutions[0].primal_solution
            x = dense(primal.variable_values, model.n_cols)
            objective = float(primal.objective_value)
        dual_bound = float(result.termination.objective_bounds.dual_bound)
        bound = dual_bound if status is not RawStatus.INFEASIBLE and np.isfinite(dual_bound) else None
        if status is RawStatus.OPTIMAL and objective is not None and bound is not None:
            bound = max(bound, objective)
        return RawSolution(status, x, objective, bound, runtime, message=termination_text(result))

    def solve_lp(self, model: MatrixModel, options: SolveOptions) -> RawSolution:
        proto = model_proto(model, integer=False)
        result, runtime, error = run_mathopt(proto, LP_SOLVER, parameters(options, integer=False))
        if result is None:
            return RawSolution(RawStatus.ERROR, None, None, None, runtime, message=error)
        status, has_solution = status_of(result, runtime, options.time_limit)
        solution = result.solutions[0] if result.solutions else None
        if status is not RawStatus.OPTIMAL or not has_solution or not solution.HasField("dual_solution"):
            return RawSolution(status if status is not RawStatus.OPTIMAL else RawStatus.ERROR, None, None, None,
                               runtime, message=termination_text(result))
        objective = float(solution.primal_solution.objective_value)
        # MathOpt states duals of the problem as posed: for a maximisation a row dual is
        # d(optimum)/d(active row bound) and a reduced cost is d(optimum)/d(x_j), the HiGHS
        # convention (checked in tests/optimizer/test_ortools.py)
        return RawSolution(
            status, dense(solution.primal_solution.variable_values, model.n_cols), objective, objective, runtime,
            row_duals=dense(solution.dual_solution.dual_values, model.n_rows),
            col_duals=dense(solution.dual_solution.reduced_costs, model.n_cols),
            message=termination_text(result),
        )
