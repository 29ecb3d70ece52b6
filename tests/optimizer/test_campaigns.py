"""Several campaigns, one calendar: per-campaign limits over the options' ``campaign`` column,
the scenario's limits over all of them, and one contact policy per customer (issue 12, item 4).

The reference optimum is found by enumeration: every customer's every set of options the
contact policy allows (window_reference.feasible, which reads the README's words), every mix
of those sets, each limit summed here in plain Python from the tables.
"""

from __future__ import annotations

import datetime
import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from window_reference import feasible

from campaignlab.cli import main
from optimizer import InputError, Problem, Scenario, solve, verify_plan
from optimizer.decompose import lagrangian_bound, solve_decomposed
from optimizer.report import summarise
from optimizer.scenario_file import validate

OFFERS = ("a", "b")
CHANNELS = ("sms", "call")
CAMPAIGNS = ("retention", "upsell", "winback")
DAY = datetime.date(2027, 3, 1)
NO_HISTORY = pd.DataFrame({c: [] for c in ("customer_id", "offer_id", "channel_id", "date", "outcome")})


def _options(rows: list[tuple[str, str, str, float, float, float, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "offer_id", "channel_id", "p_accept", "value", "contact_cost", "offer_cost", "campaign"])


def _instance(seed: int) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Four customers, two offers, two channels, three campaigns (one without an entry), a shared call window."""
    rng = np.random.default_rng(seed)
    rows = [{"customer_id": f"c{c}", "offer_id": o, "channel_id": h, "campaign": str(rng.choice(CAMPAIGNS))}
            for c in range(4) for o, h in itertools.product(OFFERS, CHANNELS) if rng.random() < 0.5]
    options = pd.DataFrame(rows or [{"customer_id": "c0", "offer_id": "a", "channel_id": "sms", "campaign": "retention"}])
    n = len(options)
    options["p_accept"] = rng.uniform(0.1, 0.7, n).round(3)
    options["value"] = rng.uniform(10, 80, n).round(2)
    options["contact_cost"] = np.where(options["channel_id"] == "call", 2.5, 0.1)
    options["offer_cost"] = rng.uniform(1, 15, n).round(2)
    customers = pd.DataFrame({"customer_id": [f"c{c}" for c in range(4)], "max_contacts": rng.integers(1, 3, 4)})
    k = int(rng.integers(0, 4))
    history = pd.DataFrame({"customer_id": rng.choice(customers["customer_id"], k), "offer_id": rng.choice(OFFERS, k),
                            "channel_id": ["call"] * k, "outcome": ["no_answer"] * k,
                            "date": [(DAY - datetime.timedelta(days=int(d))).isoformat() for d in rng.integers(1, 40, k)]})
    spend = options["contact_cost"] + options["p_accept"] * options["offer_cost"]
    share = {q: float(spend[options["campaign"] == q].sum()) for q in CAMPAIGNS}
    campaigns: dict[str, Any] = {
        "retention": {"budget": round(share["retention"] * rng.uniform(0.2, 0.7), 2), "min_roi": float(rng.choice([0.0, 1.0]))},
        "upsell": {"budget": round(share["upsell"] * rng.uniform(0.3, 0.9), 2), "channels": {"call": {"capacity": 1}},
                   "offers": {"a": {"max_targets": 1}, "b": {"budget": round(share["upsell"] * 0.3, 2)}}},
    }
    data = {"name": f"campaigns {seed}", "channels": {h: {} for h in CHANNELS}, "offers": {o: {} for o in OFFERS},
            "budget": round(float(spend.sum()) * rng.uniform(0.3, 0.8), 2), "plan_date": DAY.isoformat(),
            "contact_policy": {"max_contacts": 2, "windows": [{"days": 30, "max": 1, "channel": "call", "name": "one call a month"}]},
            "campaigns": campaigns, "allow_unused": True}
    if rng.random() < 0.5:
        data["contact_policy"]["sequences"] = [{"first": "a", "then": "b", "days": 30}]
    return data, options, customers, history


def _meets(data: dict[str, Any], rows: pd.DataFrame) -> bool:
    """Every coupling limit of ``data`` over the chosen ``rows``, summed here from the README's definitions."""
    spend = rows["contact_cost"] + rows["p_accept"] * rows["offer_cost"]
    ret = rows["p_accept"] * rows["value"]
    if data.get("budget") is not None and spend.sum() > data["budget"] + 1e-9:
        return False
    for name, limits in data["campaigns"].items():
        mine = (rows["campaign"] == name).to_numpy()
        s, r = spend[mine].sum(), ret[mine].sum()
        if limits.get("budget") is not None and s > limits["budget"] + 1e-9:
            return False
        if limits.get("min_roi") is not None and r < (1 + limits["min_roi"]) * s - 1e-9:
            return False
        for channel, spec in limits.get("channels", {}).items():
            if (mine & (rows["channel_id"] == channel).to_numpy()).sum() > spec["capacity"]:
                return False
        for offer, spec in limits.get("offers", {}).items():
            of = mine & (rows["offer_id"] == offer).to_numpy()
            if of.sum() > spec.get("max_targets", np.inf) or of.sum() < spec.get("min_targets", 0):
                return False
            if spend[of].sum() > spec.get("budget", np.inf) + 1e-9:
                return False
    return True


def _brute_force(data: dict[str, Any], options: pd.DataFrame, customers: pd.DataFrame, history: pd.DataFrame) -> float:
    net = (options["p_accept"] * options["value"] - options["contact_cost"] - options["p_accept"] * options["offer_cost"]).to_numpy()
    per_customer = []
    for c, cap in zip(customers["customer_id"], customers["max_contacts"]):
        mine = np.flatnonzero((options["customer_id"] == c).to_numpy())
        per_customer.append([subset for r in range(len(mine) + 1) for subset in itertools.combinations(mine, r)
                             if feasible(data["contact_policy"], history, c,
                                         [(DAY, options["offer_id"][j], options["channel_id"][j]) for j in subset], int(cap))])
    best = -np.inf
    for combo in itertools.product(*per_customer):
        chosen = [j for subset in combo for j in subset]
        if _meets(data, options.iloc[chosen]):
            best = max(best, float(net[chosen].sum()))
    return best


@pytest.mark.parametrize("seed", range(15))
def test_exact_plan_equals_brute_force_with_three_campaigns(seed: int) -> None:
    data, options, customers, history = _instance(seed)
    problem = Problem.from_tables(validate(data), options, customers, history=history)
    result = solve(problem)
    assert result.status.value == "OPTIMAL"
    check = verify_plan(problem, result.plan)
    assert check.ok, check.violations
    assert result.objective_value == pytest.approx(_brute_force(data, options, customers, history), abs=1e-6)
    # every campaign limit carries its name, as the scenario's do
    names = {lim.name for lim in result.limits}
    assert {"campaign:retention:budget", "campaign:upsell:budget"} <= names
    assert set(check.usage) == names


@pytest.mark.parametrize("seed", range(15))
def test_decomposition_brackets_the_brute_force_optimum(seed: int) -> None:
    data, options, customers, history = _instance(seed)
    problem = Problem.from_tables(validate(data), options, customers, history=history)
    result = solve_decomposed(problem, gap=1e-9)
    assert verify_plan(problem, result.plan).ok, verify_plan(problem, result.plan).violations
    best = _brute_force(data, options, customers, history)
    assert result.objective_value - 1e-6 <= best <= result.bound + 1e-6


def _generated(n: int, waves: list[dict[str, Any]] | None = None) -> Problem:
    """A demo base whose offers are split over three departments' campaigns, each with its own budget."""
    from optimizer.demo import CHANNELS as DEMO_CHANNELS
    from optimizer.demo import OFFERS as DEMO_OFFERS
    from optimizer.demo import generate_base

    options, customers = generate_base(n, seed=5)
    department = {"bill_credit_contract": "retention", "handset_contract": "retention", "loyalty_points": "retention",
                  "data_pack": "upsell", "family_plan": "upsell", "broadband_bundle": "upsell", "vip_service": "winback"}
    options["campaign"] = options["offer_id"].astype(str).map(department)
    data: dict[str, Any] = {
        "name": "generated campaigns", "budget": 1.2 * n, "channels": {h: {} for h in DEMO_CHANNELS} | {"call": {"capacity": n // 15}},
        "offers": {o: {} for o in DEMO_OFFERS}, "contact_policy": {"max_contacts": 2},
        "campaigns": {"retention": {"budget": 0.6 * n, "channels": {"call": {"capacity": n // 40}}},
                      "upsell": {"budget": 0.3 * n, "min_roi": 0.5, "offers": {"data_pack": {"max_targets": n // 10}}}},
    }
    if waves:
        data["waves"] = waves
    return Problem.from_tables(validate(data), options, customers)


def test_decomposition_is_within_its_gap_of_exact_on_a_medium_base() -> None:
    # 300 customers: both campaign budgets still bind and the Lagrangian bound meets
    # the LP bound to 1e-8, as at 1,000, at a sixth of the time
    problem = _generated(300)
    exact, decomposed = solve(problem), solve_decomposed(problem, gap=1e-6)
    for result in (exact, decomposed):
        assert verify_plan(problem, result.plan).ok
    # exact is proven to its mip_gap only, so each side's bound must hold the other's plan
    tol = 1e-9 * abs(exact.objective_value)
    assert exact.status.value == "OPTIMAL"
    assert decomposed.objective_value <= exact.bound + tol and exact.objective_value <= decomposed.bound + tol
    # what is left is the integrality gap: the Lagrangian bound is the LP bound, to the dual's stopping tolerance
    assert decomposed.bound == pytest.approx(exact.lp_bound, rel=1e-7)
    assert exact.objective_value - decomposed.objective_value <= decomposed.bound - decomposed.objective_value + tol
    # the campaign budgets bind here (the scenario's does too, with a smaller price), and the bound follows from the prices alone
    prices = {lim.name: lim.shadow_price for lim in decomposed.limits}
    assert prices["campaign:retention:budget"] > 0 and prices["campaign:upsell:budget"] > 0
    assert lagrangian_bound(problem, [lim.shadow_price for lim in decomposed.limits]) == pytest.approx(decomposed.bound, rel=1e-12)


def test_each_wave_holds_each_campaign_in_exact_and_decomposition() -> None:
    waves = [{"name": "mar", "date": "2027-03-01"}, {"name": "apr", "date": "2027-04-12", "budget": 200.0}]
    # 200 customers: the March retention budget and April's scenario budget
    # still bind, as at 400, and the decomposition takes a fifth of the time
    n = 200
    problem = _generated(n, waves)
    names = {lim.name for lim in problem.limits}
    assert {"mar:campaign:upsell:budget", "apr:campaign:upsell:budget", "apr:campaign:retention:channel:call"} <= names
    exact, decomposed = solve(problem), solve_decomposed(problem, gap=1e-6)
    for result in (exact, decomposed):
        assert verify_plan(problem, result.plan).ok, verify_plan(problem, result.plan).violations
        assert "campaign" in result.plan.columns and "wave" in result.plan.columns
    tol = 1e-9 * abs(exact.objective_value)
    assert decomposed.objective_value <= exact.bound + tol and exact.objective_value <= decomposed.bound + tol
    # a campaign's budget is per wave: one wave's retention spend alone is within it
    for wave, part in exact.plan.groupby("wave"):
        assert part.loc[part["campaign"] == "retention", "expected_cost"].sum() <= 0.6 * n + 1e-6


# Hand-built: A and B are upsell's (spend 2, net 8; spend 1, net 3), C is retention's, D has no campaign.
HAND = _options([("A", "o", "sms", 1.0, 10, 2, 0, "upsell"), ("B", "o", "sms", 1.0, 4, 1, 0, "upsell"),
                 ("C", "p", "sms", 1.0, 6, 1, 0, "retention"), ("D", "p", "sms", 1.0, 6, 1, 0, "")])


def _hand(budget: float) -> Problem:
    return Problem.from_tables(Scenario(name="t", budget=100, channels={"sms": {}}, offers={"o": {}, "p": {}},
                                        campaigns={"upsell": {"budget": budget}}), HAND)


def test_campaign_budget_shadow_price_is_the_slope_of_the_lp_optimum() -> None:
    # the LP takes A and half of B within upsell's 2.5 yuan; one more yuan buys the rest of B, worth 3 per yuan.
    # C and D are outside upsell's budget: the integer plan is A, C, D (net 18), the LP bound 19.5.
    result = solve(_hand(2.5))
    price = next(lim for lim in result.limits if lim.name == "campaign:upsell:budget").shadow_price
    assert price == pytest.approx(3.0) and result.lp_bound == pytest.approx(19.5) and result.objective == pytest.approx(18)
    delta = 0.1
    assert (solve(_hand(2.5 + delta)).lp_bound - result.lp_bound) / delta == pytest.approx(price)
    summary = summarise(_hand(2.5), result, verify_plan(_hand(2.5), result.plan), wall_time=0.0)
    upsell = next(c for c in summary["campaigns"]["campaigns"] if c["name"] == "upsell")
    assert upsell["budget_limits"][0]["shadow_price"] == pytest.approx(3.0)
    assert (upsell["contacts"], upsell["expected_spend"], upsell["expected_return"], upsell["expected_net_value"]) == (1, 2.0, 10.0, 8.0)
    assert "yuan" in summary["campaigns"]["units"]["expected_spend"]
    assert any("blank campaign" in note for note in summary["notes"])
    assert any("retention have no entry" in note for note in summary["notes"])


def test_verifier_catches_a_plan_that_breaks_a_campaign_budget_or_moves_a_row() -> None:
    problem = _hand(2.5)
    plan = solve(problem).plan
    assert verify_plan(problem, plan).ok
    # adding B keeps the scenario's budget (4 of 100) but puts upsell at 3 yuan against its 2.5
    broken = pd.concat([plan, problem.plan_table(np.array([False, True, False, False]))], ignore_index=True)
    assert verify_plan(problem, broken).violations == ("campaign:upsell:budget: 3 breaks <= 2.5",)
    # the options table says which campaign a row spends; the plan cannot relabel it
    relabelled = plan.assign(campaign=["retention", "retention", ""])
    assert any("name another campaign" in v for v in verify_plan(problem, relabelled).violations)


def test_the_contact_policy_is_shared_across_campaigns() -> None:
    # X is reachable by both campaigns and may have one contact; Y has had a call 10 days ago and
    # a 30-day window allows one call: neither campaign's call may reach Y.
    options = _options([("X", "o", "sms", 1.0, 10, 1, 0, "upsell"), ("X", "p", "sms", 1.0, 9, 1, 0, "retention"),
                        ("Y", "o", "call", 1.0, 10, 1, 0, "upsell"), ("Y", "p", "call", 1.0, 10, 1, 0, "retention")])
    history = pd.DataFrame({"customer_id": ["Y"], "offer_id": ["o"], "channel_id": ["call"], "date": ["2027-02-19"], "outcome": ["no_answer"]})
    scenario = Scenario(name="t", channels={"sms": {}, "call": {}}, offers={"o": {}, "p": {}}, plan_date=DAY,
                        contact_policy={"max_contacts": 1, "windows": [{"days": 30, "max": 1, "channel": "call"}]},
                        campaigns={"upsell": {"budget": 10}, "retention": {"budget": 10}})
    problem = Problem.from_tables(scenario, options, history=history)
    plan = solve(problem).plan
    assert list(zip(plan["customer_id"], plan["campaign"])) == [("X", "upsell")]
    both = pd.concat([plan, problem.plan_table(np.array([False, True, False, False]))], ignore_index=True)
    assert any("more than max_contacts" in v for v in verify_plan(problem, both).violations)
    with_call = _options([("Y", "p", "call", 1.0, 10, 1, 0, "retention")])[["customer_id", "offer_id", "channel_id", "campaign"]]
    assert any("contact window" in v for v in verify_plan(problem, with_call).violations)


def test_blank_and_null_campaigns_belong_to_no_campaign(tmp_path: Path) -> None:
    # Parquet nulls and blank CSV cells read alike: "" is no campaign, under the scenario's limits only
    table = HAND.assign(campaign=["upsell", " upsell ", None, ""])
    table.to_parquet(tmp_path / "options.parquet", index=False)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({"name": "t", "options": "options.parquet", "budget": 100,
                                                     "channels": {"sms": {}}, "offers": {"o": {}, "p": {}},
                                                     "campaigns": {"upsell": {"budget": 2.0}}}))
    from optimizer import load_problem

    problem = load_problem(tmp_path / "s.yaml")
    assert list(problem.options["campaign"]) == ["upsell", "upsell", "", ""]
    plan = solve(problem).plan
    assert sorted(plan["customer_id"]) == ["A", "C", "D"]  # C and D are outside upsell's 2 yuan; A fills it


# the command-line cases list a call channel too: E (retention's, net value -0.5) is never worth planning
WRITTEN = pd.concat([HAND, _options([("E", "p", "call", 0.5, 1, 1, 0, "retention")])], ignore_index=True)


def _write(tmp_path: Path, scenario: dict[str, Any], options: pd.DataFrame = WRITTEN) -> Path:
    options.to_csv(tmp_path / "options.csv", index=False)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "options": "options.csv", "channels": {"sms": {}, "call": {}},
                                    "offers": {"o": {}, "p": {}}, **scenario}))
    return path


@pytest.mark.parametrize(("scenario", "options", "words"), [
    ({"campaigns": {"upsell": {"budget": 5}}}, WRITTEN.drop(columns="campaign"), r"options\.csv.*column 'campaign'.*required column missing"),
    ({"campaigns": {"upsel": {"budget": 5}}}, WRITTEN, r"campaigns\.upsel.*no option has campaign 'upsel' \(did you mean 'upsell'\?\)"),
    ({"campaigns": {"upsell": {"channels": {"cal": {"capacity": 1}}}}}, WRITTEN, r"campaigns\.upsell\.channels: 'cal' is not under 'channels' \(did you mean 'call'\?\)"),
    ({"campaigns": {"upsell": {"offers": {"q": {"max_targets": 1}}}}}, WRITTEN, r"campaigns\.upsell\.offers: 'q' is not under 'offers'"),
    ({"campaigns": {"upsell": {"channels": {"call": {"capacity": 1}}}}}, WRITTEN, r"no option of campaign 'upsell' uses channel 'call'"),
    ({"campaigns": {"retention": {"offers": {"o": {"max_targets": 1}}}}}, WRITTEN, r"campaigns\.retention\.offers\.o.*no option of campaign 'retention' has offer 'o'"),
    ({"campaigns": {"upsell": {}}}, WRITTEN, r"campaigns\.upsell: sets no limit"),
    ({"campaigns": {"up:sell": {"budget": 1}}}, WRITTEN, r"without ':'"),
    ({"campaigns": {"upsell": {"channels": {"sms": {"max_per_customer": 1}}}}}, WRITTEN, r"unknown key"),
    ({"campaigns": {"upsell": {"offers": {"o": {"min_targets": 2, "max_targets": 1}}}}}, WRITTEN, r"min_targets exceeds max_targets"),
])
def test_bad_campaigns_are_one_line_errors_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        scenario: dict[str, Any], options: pd.DataFrame, words: str) -> None:
    path = _write(tmp_path, scenario, options)
    assert main(["optimize", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert re.search(words, err), err
    assert not (tmp_path / "out").exists()


def test_an_unmatched_campaign_is_a_warning_in_a_template() -> None:
    scenario = Scenario(name="t", channels={"sms": {}}, offers={"o": {}, "p": {}}, allow_unused=True, campaigns={"upsel": {"budget": 5}})
    problem = Problem.from_tables(scenario, HAND)
    assert any("did you mean 'upsell'" in w for w in problem.warnings)
    with pytest.raises(InputError, match="did you mean 'upsell'"):
        Problem.from_tables(scenario.model_copy(update={"allow_unused": False}), HAND)


def test_the_command_line_writes_the_campaign_column_and_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, {"budget": 100, "campaigns": {"upsell": {"budget": 2.5}}})
    out = tmp_path / "out"
    assert main(["optimize", str(path), "--out", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # rich wraps at the terminal's width
    assert "campaign upsell: 1 contacts" in printed and "campaign:upsell:budget 3 yuan/yuan" in printed
    plan = pd.read_csv(out / "plan.csv", keep_default_na=False)
    assert list(plan.columns[:4]) == ["customer_id", "offer_id", "channel_id", "campaign"]
    assert list(plan["campaign"]) == ["upsell", "retention", ""]
    summary = json.loads((out / "summary.json").read_text())
    assert [c["name"] for c in summary["campaigns"]["campaigns"]] == ["", "retention", "upsell"]
    assert next(lim for lim in summary["limits"] if lim["name"] == "campaign:upsell:budget")["shadow_price"] == pytest.approx(3.0)
    assert main(["verify", str(path), str(out / "plan.csv")]) == 0
    # a hand edit that spends more of upsell's budget is rejected by the verifier
    pd.concat([plan, plan.iloc[[0]].assign(customer_id="B", expected_value=4.0, expected_cost=1.0, contact_cost=1.0)]).to_csv(
        tmp_path / "edited.csv", index=False)
    capsys.readouterr()
    assert main(["verify", str(path), str(tmp_path / "edited.csv")]) == 1
    assert "campaign:upsell:budget: 3 breaks <= 2.5" in capsys.readouterr().out
