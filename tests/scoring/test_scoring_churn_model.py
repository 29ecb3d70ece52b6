"""The churn early-warning model: recovery, calibration, determinism, persistence, the value hook.

Synthetic bases are drawn from a known logistic model, so what a fit should find is known:

    logit P(churn) = -2 + 1.2 x1 + 0.6 (calls - 1.5) + 1.0 flag + {a: 0, b: 0.5, c: -0.5}[cat]

Tenure is drawn sBG-shaped (churners leave early, stayers are censored later) so that the
sBG baseline is identified and fits quickly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from campaignlab.cli import main
from optimizer.scoring import churn_model as cm
from optimizer.scoring.churn_eval import evaluate_churn_model, reliability
from optimizer.scoring.errors import MappingError, ScoringError
from optimizer.scoring.prepare import load_prepare_config, prepare
from optimizer.value_model import OfferEffect, monthly_hazard, option_value

INTERCEPT, SLOPES, CAT = -2.0, {"x1": 1.2, "calls": 0.6, "flag": 1.0}, {"a": 0.0, "b": 0.5, "c": -0.5}
FEATURES = ["x1", "calls", "flag", "cat"]


def true_p(df: pd.DataFrame) -> np.ndarray:
    flag = df["flag"].astype(str).isin(["Yes", "True"]).to_numpy()
    logit = INTERCEPT + SLOPES["x1"] * df["x1"] + SLOPES["calls"] * (df["calls"] - 1.5) + SLOPES["flag"] * flag
    return expit((logit + df["cat"].map(CAT)).to_numpy(float))


def raw_table(n: int, seed: int) -> pd.DataFrame:
    """A source table as a file would give it (text flags, an id column)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "id": [f"C{i}" for i in range(n)],
        "x1": rng.normal(size=n),
        "calls": rng.poisson(1.5, n).astype(float),
        "flag": np.where(rng.random(n) < 0.3, "Yes", "No"),
        "cat": rng.choice(["a", "b", "c"], n),
        "bill": 50.0,
    })
    y = rng.random(n) < true_p(df)
    df["tenure"] = np.where(y, rng.geometric(0.15, n), rng.integers(1, 36, n)).astype(float)
    df["churn"] = np.where(y, "True", "False")
    return df


def mapped(n: int, seed: int) -> pd.DataFrame:
    """The same table after the column mapping (bool flags, canonical names)."""
    df = raw_table(n, seed)
    return pd.DataFrame({"customer_id": df["id"], "x1": df["x1"], "calls": df["calls"], "flag": df["flag"] == "Yes",
                         "cat": df["cat"], "tenure_months": df["tenure"], "churned": df["churn"] == "True"})


def evaluate(cust: pd.DataFrame, **cfg):
    c = cm.ChurnModelCfg(features=FEATURES, **{"folds": 3, **cfg})
    return evaluate_churn_model(cust, c, tenure="tenure_months", churned="churned", by=None)


def prepare_config(**sections) -> dict:
    return {
        "name": "synthetic",
        "customers": {
            "path": "synthetic.csv",
            "id": "id",
            "numeric": {"x1": "x1", "calls": "calls", "tenure_months": "tenure", "arpu": "bill"},
            "flags": {"churned": {"column": "churn", "true_values": ["True"], "false_values": ["False"]},
                      "flag": {"column": "flag", "true_values": ["Yes"], "false_values": ["No"]}},
            "categories": {"cat": "cat"},
        },
        "lifecycle": {"exit": "churned"},
        "retention": {"margin": 0.3},
        "value": {"current": {"x1": 1.0}, "potential": {"calls": 1.0}},
        "channels": {"sms": {"contact_cost": 0.05, "response": 0.05}},
        "offers": {"credit": {"offer_cost": 5, "churn_reduction": 0.3, "eligible": "NOT churned"}},
        **sections,
    }


def load(data: dict, tmp_path: Path):
    return load_prepare_config(data, base=tmp_path, source="synthetic.yaml")


@pytest.fixture(scope="module")
def logistic_fit():
    cust = mapped(4000, seed=1)
    return cust, *evaluate(cust, models=["logistic"])


@pytest.fixture(scope="module")
def two_model_fit():
    cust = mapped(1600, seed=2)
    return cust, *evaluate(cust)


