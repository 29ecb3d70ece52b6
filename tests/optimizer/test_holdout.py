"""The holdout: random within strata, reproducible, never planned, and its power as in the textbook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError
from scipy import stats

from optimizer import InputError, Problem, Scenario, solve, verify_plan
from campaignlab.cli import main
from optimizer.holdout import (
    MAX_STRATA_SHOWN,
    detectable_drop,
    min_holdout_for_power,
    select_holdout,
    two_proportion_power,
)
from optimizer.report import summarise
from optimizer.scenario import Holdout
from optimizer.scenario_file import validate


def base(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` customers in 3 tiers x 2 stages with a p_churn, two options each."""
    rng = np.random.default_rng(seed)
    ids = [f"K{i:04d}" for i in range(n)]
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "tier": rng.choice(["gold", "silver", "bronze"], n, p=[0.2, 0.3, 0.5]),
            "stage": rng.choice(["new", "mature"], n),
            "segment": rng.choice(["voice", "data"], n),
            "p_churn": rng.uniform(0.05, 0.25, n).round(4),
            "min_contacts": 0,
        }
    )
    options = pd.DataFrame(
        {
            "customer_id": np.repeat(ids, 2),
            "offer_id": np.tile(["credit", "pack"], n),
            "channel_id": "sms",
            "p_accept": 0.3,
            "value": rng.uniform(10, 100, 2 * n).round(2),
            "contact_cost": 1.0,
            "offer_cost": 5.0,
        }
    )
    return options, customers


def scenario(holdout: dict[str, Any] | None, **keys: Any) -> Scenario:
    data = {"name": "holdout-test", "budget": 300, "channels": {"sms": {}}, "offers": {"credit": {}, "pack": {}}, "holdout": holdout}
    return Scenario.model_validate(data | keys)


def draw(customers: pd.DataFrame, seed: int, **spec: Any) -> np.ndarray:
    """Held-out ids, every customer with two options."""
    selection = select_holdout(customers, np.full(len(customers), 2), Holdout(**spec), seed)
    return customers["customer_id"].to_numpy()[selection.rows]


# --- random within strata ---------------------------------------------------------------


def test_every_stratum_holds_out_its_share_to_within_one_customer() -> None:
    _, customers = base(n=997)
    selection = select_holdout(customers, np.full(997, 2), Holdout(share=0.15, stratify=["tier", "stage"]), 3)
    assert selection.rows.size == round(0.15 * 997)  # largest remainder keeps the total
    assert len(selection.strata) == 6
    drawn = selection.table.groupby(["tier", "stage"]).size()
    for stratum in selection.strata:
        n, k = stratum["eligible"], stratum["held_out"]
        assert abs(k - 0.15 * n) < 1
        assert drawn[(stratum["stratum"]["tier"], stratum["stratum"]["stage"])] == k
        members = customers[(customers["tier"] == stratum["stratum"]["tier"]) & (customers["stage"] == stratum["stratum"]["stage"])]
        assert len(members) == n


def test_inclusion_is_uniform_within_each_stratum_across_seeds() -> None:
    """Chi-square at alpha = 0.001 over 400 seeds: every customer of a stratum is held out equally often.

    A draw holds out exactly k of a stratum's n, so the counts c_i over S seeds sum to S k and
    sum((c_i - S p)^2) / (S p (1 - p) n / (n - 1)) is chi-square with n - 1 degrees of freedom
    (p = k / n); the strata are independent, so their statistics and degrees of freedom add.
    """
    _, customers = base(n=300, seed=1)
    seeds = range(400)
    counts = pd.Series(0, index=customers["customer_id"])
    for seed in seeds:
        counts[draw(customers, seed, share=0.2, stratify=["tier", "stage"])] += 1
    statistic, df = 0.0, 0
    for _, members in customers.groupby(["tier", "stage"]):
        n = len(members)
        k = round(0.2 * n)  # 1 customer at most from the quota, here exact enough to fix p per stratum
        c = counts[members["customer_id"]].to_numpy()
        p = c.sum() / (len(seeds) * n)
        assert abs(p - 0.2) < 1 / n  # each stratum's share, across seeds
        assert k >= 1
        statistic += float(((c - len(seeds) * p) ** 2).sum() / (len(seeds) * p * (1 - p) * n / (n - 1)))
        df += n - 1
    assert stats.chi2.sf(statistic, df) > 0.001
    # and overall: inclusion frequency ~ share for every customer (binomial, 400 draws: 5 sd)
    assert np.all(np.abs(counts.to_numpy() / len(seeds) - 0.2) < 5 * np.sqrt(0.2 * 0.8 / len(seeds)))


