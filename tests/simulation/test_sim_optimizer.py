"""The optimizer-in-the-loop strategy: limits met by construction, optimal on its shortlist,
and better than doing nothing in the simulation."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("optimizer")

from simulation import DoNothing, MonthView, build_config, build_strategy, run_experiment
from simulation.contacts import worst_case_cost
from simulation.population import new_population
from simulation.presets import small_config
from simulation.strategies.optimizing import OptimizerStrategy, greedy_plan
from simulation.strategies.valuation import estimate_options, stay_months
from simulation.streams import Streams
from simulation.usage import arpu_now


def test_stay_months_closed_form() -> None:
    h = np.array([0.01, 0.2, 1.0])
    loop = np.array([sum((1 - x) ** k for k in range(1, 13)) for x in h])
    np.testing.assert_allclose(stay_months(h, 12), loop, rtol=1e-12)


def _view(budget: float, capacity: int, rule: str = "realised") -> MonthView:
    cfg = build_config(small_config(population={"customers": 4000}, budget_rule=rule))
    pop = new_population(cfg, Streams.from_seed(2))
    return MonthView(cfg, pop, 2, budget, capacity, arpu_now(cfg, pop))


def _spend(view: MonthView, plan) -> float:  # type: ignore[no-untyped-def]
    """What the view's budget rule charges for a plan (worst case, or expected spend)."""
    if view.config.budget_rule == "reserve":
        return float(worst_case_cost(view.config, plan).sum())
    est = estimate_options(view, ("call", "sms"), 24)
    key = {k: i for i, k in enumerate(zip(est.customer.tolist(), est.offer.tolist(), est.channel.tolist()))}
    rows = [key[k] for k in zip(plan.customer.tolist(), plan.offer.tolist(), plan.channel.tolist())]
    return float((est.contact_cost + est.p_accept * est.offer_cost)[rows].sum())


@pytest.mark.parametrize("rule", ["realised", "reserve"])
@pytest.mark.parametrize(("budget", "capacity"), [(3000.0, 1000), (50_000.0, 40), (0.0, 10)])
def test_plan_meets_budget_and_capacity_by_itself(budget: float, capacity: int, rule: str) -> None:
    view = _view(budget, capacity, rule)
    strat = OptimizerStrategy(channels=("call", "sms"))
    plan = strat.plan(view, np.random.default_rng(0))
    assert _spend(view, plan) <= budget + 1e-6
    assert (plan.channel == 0).sum() <= capacity
    assert np.unique(plan.customer).size == len(plan)
    assert view.eligible[plan.customer].all()
    if budget > 0:
        assert len(plan) > 0 and strat.history[-1]["status"] == "OPTIMAL"


@pytest.mark.parametrize("rule", ["realised", "reserve"])
def test_plan_is_at_least_as_good_as_greedy_on_the_same_options(rule: str) -> None:
    # Greedy by net value per budget yuan, one option per customer, within budget and
    # capacity: the MIP's plan (0.5% gap) must be worth at least as much, minus the gap.
    budget, capacity = 4000.0, 60
    view = _view(budget, capacity, rule)
    strat = OptimizerStrategy(channels=("call", "sms"))
    plan = strat.plan(view, np.random.default_rng(0))
    est = estimate_options(view, ("call", "sms"), strat.horizon_months)
    key = {
        (c, o, h): i for i, (c, o, h) in enumerate(zip(est.customer.tolist(), est.offer.tolist(), est.channel.tolist()))
    }
    net = est.net_value
    weight = est.reserve if rule == "reserve" else est.contact_cost + est.p_accept * est.offer_cost
    mip_value = sum(
        net[key[(c, o, h)]] for c, o, h in zip(plan.customer.tolist(), plan.offer.tolist(), plan.channel.tolist())
    )
    order = np.argsort(-(net / weight), kind="stable")
    spent, calls, seen, greedy = 0.0, 0, set(), 0.0
    for j in order:
        if net[j] <= 0:
            break
        c = int(est.customer[j])
        if c in seen or spent + weight[j] > budget or (est.channel[j] == 0 and calls >= capacity):
            continue
        seen.add(c)
        spent += float(weight[j])  # float64: NumPy 2 would keep float32 sums
        calls += int(est.channel[j] == 0)
        greedy += net[j]
    print(f"optimizer plan {mip_value:.1f} vs greedy {greedy:.1f} expected net value")
    chosen = greedy_plan(est.customer, est.channel, weight, net, budget, capacity)
    assert net[chosen].sum() == pytest.approx(greedy, rel=1e-12)
    assert mip_value >= greedy * (1 - 5e-3) - 1e-6


