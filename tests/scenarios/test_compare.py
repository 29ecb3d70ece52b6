"""Optimizer vs rule and score targeting at equal budget; every plan through verify_plan."""

import dataclasses

import pytest

from optimizer import InputError, solve, verify_plan
from scenarios.compare import (
    baseline_plan,
    compare,
    default_baselines,
    headline,
    rule_targeting,
    score_targeting,
)


@pytest.fixture(scope="module")
def problem(small):
    return small.problem()


def test_optimizer_beats_rule_and_score_targeting(problem):
    table = compare(problem)
    assert table["strategy"].iloc[0] == "optimizer" and len(table) == 3
    assert table["verified"].all()
    assert (table["spend"] <= problem.scenario.budget + 1e-6).all()
    opt = table.iloc[0]
    assert (opt["net_value"] >= table["net_value"] - 1e-6).all()
    assert (table["optimizer_gain"].iloc[1:] > 0).all()
    sentence = headline(table, problem.scenario.budget)
    assert sentence.startswith("At an equal budget of 1,800 yuan") and "per yuan of budget" in sentence


def test_every_baseline_plan_passes_the_verifier(problem):
    baselines = default_baselines(problem) + [
        rule_targeting("arpu > 100 AND value_tier == 'premium'", ["handset_contract", "bill_credit_contract"], "call"),
        score_targeting("arpu", "family_plan", "sms"),
    ]
    optimum = solve(problem).objective
    for baseline in baselines:
        chosen = baseline_plan(problem, baseline)
        verification = verify_plan(problem, problem.plan_table(chosen))
        assert verification.ok, (baseline.name, verification.violations)
        assert float(problem.net_value @ chosen) <= optimum + 1e-6
        # one contact per customer; the bare list is all from the baseline's channel
        plan = problem.plan_table(chosen)
        assert plan["customer_id"].is_unique
        bare = problem.plan_table(baseline_plan(problem, dataclasses.replace(baseline, fill=False)))
        assert set(bare["channel_id"]) <= {baseline.channel} and set(bare["customer_id"]) <= set(plan["customer_id"])


def test_baselines_spend_up_to_the_budget(problem):
    """At equal budget: a list that runs out (few rule matches, a full channel) is filled by the same ranking."""
    budget = problem.scenario.budget
    for baseline in default_baselines(problem):
        bare = float(problem.spend @ baseline_plan(problem, dataclasses.replace(baseline, fill=False)))
        filled = float(problem.spend @ baseline_plan(problem, baseline))
        assert bare < 0.9 * budget  # on this base both lists stop well short of the budget
        assert budget - problem.spend.max() <= filled <= budget + 1e-6
    table = compare(problem)
    assert (table["spend"] >= 0.99 * budget).all()
    assert "spends" in headline(table, budget) and "budget left" in table["description"].iloc[1]


def test_rule_fills_until_the_call_capacity(problem):
    chosen = baseline_plan(problem, score_targeting("churn_risk", "bill_credit_contract", "call"))
    calls = int(chosen[problem.channel == problem.channel_ids.index("call")].sum())
    assert calls <= problem.scenario.channels["call"].capacity


def test_bad_baselines(problem):
    with pytest.raises(InputError, match="offer 'gift'"):
        baseline_plan(problem, rule_targeting("arpu > 1", "gift", "call"))
    with pytest.raises(InputError, match="unknown customer column 'score500'"):
        baseline_plan(problem, score_targeting("score500", "data_pack", "sms"))
    with pytest.raises(InputError, match="baseline"):
        baseline_plan(problem, rule_targeting("arpuu > 1", "data_pack", "sms"))


def test_a_rule_on_booleans_read_back_from_text_keeps_them_booleans(problem):
    # a CSV round trip (prepare -> customers.csv -> optimize) turns True into 'True'
    flagged = problem.customers.assign(tag_unhappy=(problem.customers["arpu"] > 100).map({True: "True", False: "False"}))
    texted = dataclasses.replace(problem, customers=flagged)
    as_flag = baseline_plan(texted, rule_targeting("tag_unhappy", "data_pack", "sms"))
    as_comparison = baseline_plan(texted, rule_targeting("tag_unhappy == true", "data_pack", "sms"))
    same_rule = baseline_plan(texted, rule_targeting("arpu > 100", "data_pack", "sms"))
    assert as_flag.sum() > 0 and (as_flag == as_comparison).all() and (as_flag == same_rule).all()


def test_compare_runs_on_a_scenario_without_the_demos_offer_and_channel():
    import pandas as pd

    from optimizer import Problem, Scenario
    from scenarios.compare import baseline_defaults

    options = pd.DataFrame({
        "customer_id": ["a", "a", "b", "c"], "offer_id": ["points", "points", "points", "points"],
        "channel_id": ["sms", "outbound_call", "outbound_call", "sms"], "p_accept": [0.1, 0.3, 0.3, 0.1],
        "value": [50.0, 50.0, 80.0, 40.0], "contact_cost": [0.05, 2.5, 2.5, 0.05], "offer_cost": [5.0] * 4,
    })
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "arpu": [90.0, 120.0, 30.0], "churn_risk": [0.2, 0.5, 0.1]})
    scenario = Scenario.model_validate({"name": "t", "budget": 10, "channels": {"sms": {}, "outbound_call": {}}, "offers": {"points": {}}})
    problem = Problem.from_tables(scenario, options, customers)
    assert baseline_defaults(problem) == (["points"], "outbound_call")
    table = compare(problem, [rule_targeting("arpu > 80", *baseline_defaults(problem)), score_targeting("churn_risk", *baseline_defaults(problem))])
    assert table["verified"].all() and len(table) == 3
