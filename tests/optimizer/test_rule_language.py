"""The rule language: printing round-trips, and every rule means what a plain-Python reading says.

The reference below evaluates a rule row by row with ordinary Python values, written from the
documented semantics (a missing value fails every comparison, a missing flag is false), and
shares nothing with the numpy evaluator but the tree.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.rule_language import (
    And, Arithmetic, Call, Coded, Compare, FrameTable, Literal, MappingTable, Member, Name, Negate, Not, Or, RuleError,
    check_names, from_mapping, mask, names_used, parse, to_text, values,
)

# ------------------------------------------------------------- round trip
_names = st.text(st.characters(codec="ascii", exclude_characters="`", exclude_categories=("Cc",)), min_size=1, max_size=8)
_texts = st.text(st.characters(codec="ascii", exclude_characters='"', exclude_categories=("Cc",)), max_size=6)
_literals = st.one_of(
    st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False), _texts,
).map(Literal)


def _trees(children: st.SearchStrategy) -> st.SearchStrategy:
    ops = st.sampled_from(["==", "!=", ">", ">=", "<", "<="])
    return st.one_of(
        st.builds(Not, children),
        st.builds(And, st.lists(children, min_size=2, max_size=3).map(tuple)),
        st.builds(Or, st.lists(children, min_size=2, max_size=3).map(tuple)),
        st.builds(Compare, ops, children, children),
        st.builds(Member, children, st.lists(_literals, min_size=1, max_size=3).map(tuple), st.booleans()),
        st.builds(Arithmetic, st.sampled_from(["+", "-", "*", "/"]), children, children),
        st.builds(Negate, children),
        st.builds(Call, st.just("abs"), st.tuples(children)),
        st.builds(Call, st.just("where"), st.tuples(children, children, children)),
        st.builds(Call, st.just("max"), st.lists(children, min_size=2, max_size=3).map(tuple)),
    )


_any_tree = st.recursive(st.one_of(_literals, st.builds(Name, _names)), _trees, max_leaves=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_any_tree)
def test_print_parse_round_trip(tree) -> None:  # type: ignore[no-untyped-def]
    text = to_text(tree)
    assert parse(text) == tree, text


def test_precedence_and_sugar() -> None:
    assert parse("a OR b AND NOT c") == Or((Name("a"), And((Name("b"), Not(Name("c"))))))
    assert parse("10 <= tenure < 24") == And((Compare("<=", Literal(10), Name("tenure")), Compare("<", Name("tenure"), Literal(24))))
    assert parse("x = 1") == parse("x == 1")
    assert parse("stage In ['decline']") == Member(Name("stage"), (Literal("decline"),))
    assert parse("1 + 2 * x - 3") == Arithmetic("-", Arithmetic("+", Literal(1), Arithmetic("*", Literal(2), Name("x"))), Literal(3))
    assert parse("`Total day charge` > -3.5") == Compare(">", Name("Total day charge"), Literal(-3.5))
    assert to_text(parse("(a AND b) AND c")) == "(a AND b) AND c"
    assert names_used("where(a > 1, b, c * 2) > d") == {"a", "b", "c", "d"}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("arpu >", "expected a column name, a value, NOT or '\\(' at position 6, got the end of the rule"),
        ("arpu > 3 4", "expected AND, OR, a comparison or the end of the rule at position 9"),
        ("__import__('os')", "unknown function __import__\\(\\)"),
        ("max(1)", "max\\(\\) takes 2 to 64 arguments, got 1"),
        ("arpu IN ()", "expected a number, 'text', true or false"),
        ("arpu $ 3", "unexpected character '\\$' at position 5"),
        ("", "must be a non-empty text"),
    ],
)
def test_syntax_errors(rule: str, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse(rule)


# ------------------------------------------------------------- semantics
N_ROWS = 12
_float_cells = st.one_of(st.none(), st.floats(-50, 50, allow_nan=False).map(lambda v: round(v, 1)))
_text_cells = st.sampled_from([None, "", " ", "a", "b", "c", "1"])


@st.composite
def _tables(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, N_ROWS))
    return {
        "x": draw(st.lists(_float_cells, min_size=n, max_size=n)),
        "n": draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n)),
        "b": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "t": draw(st.lists(_text_cells, min_size=n, max_size=n)),
    }


def _numbers(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.builds(Arithmetic, st.sampled_from(["+", "-", "*", "/"]), children, children),
        st.builds(Negate, children),
        st.builds(Call, st.just("abs"), st.tuples(children)),
        st.builds(Call, st.sampled_from(["min", "max"]), st.tuples(children, children)),
    )


_number_tree = st.recursive(
    st.one_of(st.sampled_from([Name("x"), Name("n")]), st.integers(-5, 5).map(Literal), st.sampled_from([0.5, -2.5]).map(Literal)),
    _numbers, max_leaves=4,
)
_text_values = st.sampled_from(["a", "b", "c", "1", "zz"]).map(Literal)


def _conditions(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.builds(Not, children),
        st.builds(And, st.lists(children, min_size=2, max_size=3).map(tuple)),
        st.builds(Or, st.lists(children, min_size=2, max_size=3).map(tuple)),
    )


_leaf_conditions = st.one_of(
    st.just(Name("b")),
    st.builds(Compare, st.sampled_from(["==", "!=", ">", ">=", "<", "<="]), _number_tree, _number_tree),
    st.builds(Compare, st.sampled_from(["==", "!="]), st.just(Name("t")), _text_values),
    st.builds(Compare, st.sampled_from(["==", "!="]), st.just(Name("b")), st.booleans().map(Literal)),
    st.builds(Member, st.just(Name("t")), st.lists(_text_values, min_size=1, max_size=3).map(tuple), st.booleans()),
    st.builds(Member, st.just(Name("n")), st.lists(st.integers(-5, 5).map(Literal), min_size=1, max_size=3).map(tuple), st.booleans()),
    st.builds(lambda: Call("missing", (Name("x"),))),
    st.builds(lambda: Call("missing", (Name("t"),))),
)
_condition_tree = st.recursive(_leaf_conditions, _conditions, max_leaves=6)


def _reference(node, row):  # type: ignore[no-untyped-def]
    """One row's value under the documented semantics; None is a missing number or text."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        value = row[node.name]
        if node.name == "t" and (value is None or not value.strip()):
            return None
        return value
    if isinstance(node, Not):
        return not _reference(node.operand, row)
    if isinstance(node, And):
        return all([_reference(c, row) for c in node.operands])
    if isinstance(node, Or):
        return any([_reference(c, row) for c in node.operands])
    if isinstance(node, Compare):
        a, b = _reference(node.left, row), _reference(node.right, row)
        if a is None or b is None:
            return False
        return {"==": a == b, "!=": a != b, ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[node.op]
    if isinstance(node, Member):
        a = _reference(node.operand, row)
        if a is None:
            return False
        hit = any(a == (str(v.value) if isinstance(a, str) else v.value) for v in node.values)
        return not hit if node.negated else hit
    if isinstance(node, Negate):
        a = _reference(node.operand, row)
        return None if a is None else -a
    if isinstance(node, Arithmetic):
        a, b = _reference(node.left, row), _reference(node.right, row)
        if a is None or b is None:
            return None
        if node.op == "/":
            if b == 0:
                return None if a == 0 else math.copysign(math.inf, a) * math.copysign(1, b)
            out = a / b
        else:
            out = {"+": a + b, "-": a - b, "*": a * b}[node.op]
        return None if isinstance(out, float) and math.isnan(out) else out
    if isinstance(node, Call):
        args = [_reference(a, row) for a in node.args]
        if node.function == "missing":
            return args[0] is None
        if any(a is None for a in args):
            return None
        return {"abs": lambda: abs(args[0]), "min": lambda: min(args), "max": lambda: max(args)}[node.function]()
    raise TypeError(node)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tables(), _condition_tree)