def test_an_attribute_not_stratified_on_is_balanced_by_chance() -> None:
    """Chi-square at alpha = 0.001: over 200 seeds, held-out counts by segment (not a stratum) follow its sizes."""
    _, customers = base(n=800, seed=2)
    held = pd.concat([customers.set_index("customer_id").loc[draw(customers, seed, share=0.25, stratify=["tier"]), "segment"]
                      for seed in range(200)])
    observed = held.value_counts().sort_index()
    expected = customers["segment"].value_counts().sort_index() / len(customers) * len(held)
    assert stats.chisquare(observed, expected).pvalue > 0.001


def test_missing_values_are_a_stratum_of_their_own() -> None:
    _, customers = base(n=200)
    customers.loc[:19, "tier"] = np.nan
    customers.loc[20:39, "tier"] = "  "
    selection = select_holdout(customers, np.full(200, 2), Holdout(share=0.1, stratify=["tier"]), 0)
    last = selection.strata[-1]
    assert last["stratum"] == {"tier": None} and last["eligible"] == 40 and last["held_out"] == 4


# --- reproducible ---------------------------------------------------------------------------


def test_same_seed_same_holdout_whatever_the_table_order() -> None:
    options, customers = base()
    first = Problem.from_tables(scenario({"share": 0.1, "stratify": ["tier"]}, seed=5), options, customers)
    again = Problem.from_tables(scenario({"share": 0.1, "stratify": ["tier"]}, seed=5), options, customers)
    shuffled = Problem.from_tables(
        scenario({"share": 0.1, "stratify": ["tier"]}, seed=5),
        options.sample(frac=1, random_state=1), customers.sample(frac=1, random_state=2),
    )
    ids = set(first.holdout.table["customer_id"])
    assert ids == set(again.holdout.table["customer_id"]) == set(shuffled.holdout.table["customer_id"])
    assert list(first.holdout.table["customer_id"]) == sorted(ids)  # holdout.csv is in customer_id order
    other = Problem.from_tables(scenario({"share": 0.1, "stratify": ["tier"]}, seed=6), options, customers)
    assert set(other.holdout.table["customer_id"]) != ids
    # holdout.seed, when given, replaces the scenario's seed
    pinned = Problem.from_tables(scenario({"share": 0.1, "stratify": ["tier"], "seed": 5}, seed=6), options, customers)
    assert set(pinned.holdout.table["customer_id"]) == ids and pinned.holdout.seed == 5


# --- power ------------------------------------------------------------------------------


