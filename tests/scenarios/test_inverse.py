"""Inverse questions: the bracket is checked by solving at both of its ends."""

import pytest

from optimizer import InputError
from scenarios.inverse import SEATS_KEY, least_resource
from scenarios.sweep import run_point


def test_least_budget_for_retained_customers(small):
    unlimited = run_point(small, {"budget": None})["expected_acceptances"]
    target = 0.6 * unlimited
    result = least_resource(small, target, measure="retained", key="budget")
    assert result.low < result.high and result.high - result.low <= max(1.0, 0.005 * result.evaluations[0][0]) + 1e-9
    assert run_point(small, {"budget": result.high})["expected_acceptances"] >= target
    assert run_point(small, {"budget": result.low})["expected_acceptances"] < target
    assert "needs between" in result.sentence()


def test_least_budget_for_net_value(small):
    target = 5000.0
    result = least_resource(small, target, measure="net_value", tolerance=20)
    assert run_point(small, {"budget": result.high})["objective"] >= target
    assert run_point(small, {"budget": result.low})["objective"] < target
    assert result.high - result.low <= 20


def test_least_seats(small):
    # 2 calls per seat: the bracket moves in whole seats
    full = run_point(small, {SEATS_KEY: None, "budget": None})
    result = least_resource(small.__class__(**{**small.__dict__, "data": {**small.data, "budget": None}}),
                            0.8 * full["objective"], measure="net_value", key=SEATS_KEY, per_unit=2)
    assert result.high % 2 == 0 and result.low % 2 == 0 and result.high - result.low == 2
    seats_hi, seats_lo = result.high, result.low
    data = {"budget": None}
    assert run_point(small, {**data, SEATS_KEY: int(seats_hi)})["objective"] >= 0.8 * full["objective"]
    assert run_point(small, {**data, SEATS_KEY: int(seats_lo)})["objective"] < 0.8 * full["objective"]
    assert "seats" in result.sentence()


def test_unreachable_target_is_an_error(small):
    with pytest.raises(InputError, match=r"unreachable: even with no limit on budget"):
        least_resource(small, 1e9, measure="net_value")


def test_unknown_measure(small):
    with pytest.raises(InputError, match="unknown target 'churn'"):
        least_resource(small, 1, measure="churn")
