"""KPIs: one row of monthly figures per month, and the run's totals derived from them.

Counts are taken from the masks the engine computes anyway (no second pass over the base).
Rates are ratios of totals, not means of monthly ratios, so they weight months by volume.
CLV here is the horizon-truncated, discounted net value (revenue minus marketing cost) per
initial customer: it compares strategies on the same base, it is not a lifetime valuation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .config import SimConfig
from .contact_log import ContactLog
from .stages import STAGE_NAMES, TIER_NAMES

__all__ = ["TOTAL_KPIS", "Recorder", "RunResult"]

#: Totals every run reports (the experiment compares strategies on these).
TOTAL_KPIS: tuple[str, ...] = (
    "retention_rate",
    "number_retention_rate",
    "true_churn",
    "reentries",
    "cancellations",
    "revenue",
    "cost",
    "net_value",
    "discounted_net_value",
    "clv",
    "arpu",
    "roi_on_cost",
    "contacts",
    "contacts_per_customer",
    "calls_dialled",
    "calls_connected",
    "offers_accepted",
    "connect_rate",
    "acceptance_rate",
    "cc_utilisation",
    "inbound_mean_wait_s",
    "inbound_p_wait",
    "inbound_service_level",
    "inbound_p_abandon",
    "inbound_mean_wait_all_s",
    "detection_precision",
    "detection_recall",
    "mid_high_churn_all",
    "mid_high_churn_called",
    "mid_high_churn_reduction",
    "mean_active",
    "customers_retained",
    "margin_value",
    "residual_value",
    "value_credited",
)


@dataclass
class RunResult:
    """One replication of one strategy: monthly time series, totals and the contacts executed."""

    strategy: str
    timeseries: pd.DataFrame
    totals: dict[str, float]
    contacts: ContactLog = field(default_factory=ContactLog.empty)


class Recorder:
    """Collects one dict per month; the engine calls :meth:`month` then :meth:`finish`."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.rows: list[dict[str, float]] = []
        self.inbound_waits: list[np.ndarray] = []
        # Waits of hotline callers who hung up (time until they did); the engine appends.
        self.inbound_abandon_waits: list[np.ndarray] = []
        # One block per month of the contacts executed (simulation.contact_log).
        self.contact_logs: list[ContactLog] = []

    def month(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def contacts(self, log: ContactLog) -> None:
        self.contact_logs.append(log)

    def finish(self, strategy: str, final: dict[str, float]) -> RunResult:
        ts = pd.DataFrame(self.rows)
        cfg = self.cfg
        tot: dict[str, float] = dict(final)
        tot["true_churn"] = float(ts["exits_true_churn"].sum())
        tot["reentries"] = float(ts["exits_reentry"].sum())
        tot["cancellations"] = float(ts["cancellations"].sum())
        tot["revenue"] = float(ts["revenue"].sum())
        tot["cost"] = float(ts["cost"].sum())
        tot["net_value"] = tot["revenue"] - tot["cost"]
        tot["margin_value"] = cfg.margin * tot["revenue"]
        tot["value_credited"] = float(ts["value_credited"].sum())
        disc = (1.0 + cfg.monthly_discount_rate) ** -ts["month"].to_numpy(dtype=float)
        tot["discounted_net_value"] = float(((ts["revenue"] - ts["cost"]) * disc).sum())
        tot["clv"] = tot["discounted_net_value"] / cfg.population.customers
        paying = float(ts["paying"].sum())
        tot["arpu"] = tot["revenue"] / paying if paying else float("nan")
        tot["roi_on_cost"] = tot["net_value"] / tot["cost"] if tot["cost"] else float("nan")
        tot["contacts"] = float(ts["contacts_reached"].sum())
        tot["mean_active"] = float(ts["active"].mean())
        tot["contacts_per_customer"] = tot["contacts"] / max(tot["mean_active"], 1.0)
        tot["calls_dialled"] = float(ts["calls_dialled"].sum())
        tot["calls_connected"] = float(ts["calls_connected"].sum())
        tot["offers_accepted"] = float(ts["offers_accepted"].sum())
        tot["connect_rate"] = _ratio(tot["calls_connected"], tot["calls_dialled"])
        tot["acceptance_rate"] = _ratio(float(ts["calls_accepted"].sum()), tot["calls_connected"])
        busy, staffed = float(ts["cc_busy_s"].sum()), float(ts["cc_staffed_s"].sum())
        tot["cc_utilisation"] = _ratio(busy, staffed)
        waits = np.concatenate(self.inbound_waits) if self.inbound_waits else np.zeros(0)
        tot["inbound_mean_wait_s"] = float(waits.mean()) if waits.size else float("nan")
        tot["inbound_p_wait"] = float((waits > 0).mean()) if waits.size else float("nan")
        sl = cfg.call_centre.service_level_seconds
        tot["inbound_service_level"] = float((waits <= sl).mean()) if waits.size else float("nan")
        # The three above are over served callers; these two count those who hung up too.
        abandoned = float(ts["inbound_abandoned"].sum())
        tot["inbound_p_abandon"] = _ratio(abandoned, abandoned + waits.size)
        all_waits = np.concatenate([waits, *self.inbound_abandon_waits])
        tot["inbound_mean_wait_all_s"] = float(all_waits.mean()) if all_waits.size else float("nan")
        tot["detection_precision"] = _ratio(float(ts["detect_both"].sum()), float(ts["detect_flagged"].sum()))
        tot["detection_recall"] = _ratio(float(ts["detect_both"].sum()), float(ts["detect_true"].sum()))
        for s in STAGE_NAMES:
            tot[f"exits_{s}"] = float(ts[f"exits_{s}"].sum())
        for k in TIER_NAMES:
            tot[f"exits_{k}"] = float(ts[f"exits_{k}"].sum())
        return RunResult(strategy, ts, tot, ContactLog.concat(self.contact_logs))


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")
