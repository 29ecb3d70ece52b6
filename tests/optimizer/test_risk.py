"""The risk of a plan against a 100,000-draw Monte Carlo of its Bernoulli acceptances."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from optimizer import load_problem, solve
from campaignlab.cli import main
from optimizer.risk import cumulants, plan_risk, quantile, tail_above
from optimizer.scenario_file import bundled_path

DRAWS = 100_000


def _monte_carlo(problem, chosen, seed=0):
    rows = np.flatnonzero(chosen)
    o = problem.options
    p = o["p_accept"].to_numpy(float)[rows]
    v, c, f = (o[k].to_numpy(float)[rows] for k in ("value", "contact_cost", "offer_cost"))
    rng = np.random.default_rng(seed)
    spend, ret = np.empty(DRAWS), np.empty(DRAWS)
    # float32 uniforms (p is resolved to 2**-24, far below any tolerance here) and one float64 matrix
    # product for both sums: twice as fast as float64 uniforms and a boolean product per sum
    p32, weights = p.astype(np.float32), np.column_stack([f, v])
    for start in range(0, DRAWS, 2_000):  # chunks keep memory small
        acc = (rng.random((2_000, p.size), dtype=np.float32) < p32).astype(np.float64)
        sums = acc @ weights
        spend[start : start + 2_000] = c.sum() + sums[:, 0]
        ret[start : start + 2_000] = sums[:, 1]
    return {"spend": spend, "expected_return": ret, "net_value": ret - spend}


def _quantile_error(x, level):
    """Monte Carlo standard error of the sample quantile (asymptotic, kernel density at it)."""
    q = np.quantile(x, level)
    density = stats.gaussian_kde(x[:: max(1, x.size // 20_000)])(q)[0]
    return math.sqrt(level * (1 - level) / x.size) / density


@pytest.mark.parametrize("name", ["outbound_10088", "demo"])
def test_risk_matches_monte_carlo_within_its_error(name):
    problem = load_problem(bundled_path(name))
    # the risk is of whichever plan: a 1e-4 gap (demo: 9,430 options, 1.3 yuan from the optimum, the budget
    # still spent to the yuan) solves demo in a third of the time, and this test uses no shadow price
    result = solve(problem, mip_gap=1e-4, shadow_prices=False)
    risk = plan_risk(problem, result.chosen)
    mc = _monte_carlo(problem, result.chosen)
    for key, x in mc.items():
        r = risk[key]
        assert r["mean"] == pytest.approx(x.mean(), abs=4 * x.std() / math.sqrt(DRAWS))
        assert r["sd"] == pytest.approx(x.std(), rel=4 / math.sqrt(2 * DRAWS))
        for level, field in ((0.05, "p05"), (0.5, "p50"), (0.95, "p95")):
            err = _quantile_error(x, level)
            assert abs(r[field] - np.quantile(x, level)) <= 4 * err + 1e-3 * x.std(), (key, field)
    over = float((mc["spend"] > problem.scenario.budget).mean())
    assert risk["p_spend_over_budget"] == pytest.approx(over, abs=4 * math.sqrt(over * (1 - over) / DRAWS) + 0.005)
    # the plan spends its budget to the yuan in expectation, so about half of the waves overrun it
    assert 0.2 < risk["p_spend_over_budget"] < 0.8
    assert risk["worst_case_spend"] > risk["spend"]["p95"] > risk["spend"]["mean"]
    assert 0 < risk["top_5pct_share_of_return"] < 1
    stress = {s["case"]: s for s in risk["stress"]}
    assert stress["acceptance -20%"]["expected_return"] == pytest.approx(0.8 * risk["expected_return"]["mean"])
    assert stress["value -20%"]["spend"] == pytest.approx(risk["spend"]["mean"])


def test_cumulants_of_a_single_bernoulli_and_skewed_tails():
    k = cumulants(np.array([2.0]), np.array([10.0]), np.array([0.1]))
    assert k[0] == pytest.approx(3.0) and k[1] == pytest.approx(100 * 0.09)
    assert k[2] == pytest.approx(1000 * 0.09 * 0.8) and k[3] == pytest.approx(10_000 * 0.09 * (1 - 6 * 0.09))
    # many rare, costly acceptances: right-skewed, so the 95th percentile sits above the normal one
    many = cumulants(np.zeros(400), np.full(400, 300.0), np.full(400, 0.02))
    normal95 = many[0] + 1.6448536 * math.sqrt(many[1])
    assert quantile(many, 0.95) > normal95
    assert tail_above(many, many[0] - 1e9) == 1.0 and tail_above(many, many[0] + 1e9) == 0.0


def test_summary_json_carries_the_risk_block(tmp_path, capsys):
    assert main(["optimize", "outbound_10088", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    risk = summary["risk"]
    printed = " ".join(capsys.readouterr().out.split())
    assert f"95th percentile {risk['spend']['p95']:,.2f} yuan, P(over the budget) {risk['p_spend_over_budget']:.1%}" in printed
    assert set(risk["spend"]) == {"mean", "sd", "p05", "p50", "p95"}
    assert risk["spend"]["mean"] == pytest.approx(summary["spend"])
    assert risk["expected_return"]["mean"] == pytest.approx(summary["expected_return"])
