"""A seeded, realistic operator base and its scored retention options.

Built on the figures of the domain notes (lifecycle stages, value tiers, the 10088 outbound
programme) so that the bundled demo behaves like a real retention campaign: a base whose
mean ARPU is near the 59.40 yuan of the profiled province, an outbound call that connects
64.9% of the time and converts 51.5% of connected calls, cheap but weak SMS and app pushes,
scarce store visits, and offers whose value is the margin they keep (churn avoided) or add
(ARPU uplift). Low-value, high-cost contacts come out with negative net value, so the
optimizer ranks them last, as the sources ask.

``generate_base`` draws everything from one ``numpy.random.Generator`` seeded by ``seed``;
``write_base`` writes a large base chunk by chunk, each chunk from its own child seed. Either
way the same arguments give the same tables on any machine.
"""

from __future__ import annotations

import datetime

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .atomic import staged
from .value_model import OfferEffect, monthly_hazard, option_value

__all__ = ["STAGES", "TIERS", "SEGMENTS", "CHANNELS", "OFFERS", "generate_base", "generate_history", "offer_effect", "scale_limits", "write_base"]

STAGES = ("acquisition", "growth", "maturity", "decline")
STAGE_SHARE = (0.06, 0.14, 0.58, 0.22)
# Probability of leaving within the next 12 months, before contract and tier effects; the
# customers table's churn_risk (after them) is the 12-month probability the value model reads.
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


def offer_effect(offer: str) -> OfferEffect:
    """What accepting ``offer`` does in the one value model (and so in the simulator)."""
    _, risk_cut, uplift, months = OFFERS[offer]
    return OfferEffect(churn_multiplier=1.0 - risk_cut, term_months=months, arpu_uplift=uplift)


def _customers(n: int, rng: np.random.Generator, *, first: int = 0) -> pd.DataFrame:
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
            "customer_id": [f"C{i:07d}" for i in range(first, first + n)],
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


def _option_draws(customers: pd.DataFrame, rng: np.random.Generator):
    """Yield ``(offer, channel, rows, p_accept, value)`` per (offer, channel) block, in draw order.

    Both generators consume the stream in this exact order, so ``generate_base`` keeps its
    tables and ``write_base`` its per-chunk reproducibility.
    """
    n = len(customers)
    arpu = customers["arpu"].to_numpy()
    risk = customers["churn_risk"].to_numpy()
    reach = {
        "call": np.ones(n, bool),
        "sms": np.ones(n, bool),
        "app": customers["has_app"].to_numpy(),
        "store": customers["visits_store"].to_numpy(),
    }
    hazard = monthly_hazard(risk)  # churn_risk is a 12-month probability
    for offer in OFFERS:
        fits = _eligible(customers, offer)
        # incremental margin if accepted, by the one value model (optimizer.value_model)
        value = option_value(arpu, hazard, offer_effect(offer))
        affinity = rng.lognormal(-0.1, 0.45, n)  # how much this customer likes this offer
        for channel, (_, base_p, _) in CHANNELS.items():
            rows = np.flatnonzero(fits & reach[channel])
            p = np.clip(base_p * affinity[rows] * rng.lognormal(-0.05, 0.3, rows.size), 0.001, 0.95)
            yield offer, channel, rows, np.round(p, 5), np.round(value[rows], 2)


#: Share of a month's customers contacted, and the outcomes of a contact (reached and accepted,
#: reached and declined, not reached); 64.9% connect and 51.5% agreement are the 10088 outbound
#: figures above, spread over every channel for a mixed-channel history.
HISTORY_MONTHLY_SHARE = 0.3
HISTORY_OUTCOMES = {"accepted": 0.649 * 0.2, "declined": 0.649 * 0.8, "no_answer": 0.351}


def generate_history(customers: pd.DataFrame, plan_date: datetime.date, *, months: int = 3, seed: int = 7) -> pd.DataFrame:
    """A contact history of ``months`` months before ``plan_date`` (exclusive), reproducibly from ``seed``.

    Each month about :data:`HISTORY_MONTHLY_SHARE` of the customers got one contact on a
    random day, with an offer and a channel drawn from the demo's, and an outcome drawn from
    :data:`HISTORY_OUTCOMES`. Rows are sorted by date; the columns are the history format's.
    """
    rng = np.random.default_rng(seed)
    ids = customers["customer_id"].to_numpy()
    parts = []
    for month in range(months):
        who = np.flatnonzero(rng.random(ids.size) < HISTORY_MONTHLY_SHARE)
        day = rng.integers(1 + 30 * month, 31 + 30 * month, who.size)  # days before the plan date
        parts.append(pd.DataFrame({
            "customer_id": ids[who],
            "offer_id": pd.Categorical.from_codes(rng.integers(0, len(OFFERS), who.size), list(OFFERS)),
            "channel_id": pd.Categorical.from_codes(rng.integers(0, len(CHANNELS), who.size), list(CHANNELS)),
            "date": np.datetime64(plan_date, "D") - day.astype("timedelta64[D]"),
            "outcome": pd.Categorical.from_codes(
                rng.choice(len(HISTORY_OUTCOMES), who.size, p=list(HISTORY_OUTCOMES.values())), list(HISTORY_OUTCOMES)),
        }))
    history = pd.concat(parts, ignore_index=True).sort_values(["date", "customer_id"], kind="stable").reset_index(drop=True)
    history["date"] = history["date"].dt.strftime("%Y-%m-%d")
    return history


