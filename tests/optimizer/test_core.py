"""Hand-derived instances, shadow prices, the verifier catching bad plans, the facade."""

from __future__ import annotations

import pandas as pd
import pytest

import optimizer
from optimizer import NoPlanError, Problem, Scenario, Status, solve, verify_plan
from optimizer.solvers import BACKENDS

SOLVERS = [name for name, backend in BACKENDS.items() if backend.available()]


def options(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "offer_id", "channel_id", "p_accept", "value", "contact_cost", "offer_cost"])


def solved(problem: Problem, **kwargs) -> optimizer.SolveResult:
    result = solve(problem, **kwargs)
    if result.has_plan:
        check = verify_plan(problem, result.plan)
        assert check.ok, check.violations
        assert check.objective == pytest.approx(result.objective, abs=1e-9)
    return result


@pytest.mark.parametrize("solver", SOLVERS)
def test_budget_picks_best_value_per_yuan_combination(solver: str) -> None:
    # Net values: A 10-2=8 (spend 2), B 9-3=6 (spend 3), C 5-1=4 (spend 1). Budget 3:
    # {A, C} spends 3 and nets 12; {B} nets 6; {A} 8. Optimum 12 with A and C.
    table = options([("A", "o", "sms", 1.0, 10, 2, 0), ("B", "o", "sms", 1.0, 9, 3, 0), ("C", "o", "sms", 1.0, 5, 1, 0)])
    scenario = Scenario(name="t", budget=3, channels={"sms": {}}, offers={"o": {}})
    result = solved(Problem.from_tables(scenario, table), solver=solver)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(12)
    assert sorted(result.plan["customer_id"]) == ["A", "C"]


@pytest.mark.parametrize("solver", SOLVERS)
def test_one_offer_per_customer_and_capacity(solver: str) -> None:
    # Customer X can take offer o by call (net 10) or sms (net 4): one-per-offer keeps one.
    # Call capacity 1 goes to X (10 > Y's 7); Y falls back to sms (net 3). Total 13.
    table = options([
        ("X", "o", "call", 1.0, 11, 1, 0), ("X", "o", "sms", 1.0, 5, 1, 0),
        ("Y", "o", "call", 1.0, 8, 1, 0), ("Y", "o", "sms", 1.0, 4, 1, 0),
    ])
    customers = pd.DataFrame({"customer_id": ["X", "Y"], "max_contacts": [2, 2]})
    scenario = Scenario(name="t", channels={"call": {"capacity": 1}, "sms": {}}, offers={"o": {}})
    result = solved(Problem.from_tables(scenario, table, customers), solver=solver)
    assert result.objective == pytest.approx(13)
    assert set(map(tuple, result.plan[["customer_id", "channel_id"]].to_numpy())) == {("X", "call"), ("Y", "sms")}


def test_exclusion_and_min_contacts() -> None:
    # Z has offers a (net 5), b (net 4), c (net -1); a and b are exclusive; min 2 contacts:
    # best pair without {a, b} is {a, c} = 4.
    table = options([("Z", "a", "sms", 1.0, 6, 1, 0), ("Z", "b", "sms", 1.0, 5, 1, 0), ("Z", "c", "sms", 1.0, 0, 1, 0)])
    customers = pd.DataFrame({"customer_id": ["Z"], "max_contacts": [3], "min_contacts": [2]})
    scenario = Scenario(name="t", channels={"sms": {}}, offers={"a": {}, "b": {}, "c": {}}, exclusions=[("a", "b")])
    result = solved(Problem.from_tables(scenario, table, customers))
    assert result.objective == pytest.approx(4)
    assert sorted(result.plan["offer_id"]) == ["a", "c"]


