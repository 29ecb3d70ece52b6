"""Contact history and rolling-window contact rules: exact against brute force, the verifier
against a plain-Python reading, decomposition within its gap, and bad input.

The reference (:func:`feasible`) reads the windows from the scenario's words alone, contact
by contact, sharing nothing with optimizer.contact_windows (which turns them into room) or
the verifier (which counts them with pandas group-bys).
"""

from __future__ import annotations

import datetime
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from campaignlab.cli import main
from optimizer import InputError, Problem, load_problem, solve, verify_plan
from optimizer.decompose import solve_decomposed
from optimizer.scenario_file import validate

from window_reference import brute_force as reference_brute_force
from window_reference import feasible as reference_feasible

PLAN_DATE = datetime.date(2027, 3, 1)
OFFERS = ("a", "b", "c")
CHANNELS = ("sms", "call")
OUTCOMES = ("accepted", "declined", "no_answer")


def _instance(seed: int) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Three customers, up to four options each, a budget, a random history and random windows."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(3):
        pairs = list(itertools.product(OFFERS[:2], CHANNELS))
        for k in rng.permutation(len(pairs))[: rng.integers(2, 5)]:
            o, h = pairs[k]
            rows.append({"customer_id": f"c{c}", "offer_id": o if rng.random() < 0.8 else "c", "channel_id": h})
    options = pd.DataFrame(rows).drop_duplicates(["customer_id", "offer_id", "channel_id"]).reset_index(drop=True)
    n = len(options)
    options["p_accept"] = rng.uniform(0.05, 0.6, n).round(3)
    options["value"] = rng.uniform(10, 80, n).round(2)
    options["contact_cost"] = np.where(options["channel_id"] == "call", 2.5, 0.1)
    options["offer_cost"] = rng.uniform(1, 15, n).round(2)
    customers = pd.DataFrame({"customer_id": ["c0", "c1", "c2"], "max_contacts": rng.integers(1, 4, 3)})
    k = int(rng.integers(0, 9))
    history = pd.DataFrame({
        "customer_id": rng.choice(["c0", "c1", "c2"], k), "offer_id": rng.choice(OFFERS, k), "channel_id": rng.choice(CHANNELS, k),
        "date": [(PLAN_DATE - datetime.timedelta(days=int(d))).isoformat() for d in rng.integers(0, 80, k)],
        "outcome": rng.choice(OUTCOMES, k),
    })
    windows: list[dict[str, Any]] = []
    for _ in range(int(rng.integers(1, 4))):
        w: dict[str, Any] = {"days": int(rng.choice([7, 30, 60])), "max": int(rng.integers(0, 3))}
        kind = rng.integers(0, 4)
        if kind == 1:
            w["channel"] = str(rng.choice(CHANNELS))
        elif kind == 2:
            w["offer"] = str(rng.choice(OFFERS))
        elif kind == 3:
            w |= {"offer": str(rng.choice(OFFERS)), "after": str(rng.choice(OUTCOMES))}
            if rng.random() < 0.5:
                w["channel"] = str(rng.choice(CHANNELS))
        w["name"] = f"w{len(windows)}"
        windows.append(w)
    policy: dict[str, Any] = {"max_contacts": 3, "windows": windows}
    if rng.random() < 0.4:
        policy["min_gap_days"] = int(rng.choice([3, 20]))
    if rng.random() < 0.5:
        first, then = rng.choice(OFFERS, 2)
        policy["sequences"] = [{"first": str(first), "then": str(then), "days": int(rng.choice([10, 40]))}]
    spend = options["contact_cost"] + options["p_accept"] * options["offer_cost"]
    data = {"name": f"windows {seed}", "budget": float(round(spend.sum() * rng.uniform(0.3, 0.9), 2)), "plan_date": PLAN_DATE.isoformat(),
            "channels": {h: {} for h in CHANNELS}, "offers": {o: {} for o in OFFERS}, "contact_policy": policy, "allow_unused": True}
    return data, options, customers, history


def feasible(data: dict[str, Any], history: pd.DataFrame, customer: str, chosen: list[tuple[str, str]], max_contacts: int) -> bool:
    """One customer's new contacts (offer, channel), all on the plan date (the reference of window_reference)."""
    return reference_feasible(data["contact_policy"], history, customer, [(PLAN_DATE, o, h) for o, h in chosen], max_contacts)


def brute_force(data: dict[str, Any], options: pd.DataFrame, customers: pd.DataFrame, history: pd.DataFrame) -> float:
    return reference_brute_force(data["contact_policy"], options, customers, history, [(PLAN_DATE, data["budget"])])