def fleiss_n(p1: float, p2: float, alpha: float, power: float, r: float = 1.0) -> float:
    """Group-1 size by Fleiss, Tytun & Ury (1980), no continuity correction; r = n2 / n1 (r = 1: Fleiss 2003, ch. 4)."""
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    pbar = (p1 + r * p2) / (1 + r)
    return (za * np.sqrt((r + 1) * pbar * (1 - pbar)) + zb * np.sqrt(r * p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (r * (p1 - p2) ** 2)


def test_power_matches_the_textbook_sample_size() -> None:
    # By hand: p1 = 0.10, p2 = 0.08, alpha 0.05, power 0.8: pbar = 0.09,
    # n = (1.95996 sqrt(2 x 0.09 x 0.91) + 0.84162 sqrt(0.09 + 0.0736))^2 / 0.02^2
    #   = (0.79324 + 0.34041)^2 / 0.0004 = 3212.9, so 3213 customers per group.
    assert fleiss_n(0.10, 0.08, 0.05, 0.8) == pytest.approx(3212.9, abs=0.1)
    assert two_proportion_power(0.10, 0.08, 3213, 3213, 0.05) >= 0.8 > two_proportion_power(0.10, 0.08, 3212, 3212, 0.05)
    for p1, p2, alpha, power, r in [(0.10, 0.08, 0.05, 0.8, 1), (0.30, 0.25, 0.01, 0.9, 1), (0.12, 0.10, 0.05, 0.8, 9), (0.2, 0.15, 0.1, 0.7, 0.25)]:
        n1 = fleiss_n(p1, p2, alpha, power, r)
        assert two_proportion_power(p1, p2, n1, r * n1, alpha) == pytest.approx(power, abs=1e-9)


def test_power_is_the_rejection_rate_of_the_z_test() -> None:
    """Monte Carlo: 20,000 campaigns of 3,213 held out and 3,213 contacted; the pooled z-test rejects ~80% of them."""
    rng = np.random.default_rng(11)
    n, draws = 3213, 20_000
    held, treated = rng.binomial(n, 0.10, draws) / n, rng.binomial(n, 0.08, draws) / n
    pooled = (held + treated) / 2
    z = (held - treated) / np.sqrt(pooled * (1 - pooled) * 2 / n)
    rate = float(np.mean(z > stats.norm.ppf(0.975)))
    assert rate == pytest.approx(two_proportion_power(0.10, 0.08, n, n, 0.05), abs=4 * np.sqrt(0.8 * 0.2 / draws) + 0.005)


def test_min_detectable_effect_gives_the_smallest_share_with_the_power() -> None:
    options, customers = base(n=4000)
    problem = Problem.from_tables(scenario({"min_detectable_effect": 0.05, "baseline_rate": 0.15, "stratify": ["tier"]}), options, customers)
    k = problem.holdout.rows.size
    assert k == min_holdout_for_power(0.15, 0.05, 4000, 0.05, 0.8)
    assert two_proportion_power(0.15, 0.10, k, 4000 - k, 0.05) >= 0.8 > two_proportion_power(0.15, 0.10, k - 1, 4001 - k, 0.05)
    assert problem.holdout.share == k / 4000
    # the baseline defaults to the mean p_churn of the eligible customers
    default = Problem.from_tables(scenario({"min_detectable_effect": 0.05}), options, customers)
    assert default.holdout.baseline_rate == pytest.approx(customers["p_churn"].mean())
    assert "p_churn" in default.holdout.baseline_rate_source


def test_share_route_states_the_drop_it_can_detect() -> None:
    options, customers = base(n=2000)
    problem = Problem.from_tables(scenario({"share": 0.2, "baseline_rate": 0.2}), options, customers)
    block = summarise(problem, solve(problem), None, wall_time=0.0)["holdout"]["power"]
    drop = block["min_detectable_effect"]
    assert drop == pytest.approx(detectable_drop(0.2, 400, 1600, 0.05, 0.8))
    assert block["planned"]["power"] == pytest.approx(0.8, abs=1e-8)
    assert block["after_solving"]["customers"] < 1600 and block["after_solving"]["power"] < 0.8


# --- bad inputs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holdout", "key", "words"),
    [
        ({"share": 0.1, "min_detectable_effect": 0.02}, "holdout", "exactly one of share"),
        ({"stratify": ["tier"]}, "holdout", "exactly one of share"),
        ({"share": 0.6}, "holdout.share", "0.5"),
        ({"share": 0}, "holdout.share", "greater than 0"),
        ({"min_detectable_effect": 0.02, "power": 1.0}, "holdout.power", "less than 1"),
        ({"share": 0.1, "shares": 0.2}, "holdout.shares", "unknown key"),
        ({"min_detectable_effect": 0.2, "baseline_rate": 0.1}, "holdout", "below baseline_rate"),
    ],
)
def test_bad_holdout_keys_name_the_key(holdout: dict[str, Any], key: str, words: str) -> None:
    data = {"name": "x", "channels": {"sms": {}}, "offers": {"credit": {}}, "holdout": holdout}
    with pytest.raises(InputError) as caught:
        validate(data)
    assert caught.value.key == key and words in caught.value.rule
    with pytest.raises(ValidationError):
        Scenario.model_validate(data)


def test_unknown_stratify_column_has_a_did_you_mean() -> None:
    options, customers = base()
    with pytest.raises(InputError, match="did you mean 'tier'") as caught:
        Problem.from_tables(scenario({"share": 0.1, "stratify": ["teir"]}), options, customers)
    assert caught.value.key == "holdout.stratify"


def test_unreachable_power_names_the_largest_achievable() -> None:
    options, customers = base(n=300)
    with pytest.raises(InputError, match=r"largest achievable power is 0\.\d+") as caught:
        Problem.from_tables(scenario({"min_detectable_effect": 0.01, "baseline_rate": 0.1}), options, customers)
    assert caught.value.key == "holdout.min_detectable_effect"


def test_min_detectable_effect_without_a_baseline_is_an_error_and_share_is_not() -> None:
    options, customers = base()
    customers = customers.drop(columns="p_churn")
    with pytest.raises(InputError, match="baseline_rate") as caught:
        Problem.from_tables(scenario({"min_detectable_effect": 0.02}), options, customers)
    assert caught.value.key == "holdout.baseline_rate"
    problem = Problem.from_tables(scenario({"share": 0.1}), options, customers)
    block = summarise(problem, solve(problem), None, wall_time=0.0)["holdout"]
    assert block["power"] is None and "p_churn" in block["power_not_stated"]


# --- never planned, and the verifier knows --------------------------------------------------


def test_held_out_customers_are_never_planned_and_the_verifier_rejects_them() -> None:
    options, customers = base(n=300)
    customers.loc[:9, "min_contacts"] = 1  # must be contacted: not eligible
    dnc = customers["customer_id"].iloc[10:20].tolist()
    problem = Problem.from_tables(scenario({"share": 0.5, "stratify": ["tier"]}, budget=1e6), options, customers, do_not_contact=dnc)
    held = set(problem.holdout.table["customer_id"])
    assert problem.holdout.eligible.sum() == 280 and problem.holdout.not_eligible_min_contacts == 10
    assert not held & set(customers["customer_id"].iloc[:20]) and len(held) == 140
    assert not held & set(problem.options["customer_id"]) and problem.holdout.options_removed == 280
    result = solve(problem)
    assert result.has_plan and not held & set(result.plan["customer_id"])
    assert verify_plan(problem, result.plan).ok
    smuggled = pd.concat([result.plan, options[options["customer_id"] == min(held)].iloc[:1]])
    violations = verify_plan(problem, smuggled).violations
    assert f"holdout: customer {min(held)} is held out but planned" in violations


def test_summary_block_lists_at_most_50_strata() -> None:
    options, customers = base(n=400)
    problem = Problem.from_tables(scenario({"share": 0.5, "stratify": ["p_churn"], "baseline_rate": 0.1}), options, customers)
    block = summarise(problem, solve(problem), None, wall_time=0.0)["holdout"]
    assert len(block["strata"]) == MAX_STRATA_SHOWN and block["strata_not_listed"] == block["strata_count"] - MAX_STRATA_SHOWN
    assert block["customers"] == 200 and block["eligible"] == 400 and block["file"] == "holdout.csv"
    assert block["power"]["planned"]["customers"] == 200


def test_a_relaxed_re_solve_keeps_the_holdout_out_without_drawing_again() -> None:
    from scenarios.report import _relaxed

    options, customers = base(n=300)
    problem = Problem.from_tables(scenario({"share": 0.3}), options, customers)
    relaxed = _relaxed(problem)
    assert relaxed.holdout is None and len(relaxed.options) == len(problem.options)


# --- holdout.csv through the CLI ------------------------------------------------------------


def write_case(folder: Path, holdout: dict[str, Any] | None, budget: float = 300) -> Path:
    options, customers = base(n=200)
    options.to_csv(folder / "options.csv", index=False)
    customers.to_csv(folder / "customers.csv", index=False)
    data = {"name": "cli-holdout", "options": "options.csv", "customers": "customers.csv", "budget": budget,
            "channels": {"sms": {}}, "offers": {"credit": {}, "pack": {}}, "contact_policy": {"min_contacts": 0}}
    if holdout is not None:
        data["holdout"] = holdout
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_holdout_csv_is_written_with_the_plan_and_removed_without_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    path = write_case(tmp_path, {"share": 0.1, "stratify": ["tier", "stage"]})
    assert main(["optimize", str(path), "--out", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # rich folds long lines
    assert "holdout: 20 of 200 eligible customers (10.0%) in 6 strata, kept out of the plan (holdout.csv); power " in printed
    summary = json.loads((out / "summary.json").read_text())
    table = pd.read_csv(out / "holdout.csv")
    assert list(table.columns) == ["customer_id", "tier", "stage"] and len(table) == summary["holdout"]["customers"] == 20
    assert set(summary["files"]) == {"plan.csv", "holdout.csv"}
    assert not set(table["customer_id"]) & set(pd.read_csv(out / "plan.csv")["customer_id"])
    power = summary["holdout"]["power"]
    assert power["baseline_rate_source"].startswith("mean of the customers column p_churn")
    assert power["after_solving"]["customers"] == summary["customers_contacted"]

    # verify: a plan that contacts a held-out customer is rejected
    hand = tmp_path / "hand.csv"
    hand.write_text(f"customer_id,offer_id,channel_id\n{table['customer_id'].iloc[0]},credit,sms\n")
    assert main(["verify", str(path), str(hand)]) == 1
    assert f"holdout: customer {table['customer_id'].iloc[0]} is held out but planned" in capsys.readouterr().out

    write_case(tmp_path, None)
    assert main(["optimize", str(path), "--out", str(out), "--quiet"]) == 0
    assert not (out / "holdout.csv").exists() and "holdout" not in json.loads((out / "summary.json").read_text())

    write_case(tmp_path, {"share": 0.1})
    assert main(["optimize", str(path), "--out", str(out), "--quiet"]) == 0 and (out / "holdout.csv").exists()
    write_case(tmp_path, {"share": 0.1}, budget=-1)  # a bad input writes nothing: the old set stays whole
    assert main(["optimize", str(path), "--out", str(out), "--quiet"]) == 2 and (out / "holdout.csv").exists()


def test_no_plan_removes_an_earlier_holdout_csv(tmp_path: Path) -> None:
    out = tmp_path / "out"
    path = write_case(tmp_path, {"share": 0.1})
    assert main(["optimize", str(path), "--out", str(out), "--quiet"]) == 0 and (out / "holdout.csv").exists()
    data = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump(data | {"offers": {"credit": {"min_targets": 500}, "pack": {}}}))  # 200 customers: infeasible
    assert main(["optimize", str(path), "--out", str(out), "--quiet"]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert not (out / "holdout.csv").exists() and summary["files"] == {}