def test_logistic_recovers_the_true_coefficients_and_ranking(logistic_fit) -> None:
    _, model, report = logistic_fit
    assert model.kind == "logistic" and report.chosen == "logistic"
    # Platt maps f to p = expit(-(a f + b)); per raw unit the slope is -a * coef / scale
    a, _ = model.calibration
    labels = model.encoded_labels()
    coef = dict(zip(labels, model.coef))
    scale = {f.name: f.scale for f in model.features}
    for name, truth in SLOPES.items():
        assert -a * coef[name] / scale[name] == pytest.approx(truth, abs=0.2), name
    assert -a * (coef["cat=b"] - coef["cat=a"]) == pytest.approx(0.5, abs=0.25)
    assert -a * (coef["cat=c"] - coef["cat=a"]) == pytest.approx(-0.5, abs=0.25)
    # on new customers the fitted ranking is as good as the true model's
    fresh = mapped(4000, seed=11)
    y = fresh["churned"].to_numpy()
    truth_auc = roc_auc_score(y, true_p(fresh))
    assert roc_auc_score(y, model.predict_proba(fresh)) == pytest.approx(truth_auc, abs=0.015)
    assert np.corrcoef(model.predict_proba(fresh), true_p(fresh))[0, 1] > 0.98
    # the report's top signal is the strongest true effect (x1: 1.2 per sd)
    assert report.signals["feature"].iloc[0] == "x1" and (report.signals["auc_drop"].iloc[:3] > 0).all()
    assert "coefficient" in report.signals.columns


def test_calibrated_and_better_than_both_baselines(logistic_fit, two_model_fit) -> None:
    for _, model, report in (logistic_fit, two_model_fit):
        h = report.holdout.set_index("predictor")
        ours = h.loc[f"{model.kind} (calibrated)"]
        assert set(h.index) == {f"{model.kind} (calibrated)", "constant", "sBG p_churn_12m"}
        assert ours["brier"] < h.loc["constant", "brier"] and ours["brier"] < h.loc["sBG p_churn_12m", "brier"]
        assert ours["auc"] > 0.75 and h.loc["constant", "auc"] == 0.5
        assert ours["mean_predicted"] == pytest.approx(ours["observed_rate"], abs=0.03)
        rel = report.reliability[report.reliability["predictor"] == f"{model.kind} (calibrated)"]
        # 400-1000 held-out customers: bins of 40-100, so each bin's share is noisy by a few points
        gap = np.average(np.abs(rel["observed"] - rel["mean_predicted"]), weights=rel["n"])
        assert gap < 0.05
        inside = (rel["ci_low"] <= rel["mean_predicted"]) & (rel["mean_predicted"] <= rel["ci_high"])
        assert inside.sum() >= 8  # of ten bins, each a 95% interval
        assert report.calibration_png.startswith(b"\x89PNG\r\n\x1a\n")
    # on 20,000 new customers the bins are precise: the reliability curve sits on the diagonal
    _, model, _ = logistic_fit
    fresh = mapped(20_000, seed=21)
    rel = reliability(fresh["churned"].to_numpy(), model.predict_proba(fresh))
    assert np.average(np.abs(rel["observed"] - rel["mean_predicted"]), weights=rel["n"]) < 0.015
    assert np.abs(rel["observed"] - rel["mean_predicted"]).max() < 0.03


def test_cross_validation_picks_the_lowest_log_loss(two_model_fit) -> None:
    _, model, report = two_model_fit
    cv = report.cv.set_index("model")
    assert list(cv.index) == ["logistic", "gradient_boosting"] and cv["chosen"].sum() == 1
    assert model.kind == cv["cv_log_loss"].idxmin() == report.chosen
    assert model.info["selection"] == "stratified K-fold out-of-fold log-loss"


def test_same_seed_same_figures_twice(two_model_fit) -> None:
    cust, model, report = two_model_fit
    again_model, again = evaluate(cust)
    assert json.dumps(again_model.to_json()) == json.dumps(model.to_json())
    pd.testing.assert_frame_equal(again.holdout, report.holdout)
    pd.testing.assert_frame_equal(again.signals, report.signals)
    assert again.calibration_png == report.calibration_png
    other_model, _ = evaluate(cust, seed=5)
    assert json.dumps(other_model.to_json()) != json.dumps(model.to_json())


