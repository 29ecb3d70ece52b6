"""The efficient frontier: monotone net value, decreasing marginal value, a knee, clear errors."""

import numpy as np
import pytest

from optimizer import InputError
from scenarios.frontier import frontier, knee_index, plot_frontier
from scenarios.inputs import load_inputs


@pytest.fixture(scope="module")
def table(small):
    return frontier(small, [150, 450, 900, 1350, 1800, 2700, 3600, 5400])


def test_net_value_is_monotone_in_budget(table):
    assert (table["status"] == "OPTIMAL").all() and table["verified"].all()
    net = table["net_value"].to_numpy()
    tolerance = 1e-3 * np.abs(net).max()  # the scenario's relative MIP gap
    assert np.all(np.diff(net) >= -tolerance)
    assert (table["spend"] <= table["budget"] + 1e-6).all()


def test_marginal_value_is_the_decreasing_budget_shadow_price(table):
    marginal = table["marginal_value"].to_numpy()
    assert np.all(marginal >= -1e-9)
    assert np.all(np.diff(marginal) <= 1e-6)  # the LP value function is concave in the budget
    assert marginal[0] > marginal[-1]


def test_exactly_one_knee(table):
    assert table["knee"].sum() == 1
    knee = table.loc[table["knee"], "budget"].iloc[0]
    assert table["budget"].min() < knee < table["budget"].max()


def test_knee_index_by_hand():
    # y = min(x, 2) on 0..4: the bend is at x = 2
    assert knee_index([0, 1, 2, 3, 4], [0, 1, 2, 2, 2]) == 2
    assert knee_index([0, 1, 2], [5, 5, 5]) is None


def test_plot(table):
    fig = plot_frontier(table, title="small")
    assert len(fig.axes) == 3


def test_all_infeasible_budgets_are_an_error(fixtures):
    inputs = load_inputs(fixtures / "all_infeasible.yaml")
    with pytest.raises(InputError, match=r"every budget of the frontier \(0 to 100 yuan\) is infeasible; at the largest: .*must_call"):
        frontier(inputs, [0, 50, 100])
