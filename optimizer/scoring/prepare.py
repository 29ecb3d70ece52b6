"""From a mapped customer table to the optimizer's inputs (customers, options, scenario).

Pipeline, each step in its own module:

1. :mod:`.mapping` loads the table through the column mapping;
2. :mod:`.lifecycle` assigns the lifecycle stage;
3. :mod:`.retention` fits an sBG churn model per group (e.g. per contract) to the snapshot
   (tenure as duration, churn flag as event), giving each active customer a churn probability over the horizon and a
   residual value (expected discounted margin while they stay);
3b. with ``churn_model`` (:mod:`.churn_eval`, :mod:`.churn_model`) a calibrated classifier of
   the churn flag from behaviour columns, or with ``churn_score`` a mapped probability column,
   gives each customer ``p`` over ``horizon_months``; its constant monthly hazard
   ``1 - (1 - p) ** (1 / H)`` replaces the sBG hazard in ``exit_hazard``, the option value and
   ``residual_value``, and ``simulation.hazards.column`` hands the same hazards to the plan test;
4. :mod:`.value` builds the value index, matrix, tiers and keep/develop/retrench policy;
5. :mod:`.segments` clusters behaviour; :mod:`.tags` evaluates named tag rules;
6. options: one row per customer x eligible offer x allowed channel.

Option columns, in the optimizer's encoding (it maximises x * (p * value - contact_cost -
p * offer_cost)):

* ``p_accept`` = channel response x offer response multiplier (assumptions from the config:
  the snapshot has no campaign history, so response cannot be estimated from it);
* ``value`` = the margin an accepted offer keeps, by the one value model
  (:func:`optimizer.value_model.option_value`): the customer's monthly exit hazard (the sBG
  posterior mean given the months survived) multiplied by ``1 - churn_reduction`` for the
  retention horizon, margin counted over 24 months; the scenario's ``simulation:`` section
  carries the same hazards, effects and margin, so the plan test replays the same world;
* ``contact_cost`` from the channel, ``offer_cost`` from the offer.

The keep/develop/retrench policy reaches the scenario as data: ``policy_channels`` restricts
which channels each policy class may be contacted through, and the customers table carries
``value_policy``, ``value_tier``, ``stage``, ``segment`` and ``segment_name`` columns that
scenario rules can filter on.

Fit once, apply next month: every fitted parameter (segment scaler and centres, value rank
references and band cut points, tier thresholds, sBG fits, the churn model) is returned as a
:class:`.fitted.FittedModel`, and ``prepare(cfg, table, model=saved)`` applies a saved one
unchanged, so a rule ``segment == 1`` or ``value_tier == 'premium'`` keeps its meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ..value_model import OfferEffect, monthly_hazard, option_value
from . import fitted, lifecycle, retention, segments, tags, value
from .churn_eval import ChurnRisk, ChurnScoreCfg, churn_risk
from .churn_model import ChurnModelCfg
from .config import parse_model
from .errors import MappingError, ScoringError
from .mapping import CustomerMapping, load_customers, load_mapping

__all__ = ["PrepareConfig", "Prepared", "load_prepare_config", "prepare"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LifecycleCfg(_Strict):
    tenure: str = "tenure_months"
    acquisition_max_months: float = 2
    growth_max_months: float = 6
    decline: str | None = None
    exit: str | None = None


class RetentionCfg(_Strict):
    tenure: str = "tenure_months"
    churned: str = "churned"
    by: str | None = None
    likelihood: Literal["cohort", "window"] = "cohort"
    arpu: str = "arpu"
    margin: float = Field(0.3, gt=0, le=1)
    discount_rate: float = Field(0.01, gt=0, description="per month")
    horizon_months: int = Field(12, ge=1)


class ValueCfg(_Strict):
    current: dict[str, float]
    potential: dict[str, float]
    cuts: tuple[float, float] = (1 / 3, 2 / 3)
    loyal_min_months: float = 24
    newborn_max_months: float = 6
    policy: dict[str, str] = Field(default_factory=dict)


class SegmentsCfg(_Strict):
    features: list[str]
    k: int = Field(4, ge=1)
    seed: int = 0


class ChannelCfg(_Strict):
    contact_cost: float = Field(ge=0)
    response: float = Field(ge=0, le=1)


class OfferCfg(_Strict):
    offer_cost: float = Field(0.0, ge=0)
    churn_reduction: float = Field(ge=0, le=1)
    response_multiplier: float = Field(1.0, ge=0)
    eligible: str | None = None


class ScenarioCfg(_Strict):
    budget: float | None = Field(None, ge=0)
    max_contacts: int = Field(1, ge=0)
    stage_max_contacts: dict[str, int] = Field(default_factory=dict)
    rules: list[dict[str, Any]] = Field(default_factory=list)


class PrepareConfig(_Strict):
    name: str
    description: str = ""
    customers: CustomerMapping
    lifecycle: LifecycleCfg = LifecycleCfg()
    retention: RetentionCfg = RetentionCfg()
    value: ValueCfg
    segments: SegmentsCfg | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    channels: dict[str, ChannelCfg]
    offers: dict[str, OfferCfg]
    policy_channels: dict[str, list[str]] = Field(default_factory=dict)
    scenario: ScenarioCfg = ScenarioCfg()
    churn_model: ChurnModelCfg | None = None  # behaviour model whose probability replaces the sBG hazard
    churn_score: ChurnScoreCfg | None = None  # or a mapped column that already holds that probability


@dataclass(frozen=True)
class Prepared:
    customers: pd.DataFrame  # customer_id, max_contacts, attributes
    options: pd.DataFrame  # the optimizer's options table
    scenario: dict[str, Any]  # scenario YAML content (tables referenced by file name)
    fits: dict[str, retention.SBGFit]
    value_matrix: pd.DataFrame
    segment_profile: pd.DataFrame | None
    model: fitted.FittedModel  # what was fitted, or the saved model that was applied
    churn: ChurnRisk | None = None  # churn_model / churn_score: the probability that replaced the sBG hazard


def load_prepare_config(data: dict[str, Any], *, base: Path, source: str) -> PrepareConfig:
    mapping = load_mapping(data, base=base, source=source)
    cfg = parse_model(PrepareConfig, {**data, "customers": mapping.model_dump()}, source=source)
    if cfg.churn_model is not None and cfg.churn_score is not None:
        raise MappingError(f"{source}: key 'churn_score': excludes churn_model; fit a model, or name the column holding the probability")
    for policy, chans in cfg.policy_channels.items():
        if policy not in ("keep", "develop", "retrench"):
            raise MappingError(f"{source}: key 'policy_channels.{policy}': not keep, develop or retrench")
        for ch in chans:
            if ch not in cfg.channels:
                raise MappingError(f"{source}: key 'policy_channels.{policy}': unknown channel '{ch}'")
    for stage in cfg.scenario.stage_max_contacts:
        if stage not in lifecycle.STAGES:
            raise MappingError(
                f"{source}: key 'scenario.stage_max_contacts.{stage}': unknown stage "
                f"(stages: {', '.join(lifecycle.STAGES)})"
            )
    for rule in [*cfg.tags.values(), *(c.eligible for c in cfg.offers.values() if c.eligible)]:
        tags.parse_rule(rule)  # syntax errors surface before any data is read
    return cfg


def _retention(
    cust: pd.DataFrame, cfg: RetentionCfg, fits: dict[str, retention.SBGFit] | None = None
) -> tuple[pd.DataFrame, dict[str, retention.SBGFit]]:
    """Exit hazard, churn probability and residual value per customer from the sBG fit of their group.

    ``fits`` (a saved model's) are applied unchanged; without them they are fitted to ``cust``.
    """
    for col in (cfg.tenure, cfg.churned, cfg.arpu) + ((cfg.by,) if cfg.by else ()):
        if col not in cust.columns:
            raise MappingError(f"retention: column '{col}' not in mapped customers")
    if fits is None:
        try:
            fits = retention.fit_exit_hazards(
                cust, tenure=cfg.tenure, churned=cfg.churned, by=cfg.by, likelihood=cfg.likelihood
            ).fits
        except ScoringError as exc:
            raise MappingError(f"retention: {exc}") from None
    groups = cust[cfg.by].astype(str).to_numpy() if cfg.by else np.full(len(cust), "all", dtype=object)
    unfitted = sorted(set(groups) - set(fits))
    if unfitted:
        raise MappingError(
            f"retention: group(s) {', '.join(map(repr, unfitted))} of column '{cfg.by}' have no sBG fit in the model "
            f"(fitted: {', '.join(map(repr, fits))}); refit without --model"
        )
    t = cust[cfg.tenure].to_numpy(float)
    if np.any(t < 0):
        raise MappingError(f"retention: column '{cfg.tenure}' has a negative tenure ({t.min()}) in row {int(np.argmin(t)) + 1}")
    hazard = np.full(len(cust), np.nan)
    p_churn = np.full(len(cust), np.nan)
    resid = np.full(len(cust), np.nan)
    for g, fit in fits.items():
        idx = groups == g
        n = t[idx]
        # the posterior mean monthly churn probability given n months survived (retention.ExitHazards)
        hazard[idx] = fit.alpha / (fit.alpha + fit.beta + n)
        # P(churn within the next horizon | active after n months) = 1 - S(n + H) / S(n)
        p_churn[idx] = 1.0 - retention.survival(fit, n + cfg.horizon_months) / retention.survival(fit, n)
        margin = cfg.margin * cust[cfg.arpu].to_numpy(float)[idx]
        resid[idx] = retention.residual_value(fit, margin, cfg.discount_rate, n)
    out = pd.DataFrame(
        {"exit_hazard": hazard, f"p_churn_{cfg.horizon_months}m": p_churn, "residual_value": resid}, index=cust.index
    )
    return out, fits


def _effect(offer: OfferCfg, term_months: int) -> OfferEffect:
    """An offer removes ``churn_reduction`` of the churn risk for the retention horizon."""
    return OfferEffect(churn_multiplier=1.0 - offer.churn_reduction, term_months=term_months)


def prepare(cfg: PrepareConfig, table: pd.DataFrame | None = None, *, model: fitted.FittedModel | None = None) -> Prepared:
    """Run the whole pipeline; ``table`` replaces reading the mapped file (tests, notebooks).

    With ``model`` (a saved fit, :func:`.fitted.load_model`) nothing is refitted: segments,
    value index, bands, tiers and churn come from the model, so ids and tiers mean what they
    meant in the month it was fitted on. A model fitted for another config is refused.
    """
    if model is not None:
        model.check_config(cfg)
    cust = load_customers(cfg.customers, table)
    lc = cfg.lifecycle
    cust["stage"] = lifecycle.lifecycle_stage(
        cust,
        tenure=lc.tenure,
        acquisition_max_months=lc.acquisition_max_months,
        growth_max_months=lc.growth_max_months,
        decline=lc.decline,
        exit=lc.exit,
    )
    ret, fits = _retention(cust, cfg.retention, model.fits if model else None)
    cust = pd.concat([cust, ret], axis=1)
    rc = cfg.retention
    if model is not None and cfg.churn_model is not None and model.churn_model is None:
        raise MappingError("churn_model: the model has no churn model; refit without --model")
    churn = churn_risk(
        cust, model_cfg=cfg.churn_model, score_cfg=cfg.churn_score, saved=model.churn_model if model else None,
        tenure=rc.tenure, churned=rc.churned, by=rc.by, likelihood=rc.likelihood,
    )
    if churn is not None:  # the probability replaces the sBG hazard in the value, the residual value and the plan test
        if churn.model is not None:
            cust["p_churn_model"] = churn.p
        cust["exit_hazard"] = monthly_hazard(churn.p, churn.horizon_months)
        arpu_margin = rc.margin * cust[rc.arpu].to_numpy(float)
        cust["residual_value"] = retention.residual_value_constant(arpu_margin, cust["exit_hazard"].to_numpy(), rc.discount_rate)
    ranks = model.ranks if model else value.rank_references(cust, cfg.value.current, cfg.value.potential)
    idx = value.value_index(cust, cfg.value.current, cfg.value.potential, reference=ranks)
    cuts = model.band_cuts if model else value.band_cuts(idx, cfg.value.cuts)
    bands = value.value_bands(idx, thresholds=cuts)
    cust = pd.concat([cust, idx, bands], axis=1)
    tier_cut = model.tiers if model else {
        "loyal_min_months": cfg.value.loyal_min_months, "newborn_max_months": cfg.value.newborn_max_months
    }
    cust["value_tier"] = value.value_tiers(bands, cust[cfg.retention.tenure], **tier_cut)
    cust["value_policy"] = value.tier_policy(cust["value_tier"], cfg.value.policy)
    profile = seg = None
    if cfg.segments is not None:
        if model is not None:
            if model.segments is None:
                raise MappingError("segments: the model has no segmentation; refit without --model")
            seg = segments.apply_segments(model.segments, cust)
        else:
            seg = segments.behaviour_segments(cust, cfg.segments.features, cfg.segments.k, seed=cfg.segments.seed)
        cust["segment"] = seg.labels
        cust["segment_name"] = seg.model.name_of(seg.labels)
        profile = seg.profile
    for name, rule in cfg.tags.items():
        cust[f"tag_{name}"] = tags.evaluate(rule, cust).to_numpy()
    cust["max_contacts"] = (
        cust["stage"].map(cfg.scenario.stage_max_contacts).fillna(cfg.scenario.max_contacts).astype(int)
    )

    h = cfg.retention.horizon_months
    parts = []
    for offer_id, offer in cfg.offers.items():
        elig = tags.evaluate(offer.eligible, cust) if offer.eligible else pd.Series(True, index=cust.index)
        for channel_id, ch in cfg.channels.items():
            allowed = elig.copy()
            for policy, chans in cfg.policy_channels.items():
                if channel_id not in chans:
                    allowed &= cust["value_policy"] != policy
            sub = cust.loc[allowed]
            if sub.empty:
                continue
            parts.append(
                pd.DataFrame(
                    {
                        "customer_id": sub["customer_id"].to_numpy(),
                        "offer_id": offer_id,
                        "channel_id": channel_id,
                        "p_accept": min(1.0, ch.response * offer.response_multiplier),
                        "value": option_value(
                            sub[cfg.retention.arpu].to_numpy(float),
                            sub["exit_hazard"].to_numpy(),
                            _effect(offer, h),
                            margin=cfg.retention.margin,
                        ),
                        "contact_cost": ch.contact_cost,
                        "offer_cost": offer.offer_cost,
                    }
                )
            )
    cols = ["customer_id", "offer_id", "channel_id", "p_accept", "value", "contact_cost", "offer_cost"]
    options = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    keep_cols = ["customer_id", "max_contacts"] + [c for c in cust.columns if c not in ("customer_id", "max_contacts")]
    scen: dict[str, Any] = {
        "name": cfg.name,
        "description": cfg.description or f"prepared from {cfg.customers.path.name}",
        "options": "options.csv",
        "customers": "customers.csv",
        "channels": {c: {} for c in cfg.channels},
        "offers": {o: {} for o in cfg.offers},
        "contact_policy": {"max_contacts": cfg.scenario.max_contacts},
    }
    # How the plan test reads this base: the same hazards, offer effects and margin as the values.
    calls = [c for c in cfg.channels if "call" in c]
    scen["simulation"] = {
        "margin": cfg.retention.margin,
        "hazards": {"tenure": cfg.retention.tenure, "churned": cfg.retention.churned, "by": cfg.retention.by}
        if churn is None  # the simulator refits the same sBG; otherwise it reads the hazards the values used
        else {"tenure": cfg.retention.tenure, "churned": cfg.retention.churned, "column": "exit_hazard"},
        "offers": {
            o: {"churn_multiplier": _effect(offer, h).churn_multiplier, "term_months": h} for o, offer in cfg.offers.items()
        },
        **({"call_channel": calls[0]} if len(calls) == 1 else {}),
    }
    if cfg.scenario.budget is not None:
        scen["budget"] = cfg.scenario.budget
    if cfg.scenario.rules:
        scen["rules"] = list(cfg.scenario.rules)
    return Prepared(
        customers=cust[keep_cols],
        options=options,
        scenario=scen,
        fits=fits,
        value_matrix=value.value_matrix(bands),
        segment_profile=profile,
        model=model
        or fitted.FittedModel.fitted(
            cfg,
            source=table if table is not None else cfg.customers.path,
            rows=len(cust),
            ranks=ranks,
            weights={"current": dict(cfg.value.current), "potential": dict(cfg.value.potential)},
            band_cuts=cuts,
            tiers=tier_cut,
            fits=fits,
            retention={k: getattr(cfg.retention, k) for k in ("tenure", "churned", "by", "likelihood")},
            segments=seg.model if seg is not None else None,
            segment_profile=profile.reset_index().to_dict("records") if profile is not None else [],
            churn_model=churn.model.to_json() if churn is not None and churn.model is not None else None,
        ),
        churn=churn,
    )
