"""Property tests of the optimizer on random small instances (Hypothesis).

Every instance is drawn as plain data (``Instance``) and turned into a :class:`Problem`
through the public constructor. The properties:

(a) every plan ``solve`` returns passes ``verify_plan`` and its objective is the verifier's;
(b) on tiny instances (<= 12 options) the solver's status and objective equal a brute-force
    enumeration of all 2^n subsets;
(c) HiGHS, CBC and OR-Tools reach the same objective;
(d) each coupling limit's reported shadow price is a supergradient of the LP optimum in that
    limit's right-hand side (the budget's is checked against finite differences on its own).

(a), (b) and (d) run with HiGHS and with OR-Tools (``SOLVERS``): the same properties, another
solver stack (SCIP, GLOP), so that a property cannot pass through one solver's quirk.

Brute force and ``verify_plan``: one ``verify_plan`` call costs ~25 ms (pandas merges and
group-bys), so calling it on all 4,096 subsets of a 12-option instance would take ~100 s per
example. The brute force therefore evaluates every subset with a vectorised re-statement of
the documented rules written here from the issue text (``_reference_feasible``), and that
reference is tied to ``verify_plan`` on the subsets that decide the answer: the brute-force
optimum must verify, and the best-valued subsets the reference rejects must be rejected by
``verify_plan`` too (they are the ones a wrong verifier or a wrong reference would let
through). A disagreement between the two fails the test on its own.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizer
from optimizer import Problem, Scenario, Status, solve, verify_plan
from optimizer.model import build_model
from optimizer.solvers import BACKENDS
from optimizer.solvers.base import RawStatus, SolveOptions

COMMON = {
    "deadline": None,
    "derandomize": True,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

TOL = 1e-6
P_VALUES = (0.0, 0.1, 0.2, 0.25, 0.5, 0.8, 1.0)
SEGMENTS = ("A", "B", "C")
#: Backends the properties run against; a missing one is skipped.
SOLVERS = [
    pytest.param(name, marks=pytest.mark.skipif(not BACKENDS[name].available(), reason=f"{name} not installed"))
    for name in ("highs", "ortools")
]

# --------------------------------------------------------------------------------------
# Instances as plain data


@dataclasses.dataclass(frozen=True)
class Instance:
    scenario: dict[str, Any]
    options: pd.DataFrame
    customers: pd.DataFrame
    dnc: tuple[str, ...]
    # predicate per rule name: (option row, customer row) -> bool, the reference's own filter
    filters: dict[str, Callable[[dict[str, Any], dict[str, Any]], bool]]

    def problem(self, **scenario_updates: Any) -> Problem:
        data = {**self.scenario, **scenario_updates}
        return Problem.from_tables(Scenario.model_validate(data), self.options, self.customers)


def _where_forms(offers: list[str], channels: list[str]) -> list[tuple[dict[str, Any], Callable[..., bool]]]:
    """Filters on option columns, customer attributes and ids, with the meaning the README gives them."""
    return [
        ({"segment": "A"}, lambda o, c: c["segment"] == "A"),
        ({"segment": {"in": ["A", "C"]}}, lambda o, c: c["segment"] in ("A", "C")),
        ({"segment": {"not_in": ["B"]}, "tier": {"<": 3}}, lambda o, c: c["segment"] != "B" and c["tier"] < 3),
        ({"tier": {">=": 2}}, lambda o, c: c["tier"] >= 2),
        ({"tier": 2}, lambda o, c: c["tier"] == 2),
        ({"tier": "2"}, lambda o, c: c["tier"] == 2),  # quoted in YAML, still a number on a numeric column
        ({"weight": {"<=": 1}}, lambda o, c: o["weight"] <= 1),
        ({"weight": {">": 0, "<": 3}}, lambda o, c: 0 < o["weight"] < 3),
        ({"channel_id": channels[0]}, lambda o, c, h=channels[0]: o["channel_id"] == h),
        ({"offer_id": {"!=": offers[0]}}, lambda o, c, f=offers[0]: o["offer_id"] != f),
        ({"p_accept": {">=": 0.5}}, lambda o, c: o["p_accept"] >= 0.5),
    ]


def maybe(strategy: st.SearchStrategy, p_none: int = 1) -> st.SearchStrategy:
    """``strategy`` or None; a larger ``p_none`` makes None more likely."""
    return st.one_of(*([st.none()] * p_none), strategy)


@st.composite
def instances(draw: st.DrawFn, max_options: int = 18) -> Instance:
    n_cust = draw(st.integers(2, 6))
    offers = [f"o{i}" for i in range(draw(st.integers(1, 3)))]
    channels = [f"h{i}" for i in range(draw(st.integers(1, 3)))]
    customers = [f"c{i}" for i in range(n_cust)]
    triples = list(itertools.product(customers, offers, channels))
    picked = sorted(
        draw(
            st.lists(
                st.sampled_from(range(len(triples))), min_size=1, max_size=min(max_options, len(triples)), unique=True
            )
        )
    )
    rows = []
    for k in picked:
        c, o, h = triples[k]
        rows.append(
            {
                "customer_id": c,
                "offer_id": o,
                "channel_id": h,
                "p_accept": draw(st.sampled_from(P_VALUES)),
                "value": float(draw(st.integers(-10, 60))),
                "contact_cost": float(draw(st.integers(0, 5))),
                "offer_cost": float(draw(st.integers(0, 15))),
                "weight": float(draw(st.integers(0, 3))),
            }
        )
    options = pd.DataFrame(rows)

    max_contacts = [draw(st.sampled_from((1, 1, 2, 3, 0))) for _ in customers]
    min_contacts = [min(m, draw(st.sampled_from((0,) * 8 + (1, 2)))) for m in max_contacts]
    cust = pd.DataFrame(
        {
            "customer_id": customers,
            "segment": [draw(st.sampled_from(SEGMENTS)) for _ in customers],
            "tier": [draw(st.integers(1, 3)) for _ in customers],
            "max_contacts": max_contacts,
            "min_contacts": min_contacts,
        }
    )
    # a drawn channel, offer or filter value may match no drawn option: a template, not a typo
    scenario: dict[str, Any] = {"name": "random", "channels": {}, "offers": {}, "allow_unused": True}
    scenario["budget"] = draw(maybe(st.integers(0, 80).map(float)))
    scenario["min_roi"] = draw(maybe(st.sampled_from((-0.5, 0.0, 0.2, 1.0)), 2))
    for h in channels:
        scenario["channels"][h] = {
            "capacity": draw(maybe(st.integers(0, 6))),
            "max_per_customer": draw(maybe(st.integers(0, 2))),
        }
    for o in offers:
        max_t = draw(maybe(st.integers(0, 5)))
        min_t = draw(maybe(st.integers(0, 3), 5))
        if min_t is not None and max_t is not None and min_t > max_t:
            min_t = max_t
        scenario["offers"][o] = {
            "max_targets": max_t,
            "min_targets": min_t,
            "budget": draw(maybe(st.integers(0, 40).map(float))),
            "min_roi": draw(maybe(st.sampled_from((-0.5, 0.0, 0.5)), 2)),
        }
    forms = _where_forms(offers, channels)
    filters = {}
    rules = []
    for i in range(draw(st.integers(0, 2))):
        where, predicate = forms[draw(st.integers(0, len(forms) - 1))]
        rule: dict[str, Any] = {
            "name": f"rule{i}",
            "where": where,
            "sum": draw(st.sampled_from((None, "weight", "spend"))),
        }
        kind = draw(st.sampled_from(("max", "max_share", "min_share", "max", "min")))
        if kind in ("max", "min"):
            rule[kind] = float(draw(st.integers(0, 8)))
        else:
            rule[kind] = draw(st.sampled_from((0.0, 0.25, 0.5, 0.75, 1.0)))
        rules.append(rule)
        filters[rule["name"]] = predicate
    scenario["rules"] = rules
    if len(offers) >= 2 and draw(st.booleans()):
        scenario["exclusions"] = [(offers[0], offers[1])]
    dnc: tuple[str, ...] = ()
    if draw(st.booleans()):
        dnc = (draw(st.sampled_from(customers)),)
        # a list that blocks every option is its own test (test_everyone_blocked_gives_the_empty_plan)
        if set(options["customer_id"]) != set(dnc):
            scenario["do_not_contact"] = list(dnc)
        else:
            dnc = ()
    return Instance(scenario, options, cust, dnc, filters)


# --------------------------------------------------------------------------------------
# The brute-force reference


def _reference_feasible(inst: Instance, problem: Problem, subsets: np.ndarray) -> np.ndarray:
    """Feasibility of each row of ``subsets`` (0/1 over ``problem.options``), from the rules as documented."""
    s = inst.scenario
    opts = problem.options.reset_index(drop=True)
    cust = inst.customers.set_index("customer_id")
    orows = opts.to_dict("records")
    crows = [cust.loc[r["customer_id"]].to_dict() for r in orows]
    X = subsets.astype(np.float64)
    ok = np.ones(len(X), bool)

    def cap(value: np.ndarray, sense: str, bound: float) -> np.ndarray:
        slack = TOL * max(1.0, abs(bound))
        return value <= bound + slack if sense == "<=" else value >= bound - slack

    p = opts["p_accept"].to_numpy()
    spend = opts["contact_cost"].to_numpy() + p * opts["offer_cost"].to_numpy()
    ret = p * opts["value"].to_numpy()
    measures = {None: np.ones(len(opts)), "weight": opts["weight"].to_numpy(), "spend": spend}

    # per customer: contacts (a do-not-contact customer still counts, with zero options), one per offer
    for _, c in inst.customers.iterrows():
        mine = (opts["customer_id"] == c["customer_id"]).to_numpy()
        n = X[:, mine].sum(axis=1)
        ok &= (n <= c["max_contacts"]) & (n >= c["min_contacts"])
        for o in s["offers"]:
            ok &= X[:, mine & (opts["offer_id"] == o).to_numpy()].sum(axis=1) <= 1
        for a, b in s.get("exclusions", []):
            has_a = X[:, mine & (opts["offer_id"] == a).to_numpy()].sum(axis=1) > 0
            has_b = X[:, mine & (opts["offer_id"] == b).to_numpy()].sum(axis=1) > 0
            ok &= ~(has_a & has_b)
        for h, spec in s["channels"].items():
            if spec["max_per_customer"] is not None:
                ok &= X[:, mine & (opts["channel_id"] == h).to_numpy()].sum(axis=1) <= spec["max_per_customer"]
    for h, spec in s["channels"].items():
        if spec["capacity"] is not None:
            ok &= cap(X[:, (opts["channel_id"] == h).to_numpy()].sum(axis=1), "<=", spec["capacity"])
    if s.get("budget") is not None:
        ok &= cap(X @ spend, "<=", s["budget"])
    if s.get("min_roi") is not None:
        ok &= cap(X @ (ret - (1 + s["min_roi"]) * spend), ">=", 0.0)
    for o, spec in s["offers"].items():
        on = (opts["offer_id"] == o).to_numpy().astype(float)
        if spec["max_targets"] is not None:
            ok &= cap(X @ on, "<=", spec["max_targets"])
        if spec["min_targets"] is not None:
            ok &= cap(X @ on, ">=", spec["min_targets"])
        if spec["budget"] is not None:
            ok &= cap(X @ (on * spend), "<=", spec["budget"])
        if spec["min_roi"] is not None:
            ok &= cap(X @ (on * (ret - (1 + spec["min_roi"]) * spend)), ">=", 0.0)
    for rule in s.get("rules", []):
        inside = np.array([inst.filters[rule["name"]](o, c) for o, c in zip(orows, crows)], dtype=float)
        m = measures[rule["sum"]]
        if rule.get("max") is not None:
            ok &= cap(X @ (m * inside), "<=", rule["max"])
        if rule.get("min") is not None:
            ok &= cap(X @ (m * inside), ">=", rule["min"])
        if rule.get("max_share") is not None:
            ok &= cap(X @ (m * inside) - rule["max_share"] * (X @ m), "<=", 0.0)
        if rule.get("min_share") is not None:
            ok &= cap(X @ (m * inside) - rule["min_share"] * (X @ m), ">=", 0.0)
    return ok


def _subset_plan(problem: Problem, subset: np.ndarray) -> pd.DataFrame:
    return problem.options.loc[subset.astype(bool), ["customer_id", "offer_id", "channel_id"]]


def brute_force(inst: Instance, problem: Problem, n_checked: int = 5) -> float | None:
    """Best objective over all subsets of ``problem.options`` (None when none is feasible)."""
    n = problem.n_options
    subsets = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.int8)
    opts = problem.options
    p = opts["p_accept"].to_numpy()
    net = p * opts["value"].to_numpy() - opts["contact_cost"].to_numpy() - p * opts["offer_cost"].to_numpy()
    values = subsets @ net
    feasible = _reference_feasible(inst, problem, subsets)
    order = np.argsort(-values, kind="stable")
    # verify_plan is the referee on the subsets that decide the answer
    rejected = [k for k in order if not feasible[k]][:n_checked]
    for k in rejected:
        assert not verify_plan(problem, _subset_plan(problem, subsets[k])).ok, (
            f"reference rejects subset {subsets[k]} but verify_plan accepts it"
        )
    if not feasible.any():
        return None
    best = next(k for k in order if feasible[k])
    check = verify_plan(problem, _subset_plan(problem, subsets[best]))
    assert check.ok, f"reference accepts subset {subsets[best]} but verify_plan says {check.violations}"
    return float(values[best])


# --------------------------------------------------------------------------------------
# (a) every plan verifies


@pytest.mark.parametrize("solver", SOLVERS)
@settings(max_examples=60, **COMMON)
@given(inst=instances())
def test_every_plan_verifies(inst: Instance, solver: str) -> None:
    problem = inst.problem()
    result = solve(problem, solver=solver)
    assert result.status in (Status.OPTIMAL, Status.INFEASIBLE), result.message
    if result.status is Status.INFEASIBLE:
        assert not result.has_plan and result.diagnosis is not None
        return
    check = verify_plan(problem, result.plan)
    assert check.ok, check.violations
    assert result.objective == pytest.approx(check.objective, abs=1e-9)
    assert set(result.plan["customer_id"]).isdisjoint(inst.dnc)
    assert result.bound is not None and result.bound >= result.objective - 1e-9
    for limit in result.limits:  # usage reported per limit is the verifier's
        assert limit.usage == pytest.approx(check.usage[limit.name], abs=1e-9), limit.name


# --------------------------------------------------------------------------------------
# (b) equal to brute force on tiny instances


@pytest.mark.parametrize("solver", SOLVERS)
@settings(max_examples=60, **COMMON)
@given(inst=instances(max_options=12))
def test_tiny_instances_match_brute_force(inst: Instance, solver: str) -> None:
    problem = inst.problem()
    assert problem.n_options <= 12
    best = brute_force(inst, problem)
    result = solve(problem, solver=solver)
    if best is None:
        assert result.status is Status.INFEASIBLE, f"brute force finds no plan, solver says {result.status}"
        assert result.diagnosis is not None and result.message
        return
    assert result.status is Status.OPTIMAL, f"brute force finds {best}, solver says {result.status}: {result.message}"
    assert abs(result.objective - best) <= 1e-6, (result.objective, best)
    assert verify_plan(problem, result.plan).ok


def test_brute_force_by_hand() -> None:
    """The reference itself on an instance small enough to solve in one's head.

    Two customers, one offer, one channel of capacity 1: c0 nets 0.5*20-1 = 9, c1 nets
    1.0*5-1 = 4, so the optimum contacts c0 only and is worth 9.
    """
    scenario = {
        "name": "hand",
        "channels": {"h0": {"capacity": 1, "max_per_customer": None}},
        "offers": {"o0": {"max_targets": None, "min_targets": None, "budget": None, "min_roi": None}},
        "rules": [],
    }
    options = pd.DataFrame(
        {
            "customer_id": ["c0", "c1"],
            "offer_id": "o0",
            "channel_id": "h0",
            "p_accept": [0.5, 1.0],
            "value": [20.0, 5.0],
            "contact_cost": 1.0,
            "offer_cost": 0.0,
            "weight": 0.0,
        }
    )
    customers = pd.DataFrame(
        {"customer_id": ["c0", "c1"], "segment": "A", "tier": 1, "max_contacts": 1, "min_contacts": 0}
    )
    inst = Instance(scenario, options, customers, (), {})
    problem = inst.problem()
    assert brute_force(inst, problem) == pytest.approx(9.0)
    assert solve(problem).objective == pytest.approx(9.0)


# --------------------------------------------------------------------------------------
# (c) the backends agree


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(name, marks=pytest.mark.skipif(not BACKENDS[name].available(), reason=f"{name} not installed"))
        for name in ("cbc", "ortools")
    ],
)
@settings(max_examples=20, **COMMON)
@given(inst=instances(max_options=14))
def test_backends_agree(inst: Instance, other: str) -> None:
    problem = inst.problem()
    highs = solve(problem, solver="highs")
    if highs.status is Status.INFEASIBLE and other == "cbc":
        # solve(solver="cbc") crashes in its diagnosis here (test_cbc_reports_infeasible_scenarios),
        # so the backend itself is asked whether the model is infeasible
        raw = BACKENDS["cbc"].solve_mip(build_model(problem), SolveOptions())
        assert raw.status is RawStatus.INFEASIBLE, raw.status
        return
    result = solve(problem, solver=other)
    assert highs.status == result.status, (highs.message, result.message)
    if highs.status is Status.INFEASIBLE:
        # the elastic diagnosis ran on the other backend's continuous slacks; its least violation
        # can be reached by different limits (a tie), so only its naming some limit is compared
        assert result.diagnosis is not None and result.diagnosis.violated, result.message
        assert other in result.diagnosis.method
        return
    assert highs.status is Status.OPTIMAL
    assert highs.objective == pytest.approx(result.objective, abs=1e-6)
    assert verify_plan(problem, result.plan).ok


@pytest.mark.skipif(not BACKENDS["cbc"].available(), reason="CBC (PuLP) not installed")
def test_cbc_reports_infeasible_scenarios() -> None:
    scenario = Scenario.model_validate({"name": "t", "channels": {"h": {}}, "offers": {"o": {"min_targets": 3}}})
    options = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "offer_id": "o",
            "channel_id": "h",
            "p_accept": 0.5,
            "value": 10.0,
            "contact_cost": 1.0,
            "offer_cost": 0.0,
        }
    )
    result = solve(Problem.from_tables(scenario, options), solver="cbc")
    assert result.status is Status.INFEASIBLE


# --------------------------------------------------------------------------------------
# (d) shadow prices against the LP optimum


def _lp_value(model: Any, backend: str, row: int, bound_side: str, rhs: float) -> float | None:
    """LP optimum with coupling row ``row``'s active bound moved to ``rhs`` (None if infeasible)."""
    bounds = getattr(model, bound_side).copy()
    bounds[row] = rhs
    moved = dataclasses.replace(model, **{bound_side: bounds})
    raw = BACKENDS[backend].solve_lp(moved, SolveOptions())
    if raw.status is RawStatus.INFEASIBLE:
        return None
    assert raw.status is RawStatus.OPTIMAL, raw.message
    return raw.objective


