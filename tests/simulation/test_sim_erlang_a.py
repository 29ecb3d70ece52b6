"""Callers who hang up: the call centre against Erlang A (M/M/n+M), and the unplaced dial list.

Theory (simulation.erlang.erlang_a): 10 Erlang offered to 10 agents (240 s handle time,
150 calls an hour) with a mean patience of 180 s: P(abandon) = 0.1339, P(wait) = 0.5099,
mean wait over all callers 24.10 s. Without abandonment this load has no steady state; with
it the queue is stable. The SimPy call centre runs 24-hour shifts of Poisson inbound calls
only (an empty dial list), the first hour of each shift is warm-up, and each replication's
estimate is one number: theory must lie inside the 99% t interval over replications, and the
interval must be narrow enough to mean something. Exponential patience makes
P(abandon) = mean wait / mean patience an identity, exact in theory and checked in the
simulation on the paired per-replication difference. The theory checks run on both engines
(``call_centre.engine``: the compiled replay and the SimPy processes).
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import simpy

from simulation import (
    CallCentre,
    CallCentreConfig,
    MonthCalls,
    SimulationConfigError,
    build_config,
    erlang_a,
    erlang_c,
    mean_ci,
    mean_wait,
)

AGENTS, HANDLE, PATIENCE = 10, 240.0, 180.0
LAM = 150.0 / 3600.0  # 10 Erlang


def _brute_force(lam: float, mu: float, n: int, theta: float, states: int = 300) -> tuple[float, float]:
    """P(wait) and E[queue] from the truncated generator, solved as a linear system."""
    q = np.zeros((states, states))
    k = np.arange(states)
    q[k[:-1], k[:-1] + 1] = lam
    q[k[1:], k[1:] - 1] = np.minimum(k[1:], n) * mu + np.maximum(k[1:] - n, 0) * theta
    q[k, k] = -q.sum(axis=1)
    a = q.T.copy()
    a[-1] = 1.0  # replace one balance equation by the normalisation
    rhs = np.zeros(states)
    rhs[-1] = 1.0
    pi = np.linalg.solve(a, rhs)
    return float(pi[n:].sum()), float((np.maximum(k - n, 0) * pi).sum())


def test_erlang_a_exact() -> None:
    # theta -> 0 is Erlang C (48 Erlang on 55 agents, 240 s).
    lam, mu = 48.0 / 240.0, 1.0 / 240.0
    for theta in (0.0, 1e-10):
        r = erlang_a(lam, mu, 55, theta)
        assert r.p_wait == pytest.approx(erlang_c(48.0, 55), rel=1e-6)
        assert r.mean_wait == pytest.approx(mean_wait(48.0, 55, 240.0), rel=1e-6)
    assert erlang_a(lam, mu, 55, 0.0).p_abandon == 0.0
    with pytest.raises(SimulationConfigError, match="stable queue"):
        erlang_a(2 * lam, mu, 55, 0.0)
    # theta = mu: every caller in the system leaves at rate mu, so the number in system is
    # Poisson(A) (M/M/inf): P(wait) = P(N >= n), E[queue] = E[(N - n)+].
    load, n = 8.0, 10
    pmf = [math.exp(-load + k * math.log(load) - math.lgamma(k + 1)) for k in range(200)]
    r = erlang_a(load * mu, mu, n, mu)
    assert r.p_wait == pytest.approx(sum(pmf[n:]), rel=1e-12)
    assert r.mean_queue == pytest.approx(sum((k - n) * p for k, p in enumerate(pmf) if k > n), rel=1e-12)
    # The test case, and one overloaded far past n (stable only because callers hang up),
    # against the generator solved directly.
    for lam_, mu_, n_, theta in (
        (LAM, 1 / HANDLE, AGENTS, 1 / PATIENCE),
        (1.2, 0.3, 4, 0.1),
        (20 * mu, mu, 10, 1 / 60),
    ):
        r = erlang_a(lam_, mu_, n_, theta)
        p_wait, queue = _brute_force(lam_, mu_, n_, theta)
        assert r.p_wait == pytest.approx(p_wait, rel=1e-9)
        assert r.mean_queue == pytest.approx(queue, rel=1e-9)
        # Little and the abandonment flow: P(abandon) = theta * mean wait, exactly.
        assert r.mean_wait == pytest.approx(r.mean_queue / lam_, rel=1e-12)
        assert r.p_abandon == pytest.approx(theta * r.mean_wait, rel=1e-12)
    # Heavy overload without overflow: the served flow is about n mu, the rest hangs up.
    big = erlang_a(2000.0 * mu, mu, 900, 1 / 120.0)
    assert big.p_abandon == pytest.approx(1 - 900 / 2000, abs=0.01)
    assert erlang_a(0.0, mu, 5, 0.1).p_wait == 0.0
    reference = erlang_a(LAM, 1 / HANDLE, AGENTS, 1 / PATIENCE)
    assert reference.p_abandon == pytest.approx(0.1339, abs=5e-5)
    assert reference.p_wait == pytest.approx(0.5099, abs=5e-5)
    assert reference.mean_wait == pytest.approx(24.10, abs=5e-3)


def _replication(seed: int, days: int, engine: str) -> tuple[float, float, float, float]:
    cfg = CallCentreConfig(
        engine=engine,
        seats=AGENTS,
        hours_per_day=24.0,
        days_per_month=days,
        inbound_calls_per_hour=LAM * 3600.0,
        inbound_handle_time_s=HANDLE,
        patience_s=PATIENCE,
    )
    env = simpy.Environment()
    cc = CallCentre(env, cfg, np.random.default_rng(seed), warmup_seconds=3600.0)
    calls = MonthCalls(np.zeros(0, np.int64), np.zeros(0, bool))
    cc.run_month(0, np.zeros(0, np.int64), np.zeros(0, bool), calls)
    env.run()
    served = np.asarray(calls.inbound_waits)
    gone = np.asarray(calls.inbound_abandon_waits)
    assert calls.inbound_abandoned == gone.size and cc._inbound_waiting == 0
    callers = served.size + gone.size
    waited = int((served > 0).sum()) + int((gone > 0).sum())
    wait_all = (served.sum() + gone.sum()) / callers
    p_abandon = gone.size / callers
    return p_abandon, waited / callers, wait_all, p_abandon - wait_all / PATIENCE


@pytest.mark.parametrize("engine", ["fast", "events"])
def test_call_centre_matches_erlang_a(engine: str) -> None:
    # 32 replications of 4 days (about 14,000 callers each), two worker processes.
    reps_n, days = 32, 4
    with ProcessPoolExecutor(max_workers=2) as pool:
        reps = np.array(
            list(pool.map(_replication, range(2000, 2000 + reps_n), [days] * reps_n, [engine] * reps_n))
        )
    theory = erlang_a(LAM, 1 / HANDLE, AGENTS, 1 / PATIENCE)
    checks = [
        ("P(abandon)", reps[:, 0], theory.p_abandon, 0.05),
        ("P(wait)", reps[:, 1], theory.p_wait, 0.03),
        ("mean wait s (all callers)", reps[:, 2], theory.mean_wait, 0.05),
    ]
    for name, values, exact, rel in checks:
        m, h = mean_ci(values, 0.99)
        print(f"{name}: {m:.4f} +/- {h:.4f} (99%, {reps_n} reps), theory {exact:.4f}")
        assert abs(m - exact) <= h, (name, m, h, exact)
        assert h / exact < rel, (name, h)
    # P(abandon) - mean wait / mean patience, paired within each replication: zero in theory.
    m, h = mean_ci(reps[:, 3], 0.99)
    print(f"P(abandon) - wait/patience: {m:.5f} +/- {h:.5f} (99%)")
    assert abs(m) <= h and h < 0.005


def _mixed_day(**extra: object) -> tuple[MonthCalls, CallCentre, np.random.Generator]:
    # Inbound and outbound sharing 6 seats over three 8-hour shifts.
    cfg = CallCentreConfig(seats=6, hours_per_day=8.0, days_per_month=3, inbound_calls_per_hour=60.0, **extra)  # type: ignore[arg-type]
    env = simpy.Environment()
    inbound = np.random.default_rng(11)
    cc = CallCentre(env, cfg, np.random.default_rng(10), warmup_seconds=600.0, inbound_rng=inbound)
    calls = MonthCalls(np.zeros(0, np.int64), np.zeros(0, bool))
    connects = np.random.default_rng(12).random(3000) < 0.649
    cc.run_month(0, np.arange(3000) * 7, connects, calls)
    env.run()
    return calls, cc, inbound


def test_no_patience_is_the_old_call_centre() -> None:
    default, _, rng_a = _mixed_day()
    explicit, _, rng_b = _mixed_day(patience_s=None, unplaced_calls="carry")
    assert default.inbound_waits == explicit.inbound_waits
    assert np.array_equal(default.dialled, explicit.dialled)
    assert default.busy_seconds == explicit.busy_seconds
    assert rng_a.bit_generator.state == rng_b.bit_generator.state
    assert default.inbound_abandoned == 0 and default.inbound_abandon_waits == []
    assert np.array_equal(default.placed, np.arange(default.dialled.size))
    # Pinned from the call centre before patience_s and unplaced_calls existed (commit
    # 4050de4): the same seeds gave exactly these figures.
    assert len(default.inbound_waits) == 1435
    assert sum(default.inbound_waits) == pytest.approx(168750.99759585044, rel=1e-12)
    assert default.dialled.size == 1149 and int(default.connected.sum()) == 716
    assert default.busy_seconds == pytest.approx(524657.6518081005, rel=1e-12)


def test_endless_patience_changes_no_wait_and_hanging_up_frees_the_queue() -> None:
    # One shift: patience is drawn after the shift's arrivals and services, so a patience
    # nobody reaches leaves every wait as it was.
    def one_shift(patience: float | None) -> MonthCalls:
        cfg = CallCentreConfig(
            seats=3, hours_per_day=8.0, days_per_month=1, inbound_calls_per_hour=40.0, patience_s=patience
        )
        env = simpy.Environment()
        cc = CallCentre(env, cfg, np.random.default_rng(5))
        calls = MonthCalls(np.zeros(0, np.int64), np.zeros(0, bool))
        cc.run_month(0, np.arange(400), np.ones(400, bool), calls)
        env.run()
        return calls

    base, endless = one_shift(None), one_shift(1e15)
    assert endless.inbound_waits == base.inbound_waits and endless.inbound_abandoned == 0
    assert np.array_equal(endless.dialled, base.dialled)

    # Impatient callers on a busy line: at instants between events, the callers counted as
    # waiting (outbound agents give their seat up for them) are exactly the hotline requests
    # still queued, so a caller who hung up no longer holds an agent off the dial list. (The
    # SimPy engine's own state; the fast engine replays it, test_sim_fast_callcentre.)
    cfg = CallCentreConfig(
        seats=2, hours_per_day=8.0, days_per_month=2, inbound_calls_per_hour=40.0, patience_s=20.0, engine="events"
    )
    env = simpy.Environment()
    cc = CallCentre(env, cfg, np.random.default_rng(6))
    calls = MonthCalls(np.zeros(0, np.int64), np.zeros(0, bool))
    mismatches: list[tuple[float, int, int]] = []

    def monitor():  # type: ignore[no-untyped-def]
        while env.now < 2 * 86_400.0:
            yield env.timeout(math.pi * 7.0)
            queued = sum(1 for r in cc.seats.queue if r.priority == 0)
            if cc._inbound_waiting != queued:
                mismatches.append((env.now, cc._inbound_waiting, queued))

    cc.run_month(0, np.arange(2000), np.ones(2000, bool), calls)
    env.process(monitor())
    env.run()
    assert calls.inbound_abandoned > 20 and not mismatches and cc._inbound_waiting == 0
    assert calls.dialled.size > 200  # the dial list still moves between hotline calls


def _outbound(policy: str, n: int, seed: int, inbound: float) -> MonthCalls:
    # 2 seats, 1-hour shifts, 3 days; nobody answers, so every call takes exactly 30 s
    # (120 calls a seat a shift when no hotline call takes it).
    cfg = CallCentreConfig(
        seats=2,
        hours_per_day=1.0,
        days_per_month=3,
        connect_rate=0.0,
        no_answer_time_s=30.0,
        inbound_calls_per_hour=inbound,
        patience_s=60.0,
        unplaced_calls=policy,
    )
    env = simpy.Environment()
    cc = CallCentre(env, cfg, np.random.default_rng(seed), inbound_rng=np.random.default_rng(seed + 1))
    calls = MonthCalls(np.zeros(0, np.int64), np.zeros(0, bool))
    cc.run_month(0, np.arange(n) + 10_000, np.zeros(n, bool), calls)
    env.run()
    assert np.array_equal(calls.dialled, calls.placed + 10_000)
    return calls


def test_unplaced_calls_drop() -> None:
    # No hotline: 240 calls a day. 1000 calls: "carry" works down the list (0..719), "drop"
    # gives each day a third (0..332, 333..665, 666..999) and loses what a day cannot place.
    carry, drop = _outbound("carry", 1000, 0, 0.0), _outbound("drop", 1000, 0, 0.0)
    assert np.array_equal(carry.placed, np.arange(720))
    assert np.array_equal(drop.placed, np.r_[0:240, 333:573, 666:906])
    # A list about the month's capacity, on days made uneven by the hotline. Each day
    # places a prefix of its own share; "drop" never places more than "carry".
    shares = [(d * 480 // 3, (d + 1) * 480 // 3) for d in range(3)]
    lost = 0
    for seed in range(4):
        carry, drop = _outbound("carry", 480, seed, 12.0), _outbound("drop", 480, seed, 12.0)
        assert np.array_equal(carry.placed, np.arange(carry.placed.size))
        assert drop.placed.size <= carry.placed.size
        for lo, hi in shares:
            mine = drop.placed[(drop.placed >= lo) & (drop.placed < hi)]
            assert np.array_equal(mine, np.arange(lo, lo + mine.size))
        lost += carry.placed.size - drop.placed.size
    print(f"drop placed {lost} calls fewer than carry over 4 seeds")
    assert lost > 0


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"patience_s": 0}, r"call_centre\.patience_s: \(=0\.0\) must be > 0"),
        ({"patience_s": "long"}, r"call_centre\.patience_s: \(='long'\) must be a number"),
        ({"patience_s": float("inf")}, r"call_centre\.patience_s: \(=inf\) must be finite"),
        ({"unplaced_calls": "keep"}, r"call_centre\.unplaced_calls: \(='keep'\) must be one of"),
    ],
)
def test_settings_are_checked(mapping: dict, message: str) -> None:
    with pytest.raises(SimulationConfigError, match=message):
        build_config({"call_centre": mapping})


def test_settings_defaults_and_values() -> None:
    cc = build_config({}).call_centre
    assert cc.patience_s is None and cc.unplaced_calls == "carry"
    cc = build_config({"call_centre": {"patience_s": 90, "unplaced_calls": "drop"}}).call_centre
    assert cc.patience_s == 90.0 and isinstance(cc.patience_s, float) and cc.unplaced_calls == "drop"
    assert build_config({"call_centre": {"patience_s": None}}).call_centre.patience_s is None