def test_an_exclusion_listed_many_times_is_one_rule_in_the_model_and_the_verifier() -> None:
    # 20,000 copies, either way round: one model row per customer holding both offers, one
    # violation line; they once built a row per copy and ran a pass over the plan per copy
    table = options([("Z", "a", "sms", 1.0, 6, 1, 0), ("Z", "b", "sms", 1.0, 5, 1, 0), ("Y", "a", "sms", 1.0, 6, 1, 0)])
    listed = [("a", "b"), ("b", "a")] * 10_000
    scenario = Scenario(name="t", channels={"sms": {}}, offers={"a": {}, "b": {}}, exclusions=listed)
    problem = Problem.from_tables(scenario, table)
    assert problem.exclusions == (("a", "b"),)
    from optimizer.model import build_model

    assert build_model(problem).n_rows == build_model(Problem.from_tables(scenario.model_copy(update={"exclusions": [("a", "b")]}), table)).n_rows
    result = solved(problem)
    assert sorted(result.plan["offer_id"]) == ["a", "a"]  # Z takes a (net 5) over b (net 4)
    both = pd.DataFrame({"customer_id": ["Z", "Z"], "offer_id": ["a", "b"], "channel_id": ["sms", "sms"]})
    violations = verify_plan(problem, both).violations
    assert [v for v in violations if v.startswith("exclusion")] == ["exclusion a+b: 1 customer(s) get both, e.g. Z"]


def test_roi_limit_and_empty_plan_note() -> None:
    # Return 10 on spend 8 is ROI 25%; min_roi 0.5 forbids it, and nothing forces a contact:
    # the empty plan is optimal, and the scenario is flagged as having only ratio limits.
    table = options([("A", "o", "sms", 0.5, 20, 3, 10)])
    scenario = Scenario(name="t", min_roi=0.5, channels={"sms": {}}, offers={"o": {}})
    result = solved(Problem.from_tables(scenario, table))
    assert result.status is Status.OPTIMAL and len(result.plan) == 0 and result.objective == 0
    assert scenario.ratio_limits_only


def test_budget_shadow_price_is_the_marginal_value_per_yuan() -> None:
    # LP relaxation with budget 2.5 takes A (spend 2, net 8) and half of B (spend 1, net 3):
    # one more yuan buys the other half of B, worth 3 per yuan of spend.
    table = options([("A", "o", "sms", 1.0, 10, 2, 0), ("B", "o", "sms", 1.0, 4, 1, 0)])
    scenario = Scenario(name="t", budget=2.5, channels={"sms": {}}, offers={"o": {}})
    result = solved(Problem.from_tables(scenario, table))
    budget = next(limit for limit in result.limits if limit.name == "budget")
    assert budget.shadow_price == pytest.approx(3.0)
    assert result.lp_bound == pytest.approx(9.5)
    assert result.objective == pytest.approx(8)
    assert "worth 3 yuan" in budget.sentence()


def test_infeasible_scenario_is_diagnosed_not_raised() -> None:
    # Two customers must each get a contact costing 5, but the budget is 6.
    table = options([("A", "o", "sms", 1.0, 10, 5, 0), ("B", "o", "sms", 1.0, 10, 5, 0)])
    scenario = Scenario(name="t", budget=6, contact_policy={"min_contacts": 1}, channels={"sms": {}}, offers={"o": {}})
    result = solve(Problem.from_tables(scenario, table))
    assert result.status is Status.INFEASIBLE
    assert result.diagnosis is not None
    names = {name for name, _, _ in result.diagnosis.violated}
    assert names & {"budget", "min_contacts"}
    with pytest.raises(NoPlanError, match="INFEASIBLE"):
        _ = result.plan


def test_verifier_lists_every_broken_limit() -> None:
    table = options([("A", "o", "call", 1.0, 10, 2, 0), ("B", "o", "call", 1.0, 10, 2, 0), ("A", "p", "call", 1.0, 3, 1, 0)])
    scenario = Scenario(
        name="t", budget=2.5, channels={"call": {"capacity": 1}}, offers={"o": {"max_targets": 1}, "p": {}},
        exclusions=[("o", "p")], do_not_contact=["B"],
    )
    problem = Problem.from_tables(scenario, table)
    bad_plan = pd.DataFrame({
        "customer_id": ["A", "B", "A", "C"], "offer_id": ["o", "o", "p", "o"], "channel_id": ["call"] * 4,
    })
    text = " | ".join(verify_plan(problem, bad_plan).violations)
    for expected in ("not eligible", "do-not-contact", "max_contacts", "exclusion o+p", "channel:call", "budget"):
        assert expected in text, (expected, text)


