"""The four bundled what-if scenarios solve quickly to verified plans."""

import time

import pytest

from optimizer import Status, solve, verify_plan
from scenarios.inputs import load_inputs


@pytest.mark.parametrize("name", ["outbound_10088", "decline_retention", "budget_cut", "seat_cut"])
def test_bundled_scenario_solves(name):
    start = time.perf_counter()
    problem = load_inputs(name).problem()
    result = solve(problem)
    assert result.status is Status.OPTIMAL
    assert verify_plan(problem, result.plan).ok
    assert time.perf_counter() - start < 20
    if name == "seat_cut":
        assert next(lim for lim in result.limits if lim.name == "channel:call").binding
