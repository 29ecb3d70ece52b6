"""The scenario: every limit a campaign must respect, as validated plain data.

Validation is strict (an unknown key is an error) because a silently ignored
``capacitty: 100`` is a limit the budget owner believes is there and is not. Reading the
YAML files (with ``extends:``) is :mod:`optimizer.scenario_file`.

``synthetic`` replaces the two tables with the seeded demo generator, so the bundled
default scenario ships as a few lines of data rather than as megabytes of tables.

Numbers are numbers: a YAML ``yes`` is not 1 yuan, ``.inf`` and ``.nan`` are refused, and
every amount or count lies within :data:`MAX_AMOUNT` / :data:`MAX_COUNT`, so that nothing
the solver receives is too large for float64 arithmetic or an int64 count to hold.
"""

from __future__ import annotations

import datetime
import types
import typing
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .errors import did_you_mean, quote
from .rule_language import Expression, RuleError, from_mapping, parse

__all__ = [
    "MAX_AMOUNT",
    "MAX_COUNT",
    "Campaign",
    "Channel",
    "ChannelLimits",
    "ContactPolicy",
    "ContactSequence",
    "ContactWindow",
    "Holdout",
    "Offer",
    "OfferLimits",
    "Rule",
    "Scenario",
    "SimulatedCallCentre",
    "SimulatedHazards",
    "SimulatedOffer",
    "SimulationSettings",
    "SolverSettings",
    "StrictModel",
    "Synthetic",
    "Wave",
]

Scalar = Union[str, int, float, bool]

#: Largest |amount| (yuan, a rule's bound or summed measure) accepted anywhere. HiGHS works in
#: float64 with absolute tolerances near 1e-7 and treats 1e20 as infinite: costs near 1e16
#: made it report a feasible scenario INFEASIBLE. 1e12 yuan is far beyond any campaign.
MAX_AMOUNT = 1e12
#: Largest count (capacity, targets, contacts): beyond it the int64 and float64 arithmetic of
#: the model stops being exact, and no table has that many rows.
MAX_COUNT = 10**12
#: HiGHS and CBC take a 32-bit seed (CBC gets seed + 1).
MAX_SEED = 2**31 - 2


def _is_number_type(annotation: Any) -> bool:
    """True for ``int``/``float`` fields, optional or not, and mappings of them."""
    if annotation in (int, float):
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, dict):
        return any(_is_number_type(a) for a in typing.get_args(annotation))
    return False


class StrictModel(BaseModel):
    """Settings a user writes: an unknown key is an error, values are frozen, numbers are finite
    and a yes/no is not a number. The base of every scenario and simulator settings model."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_as_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads `budget: yes` as 1.0; a yes/no where a number is meant is a mistake
        if info.field_name is not None and _is_number_type(cls.model_fields[info.field_name].annotation):
            values = value.values() if isinstance(value, dict) else [value]
            if any(isinstance(v, bool) for v in values):
                raise ValueError("a number is needed, not a yes/no (true/false)")
        return value


_Strict = StrictModel  # the name the models below were written with


class ChannelLimits(_Strict):
    """What a channel allows over many customers: the part of a channel a campaign can limit too."""

    capacity: int | None = Field(None, ge=0, le=MAX_COUNT, description="most contacts through this channel")


class Channel(ChannelLimits):
    """A contact channel: outbound calls, SMS, app push, store..."""

    max_per_customer: int | None = Field(
        None, ge=0, le=MAX_COUNT, description="contact policy: most contacts per customer through this channel"
    )


class OfferLimits(_Strict):
    """An offer's targets, budget and ROI: the part of an offer a campaign can limit too."""

    max_targets: int | None = Field(None, ge=0, le=MAX_COUNT, description="most customers given this offer")
    min_targets: int | None = Field(None, ge=0, le=MAX_COUNT, description="fewest customers given this offer")
    budget: float | None = Field(None, ge=0, le=MAX_AMOUNT, description="cap on this offer's expected spend")
    min_roi: float | None = Field(None, ge=-1, le=1000, description="this offer's return >= (1+min_roi)*spend")

    @property
    def limited(self) -> bool:
        return any(v is not None for v in (self.max_targets, self.min_targets, self.budget, self.min_roi))


