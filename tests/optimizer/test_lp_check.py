"""Decomposition mode's second bound: the LP relaxation by PDLP, certified by weak duality."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import scipy.sparse as sp
import yaml

from optimizer import Problem, Scenario, Status
from optimizer.decompose import solve_decomposed
from optimizer.decompose.lp_check import CONSISTENCY, certified_bound, pdlp_bound
from optimizer.demo import generate_base, scale_limits
from optimizer.model import MatrixModel, build_model
from optimizer.report import summarise
from optimizer.solvers import BACKENDS
from optimizer.solvers.base import SolveOptions

pytestmark = pytest.mark.skipif(not BACKENDS["ortools"].available(), reason="OR-Tools not installed")

TEMPLATE = yaml.safe_load((resources.files("scenarios") / "bundled" / "demo.yaml").read_text(encoding="utf-8"))


def demo_problem(n: int, seed: int = 3) -> Problem:
    options, customers = generate_base(n, seed=seed)
    spec = scale_limits(TEMPLATE, n) | {"name": f"lp-check-{n}", "do_not_contact": None}
    return Problem.from_tables(Scenario.model_validate(spec), options, customers)


def hand_lp() -> MatrixModel:
    r"""max 3x + 2y  s.t.  x + y <= 4,  x - y <= 2,  y >= 0.5,  x, y in [0, 10].

    Optimum x = 3, y = 1, value 11, duals (2.5, 0.5, 0): the first two rows bind.
    """
    matrix = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, -1.0], [0.0, 1.0]]))
    return MatrixModel(
        np.array([3.0, 2.0]), matrix, np.array([-np.inf, -np.inf, 0.5]), np.array([4.0, 2.0, np.inf]),
        np.zeros(2), np.full(2, 10.0), np.zeros(2, bool), 3, (),
    )


def test_certified_bound_by_hand() -> None:
    model = hand_lp()
    assert certified_bound(model, np.array([2.5, 0.5, 0.0])) == pytest.approx(11.0, abs=1e-12)
    # no multipliers: every column at its best bound, 3*10 + 2*10
    assert certified_bound(model, np.zeros(3)) == pytest.approx(50.0)
    # a multiplier on a bound that is infinite is dropped rather than used
    assert certified_bound(model, np.array([2.5, 0.5, 7.0])) == pytest.approx(11.0, abs=1e-12)


def test_any_multipliers_give_a_bound() -> None:
    """Weak duality needs no optimal, nor even feasible, duals: perturbed PDLP-like iterates still bound."""
    model = hand_lp()
    rng = np.random.default_rng(0)
    for _ in range(200):
        y = np.array([2.5, 0.5, 0.0]) + rng.normal(0, 1, 3)
        assert certified_bound(model, y) >= 11.0 - 1e-12


def test_decomposition_reports_an_independent_bound() -> None:
    problem = demo_problem(400)
    result = solve_decomposed(problem, lp_check=True)
    # small bases keep an integrality gap above the default 1e-5: FEASIBLE, with a plan, is expected
    assert result.status in (Status.OPTIMAL, Status.FEASIBLE) and result.has_plan, result.message
    check = result.independent_bound
    assert check is not None and check["termination"] == "optimal", check
    tolerance = CONSISTENCY * max(1.0, abs(result.objective))
    assert check["consistent"] is True and check["bound"] >= result.objective - tolerance
    # the bound is PDLP's LP bound, no lower than the LP optimum (HiGHS) and within PDLP's tolerance of it
    lp = BACKENDS["highs"].solve_lp(build_model(problem), SolveOptions())
    assert lp.objective - 1e-9 * abs(lp.objective) <= check["bound"] <= lp.objective * (1 + 1e-5)
    # and close to the decomposition's own (Lagrangian) bound: both bound the same optimum closely
    assert abs(check["bound"] - result.bound) <= 1e-5 * abs(result.objective)
    assert check["decomposition_bound"] == result.bound
    summary = summarise(problem, result, None, wall_time=result.runtime)
    assert summary["independent_bound"] is check


def test_no_check_unless_asked() -> None:
    problem = demo_problem(100)
    result = solve_decomposed(problem)
    assert result.independent_bound is None
    assert "independent_bound" not in summarise(problem, result, None, wall_time=result.runtime)


def test_a_stopped_pdlp_still_gives_a_valid_bound() -> None:
    """A time limit leaves PDLP far from converged; the certified bound is looser, never wrong."""
    problem = demo_problem(400)
    lp = BACKENDS["highs"].solve_lp(build_model(problem), SolveOptions())
    check = pdlp_bound(problem, lp.objective, time_limit=0.01)
    assert check["bound"] is not None, check
    assert check["bound"] >= lp.objective - 1e-9 * abs(lp.objective)
    assert check["consistent"] is True
