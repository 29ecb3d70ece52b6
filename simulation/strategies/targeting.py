"""The baseline strategies the optimizer must beat: rule, score threshold, key moments.

All three share one shape: pick a mask of customers, order them by value (the value policy:
keep high value first, retrench on low value), cap the list at the month's call capacity
when calling (a list longer than the seats can dial is cost without contact), and hand it to
the engine, which enforces the contact policy and budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..config import SimConfig
from ..contacts import ContactPlan, channel_names
from ..errors import SimulationConfigError
from ..view import TAGS, MonthView
from .rules import compile_rule

__all__ = [
    "DEFAULT_SCORE_WEIGHTS",
    "KEY_MOMENTS",
    "KeyMomentTriggers",
    "RuleTargeting",
    "ScoreThreshold",
    "churn_score",
]


def _ordered(view: MonthView, mask: np.ndarray, order_by: str) -> np.ndarray:
    idx = np.flatnonzero(mask & view.eligible)
    key = np.asarray(view[order_by])[idx].astype(np.float64)  # converting the chosen, not the base
    return idx[np.argsort(-key, kind="stable")]


def _cap(view: MonthView, idx: np.ndarray, channel: str, limit: int | None) -> np.ndarray:
    if channel == "call":
        idx = idx[: view.call_capacity]
    return idx if limit is None else idx[:limit]


def _check_names(cfg: SimConfig, offer: str, channel: str, who: str) -> None:
    offers, channels = tuple(cfg.offers), channel_names(cfg)
    if offer not in offers:
        raise SimulationConfigError(f"strategies.{who}.offer", f"(={offer!r}) is not configured; known: {offers}")
    if channel not in channels:
        raise SimulationConfigError(f"strategies.{who}.channel", f"(={channel!r}) is not configured; known: {channels}")


def _check_order_by(order_by: str, who: str) -> None:
    if order_by not in TAGS:
        raise SimulationConfigError(
            f"strategies.{who}.order_by", f"(={order_by!r}) is not a tag; known: {sorted(TAGS)}"
        )


class RuleTargeting:
    """Contact everyone matching a tag rule with one offer through one channel."""

    def __init__(
        self,
        rule: str,
        offer: str = "bill_credit",
        channel: str = "call",
        order_by: str = "arpu",
        max_per_month: int | None = None,
        name: str = "rule",
    ) -> None:
        self.name = name
        self.rule_text = rule
        self._rule = compile_rule(rule, key=f"strategies.{name}.rule")
        self.offer, self.channel = offer, channel
        self.order_by, self.max_per_month = order_by, max_per_month
        _check_order_by(order_by, name)
        self.uses_calls = channel == "call"

    def __getstate__(self) -> dict:  # the compiled rule is a closure: rebuild after pickling
        state = dict(self.__dict__)
        state.pop("_rule")
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._rule = compile_rule(self.rule_text, key=f"strategies.{self.name}.rule")

    def validate(self, config: SimConfig) -> None:
        """Check the offer and channel against a scenario before any month runs."""
        _check_names(config, self.offer, self.channel, self.name)

    def plan(self, view: MonthView, rng: np.random.Generator) -> ContactPlan:
        _check_names(view.config, self.offer, self.channel, self.name)
        idx = _cap(view, _ordered(view, self._rule(view), self.order_by), self.channel, self.max_per_month)
        return ContactPlan.build(view.config, idx, self.offer, self.channel)


#: Placeholder weights of the observable churn score (logit scale), to be refit on data.
DEFAULT_SCORE_WEIGHTS: dict[str, float] = {
    "intercept": -3.5,
    "voice_drop": 3.0,
    "data_drop": 3.0,
    "in_contract": -1.5,
    "in_arrears": 2.0,
    "handset_change": 0.7,
    "early_tenure": 1.0,
}


def churn_score(view: MonthView, weights: Mapping[str, float]) -> np.ndarray:
    """Score 0..1000 (the sources' "IF score > 500") from observable tags only."""
    w = {**DEFAULT_SCORE_WEIGHTS, **weights}
    logit = (
        w["intercept"]
        + w["voice_drop"] * np.clip(view.voice_drop, 0, 1)
        + w["data_drop"] * np.clip(view.data_drop, 0, 1)
        + w["in_contract"] * view.in_contract
        + w["in_arrears"] * view.in_arrears
        + w["handset_change"] * view.handset_change
        + w["early_tenure"] * np.exp(-view.tenure / 12.0)
    )
    return 1000.0 / (1.0 + np.exp(-logit))


@dataclass
class ScoreThreshold:
    """Contact customers whose churn score exceeds a threshold, highest expected loss first."""

    threshold: float = 500.0
    offer: str = "bill_credit"
    channel: str = "call"
    weights: dict[str, float] = field(default_factory=dict)
    max_per_month: int | None = None
    name: str = "score"

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 1000:
            raise SimulationConfigError(
                f"strategies.{self.name}.threshold", f"(={self.threshold}) must be in [0, 1000]"
            )
        unknown = set(self.weights) - set(DEFAULT_SCORE_WEIGHTS)
        if unknown:
            raise SimulationConfigError(
                f"strategies.{self.name}.weights",
                f"unknown weight(s) {sorted(unknown)}; known: {sorted(DEFAULT_SCORE_WEIGHTS)}",
            )

    @property
    def uses_calls(self) -> bool:
        return self.channel == "call"

    def validate(self, config: SimConfig) -> None:
        _check_names(config, self.offer, self.channel, self.name)

    def plan(self, view: MonthView, rng: np.random.Generator) -> ContactPlan:
        _check_names(view.config, self.offer, self.channel, self.name)
        score = churn_score(view, self.weights)
        idx = np.flatnonzero((score > self.threshold) & view.eligible)
        # Expected loss = score x ARPU: value policy and risk together.
        idx = idx[np.argsort(-(score[idx] * view.arpu[idx]), kind="stable")]
        idx = _cap(view, idx, self.channel, self.max_per_month)
        return ContactPlan.build(view.config, idx, self.offer, self.channel)


#: Key moments: name -> function of the view giving the mask of customers at that moment.
KEY_MOMENTS = {
    "contract_expiring": lambda v, k: v.in_contract & (v.contract_months_left <= k),
    "handset_change": lambda v, k: v.handset_change,
    "usage_drop": lambda v, k: v.usage_drop,
    "double_drop": lambda v, k: v.double_drop,
    "secondary_card": lambda v, k: v.secondary_card,
    "arrears": lambda v, k: v.in_arrears,
}


class KeyMomentTriggers:
    """Event-triggered marketing: each trigger maps a key moment to an offer and channel.

    ``triggers`` is a list of mappings ``{moment, offer, channel, months_ahead}``; earlier
    triggers take precedence for a customer caught by several.
    """

    def __init__(
        self,
        triggers: list[Mapping[str, object]],
        order_by: str = "arpu",
        name: str = "key_moments",
    ) -> None:
        if not triggers:
            raise SimulationConfigError(f"strategies.{name}.triggers", "at least one is needed")
        self.name = name
        self.order_by = order_by
        _check_order_by(order_by, name)
        self.triggers = []
        for i, t in enumerate(triggers):
            moment = t.get("moment")
            if moment not in KEY_MOMENTS:
                raise SimulationConfigError(
                    f"strategies.{name}.triggers[{i}].moment",
                    f"(={moment!r}) is unknown; known: {sorted(KEY_MOMENTS)}",
                )
            extra = set(t) - {"moment", "offer", "channel", "months_ahead"}
            if extra:
                raise SimulationConfigError(f"strategies.{name}.triggers[{i}]", f"unknown key(s) {sorted(extra)}")
            self.triggers.append(
                (
                    str(moment),
                    str(t.get("offer", "bill_credit")),
                    str(t.get("channel", "call")),
                    int(t.get("months_ahead", 2)),
                )
            )
        self.uses_calls = any(ch == "call" for _, _, ch, _ in self.triggers)

    def validate(self, config: SimConfig) -> None:
        for _, offer, channel, _ in self.triggers:
            _check_names(config, offer, channel, self.name)

    def plan(self, view: MonthView, rng: np.random.Generator) -> ContactPlan:
        taken = np.zeros(view.slots, bool)
        parts: list[tuple[np.ndarray, str, str]] = []
        calls = 0
        for moment, offer, channel, ahead in self.triggers:
            _check_names(view.config, offer, channel, self.name)
            mask = KEY_MOMENTS[moment](view, ahead) & ~taken
            idx = _ordered(view, mask, self.order_by)
            if channel == "call":
                idx = idx[: max(view.call_capacity - calls, 0)]
                calls += idx.size
            taken[idx] = True
            parts.append((idx, offer, channel))
        cust = np.concatenate([p[0] for p in parts])
        # Names as numpy strings, not objects: filled and compared to the configured names in C.
        offers = np.concatenate([np.full(p[0].size, p[1]) for p in parts])
        chans = np.concatenate([np.full(p[0].size, p[2]) for p in parts])
        return ContactPlan.build(view.config, cust, offers, chans)