class Offer(OfferLimits):
    """An offer: data pack, bill-credit contract, handset contract..."""

    script: str | None = Field(None, max_length=200, description="what agents present: the script's name or id, carried into the contact lists")


def _none_is_empty(value: Any) -> Any:
    """`sms:` with nothing after it parses as None; it means "no limits on sms"."""
    if isinstance(value, dict):
        return {k: ({} if v is None else v) for k, v in value.items()}
    return value


class Campaign(_Strict):
    """One department's campaign: limits over the options whose ``campaign`` column names it.

    The scenario's own budget and limits still hold over every option, and the contact policy
    (``max_contacts``, windows, sequences) is the customer's, shared by every campaign. A
    channel's ``max_per_customer`` is contact policy, so a campaign limits only capacity.
    """

    budget: float | None = Field(None, ge=0, le=MAX_AMOUNT, description="yuan; this campaign's expected spend <= budget")
    min_roi: float | None = Field(None, ge=-1, le=1000, description="this campaign's return >= (1+min_roi)*its spend")
    channels: dict[str, ChannelLimits] = Field(default_factory=dict)
    offers: dict[str, OfferLimits] = Field(default_factory=dict)

    @field_validator("channels", "offers", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return _none_is_empty(value)


class Rule(_Strict):
    """A generic linear limit over the options that match a filter.

    The measure is ``sum`` of an option column (or ``spend``, ``expected_return``,
    ``net_value``), or a count when ``sum`` is absent. ``max``/``min`` bound the measure;
    ``max_share``/``min_share`` bound it as a share of the same measure over *all* chosen
    options (e.g. "stores take at most 20% of contacts").
    """

    name: str
    where: dict[str, Any] | str = Field(
        default_factory=dict, description="a rule (optimizer.rule_language) or its mapping form; every option when empty",
    )
    sum: str | None = None
    max: float | None = Field(None, ge=-MAX_AMOUNT, le=MAX_AMOUNT)
    min: float | None = Field(None, ge=-MAX_AMOUNT, le=MAX_AMOUNT)
    max_share: float | None = Field(None, ge=0, le=1)
    min_share: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _has_a_bound(self) -> "Rule":
        if all(v is None for v in (self.max, self.min, self.max_share, self.min_share)):
            raise ValueError("a rule needs at least one of max, min, max_share, min_share")
        try:
            self.filter  # noqa: B018 (a syntax error surfaces with the scenario, before any table is read)
        except RuleError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def filter(self) -> Expression:
        """The ``where`` filter as a rule-language tree, whichever form the scenario wrote."""
        return parse(self.where) if isinstance(self.where, str) else from_mapping(self.where)


Outcome = Literal["accepted", "declined", "no_answer"]
#: Longest window or gap: ten years of history is more than any operator keeps for contact rules.
MAX_DAYS = 3650


class ContactWindow(_Strict):
    """At most ``max`` contacts in any ``days`` consecutive days, counting the contact history.

    ``offer`` and ``channel`` narrow what counts. With ``after``, the window is a cool-down:
    a counted contact with that outcome starts ``days`` days in which at most ``max`` further
    counted contacts may follow (``{days: 60, max: 0, offer: handset_contract, after:
    declined}``: no handset offer for 60 days after a customer declined one).
    """

    days: int = Field(ge=1, le=MAX_DAYS, description="length of the window in calendar days")
    max: int = Field(ge=0, le=MAX_COUNT, description="most counted contacts in the window")
    offer: str | None = Field(None, description="count only this offer's contacts")
    channel: str | None = Field(None, description="count only this channel's contacts")
    after: Outcome | None = Field(None, description="a cool-down that a contact with this outcome starts")
    name: str | None = Field(None, max_length=100, description="how reports name it (default: from its keys)")

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        what = " ".join(p for p in (self.offer, self.channel) if p) or "any contact"
        after = f" after {self.after}" if self.after else ""
        return f"window {self.days}d max {self.max} ({what}{after})"


class ContactSequence(_Strict):
    """Never offer ``then`` within ``days`` days after offering ``first`` (the same day included)."""

    first: str
    then: str
    days: int = Field(ge=1, le=MAX_DAYS)

    @property
    def label(self) -> str:
        return f"sequence {self.first} -> {self.then} within {self.days}d"


class ContactPolicy(_Strict):
    """Per-customer contact limits: defaults the customers table does not cover (or leaves
    blank), and rolling windows over the contact history (optimizer.contact_windows)."""

    max_contacts: int = Field(1, ge=0, le=MAX_COUNT)
    min_contacts: int = Field(0, ge=0, le=MAX_COUNT)
    windows: list[ContactWindow] = Field(default_factory=list)
    min_gap_days: int | None = Field(None, ge=1, le=MAX_DAYS, description="days that must separate two contacts of a customer")
    sequences: list[ContactSequence] = Field(default_factory=list)

    @property
    def all_windows(self) -> list[ContactWindow]:
        """The windows with ``min_gap_days`` as the window it is: at most one contact in any ``min_gap_days`` days."""
        gap = [ContactWindow(days=self.min_gap_days, max=1, name=f"min_gap_days {self.min_gap_days}")] if self.min_gap_days else []
        return [*self.windows, *gap]


class Holdout(_Strict):
    """Customers withheld from the plan at random within strata, to measure its effect (optimizer.holdout).

    Give ``share`` (of the eligible customers) or ``min_detectable_effect`` (the drop in the
    churn rate the comparison must detect with ``power``; the smallest share that does is held
    out). ``baseline_rate`` defaults to the mean of a customers column ``p_churn``.
    """

    share: float | None = Field(None, gt=0, le=0.5, description="share of the eligible customers held out")
    stratify: list[str] = Field(default_factory=list, description="customer attribute columns; the share is held out in each combination")
    min_detectable_effect: float | None = Field(None, gt=0, lt=1, description="absolute drop in the churn rate to detect (0.02 = 2 points)")
    power: float = Field(0.8, gt=0, lt=1, description="probability of detecting min_detectable_effect")
    alpha: float = Field(0.05, gt=0, lt=1, description="significance level of the two-sided test")
    baseline_rate: float | None = Field(None, gt=0, lt=1, description="churn rate without contact over the measurement horizon")
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="default: the scenario's seed")

    @model_validator(mode="after")
    def _one_size(self) -> "Holdout":
        if (self.share is None) == (self.min_detectable_effect is None):
            raise ValueError(
                "give exactly one of share (the share of eligible customers held out) or min_detectable_effect "
                "(the drop in the churn rate to detect; the share follows from it)"
            )
        if len(set(self.stratify)) < len(self.stratify):
            raise ValueError("stratify names a column twice")
        # with no effect at all a level-alpha test rejects with probability alpha/2 in each direction
        if self.power <= self.alpha:
            raise ValueError(f"power {self.power:g} must exceed alpha {self.alpha:g}")
        if self.baseline_rate is not None and self.min_detectable_effect is not None and self.min_detectable_effect >= self.baseline_rate:
            raise ValueError("min_detectable_effect must be below baseline_rate: a churn rate cannot fall below 0")
        return self


