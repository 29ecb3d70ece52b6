"""Scenario settings as frozen dataclasses, built from plain mappings and checked once.

Why one generic builder: every setting has a rule (probability, non-negative rate,
positive integer ...) recorded in its field metadata, so a scenario file is validated by one
walk that names the dotted key, the value and the rule in any error. Unknown keys are errors
too (a typo such as ``custmers`` must not silently fall back to a default).

Defaults are the domain figures (../shared/domain.md) where a source gives one: the 10088
connect rate 64.9% and acceptance 51.5%, the called customers' ARPU +1.84%, MOU -4.62%,
data +29.6%, the 208-seat call centre, suspension after 1 month of arrears and cancellation
after 3, maturity after 6 months; and the field experiment in which contacted growth-stage
customers churned at 10.0% against 6.4% (a fatigue multiplier of 10.0/6.4 = 1.5625).
Other numbers are plausible placeholders, marked as such, to be replaced by a calibration.
"""

# ruff: noqa: RUF009  (``_rule`` returns a dataclasses.field: the call *is* the field spec)

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from .errors import SimulationConfigError
from .stages import STAGE_NAMES, TIER_NAMES

__all__ = [
    "ArrearsConfig",
    "CallCentreConfig",
    "ChannelConfig",
    "FatigueConfig",
    "LifecycleConfig",
    "OfferConfig",
    "PopulationConfig",
    "SimConfig",
    "UsageConfig",
    "build_config",
    "load_scenario_file",
]

ACTIVE_STAGES = STAGE_NAMES  # the four live stages; exit is not configurable
PRE_DECLINE = STAGE_NAMES[:3]


def _rule(
    rule: str,
    default: Any = dataclasses.MISSING,
    keys: tuple[str, ...] | None = None,
    factory: Any = dataclasses.MISSING,
) -> Any:
    meta = {"rule": rule, "keys": keys}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def _stage_map(acq: float, gro: float, mat: float, dec: float) -> Any:
    return lambda: {"acquisition": acq, "growth": gro, "maturity": mat, "decline": dec}


def _tier_map(*values: float) -> Any:
    return lambda: dict(zip(TIER_NAMES, values, strict=True))


@dataclass(frozen=True)
class PopulationConfig:
    """The starting base and the gross adds; baseline usage per value tier."""

    customers: int = _rule("posint", 100_000)
    gross_adds_per_month: float = _rule("rate", 0.0)
    tier_mix: dict[str, float] = _rule("prob", keys=TIER_NAMES, factory=_tier_map(0.05, 0.15, 0.30, 0.25, 0.25))
    initial_stage_mix: dict[str, float] = _rule("prob", keys=STAGE_NAMES, factory=_stage_map(0.03, 0.12, 0.75, 0.10))
    max_initial_tenure_months: int = _rule("posint", 120)
    contract_share: float = _rule("prob", 0.30)
    contract_max_months: int = _rule("posint", 24)
    # Premium ARPU/MOU/data are the called customers' figures (217 yuan, 1472 min, 152 MB);
    # the other tiers are placeholders chosen so the base mean ARPU is near the sources' 59.4.
    arpu_mean: dict[str, float] = _rule("rate", keys=TIER_NAMES, factory=_tier_map(217.0, 100.0, 60.0, 45.0, 25.0))
    mou_mean: dict[str, float] = _rule("rate", keys=TIER_NAMES, factory=_tier_map(1472.0, 600.0, 251.0, 150.0, 100.0))
    data_mean_mb: dict[str, float] = _rule("rate", keys=TIER_NAMES, factory=_tier_map(152.0, 120.0, 90.0, 80.0, 40.0))
    usage_dispersion: float = _rule("rate", 0.4)


@dataclass(frozen=True)
class LifecycleConfig:
    """Monthly transition probabilities and the multipliers that make them depend on state.

    Base probabilities are placeholders (a mature customer churns about 1% a month);
    ``maturity_tenure_months`` is the sources' 6 months. Setting it to ``None`` replaces the
    tenure rule by the constant ``growth_to_maturity`` hazard, which (with the multipliers
    neutral) turns the lifecycle into a Markov chain that the tests check against theory.
    """

    exit_hazard: dict[str, float] = _rule("prob", keys=STAGE_NAMES, factory=_stage_map(0.02, 0.025, 0.008, 0.06))
    decline_hazard: dict[str, float] = _rule(
        "prob",
        keys=PRE_DECLINE,
        factory=lambda: {"acquisition": 0.01, "growth": 0.02, "maturity": 0.012},
    )
    acquisition_to_growth: float = _rule("prob", 1.0)
    growth_to_maturity: float = _rule("prob", 0.2)
    maturity_tenure_months: int | None = _rule("posint_or_none", 6)
    recovery_hazard: float = _rule("prob", 0.05)
    reentry_share: dict[str, float] = _rule("prob", keys=STAGE_NAMES, factory=_stage_map(0.05, 0.10, 0.15, 0.10))
    tier_exit_multiplier: dict[str, float] = _rule("rate", keys=TIER_NAMES, factory=_tier_map(0.6, 0.8, 1.0, 1.2, 2.0))
    tier_decline_multiplier: dict[str, float] = _rule(
        "rate", keys=TIER_NAMES, factory=_tier_map(0.8, 0.9, 1.0, 1.1, 1.5)
    )
    # Early-tenure boost: multiplier 1 + boost * exp(-tenure / scale).
    tenure_boost: float = _rule("rate", 0.5)
    tenure_scale_months: float = _rule("pos", 12.0)
    contract_lock_in_multiplier: float = _rule("rate", 0.3)
    # "Churn rises steeply after decline starts": multiplier escalation ** months in decline.
    decline_escalation: float = _rule("rate", 1.15)
    decline_escalation_cap: float = _rule("rate", 3.0)


