"""A budget that holds with a stated probability: Monte Carlo of the plans it returns.

Done-when of the chance budget: on many generated instances, the plan's P(spend > amount)
by a 100,000-draw Monte Carlo is at most 1 - confidence (plus three Monte Carlo standard
errors), and its objective is reported beside the expected-spend plan's.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from optimizer import Problem, solve
from optimizer.chance import MAX_ROUNDS
from campaignlab.cli import main
from optimizer.decompose import solve_decomposed
from optimizer.scenario import Scenario
from optimizer.verify import verify_plan

DRAWS = 100_000
OFFERS = {"handset": (150.0, 900.0, 0.04, 0.25), "credit": (20.0, 120.0, 0.1, 0.5), "pack": (2.0, 15.0, 0.2, 0.7)}


def _instance(seed: int, customers: int = 300, confidence: float | None = 0.95, share: float = 0.3) -> Problem:
    """Customers with a call and an SMS option for each of three offers; a budget at ``share`` of what
    every positive option would spend, so that it binds."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(customers):
        for offer, (low, high, p_low, p_high) in OFFERS.items():
            for channel, contact in (("call", 3.0), ("sms", 0.1)):
                p = rng.uniform(p_low, p_high) * (1.6 if channel == "call" else 1.0)
                cost = rng.uniform(low, high)
                rows.append((f"c{c}", offer, channel, min(p, 0.95), rng.uniform(1.5, 4.0) * cost, contact, cost))
    options = pd.DataFrame(rows, columns=["customer_id", "offer_id", "channel_id", "p_accept", "value", "contact_cost", "offer_cost"])
    spend = options["contact_cost"] + options["p_accept"] * options["offer_cost"]
    budget = round(share * float(spend[options["p_accept"] * options["value"] > spend].sum()), 2)
    scenario = Scenario(
        name=f"chance-{seed}",
        budget={"amount": budget, "confidence": confidence} if confidence is not None else budget,
        channels={"call": {"capacity": customers // 3}, "sms": {}},
        offers={o: {} for o in OFFERS},
        contact_policy={"max_contacts": 1},
        seed=seed,
    )
    return Problem.from_tables(scenario, options)


def _spend_draws(problem: Problem, chosen: np.ndarray, seed: int = 0) -> np.ndarray:
    rows = np.flatnonzero(chosen)
    o = problem.options.iloc[rows]
    p, fixed, cost = (o[k].to_numpy(float) for k in ("p_accept", "contact_cost", "offer_cost"))
    rng = np.random.default_rng(seed)
    return np.concatenate([fixed.sum() + (rng.random((10_000, p.size)) < p) @ cost for _ in range(DRAWS // 10_000)])


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_monte_carlo_overrun_is_at_most_one_minus_confidence(confidence):
    worst = []
    for seed in range(8):
        problem = _instance(seed, confidence=confidence)
        result = solve(problem)
        assert result.has_plan and verify_plan(problem, result.plan).ok
        budget = result.chance_budget
        over = float((_spend_draws(problem, result.chosen, seed) > problem.scenario.budget).mean())
        allowed = 1 - confidence
        error = math.sqrt(allowed * confidence / DRAWS)
        assert over <= allowed + 3 * error, (seed, over, budget)
        worst.append(over)
        # the promise is in the summary: spend at the confidence within the amount, and the plan it beats
        assert budget["spend_at_confidence"] <= problem.scenario.budget * (1 + 1e-6)
        assert budget["expected_spend_plan"]["p_spend_over_amount"] > allowed  # the plain plan overruns
        assert budget["price_of_certainty"] >= -1e-6 * abs(result.objective)
        assert budget["settled"] and len(budget["rounds"]) < MAX_ROUNDS
    # not vacuous: the plans use the room the confidence leaves (a plan far inside would pass trivially)
    assert max(worst) > allowed / 3


def test_the_expected_spend_plan_overruns_about_half_the_time_and_the_chance_plan_does_not():
    problem = _instance(11, customers=500)
    plain = solve(_instance(11, customers=500, confidence=None))
    chance = solve(problem)
    over_plain = float((_spend_draws(problem, plain.chosen) > problem.scenario.budget).mean())
    over_chance = float((_spend_draws(problem, chance.chosen) > problem.scenario.budget).mean())
    assert 0.3 < over_plain < 0.7 and over_chance <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / DRAWS)
    assert chance.chance_budget["expected_spend_plan"]["objective"] == pytest.approx(plain.objective, rel=1e-6)
    assert chance.objective < plain.objective
    assert chance.chance_budget["relaxation_bound"] >= chance.objective


def test_shadow_price_of_the_amount_is_the_slope_of_the_objective():
    """The dual of the final linear row against a finite difference of whole re-solves."""
    problem = _instance(5, customers=1500)
    result = solve(problem)
    price = result.chance_budget["shadow_price"]
    amount = problem.scenario.budget
    step = 0.02 * amount
    wider = solve(Problem.from_tables(problem.scenario.model_copy(update={"budget": amount + step}), problem.options))
    slope = (wider.objective - result.objective) / step
    assert price > 0 and slope > 0
    assert price == pytest.approx(slope, rel=0.1)
    budget = next(lim for lim in result.limits if lim.kind == "budget")
    assert budget.shadow_price == price and budget.usage == result.chance_budget["spend_at_confidence"]


def test_decomposition_mode_keeps_the_chance_budget():
    problem = _instance(3, customers=600)
    exact = solve(problem)
    decomposed = solve_decomposed(problem, gap=1e-6)
    assert verify_plan(problem, decomposed.plan).ok
    assert decomposed.chance_budget["spend_at_confidence"] <= problem.scenario.budget * (1 + 1e-6)
    assert decomposed.objective == pytest.approx(exact.objective, rel=1e-4)


def test_no_random_offer_cost_makes_it_the_plain_budget():
    problem = _instance(2)
    options = problem.options.assign(offer_cost=0.0)
    with_confidence = solve(Problem.from_tables(problem.scenario, options))
    plain = solve(Problem.from_tables(problem.scenario.model_copy(update={"budget_confidence": None}), options))
    assert with_confidence.objective == pytest.approx(plain.objective, rel=1e-9)
    assert with_confidence.chance_budget["rounds"] == []


def test_a_loose_amount_keeps_the_expected_spend_plan():
    problem = _instance(4, share=5.0)  # the budget never binds
    result = solve(problem)
    assert result.chance_budget["rounds"] == [] and result.chance_budget["price_of_certainty"] == 0.0


def test_verifier_rejects_the_expected_spend_plan_under_a_chance_budget():
    problem = _instance(6)
    plain = solve(_instance(6, confidence=None))
    verification = verify_plan(problem, plain.plan)
    assert not verification.ok and any(v.startswith("budget") for v in verification.violations)


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ({"amount": 100, "confidence": 1.0}, "less than 1"),
        ({"amount": 100, "confidence": 0.3}, "greater than or equal to 0.5"),
        ({"amont": 100, "confidence": 0.9}, "unknown key 'amont'"),
        ({"confidence": 0.9}, "needs an amount"),
        ({"amount": True, "confidence": 0.9}, "yes/no"),
    ],
)
def test_bad_budget_specs_are_refused(budget, message):
    with pytest.raises(ValidationError, match=message):
        Scenario(name="x", channels={}, offers={}, budget=budget)


def test_cli_summary_and_plan(tmp_path, capsys):
    problem = _instance(8, customers=200)
    problem.options.to_csv(tmp_path / "options.csv", index=False)
    (tmp_path / "s.yaml").write_text(
        f"name: cli\noptions: options.csv\nbudget: {{amount: {problem.scenario.budget}, confidence: 0.9}}\n"
        "channels: {call: {capacity: 66}, sms: {}}\noffers: {handset: {}, credit: {}, pack: {}}\n"
        "contact_policy: {max_contacts: 1}\n"
    )
    assert main(["optimize", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")]) == 0
    assert "held with 90% probability" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    budget = summary["budget"]
    assert budget["kind"] == "chance" and budget["confidence"] == 0.9
    assert summary["risk"]["p_spend_over_budget"] <= 0.1 + 0.01
    assert budget["p_spend_over_amount"] == pytest.approx(summary["risk"]["p_spend_over_budget"])
    limit = next(lim for lim in summary["limits"] if lim["name"] == "budget")
    assert limit["usage"] == pytest.approx(budget["spend_at_confidence"])
    plan = pd.read_csv(tmp_path / "out" / "plan.csv")
    assert plan["expected_cost"].sum() == pytest.approx(budget["expected_spend"], rel=1e-9)


def test_what_ifs_move_the_amount_and_keep_the_confidence():
    from scenarios.frontier import default_budgets
    from scenarios.inputs import ScenarioInputs

    problem = _instance(9, customers=150)
    data = problem.scenario.model_dump(exclude_none=True, exclude={"budget", "budget_confidence"})
    data["budget"] = {"amount": problem.scenario.budget, "confidence": 0.9}
    inputs = ScenarioInputs.from_tables(data, problem.options)
    moved = inputs.scenario({"budget": 1234.5})
    assert (moved.budget, moved.budget_confidence) == (1234.5, 0.9)
    surer = inputs.scenario({"budget_confidence": 0.99})
    assert (surer.budget, surer.budget_confidence) == (problem.scenario.budget, 0.99)
    assert inputs.scenario({"budget": None}).budget is None
    assert default_budgets(inputs, 3)[-1] == pytest.approx(2 * problem.scenario.budget)
    assert solve(inputs.problem({"budget": 1234.5})).chance_budget["amount"] == 1234.5
