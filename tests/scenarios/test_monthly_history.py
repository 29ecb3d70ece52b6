"""The monthly re-plan sees the scenario's contact windows over the history the simulation made."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import scenarios.monthly as monthly_module
from campaignlab.cli import main
from optimizer.problem import Problem
from optimizer.verify import verify_plan
from scenarios.inputs import load_inputs
from scenarios.monthly import compare_monthly, write_monthly

# 3 months from 2027-03-01: plans on 03-01, 03-31 and 04-30 (30 days a month)
RUN = dict(budget_per_month=600.0, months=3, seats=2, replications=3, seed=5)


def _run_recording(path):
    """compare_monthly, keeping every month's problem and the optimizer's choice on it."""
    seen: list[tuple] = []
    solve = monthly_module._optimizer

    def recording(problem):
        chosen = solve(problem)
        seen.append((problem, chosen))
        return chosen

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(monthly_module, "_optimizer", recording)
        result = compare_monthly(load_inputs(path), **RUN)
    return result, seen


@pytest.fixture(scope="module")
def gap(fixtures):
    return _run_recording(fixtures / "monthly_gap.yaml")


@pytest.fixture(scope="module")
def cooldown(fixtures):
    return compare_monthly(load_inputs(fixtures / "monthly_cooldown.yaml"), **RUN)


def _dated(history: pd.DataFrame, strategy: str = "optimizer") -> pd.DataFrame:
    h = history[history["strategy"] == strategy].copy()
    h["date"] = pd.to_datetime(h["date"])
    return h


def test_each_month_is_planned_on_its_date_with_the_history_so_far_and_the_verifier_passes(gap, fixtures):
    result, seen = gap
    assert len(seen) == RUN["months"] * RUN["replications"]
    dates = [p.scenario.plan_date.isoformat() for p, _ in seen[:3]]
    assert dates == ["2027-03-01", "2027-03-31", "2027-04-30"] == result.to_json()["plan_dates"]
    inputs = load_inputs(fixtures / "monthly_gap.yaml")
    written = result.contact_history
    for k, (problem, chosen) in enumerate(seen):
        rep, month = divmod(k, RUN["months"])  # the optimizer's months, replication after replication
        # month 0 has no past contacts (and the scenario names no history file)
        assert (problem.history is None) == (month == 0)
        assert verify_plan(problem, problem.plan_table(chosen)).ok
        # and against the written history, read as optimize reads a history file
        mine = written[(written["strategy"] == "optimizer") & (written["replication"] == rep)]
        past = mine[mine["date"] < problem.scenario.plan_date.isoformat()].drop(columns=["strategy", "replication"])
        assert len(past) == (0 if problem.history is None else len(problem.history.table))
        again = Problem.from_tables(problem.scenario, inputs.options, inputs.customers, do_not_contact=sorted(problem.do_not_contact),
                                    history=past.reset_index(drop=True), history_file="contact_history.csv")
        check = verify_plan(again, problem.plan_table(chosen))
        assert check.ok, check.violations[:3]
    # the window bites: months 2 and 3 lose options to it
    removed = result.window_effects.set_index(["strategy", "month"])["options_removed_by_windows"]
    assert removed[("optimizer", 0)] == 0 and removed[("optimizer", 1)] > 0 and removed[("optimizer", 2)] > 0


def test_no_customer_of_the_simulated_history_is_contacted_twice_within_60_days(gap):
    result, _ = gap
    h = _dated(result.contact_history)
    assert h["date"].dt.month.nunique() >= 2  # contacts in more than one month
    repeat = 0
    for _, g in h.groupby(["replication", "customer_id"]):
        days = np.sort(g["date"].to_numpy().astype("datetime64[D]").astype(np.int64))
        assert (np.diff(days) >= 60).all(), g
        repeat += len(days) > 1
    # without the window (small.yaml) customers are contacted in consecutive months; here some
    # come back only after 60 days, so the check above is not empty
    assert repeat > 0


def test_a_customer_who_declined_is_not_offered_it_again_within_the_cool_down(cooldown):
    h = _dated(cooldown.contact_history)
    x = h[h["offer_id"] == "bill_credit_contract"]
    declined = x[x["outcome"] == "declined"]
    assert len(declined) > 0
    later = declined.merge(x, on=["replication", "customer_id"], suffixes=("", "_again"))
    gap_days = (later["date_again"] - later["date"]).dt.days
    assert not ((gap_days > 0) & (gap_days < 60)).any()


def test_the_recorded_history_agrees_with_the_simulations_own_kpis(gap):
    result, _ = gap
    totals = result.experiment.totals.set_index(["strategy", "replication"])
    ts = result.experiment.timeseries.groupby(["strategy", "replication"]).sum(numeric_only=True)
    h = result.contact_history
    for (strategy, rep), g in h.groupby(["strategy", "replication"]):
        t, s = totals.loc[(strategy, rep)], ts.loc[(strategy, rep)]
        outcomes = g["outcome"].value_counts()
        assert outcomes.get("accepted", 0) == t["offers_accepted"]
        assert outcomes.get("accepted", 0) + outcomes.get("declined", 0) == t["contacts"]  # reached contacts
        assert (g["channel_id"] == "call").sum() == t["calls_dialled"]
        assert len(g) == s["contacts_planned"] - s["calls_planned"] + s["calls_dialled"]  # executed rows
    assert set(h["strategy"]) == {"optimizer", "rule: arpu>80 AND decline", "score: churn risk"}  # do-nothing contacts nobody


def test_same_seed_same_history(fixtures, gap):
    again = compare_monthly(load_inputs(fixtures / "monthly_gap.yaml"), **RUN)
    pd.testing.assert_frame_equal(again.contact_history, gap[0].contact_history)


def test_the_written_history_is_a_contact_history_optimize_reads(gap, fixtures, tmp_path):
    result, _ = gap
    out = tmp_path / "monthly"
    write_monthly(result, out)
    summary = json.loads((out / "monthly.json").read_text())
    assert summary["contact_history"]["next_plan_date"] == "2027-05-30"
    written = pd.read_csv(out / "contact_history.csv", dtype=str)
    assert list(written.columns) == ["customer_id", "offer_id", "channel_id", "date", "outcome", "strategy", "replication"]
    assert "contact_history.csv" in summary["files"]
    mine = written[(written["strategy"] == "optimizer") & (written["replication"] == "0")]
    mine.to_csv(tmp_path / "history.csv", index=False)
    scenario = tmp_path / "next.yaml"
    scenario.write_text(f"extends: {fixtures / 'monthly_gap.yaml'}\nname: next_wave\ncontact_history: history.csv\n"
                        f"plan_date: {summary['contact_history']['next_plan_date']}\n")
    assert main(["optimize", str(scenario), "--out", str(tmp_path / "plan"), "--quiet"]) == 0
    read = json.loads((tmp_path / "plan" / "summary.json").read_text())["contact_history"]
    assert read["rows"] == len(mine) > 0 and read["rows_of_customers_not_in_the_base"] == 0