@dataclass(frozen=True)
class ArrearsConfig:
    """Arrears -> suspension after 1 month -> cancellation after 3 months unless cured."""

    monthly_prob: dict[str, float] = _rule("prob", keys=STAGE_NAMES, factory=_stage_map(0.01, 0.01, 0.004, 0.03))
    cure_prob: float = _rule("prob", 0.5)
    winback_cure_prob: float = _rule("prob", 0.8)
    suspend_after_months: int = _rule("posint", 1)
    cancel_after_months: int = _rule("posint", 3)
    reentry_share: float = _rule("prob", 0.5)


@dataclass(frozen=True)
class UsageConfig:
    """Monthly usage, how decline shows in it, and what the operator can observe."""

    decline_rate: float = _rule("prob", 0.85)
    usage_floor: float = _rule("prob", 0.2)
    double_drop_share: float = _rule("prob", 0.6)
    noise_sigma: float = _rule("rate", 0.1)
    report_lag_months: int = _rule("nonnegint", 1)
    drop_threshold: float = _rule("prob", 0.25)
    handset_change_prob: float = _rule("prob", 0.03)
    voice_share_of_arpu: float = _rule("prob", 0.5)


@dataclass(frozen=True)
class FatigueConfig:
    """Over-contact raises churn; in the growth stage every contact counts (10.0% vs 6.4%)."""

    window_months: int = _rule("posint", 3)
    free_contacts: int = _rule("nonnegint", 1)
    per_excess_contact: float = _rule("rate", 0.2)
    growth_per_contact: float = _rule("rate", 0.5625)
    max_contacts_per_window: int = _rule("posint", 2)
    # Contacts one customer may get in one month: 1 for the month-by-month strategies; a
    # replayed plan allows what its contact policy allowed (two offers in one wave).
    max_contacts_per_month: int = _rule("posint", 1)


@dataclass(frozen=True)
class CallCentreConfig:
    """The outbound call centre (10088): seats, shifts, handle times, connect rate, queue."""

    seats: int = _rule("nonnegint", 208)
    hours_per_day: float = _rule("pos", 8.0)
    days_per_month: int = _rule("posint", 22)
    handle_time_s: float = _rule("pos", 240.0)
    no_answer_time_s: float = _rule("pos", 30.0)
    connect_rate: float = _rule("prob", 0.649)
    cost_per_attempt: float = _rule("rate", 0.5)
    cost_per_connected: float = _rule("rate", 3.0)
    inbound_calls_per_hour: float = _rule("rate", 0.0)
    inbound_handle_time_s: float = _rule("pos", 240.0)
    service_level_seconds: float = _rule("rate", 15.0)
    # Mean patience of hotline callers (exponential), after which a waiting caller hangs up;
    # None: nobody hangs up, the queue stays Erlang C.
    patience_s: float | None = _rule("pos_or_none", None)
    # Dial-list calls a day's shift cannot place: "carry" them to the next day (what is left
    # at month end is not called) or "drop" them (the list is split evenly over the days).
    unplaced_calls: str = _rule("choice", "carry", keys=("carry", "drop"))


@dataclass(frozen=True)
class ChannelConfig:
    """A channel without seats: cost per contact, reach, and a response multiplier."""

    cost_per_contact: float = _rule("rate", 0.05)
    reach: float = _rule("prob", 1.0)
    response_multiplier: float = _rule("rate", 1.0)
    visit_prob: float = _rule("prob", 0.0)


def _default_channels() -> dict[str, ChannelConfig]:
    # Placeholder costs and responses: SMS is cheap and weak, the app reaches few, a store
    # visit is costly per contact but converts best (store visits arrive at random).
    return {
        "sms": ChannelConfig(cost_per_contact=0.05, reach=0.9, response_multiplier=0.15),
        "app": ChannelConfig(cost_per_contact=0.01, reach=0.3, response_multiplier=0.3),
        "store": ChannelConfig(cost_per_contact=5.0, reach=1.0, response_multiplier=1.2, visit_prob=0.05),
    }