class Synthetic(_Strict):
    """Generate the operator base and its scored options instead of reading tables."""

    # the in-memory generator needs about 2.5 GB per million customers
    customers: int = Field(20_000, ge=1, le=10_000_000)
    seed: int = Field(7, ge=0, le=MAX_SEED)


class SolverSettings(_Strict):
    name: Literal["highs", "cbc", "ortools"] = "highs"
    time_limit: float | None = Field(None, gt=0, description="seconds")
    # 1e-6 relative is 0.1 yuan on a 100k-yuan plan; proving the last 1e-9 took HiGHS minutes
    # on a 10k-customer base for a difference far below the precision of any p_accept.
    mip_gap: float = Field(1e-6, ge=0, lt=1, description="relative gap at which optimality is proven")
    threads: int = Field(1, ge=1, le=1024)


class SimulatedOffer(_Strict):
    """What accepting an offer does in the value model and the simulator (optimizer.value_model)."""

    churn_multiplier: float = Field(ge=0, le=10, description="exit hazard multiplier while the offer runs")
    term_months: int = Field(ge=0, le=240, description="months the offer runs from the month it is accepted")
    arpu_uplift: float = Field(0.0, ge=-1e6, le=1e6, description="yuan added to the monthly bill while it runs")


class SimulatedCallCentre(_Strict):
    """Call-centre settings of the plan test; an unset key keeps the simulator's default."""

    seats: int | None = Field(None, ge=1, le=100_000, description="default: enough to place every call the call channel allows")
    hours_per_day: float | None = Field(None, gt=0, le=24)
    days_per_month: int | None = Field(None, ge=1, le=30)
    handle_time_s: float | None = Field(None, gt=0, le=86_400)
    no_answer_time_s: float | None = Field(None, gt=0, le=86_400)
    connect_rate: float | None = Field(None, gt=0, le=1)
    patience_s: float | None = Field(None, gt=0, le=86_400)
    inbound_calls_per_hour: float | None = Field(None, ge=0, le=1e6)
    unplaced_calls: Literal["carry", "drop"] | None = None
    engine: Literal["fast", "events"] | None = Field(
        None, description="fast: compiled replay of the call centre's events (default); events: SimPy itself"
    )


