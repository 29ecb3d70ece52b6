"""The planner's estimate of what an offer is worth to a customer, from observable data only.

The optimizer needs, per (customer, offer, channel): the acceptance probability, the value if
accepted, and the costs. Nothing here reads the hidden truth; the estimate uses the scenario's
hazard tables (the operator's fitted churn model) applied to what the operator sees: the
observed stage (decline only when a usage drop is flagged), the value tier, the contract and
the contact history.

With h the estimated monthly exit probability and S_T(h) = sum_{k=1..T} (1 - h)^k the
expected months a customer stays within T months,

    value if accepted = ARPU * (S'(H) - S_H(h)) + ARPU * arpu_shift * S_T(h')
        S'(H) = S_T(h') + (1 - h')^T S_{H-T}(h): expected months within the valuation horizon
        H when the hazard is h' for the offer's term T and h after it (a customer kept
        during the term keeps paying afterwards);
        h' = h * churn_multiplier * (lock-in if the offer signs a contract), and for a flagged
        decline the recovery probability blends in the maturity hazard; a flagged decline's
        h includes the escalation (averaged over the horizon, from the months the reporting
        lag hides onwards), and a recovery restores the pre-drop ARPU (read back from the
        observed drops) for the months the customer stays; acquisition and growth customers
        use their stage hazard until the maturity tenure and the maturity hazard after;
    fatigue loss of a reached contact = ARPU * (S_W(h) - S_W(h * (1 + delta))),
        delta the fatigue step this contact adds (every contact in growth, beyond the free
        ones otherwise), over the fatigue window W;
    p_accept = reach (connect rate, channel reach, store visit) * accept_prob * multiplier.

A deliberately simple, explainable model: the point of the simulation is to show what such
a plan achieves when the truth is messier (lagged, noisy detection; escalating decline).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.value_model import stay_months

from ..stages import DECLINE, GROWTH, MATURITY, STAGE_NAMES, TIER_NAMES
from ..view import MonthView

__all__ = ["OptionEstimates", "estimate_options", "stay_months"]


@dataclass(frozen=True)
class OptionEstimates:
    """Flat arrays, one entry per candidate (customer, offer, channel)."""

    customer: np.ndarray
    offer: np.ndarray  # offer codes
    channel: np.ndarray  # channel codes
    p_accept: np.ndarray
    value: np.ndarray
    contact_cost: np.ndarray  # expected contact cost plus expected fatigue loss
    offer_cost: np.ndarray
    reserve: np.ndarray  # worst-case cost the engine reserves against the budget

    @property
    def net_value(self) -> np.ndarray:
        return self.p_accept * (self.value - self.offer_cost) - self.contact_cost


def estimate_options(view: MonthView, channels: tuple[str, ...], horizon_months: int = 24) -> OptionEstimates:
    """Estimates for every eligible customer x configured offer x the given channels."""
    cfg = view.config
    lc, cc = cfg.lifecycle, cfg.call_centre
    idx = np.flatnonzero(view.eligible)
    stage = view.stage[idx].astype(np.int64)
    tier = view.tier[idx].astype(np.int64)
    exit_t = np.array([[lc.exit_hazard[s] * lc.tier_exit_multiplier[k] for k in TIER_NAMES] for s in STAGE_NAMES])
    h_mature = exit_t[MATURITY, tier]
    # Acquisition and growth customers mature at the maturity tenure: over the horizon their
    # hazard is the stage hazard for the months left and the maturity hazard after.
    mt = lc.maturity_tenure_months or 6
    early = np.clip(mt - view.tenure[idx].astype(np.float64), 0.0, horizon_months)
    h = np.where(
        stage < MATURITY,
        (early * exit_t[stage, tier] + (horizon_months - early) * h_mature) / horizon_months,
        exit_t[stage, tier],
    )
    locked = view.in_contract[idx]
    h = np.where(locked, h * lc.contract_lock_in_multiplier, h)
    # A flagged decline has been going on for at least the hidden months, and escalates on:
    # use the escalation averaged over the horizon.
    hidden = cfg.usage.report_lag_months + 1
    esc = float(
        np.mean(
            np.minimum(
                lc.decline_escalation ** (hidden + np.arange(horizon_months)),
                lc.decline_escalation_cap,
            )
        )
    )
    h = np.where(stage == DECLINE, np.minimum(h * esc, 1.0), h)
    arpu = view.arpu[idx].astype(np.float64)
    # Billed ARPU before the drop, read back from the observed usage drops.
    vs = cfg.usage.voice_share_of_arpu
    level = 1.0 - (vs * np.clip(view.voice_drop[idx], 0, 1) + (1 - vs) * np.clip(view.data_drop[idx], 0, 1))
    arpu_before = arpu / np.maximum(level, cfg.usage.usage_floor)

    fc = cfg.fatigue
    c_recent = view.contacts_recent[idx].astype(np.float64)
    delta = np.where(
        stage == GROWTH,
        fc.growth_per_contact,
        np.where(c_recent + 1 > fc.free_contacts, fc.per_excess_contact, 0.0),
    )
    fatigue_loss = arpu * (
        stay_months(h, fc.window_months) - stay_months(np.minimum(h * (1 + delta), 1.0), fc.window_months)
    )

    names = ("call", *cfg.channels)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in OptionEstimates.__dataclass_fields__}
    for o_code, (o_name, o) in enumerate(cfg.offers.items()):
        lock = lc.contract_lock_in_multiplier if o.contract else 1.0
        base_after = np.where(stage == DECLINE, o.recovery_prob * h_mature + (1 - o.recovery_prob) * h, h)
        h_after = np.minimum(base_after * o.churn_multiplier * np.where(locked, 1.0, lock), 1.0)
        T = min(o.term_months, horizon_months)
        s_after = stay_months(h_after, T)
        s_with = s_after + (1.0 - h_after) ** T * stay_months(h, horizon_months - T)
        value = arpu * (s_with - stay_months(h, horizon_months)) + arpu * o.arpu_shift * s_after
        # A recovered decline bills its pre-drop ARPU again.
        value = value + np.where(stage == DECLINE, o.recovery_prob * (arpu_before - arpu) * s_with, 0.0)
        for ch in channels:
            c_code = names.index(ch)
            if ch == "call":
                reach = cc.connect_rate
                mult = 1.0
                expected_contact = cc.cost_per_attempt + cc.connect_rate * cc.cost_per_connected
                worst_contact = cc.cost_per_attempt + cc.cost_per_connected
            else:
                chc = cfg.channels[ch]
                visit = chc.visit_prob if ch == "store" else 1.0
                reach = visit * chc.reach
                mult = chc.response_multiplier
                expected_contact = visit * chc.cost_per_contact
                worst_contact = chc.cost_per_contact
            p = np.full(idx.size, min(reach * min(o.accept_prob * mult, 1.0), 1.0))
            parts["customer"].append(idx)
            parts["offer"].append(np.full(idx.size, o_code))
            parts["channel"].append(np.full(idx.size, c_code))
            parts["p_accept"].append(p)
            parts["value"].append(value)
            parts["contact_cost"].append(expected_contact + reach * fatigue_loss)
            parts["offer_cost"].append(np.full(idx.size, o.cost))
            parts["reserve"].append(np.full(idx.size, worst_contact + o.cost))
        del o_name
    return OptionEstimates(**{k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()})
