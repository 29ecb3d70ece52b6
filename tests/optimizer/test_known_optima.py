"""Exact mode reaches published optima of public benchmark instances.

The instances (GAP, MMKP, mknap1, IBM's docplex marketing example) are in ../shared/cases,
outside the repository; see its README.md for sources and formats and ``cases.py`` for the
conversion into options/customers tables and a Scenario. Every solve goes through
:func:`solve_and_verify`: the solver must prove optimality (a TIME_LIMIT is a failure, not a
pass), :func:`optimizer.verify_plan` must find no violation, and both the solver's objective and
the verifier's independent recomputation must equal the published optimum.

HiGHS solves every instance. OR-Tools (SCIP) solves a representative subset, so that the suite
stays fast (:data:`ORTOOLS_SUBSET`): all of SCIP's 150 solves took 81 s where HiGHS's took 72 s
on the shared 2-core box, the subset ~8 s. Its ids end in ``-ortools``.

The file skips as a whole when the benchmark folder is absent.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from cases import (
    CASES_DIR,
    Case,
    gap_case,
    ibm_marketing_case,
    mknap_case,
    mmkp_case,
    read_gap_optima,
    read_mknap,
    read_mmkp,
    read_orlib_gap,
)

import optimizer
from optimizer.solvers import BACKENDS

if not CASES_DIR.is_dir():
    pytest.skip(f"benchmark instances not found at {CASES_DIR}", allow_module_level=True)

#: Per-solve safety net; every instance here solves in well under it (the slowest, c20200-min,
#: took ~25 s on the 2-core CI box). Hitting it fails the test: TIME_LIMIT is not OPTIMAL.
TIME_LIMIT = 120.0

GAP_OPTIMA = read_gap_optima(CASES_DIR / "gap" / "gap_optima.csv")

#: Chu and Beasley minimisation optima, cases README ("gap/orlib/gapa.txt ... gapd.txt"), in
#: file order 5x100, 5x200, 10x100, 10x200, 20x100, 20x200. gapd is left out: d05100 alone took
#: HiGHS 328 s and d20200 is open.
CHU_BEASLEY_MIN = {
    "a": (1698, 3235, 1360, 2623, 1158, 2339),
    "b": (1843, 3552, 1407, 2827, 1166, 2339),
    "c": (1931, 3456, 1402, 2806, 1243, 2391),
}

#: Exact MMKP optima, cases README ("mmkp/orlib_khan"). I04 (152 s in HiGHS) and I07-I13 (no
#: proven optimum) are left out.
MMKP_OPTIMA = {"I01": 173, "I02": 364, "I03": 1602, "I05": 3905.7, "I06": 4799.3}

#: mknap1 optima, cases README ("mknap/mknap1.txt"); also the third number of each header.
MKNAP1_OPTIMA = (3800, 8706.1, 4015, 6120, 12400, 10618, 16537)

#: Test ids (without the solver suffix) that OR-Tools also solves: problem 1 of every OR-Library
#: GAP file in both senses, all of gapa and the 20x100 of gapb and gapc, every MMKP but I03
#: (8.4 s in SCIP), all of mknap1 and the IBM example. SCIP solved every other instance too
#: (81 s in all, measured with this file's checks), the slowest c20200-min in 10.4 s.
ORTOOLS_SUBSET = frozenset(
    [f"gap{n}-c{m}{j}-1-{sense}" for n, (m, j) in enumerate(
        ((5, 15), (5, 20), (5, 25), (5, 30), (8, 24), (8, 32), (8, 40), (8, 48), (10, 30), (10, 40), (10, 50), (10, 60)), 1)
     for sense in ("max", "min")]
    + [f"gapa-a{m:02d}{n}-min" for m in (5, 10, 20) for n in (100, 200)]
    + ["gapb-b20100-min", "gapc-c20100-min"]
    + [f"mmkp-{name}" for name in ("I01", "I02", "I05", "I06")]
    + [f"mknap1-{k}" for k in range(1, 8)]
    + ["ibm-marketing"]
)

_ORTOOLS_MISSING = pytest.mark.skipif(not BACKENDS["ortools"].available(), reason="OR-Tools not installed")


def with_solvers(params: list) -> list:
    """Each param with ``solver`` appended: HiGHS under its own id, OR-Tools for ORTOOLS_SUBSET."""
    out = []
    for param in params:
        out.append(pytest.param(*param.values, "highs", id=param.id))
        if param.id in ORTOOLS_SUBSET:
            out.append(pytest.param(*param.values, "ortools", id=f"{param.id}-ortools", marks=_ORTOOLS_MISSING))
    return out


def solve_and_verify(case: Case, *, solver: str = "highs", mip_gap: float | None = None) -> optimizer.SolveResult:
    """Solve, insist on a proven optimum and a verified plan at the published value."""
    problem = case.problem()
    start = time.perf_counter()
    result = optimizer.solve(problem, solver=solver, time_limit=TIME_LIMIT, mip_gap=mip_gap)
    seconds = time.perf_counter() - start
    assert result.status is optimizer.Status.OPTIMAL, (
        f"{case.name}: {result.status.value} after {seconds:.1f} s "
        f"(objective {result.objective_value}, bound {result.bound}): {result.message}"
    )
    check = optimizer.verify_plan(problem, result.plan)
    assert check.violations == (), f"{case.name}: {check.violations}"
    assert result.objective == pytest.approx(case.optimum, abs=case.tolerance, rel=0), case.name
    assert check.objective == pytest.approx(case.optimum, abs=case.tolerance, rel=0), case.name
    return result


@pytest.fixture
def solved(request):  # type: ignore[no-untyped-def]
    """``solved(case)``: :func:`solve_and_verify`, recording the wall time as the test's
    ``solve_seconds`` user property (in ``--junitxml`` output; ``--durations=0`` shows it too)."""

    def run(case: Case, **kwargs: Any) -> optimizer.SolveResult:
        start = time.perf_counter()
        try:
            return solve_and_verify(case, **kwargs)
        finally:
            request.node.user_properties.append(("solve_seconds", round(time.perf_counter() - start, 3)))

    return run


# ---------------------------------------------------------------------------------------------
# GAP: OR-Library gap1..gap12, both senses; Chu-Beasley gapa..gapc, minimisation
# ---------------------------------------------------------------------------------------------


def _orlib_gap_params() -> list:
    params = []
    for number in range(1, 13):
        for k in range(1, 6):
            for sense in ("max", "min"):
                row = GAP_OPTIMA[(f"orlib/gap{number}.txt", sense, k)]
                params.append(pytest.param(number, k, sense, id=f"gap{number}-{row['instance']}-{sense}"))
    return params


@pytest.mark.parametrize("number, k, sense, solver", with_solvers(_orlib_gap_params()))
def test_orlib_gap(number: int, k: int, sense: str, solver: str, solved) -> None:  # type: ignore[no-untyped-def]
    instance = read_orlib_gap(CASES_DIR / "gap" / "orlib" / f"gap{number}.txt")[k - 1]
    row = GAP_OPTIMA[(f"orlib/gap{number}.txt", sense, k)]
    assert row["instance"] == instance.name and row["status"] == "optimal"
    assert (int(row["agents"]), int(row["jobs"])) == (instance.agents, instance.jobs)
    solved(gap_case(instance, sense, float(row["value"])), solver=solver)


@pytest.mark.parametrize(
    "letter, k, solver",
    with_solvers([
        pytest.param(letter, k, id=f"gap{letter}-{letter}{m:02d}{n}-min")
        for letter in CHU_BEASLEY_MIN
        for k, (m, n) in enumerate(((5, 100), (5, 200), (10, 100), (10, 200), (20, 100), (20, 200)), 1)
    ]),
)
def test_chu_beasley_gap_min(letter: str, k: int, solver: str, solved) -> None:  # type: ignore[no-untyped-def]
    instance = read_orlib_gap(CASES_DIR / "gap" / "orlib" / f"gap{letter}.txt", letter)[k - 1]
    optimum = CHU_BEASLEY_MIN[letter][k - 1]
    # the README's table and gap_optima.csv must agree, or one of them was mistyped
    assert float(GAP_OPTIMA[(f"orlib/gap{letter}.txt", "min", k)]["value"]) == optimum
    solved(gap_case(instance, "min", optimum), solver=solver)


# ---------------------------------------------------------------------------------------------
# MMKP (Khan), mknap1 (Petersen), IBM marketing campaign
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, solver", with_solvers([pytest.param(n, id=f"mmkp-{n}") for n in MMKP_OPTIMA]))
def test_mmkp(name: str, solver: str, solved) -> None:  # type: ignore[no-untyped-def]
    value, weight, capacity, _exact = read_mmkp(CASES_DIR / "mmkp" / "orlib_khan" / name)
    solved(mmkp_case(name, value, weight, capacity, MMKP_OPTIMA[name]), solver=solver)


@pytest.mark.parametrize("name", [pytest.param(n, id=f"mmkp-{n}-published-solution") for n in MMKP_OPTIMA])
def test_mmkp_published_solution_checks_the_parser(name: str) -> None:
    """The file's own exact solution, as a plan, is feasible and worth the optimum: parser sanity."""
    value, weight, capacity, exact = read_mmkp(CASES_DIR / "mmkp" / "orlib_khan" / name)
    assert exact is not None
    case = mmkp_case(name, value, weight, capacity, MMKP_OPTIMA[name])
    plan = (
        case.options.set_index(["customer_id", "offer_id"])
        .loc[[(f"class{c}", f"item{k}") for c, k in enumerate(exact)]]
        .reset_index()
    )
    check = optimizer.verify_plan(case.problem(), plan)
    assert check.violations == ()
    assert check.objective == pytest.approx(case.optimum, abs=case.tolerance, rel=0)