def _assert_supergradient(
    model: Any, backend: str, row: int, sense: str, rhs: float, dual: float, delta: float
) -> None:
    """The LP optimum v(b) is concave in a row's bound b, and an optimal dual lies between its one-sided slopes."""
    side = "row_upper" if sense == "<=" else "row_lower"
    here = _lp_value(model, backend, row, side, rhs)
    up = _lp_value(model, backend, row, side, rhs + delta)
    down = _lp_value(model, backend, row, side, rhs - delta)
    assert here is not None
    tol = 1e-5 * max(1.0, abs(dual))
    # a move that tightens the row may leave no LP solution: that side's slope is then infinite
    if up is not None:
        right = (up - here) / delta
        assert dual >= right - tol, f"dual {dual} below the right slope {right}"
    if down is not None:
        left = (here - down) / delta
        assert dual <= left + tol, f"dual {dual} above the left slope {left}"


@settings(max_examples=40, **COMMON)
@given(
    inst=instances(max_options=18), budget=st.integers(1, 60).map(float),
    backend=st.sampled_from(tuple(name for name in ("highs", "cbc", "ortools") if BACKENDS[name].available())),
)
def test_budget_shadow_price_is_the_lp_slope(inst: Instance, budget: float, backend: str) -> None:
    """A budget as the only coupling limit: its price is d(LP optimum)/d(budget)."""
    s = {
        **inst.scenario,
        "budget": budget,
        "min_roi": None,
        "rules": [],
        "channels": {h: {**c, "capacity": None} for h, c in inst.scenario["channels"].items()},
        "offers": {
            o: {"max_targets": None, "min_targets": None, "budget": None, "min_roi": None}
            for o in inst.scenario["offers"]
        },
    }
    # no minimum contacts: the empty plan is feasible, so every budget >= 0 has an LP optimum
    customers = inst.customers.assign(min_contacts=0)
    problem = Problem.from_tables(Scenario.model_validate(s), inst.options, customers)
    result = solve(problem, solver=backend)
    assert result.status is Status.OPTIMAL, result.message
    (report,) = result.limits
    assert report.name == "budget"
    model = build_model(problem)
    delta = 1e-3
    # the slopes come from HiGHS whatever the backend: CBC's LP values arrive through PuLP's
    # solution file rounded to ~1e-7, too coarse for a finite difference over 1e-3
    here = _lp_value(model, "highs", 0, "row_upper", budget)
    up = _lp_value(model, "highs", 0, "row_upper", budget + delta)
    down = _lp_value(model, "highs", 0, "row_upper", budget - delta)
    assert here is not None and up is not None
    assert here == pytest.approx(result.lp_bound, abs=1e-6)
    right = (up - here) / delta
    if down is None:
        assert report.shadow_price >= right - 1e-5
        return
    left = (here - down) / delta
    if abs(left - right) <= 1e-6 * max(1.0, abs(left)):  # not at a breakpoint: the slope is unique
        assert report.shadow_price == pytest.approx(right, abs=1e-5, rel=1e-5)
    else:
        assert right - 1e-5 <= report.shadow_price <= left + 1e-5
    assert report.shadow_price >= -1e-9  # more budget never hurts


