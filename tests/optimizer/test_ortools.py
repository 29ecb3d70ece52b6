"""The OR-Tools (MathOpt: SCIP, GLOP) backend on its own: statuses, duals, seeds, MIP starts.

The shared suites (test_known_optima.py, test_properties.py) check that it reaches the same
optima as HiGHS; these tests check what only a backend can get wrong: how MathOpt's
termination reasons map onto RawStatus, the sign of the LP duals, and its options.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import optimizer.solvers.ortools as ortools_backend
from optimizer import Problem, Scenario, Status, solve, verify_plan
from optimizer.model import MatrixModel
from optimizer.solvers import BACKENDS, get_backend
from optimizer.solvers.base import RawStatus, SolveOptions

pytestmark = pytest.mark.skipif(not BACKENDS["ortools"].available(), reason="OR-Tools not installed")

INF = np.inf


def matrix_model(  # type: ignore[no-untyped-def]
    objective, rows, lower, upper, col_lower, col_upper, integer
) -> MatrixModel:
    n = len(objective)
    return MatrixModel(
        np.asarray(objective, float), sp.csr_matrix(np.asarray(rows, float).reshape(-1, n)),
        np.asarray(lower, float), np.asarray(upper, float), np.asarray(col_lower, float),
        np.asarray(col_upper, float), np.asarray(integer, bool), len(lower), (),
    )


def market_split(m: int, n: int, seed: int) -> tuple[MatrixModel, np.ndarray]:
    """A market-split instance (Cornuejols and Dawande 1998): m equality rows ``a x = a x*`` over
    n binaries, feasible by construction at the returned x*, and notoriously hard to find a plan
    for: at 5 x 40 SCIP found none in 0.3 s (measured), where x* as a hint is a plan at once."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 100, size=(m, n)).astype(float)
    star = (rng.random(n) < 0.5).astype(float)
    objective = rng.integers(1, 10, size=n).astype(float)
    b = a @ star
    return matrix_model(objective, a, b, b, np.zeros(n), np.ones(n), np.ones(n, bool)), star


def small_lp() -> MatrixModel:
    r"""An LP with unique, hand-derived duals (columns x, y, z, w, v, u, all in [0, 10] but v in [0, 1]).

        max 3x + 2y - z + 0.5w + v - 2u
        r0:  x + y <= 4      r1:  x - y <= 2      r2:  z >= 1      r3:  w = 2

    Optimum x = 3, y = 1 (r0 and r1 bind: 3 = a + b, 2 = a - b, so a = 2.5, b = 0.5), z = 1
    (raising r2's bound costs 1: dual -1), w = 2 (dual 0.5), v = 1 (reduced cost +1 at its upper
    bound), u = 0 (reduced cost -2): value 9 + 2 - 1 + 1 + 1 = 12.
    """
    rows = [
        [1, 1, 0, 0, 0, 0],
        [1, -1, 0, 0, 0, 0],
        [0, 0, 1, 0, 0, 0],
        [0, 0, 0, 1, 0, 0],
    ]
    return matrix_model(
        [3, 2, -1, 0.5, 1, -2], rows, [-INF, -INF, 1, 2], [4, 2, INF, 2],
        np.zeros(6), [10, 10, 10, 10, 1, 10], np.zeros(6, bool),
    )


# ---------------------------------------------------------------------------------------------
# registration


def test_registered_and_imported_on_use() -> None:
    assert get_backend("ortools").name == "ortools"
    assert "OR-Tools" in BACKENDS["ortools"].version() and "SCIP" in BACKENDS["ortools"].version()
    code = "import sys, optimizer.solvers; assert 'ortools' not in sys.modules, 'imported eagerly'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_scenario_names_the_backend() -> None:
    """``solver: {name: ortools}`` in a scenario picks this backend; by hand: c0 nets 0.5*20-1 = 9,
    c1 nets 5-1 = 4, a capacity of one contact takes c0 only."""
    scenario = Scenario.model_validate(
        {"name": "t", "channels": {"h": {"capacity": 1}}, "offers": {"o": {}}, "solver": {"name": "ortools"}}
    )
    options = pd.DataFrame({
        "customer_id": ["c0", "c1"], "offer_id": "o", "channel_id": "h", "p_accept": [0.5, 1.0],
        "value": [20.0, 5.0], "contact_cost": 1.0, "offer_cost": 0.0,
    })
    problem = Problem.from_tables(scenario, options)
    result = solve(problem)
    assert result.solver == "ortools" and result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(9.0)
    assert verify_plan(problem, result.plan).ok


# ---------------------------------------------------------------------------------------------
# statuses


def test_infeasible_model() -> None:
    # two binaries cannot sum to 3
    model = matrix_model([1, 1], [[1, 1]], [3], [INF], [0, 0], [1, 1], [True, True])
    backend = BACKENDS["ortools"]
    mip = backend.solve_mip(model, SolveOptions())
    assert mip.status is RawStatus.INFEASIBLE and mip.x is None and mip.bound is None
    assert backend.solve_lp(model, SolveOptions()).status is RawStatus.INFEASIBLE