def generate_base(n_customers: int, *, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(options, customers)`` for ``n_customers`` subscribers, reproducibly from ``seed``."""
    if n_customers < 1:
        raise ValueError(f"n_customers(={n_customers}) must be >= 1")
    rng = np.random.default_rng(seed)
    customers = _customers(n_customers, rng)
    ids = customers["customer_id"].to_numpy()
    parts = [
        pd.DataFrame(
            {
                "customer_id": ids[rows],
                "offer_id": offer,
                "channel_id": channel,
                "p_accept": p,
                "value": value,
                "contact_cost": CHANNELS[channel][0],
                "offer_cost": OFFERS[offer][0],
            }
        )
        for offer, channel, rows, p, value in _option_draws(customers, rng)
    ]
    options = pd.concat(parts, ignore_index=True)
    options = options.sort_values(["customer_id", "offer_id", "channel_id"], kind="stable").reset_index(drop=True)
    return options, customers


def _chunk_options(customers: pd.DataFrame, rng: np.random.Generator) -> pa.Table:
    """One chunk's options as Arrow, ids dictionary-encoded, in (customer, offer, channel) order.

    Offers and channels follow ``OFFERS`` and ``CHANNELS``, the order the generated scenario
    lists them, so the options are already in the order decomposition shards want.
    """
    blocks = list(_option_draws(customers, rng))
    offer_pos = {o: k for k, o in enumerate(OFFERS)}
    channel_pos = {c: k for k, c in enumerate(CHANNELS)}
    rows = np.concatenate([b[2] for b in blocks]).astype(np.int32)
    offer = np.concatenate([np.full(b[2].size, offer_pos[b[0]], np.int8) for b in blocks])
    channel = np.concatenate([np.full(b[2].size, channel_pos[b[1]], np.int8) for b in blocks])
    order = np.lexsort((channel, offer, rows))
    offer, channel = offer[order], channel[order]
    return pa.table(
        {
            "customer_id": pa.DictionaryArray.from_arrays(rows[order], pa.array(customers["customer_id"].to_numpy(), pa.string())),
            "offer_id": pa.DictionaryArray.from_arrays(offer, pa.array(list(OFFERS), pa.string())),
            "channel_id": pa.DictionaryArray.from_arrays(channel, pa.array(list(CHANNELS), pa.string())),
            "p_accept": np.concatenate([b[3] for b in blocks])[order],
            "value": np.concatenate([b[4] for b in blocks])[order],
            "contact_cost": np.array([c[0] for c in CHANNELS.values()])[channel],
            "offer_cost": np.array([o[0] for o in OFFERS.values()])[offer],
        }
    )


def _chunks(n_customers: int, seed: int, chunk_customers: int) -> Iterator[tuple[pa.Table, pd.DataFrame]]:
    """``(options, customers)`` per chunk, each chunk drawn from its own child seed.

    Chunk ``k`` uses ``SeedSequence(seed, spawn_key=(k,))`` (what ``SeedSequence(seed).spawn``
    hands out), so a chunk depends only on ``(seed, k, chunk_customers)`` and the output
    only on ``(n_customers, seed, chunk_customers)``.
    """
    for k, first in enumerate(range(0, n_customers, chunk_customers)):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,)))
        customers = _customers(min(chunk_customers, n_customers - first), rng, first=first)
        yield _chunk_options(customers, rng), customers


class _TableSink:
    """Appends chunks to one Parquet file (a row group per chunk) or one CSV file."""

    def __init__(self, path: Path, format: str) -> None:
        self.path, self.format, self.writer = path, format, None

    def write(self, table: pa.Table) -> None:
        if self.format == "csv":
            table.to_pandas().to_csv(self.path, mode="a" if self.writer else "w", header=self.writer is None, index=False)
            self.writer = True
            return
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema)
        self.writer.write_table(table.cast(self.writer.schema))

    def close(self) -> None:
        if self.format != "csv" and self.writer is not None:
            self.writer.close()


def write_base(
    n_customers: int, directory: str | Path, *, seed: int = 7, chunk_customers: int = 1_000_000, format: str = "parquet"
) -> tuple[int, int]:
    """Write ``options.<format>`` and ``customers.<format>`` for ``n_customers`` subscribers, chunk by chunk.

    Same per-row rules as :func:`generate_base` (other draws: each chunk has its own seed),
    but never more than one chunk in memory, so a 10M base fits on a laptop. Both files
    appear together (atomically) or not at all. Returns ``(n_options, n_customers)``.
    """
    if n_customers < 1 or chunk_customers < 1:
        raise ValueError(f"n_customers(={n_customers}) and chunk_customers(={chunk_customers}) must be >= 1")
    if format not in ("parquet", "csv"):
        raise ValueError(f"format(={format!r}) must be 'parquet' or 'csv'")
    out = Path(directory)
    n_options = 0
    with staged([out / f"options.{format}", out / f"customers.{format}"]) as (options_tmp, customers_tmp):
        sinks = _TableSink(options_tmp, format), _TableSink(customers_tmp, format)
        try:
            for options, customers in _chunks(n_customers, seed, chunk_customers):
                sinks[0].write(options)
                sinks[1].write(pa.Table.from_pandas(customers, preserve_index=False))
                n_options += options.num_rows
        finally:
            for sink in sinks:
                sink.close()
    return n_options, n_customers


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