class SimulatedHazards(_Strict):
    """The churn snapshot the simulator fits exit hazards from (tenure in months, a churned flag),
    or, with ``column``, a customers column holding each customer's monthly exit hazard as given
    (what ``prepare`` writes when a churn model or score valued the options)."""

    tenure: str = "tenure_months"
    churned: str = "churned"
    by: str | None = None
    column: str | None = Field(None, description="customers column of monthly exit hazards, used as given (no sBG fit)")

    @model_validator(mode="after")
    def _column_or_fit(self) -> "SimulatedHazards":
        if self.column is not None and self.by is not None:
            raise ValueError("'by' groups an sBG fit; with 'column' the hazards are read as given, so drop 'by'")
        return self


class SimulationSettings(_Strict):
    """The ``simulation:`` section: how ``campaignlab simulate`` tests this scenario's plan."""

    horizon_months: int = Field(24, ge=1, le=240)
    replications: int = Field(10, ge=2, le=10_000)
    seed: int | None = Field(None, ge=0)
    effects: Literal["plan", "lifecycle"] | None = None
    margin: float | None = Field(None, gt=0, le=1, description="share of the bill that is margin")
    value_horizon_months: int = Field(24, ge=1, le=240, description="months an option's value counts")
    call_channel: str | None = Field(None, description="the channel that goes through the call centre (default: call)")
    call_centre: SimulatedCallCentre = SimulatedCallCentre()
    fatigue: dict[str, float] = Field(default_factory=dict, description="simulator fatigue settings")
    lifecycle: dict[str, Any] = Field(default_factory=dict, description="simulator lifecycle settings")
    hazards: SimulatedHazards | None = None
    offers: dict[str, SimulatedOffer] = Field(default_factory=dict)
    strategies: list[Literal["do_nothing", "plan", "rule", "score"]] = Field(
        default_factory=lambda: ["do_nothing", "plan", "rule", "score"]
    )
    budget_stop: bool = Field(False, description="stop contacting when realised spend reaches the budget")


class Wave(_Strict):
    """One dated wave of a multi-wave plan; a key it leaves out is the scenario's.

    ``channels`` and ``offers`` override the scenario's limits field by field (``{call:
    {capacity: 300}}`` keeps call's ``max_per_customer``); ``rules`` replaces the list.
    """

    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    date: datetime.date
    budget: float | None = Field(None, ge=0, le=MAX_AMOUNT, description="yuan of expected spend in this wave")
    min_roi: float | None = Field(None, ge=-1, le=1000)
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)
    offers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    rules: list[Rule] | None = None


