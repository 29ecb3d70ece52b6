"""The call centre alone as M/M/c against Erlang C (48 Erlang offered to 55 agents).

Theory (simulation.erlang): P(wait) = 0.2387, mean wait 8.184 s with the 240 s handle time
that implies, 84.6% answered within 15 s. The SimPy call centre runs 24-hour shifts of
Poisson inbound calls only; the first hour of each shift is warm-up (the queue starts
empty). Each replication's estimate is one number; theory must lie inside the 99% t
interval over replications, and the interval must be narrow enough to mean something. Both
engines (``call_centre.engine``: the compiled replay and the SimPy processes) are checked.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import simpy

from simulation import (
    CallCentre,
    CallCentreConfig,
    MonthCalls,
    erlang_c,
    mean_ci,
    mean_wait,
    service_level,
)

LOAD, AGENTS, HANDLE = 48.0, 55, 240.0


def test_erlang_c_reference_values() -> None:
    assert erlang_c(LOAD, AGENTS) == pytest.approx(0.2387, abs=5e-5)
    assert mean_wait(LOAD, AGENTS, HANDLE) == pytest.approx(8.184, abs=5e-4)
    assert service_level(LOAD, AGENTS, HANDLE, 15.0) == pytest.approx(0.846, abs=5e-4)
    # One agent: M/M/1, P(wait) = rho.
    assert erlang_c(0.3, 1) == pytest.approx(0.3)


def _replication(seed: int, days: int, engine: str) -> tuple[float, float, float, float]:
    cfg = CallCentreConfig(
        engine=engine,
        seats=AGENTS,
        hours_per_day=24.0,
        days_per_month=days,
        inbound_calls_per_hour=LOAD / HANDLE * 3600.0,
        inbound_handle_time_s=HANDLE,
        service_level_seconds=15.0,
    )
    env = simpy.Environment()
    cc = CallCentre(env, cfg, np.random.default_rng(seed), warmup_seconds=3600.0)
    calls = MonthCalls(np.zeros(0, np.int64), np.zeros(0, bool))
    cc.run_month(0, np.zeros(0, np.int64), np.zeros(0, bool), calls)
    env.run()
    w = np.asarray(calls.inbound_waits)
    return float((w > 0).mean()), float(w.mean()), float((w <= 15.0).mean()), calls.utilisation


@pytest.mark.parametrize("engine", ["fast", "events"])
def test_call_centre_matches_erlang_c(engine: str) -> None:
    # 24 replications of 3 days (about 50,000 calls each), two worker processes.
    with ProcessPoolExecutor(max_workers=2) as pool:
        reps = np.array(list(pool.map(_replication, range(1000, 1024), [3] * 24, [engine] * 24)))
    checks = [
        ("P(wait)", reps[:, 0], erlang_c(LOAD, AGENTS), 0.08),
        ("mean wait s", reps[:, 1], mean_wait(LOAD, AGENTS, HANDLE), 0.15),
        ("within 15 s", reps[:, 2], service_level(LOAD, AGENTS, HANDLE, 15.0), 0.02),
        ("utilisation", reps[:, 3], LOAD / AGENTS, 0.01),
    ]
    for name, values, theory, rel in checks:
        m, h = mean_ci(values, 0.99)
        print(f"{name}: {m:.4f} +/- {h:.4f} (99%, 24 reps), theory {theory:.4f}")
        assert abs(m - theory) <= h, (name, m, h, theory)
        assert h / theory < rel, (name, h)


def test_outbound_dialling_never_exceeds_seat_hours() -> None:
    # 2 seats, 1 hour a day, 1 day, 100 s per call always connected: at most 2 * 36 calls
    # start before the shift ends (an agent starts its 37th at 3600 s: not allowed).
    cfg = CallCentreConfig(seats=2, hours_per_day=1.0, days_per_month=1, handle_time_s=100.0, connect_rate=1.0)
    env = simpy.Environment()
    cc = CallCentre(env, cfg, np.random.default_rng(0))
    dial = np.arange(500)
    calls = MonthCalls(np.zeros(0, np.int64), np.zeros(0, bool))
    cc.run_month(0, dial, np.ones(500, bool), calls)
    env.run()
    # Exponential talk times with mean 100 s: about 72 calls, never 500.
    assert 40 <= calls.dialled.size <= 120
    assert np.array_equal(calls.dialled, dial[: calls.dialled.size])  # dialled in list order
    assert 0.9 < calls.utilisation < 1.3  # the last calls may run past the shift end
