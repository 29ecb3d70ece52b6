"""Hillstrom worked example at a small size: fit, optimizer targeting, off-policy table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from optimizer.scoring.campaign import NO_CONTACT, greedy_plan, load_uplift_config, run_campaign
from optimizer.scoring.config import load_yaml
from optimizer.scoring.errors import ScoringError, UpliftDataError

EXAMPLE = Path(__file__).parents[2] / "examples" / "hillstrom_uplift.yaml"


def _cfg(data_file, **update):
    cfg = load_uplift_config(load_yaml(EXAMPLE), base=EXAMPLE.parent, source=str(EXAMPLE))
    hist = cfg.history.model_copy(update={"path": data_file("hillstrom.csv")})
    return cfg.model_copy(update={"history": hist, "max_rows": 9000, "budget": 300.0, **update})


def _optimizer_available() -> bool:
    try:
        import optimizer

        return hasattr(optimizer, "solve") and hasattr(optimizer, "Problem")
    except ImportError:
        return False


def test_small_hillstrom_run(data_file) -> None:
    policies = ["uplift_rank", "email_everyone", "random", "highest_response", "no_contact"]
    if _optimizer_available():
        policies.insert(0, "optimizer")
    res = run_campaign(_cfg(data_file, policies=policies))
    ev = res.evaluation.set_index("policy")
    n = len(res.customers)
    assert n == 4500  # half of the 9,000-row stratified subsample
    # same budget for every targeted policy: 300 / 0.25 = 1,200 e-mails at most
    for p in ("uplift_rank", "random", "highest_response"):
        assert ev.loc[p, "contacts"] == ev.loc["uplift_rank", "contacts"] <= 1200
    # e-mail everyone with one version: IPS with empirical propensities is that arm's mean
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        arm_mean = res.customers.loc[res.customers["logged_arm"] == arm, "spend"].mean()
        assert ev.loc[f"everyone:{arm}", "spend"] == pytest.approx(arm_mean, rel=1e-12)
        assert ev.loc[f"everyone:{arm}", "contacts"] == n
    assert ev.loc["no_contact", "spend_lift"] == 0
    assert (ev["spend_ci_low"] <= ev["spend"]).all() and (ev["spend"] <= ev["spend_ci_high"]).all()
    assert {"conversion", "visit", "net"} <= {c for c in ev.columns}
    # negative estimated uplift is kept in the options table
    assert (res.options["value"] < 0).any()
    if "optimizer" in policies:
        assert res.optimizer_info["status"] == "OPTIMAL"
        # one channel, one contact each, equal costs: the greedy ranking is optimal, so the
        # optimizer must reach exactly its objective
        g = greedy_plan(res.options, 300.0)
        greedy_obj = float((g["value"] - g["contact_cost"]).sum())
        assert res.optimizer_info["objective"] == pytest.approx(greedy_obj, rel=1e-7, abs=1e-7)
        chosen = res.plans["optimizer"] != NO_CONTACT
        assert chosen.sum() * 0.25 <= 300.0 + 1e-9


def test_bad_campaign_inputs(data_file, tmp_path: Path) -> None:
    cfg = _cfg(data_file, policies=["uplift_rank", "no_contact"])
    df = pd.read_csv(data_file("hillstrom.csv")).head(3000)
    with pytest.raises(UpliftDataError, match="no control group: column 'segment'"):
        run_campaign(cfg.model_copy(update={"max_rows": None}), table=df[df["segment"] != "No E-Mail"])
    weird = df.copy()
    weird.loc[5, "segment"] = "SMS"
    with pytest.raises(UpliftDataError, match="column 'segment' has value 'SMS'"):
        run_campaign(cfg.model_copy(update={"max_rows": None}), table=weird)
    data = load_yaml(EXAMPLE)
    data["policies"] = ["optimiser"]
    with pytest.raises(ScoringError, match="unknown policy 'optimiser'"):
        load_uplift_config(data, base=EXAMPLE.parent, source="x.yaml")
    data = load_yaml(EXAMPLE)
    data["contact_cost"] = {"sms": 1.0}
    with pytest.raises(ScoringError, match="no cost for channel 'email'"):
        load_uplift_config(data, base=EXAMPLE.parent, source="x.yaml")