def test_time_limit_returns_best_plan_with_bound() -> None:
    from optimizer.demo import generate_base

    table, customers = generate_base(3000, seed=1)
    scenario = Scenario(
        name="t", budget=5000, channels={"call": {"capacity": 200}, "sms": {}, "app": {}, "store": {"capacity": 40}},
        offers={o: {} for o in table["offer_id"].unique()},
    )
    problem = Problem.from_tables(scenario, table, customers)
    result = solved(problem, time_limit=0.05, mip_gap=0.0)
    assert result.status in (Status.TIME_LIMIT, Status.OPTIMAL)
    if result.has_plan:
        assert result.bound is None or result.bound >= result.objective - 1e-6


def test_same_inputs_same_plan() -> None:
    from optimizer.demo import generate_base

    a = generate_base(300, seed=3)
    b = generate_base(300, seed=3)
    pd.testing.assert_frame_equal(a[0], b[0])
    scenario = Scenario(name="t", budget=300, channels={c: {} for c in a[0]["channel_id"].unique()},
                        offers={o: {} for o in a[0]["offer_id"].unique()})
    plans = [solve(Problem.from_tables(scenario, *generate_base(300, seed=3))).plan for _ in range(2)]
    pd.testing.assert_frame_equal(plans[0], plans[1])


def test_demo_base_matches_domain_figures() -> None:
    from optimizer.demo import generate_base

    table, customers = generate_base(20_000, seed=7)
    assert customers["arpu"].mean() == pytest.approx(59.40, rel=0.1)  # profiled base mean ARPU
    call = table[table["channel_id"] == "call"]["p_accept"].mean()
    assert call == pytest.approx(0.649 * 0.515, rel=0.1)  # 10088: connect 64.9%, 51.5% agree
    assert set(customers["stage"]) == {"acquisition", "growth", "maturity", "decline"}


def test_facade_exports_every_public_name() -> None:
    for name in optimizer.__all__:
        assert hasattr(optimizer, name), name
    expected = {"Scenario", "Problem", "solve", "verify_plan", "load_problem", "Status", "SolveResult", "InputError"}
    assert expected <= set(optimizer.__all__)


def test_lp_guided_search_matches_the_plain_mip() -> None:
    # Large enough that the LP neighbourhood is a small part of the model, so optimizer.exact
    # takes its own path (neighbourhood plan, then reduced-cost fixing); the plain MIP on the
    # same matrix is the reference.
    import yaml
    from importlib import resources

    from optimizer.demo import generate_base, scale_limits
    from optimizer.model import build_model
    from optimizer.solvers import get_backend
    from optimizer.solvers.base import SolveOptions

    template = yaml.safe_load((resources.files("scenarios") / "bundled" / "demo.yaml").read_text())
    spec = scale_limits(template, 3000) | {"name": "t", "do_not_contact": None}
    problem = Problem.from_tables(Scenario.model_validate(spec), *generate_base(3000, seed=11))
    model = build_model(problem)
    assert model.n_cols > 2 * 1000 * 4  # the neighbourhood frees at most ~1000 customers' options
    result = solved(problem, mip_gap=1e-7)
    reference = get_backend("highs").solve_mip(model, SolveOptions(mip_gap=1e-9))
    assert result.status is Status.OPTIMAL
    assert "neighbourhood" in result.message or "reduced-cost fixing" in result.message
    assert result.objective == pytest.approx(reference.objective, rel=2e-7)
    assert result.bound >= reference.objective - 1e-6


def test_status_compares_prints_and_serialises_as_its_name():
    import json

    from optimizer.result import Status

    assert Status.OPTIMAL == "OPTIMAL" and Status.INFEASIBLE != "OPTIMAL"
    assert str(Status.TIME_LIMIT) == f"{Status.TIME_LIMIT}" == "TIME_LIMIT"
    assert json.dumps({"status": Status.OPTIMAL}) == '{"status": "OPTIMAL"}'
    assert Status("FEASIBLE") is Status.FEASIBLE
