"""The plan test: the optimizer's plan replayed on the scenario's own base.

Consistency is checked where the optimizer and the simulator make the same assumption:
with the plan's own terms (``effects: plan``) and ample seats, the simulated spend, return
and acceptances must hold the plan's expectation in their 99% interval; with the lifecycle
model and nothing the option values leave out (no fatigue, one offer per customer), the
margin the simulator measures against doing nothing must hold the plan's expected return,
at the value horizon and with a shorter horizon plus the residual value.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from campaignlab.cli import main
from optimizer.demo import generate_base, offer_effect
from optimizer.verify import verify_plan
from scenarios.inputs import ScenarioInputs, load_inputs
from scenarios.plan_test import run_plan_test
from simulation import mean_ci

NO_FATIGUE = {"growth_per_contact": 0.0, "per_excess_contact": 0.0}


def _inputs(n: int, seed: int, simulation: dict, *, budget: float = 4000.0, max_contacts: int | None = None) -> ScenarioInputs:
    options, customers = generate_base(n, seed=seed)
    if max_contacts is not None:
        customers = customers.assign(max_contacts=np.minimum(customers["max_contacts"], max_contacts))
    offers = sorted(options["offer_id"].unique())
    data = {
        "name": f"generated-{n}-{seed}",
        "budget": budget,
        "min_roi": 0.2,
        "channels": {"call": {"capacity": n // 12}, "sms": {}, "app": {}, "store": {}},
        "offers": {o: {} for o in offers},
        "simulation": {
            "offers": {o: {"churn_multiplier": offer_effect(o).churn_multiplier, "term_months": offer_effect(o).term_months,
                           "arpu_uplift": offer_effect(o).arpu_uplift} for o in offers},
            "strategies": ["do_nothing", "plan"],
            **simulation,
        },
    }
    return ScenarioInputs.from_tables(data, options, customers)


def _inside(result, keys, confidence=0.99):
    plan = result.per_replication[result.per_replication["strategy"] == "plan"]
    out = {}
    for k in keys:
        m, h = mean_ci(plan[k], confidence)
        out[k] = (result.planned[k], m, h, abs(m - result.planned[k]) <= h)
    return out


@pytest.mark.parametrize(("n", "seed"), [(1500, 3), (2500, 11), (2000, 29)])
def test_replay_with_plan_effects_keeps_the_plans_expectation(n, seed):
    result = run_plan_test(_inputs(n, seed, {}), effects="plan", replications=30, seed=seed)
    checks = _inside(result, ("spend", "expected_return", "acceptances"))
    assert all(ok for *_, ok in checks.values()), checks
    # ample seats: every planned call is placed, in every replication
    assert result.simulated["calls"]["mean"] == result.planned["calls"] > 0
    assert not [g for g in result.gaps if g["measure"] == "calls"]


@pytest.mark.parametrize(("horizon", "seed"), [(24, 5), (6, 8)])
def test_lifecycle_return_is_the_value_models_expectation(horizon, seed):
    """Same value model in both halves: the simulated margin against doing nothing (in the
    horizon plus the residual after it) holds the plan's expected return."""
    inputs = _inputs(2000, seed, {"horizon_months": horizon, "fatigue": NO_FATIGUE}, max_contacts=1)
    result = run_plan_test(inputs, effects="lifecycle", replications=30, seed=seed)
    checks = _inside(result, ("expected_return", "spend", "acceptances"))
    assert all(ok for *_, ok in checks.values()), checks
    residual = result.simulated["residual_return"]["mean"]
    assert (residual > 0) == (horizon < 24)


