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
from window_reference import feasible

from campaignlab.cli import main
from optimizer import InputError, Problem, solve, verify_plan
from optimizer.decompose import solve_decomposed
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
    spend = (options["contact_cost"] + options["p_accept"] * options["offer_cost"]).to_numpy()
    net = (options["p_accept"] * options["value"]).to_numpy() - spend
    waves = data["waves"]
    per_customer = []
    for c, cap in zip(customers["customer_id"], customers["max_contacts"]):
        mine = [(w, j) for w in range(len(waves)) for j in np.flatnonzero((options["customer_id"] == c).to_numpy())]
        sets = []
        for r in range(len(mine) + 1):
            for subset in itertools.combinations(mine, r):
                dated = [(datetime.date.fromisoformat(waves[w]["date"]), options["offer_id"][j], options["channel_id"][j]) for w, j in subset]
                if feasible(data["contact_policy"], history, c, dated, int(cap)):
                    per_wave = np.zeros(len(waves))
                    for w, j in subset:
                        per_wave[w] += spend[j]
                    sets.append((float(sum(net[j] for _, j in subset)), per_wave))
        per_customer.append(sets)
    budgets = np.array([w["budget"] for w in waves])
    best = -np.inf
    for combo in itertools.product(*per_customer):
        if np.all(sum(s for _, s in combo) <= budgets + 1e-9):
            best = max(best, sum(v for v, _ in combo))
    return best


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


def test_decomposition_takes_waves_no_window_spans_and_refuses_the_others() -> None:
    problem, _ = _generated(2000, ["2027-01-04", "2027-02-08", "2027-03-15"], [{"days": 30, "max": 1}, {"days": 35, "max": 0, "channel": "call"}])
    assert not problem.linked and problem.n_customers == 3 * 2000
    exact, decomposed = solve(problem), solve_decomposed(problem, gap=1e-6)
    for result in (exact, decomposed):
        assert verify_plan(problem, result.plan).ok
    assert decomposed.bound >= exact.objective_value - 1e-6 * abs(exact.objective_value)
    assert exact.objective_value - decomposed.objective_value <= decomposed.bound - decomposed.objective_value + 1e-6
    assert {lim.name.split(":")[0] for lim in exact.limits} == {"w0", "w1", "w2"}  # each wave's limits, priced apart
    linked, _ = _generated(300, ["2027-01-04", "2027-01-25"], [{"days": 30, "max": 1}])
    assert linked.linked
    with pytest.raises(InputError, match="exact mode"):
        solve_decomposed(linked)


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
