"""Multi-wave plans: exact against brute force over every wave, the verifier against the
plain-Python reference (window_reference), decomposition where customers stay independent,
the command line, and bad input."""

from __future__ import annotations

import datetime
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from window_reference import brute_force, feasible

from campaignlab.cli import main
from optimizer import InputError, Problem, solve, verify_plan
from optimizer.decompose import lagrangian_bound, solve_decomposed
from optimizer.scenario_file import validate

OFFERS = ("a", "b")
CHANNELS = ("sms", "call")
DATES = (datetime.date(2027, 3, 1), datetime.date(2027, 3, 20), datetime.date(2027, 4, 25))


def _instance(seed: int, n_waves: int = 2) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows = [{"customer_id": f"c{c}", "offer_id": o, "channel_id": h}
            for c in range(3) for o, h in itertools.product(OFFERS, CHANNELS) if rng.random() < 0.55]
    options = pd.DataFrame(rows or [{"customer_id": "c0", "offer_id": "a", "channel_id": "sms"}])
    n = len(options)
    options["p_accept"] = rng.uniform(0.05, 0.6, n).round(3)
    options["value"] = rng.uniform(10, 80, n).round(2)
    options["contact_cost"] = np.where(options["channel_id"] == "call", 2.5, 0.1)
    options["offer_cost"] = rng.uniform(1, 15, n).round(2)
    customers = pd.DataFrame({"customer_id": ["c0", "c1", "c2"], "max_contacts": rng.integers(1, 3, 3)})
    k = int(rng.integers(0, 6))
    history = pd.DataFrame({
        "customer_id": rng.choice(["c0", "c1", "c2"], k), "offer_id": rng.choice(OFFERS, k), "channel_id": rng.choice(CHANNELS, k),
        "date": [(DATES[0] - datetime.timedelta(days=int(d))).isoformat() for d in rng.integers(0, 50, k)],
        "outcome": rng.choice(["accepted", "declined", "no_answer"], k),
    })
    windows = [{"days": int(rng.choice([15, 30, 60])), "max": int(rng.integers(1, 3)), "name": "any"},
               {"days": int(rng.choice([30, 90])), "max": 1, "channel": str(rng.choice(CHANNELS)), "name": "channel"}]
    if rng.random() < 0.5:
        windows.append({"days": 60, "max": 0, "offer": str(rng.choice(OFFERS)), "after": "declined", "name": "cool-down"})
    policy: dict[str, Any] = {"max_contacts": 2, "windows": windows}
    if rng.random() < 0.5:
        policy["sequences"] = [{"first": str(rng.choice(OFFERS)), "then": str(rng.choice(OFFERS)), "days": 30}]
    if rng.random() < 0.3:
        policy["min_gap_days"] = 25
    spend = float((options["contact_cost"] + options["p_accept"] * options["offer_cost"]).sum())
    waves = [{"name": f"w{i}", "date": DATES[i].isoformat(), "budget": round(spend * rng.uniform(0.2, 0.8), 2)} for i in range(n_waves)]
    data = {"name": f"waves {seed}", "channels": {h: {} for h in CHANNELS}, "offers": {o: {} for o in OFFERS},
            "contact_policy": policy, "waves": waves, "allow_unused": True}
    return data, options, customers, history


def _brute_force(data: dict[str, Any], options: pd.DataFrame, customers: pd.DataFrame, history: pd.DataFrame) -> float:
    waves = [(datetime.date.fromisoformat(w["date"]), w["budget"]) for w in data["waves"]]
    return brute_force(data["contact_policy"], options, customers, history, waves)


@pytest.mark.parametrize("seed", range(25))
def test_joint_plan_equals_brute_force_over_two_waves(seed: int) -> None:
    data, options, customers, history = _instance(seed)
    problem = Problem.from_tables(validate(data), options, customers, history=history)
    result = solve(problem)
    assert result.status.value == "OPTIMAL"
    assert verify_plan(problem, result.plan).ok, verify_plan(problem, result.plan).violations
    assert set(result.plan["wave"]) <= {"w0", "w1"}
    assert result.objective_value == pytest.approx(_brute_force(data, options, customers, history), abs=1e-6)