def test_cut_capacity_names_the_calls_not_placed_and_their_value():
    cc = {"seats": 1, "days_per_month": 1, "hours_per_day": 1.0}
    result = run_plan_test(_inputs(2000, 4, {"call_centre": cc}), effects="plan", replications=5, seed=4)
    assert result.simulated["calls"]["mean"] < result.planned["calls"]
    gap = {g["measure"]: g for g in result.gaps}
    assert "calls" in gap and "net_value" in gap
    cause = next(c for c in gap["calls"]["causes"] if c.startswith("calls not placed for capacity"))
    placed = result.simulated["calls"]["mean"]
    assert f"{result.planned['calls'] - placed:,.0f} of {result.planned['calls']:,.0f} planned calls" in cause
    assert "yuan of the plan's expected net value" in cause
    # the value lost is the planned net value of the unplaced calls: about the net-value gap
    lost = float(cause.split("carried ")[1].split(" yuan")[0].replace(",", ""))
    assert lost > 0
    assert lost == pytest.approx(-gap["net_value"]["difference"], rel=0.35)


def test_call_centre_engine_setting_gives_the_same_plan_test():
    # simulation.call_centre.engine reaches the simulator; on a short-staffed wave both
    # engines place the same calls (the fast one replays the SimPy one's events).
    cc = {"seats": 1, "days_per_month": 1, "hours_per_day": 1.0, "inbound_calls_per_hour": 4.0}
    runs = [run_plan_test(_inputs(800, 4, {"call_centre": {**cc, "engine": e}}), effects="plan", replications=2, seed=4)
            for e in ("fast", "events")]
    assert runs[0].simulated["calls"]["mean"] < runs[0].planned["calls"]
    pd.testing.assert_frame_equal(runs[0].per_replication, runs[1].per_replication)
    with pytest.raises(Exception, match="engine"):
        _inputs(800, 4, {"call_centre": {"engine": "simpy"}})


def test_same_seed_same_plan_test():
    a = run_plan_test(_inputs(800, 2, {}), effects="plan", replications=3, seed=9)
    b = run_plan_test(_inputs(800, 2, {}), effects="plan", replications=3, seed=9)
    pd.testing.assert_frame_equal(a.per_replication, b.per_replication)


def test_outbound_10088_cli_writes_the_plan_test(tmp_path):
    out = tmp_path / "sim"
    assert main(["optimize", "outbound_10088", "--out", str(tmp_path / "opt"), "--quiet"]) == 0
    plan = tmp_path / "opt" / "plan.csv"
    assert main(["simulate", "outbound_10088", "--plan", str(plan), "--replications", "4", "--out", str(out), "--no-progress"]) == 0
    report = json.loads((out / "plan_test.json").read_text())
    summary = json.loads((tmp_path / "opt" / "summary.json").read_text())
    assert report["planned"]["net_value"] == pytest.approx(summary["objective"], rel=1e-9)
    for key in ("spend", "expected_return", "net_value", "acceptances", "calls", "customers_retained", "revenue"):
        assert set(report["simulated"][key]) == {"mean", "ci_low", "ci_high"}
    assert 0.0 <= report["p_spend_over_budget"] <= 1.0
    assert report["effects"] == "lifecycle" and report["horizon_months"] == 24
    # the optimizer's plan keeps value against doing nothing, on the base it was planned for
    assert report["simulated"]["net_value"]["ci_low"] > 0
    assert {a["what"] for a in report["assumptions"]} >= {"exit hazard", "margin", "customers"}
    for name in ("strategies.csv", "comparison.csv", "retention.png", "plan_test.png", "totals.csv"):
        assert (out / name).stat().st_size > 0
    versus = pd.read_csv(out / "comparison.csv")
    assert set(versus["versus"]) == {"do_nothing", "rule: arpu>80 AND decline", "score: churn risk"}


def _cli(args, capsys):
    code = main(args)
    return code, capsys.readouterr().err


def test_a_plan_from_another_base_is_refused_and_nothing_is_written(tmp_path, capsys):
    problem = load_inputs("outbound_10088").problem()
    good = problem.plan_table(np.eye(1, problem.n_options, 0, dtype=np.int8)[0])
    bad = pd.concat([good, good.assign(customer_id="NOBODY")])
    assert not verify_plan(problem, bad).ok
    path = tmp_path / "plan.csv"
    bad.to_csv(path, index=False)
    out = tmp_path / "out"
    code, err = _cli(["simulate", "outbound_10088", "--plan", str(path), "--out", str(out), "--no-progress"], capsys)
    assert code == 2
    assert "plan.csv" in err and "not eligible options" in err and "NOBODY" in err
    assert not out.exists()