@pytest.mark.parametrize("seed", range(40))
def test_exact_equals_brute_force_and_decomposition_agrees(seed: int) -> None:
    data, options, customers, history = _instance(seed)
    problem = Problem.from_tables(validate(data), options, customers, history=history)
    result = solve(problem)
    assert result.status.value == "OPTIMAL"
    assert verify_plan(problem, result.plan).ok
    assert result.objective_value == pytest.approx(brute_force(data, options, customers, history), abs=1e-6)
    decomposed = solve_decomposed(problem, gap=1e-6)
    assert verify_plan(problem, decomposed.plan).ok
    assert decomposed.objective_value <= result.objective_value + 1e-6
    assert decomposed.bound >= result.objective_value - 1e-6  # the certified bound holds
    assert result.objective_value - decomposed.objective_value <= decomposed.bound - decomposed.objective_value + 1e-6


@pytest.mark.parametrize("seed", range(40))
def test_verifier_agrees_with_the_reference_on_random_plans(seed: int) -> None:
    """Random plans over every option (those the windows removed included), hand-edited plans in effect."""
    data, options, customers, history = _instance(seed)
    data = {**data, "budget": None}
    problem = Problem.from_tables(validate(data), options, customers, history=history)
    rng = np.random.default_rng(1000 + seed)
    for _ in range(15):
        plan = options[rng.random(len(options)) < 0.4][["customer_id", "offer_id", "channel_id"]]
        expected = all(
            feasible(data, history, c, [(o, h) for o, h in zip(p["offer_id"], p["channel_id"])], int(cap))
            for c, cap in zip(customers["customer_id"], customers["max_contacts"])
            for p in [plan[plan["customer_id"] == c]]
        )
        assert verify_plan(problem, plan).ok == expected, (plan.to_dict("records"), verify_plan(problem, plan).violations)