@pytest.mark.parametrize("solver", SOLVERS)
@settings(max_examples=30, **COMMON)
@given(inst=instances(max_options=18))
def test_every_shadow_price_is_a_supergradient(inst: Instance, solver: str) -> None:
    """For every coupling limit, the reported price read as a dual lies between the LP's one-sided slopes."""
    problem = inst.problem()
    result = solve(problem, solver=solver)
    if result.status is Status.INFEASIBLE:
        return
    model = build_model(problem)
    for row, (limit, report) in enumerate(zip(problem.limits, result.limits)):
        # "raising a <= limit by one unit is worth X": X = dv/db; "lowering a >= limit": X = -dv/db
        dual = report.shadow_price if limit.sense == "<=" else -report.shadow_price
        _assert_supergradient(model, "highs", row, limit.sense, limit.rhs, dual, 1e-3)


def test_everyone_blocked_gives_the_empty_plan() -> None:
    scenario = Scenario.model_validate(
        {"name": "t", "channels": {"h": {}}, "offers": {"o": {}}, "do_not_contact": ["a"]}
    )
    options = pd.DataFrame(
        {
            "customer_id": ["a"],
            "offer_id": "o",
            "channel_id": "h",
            "p_accept": 0.5,
            "value": 10.0,
            "contact_cost": 1.0,
            "offer_cost": 0.0,
        }
    )
    result = solve(Problem.from_tables(scenario, options))
    assert result.status is Status.OPTIMAL, (result.status, result.message)
    assert result.objective == 0.0 and len(result.plan) == 0


def test_public_names_are_exported() -> None:
    for name in optimizer.__all__:
        assert hasattr(optimizer, name), name
