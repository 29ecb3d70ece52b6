"""Tag rules (the rule language over a customer table): precedence, types, errors with positions, threshold tuning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.scoring.errors import TagRuleError
from optimizer.rule_language import And, Compare, Literal, Name, Not, Or
from optimizer.scoring.tags import columns_used, evaluate, parse_rule, threshold_for_count

DF = pd.DataFrame(
    {
        "arpu": [350.0, 120.0, 310.0, 50.0, 500.0],
        "news": [True, False, False, False, True],
        "contract": ["Month-to-month", "One year", "Month-to-month", "Two year", "One year"],
    }
)


def test_parse_tree_and_precedence() -> None:
    # NOT binds tighter than AND, AND tighter than OR
    r = parse_rule("news OR arpu > 300 AND NOT news")
    assert r == Or((Name("news"), And((Compare(">", Name("arpu"), Literal(300)), Not(Name("news"))))))
    assert columns_used(r) == {"news", "arpu"}


@pytest.mark.parametrize(
    "rule, expected",
    [
        ("arpu > 300 AND NOT news", [False, False, True, False, False]),
        ("arpu >= 310 and not news", [False, False, True, False, False]),
        ("news OR arpu < 100", [True, False, False, True, True]),
        ("NOT (news OR arpu < 100)", [False, True, True, False, False]),
        ("contract IN ('One year', \"Two year\")", [False, True, False, True, True]),
        ("contract == 'Month-to-month' AND arpu != 350", [False, False, True, False, False]),
        ("news == false", [False, True, True, True, False]),
        ("arpu > 1e2 AND arpu <= 3.5e2", [True, True, True, False, False]),
    ],
)
def test_evaluate(rule: str, expected: list[bool]) -> None:
    assert evaluate(rule, DF).tolist() == expected


@pytest.mark.parametrize(
    "rule, message",
    [
        ("arpu >", r"expected a column name, a value, NOT or '\(' at position 6, got the end of the rule"),
        ("arpu > 300 news", r"expected AND, OR, a comparison or the end of the rule at position 11, got 'news'"),
        ("(arpu > 1", r"expected '\)' at position 9"),
        ("__import__('os').system('x')", r"unexpected character '\.' at position 16"),
        ("__import__('os')", r"unknown function __import__\(\)"),
        ("arpu ; 1", r"unexpected character ';' at position 5"),
        ("", "non-empty text"),
        ("AND news", r"expected a column name, a value, NOT or '\(' at position 0"),
    ],
)
def test_syntax_errors_give_position(rule: str, message: str) -> None:
    with pytest.raises(TagRuleError, match=message):
        parse_rule(rule)


def test_semantic_errors_name_column() -> None:
    with pytest.raises(TagRuleError, match="uses 'arpuu', which is not a column; did you mean 'arpu'"):
        evaluate("arpuu > 1", DF)
    with pytest.raises(TagRuleError, match="contract > 3: text compares only with ==, != and IN"):
        evaluate("contract > 3", DF)
    with pytest.raises(TagRuleError, match="the column 'arpu' is a number, not true/false"):
        evaluate("arpu", DF)
    with pytest.raises(TagRuleError, match="arpu holds numbers; it is compared with the text 'x'"):
        evaluate("arpu == 'x'", DF)


def test_threshold_for_count_hand_example() -> None:
    # among customers without news (120, 310, 50), a list of at most 2 -> arpu >= 120
    assert threshold_for_count(DF, "arpu", 2, base_rule="NOT news") == (120.0, 2)
    assert threshold_for_count(DF, "arpu", 0) == (np.inf, 0)
    assert threshold_for_count(DF, "arpu", 2, direction="<=") == (120.0, 2)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.integers(0, 20), min_size=1, max_size=40), target=st.integers(0, 45))
def test_threshold_for_count_is_largest_list_within_target(values: list[int], target: int) -> None:
    df = pd.DataFrame({"x": np.array(values, dtype=float)})
    t, n = threshold_for_count(df, "x", target)
    assert n <= target
    assert n == int((df["x"] >= t).sum())
    # the next looser threshold (next lower distinct value) would exceed the target
    lower = sorted(v for v in set(values) if v < t)
    if lower:
        assert int((df["x"] >= lower[-1]).sum()) > target
