"""Strategies re-planned every month on the scenario's base (the planner's question)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from campaignlab.cli import main
from scenarios.monthly import compare_monthly


@pytest.fixture(scope="module")
def monthly(small):
    return compare_monthly(small, budget_per_month=600.0, months=3, seats=2, replications=3, seed=5)


def test_every_strategy_keeps_to_the_months_budget_on_common_random_numbers(monthly):
    ts = monthly.experiment.timeseries
    assert (ts["cost"] <= 600.0 + 1e-6).all()
    planners = ts[ts["strategy"] != "do_nothing"]
    # every month re-plans: contacts in each of the three months, not one wave
    assert (planners.groupby(["strategy", "month"])["contacts_planned"].mean() > 0).all()
    assert set(monthly.ranking["strategy"]) == {"do_nothing", "optimizer", "rule: arpu>80 AND decline", "score: churn risk"}


def test_the_optimizer_ranks_first_and_the_ranking_is_paired(monthly):
    r = monthly.ranking
    assert list(r["rank"]) == [1, 2, 3, 4]
    assert (r["net_value"].diff().dropna() <= 1e-9).all()
    assert r.iloc[0]["strategy"] == "optimizer"
    assert r.iloc[-1]["strategy"] == "do_nothing" and r.iloc[-1]["net_value"] == 0.0
    # distinct_from_next is the paired interval of (this - next) excluding zero
    for i in range(len(r) - 1):
        assert r.iloc[i]["distinct_from_next"] == (r.iloc[i]["net_value_over_next_ci_low"] > 0)


def test_same_seed_same_ranking(small, monthly):
    again = compare_monthly(small, budget_per_month=600.0, months=3, seats=2, replications=3, seed=5)
    pd.testing.assert_frame_equal(again.ranking, monthly.ranking)


def test_cli_every_month_writes_one_table_and_one_plot(fixtures, tmp_path):
    out = tmp_path / "m"
    code = main(["simulate", str(fixtures / "small.yaml"), "--every-month", "--budget-per-month", "500", "--seats", "2",
                 "--horizon", "2", "--replications", "2", "--out", str(out), "--no-progress"])
    assert code == 0
    report = json.loads((out / "monthly.json").read_text())
    assert report["budget_per_month"] == 500 and report["seats"] == 2 and report["months"] == 2
    assert (out / "monthly.png").stat().st_size > 0 and len(pd.read_csv(out / "ranking.csv")) == 4
    assert main(["simulate", str(fixtures / "small.yaml"), "--every-month", "--plan", "x.csv", "--out", str(tmp_path / "n")]) == 2
    assert not (tmp_path / "n").exists()
