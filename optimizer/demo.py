"""A seeded, realistic operator base and its scored retention options.

Built on the figures of the domain notes (lifecycle stages, value tiers, the 10088 outbound
programme) so that the bundled demo behaves like a real retention campaign: a base whose
mean ARPU is near the 59.40 yuan of the profiled province, an outbound call that connects
64.9% of the time and converts 51.5% of connected calls, cheap but weak SMS and app pushes,
scarce store visits, and offers whose value is the margin they keep (churn avoided) or add
(ARPU uplift). Low-value, high-cost contacts come out with negative net value, so the
optimizer ranks them last, as the sources ask.

Everything is drawn from one ``numpy.random.Generator`` seeded by ``seed``: the same seed
gives the same tables on any machine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["STAGES", "TIERS", "SEGMENTS", "CHANNELS", "OFFERS", "generate_base", "scale_limits"]

STAGES = ("acquisition", "growth", "maturity", "decline")
STAGE_SHARE = (0.06, 0.14, 0.58, 0.22)
# Probability of leaving within the next 12 months, before contract and tier effects.
STAGE_CHURN = {"acquisition": 0.20, "growth": 0.25, "maturity": 0.12, "decline": 0.45}

TIERS = ("premium", "loyal", "potential", "newborn", "flea")
TIER_SHARE = (0.08, 0.20, 0.25, 0.12, 0.35)
TIER_ARPU = {"premium": 210.0, "loyal": 85.0, "potential": 55.0, "newborn": 38.0, "flea": 28.0}
TIER_CHURN_FACTOR = {"premium": 0.8, "loyal": 0.7, "potential": 1.0, "newborn": 1.1, "flea": 1.5}

SEGMENTS = ("voice", "data", "roaming", "local", "entertainment", "business")
SEGMENT_SHARE = (0.28, 0.24, 0.06, 0.22, 0.12, 0.08)

# channel: (cost per contact in yuan, probability the offer is taken when offered, share of base reachable)
CHANNELS = {
    "call": (4.0, 0.649 * 0.515, 1.00),  # 10088 outbound: connect 64.9%, 51.5% of connected agree
    "sms": (0.05, 0.035, 1.00),
    "app": (0.01, 0.025, 0.55),  # only customers with the operator's app installed
    "store": (6.0, 0.40, 0.12),  # only customers who visit a store in the window
}

# offer: (cost to the operator if accepted, share of churn risk removed, monthly ARPU uplift, months of effect)
OFFERS = {
    "bill_credit_contract": (60.0, 0.55, 0.0, 12),
    "data_pack": (8.0, 0.15, 6.0, 6),
    "handset_contract": (300.0, 0.70, 15.0, 24),
    "family_plan": (20.0, 0.35, 10.0, 12),
    "loyalty_points": (5.0, 0.10, 0.0, 6),
    "vip_service": (40.0, 0.30, 0.0, 12),
    "broadband_bundle": (80.0, 0.45, 40.0, 12),
}

MARGIN = 0.6  # share of ARPU the operator keeps as contribution margin


def _customers(n: int, rng: np.random.Generator) -> pd.DataFrame:
    stage = rng.choice(len(STAGES), size=n, p=STAGE_SHARE)
    tier = rng.choice(len(TIERS), size=n, p=TIER_SHARE)
    # new-born customers are, by definition, recent: keep them out of maturity
    newborn = tier == TIERS.index("newborn")
    stage[newborn & (stage == STAGES.index("maturity"))] = STAGES.index("growth")
    tenure = np.select(
        [stage == 0, stage == 1, stage == 2],
        [rng.integers(0, 3, n), rng.integers(3, 7, n), rng.integers(7, 121, n)],
        rng.integers(1, 121, n),
    )
    arpu_mean = np.array([TIER_ARPU[t] for t in TIERS])[tier]
    arpu = np.round(arpu_mean * rng.lognormal(-0.08, 0.4, n), 2)
    segment = rng.choice(len(SEGMENTS), size=n, p=SEGMENT_SHARE)
    contract = rng.choice(3, size=n, p=(0.45, 0.15, 0.40))  # none, expiring within 2 months, locked in
    risk = np.array([STAGE_CHURN[s] for s in STAGES])[stage] * np.array([TIER_CHURN_FACTOR[t] for t in TIERS])[tier]
    risk *= np.array([1.3, 1.6, 0.4])[contract] * rng.lognormal(-0.05, 0.3, n)
    risk = np.clip(risk, 0.01, 0.95)
    recently_contacted = rng.random(n) < 0.15
    # contact policy headroom: light touch in growth (1), two otherwise, one fewer after a recent contact
    max_contacts = np.where(stage == STAGES.index("growth"), 1, 2) - recently_contacted.astype(int)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:07d}" for i in range(n)],
            "stage": np.array(STAGES)[stage],
            "value_tier": np.array(TIERS)[tier],
            "segment": np.array(SEGMENTS)[segment],
            "tenure_months": tenure,
            "arpu": arpu,
            "contract": np.array(["none", "expiring", "locked"])[contract],
            "handset_age_months": rng.integers(0, 48, n),
            "has_app": rng.random(n) < CHANNELS["app"][2],
            "visits_store": rng.random(n) < CHANNELS["store"][2],
            "has_broadband": rng.random(n) < 0.35,
            "churn_risk": np.round(risk, 4),
            "max_contacts": np.maximum(max_contacts, 0),
            "min_contacts": 0,
        }
    )


def _eligible(customers: pd.DataFrame, offer: str) -> np.ndarray:
    tier = customers["value_tier"].to_numpy()
    segment = customers["segment"].to_numpy()
    if offer == "handset_contract":
        return np.isin(tier, ["premium", "loyal"]) & (customers["handset_age_months"].to_numpy() >= 18)
    if offer == "vip_service":
        return tier == "premium"
    if offer == "broadband_bundle":
        return np.isin(segment, ["data", "entertainment"]) & ~customers["has_broadband"].to_numpy()
    if offer == "data_pack":
        return np.isin(segment, ["data", "entertainment", "roaming", "business"])
    if offer == "family_plan":
        return np.isin(segment, ["voice", "local"])
    return np.ones(len(customers), bool)  # bill credit and loyalty points suit everyone


def generate_base(n_customers: int, *, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(options, customers)`` for ``n_customers`` subscribers, reproducibly from ``seed``."""
    if n_customers < 1:
        raise ValueError(f"n_customers(={n_customers}) must be >= 1")
    rng = np.random.default_rng(seed)
    customers = _customers(n_customers, rng)
    arpu = customers["arpu"].to_numpy()
    risk = customers["churn_risk"].to_numpy()
    reach = {
        "call": np.ones(n_customers, bool),
        "sms": np.ones(n_customers, bool),
        "app": customers["has_app"].to_numpy(),
        "store": customers["visits_store"].to_numpy(),
    }
    parts = []
    for offer, (offer_cost, risk_cut, uplift, months) in OFFERS.items():
        fits = _eligible(customers, offer)
        # incremental value if accepted: margin kept by the churn avoided over the offer's
        # term, plus margin on the ARPU uplift while it lasts
        value = risk * risk_cut * MARGIN * arpu * months + MARGIN * uplift * months * (1 - risk)
        affinity = rng.lognormal(-0.1, 0.45, n_customers)  # how much this customer likes this offer
        for channel, (contact_cost, base_p, _) in CHANNELS.items():
            rows = np.flatnonzero(fits & reach[channel])
            p = np.clip(base_p * affinity[rows] * rng.lognormal(-0.05, 0.3, rows.size), 0.001, 0.95)
            parts.append(
                pd.DataFrame(
                    {
                        "customer_id": customers["customer_id"].to_numpy()[rows],
                        "offer_id": offer,
                        "channel_id": channel,
                        "p_accept": np.round(p, 5),
                        "value": np.round(value[rows], 2),
                        "contact_cost": contact_cost,
                        "offer_cost": offer_cost,
                    }
                )
            )
    options = pd.concat(parts, ignore_index=True)
    options = options.sort_values(["customer_id", "offer_id", "channel_id"], kind="stable").reset_index(drop=True)
    return options, customers


def scale_limits(scenario: dict, n_customers: int) -> dict:
    """The demo scenario's absolute limits (budget, capacities, counts) rescaled to another base size.

    The bundled demo is sized for ``synthetic.customers`` subscribers; a generated base of
    another size gets limits in proportion, so that the same limits bind.
    """
    scale = n_customers / scenario["synthetic"]["customers"]
    out = {k: v for k, v in scenario.items() if k != "synthetic"}
    out["budget"] = round(scenario["budget"] * scale, 2)
    out["channels"] = {
        k: {**v, "capacity": int(round(v["capacity"] * scale))} if v and v.get("capacity") is not None else v
        for k, v in scenario["channels"].items()
    }
    out["offers"] = {
        k: {
            **v,
            **{f: int(round(v[f] * scale)) for f in ("max_targets", "min_targets") if v.get(f) is not None},
            **({"budget": round(v["budget"] * scale, 2)} if v.get("budget") is not None else {}),
        }
        if v
        else v
        for k, v in scenario["offers"].items()
    }
    out["rules"] = [
        {**r, **{b: round(r[b] * scale) for b in ("max", "min") if r.get(b) is not None}} for r in scenario.get("rules", [])
    ]
    return out