@pytest.mark.parametrize("seed", range(25))
def test_verifier_agrees_with_the_reference_on_random_three_wave_plans(seed: int) -> None:
    data, options, customers, history = _instance(seed, n_waves=3)
    for wave in data["waves"]:
        wave["budget"] = None
    problem = Problem.from_tables(validate(data), options, customers, history=history)
    rng = np.random.default_rng(500 + seed)
    every = pd.concat([options[["customer_id", "offer_id", "channel_id"]].assign(wave=w["name"]) for w in data["waves"]], ignore_index=True)
    dates = {w["name"]: datetime.date.fromisoformat(w["date"]) for w in data["waves"]}
    for _ in range(12):
        plan = every[rng.random(len(every)) < 0.3]
        expected = all(
            feasible(data["contact_policy"], history, c, [(dates[w], o, h) for w, o, h in zip(p["wave"], p["offer_id"], p["channel_id"])], int(cap))
            for c, cap in zip(customers["customer_id"], customers["max_contacts"]) for p in [plan[plan["customer_id"] == c]]
        )
        found = verify_plan(problem, plan)
        assert found.ok == expected, (plan.to_dict("records"), found.violations)


def _generated(n: int, dates: list[str], windows: list[dict[str, Any]]) -> tuple[Problem, dict[str, Any]]:
    from optimizer.demo import CHANNELS as DEMO_CHANNELS
    from optimizer.demo import OFFERS as DEMO_OFFERS
    from optimizer.demo import generate_base, generate_history

    options, customers = generate_base(n, seed=11)
    history = generate_history(customers, datetime.date.fromisoformat(dates[0]), months=3, seed=11)
    data = {"name": "generated waves", "channels": {h: {} for h in DEMO_CHANNELS} | {"call": {"capacity": n // 20}},
            "offers": {o: {} for o in DEMO_OFFERS}, "contact_policy": {"max_contacts": 2, "windows": windows},
            "waves": [{"name": f"w{i}", "date": d, "budget": 1.5 * n} for i, d in enumerate(dates)]}
    return Problem.from_tables(validate(data), options, customers, history=history), data


def test_decomposition_takes_waves_no_window_spans() -> None:
    problem, _ = _generated(2000, ["2027-01-04", "2027-02-08", "2027-03-15"], [{"days": 30, "max": 1}, {"days": 35, "max": 0, "channel": "call"}])
    assert not problem.linked and problem.n_customers == 3 * 2000
    exact, decomposed = solve(problem), solve_decomposed(problem, gap=1e-6)
    for result in (exact, decomposed):
        assert verify_plan(problem, result.plan).ok
    assert decomposed.bound >= exact.objective_value - 1e-6 * abs(exact.objective_value)
    assert exact.objective_value - decomposed.objective_value <= decomposed.bound - decomposed.objective_value + 1e-6
    assert {lim.name.split(":")[0] for lim in exact.limits} == {"w0", "w1", "w2"}  # each wave's limits, priced apart


@pytest.mark.parametrize("seed", range(25))
def test_decomposition_across_linked_waves_brackets_the_brute_force_optimum(seed: int) -> None:
    data, options, customers, history = _instance(seed)
    problem = Problem.from_tables(validate(data), options, customers, history=history)
    result = solve_decomposed(problem, gap=1e-9)
    best = _brute_force(data, options, customers, history)
    assert verify_plan(problem, result.plan).ok, verify_plan(problem, result.plan).violations
    assert result.objective_value - 1e-6 <= best <= result.bound + 1e-6
    if not problem.linked:
        return
    # the bound is the walk's over every wave at once: the same number from the prices alone
    assert lagrangian_bound(problem, [lim.shadow_price for lim in result.limits]) == pytest.approx(result.bound, abs=1e-9)


def test_decomposition_is_within_its_gap_of_exact_on_three_linked_waves() -> None:
    # identical options in every wave make the exact MIP symmetric and slow to prove (at 150 customers
    # not in 15 s; at 100 in about 8 s on an idle core, so under load it may still stop at the limit):
    # each side's bound must hold the other's plan, and decomposition (no time limit: the same
    # plan on any machine) stops at its own certified gap, here the Lagrangian one at 100 customers
    # (150 took 16 s to the same certificate, 100 takes 1 s)
    problem, _ = _generated(100, ["2027-01-04", "2027-01-25", "2027-02-22"],
                            [{"days": 30, "max": 1}, {"days": 60, "max": 1, "channel": "call"}])
    assert {rows.kind.split("@")[0] for rows in problem.linked} == {"window:window 30d max 1 (any contact)", "window:window 60d max 1 (call)"}
    decomposed, exact = solve_decomposed(problem, gap=1e-3), solve(problem, time_limit=15)
    for result in (decomposed, exact):
        assert verify_plan(problem, result.plan).ok
    assert decomposed.status.value == "OPTIMAL" and decomposed.bound - decomposed.objective_value <= 1e-3 * decomposed.objective_value
    tol = 1e-9 * abs(exact.objective_value)
    assert decomposed.bound >= exact.objective_value - tol and exact.bound >= decomposed.objective_value - tol


def test_a_linked_shard_survives_parquet_and_an_offer_through_one_channel_is_refused(tmp_path: Path) -> None:
    from optimizer.decompose.shard import layout_of, shards_of
    from optimizer.decompose.sharded import read_shard, write_shards

    problem, _ = _generated(80, ["2027-01-04", "2027-01-25"], [{"days": 30, "max": 1}, {"days": 60, "max": 1, "channel": "call"}])
    layout = layout_of(problem)
    shards = shards_of(problem, layout, shard_customers=50)
    assert [s.n_customers for s in shards] == [50, 50, 50, 10] and shards[0].linked_room.shape == (25, len(problem.linked))
    lam = np.full(len(problem.limits), 0.3)
    for shard, stem in zip(shards, write_shards(shards, tmp_path)):
        again = read_shard(stem)
        assert np.array_equal(again.linked_room, shard.linked_room)
        a, b = shard.patterns(layout, lam, second=True), again.patterns(layout, lam, second=True)
        assert a.value == b.value and np.array_equal(a.chosen, b.chosen) and np.array_equal(a.second, b.second)
    narrow, _ = _generated(40, ["2027-01-04", "2027-01-25"], [{"days": 30, "max": 1, "offer": "data_pack", "channel": "call"}])
    with pytest.raises(InputError, match="one offer through one channel"):
        solve_decomposed(narrow)


def test_a_window_across_waves_binds_the_joint_plan_and_the_verifier_sees_a_moved_contact() -> None:
    # small: rows that link waves make the exact MIP hard (300 customers x 3 waves took > 10 min)
    problem, _ = _generated(60, ["2027-01-04", "2027-01-25"], [{"days": 30, "max": 1, "name": "monthly"}])
    result = solve(problem, time_limit=60)
    plan = result.plan
    assert verify_plan(problem, plan).ok
    assert not plan.duplicated("customer_id").any()  # one contact in 30 days: the two waves share it
    first = plan[plan["wave"] == "w0"].iloc[:1]
    again = first.assign(wave="w1")
    found = verify_plan(problem, pd.concat([plan, again]))
    assert any("monthly" in v and first["customer_id"].iloc[0] in v for v in found.violations)


@pytest.mark.parametrize(("waves", "words"), [
    ([{"name": "a", "date": "2027-02-01"}, {"name": "b", "date": "2027-01-01"}], "dates must increase"),
    ([{"name": "a", "date": "2027-02-01"}, {"name": "a", "date": "2027-03-01"}], "two waves are named 'a'"),
    ([{"name": "a", "date": "2027-02-01", "channels": {"cal": {"capacity": 3}}}], "'cal' is not under 'channels' (did you mean 'call'?)"),
    ([{"name": "a", "date": "2027-02-30"}], "waves.0.date"),
])
def test_bad_waves_are_one_line_errors(waves: list[dict[str, Any]], words: str) -> None:
    data, *_ = _instance(1)
    with pytest.raises(InputError, match=None) as info:
        validate({**data, "waves": waves})
    assert words in str(info.value)


def test_the_command_line_writes_a_wave_column_and_verify_reads_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, options, customers, history = _instance(3, n_waves=3)
    options.to_csv(tmp_path / "options.csv", index=False)
    customers.to_csv(tmp_path / "customers.csv", index=False)
    history.to_csv(tmp_path / "history.csv", index=False)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump({**data, "options": "options.csv", "customers": "customers.csv", "contact_history": "history.csv"}))
    out = tmp_path / "out"
    assert main(["optimize", str(scenario), "--out", str(out), "--quiet"]) == 0
    plan = pd.read_csv(out / "plan.csv")
    summary = json.loads((out / "summary.json").read_text())
    assert list(plan.columns[:4]) == ["wave", "customer_id", "offer_id", "channel_id"]
    assert [w["name"] for w in summary["waves"]] == ["w0", "w1", "w2"] and summary["verified"] is True
    assert sum(w["contacts"] for w in summary["waves"]) == len(plan) == summary["contacts"]
    assert main(["verify", str(scenario), str(out / "plan.csv")]) == 0
    capsys.readouterr()
    assert main(["report", str(scenario), "--out", str(tmp_path / "report")]) == 2
    assert "multi-wave scenario runs through" in capsys.readouterr().err


def test_the_walk_over_linked_waves_gives_the_same_bits_at_any_thread_count() -> None:
    import numba

    # 22,000 customers x 3 waves: enough units (66,000) for the walk to run its blocks in parallel
    problem, _ = _generated(22_000, ["2027-01-04", "2027-01-25", "2027-02-22"], [{"days": 30, "max": 1}])
    assert problem.linked
    prices = np.linspace(0.5, 2.5, len(problem.limits))
    bounds = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        bounds.append(lagrangian_bound(problem, prices))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert bounds[0] == bounds[1]
