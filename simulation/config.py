"""Scenario settings as strict, frozen pydantic models, built from plain mappings and checked once.

Every setting's type is its rule (probability, non-negative rate, positive integer ...:
:mod:`simulation.config_rules`), and the sections are the optimizer's strict models, so a
scenario file is validated like an optimizer scenario: an error names the dotted key, the
value and the rule, and unknown keys are errors too (a typo such as ``custmers`` must not
silently fall back to a default).

Defaults are published figures where a source gives one. From the operator's published
figures on its 10088 outbound retention programme (Xinjiang, August 2013 to January 2014):
the connect rate 64.9% and acceptance 51.5%, the called customers' ARPU +1.84%, MOU -4.62%,
data +29.6%, the 208-seat call centre, suspension after 1 month of arrears and cancellation
after 3, maturity after 6 months. From the field experiment of Ascarza, Iyengar and
Schleicher (Journal of Marketing Research 53(1), 2016), in which contacted growth-stage
customers churned at 10.0% against 6.4%: a fatigue multiplier of 10.0/6.4 = 1.5625.
Other numbers are plausible placeholders, marked as such, to be replaced by a calibration.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, PlainValidator, ValidationError, model_validator

from optimizer.errors import quote

from .config_rules import (
    PARTIAL,
    Broken,
    Count,
    Finite,
    Flag,
    Positive,
    PositiveInt,
    PositiveIntOrNone,
    PositiveOrNone,
    Probability,
    Rate,
    Section,
    Text,
    config_error,
    key_in,
    one_of,
)
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

# Per-stage and per-tier maps: keys are stage or tier names; a map given in part keeps the
# defaults of the names it leaves out.
StageProbabilities = Annotated[dict[Annotated[str, key_in(STAGE_NAMES)], Probability], PARTIAL]
PreDeclineProbabilities = Annotated[dict[Annotated[str, key_in(PRE_DECLINE)], Probability], PARTIAL]
TierProbabilities = Annotated[dict[Annotated[str, key_in(TIER_NAMES)], Probability], PARTIAL]
TierRates = Annotated[dict[Annotated[str, key_in(TIER_NAMES)], Rate], PARTIAL]


def _stage_map(acq: float, gro: float, mat: float, dec: float) -> Any:
    return Field(default_factory=lambda: {"acquisition": acq, "growth": gro, "maturity": mat, "decline": dec})


def _tier_map(*values: float) -> Any:
    return Field(default_factory=lambda: dict(zip(TIER_NAMES, values, strict=True)))


class PopulationConfig(Section):
    """The starting base and the gross adds; baseline usage per value tier."""

    customers: PositiveInt = 100_000
    gross_adds_per_month: Rate = 0.0
    tier_mix: TierProbabilities = _tier_map(0.05, 0.15, 0.30, 0.25, 0.25)
    initial_stage_mix: StageProbabilities = _stage_map(0.03, 0.12, 0.75, 0.10)
    max_initial_tenure_months: PositiveInt = 120
    contract_share: Probability = 0.30
    contract_max_months: PositiveInt = 24
    # Premium ARPU/MOU/data are the called customers' figures (217 yuan, 1472 min, 152 MB);
    # the other tiers are placeholders chosen so the base mean ARPU is near the sources' 59.4.
    arpu_mean: TierRates = _tier_map(217.0, 100.0, 60.0, 45.0, 25.0)
    mou_mean: TierRates = _tier_map(1472.0, 600.0, 251.0, 150.0, 100.0)
    data_mean_mb: TierRates = _tier_map(152.0, 120.0, 90.0, 80.0, 40.0)
    usage_dispersion: Rate = 0.4

    @model_validator(mode="after")
    def _mixes_sum_to_one(self) -> PopulationConfig:
        for mix_key in ("tier_mix", "initial_stage_mix"):
            total = sum(getattr(self, mix_key).values())
            if abs(total - 1.0) > 1e-6:
                raise Broken(f"(sum={total:g}) must sum to 1", key=mix_key)
        return self


class LifecycleConfig(Section):
    """Monthly transition probabilities and the multipliers that make them depend on state.

    Base probabilities are placeholders (a mature customer churns about 1% a month);
    ``maturity_tenure_months`` is the sources' 6 months. Setting it to ``None`` replaces the
    tenure rule by the constant ``growth_to_maturity`` hazard, which (with the multipliers
    neutral) turns the lifecycle into a Markov chain that the tests check against theory.
    """

    exit_hazard: StageProbabilities = _stage_map(0.02, 0.025, 0.008, 0.06)
    decline_hazard: PreDeclineProbabilities = Field(
        default_factory=lambda: {"acquisition": 0.01, "growth": 0.02, "maturity": 0.012}
    )
    acquisition_to_growth: Probability = 1.0
    growth_to_maturity: Probability = 0.2
    maturity_tenure_months: PositiveIntOrNone = 6
    recovery_hazard: Probability = 0.05
    reentry_share: StageProbabilities = _stage_map(0.05, 0.10, 0.15, 0.10)
    tier_exit_multiplier: TierRates = _tier_map(0.6, 0.8, 1.0, 1.2, 2.0)
    tier_decline_multiplier: TierRates = _tier_map(0.8, 0.9, 1.0, 1.1, 1.5)
    # Early-tenure boost: multiplier 1 + boost * exp(-tenure / scale).
    tenure_boost: Rate = 0.5
    tenure_scale_months: Positive = 12.0
    contract_lock_in_multiplier: Rate = 0.3
    # "Churn rises steeply after decline starts": multiplier escalation ** months in decline.
    decline_escalation: Rate = 1.15
    decline_escalation_cap: Rate = 3.0

    @model_validator(mode="after")
    def _one_transition_a_month(self) -> LifecycleConfig:
        for stage in STAGE_NAMES:
            total = self.exit_hazard[stage] + self.decline_hazard.get(stage, 0.0)
            if total > 1.0:
                raise Broken(f"exit + decline hazard (={total:g}) must be <= 1", key=f"exit_hazard.{stage}")
        return self


class ArrearsConfig(Section):
    """Arrears -> suspension after 1 month -> cancellation after 3 months unless cured."""

    monthly_prob: StageProbabilities = _stage_map(0.01, 0.01, 0.004, 0.03)
    cure_prob: Probability = 0.5
    winback_cure_prob: Probability = 0.8
    suspend_after_months: PositiveInt = 1
    cancel_after_months: PositiveInt = 3
    reentry_share: Probability = 0.5

    @model_validator(mode="after")
    def _suspended_before_cancelled(self) -> ArrearsConfig:
        if self.suspend_after_months > self.cancel_after_months:
            raise Broken(
                f"(={self.suspend_after_months}) must be <= cancel_after_months (={self.cancel_after_months})",
                key="suspend_after_months",
            )
        return self


class UsageConfig(Section):
    """Monthly usage, how decline shows in it, and what the operator can observe."""

    decline_rate: Probability = 0.85
    usage_floor: Probability = 0.2
    double_drop_share: Probability = 0.6
    noise_sigma: Rate = 0.1
    report_lag_months: Count = 1
    drop_threshold: Probability = 0.25
    handset_change_prob: Probability = 0.03
    voice_share_of_arpu: Probability = 0.5


class FatigueConfig(Section):
    """Over-contact raises churn; in the growth stage every contact counts (10.0% vs 6.4%)."""

    window_months: PositiveInt = 3
    free_contacts: Count = 1
    per_excess_contact: Rate = 0.2
    growth_per_contact: Rate = 0.5625
    max_contacts_per_window: PositiveInt = 2
    # Contacts one customer may get in one month: 1 for the month-by-month strategies; a
    # replayed plan allows what its contact policy allowed (two offers in one wave).
    max_contacts_per_month: PositiveInt = 1


class CallCentreConfig(Section):
    """The outbound call centre (10088): seats, shifts, handle times, connect rate, queue."""

    seats: Count = 208
    hours_per_day: Positive = 8.0
    days_per_month: PositiveInt = 22
    handle_time_s: Positive = 240.0
    no_answer_time_s: Positive = 30.0
    connect_rate: Probability = 0.649
    cost_per_attempt: Rate = 0.5
    cost_per_connected: Rate = 3.0
    inbound_calls_per_hour: Rate = 0.0
    inbound_handle_time_s: Positive = 240.0
    service_level_seconds: Rate = 15.0
    # Mean patience of hotline callers (exponential), after which a waiting caller hangs up;
    # None: nobody hangs up, the queue stays Erlang C.
    patience_s: PositiveOrNone = None
    # Dial-list calls a day's shift cannot place: "carry" them to the next day (what is left
    # at month end is not called) or "drop" them (the list is split evenly over the days).
    unplaced_calls: Annotated[str, one_of("carry", "drop")] = "carry"
    # How a month of calls is run: "fast", the compiled replay of the SimPy model's events
    # (simulation.callcentre_fast, the same answers), or "events", the SimPy processes
    # themselves (calibration runs, and the reference the fast engine is tested against).
    engine: Annotated[str, one_of("fast", "events")] = "fast"


class ChannelConfig(Section):
    """A channel without seats: cost per contact, reach, and a response multiplier."""

    cost_per_contact: Rate = 0.05
    reach: Probability = 1.0
    response_multiplier: Rate = 1.0
    visit_prob: Probability = 0.0


def _default_channels() -> dict[str, ChannelConfig]:
    # Placeholder costs and responses: SMS is cheap and weak, the app reaches few, a store
    # visit is costly per contact but converts best (store visits arrive at random).
    return {
        "sms": ChannelConfig(cost_per_contact=0.05, reach=0.9, response_multiplier=0.15),
        "app": ChannelConfig(cost_per_contact=0.01, reach=0.3, response_multiplier=0.3),
        "store": ChannelConfig(cost_per_contact=5.0, reach=1.0, response_multiplier=1.2, visit_prob=0.05),
    }


class OfferConfig(Section):
    """A retention offer: cost, term, acceptance when connected by call, and its effects."""

    cost: Rate = 30.0
    term_months: PositiveInt = 12
    accept_prob: Probability = 0.515
    churn_multiplier: Rate = 0.6
    recovery_prob: Probability = 0.5
    arpu_shift: Finite = 0.0184
    mou_shift: Finite = -0.0462
    data_shift: Finite = 0.296
    contract: Flag = True
    # Yuan added to the bill while the offer runs (the value model's uplift, optimizer.value_model).
    arpu_uplift: Finite = 0.0


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


def _value_tiers(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise Broken(f"(={quote(value)}) must be a list")
    tiers = tuple(str(v) for v in value)
    for tier in tiers:
        if tier not in TIER_NAMES:
            raise Broken(f"(={tier!r}) is not a value tier; expected {TIER_NAMES}")
    return tiers


class SimConfig(Section):
    """Everything one replication needs, apart from the strategy and the seed."""

    name: Text = "default"
    horizon_months: PositiveInt = 36
    budget_per_month: Rate = 200_000.0
    # "realised": stop contacting when the month's spend would overrun the budget;
    # "reserve": reserve each contact's worst-case cost (see simulation.contacts).
    budget_rule: Annotated[str, one_of("realised", "reserve")] = "realised"
    monthly_discount_rate: Rate = 0.01
    # Share of the bill that is margin: value figures (margin_value, residual_value) are
    # margin, as the optimizer's option values are; revenue stays the whole bill.
    margin: Probability = 1.0
    # Months after the horizon whose expected margin counts for customers alive at the end
    # (residual value, by optimizer.value_model.expected_margin); 0 counts none.
    residual_months: Count = 0
    mid_high_tiers: Annotated[tuple[str, ...], PlainValidator(_value_tiers)] = ("premium", "loyal", "potential")
    population: PopulationConfig = Field(default_factory=PopulationConfig)
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
    arrears: ArrearsConfig = Field(default_factory=ArrearsConfig)
    usage: UsageConfig = Field(default_factory=UsageConfig)
    fatigue: FatigueConfig = Field(default_factory=FatigueConfig)
    call_centre: CallCentreConfig = Field(default_factory=CallCentreConfig)
    # Channels and offers given in the file replace the defaults entirely.
    channels: dict[str, ChannelConfig] = Field(default_factory=_default_channels)
    offers: dict[str, OfferConfig] = Field(default_factory=_default_offers)

    @model_validator(mode="after")
    def _offers_and_channels(self) -> SimConfig:
        if not self.offers:
            raise Broken("at least one offer is needed", key="offers")
        if "call" in self.channels:
            raise Broken("the call channel is configured under call_centre", key="channels.call")
        return self

    def replace(self, **changes: Any) -> SimConfig:
        """A copy with top-level changes, re-validated (``model_copy`` would not check them)."""
        return build_config({**self.model_dump(), **changes})


def build_config(data: Mapping[str, Any] | SimConfig | None = None) -> SimConfig:
    """Build and validate a :class:`SimConfig` from a (possibly partial) nested mapping.

    A broken rule raises :class:`SimulationConfigError` naming the dotted key, the value and
    the rule (``call_centre.connect_rate: (=1.3) must be a probability in [0, 1]``).
    """
    if isinstance(data, SimConfig):
        data = data.model_dump()
    elif isinstance(data, Mapping):
        data = dict(data)
    try:
        return SimConfig.model_validate({} if data is None else data)
    except ValidationError as exc:
        raise config_error(exc, SimConfig) from None


def load_scenario_file(path: str | Path) -> dict[str, Any]:
    """Read a scenario YAML file into a mapping (validation happens in :func:`build_config`)."""
    from optimizer.errors import InputError
    from optimizer.yaml_reading import read_yaml  # bounded: depth, size and alias expansion

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