def _generated(n: int, seed: int) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from optimizer.demo import CHANNELS as DEMO_CHANNELS
    from optimizer.demo import OFFERS as DEMO_OFFERS
    from optimizer.demo import generate_base, generate_history

    options, customers = generate_base(n, seed=seed)
    history = generate_history(customers, PLAN_DATE, months=3, seed=seed)
    data = {"name": "generated", "budget": 3.0 * n, "plan_date": PLAN_DATE.isoformat(),
            "channels": {h: {} for h in DEMO_CHANNELS} | {"call": {"capacity": n // 10}},
            "offers": {o: {} for o in DEMO_OFFERS},
            "contact_policy": {"max_contacts": 2, "windows": [{"days": 30, "max": 2}, {"days": 60, "max": 2, "channel": "sms"},
                                                              {"days": 60, "max": 0, "offer": "handset_contract", "after": "declined"}],
                               "min_gap_days": 2, "sequences": [{"first": "data_pack", "then": "family_plan", "days": 45}]}}
    return data, options, customers, history


def test_decomposition_within_its_gap_on_a_medium_base_with_windows() -> None:
    data, options, customers, history = _generated(3000, 5)
    problem = Problem.from_tables(validate(data), options, customers, history=history)
    assert "sms" in problem.channel_caps and set(np.unique(problem.channel_caps["sms"])) >= {0, 1, 2}  # per-customer room
    exact = solve(problem)
    decomposed = solve_decomposed(problem, gap=1e-6)
    for result in (exact, decomposed):
        assert verify_plan(problem, result.plan).ok
    assert decomposed.objective_value <= exact.objective_value + 1e-6 * abs(exact.objective_value)
    assert decomposed.bound >= exact.objective_value - 1e-6 * abs(exact.objective_value)
    assert exact.objective_value - decomposed.objective_value <= decomposed.bound - decomposed.objective_value + 1e-6


def test_history_uses_up_a_window_and_the_verifier_says_which() -> None:
    data, options, customers, _ = _instance(3)
    data["contact_policy"] = {"max_contacts": 3, "windows": [{"days": 30, "max": 1, "channel": "call", "name": "one call a month"}]}
    history = pd.DataFrame({"customer_id": ["c0"], "offer_id": ["a"], "channel_id": ["call"],
                            "date": [(PLAN_DATE - datetime.timedelta(days=29)).isoformat()], "outcome": ["declined"]})
    problem = Problem.from_tables(validate(data), options, customers, history=history)
    calls = options[(options["customer_id"] == "c0") & (options["channel_id"] == "call")]
    assert len(calls) and not (problem.options["customer_id"].eq("c0") & problem.options["channel_id"].eq("call")).any()
    violations = verify_plan(problem, calls.iloc[:1][["customer_id", "offer_id", "channel_id"]]).violations
    assert any("one call a month" in v and "c0" in v for v in violations)
    # 30 days before, the call has left the window
    history["date"] = (PLAN_DATE - datetime.timedelta(days=30)).isoformat()
    assert verify_plan(Problem.from_tables(validate(data), options, customers, history=history), calls.iloc[:1][["customer_id", "offer_id", "channel_id"]]).ok


def test_unknown_customers_in_history_are_counted_not_an_error() -> None:
    data, options, customers, history = _instance(4)
    history = pd.concat([history, pd.DataFrame({"customer_id": ["gone1", "gone2"], "offer_id": ["a", "b"], "channel_id": ["sms", "sms"],
                                                "date": ["2027-01-05", "2027-01-06"], "outcome": ["accepted", "declined"]})])
    problem = Problem.from_tables(validate(data), options, customers, history=history)
    assert problem.history is not None and problem.history.unknown_customers == 2
    assert any("2 of" in w and "not in this base" in w for w in problem.warnings)


def _write_case(tmp_path: Path, history_rows: str, policy: dict[str, Any] | None = None) -> Path:
    data, options, customers, _ = _instance(2)
    options.to_csv(tmp_path / "options.csv", index=False)
    customers.to_csv(tmp_path / "customers.csv", index=False)
    (tmp_path / "history.csv").write_text("customer_id,offer_id,channel_id,date,outcome\n" + history_rows)
    data = {**data, "options": "options.csv", "customers": "customers.csv", "contact_history": "history.csv"}
    if policy is not None:
        data["contact_policy"] = policy
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    return tmp_path / "s.yaml"


@pytest.mark.parametrize(("rows", "policy", "words"), [
    ("c0,zz,sms,2027-02-01,accepted\n", None, ["history.csv", "row 1", "offer_id", "'zz'"]),
    ("c0,a,fax,2027-02-01,accepted\n", None, ["history.csv", "row 1", "channel_id", "'fax'"]),
    ("c0,a,sms,2027-02-01,accepted\nc1,a,sms,01/02/2027,accepted\n", None, ["history.csv", "row 2", "column 'date'", "ISO"]),
    ("c0,a,sms,2027-03-02,accepted\n", None, ["history.csv", "row 1", "column 'date'", "after the plan date 2027-03-01"]),
    ("c0,a,sms,2027-02-01,maybe\n", None, ["history.csv", "row 1", "column 'outcome'", "'maybe'"]),
    ("", {"windows": [{"days": 0, "max": 1}]}, ["s.yaml", "contact_policy.windows.0.days"]),
    ("", {"windows": [{"days": 10, "max": -1}]}, ["s.yaml", "contact_policy.windows.0.max"]),
    ("", {"windows": [{"days": 10, "max": 1, "channel": "cal"}]}, ["s.yaml", "'cal'", "did you mean 'call'"]),
    ("", {"sequences": [{"first": "a", "then": "q", "days": 5}]}, ["s.yaml", "sequences.0.then", "'q'"]),
])
def test_bad_history_and_windows_exit_2_naming_where(tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: str,
                                                     policy: dict[str, Any] | None, words: list[str]) -> None:
    scenario = _write_case(tmp_path, rows, policy)
    out = tmp_path / "out"
    assert main(["optimize", str(scenario), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and all(w in err for w in words), err
    assert not out.exists()


def test_cli_reports_history_and_window_effects(tmp_path: Path) -> None:
    scenario = _write_case(tmp_path, "c0,a,call,2027-02-20,declined\nc1,b,sms,2027-02-27,accepted\ngone,a,sms,2027-01-01,no_answer\n",
                           {"max_contacts": 2, "windows": [{"days": 30, "max": 1, "name": "monthly"}], "min_gap_days": 7})
    out = tmp_path / "out"
    assert main(["optimize", str(scenario), "--out", str(out), "--quiet"]) == 0
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert summary["verified"] is True
    assert summary["contact_history"]["rows"] == 3 and summary["contact_history"]["rows_of_customers_not_in_the_base"] == 1
    assert summary["contact_history"]["plan_date"] == "2027-03-01"
    effects = {e["name"]: e for e in summary["contact_windows"]["windows"]}
    assert effects["monthly"]["customers_blocked"] == 2 and effects["min_gap_days 7"]["customers_blocked"] == 1
    plan = pd.read_csv(out / "plan.csv")
    assert not plan["customer_id"].isin(["c0", "c1"]).any()
    assert (plan.groupby("customer_id").size() <= 1).all()  # min_gap_days: two contacts on one day are too close


def test_history_without_a_plan_date_is_read_against_today(tmp_path: Path) -> None:
    data, options, customers, history = _instance(5)
    data.pop("plan_date")
    with pytest.raises(InputError, match="after the plan date"):
        Problem.from_tables(validate(data), options, customers,
                            history=history.assign(date=(datetime.date.today() + datetime.timedelta(days=1)).isoformat()))
    problem = Problem.from_tables(validate(data), options, customers, history=history.assign(date=datetime.date.today().isoformat()))
    assert problem.history is not None and not problem.history.plan_date_given


def test_load_problem_reads_a_parquet_history(tmp_path: Path) -> None:
    scenario = _write_case(tmp_path, "")
    data = yaml.safe_load(scenario.read_text())
    pd.DataFrame({"customer_id": ["c0"], "offer_id": ["a"], "channel_id": ["sms"], "date": ["2027-02-25"], "outcome": ["accepted"],
                  "campaign": ["feb"]}).to_parquet(tmp_path / "history.parquet")
    data["contact_history"] = "history.parquet"
    scenario.write_text(yaml.safe_dump(data))
    problem = load_problem(scenario)
    assert problem.history is not None and list(problem.history.table["campaign"]) == ["feb"]
    assert "contact_history" in problem.sources