def test_beats_doing_nothing_in_the_simulation() -> None:
    cfg = build_config(
        small_config(
            horizon_months=8,
            budget_per_month=5000.0,
            population={"customers": 6000, "gross_adds_per_month": 70},
            call_centre={"seats": 3},
        )
    )
    strategies = {"none": DoNothing(), "opt": build_strategy("opt", {"type": "optimizer"})}
    res = run_experiment(cfg, strategies, replications=4, seed=17, workers=2)
    diff = res.compare("none", ["discounted_net_value", "retention_rate"]).set_index("kpi")
    print(diff[["mean_diff", "half_width"]])
    assert diff.loc["discounted_net_value", "ci_low"] > 0
    assert diff.loc["retention_rate", "ci_low"] > 0
    ts = res.timeseries.query("strategy == 'opt'")
    # Planned on expected spend, the engine stops the list when realised spend would overrun
    # (a cut tail of cheap SMS rows in about half the months): the budget is used, never
    # exceeded.
    assert (ts["cost"] <= 5000.0 + 1e-6).all()
    assert ts["cost"].mean() >= 0.85 * 5000.0
    print(
        f"realised spend {ts['cost'].mean():.0f} of 5000 a month; rows kept "
        f"{(ts['contacts_planned'] / ts['planned']).mean():.3f}"
    )


def test_reserve_rule_plans_are_never_cut() -> None:
    cfg = build_config(
        small_config(
            horizon_months=3,
            budget_per_month=5000.0,
            budget_rule="reserve",
            population={"customers": 6000, "gross_adds_per_month": 70},
            call_centre={"seats": 3},
        )
    )
    ts = run_experiment(cfg, {"opt": OptimizerStrategy()}, replications=1, seed=3).timeseries
    assert (ts["contacts_planned"] == ts["planned"]).all()


def test_bad_optimizer_settings() -> None:
    from simulation import SimulationConfigError

    with pytest.raises(SimulationConfigError, match=r"strategies\.o\.max_options"):
        build_strategy("o", {"type": "optimizer", "max_options": 0})
    with pytest.raises(SimulationConfigError, match=r"strategies\.o\.budget: unknown key"):
        build_strategy("o", {"type": "optimizer", "budget": 5})
    view = _view(100.0, 10)
    with pytest.raises(SimulationConfigError, match=r"strategies\.o\.channels: \(='fax'\)"):
        OptimizerStrategy(channels=("fax",), name="o").plan(view, np.random.default_rng(0))


def test_falls_back_to_greedy_when_the_solve_has_no_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    import optimizer
    from optimizer import Status

    class NoPlan:
        status, runtime, has_plan = Status.TIME_LIMIT, 10.0, False

    monkeypatch.setattr(optimizer, "solve", lambda *a, **k: NoPlan())
    view = _view(3000.0, 50)
    strat = OptimizerStrategy()
    plan = strat.plan(view, np.random.default_rng(0))
    assert strat.history[-1]["fallback"] == "greedy" and len(plan) > 0
    assert _spend(view, plan) <= 3000.0 + 1e-6
    assert (plan.channel == 0).sum() <= 50
