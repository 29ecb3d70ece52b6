"""The telco prepare pipeline: option values follow the one value model, rules hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optimizer.scoring import retention as rt
from optimizer.scoring.config import load_yaml
from optimizer.scoring.prepare import load_prepare_config, prepare
from optimizer.scoring.tags import evaluate
from optimizer.value_model import OfferEffect, option_value

EXAMPLE = Path(__file__).parents[2] / "examples" / "telco_prepare.yaml"


@pytest.fixture(scope="module")
def prepared():
    cfg = load_prepare_config(load_yaml(EXAMPLE), base=EXAMPLE.parent, source=str(EXAMPLE))
    if not cfg.customers.path.is_file():
        pytest.skip("bundled data/telco_churn.csv missing")
    return cfg, prepare(cfg)


def test_option_values_follow_formula(prepared) -> None:
    cfg, res = prepared
    cust = res.customers.set_index("customer_id")
    o = res.options.join(cust[["exit_hazard", "arpu"]], on="customer_id")
    for offer_id, offer in cfg.offers.items():
        rows = o[o["offer_id"] == offer_id]
        effect = OfferEffect(1.0 - offer.churn_reduction, cfg.retention.horizon_months)
        np.testing.assert_allclose(rows["value"], option_value(rows["arpu"], rows["exit_hazard"], effect, margin=0.3))
    resp = o["channel_id"].map({k: v.response for k, v in cfg.channels.items()})
    mult = o["offer_id"].map({k: v.response_multiplier for k, v in cfg.offers.items()})
    np.testing.assert_allclose(o["p_accept"], np.minimum(1.0, resp * mult))
    # one customer by hand: P(churn in 12 months | survived n) = 1 - S(n + 12) / S(n)
    row = res.customers.iloc[0]
    fit = res.fits[row["contract"]]
    n = row["tenure_months"]
    assert row["p_churn_12m"] == pytest.approx(1 - rt.survival(fit, n + 12) / rt.survival(fit, n))
    assert row["residual_value"] == pytest.approx(float(rt.residual_value(fit, 0.3 * row["arpu"], 0.01, n)), rel=1e-12)
    # the monthly hazard the value (and the plan test) uses: the posterior mean given n months
    assert row["exit_hazard"] == pytest.approx(fit.alpha / (fit.alpha + fit.beta + n), rel=1e-12)
    sim = res.scenario["simulation"]
    assert sim["hazards"] == {"tenure": "tenure_months", "churned": "churned", "by": "contract"}
    assert sim["call_channel"] == "outbound_call" and sim["margin"] == 0.3


def test_eligibility_policy_and_contact_rules(prepared) -> None:
    cfg, res = prepared
    cust = res.customers
    for offer_id, offer in cfg.offers.items():
        eligible = set(cust.loc[evaluate(offer.eligible, cust), "customer_id"])
        offered = set(res.options.loc[res.options["offer_id"] == offer_id, "customer_id"])
        assert offered <= eligible and len(offered) > 0
    retrench = set(cust.loc[cust["value_policy"] == "retrench", "customer_id"])
    calls = res.options[res.options["channel_id"] == "outbound_call"]
    assert not retrench & set(calls["customer_id"])
    assert (cust.loc[cust["stage"] == "exit", "max_contacts"] == 0).all()
    # sBG by contract: monthly churn falls with lock-in
    mean = {g: f.mean_churn for g, f in res.fits.items()}
    assert mean["Month-to-month"] > mean["One year"] > mean["Two year"]
    assert not res.fits["Month-to-month"].at_bound
    assert int(res.value_matrix.to_numpy().sum()) == len(cust) == 7043
    assert set(cust["value_tier"]) == {"premium", "loyal", "potential", "newborn", "flea"}