def test_time_limit_without_and_with_a_plan() -> None:
    model, star = market_split(5, 40, seed=1)
    backend = BACKENDS["ortools"]
    none = backend.solve_mip(model, SolveOptions(time_limit=0.3))
    assert none.status is RawStatus.TIME_LIMIT, none.message
    assert none.x is None and none.objective is None
    # the MIP start is accepted: with x* as a hint the stopped solve has a plan worth at least x*'s
    hinted = backend.solve_mip(model, SolveOptions(time_limit=0.3), start=star)
    assert hinted.status in (RawStatus.TIME_LIMIT, RawStatus.OPTIMAL), hinted.message
    assert hinted.x is not None
    assert np.allclose(model.matrix @ hinted.x, model.row_lower)
    assert hinted.objective >= model.objective @ star - 1e-9
    assert hinted.bound is None or hinted.bound >= hinted.objective - 1e-9


def test_cp_sat_time_limit_is_read_from_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """CP-SAT reports a time limit as limit UNDETERMINED; it must still come back TIME_LIMIT."""
    monkeypatch.setattr(ortools_backend, "MIP_SOLVER", "CP_SAT")
    model, _ = market_split(5, 40, seed=1)
    raw = BACKENDS["ortools"].solve_mip(model, SolveOptions(time_limit=0.3))
    assert raw.status is RawStatus.TIME_LIMIT, raw.message
    assert "undetermined" in raw.message


def test_solver_errors_come_back_as_text() -> None:
    """MathOpt's own error translation breaks on the installed pybind11_abseil; ours returns the message."""
    params = ortools_backend.parameters(SolveOptions(seed=1), integer=False)
    proto = ortools_backend.model_proto(small_lp(), integer=False)
    result, _, message = ortools_backend.run_mathopt(proto, "PDLP", params)  # PDLP takes no seed
    assert result is None and "random_seed" in message


# ---------------------------------------------------------------------------------------------
# LP duals


def test_lp_duals_are_the_hand_derived_ones_and_equal_highs() -> None:
    model = small_lp()
    ours = BACKENDS["ortools"].solve_lp(model, SolveOptions())
    highs = BACKENDS["highs"].solve_lp(model, SolveOptions())
    assert ours.status is RawStatus.OPTIMAL and ours.objective == pytest.approx(12.0)
    np.testing.assert_allclose(ours.row_duals, [2.5, 0.5, -1.0, 0.5], atol=1e-9)
    np.testing.assert_allclose(ours.col_duals, [0, 0, 0, 0, 1.0, -2.0], atol=1e-9)
    np.testing.assert_allclose(ours.row_duals, highs.row_duals, atol=1e-9)
    np.testing.assert_allclose(ours.col_duals, highs.col_duals, atol=1e-9)
    np.testing.assert_allclose(ours.x, highs.x, atol=1e-9)


def test_row_dual_is_the_slope_in_the_row_bound() -> None:
    """The sign convention, by finite differences: d(optimum)/d(active bound) for a maximisation."""
    model, backend, delta = small_lp(), BACKENDS["ortools"], 1e-3
    base = backend.solve_lp(model, SolveOptions())
    for row, side in ((0, "row_upper"), (1, "row_upper"), (2, "row_lower")):
        bounds = getattr(model, side).copy()
        bounds[row] += delta
        moved = backend.solve_lp(dataclasses.replace(model, **{side: bounds}), SolveOptions())
        assert (moved.objective - base.objective) / delta == pytest.approx(base.row_duals[row], abs=1e-6), row


# ---------------------------------------------------------------------------------------------
# options


def knapsacks(seed: int, n: int = 40, m: int = 3) -> MatrixModel:
    """A random multi-dimensional knapsack that SCIP has to branch on (half the weight fits)."""
    rng = np.random.default_rng(seed)
    weight = rng.integers(1, 50, size=(m, n)).astype(float)
    value = weight.sum(axis=0) + rng.integers(0, 20, size=n)
    half = weight.sum(axis=1) / 2
    return matrix_model(value, weight, np.full(m, -INF), half, np.zeros(n), np.ones(n), np.ones(n, bool))


def test_same_seed_gives_the_same_plan() -> None:
    model, backend = knapsacks(4), BACKENDS["ortools"]
    options = SolveOptions(seed=11, mip_gap=1e-3)
    first, second = backend.solve_mip(model, options), backend.solve_mip(model, options)
    assert first.status is RawStatus.OPTIMAL, first.message
    np.testing.assert_array_equal(first.x, second.x)
    assert first.objective == second.objective and first.bound == second.bound


def test_gap_is_respected() -> None:
    model, backend = knapsacks(5), BACKENDS["ortools"]
    exact = backend.solve_mip(model, SolveOptions(mip_gap=0.0))
    loose = backend.solve_mip(model, SolveOptions(mip_gap=0.05))
    assert exact.status is RawStatus.OPTIMAL and loose.status is RawStatus.OPTIMAL
    assert exact.bound == pytest.approx(exact.objective, abs=1e-6)
    assert loose.bound - loose.objective <= 0.05 * abs(loose.objective) + 1e-6
    assert loose.objective <= exact.objective + 1e-9
