"""Engine behaviour: determinism, common random numbers, arrears theory, contact policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation import (
    ContactPlan,
    DoNothing,
    KeyMomentTriggers,
    RuleTargeting,
    ScoreThreshold,
    Simulation,
    build_config,
    mean_ci,
    run_experiment,
    simulate,
)
from simulation.calibration import CallWave
from simulation.contacts import enforce_policy, row_outcomes, worst_case_cost
from simulation.population import new_population
from simulation.presets import NO_STAGE, constant_hazard_config, small_config
from simulation.streams import Streams


def test_same_seed_same_results_and_workers_do_not_matter() -> None:
    cfg = build_config(small_config())
    strategies = {
        "none": DoNothing(),
        "rule": RuleTargeting("usage_drop OR arpu > 150"),
        "keys": KeyMomentTriggers(
            [
                {"moment": "contract_expiring"},
                {"moment": "usage_drop", "channel": "sms", "offer": "data_pack"},
            ]
        ),
    }
    a = run_experiment(cfg, strategies, replications=2, seed=7, workers=1)
    b = run_experiment(cfg, strategies, replications=2, seed=7, workers=2)
    pd.testing.assert_frame_equal(a.totals, b.totals)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    c = run_experiment(cfg, strategies, replications=2, seed=8, workers=1)
    assert not a.totals["revenue"].equals(c.totals["revenue"])


def test_call_centre_draws_do_not_shift_the_lifecycle_streams() -> None:
    # An offer with no effect, no fatigue: a calling strategy must leave every lifecycle
    # outcome exactly as under do-nothing (common random numbers across strategies).
    cfg = build_config(
        small_config(
            offers={
                "nothing": {
                    "churn_multiplier": 1.0,
                    "recovery_prob": 0.0,
                    "arpu_shift": 0.0,
                    "mou_shift": 0.0,
                    "data_shift": 0.0,
                    "contract": False,
                    "cost": 1.0,
                }
            },
            fatigue={"per_excess_contact": 0.0, "growth_per_contact": 0.0},
            arrears={"winback_cure_prob": 0.0},
            call_centre={"seats": 5, "inbound_calls_per_hour": 3.0},
        )
    )
    base = simulate(cfg, DoNothing(), seed=3).timeseries
    calls = simulate(cfg, RuleTargeting("tenure >= 0", offer="nothing"), seed=3).timeseries
    assert calls["calls_dialled"].sum() > 1000
    for col in (
        "active",
        "exits_true_churn",
        "exits_reentry",
        "cancellations",
        "revenue",
        "inbound_calls",
    ):
        np.testing.assert_array_equal(base[col].to_numpy(), calls[col].to_numpy(), err_msg=col)


def test_common_random_numbers_tighten_the_paired_interval() -> None:
    cfg = build_config(small_config(horizon_months=12))
    strategies = {"none": DoNothing(), "score": ScoreThreshold(threshold=300)}
    crn = run_experiment(cfg, strategies, replications=8, seed=1, workers=2)
    paired = crn.compare("none", ["retention_rate"]).iloc[0]["half_width"]
    # The same difference from independent seeds: replications of "score" on other seeds.
    indep = (
        run_experiment(cfg, {"score": strategies["score"]}, replications=8, seed=2, workers=2)
        .totals["retention_rate"]
        .to_numpy()
    )
    base = crn.totals.query("strategy == 'none'")["retention_rate"].to_numpy()
    _, unpaired = mean_ci(indep - base, 0.95)
    print(f"retention difference half-width: paired {paired:.5f}, independent {unpaired:.5f}")
    assert paired < unpaired / 2


def test_arrears_cancel_after_three_months_unless_cured() -> None:
    # No lifecycle exits or decline: every exit is an arrears cancellation, which comes
    # exactly 3 months after entry with probability (1 - cure) ** 3 = 0.343.
    zero3 = {"acquisition": 0.0, "growth": 0.0, "maturity": 0.0}
    cfg = build_config(
        constant_hazard_config(
            horizon_months=24,
            population={"customers": 40_000},
            lifecycle={"exit_hazard": NO_STAGE, "decline_hazard": zero3},
            arrears={
                "monthly_prob": {
                    **NO_STAGE,
                    "maturity": 0.05,
                    "growth": 0.05,
                    "acquisition": 0.05,
                    "decline": 0.05,
                },
                "cure_prob": 0.3,
                "reentry_share": 0.0,
            },
        )
    )
    ts = simulate(cfg, DoNothing(), seed=5).timeseries
    entered = ts["arrears_entered"].to_numpy()[:-3]
    cancelled = ts["cancellations"].to_numpy()[3:]
    assert ts["cancellations"].to_numpy()[:3].sum() == 0
    ratio = cancelled.sum() / entered.sum()
    se = np.sqrt(0.343 * 0.657 / entered.sum())
    print(f"P(cancel | arrears) = {ratio:.4f}, theory 0.343, se {se:.4f}")
    assert abs(ratio - 0.343) < 4 * se
    assert (ts["exits_true_churn"] == ts["cancellations"]).all()  # reentry_share 0


class _RandomPlanner:
    """An adversarial strategy: random rows, duplicates, exited and pending slots."""

    uses_calls = True
    name = "random"

    def __init__(self, rows: int) -> None:
        self.rows = rows

    def plan(self, view, rng):  # type: ignore[no-untyped-def]
        n = self.rows
        return ContactPlan(
            rng.integers(0, view.slots, n),
            rng.integers(0, len(view.offer_names), n).astype(np.int16),
            rng.integers(0, len(view.channel_names), n).astype(np.int8),
        )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(0, 400),
    budget=st.floats(0, 5000),
    seed=st.integers(0, 2**32 - 1),
    cap=st.integers(1, 3),
)
def test_policy_invariants_hold_for_any_plan(rows: int, budget: float, seed: int, cap: int) -> None:
    cfg = build_config(
        small_config(
            population={"customers": 300, "gross_adds_per_month": 5},
            fatigue={"max_contacts_per_window": cap},
        )
    )
    pop = new_population(cfg, Streams.from_seed(seed))
    rng = np.random.default_rng(seed)
    pop.stage[rng.random(pop.slots) < 0.2] = 4  # some exited customers
    pop.contacts[0, rng.random(pop.slots) < 0.3] = 1
    pop.contacts[1, rng.random(pop.slots) < 0.3] = 1
    plan = ContactPlan(
        rng.integers(0, pop.slots, rows),
        rng.integers(0, len(cfg.offers), rows).astype(np.int16),
        rng.integers(0, len(cfg.channels) + 1, rows).astype(np.int8),
    )
    out = enforce_policy(cfg, pop, plan, budget, "random")
    assert worst_case_cost(cfg, out).sum() <= budget + 1e-6
    # The realised rule: whatever the responses, the realised cost stays within the budget,
    # and the cut is a prefix (the campaign stops; it does not skip to cheaper contacts).
    u = tuple(rng.random(pop.slots, dtype=np.float32) for _ in range(3))
    realised = enforce_policy(cfg, pop, plan, budget, "random", uniforms=u)
    assert row_outcomes(cfg, realised, *u).cost.sum() <= budget + 1e-6
    unlimited = enforce_policy(cfg, pop, plan, 1e12, "random", uniforms=u)
    assert np.array_equal(realised.customer, unlimited.customer[: len(realised)])
    assert np.unique(out.customer).size == len(out)
    assert (pop.stage[out.customer] < 4).all()
    assert (pop.contacts.sum(axis=0)[out.customer] < cap).all()
    # Rows kept keep their priority order.
    pos = {c: i for i, c in enumerate(plan.customer.tolist()[::-1])}
    first = [len(plan) - 1 - pos[c] for c in out.customer.tolist()]
    assert first == sorted(first)


def test_engine_enforces_budget_and_cap_on_an_adversarial_strategy() -> None:
    cfg = build_config(
        small_config(
            budget_per_month=900.0,
            horizon_months=8,
            fatigue={"max_contacts_per_window": 1, "window_months": 3},
        )
    )
    sim = Simulation(cfg, _RandomPlanner(5000), seed=9)
    ts = sim.run().timeseries
    assert (ts["cost"] <= 900.0 + 1e-6).all()
    assert (ts["contacts_planned"] < ts["planned"]).all()  # the policy binds every month
    assert ts["cost"].min() > 0
    assert (sim.population.contacts.sum(axis=0) <= 1).all()


def test_plan_must_be_a_contact_plan() -> None:
    class Bad:
        name, uses_calls = "bad", False

        def plan(self, view, rng):  # type: ignore[no-untyped-def]
            return [1, 2, 3]

    from simulation import SimulationConfigError

    with pytest.raises(SimulationConfigError, match=r"strategies\.bad: plan\(\) returned list"):
        simulate(build_config(small_config()), Bad(), seed=1)


def test_call_wave_only_calls_in_its_month_and_capacity_limits_dials() -> None:
    cfg = build_config(small_config(call_centre={"seats": 1, "days_per_month": 1, "hours_per_day": 1.0}))
    ts = simulate(cfg, CallWave(1.0, month=2), seed=4).timeseries
    assert ts.loc[ts["month"] != 2, "calls_planned"].sum() == 0
    row = ts.loc[ts["month"] == 2].iloc[0]
    assert row["calls_planned"] > 1000 and 5 < row["calls_dialled"] < 60


def test_dask_backend_gives_the_same_results() -> None:
    pytest.importorskip("dask")
    cfg = build_config(small_config(horizon_months=3))
    strategies = {"none": DoNothing(), "rule": RuleTargeting("usage_drop")}
    a = run_experiment(cfg, strategies, replications=2, seed=5, workers=1)
    b = run_experiment(cfg, strategies, replications=2, seed=5, workers=2, backend="dask")
    pd.testing.assert_frame_equal(a.totals, b.totals)


def test_streams_can_be_passed_in() -> None:
    cfg = build_config(small_config(horizon_months=2))
    a = Simulation(cfg, DoNothing(), seed=np.random.SeedSequence(11)).run().totals
    b = Simulation(cfg, DoNothing(), seed=Streams.from_seed(np.random.SeedSequence(11))).run()
    pd.testing.assert_series_equal(pd.Series(a), pd.Series(b.totals))


def test_both_budget_rules_hold_and_realised_uses_more_of_the_budget() -> None:
    spend = {}
    for rule in ("realised", "reserve"):
        cfg = build_config(
            small_config(
                budget_per_month=900.0,
                budget_rule=rule,
                horizon_months=4,
                fatigue={"max_contacts_per_window": 3},
            )
        )
        ts = simulate(cfg, _RandomPlanner(5000), seed=9).timeseries
        assert (ts["cost"] <= 900.0 + 1e-6).all(), rule
        spend[rule] = ts["cost"].mean()
    print(f"mean monthly spend of a 900 budget: {spend}")
    assert spend["realised"] > 0.95 * 900.0
    assert spend["reserve"] < spend["realised"]


def test_exits_are_counted_by_stage_and_tier_including_cancellations() -> None:
    ts = simulate(build_config(small_config(horizon_months=12)), DoNothing(), seed=2).timeseries
    exits = ts["exits_true_churn"] + ts["exits_reentry"]
    by_stage = ts[[f"exits_{s}" for s in ("acquisition", "growth", "maturity", "decline")]].sum(axis=1)
    by_tier = ts[[f"exits_{k}" for k in ("premium", "loyal", "potential", "newborn", "flea")]].sum(axis=1)
    assert ts["cancellations"].sum() > 0
    assert (by_stage == exits).all() and (by_tier == exits).all()


class _CallsAndTexts:
    """Calls the first 150 live customers and texts the next 50, whatever the seats can place."""

    name = "calls_and_texts"
    uses_calls = True

    def plan(self, view, rng):  # type: ignore[no-untyped-def]
        live = np.flatnonzero(view.live)
        offer = next(iter(view.offer_names))
        calls = ContactPlan.build(view.config, live[:150], offer, "call")
        texts = ContactPlan.build(view.config, live[150:200], offer, "sms")
        return ContactPlan(*(np.concatenate([getattr(calls, k), getattr(texts, k)]) for k in ("customer", "offer", "channel")))


def test_the_contact_log_is_every_executed_contact_dated_and_as_counted_in_the_kpis() -> None:
    # more calls than one short shift a day places, so the log holds the placed calls only
    cfg = build_config({**small_config(), "call_centre": {"seats": 1, "hours_per_day": 0.1}})
    strategy = _CallsAndTexts()
    first = Simulation(cfg, strategy, 11).run()
    log, ts = first.contacts, first.timeseries
    assert len(log) == (ts["contacts_planned"] - ts["calls_planned"] + ts["calls_dialled"]).sum() > 0
    assert (ts["calls_planned"] > ts["calls_dialled"]).any()
    counts = log.counts()
    assert counts["accepted"] == first.totals["offers_accepted"]
    assert counts["accepted"] + counts["declined"] == first.totals["contacts"]
    calls = log.channel == 0
    assert calls.sum() == first.totals["calls_dialled"]
    month, day = np.divmod(log.day, 30)
    assert (np.bincount(month, minlength=len(ts)) == ts["contacts_planned"] - ts["calls_planned"] + ts["calls_dialled"]).all()
    assert (day[~calls] == 0).all() and day[calls].max() <= 21 and day[calls].max() > 0  # a call on the day a shift dialled it
    again = Simulation(cfg, strategy, 11).run().contacts
    for name in ("customer", "offer", "channel", "day", "outcome"):
        np.testing.assert_array_equal(getattr(again, name), getattr(log, name))
