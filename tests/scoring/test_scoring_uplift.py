"""T-learner uplift: recovers a sign-changing effect, calibrated, keeps negative uplift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimizer.scoring.errors import UpliftDataError
from optimizer.scoring.uplift import Arm, fit_uplift, scored_options


def _history(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    x = rng.uniform(-1, 1, n)
    g = rng.choice(["north", "south"], n)
    logit0 = -1.5 + 0.5 * x + 0.3 * (g == "north")
    p0 = 1 / (1 + np.exp(-logit0))
    p1 = 1 / (1 + np.exp(-(logit0 + 1.2 * x)))  # helps x > 0, hurts x < 0
    arm = rng.choice(["treated", "control"], n)
    y = (rng.random(n) < np.where(arm == "treated", p1, p0)).astype(int)
    spend = y * 50.0
    return pd.DataFrame({"x": x, "g": g, "arm": arm, "y": y, "spend": spend}), p0, p1


def test_recovers_sign_changing_uplift_and_keeps_negatives() -> None:
    rng = np.random.default_rng(1)
    train, _, _ = _history(rng, 16000)
    test, p0, p1 = _history(rng, 8000)
    m = fit_uplift(
        train,
        treatment="arm",
        control="control",
        arms=[Arm("treated", "retain", "sms")],
        response="y",
        value="spend",
        numeric=["x"],
        categorical=["g"],
    )
    pred = m.predict(test)
    true_uplift = p1 - p0
    assert np.corrcoef(pred["uplift"], true_uplift)[0, 1] > 0.95
    assert np.abs(pred["uplift"] - true_uplift).mean() < 0.02
    # calibration on unseen data: mean predicted vs observed response per quintile of prediction
    treated = (test["arm"] == "treated").to_numpy()
    p_hat = pred["p_response"].to_numpy()[treated]
    y = test["y"].to_numpy()[treated]
    bins = np.quantile(p_hat, np.linspace(0, 1, 6))
    which = np.clip(np.searchsorted(bins, p_hat, side="right") - 1, 0, 4)
    for b in range(5):
        sel = which == b
        assert abs(p_hat[sel].mean() - y[sel].mean()) < 0.035
    opts = scored_options(pred, test.index.astype(str).to_numpy(), contact_cost={"sms": 0.1})
    assert (opts["value"] < 0).sum() > 1000  # negative uplift kept, not clipped
    np.testing.assert_allclose(opts["value"], 50.0 * (pred["p_response"] - pred["p_control"]))
    assert set(opts.columns) >= {
        "customer_id",
        "offer_id",
        "channel_id",
        "p_accept",
        "value",
        "contact_cost",
        "offer_cost",
    }
    assert (opts["p_accept"] == 1).all() and (opts["offer_cost"] == 0).all()


def test_bad_history() -> None:
    rng = np.random.default_rng(2)
    h, _, _ = _history(rng, 2000)
    kw = {
        "treatment": "arm",
        "arms": [Arm("treated", "o", "c")],
        "response": "y",
        "value": "spend",
        "numeric": ["x"],
        "categorical": ["g"],
    }
    with pytest.raises(UpliftDataError, match="no control group: column 'arm' has no rows equal to 'holdout'"):
        fit_uplift(h, control="holdout", **kw)
    bad = h.assign(x=h["x"].astype(object))
    bad.loc[3, "x"] = "n/a"
    with pytest.raises(UpliftDataError, match="feature column 'x' has non-numeric value 'n/a' in data row 4"):
        fit_uplift(bad, control="control", **kw)
    with pytest.raises(UpliftDataError, match="response column 'spend' must hold only 0 and 1"):
        fit_uplift(h, control="control", **{**kw, "response": "spend"})
    m = fit_uplift(h, control="control", **kw)
    with pytest.raises(UpliftDataError, match="column 'g' has category 'east' unseen in training"):
        m.predict(h.assign(g="east"))
    with pytest.raises(UpliftDataError, match="feature column 'x' not in table"):
        m.predict(h.drop(columns="x"))
