"""Optimizer vs rule and score targeting at equal budget; every plan through verify_plan."""

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
        # one contact per customer, all from the baseline's channel
        plan = problem.plan_table(chosen)
        assert plan["customer_id"].is_unique and set(plan["channel_id"]) <= {baseline.channel}


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