def test_mask_matches_plain_python(table, rule) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame({"x": pd.array(table["x"], dtype="Float64").astype(float), "n": table["n"], "b": table["b"], "t": table["t"]})
    got = mask(rule, FrameTable(frame))
    rows = [dict(zip(table, cells)) for cells in zip(*table.values())]
    want = [bool(_reference(rule, row)) for row in rows]
    assert got.tolist() == want, to_text(rule)


# ------------------------------------------------------------- types kept
def test_types_are_kept() -> None:
    frame = pd.DataFrame({
        "flag_text": ["True", "False", "true", None],  # what a CSV round trip makes of booleans
        "segment": ["1", "2", "10", "1"],
        "tier": pd.Categorical(["premium", "flea", None, "premium"]),
        "arpu": [10.0, np.nan, 30.0, 40.0],
    })
    table = FrameTable(frame)
    assert mask("flag_text", table).tolist() == [True, False, True, False]
    assert mask("flag_text == true", table).tolist() == [True, False, True, False]
    assert mask("segment == 1", table).tolist() == [True, False, False, True]
    assert mask("tier != 'flea'", table).tolist() == [True, False, False, True]
    assert mask("NOT tier == 'flea'", table).tolist() == [True, False, True, True]
    assert mask("arpu != 10", table).tolist() == [False, False, True, True]
    coded = MappingTable({"stage": Coded(np.array([0, 3, 3, -1]), np.array(["growth", "maturity", "x", "decline"]))}, 4)
    assert mask("stage == 'decline'", coded).tolist() == [False, True, True, False]
    assert values("arpu * 2", table).tolist()[2] == 60.0 and np.isnan(values("arpu * 2", table)[1])
    assert values("where(arpu > 20, 'high', 'low')", table).tolist() == ["low", "low", "high", "high"]
    assert values("segment", table).tolist() == ["1", "2", "10", "1"]