class Scenario(_Strict):
    """A campaign's inputs and limits. See the README for every key."""

    name: str
    description: str = ""
    options: str | None = None
    customers: str | None = None
    synthetic: Synthetic | None = None
    budget: float | None = Field(None, ge=0, le=MAX_AMOUNT, description="yuan; expected spend <= budget")
    #: ``budget: {amount: A, confidence: c}``: realised spend <= A with probability >= c
    #: (optimizer.chance); a plain ``budget: A`` bounds the expected spend.
    budget_confidence: float | None = Field(None, ge=0.5, lt=1, description="probability that realised spend stays within the budget")
    min_roi: float | None = Field(None, ge=-1, le=1000)
    channels: dict[str, Channel]
    offers: dict[str, Offer]
    rules: list[Rule] = Field(default_factory=list)
    exclusions: list[tuple[str, str]] = Field(default_factory=list)
    do_not_contact: str | list[str] | None = None
    contact_policy: ContactPolicy = ContactPolicy()
    contact_history: str | None = Field(None, description="table of past contacts: customer_id, offer_id, channel_id, date, outcome")
    acceptance_multipliers: str | None = Field(
        None, description="acceptance_multipliers.csv from `campaignlab evaluate`: p_accept x multiplier per offer x channel [x segment]",
    )
    plan_date: datetime.date | None = Field(None, description="the day the plan's contacts are made (default: today)")
    waves: list[Wave] = Field(default_factory=list, description="dated waves planned jointly (optimizer.waves)")
    campaigns: dict[str, Campaign] = Field(
        default_factory=dict, description="limits per value of the options' campaign column; the contact policy is shared",
    )
    holdout: Holdout | None = None
    solver: SolverSettings = SolverSettings()
    seed: int = Field(0, ge=0, le=MAX_SEED)
    simulation: SimulationSettings | None = None
    contact_columns: list[str] | None = Field(
        None, description="customer columns every contact list carries (default: all, on call and store lists only)",
    )
    allow_unused: bool = Field(
        False, description="a template: a listed channel, offer, rule value or do-not-contact id that matches nothing is a warning, not an error"
    )

    @model_validator(mode="before")
    @classmethod
    def _budget_with_confidence(cls, data: Any) -> Any:
        # `budget: {amount, confidence}` is read into two flat fields, so that every what-if
        # that moves the budget (sweeps, the frontier) keeps the confidence it was given
        if not isinstance(data, dict) or not isinstance(data.get("budget"), dict):
            return data
        if "budget_confidence" in data:
            raise ValueError("give the confidence once: inside budget: {amount, confidence}, not also as budget_confidence")
        spec = dict(data["budget"])
        unknown = sorted(set(spec) - {"amount", "confidence"})
        if unknown:
            raise ValueError(f"budget: unknown key {quote(unknown[0])}; a budget is a number or {{amount: yuan, confidence: 0.95}}")
        if "amount" not in spec:
            raise ValueError("budget: {amount, confidence} needs an amount (yuan)")
        return {**data, "budget": spec["amount"], "budget_confidence": spec.get("confidence")}

    @field_validator("channels", "offers", "campaigns", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return _none_is_empty(value)

    @model_validator(mode="after")
    def _consistent(self) -> "Scenario":
        if self.synthetic is not None and (self.options or self.customers):
            raise ValueError("'synthetic' replaces 'options' and 'customers'; give one or the other")
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule names must be unique; {dupes[0]!r} appears twice")
        for a, b in self.exclusions:
            for offer in (a, b):
                if offer not in self.offers:
                    raise ValueError(f"exclusion names offer {offer!r}, which is not under 'offers'")
        for offer_id, offer in self.offers.items():
            if (
                offer.min_targets is not None
                and offer.max_targets is not None
                and offer.min_targets > offer.max_targets
            ):
                raise ValueError(f"offer {offer_id!r}: min_targets exceeds max_targets")
        if self.contact_policy.min_contacts > self.contact_policy.max_contacts:
            raise ValueError("contact_policy: min_contacts exceeds max_contacts")
        policy = self.contact_policy
        for k, window in enumerate(policy.windows):
            for key, names in (("offer", self.offers), ("channel", self.channels)):
                value = getattr(window, key)
                if value is not None and value not in names:
                    raise ValueError(f"contact_policy.windows.{k}.{key}: {value!r} is not under '{key}s'{did_you_mean(value, list(names))}")
        for k, seq in enumerate(policy.sequences):
            for key in ("first", "then"):
                value = getattr(seq, key)
                if value not in self.offers:
                    raise ValueError(f"contact_policy.sequences.{k}.{key}: {value!r} is not under 'offers'{did_you_mean(value, list(self.offers))}")
        self._check_waves()
        self._check_campaigns()
        labels = [w.label for w in policy.all_windows] + [q.label for q in policy.sequences]
        twice = sorted({n for n in labels if labels.count(n) > 1})
        if twice:
            raise ValueError(f"contact_policy: two windows are both named {twice[0]!r}; give one a different name")
        return self

    def _check_waves(self) -> None:
        if not self.waves:
            return
        names = [w.name for w in self.waves]
        if len(set(names)) < len(names):
            raise ValueError(f"waves: two waves are named {sorted(n for n in names if names.count(n) > 1)[0]!r}")
        dates = [w.date for w in self.waves]
        if any(b <= a for a, b in zip(dates, dates[1:])):
            raise ValueError("waves: dates must increase from one wave to the next")
        if self.plan_date is not None:
            raise ValueError("waves: each wave has its date; drop plan_date")
        if self.budget_confidence is not None:
            raise ValueError("waves: a budget with a confidence is for one wave; give each wave an expected-spend budget")
        for k, wave in enumerate(self.waves):
            for key, known in (("channels", self.channels), ("offers", self.offers)):
                for name in getattr(wave, key):
                    if name not in known:
                        raise ValueError(f"waves.{k}.{key}: {name!r} is not under '{key}'{did_you_mean(name, list(known))}")

    def _check_campaigns(self) -> None:
        # a limit that can never bind is one the budget owner believes is there: refuse it
        for name, campaign in self.campaigns.items():
            key = f"campaigns.{name}"
            if not name.strip() or name != name.strip() or ":" in name:
                raise ValueError(f"{key}: a campaign name is the campaign column's text, not blank, without ':' "
                                 "(limit names use it: campaign:<name>:budget) or spaces around it")
            if campaign.budget is None and campaign.min_roi is None and not campaign.channels and not campaign.offers:
                raise ValueError(f"{key}: sets no limit; give budget, min_roi, channels or offers, or remove it "
                                 "(a campaign without an entry has the scenario's limits only)")
            for channel_id, channel in campaign.channels.items():
                if channel_id not in self.channels:
                    raise ValueError(f"{key}.channels: {channel_id!r} is not under 'channels'{did_you_mean(channel_id, list(self.channels))}")
                if channel.capacity is None:
                    raise ValueError(f"{key}.channels.{channel_id}: sets no capacity (the only limit a campaign puts on a channel)")
            for offer_id, offer in campaign.offers.items():
                if offer_id not in self.offers:
                    raise ValueError(f"{key}.offers: {offer_id!r} is not under 'offers'{did_you_mean(offer_id, list(self.offers))}")
                if not offer.limited:
                    raise ValueError(f"{key}.offers.{offer_id}: sets no limit; give max_targets, min_targets, budget or min_roi")
                if offer.min_targets is not None and offer.max_targets is not None and offer.min_targets > offer.max_targets:
                    raise ValueError(f"{key}.offers.{offer_id}: min_targets exceeds max_targets")

    def wave_scenario(self, k: int) -> "Scenario":
        """The scenario of wave ``k`` alone: its date as the plan date, its limits over the scenario's."""
        wave = self.waves[k]
        channels = {c: Channel.model_validate({**spec.model_dump(), **wave.channels.get(c, {})}) for c, spec in self.channels.items()}
        offers = {o: Offer.model_validate({**spec.model_dump(), **wave.offers.get(o, {})}) for o, spec in self.offers.items()}
        update: dict[str, Any] = {"name": f"{self.name}:{wave.name}", "waves": [], "plan_date": wave.date, "channels": channels, "offers": offers}
        for key in ("budget", "min_roi", "rules"):
            if getattr(wave, key) is not None:
                update[key] = getattr(wave, key)
        return Scenario.model_validate({**self.model_dump(exclude={"waves"}), **update})

    @property
    def ratio_limits_only(self) -> bool:
        """True when no limit forces any contact: the empty plan then meets every limit.

        Minimum-ROI and share limits are ratios, so "contact nobody" satisfies them; the
        report says so rather than letting an empty plan look like a solver failure.
        """
        forcing = (
            self.contact_policy.min_contacts > 0
            or any(o.min_targets for o in self.offers.values())
            or any(o.min_targets for c in self.campaigns.values() for o in c.offers.values())
            or any(r.min for r in self.rules if r.min and r.min > 0)
        )
        return not forcing
