"""The fast call centre engine against the SimPy one it replays (``call_centre.engine``).

The fast engine (simulation.callcentre_fast) draws the same random numbers in the same order
and orders same-instant events as SimPy does, so the expected difference is none: every
MonthCalls field is compared exactly (floats bit for bit, lists in order), and the random
generators must end in the same state. The configurations include exact ties (agents started
together on fixed 30-second unanswered calls, a 1-hour shift of exactly 120 such calls), which
a replay ordering same-instant events differently from SimPy would not survive.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import simpy

from simulation import (
    CallCentre,
    CallCentreConfig,
    KeyMomentTriggers,
    MonthCalls,
    Simulation,
    SimulationConfigError,
    build_config,
    simulate,
)
from simulation.contacts import ContactPlan, rank_within_customer
from simulation.presets import small_config

TIES = {"seats": 2, "hours_per_day": 1.0, "days_per_month": 3, "connect_rate": 0.0, "no_answer_time_s": 30.0}
CASES: dict[str, dict[str, Any]] = {
    "mixed, warm-up": {"seats": 6, "days_per_month": 3, "inbound_calls_per_hour": 60.0},
    "patience, drop": {"seats": 6, "days_per_month": 3, "inbound_calls_per_hour": 60.0, "patience_s": 60.0,
                       "unplaced_calls": "drop"},
    "ties, patience, drop": {**TIES, "inbound_calls_per_hour": 12.0, "patience_s": 60.0, "unplaced_calls": "drop"},
    "ties, patience, carry": {**TIES, "inbound_calls_per_hour": 12.0, "patience_s": 60.0},
    "ties, no patience": {**TIES, "inbound_calls_per_hour": 30.0},
    "ties, outbound only": {**TIES},
    "no seats": {"seats": 0, "days_per_month": 3, "inbound_calls_per_hour": 60.0},
    "one seat, impatient": {"seats": 1, "days_per_month": 4, "inbound_calls_per_hour": 10.0, "patience_s": 100.0},
    # 2 Erlang on one seat: the queue outlives each shift and is served after it.
    "one seat, overloaded": {"seats": 1, "days_per_month": 4, "inbound_calls_per_hour": 30.0},
    "24 h, Erlang A": {"seats": 10, "hours_per_day": 24.0, "days_per_month": 4, "inbound_calls_per_hour": 150.0,
                       "patience_s": 180.0},
    "24 h, outbound": {"seats": 10, "hours_per_day": 24.0, "days_per_month": 3, "inbound_calls_per_hour": 120.0},
    "24 h, overloaded, drop": {"seats": 10, "hours_per_day": 24.0, "days_per_month": 3,
                               "inbound_calls_per_hour": 200.0, "patience_s": 50.0, "unplaced_calls": "drop"},
    "30 days to month end": {"seats": 4, "hours_per_day": 30.0, "days_per_month": 30, "inbound_calls_per_hour": 20.0,
                             "patience_s": 100.0},
}


def _month(engine: str, cc_cfg: dict[str, Any], n: int = 3000, month: int = 0, shared_rng: bool = False,
           warmup: float = 600.0) -> tuple[MonthCalls, list[dict]]:
    cfg = CallCentreConfig(engine=engine, **cc_cfg)
    env = simpy.Environment()
    rng, inbound = np.random.default_rng(1), np.random.default_rng(2)
    cc = CallCentre(env, cfg, rng, warmup_seconds=warmup, inbound_rng=None if shared_rng else inbound)
    if month:
        env.run(until=month * 30 * 86_400.0)  # the clock at the month's start, as in a simulation
    calls = MonthCalls(np.zeros(0, np.int64), np.zeros(0, bool))
    connects = np.random.default_rng(3).random(n) < cfg.connect_rate
    cc.run_month(month, np.arange(n, dtype=np.int64) * 7 + 5, connects, calls)
    env.run()
    return calls, [rng.bit_generator.state, inbound.bit_generator.state]


def _assert_same(events: MonthCalls, fast: MonthCalls) -> None:
    for name in ("placed", "placed_day", "dialled", "connected"):
        a, b = getattr(events, name), getattr(fast, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    for name in ("busy_seconds", "staffed_seconds", "inbound_waits", "inbound_abandoned", "inbound_abandon_waits"):
        assert getattr(events, name) == getattr(fast, name), name


@pytest.mark.parametrize("case", list(CASES))
def test_fast_engine_is_the_simpy_engine_field_by_field(case: str) -> None:
    events, drawn_events = _month("events", CASES[case])
    fast, drawn_fast = _month("fast", CASES[case])
    _assert_same(events, fast)
    assert drawn_events == drawn_fast  # the same random numbers were drawn
    assert events.placed.size > 0 or CASES[case]["seats"] == 0


def test_fast_engine_later_month_shared_generator() -> None:
    # Month 3 of 22 8-hour shifts, the hotline on the outbound generator (no inbound_rng):
    # the month's handle times, then every shift's callers, from one stream.
    cc = {"seats": 20, "days_per_month": 22, "inbound_calls_per_hour": 100.0, "patience_s": 300.0}
    events, drawn_events = _month("events", cc, n=30_000, month=3, shared_rng=True)
    fast, drawn_fast = _month("fast", cc, n=30_000, month=3, shared_rng=True)
    _assert_same(events, fast)
    assert drawn_events == drawn_fast
    assert events.placed.size == 30_000 and events.inbound_abandoned > 0
    assert np.unique(events.placed_day).size > 10


def test_the_comparison_can_fail() -> None:
    # The same queue with one more seat, or a caller more patient, is a different month: the
    # field-by-field check tells them apart.
    base = CASES["ties, patience, carry"]
    fast, _ = _month("fast", base)
    with pytest.raises(AssertionError):
        _assert_same(fast, _month("fast", {**base, "seats": 3})[0])
    with pytest.raises(AssertionError):
        _assert_same(fast, _month("fast", {**base, "patience_s": 61.0})[0])


def _scenario(engine: str) -> Any:
    return build_config(
        small_config(
            horizon_months=6,
            population={"customers": 20_000, "gross_adds_per_month": 200},
            budget_per_month=30_000,
            call_centre={"seats": 2, "hours_per_day": 1.0, "inbound_calls_per_hour": 8.0, "patience_s": 120.0, "engine": engine},
        )
    )


def _keys() -> KeyMomentTriggers:
    return KeyMomentTriggers(
        [
            {"moment": "usage_drop", "offer": "bill_credit", "channel": "call"},
            {"moment": "contract_expiring", "offer": "bill_credit", "channel": "call", "months_ahead": 1},
            {"moment": "handset_change", "offer": "data_pack", "channel": "sms"},
        ]
    )


@pytest.mark.parametrize("seed", [4, 5])
def test_whole_simulation_same_answers_on_both_engines(seed: int) -> None:
    # Fatigue on (the default), a hotline with patience taking seats from a dial list sized
    # to the seats without it, so some planned calls are not placed.
    fast = simulate(_scenario("fast"), _keys(), seed=seed)
    events = simulate(_scenario("events"), _keys(), seed=seed)
    ts = fast.timeseries
    assert ts["calls_dialled"].sum() > 1000 and ts["inbound_calls"].sum() > 500
    assert (ts["calls_dialled"] < ts["calls_planned"]).any()
    for kpi in ("calls_dialled", "calls_connected", "cc_utilisation", "inbound_mean_wait_s", "active"):
        assert ts[kpi].equals(events.timeseries[kpi]), kpi
    assert fast.totals["retention_rate"] == events.totals["retention_rate"]
    pd.testing.assert_frame_equal(fast.timeseries, events.timeseries)
    assert fast.totals == events.totals


def test_shifts_to_the_month_end_the_one_known_difference() -> None:
    # 24-hour shifts on 30 days end at the month's end: SimPy's month ends with calls running
    # (their seat time is booked nowhere, their seats stay taken into the next month), the
    # fast engine books them in their month. Month 0 is the same; later months differ little.
    def run(engine: str) -> pd.DataFrame:
        cfg = _scenario(engine).replace(
            call_centre=_scenario(engine).call_centre.model_copy(update={"hours_per_day": 24.0, "days_per_month": 30}),
            horizon_months=4,
        )
        return simulate(cfg, _keys(), seed=3).timeseries

    fast, events = run("fast"), run("events")
    pd.testing.assert_series_equal(fast.iloc[0], events.iloc[0])
    assert not fast["cc_busy_s"].equals(events["cc_busy_s"])
    assert fast["calls_dialled"].equals(events["calls_dialled"])  # the dial list is no limit here
    for kpi in ("cc_busy_s", "inbound_abandoned", "inbound_mean_wait_s"):
        assert np.allclose(fast[kpi], events[kpi], rtol=0.1), kpi


def test_fast_engine_is_deterministic() -> None:
    cfg = _scenario("fast")
    a, b = Simulation(cfg, _keys(), seed=9).run(), Simulation(cfg, _keys(), seed=9).run()
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    c = Simulation(cfg, _keys(), seed=10).run()
    assert not a.timeseries["inbound_mean_wait_s"].equals(c.timeseries["inbound_mean_wait_s"])


def test_engine_setting() -> None:
    assert build_config({}).call_centre.engine == "fast"
    assert build_config({"call_centre": {"engine": "events"}}).call_centre.engine == "events"
    with pytest.raises(SimulationConfigError, match=r"call_centre\.engine: \(='simpy'\) must be one of \['fast', 'events'\]"):
        build_config({"call_centre": {"engine": "simpy"}})


def test_plan_codes_and_ranks() -> None:
    # The month's plan helpers the fast month relies on: names to codes, and the rank of
    # each row among its customer's rows (against a loop over the rows).
    cfg = build_config(small_config())
    offers = np.array(["data_pack", "bill_credit", "data_pack"], dtype=object)
    plan = ContactPlan.build(cfg, np.array([4, 1, 4]), offers, "sms")
    assert plan.offer.tolist() == [list(cfg.offers).index(o) for o in offers]
    with pytest.raises(SimulationConfigError, match=r"offer: \(='yyy'\) is not configured"):
        ContactPlan.build(cfg, np.array([1, 2, 3]), np.array(["zzz", "data_pack", "yyy"], dtype=object), "sms")
    customers = np.random.default_rng(0).integers(0, 50, 400)
    expected = [int((customers[:i] == c).sum()) for i, c in enumerate(customers)]
    assert rank_within_customer(customers).tolist() == expected
    assert rank_within_customer(np.zeros(0, np.int64)).size == 0