@pytest.mark.parametrize("kind", ["logistic", "gradient_boosting"])
def test_json_round_trip_predicts_bit_for_bit_what_sklearn_fitted(kind) -> None:
    from sklearn.calibration import CalibratedClassifierCV

    train = mapped(800, seed=3)
    cfg = cm.ChurnModelCfg(features=FEATURES, models=[kind], folds=3, seed=4)
    model, _ = cm.fit_churn_model(train, cfg)
    text = json.dumps(model.to_json(), allow_nan=False)  # strict JSON: the model folder's format
    back = cm.ChurnModel.from_json(json.loads(text))
    fresh = mapped(500, seed=12)
    assert np.array_equal(back.predict_proba(fresh), model.predict_proba(fresh))
    assert json.dumps(back.to_json(), allow_nan=False) == text
    # the frozen arrays evaluate what sklearn's calibrated model predicts
    x, y = cm.encode(train, model.features), train["churned"].to_numpy()
    ref = CalibratedClassifierCV(cm._estimator(kind, 4), method="sigmoid", cv=cm._folds(y, 3, 4), ensemble=False).fit(x, y)
    np.testing.assert_allclose(model.predict_proba(fresh), ref.predict_proba(cm.encode(fresh, model.features))[:, 1], rtol=0, atol=1e-12)


def test_from_json_and_scoring_refuse_what_they_cannot_read(logistic_fit) -> None:
    _, model, _ = logistic_fit
    doc = model.to_json()
    with pytest.raises(ScoringError, match=r"format\(='pickle'\) is not 'campaignlab-churn-model'"):
        cm.ChurnModel.from_json({**doc, "format": "pickle"})
    with pytest.raises(ScoringError, match=r"format_version\(=9\) is not 1"):
        cm.ChurnModel.from_json({**doc, "format_version": 9})
    with pytest.raises(ScoringError, match="3 coefficients for 6 encoded feature columns"):
        cm.ChurnModel.from_json({**doc, "score": {**doc["score"], "coef": [0.0, 1.0, 2.0]}})
    with pytest.raises(ScoringError, match="malformed JSON"):
        cm.ChurnModel.from_json({k: v for k, v in doc.items() if k != "calibration"})
    odd = mapped(5, seed=0).assign(cat=["a", "b", "z", "a", "a"])
    with pytest.raises(MappingError, match=r"feature 'cat' has category 'z' in data row 3 .*known: a, b, c"):
        model.predict_proba(odd)


def test_config_rules() -> None:
    with pytest.raises(ValueError, match="the target 'churned' cannot also be a feature"):
        cm.ChurnModelCfg(features=["x1", "churned"])
    with pytest.raises(ValueError, match="'x1' is listed twice"):
        cm.ChurnModelCfg(features=["x1", "x1"])
    with pytest.raises(MappingError, match="the training part has 2 churners .* 3-fold cross-validation needs at least 3"):
        few = mapped(200, seed=0).assign(churned=lambda d: np.arange(len(d)) < 3)
        evaluate(few, holdout_share=0.25)


def test_churn_score_is_validated_and_feeds_the_hazard(tmp_path) -> None:
    table = raw_table(300, seed=4)
    table["risk"] = np.linspace(0.0, 1.0, len(table))
    score = {"churn_score": {"column": "risk", "horizon_months": 6}}
    data = prepare_config(**score)
    data["customers"]["numeric"]["risk"] = "risk"
    res = prepare(load(data, tmp_path), table)
    cust = res.customers
    np.testing.assert_array_equal(cust["exit_hazard"], monthly_hazard(cust["risk"], 6))
    assert "p_churn_model" not in cust.columns and "p_churn_12m" in cust.columns
    assert res.scenario["simulation"]["hazards"] == {"tenure": "tenure_months", "churned": "churned", "column": "exit_hazard"}
    bad = table.copy()
    bad.loc[[2, 6], "risk"] = [1.5, -0.1]
    with pytest.raises(MappingError, match=r"churn_score.column: 'risk' must be a churn probability in \[0, 1\]; 2 data row\(s\) are not \(first: 3 \(1.5\), 7 \(-0.1\)\)"):
        prepare(load(data, tmp_path), bad)
    with pytest.raises(ScoringError, match="churn_score.column: 'riskk' not in mapped customers"):
        prepare(load(prepare_config(churn_score={"column": "riskk"}), tmp_path), table)
    both = prepare_config(**score, churn_model={"features": ["x1"]})
    with pytest.raises(ScoringError, match="key .churn_score.: excludes churn_model"):
        load(both, tmp_path)


