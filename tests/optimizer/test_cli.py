"""The campaignlab command end to end: outputs, exit codes, nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from campaignlab.cli import main

OPTIONS = """customer_id,offer_id,channel_id,p_accept,value,contact_cost,offer_cost
A,data_pack,sms,0.5,40,1,10
A,data_pack,call,0.8,40,4,10
B,bill_credit,call,0.6,100,4,30
C,bill_credit,sms,0.1,100,1,30
"""

SCENARIO = """name: cli-test
options: options.csv
budget: {budget}
channels:
  call: {{capacity: 1}}
  sms: {{}}
offers:
  data_pack: {{}}
  bill_credit: {{}}
contact_policy: {{min_contacts: {min_contacts}}}
"""


def write_case(folder: Path, budget: float = 100, min_contacts: int = 0, options: str = OPTIONS) -> Path:
    (folder / "options.csv").write_text(options)
    scenario = folder / "scenario.yaml"
    scenario.write_text(SCENARIO.format(budget=budget, min_contacts=min_contacts))
    return scenario


def test_optimize_writes_plan_and_summary(tmp_path: Path) -> None:
    scenario = write_case(tmp_path)
    out = tmp_path / "out"
    assert main(["optimize", str(scenario), "--out", str(out), "--quiet"]) == 0
    plan = pd.read_csv(out / "plan.csv")
    assert list(plan.columns) == [
        "customer_id", "offer_id", "channel_id", "p_accept", "expected_value", "expected_cost", "contact_cost", "offer_cost"
    ]
    np.testing.assert_allclose(plan["expected_cost"], plan["contact_cost"] + plan["p_accept"] * plan["offer_cost"], rtol=1e-9)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "OPTIMAL" and summary["verified"] is True
    # By hand: A by call nets 0.8*40-4-8=20 (sms nets 20-1-5=14); B by call 60-4-18=38;
    # C by sms 10-1-3=6. One call slot: B (38) + A by sms (14) + C (6) = 58 beats A call + ... (20+6).
    assert summary["objective"] == pytest.approx(58)
    assert summary["spend"] == pytest.approx(sum(plan["expected_cost"]))
    assert summary["counts"]["channel"] == {"call": 1, "sms": 2}
    assert set(summary["inputs_sha256"]) == {"scenario", "options"}
    names = {limit["name"]: limit for limit in summary["limits"]}
    assert names["channel:call"]["binding"] and names["channel:call"]["shadow_price"] > 0


def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_case(tmp_path, options=OPTIONS.replace("0.6,100", "1.6,100"))
    out = tmp_path / "out"
    assert main(["optimize", str(scenario), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "options.csv, row 3 (line 4), column 'p_accept': p_accept must lie in [0, 1]" in err
    assert len(err.splitlines()) == 1
    assert not out.exists()


def test_infeasible_exits_1_with_diagnosis(tmp_path: Path) -> None:
    scenario = write_case(tmp_path, budget=3, min_contacts=1)
    out = tmp_path / "out"
    assert main(["optimize", str(scenario), "--out", str(out), "--quiet"]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "INFEASIBLE"
    assert "budget" in summary["diagnosis"]["summary"] or "min_contacts" in summary["diagnosis"]["summary"]
    assert not (out / "plan.csv").exists() and summary["files"] == {}  # no plan, no plan.csv


def test_verify_command_flags_a_hand_built_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_case(tmp_path)
    plan = tmp_path / "hand.csv"
    plan.write_text("customer_id,offer_id,channel_id\nA,data_pack,call\nB,bill_credit,call\n")
    assert main(["verify", str(scenario), str(plan)]) == 1
    assert "channel:call: 2 breaks <= 1" in capsys.readouterr().out


def test_generate_then_optimize(tmp_path: Path) -> None:
    assert main(["generate", "--customers", "400", "--seed", "3", "--format", "csv", "--out", str(tmp_path / "base")]) == 0
    assert main(["optimize", str(tmp_path / "base" / "scenario.yaml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["verified"] and summary["status"] == "OPTIMAL"
    assert summary["counts"]["stage"]  # the generated customers table carries lifecycle stages


def test_unknown_bundled_name_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optimize", "no-such-scenario", "--quiet"]) == 2
    assert "bundled: " in capsys.readouterr().err


def test_decompose_mode_writes_the_same_outputs(tmp_path: Path) -> None:
    assert main(["generate", "--customers", "300", "--seed", "5", "--format", "csv", "--out", str(tmp_path / "base")]) == 0
    scenario = str(tmp_path / "base" / "scenario.yaml")
    assert main(["optimize", scenario, "--mode", "exact", "--out", str(tmp_path / "exact"), "--quiet"]) == 0
    assert main(["optimize", scenario, "--mode", "decompose", "--out", str(tmp_path / "dec"), "--quiet"]) == 0
    exact = json.loads((tmp_path / "exact" / "summary.json").read_text())
    dec = json.loads((tmp_path / "dec" / "summary.json").read_text())
    assert (exact["mode"], dec["mode"]) == ("exact", "decompose")
    assert dec["verified"] and set(dec) == set(exact)
    assert set(exact["runtime_seconds"]) == {"mip", "lp", "total"}
    assert set(dec["runtime_seconds"]) == {"dual", "recovery", "total"}
    assert dec["runtime_seconds"]["dual"] + dec["runtime_seconds"]["recovery"] <= dec["runtime_seconds"]["total"]
    # the decomposition's bound is a bound on the exact optimum, and its plan is within its gap
    assert dec["bound"] >= exact["objective"] - 1e-6
    assert dec["objective"] >= dec["bound"] - dec["gap"] * max(1.0, abs(dec["objective"])) - 1e-6
    assert list(pd.read_csv(tmp_path / "dec" / "plan.csv").columns) == list(pd.read_csv(tmp_path / "exact" / "plan.csv").columns)