@pytest.mark.parametrize(
    "k, solver", with_solvers([pytest.param(k, id=f"mknap1-{k}") for k in range(1, len(MKNAP1_OPTIMA) + 1)])
)
def test_mknap1(k: int, solver: str, solved) -> None:  # type: ignore[no-untyped-def]
    profit, weight, capacity, header_optimum = read_mknap(CASES_DIR / "mknap" / "mknap1.txt")[k - 1]
    assert header_optimum == MKNAP1_OPTIMA[k - 1]
    solved(mknap_case(f"mknap1-{k}", profit, weight, capacity, MKNAP1_OPTIMA[k - 1]), solver=solver)


@pytest.mark.parametrize("solver", with_solvers([pytest.param(id="ibm-marketing")]))
def test_ibm_marketing_campaign(solver: str, solved) -> None:  # type: ignore[no-untyped-def]
    case = ibm_marketing_case(CASES_DIR / "marketing" / "ibm_marketing_campaign_data.json")
    assert case.optimum == 844.4226
    # the default relative gap (1e-6, ~8e-4 here) is looser than the 1e-4 the published value allows
    result = solved(case, solver=solver, mip_gap=1e-9)
    # the notebook's own checks: every product within its share, the budget respected
    usage = {limit.name: limit.usage for limit in result.limits}
    assert usage["budget"] <= 500 + 1e-9
    assert all(usage[f"mix_{p}:max_share"] <= 1e-9 for p in ("Savings", "Mortgage", "Pension"))
