"""Fit once, apply next month: a saved prepare model scores a new file without refitting.

The Telco base split at random into two halves plays May (fitted) and June (applied). What
must hold: the same rows in another order score identically; a customer who did not change
keeps May's segment and tier whoever else is in the file; a model from another config is
refused naming the keys; the JSON folder round-trips exactly.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from campaignlab.cli import main
from optimizer.atomic import write_folder
from optimizer.scoring.config import load_yaml
from optimizer.scoring.errors import ScoringError
from optimizer.scoring.fitted import MANIFEST, fitted_keys, load_model, model_files
from optimizer.scoring.prepare import load_prepare_config, prepare
from optimizer.scoring.segments import segment_names

EXAMPLE = Path(__file__).parents[2] / "examples" / "telco_prepare.yaml"
#: Per-customer columns a saved model determines (beside the mapped inputs themselves).
SCORED = [
    "segment",
    "segment_name",
    "current_value",
    "potential_value",
    "current_band",
    "potential_band",
    "value_tier",
    "value_policy",
    "exit_hazard",
    "p_churn_12m",
    "residual_value",
]


@pytest.fixture(scope="module")
def telco():
    cfg = load_prepare_config(load_yaml(EXAMPLE), base=EXAMPLE.parent, source=str(EXAMPLE))
    if not cfg.customers.path.is_file():
        pytest.skip("bundled data/telco_churn.csv missing")
    raw = pd.read_csv(cfg.customers.path, dtype=str, keep_default_na=False)
    order = np.random.default_rng(13).permutation(len(raw))
    may = raw.iloc[order[: len(raw) // 2]].reset_index(drop=True)
    june = raw.iloc[order[len(raw) // 2 :]].reset_index(drop=True)
    return cfg, may, june


@pytest.fixture(scope="module")
def fitted_may(telco):
    cfg, may, _ = telco
    return prepare(cfg, may)


def _by_id(res, ids=None) -> pd.DataFrame:
    c = res.customers.set_index("customer_id")[SCORED]
    return c if ids is None else c.loc[ids]


def _save(model, folder: Path) -> Path:
    docs, manifest = model_files(model)
    write_folder(folder, [(n, lambda p, t=t: p.write_text(t, encoding="utf-8")) for n, t in docs], summary=(MANIFEST, manifest))
    return folder


def test_shuffled_copy_scores_identically(telco, fitted_may) -> None:
    cfg, may, _ = telco
    shuffled = may.sample(frac=1.0, random_state=5).reset_index(drop=True)
    applied = prepare(cfg, shuffled, model=fitted_may.model)
    pd.testing.assert_frame_equal(_by_id(applied, may["customerID"]), _by_id(fitted_may, may["customerID"]))
    key = ["customer_id", "offer_id", "channel_id"]
    pd.testing.assert_frame_equal(
        applied.options.sort_values(key).reset_index(drop=True), fitted_may.options.sort_values(key).reset_index(drop=True)
    )
    assert applied.model is fitted_may.model  # applied unchanged, not refitted


def test_unchanged_customers_keep_may_segment_and_tier_in_another_month(telco, fitted_may) -> None:
    cfg, may, june = telco
    # June's file: 60% of May's customers, a third of them with a new tariff, plus June's new customers
    rng = np.random.default_rng(2)
    kept = may.iloc[rng.permutation(len(may))[: int(0.6 * len(may))]].copy()
    changed = kept.index[: len(kept) // 3]
    kept.loc[changed, "MonthlyCharges"] = (kept.loc[changed, "MonthlyCharges"].astype(float) * 1.3).round(2).astype(str)
    month = pd.concat([kept, june.iloc[:1000]], ignore_index=True)
    applied = prepare(cfg, month, model=fitted_may.model)
    same = kept.loc[~kept.index.isin(changed), "customerID"]
    pd.testing.assert_frame_equal(_by_id(applied, same), _by_id(fitted_may, same))
    # segment ids mean the saved centres: every customer sits at their nearest May centre
    seg = fitted_may.model.segments
    z = seg.scaled(applied.customers)
    nearest = np.argmin(((z[:, None, :] - np.asarray(seg.centres)[None]) ** 2).sum(axis=2), axis=1)
    assert (applied.customers["segment"].to_numpy() == nearest).all()
    names = dict(enumerate(seg.names))
    assert (applied.customers["segment_name"] == applied.customers["segment"].map(names)).all()
    # the changed customers were scored, not copied: a higher bill raises (never lowers) current value
    moved = kept.loc[changed, "customerID"]
    assert (_by_id(applied, moved)["current_value"] >= _by_id(fitted_may, moved)["current_value"]).all()


def test_high_arpu_file_keeps_may_tiers_where_a_refit_mixes_them(telco, fitted_may) -> None:
    cfg, may, _ = telco
    may_cust = fitted_may.customers.set_index("customer_id")
    top = may_cust.index[may_cust["arpu"] >= may_cust["arpu"].quantile(2 / 3)]
    rich = may[may["customerID"].isin(top)].reset_index(drop=True)
    applied = prepare(cfg, rich, model=fitted_may.model)
    pd.testing.assert_frame_equal(_by_id(applied, rich["customerID"]), _by_id(fitted_may, rich["customerID"]))
    # In May most of them are premium; a refit on this file alone ranks them against each other,
    # so a third of its own terciles are "low" and tiers get reassigned wholesale.
    refit = prepare(cfg, rich)
    may_tier = may_cust.loc[rich["customerID"], "value_tier"].to_numpy()
    refit_tier = refit.customers.set_index("customer_id").loc[rich["customerID"], "value_tier"].to_numpy()
    assert (may_tier == "premium").mean() > 0.6
    assert (refit_tier == "premium").mean() < 0.4
    assert (refit_tier != may_tier).mean() > 0.3


def test_model_from_another_config_is_refused(telco, fitted_may) -> None:
    cfg, may, _ = telco
    model = fitted_may.model
    other_k = cfg.model_copy(update={"segments": cfg.segments.model_copy(update={"k": 5})})
    with pytest.raises(ScoringError, match=r"1 fitted key\(s\): segments\.k \(model: 4, config: 5\)"):
        prepare(other_k, may, model=model)
    renamed = cfg.model_copy(update={"name": "telco-other"})
    with pytest.raises(ScoringError, match=r"fitted for config 'telco-retention'.*name \(model: 'telco-retention', config: 'telco-other'\)"):
        prepare(renamed, may, model=model)
    weights = cfg.model_copy(update={"value": cfg.value.model_copy(update={"current": {"arpu": 1.0}})})
    with pytest.raises(ScoringError, match=r"value\.current\.tenure_months \(model: 0\.25, config: not set\)"):
        prepare(weights, may, model=model)
    # offers, channels, budget and the input path are not fitted: a new month may change them
    offers = {k: v.model_copy(update={"offer_cost": v.offer_cost + 1}) for k, v in cfg.offers.items()}
    cheaper = cfg.model_copy(update={"offers": offers, "scenario": cfg.scenario.model_copy(update={"budget": 1.0})})
    assert fitted_keys(cheaper) == fitted_keys(cfg)
    prepare(cheaper, may.head(200), model=model)


def test_json_round_trip_and_tamper_check(telco, fitted_may, tmp_path: Path) -> None:
    cfg, _, june = telco
    model = fitted_may.model
    folder = _save(model, tmp_path / "model")
    loaded = load_model(folder)
    assert loaded.documents() == model.documents()
    assert {k: v for k, v in loaded.manifest.items() if k != "files"} == model.manifest
    assert (loaded.ranks, loaded.band_cuts, loaded.fits, loaded.segments) == (model.ranks, model.band_cuts, model.fits, model.segments)
    # saved again, the folder is byte for byte the same
    again = _save(loaded, tmp_path / "again")
    for name in [*loaded.manifest["files"], MANIFEST]:
        assert (again / name).read_bytes() == (folder / name).read_bytes(), name
    pd.testing.assert_frame_equal(
        _by_id(prepare(cfg, june, model=loaded)), _by_id(prepare(cfg, june, model=model))
    )
    doc = json.loads((folder / "value.json").read_text())
    doc["band_cuts"]["current_value"][0] = 1.0
    (folder / "value.json").write_text(json.dumps(doc))
    with pytest.raises(ScoringError, match=r"value\.json: does not match its sha256 in the manifest"):
        load_model(folder)
    with pytest.raises(ScoringError, match=r"not a model folder \(manifest.json missing\); did you mean .*model\?"):
        load_model(tmp_path)


def test_segment_names_describe_the_centre() -> None:
    # centres in base standard deviations: a high-ARPU heavy-data group, a low-usage group, a typical one
    centres = np.array([[1.8, 1.2, 0.1], [-0.9, -0.2, -1.4], [0.1, 0.2, -0.3]])
    names = segment_names(centres, ["arpu", "data_gb", "tenure_months"])
    assert names == ["high ARPU, high data gb", "low tenure months, low ARPU", "typical"]
    # identical leading features get further ones, then the id, so names stay unique
    twins = segment_names(np.array([[1.0, 0.0], [1.0, 0.0]]), ["arpu", "mou"])
    assert twins == ["high ARPU (0)", "high ARPU (1)"]


def _small_config(data_file, tmp_path: Path, rows: int = 600) -> tuple[Path, Path, Path]:
    """A config reading ``all.csv``, and two disjoint months of it beside it."""
    raw = pd.read_csv(data_file("telco_churn.csv"), dtype=str, keep_default_na=False)
    raw.iloc[: 2 * rows].to_csv(tmp_path / "all.csv", index=False)
    raw.iloc[:rows].to_csv(tmp_path / "may.csv", index=False)
    raw.iloc[rows : 2 * rows].to_csv(tmp_path / "june.csv", index=False)
    cfg = yaml.safe_load(EXAMPLE.read_text())
    cfg["customers"]["path"] = "all.csv"
    (tmp_path / "telco.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path / "telco.yaml", tmp_path / "may.csv", tmp_path / "june.csv"


def test_cli_fit_with_input_then_apply_with_model(data_file, tmp_path: Path, capsys) -> None:
    cfg, may, june = _small_config(data_file, tmp_path)
    out = tmp_path / "out_may"
    assert main(["prepare", str(cfg), "--input", str(may), "--out", str(out)]) == 0
    assert len(pd.read_csv(out / "customers.csv")) == 600  # may.csv, not the config's all.csv
    manifest = json.loads((out / "model" / MANIFEST).read_text())
    assert manifest["input"] == str(may) and manifest["rows"] == 600 and manifest["config_name"] == "telco-retention"
    assert set(manifest["files"]) == {"segments.json", "value.json", "retention.json"}
    for key in ("config_sha256", "input_sha256", "fitted_keys_sha256", "versions", "created_utc"):
        assert manifest[key], key
    out2 = tmp_path / "out_june"
    assert main(["prepare", str(cfg), "--model", str(out / "model"), "--input", str(june), "--out", str(out2)]) == 0
    summary = json.loads((out2 / "summary.json").read_text())
    assert summary["model"]["mode"] == "applied" and summary["model"]["fitted_on_sha256"] == manifest["input_sha256"]
    for name in ["manifest.json", *manifest["files"]]:  # the model behind June's tables, unchanged
        assert (out2 / "model" / name).read_bytes() == (out / "model" / name).read_bytes()
    cust = pd.read_csv(out2 / "customers.csv")
    names = dict(enumerate(json.loads((out / "model" / "segments.json").read_text())["names"]))
    assert len(cust) == 600 and (cust["segment_name"] == cust["segment"].map(names)).all()
    capsys.readouterr()
    other = yaml.safe_load(cfg.read_text())
    other["segments"]["features"] = ["arpu", "tenure_months"]
    cfg.write_text(yaml.safe_dump(other))
    out3 = tmp_path / "out_refused"
    assert main(["prepare", str(cfg), "--model", str(out / "model"), "--input", str(june), "--out", str(out3)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--model {out / 'model'}: fitted for config 'telco-retention'" in err
    assert "segments.features (model: ['arpu', 'tenure_months', 'n_services', 'lock_in_months'], config: ['arpu', 'tenure_months'])" in err
    assert not out3.exists()


def test_apply_with_stale_fits_names_the_group(telco, fitted_may) -> None:
    cfg, may, _ = telco
    model = fitted_may.model
    fits = {g: f for g, f in model.fits.items() if g != "Two year"}
    with pytest.raises(ScoringError, match=r"group\(s\) 'Two year' of column 'contract' have no sBG fit in the model"):
        prepare(cfg, may.head(300), model=replace(model, fits=fits))


def test_churn_model_is_saved_and_applied_not_refitted(telco, tmp_path: Path) -> None:
    cfg, may, june = telco
    from optimizer.scoring.churn_model import ChurnModelCfg

    spec = ChurnModelCfg(features=["arpu", "tenure_months", "n_services", "fiber", "contract"], models=["logistic"], folds=2)
    with_model = cfg.model_copy(update={"churn_model": spec})
    fit = prepare(with_model, may)
    assert fit.model.churn_model == fit.churn.model.to_json()
    loaded = load_model(_save(fit.model, tmp_path / "model"))
    assert "churn_model.json" in loaded.manifest["files"]
    shuffled = may.sample(frac=1.0, random_state=3).reset_index(drop=True)
    again = prepare(with_model, shuffled, model=loaded)
    assert again.churn.source.startswith("saved") and again.churn.report is None  # applied, not refitted
    cols = ["p_churn_model", "exit_hazard", "residual_value", "value_tier", "segment"]
    ids = may["customerID"]
    pd.testing.assert_frame_equal(
        again.customers.set_index("customer_id").loc[ids, cols], fit.customers.set_index("customer_id").loc[ids, cols]
    )
    assert prepare(with_model, june, model=loaded).customers["p_churn_model"].between(0, 1).all()
    # a model fitted without a churn model does not score a config that has one
    with pytest.raises(ScoringError, match=r"fitted key\(s\): churn_model\.features \(model: not set, config: \['arpu'"):
        prepare(with_model, june, model=load_model(_save(prepare(cfg, may.head(400)).model, tmp_path / "plain")))
