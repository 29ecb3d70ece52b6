"""A scenario rule's ``where`` in the rule language: the same limit as its mapping form, checked by the verifier."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from optimizer import InputError, Problem, Scenario, solve, verify_plan

from test_bad_input import BASE_OPTIONS

CUSTOMERS = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "stage": ["growth", "decline", "decline"], "arpu": [50.0, 120.0, np.nan]})


def scenario_of(rules: list[dict[str, Any]]) -> Scenario:
    return Scenario.model_validate({"name": "t", "channels": {"sms": {}, "call": {}}, "offers": {"data_pack": {}, "bill_credit": {}}, "rules": rules})


def _limit(where: Any) -> Any:
    problem = Problem.from_tables(scenario_of([{"name": "r", "where": where, "max": 1}]), BASE_OPTIONS, CUSTOMERS)
    return problem, next(limit for limit in problem.limits if limit.name == "r")


def test_the_text_form_and_the_mapping_form_are_one_filter() -> None:
    _, text = _limit("stage == 'decline' AND channel_id IN ('call') AND value >= 60")
    _, mapping = _limit({"stage": "decline", "channel_id": ["call"], "value": {">=": 60}})
    assert text.index.tolist() == mapping.index.tolist() == [3]  # c2's bill_credit by call
    # c3's arpu is missing: it fails `arpu < 200` and `arpu != 50` alike
    _, missing = _limit("arpu < 200 OR arpu != 50")
    assert missing.index.tolist() == [0, 1, 2, 3]
    assert "stage == 'decline' AND value >= 60" in _limit({"stage": "decline", "value": {">=": 60}})[1].description


def test_the_verifier_reads_a_text_filter_too() -> None:
    problem, _ = _limit("offer_id == 'bill_credit' OR arpu > 100")
    plan = solve(problem).plan
    assert verify_plan(problem, plan).ok
    # every row the filter covers, chosen at once, breaks `max: 1`
    covered = problem.options.loc[[2, 3, 4], ["customer_id", "offer_id", "channel_id"]]
    bad = verify_plan(problem, covered)
    assert "r: 3 breaks <= 1" in bad.violations


def test_a_bad_text_filter_fails_with_the_scenario() -> None:
    with pytest.raises(ValidationError, match="expected a column name, a value, NOT or"):
        scenario_of([{"name": "r", "where": "stage == ", "max": 1}])
    with pytest.raises(InputError, match="rules.r.where.*uses 'stag', which is not a column; did you mean 'stage'"):
        _limit("stag == 'decline'")
    with pytest.raises(InputError, match="rules.r.where.stage.*'stage' = 'declin' \\(did you mean 'decline'\\?\\)"):
        _limit("stage == 'declin' OR arpu > 1")


def test_coded_columns_give_the_masks_of_the_text_columns() -> None:
    # offer and channel positions the problem holds, and customer text factorised per customer
    # rather than per option, must select exactly what the text itself selects
    from optimizer.limits import rule_mask
    from optimizer.rule_language import FrameTable, mask
    from optimizer.scenario import Rule

    rng = np.random.default_rng(3)
    n_customers, n_options = 60, 400
    stage = rng.choice(np.array(["growth", "decline", " ", None], dtype=object), n_customers)
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n_customers)], "stage": pd.Series(stage, dtype="str")})
    customer = rng.integers(0, n_customers, n_options)
    offer_ids, channel_ids = ("data_pack", "bill_credit", "unused"), ("sms", "call")
    offer, channel = rng.integers(0, 2, n_options), rng.integers(0, 2, n_options).astype(np.int16)
    table = pd.DataFrame({"offer_id": np.array(offer_ids, object)[offer], "channel_id": np.array(channel_ids, object)[channel]})
    codes = {"offer_id": (offer, offer_ids), "channel_id": (channel, channel_ids)}
    joined = table.assign(stage=stage[customer])
    wheres = ["stage == 'decline' AND channel_id == 'call'", "stage != 'growth' OR offer_id IN ('bill_credit', 'unused')",
              "channel_id != 'sms' AND stage IN ('growth', 'decline')", {"offer_id": "unused"}]
    for where in wheres:
        rule = Rule.model_validate({"name": "r", "where": where, "max": 1})
        plain_found: list = []
        coded_found: list = []
        plain = mask(rule.filter, FrameTable(joined), unmatched=plain_found)  # the text, option by option
        coded = rule_mask(rule, table, customers, customer, {}, unmatched=coded_found, codes=codes)
        assert np.array_equal(plain, coded), where
        assert plain_found == coded_found, where  # an id no option has is still reported
    assert coded_found == [("offer_id", "unused")]