def test_type_errors_say_what_to_write() -> None:
    table = FrameTable(pd.DataFrame({"arpu": [1.0], "stage": ["decline"], "news": [True]}))
    for rule, message in [
        ("arpu", "is a number, not true/false; write a comparison such as arpu > 0"),
        ("stage", "is text, not true/false"),
        ("stage > 'a'", "text compares only with ==, != and IN"),
        ("arpu == 'abc'", "holds numbers; it is compared with the text 'abc'"),
        ("news + 1 > 0", "'news' is true/false; arithmetic and ordering need numbers"),
        ("news > false", "true/false compares only with == and !="),
        ("arpuu > 1", "not a column; did you mean 'arpu'\\?"),
    ]:
        with pytest.raises(RuleError, match=message):
            mask(rule, table)


def test_unmatched_values_are_reported() -> None:
    table = FrameTable(pd.DataFrame({"stage": ["decline", "growth"], "n": [1, 2]}))
    unmatched: list = []
    mask("stage IN ('decline', 'declin') OR n == 7 OR stage != 'growth'", table, unmatched=unmatched)
    assert unmatched == [("stage", "declin"), ("n", 7)]


def test_check_names_before_reading() -> None:
    with pytest.raises(RuleError, match="'usage_dorp', which is not a tag; did you mean 'usage_drop'"):
        check_names("usage_dorp AND arpu > 1", {"usage_drop", "arpu"}, what="tag")


def test_mapping_form_means_the_same_rule() -> None:
    assert from_mapping({}) == Literal(True)
    rule = from_mapping({"stage": "decline", "arpu": {">": 80, "not_in": [100]}, "segment": [1, 2]})
    assert to_text(rule) == "stage == 'decline' AND arpu > 80 AND arpu NOT IN (100) AND segment IN (1, 2)"
    with pytest.raises(RuleError, match="where.arpu: unknown operator '=>'"):
        from_mapping({"arpu": {"=>": 1}})
    with pytest.raises(RuleError, match="where.segment: an empty list matches nothing"):
        from_mapping({"segment": []})