@dataclass(frozen=True)
class OfferConfig:
    """A retention offer: cost, term, acceptance when connected by call, and its effects."""

    cost: float = _rule("rate", 30.0)
    term_months: int = _rule("posint", 12)
    accept_prob: float = _rule("prob", 0.515)
    churn_multiplier: float = _rule("rate", 0.6)
    recovery_prob: float = _rule("prob", 0.5)
    arpu_shift: float = _rule("finite", 0.0184)
    mou_shift: float = _rule("finite", -0.0462)
    data_shift: float = _rule("finite", 0.296)
    contract: bool = _rule("bool", True)
    # Yuan added to the bill while the offer runs (the value model's uplift, optimizer.value_model).
    arpu_uplift: float = _rule("finite", 0.0)


def _default_offers() -> dict[str, OfferConfig]:
    return {
        "bill_credit": OfferConfig(),
        "data_pack": OfferConfig(
            cost=10.0,
            term_months=6,
            accept_prob=0.35,
            churn_multiplier=0.8,
            recovery_prob=0.3,
            arpu_shift=0.03,
            mou_shift=0.0,
            data_shift=0.296,
            contract=False,
        ),
    }


@dataclass(frozen=True)
class SimConfig:
    """Everything one replication needs, apart from the strategy and the seed."""

    name: str = "default"
    horizon_months: int = _rule("posint", 36)
    budget_per_month: float = _rule("rate", 200_000.0)
    # "realised": stop contacting when the month's spend would overrun the budget;
    # "reserve": reserve each contact's worst-case cost (see simulation.contacts).
    budget_rule: str = _rule("choice", "realised", keys=("realised", "reserve"))
    monthly_discount_rate: float = _rule("rate", 0.01)
    # Share of the bill that is margin: value figures (margin_value, residual_value) are
    # margin, as the optimizer's option values are; revenue stays the whole bill.
    margin: float = _rule("prob", 1.0)
    # Months after the horizon whose expected margin counts for customers alive at the end
    # (residual value, by optimizer.value_model.expected_margin); 0 counts none.
    residual_months: int = _rule("nonnegint", 0)
    mid_high_tiers: tuple[str, ...] = ("premium", "loyal", "potential")
    population: PopulationConfig = field(default_factory=PopulationConfig)
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)
    arrears: ArrearsConfig = field(default_factory=ArrearsConfig)
    usage: UsageConfig = field(default_factory=UsageConfig)
    fatigue: FatigueConfig = field(default_factory=FatigueConfig)
    call_centre: CallCentreConfig = field(default_factory=CallCentreConfig)
    channels: dict[str, ChannelConfig] = field(default_factory=_default_channels)
    offers: dict[str, OfferConfig] = field(default_factory=_default_offers)

    def replace(self, **changes: Any) -> SimConfig:
        """A copy with top-level changes, re-validated (dataclasses.replace plus checks)."""
        return build_config(_as_mapping(dataclasses.replace(self, **changes)))


# --------------------------------------------------------------------------- validation


def _check_value(key: str, rule: str, value: Any) -> Any:
    if rule == "bool":
        if not isinstance(value, bool):
            raise SimulationConfigError(key, f"(={value!r}) must be true or false")
        return value
    if rule in ("posint", "nonnegint", "posint_or_none"):
        if value is None and rule == "posint_or_none":
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (isinstance(value, float) and not value.is_integer())
        ):
            raise SimulationConfigError(key, f"(={value!r}) must be an integer")
        value = int(value)
        if rule == "nonnegint" and value < 0:
            raise SimulationConfigError(key, f"(={value}) must be >= 0")
        if rule != "nonnegint" and value <= 0:
            raise SimulationConfigError(key, f"(={value}) must be > 0")
        return value
    if value is None and rule == "pos_or_none":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SimulationConfigError(key, f"(={value!r}) must be a number")
    value = float(value)
    if not math.isfinite(value):
        raise SimulationConfigError(key, f"(={value}) must be finite")
    if rule == "prob" and not 0.0 <= value <= 1.0:
        raise SimulationConfigError(key, f"(={value}) must be a probability in [0, 1]")
    if rule == "rate" and value < 0.0:
        raise SimulationConfigError(key, f"(={value}) must be >= 0")
    if rule in ("pos", "pos_or_none") and value <= 0.0:
        raise SimulationConfigError(key, f"(={value}) must be > 0")
    return value