def test_model_probability_replaces_the_sbg_hazard_in_the_value(tmp_path) -> None:
    table = raw_table(1200, seed=5)
    # two customers alike in everything but their service calls
    twin = {"x1": 0.0, "flag": "No", "cat": "a", "churn": "False", "tenure": 12.0, "bill": 50.0}
    for row, calls in ((0, 0.0), (1, 3.0)):
        for k, v in {**twin, "calls": calls}.items():
            table.loc[row, k] = v
    data = prepare_config(churn_model={"features": FEATURES, "models": ["logistic"], "folds": 3, "horizon_months": 12})
    cfg = load(data, tmp_path)
    res = prepare(cfg, table)
    cust = res.customers.set_index("customer_id")
    p = cust["p_churn_model"]
    np.testing.assert_array_equal(cust["exit_hazard"], 1 - (1 - p) ** (1 / 12))
    assert {"p_churn_12m", "residual_value", "exit_hazard"} <= set(cust.columns)  # the existing columns stay
    # residual value under the model's constant hazard: m (1 - h) / (d + h)
    h, m = cust["exit_hazard"], 0.3 * cust["arpu"]
    np.testing.assert_allclose(cust["residual_value"], m * (1 - h) / (0.01 + h), rtol=1e-12)
    opts = res.options.set_index("customer_id")
    effect = OfferEffect(0.7, cfg.retention.horizon_months)
    np.testing.assert_allclose(opts["value"], option_value(cust.loc[opts.index, "arpu"], h.loc[opts.index], effect, margin=0.3))
    # more calls, higher probability, higher value (the value rises with risk below p ~ 0.72
    # for a 30% reduction; above it the offer only delays a near-certain exit)
    assert 0 < p["C0"] < p["C1"] < 0.7 and opts.loc["C0", "value"] < opts.loc["C1", "value"]
    assert res.model.churn_model is not None and res.churn is not None and res.churn.report is not None