def test_misspelt_simulation_key_gets_a_suggestion(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("extends: outbound_10088\nsimulation:\n  replicatons: 3\n")
    code, err = _cli(["simulate", str(path), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "simulation.replicatons" in err and "did you mean 'replications'" in err
    path.write_text("extends: outbound_10088\nsimulation:\n  lifecycle: {exit_hazrd: {growth: 0.1}}\n")
    code, err = _cli(["simulate", str(path), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "simulation.lifecycle.exit_hazrd" in err and "exit_hazard" in err
    assert not (tmp_path / "o").exists()


def test_lifecycle_effects_need_every_offers_effect(tmp_path, capsys):
    options, customers = generate_base(300, seed=1)
    options.to_csv(tmp_path / "options.csv", index=False)
    customers.to_csv(tmp_path / "customers.csv", index=False)
    offers = "\n".join(f"  {o}: {{}}" for o in sorted(options["offer_id"].unique()))
    (tmp_path / "s.yaml").write_text(
        f"name: own\noptions: options.csv\ncustomers: customers.csv\nbudget: 500\n"
        f"channels: {{call: {{}}, sms: {{}}, app: {{}}, store: {{}}}}\noffers:\n{offers}\n"
    )
    code, err = _cli(["simulate", str(tmp_path / "s.yaml"), "--effects", "lifecycle", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "simulation.offers." in err and "--effects plan" in err
    # without the flag, options from outside are replayed on their own terms, and it says so
    code = main(["simulate", str(tmp_path / "s.yaml"), "--replications", "2", "--out", str(tmp_path / "o"), "--no-progress"])
    assert code == 0
    report = json.loads(Path(tmp_path / "o" / "plan_test.json").read_text())
    assert report["effects"] == "plan"
    assert any(a["what"] == "offers without a lifecycle effect" for a in report["assumptions"])


def test_simulator_flags_on_a_simulator_scenario_are_refused(capsys):
    code, err = _cli(["simulate", "retention_default", "--plan", "x.csv"], capsys)
    assert code == 2 and "--plan" in err


def test_telco_base_is_simulated_with_hazards_fitted_from_its_tenure_and_churn(tmp_path):
    """The prepared IBM Telco base: the simulator fits sBG hazards per contract from tenure
    and churn, says so, and its fit matches the one prepare valued the options with."""
    example = Path(__file__).parents[2] / "examples" / "telco_prepare.yaml"
    out = tmp_path / "telco"
    assert main(["prepare", str(example), "--out", str(out)]) == 0
    assert main(["simulate", str(out / "scenario.yaml"), "--replications", "3", "--out", str(tmp_path / "sim"), "--no-progress"]) == 0
    report = json.loads((tmp_path / "sim" / "plan_test.json").read_text())
    fit = {row["group"]: row for row in report["hazards"]["fit"]}
    assert set(fit) == {"Month-to-month", "One year", "Two year"}
    assert report["hazards"]["by"] == "contract" and "sBG fit of 'tenure_months' and 'churned'" in report["hazards"]["source"]
    assert fit["Month-to-month"]["customers"] + fit["One year"]["customers"] + fit["Two year"]["customers"] == 7043
    assert fit["Month-to-month"]["churned"] == 1655  # the table's own count of churners on monthly contracts
    assert fit["Month-to-month"]["mean_monthly_hazard_active"] > fit["One year"]["mean_monthly_hazard_active"] > fit["Two year"]["mean_monthly_hazard_active"]
    customers = pd.read_csv(out / "customers.csv")
    alive = customers[customers["churned"].astype(str) != "True"]
    mtm = alive[alive["contract"] == "Month-to-month"]
    assert fit["Month-to-month"]["mean_monthly_hazard_active"] == pytest.approx(mtm["exit_hazard"].mean(), rel=1e-9)
    churned = next(a for a in report["assumptions"] if a["what"] == "customers already churned")
    assert churned["value"] == 1869
    assert report["effects"] == "lifecycle"