def _build(cls: type, data: Any, path: str) -> Any:
    if isinstance(data, cls):
        data = _as_mapping(data)
    if not isinstance(data, Mapping):
        raise SimulationConfigError(path or "scenario", f"(={data!r}) must be a mapping")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            known = ", ".join(sorted(fields))
            hint = difflib.get_close_matches(str(key), list(fields), n=1)
            did = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise SimulationConfigError(_join(path, str(key)), f"unknown key{did}; known keys: {known}")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data:
            continue
        key = _join(path, name)
        value = data[name]
        hint = hints[name]
        rule = f.metadata.get("rule")
        origin = typing.get_origin(hint)
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, value, key)
        elif origin is dict and rule is None:  # dict of nested configs (channels, offers)
            item_cls = typing.get_args(hint)[1]
            if not isinstance(value, Mapping):
                raise SimulationConfigError(key, f"(={value!r}) must be a mapping")
            kwargs[name] = {str(k): _build(item_cls, v, _join(key, str(k))) for k, v in value.items()}
        elif origin is dict:
            allowed = f.metadata.get("keys")
            if not isinstance(value, Mapping):
                raise SimulationConfigError(key, f"(={value!r}) must be a mapping")
            default = f.default_factory()  # type: ignore[misc]
            merged = dict(default)
            for k, v in value.items():
                if allowed is not None and k not in allowed:
                    raise SimulationConfigError(_join(key, str(k)), f"unknown key; expected one of {list(allowed)}")
                merged[k] = _check_value(_join(key, str(k)), rule, v)
            kwargs[name] = merged
        elif rule == "choice":
            allowed = f.metadata.get("keys") or ()
            if value not in allowed:
                raise SimulationConfigError(key, f"(={value!r}) must be one of {list(allowed)}")
            kwargs[name] = value
        elif rule is not None:
            kwargs[name] = _check_value(key, rule, value)
        elif origin is tuple or hint is tuple or (isinstance(hint, types.GenericAlias) and origin is tuple):
            if isinstance(value, str) or not isinstance(value, (list, tuple)):
                raise SimulationConfigError(key, f"(={value!r}) must be a list")
            kwargs[name] = tuple(str(v) for v in value)
        else:
            kwargs[name] = str(value)
    return cls(**kwargs)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _as_mapping(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _as_mapping(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: _as_mapping(v) for k, v in obj.items()}
    return obj


def _cross_checks(cfg: SimConfig) -> None:
    for mix_key in ("tier_mix", "initial_stage_mix"):
        mix = getattr(cfg.population, mix_key)
        total = sum(mix.values())
        if abs(total - 1.0) > 1e-6:
            raise SimulationConfigError(f"population.{mix_key}", f"(sum={total:g}) must sum to 1")
    for tier in cfg.mid_high_tiers:
        if tier not in TIER_NAMES:
            raise SimulationConfigError("mid_high_tiers", f"(={tier!r}) is not a value tier; expected {TIER_NAMES}")
    ar = cfg.arrears
    if ar.suspend_after_months > ar.cancel_after_months:
        raise SimulationConfigError(
            "arrears.suspend_after_months",
            f"(={ar.suspend_after_months}) must be <= cancel_after_months (={ar.cancel_after_months})",
        )
    for stage in STAGE_NAMES:
        total = cfg.lifecycle.exit_hazard[stage] + cfg.lifecycle.decline_hazard.get(stage, 0.0)
        if total > 1.0:
            raise SimulationConfigError(
                f"lifecycle.exit_hazard.{stage}", f"exit + decline hazard (={total:g}) must be <= 1"
            )
    for name in cfg.channels:
        if name == "call":
            raise SimulationConfigError("channels.call", "the call channel is configured under call_centre")


def build_config(data: Mapping[str, Any] | SimConfig | None = None) -> SimConfig:
    """Build and validate a :class:`SimConfig` from a (possibly partial) nested mapping."""
    cfg = _build(SimConfig, data or {}, "")
    # Channels/offers given in the file replace the defaults entirely; none is an error.
    if not cfg.offers:
        raise SimulationConfigError("offers", "at least one offer is needed")
    _cross_checks(cfg)
    return cfg


def load_scenario_file(path: str | Path) -> dict[str, Any]:
    """Read a scenario YAML file into a mapping (validation happens in :func:`build_config`)."""
    from optimizer.errors import InputError
    from optimizer.scenario_file import read_yaml  # bounded: depth, size and alias expansion

    p = Path(path)
    try:
        data = read_yaml(p)
    except OSError as exc:
        raise SimulationConfigError("scenario", f"cannot read {str(p)!r}: {exc.strerror}") from exc
    except InputError as exc:
        raise SimulationConfigError("scenario", exc.rule + (f" (line {exc.line})" if exc.line else "")) from None
    if not isinstance(data, dict):
        raise SimulationConfigError("scenario", f"{str(p)!r} must hold a mapping at top level")
    return data