def test_plan_test_simulates_with_the_hazards_the_values_used(tmp_path) -> None:
    from scenarios.inputs import load_inputs
    from scenarios.plan_world import build_world

    raw_table(600, seed=6).to_csv(tmp_path / "synthetic.csv", index=False)
    data = prepare_config(churn_model={"features": FEATURES, "models": ["logistic"], "folds": 3})
    (tmp_path / "prep.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["prepare", str(tmp_path / "prep.yaml"), "--out", str(out)]) == 0
    for name in ("churn_model_cv.csv", "churn_model_holdout.csv", "churn_model_reliability.csv", "churn_model_signals.csv"):
        assert (out / name).is_file(), name
    assert (out / "churn_model_calibration.png").read_bytes().startswith(b"\x89PNG")
    assert json.loads((out / "model" / "churn_model.json").read_text())["kind"] == "logistic"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["churn_model"]["chosen"] == "logistic" and len(summary["churn_model"]["holdout"]) == 3
    world, _ = build_world(load_inputs(out / "scenario.yaml", allow_outside=True))
    cust = pd.read_csv(out / "customers.csv")
    alive = cust[cust["churned"].astype(str) != "True"]
    assert list(world.base.customer_id) == alive["customer_id"].astype(str).tolist()
    np.testing.assert_array_equal(world.base.hazard, alive["exit_hazard"].to_numpy(np.float32))
    assert "column 'exit_hazard'" in world.base.hazard_source
    # next month's file scored by the saved model: the same probabilities, bit for bit
    again = tmp_path / "again"
    assert main(["prepare", str(tmp_path / "prep.yaml"), "--out", str(again), "--model", str(out / "model")]) == 0
    applied = pd.read_csv(again / "customers.csv")
    np.testing.assert_array_equal(applied["p_churn_model"], cust["p_churn_model"])
    assert not (again / "churn_model_holdout.csv").exists()  # nothing refitted, nothing to report


def test_hazard_column_is_checked_where_the_simulator_reads_it() -> None:
    from optimizer.scenario import SimulatedHazards
    from simulation import SimulationConfigError, base_from_customers

    with pytest.raises(ValueError, match="with 'column' the hazards are read as given, so drop 'by'"):
        SimulatedHazards(column="exit_hazard", by="contract")
    cust = pd.DataFrame({"customer_id": ["a", "b"], "exit_hazard": [0.01, 1.5]})
    with pytest.raises(SimulationConfigError, match=r"column 'exit_hazard', row 2.*must be a monthly hazard in \[0, 1\]"):
        base_from_customers(cust, hazards={"column": "exit_hazard"})
    with pytest.raises(SimulationConfigError, match="'risk'.* is not a column of the customers table"):
        base_from_customers(cust, hazards={"column": "risk"})


def test_reliability_bins_a_rate_per_group_by_value() -> None:
    y = np.array([True, False, False, False, True, True, False, False])
    p = np.array([0.1, 0.1, 0.1, 0.1, 0.6, 0.6, 0.6, 0.1])
    rel = reliability(y, p)
    assert rel["n"].tolist() == [5, 3] and rel["observed"].tolist() == pytest.approx([0.2, 2 / 3])


def test_bigml_example_maps_the_table_without_a_pre_step() -> None:
    example = Path(__file__).parents[2] / "examples" / "bigml_prepare.yaml"
    from optimizer.scoring.config import load_yaml
    from optimizer.scoring.mapping import load_customers

    cfg = load_prepare_config(load_yaml(example), base=example.parent, source=str(example))
    if not cfg.customers.path.is_file():
        pytest.skip("bundled data/churn-bigml-80.csv missing")
    cust = load_customers(cfg.customers)
    assert len(cust) == 2666 and cust["customer_id"].iloc[0] == "C1" and int(cust["churned"].sum()) == 388
    assert cust["tenure_months"].min() >= 1 and (cust["arpu"] > 0).all()
    kinds = {f.name: f.kind for f in cm.learn_features(cust, cfg.churn_model.features)}
    assert kinds["intl_plan"] == kinds["vmail_plan"] == "flag" and kinds["customer_service_calls"] == "numeric"


def test_bigml_80_fits_20_applies_and_the_labels_keep_their_meaning(tmp_path) -> None:
    """Issue 13's acceptance: raw CSV to plan with one config; the next file with the saved model and --input only."""
    from campaignlab.cli import main

    example = Path(__file__).parents[2] / "examples" / "bigml_prepare.yaml"
    data = example.parents[1] / "data"
    if not (data / "churn-bigml-80.csv").is_file():
        pytest.skip("bundled data/churn-bigml-80.csv missing")
    assert main(["prepare", str(example), "--out", str(tmp_path / "may")]) == 0
    # the 20% file with one customer of the 80% file appended unchanged (generated ids follow the rows)
    lines80 = (data / "churn-bigml-80.csv").read_text().splitlines()
    june_file = tmp_path / "june.csv"
    june_file.write_text((data / "churn-bigml-20.csv").read_text().rstrip("\n") + "\n" + lines80[13] + "\n")
    assert main(["prepare", str(example), "--model", str(tmp_path / "may" / "model"), "--input", str(june_file),
                 "--out", str(tmp_path / "june")]) == 0
    may = pd.read_csv(tmp_path / "may" / "customers.csv")
    june = pd.read_csv(tmp_path / "june" / "customers.csv")
    moved, before = june.iloc[-1], may.iloc[12]
    for column in ("segment", "segment_name", "value_tier", "value_policy", "p_churn_model", "exit_hazard"):
        assert moved[column] == before[column], column
    assert set(june["segment_name"]) <= set(may["segment_name"]) and set(june["value_tier"]) <= set(may["value_tier"])
    # and the prepared base goes through the optimizer to a verified plan and a call list
    assert main(["optimize", str(tmp_path / "may" / "scenario.yaml"), "--out", str(tmp_path / "plan"), "--quiet"]) == 0
    assert main(["contacts", str(tmp_path / "may" / "scenario.yaml"), "--plan", str(tmp_path / "plan" / "plan.csv"),
                 "--columns", "customer_service_calls,p_churn_model", "--out", str(tmp_path / "lists")]) == 0
    calls = pd.read_csv(tmp_path / "lists" / "outbound_call_list.csv")
    assert len(calls) > 0 and {"customer_service_calls", "p_churn_model"} <= set(calls.columns)
