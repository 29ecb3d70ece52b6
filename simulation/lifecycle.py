"""Monthly stage transitions, vectorised over the whole base.

The model (one month, customer i in live stage s, value tier k):

    e_i = E[s] * T_exit[k] * (1 + b * exp(-tenure_i / tau))      exit hazard
              * (lock-in m_c if under contract) * (min(g ** months_in_decline, cap) if s = decline)
              * F_i (contact fatigue) * (offer multiplier m_o while an accepted offer runs)
    d_i = D[s] * T_decline[k]                                     decline hazard (s != decline)
    p_i = acquisition -> growth: A;  growth -> maturity: 1 if tenure reaches the maturity
          tenure (or hazard G when that rule is off);  decline -> maturity: R;  maturity: 0
    F_i = 1 + f_g * c_i                       in growth (every contact counts), else
          1 + f * max(0, c_i - free)          c_i = reached contacts in the fatigue window

One uniform U_i per customer per month, from the lifecycle stream, picks the outcome by
partitioning [0, 1): U < e(1 - r_s) true churn, U < e re-entry (new number, same operator),
U < e + d decline, U < e + d + p progress, else stay; e is capped at 1, d at 1 - e, p at
1 - e - d. With all multipliers at 1 the chain is Markov with exactly these probabilities,
which is what :mod:`simulation.markov` computes independently for the validation tests.
Drawing U for every slot, live or not, keeps the draws independent of the strategy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import SimConfig
from .population import Population
from .stages import ACQUISITION, DECLINE, EXITED, GROWTH, MATURITY, STAGE_NAMES, TIER_NAMES

__all__ = ["HazardTables", "Transitions", "exit_hazard", "step_lifecycle"]

_NCODES = 6  # four live stages, EXITED, PENDING: tables are zero for the last two


@dataclass(frozen=True)
class HazardTables:
    """Per (stage, tier) base probabilities, flattened for one gather per month."""

    exit: np.ndarray  # float32 (_NCODES * n_tiers,)
    decline: np.ndarray
    reentry: np.ndarray  # float32 (_NCODES,)
    tenure_mult: np.ndarray  # float32 multiplier by tenure month (clipped at the end)

    @classmethod
    def from_config(cls, cfg: SimConfig) -> HazardTables:
        lc = cfg.lifecycle
        nt = len(TIER_NAMES)
        ex = np.zeros((_NCODES, nt), np.float32)
        de = np.zeros((_NCODES, nt), np.float32)
        for s, name in enumerate(STAGE_NAMES):
            for k, tier in enumerate(TIER_NAMES):
                ex[s, k] = lc.exit_hazard[name] * lc.tier_exit_multiplier[tier]
                de[s, k] = lc.decline_hazard.get(name, 0.0) * lc.tier_decline_multiplier[tier]
        re = np.zeros(_NCODES, np.float32)
        re[:4] = [lc.reentry_share[s] for s in STAGE_NAMES]
        months = np.arange(2048, dtype=np.float32)
        ten = 1.0 + lc.tenure_boost * np.exp(-months / lc.tenure_scale_months)
        return cls(ex.ravel(), de.ravel(), re, ten.astype(np.float32))


@dataclass
class Transitions:
    """Masks of what happened to whom this month (for KPIs and for resetting slots)."""

    true_churn: np.ndarray
    reentry: np.ndarray
    to_decline: np.ndarray
    progressed: np.ndarray
    stage_before: np.ndarray


def fatigue_multiplier(cfg: SimConfig, pop: Population) -> np.ndarray:
    """F_i from the reached contacts in the window (see the module docstring)."""
    fc = cfg.fatigue
    c = pop.contacts.sum(axis=0, dtype=np.int16).astype(np.float32)
    growth = 1.0 + np.float32(fc.growth_per_contact) * c
    other = 1.0 + np.float32(fc.per_excess_contact) * np.maximum(c - fc.free_contacts, 0)
    return np.where(pop.stage == GROWTH, growth, other)


def exit_hazard(
    cfg: SimConfig,
    tables: HazardTables,
    pop: Population,
    month: int,
    fatigue: np.ndarray | None = None,
    offers: bool = True,
) -> np.ndarray:
    """Monthly exit probability e_i of every slot (zero for exited and pending slots).

    ``offers=False`` leaves out the running offers' multipliers (the base hazard).
    """
    lc = cfg.lifecycle
    if pop.own_hazard is not None:
        # A customer's own hazard (fitted or scored from data) already prices its stage,
        # tier, tenure and contract: only fatigue and a running offer move it.
        e = np.where(pop.stage < 4, pop.own_hazard, np.float32(0.0))
        if fatigue is not None:
            e = e * fatigue
        if offers:
            e = np.where(pop.offer_end > month, e * pop.offer_churn_mult, e)
        return np.minimum(e, np.float32(1.0))
    nt = len(TIER_NAMES)
    idx = pop.stage.astype(np.int16) * nt + pop.tier
    e = tables.exit[idx]
    if lc.tenure_boost:
        e = e * tables.tenure_mult[np.minimum(pop.tenure, tables.tenure_mult.size - 1)]
    if lc.contract_lock_in_multiplier != 1.0:
        e = np.where(pop.contract_end > month, e * np.float32(lc.contract_lock_in_multiplier), e)
    if lc.decline_escalation != 1.0:
        esc = np.minimum(
            np.power(np.float32(lc.decline_escalation), pop.months_in_stage.astype(np.float32)),
            np.float32(lc.decline_escalation_cap),
        )
        e = np.where(pop.stage == DECLINE, e * esc, e)
    if fatigue is not None:
        e = e * fatigue
    if offers:
        e = np.where(pop.offer_end > month, e * pop.offer_churn_mult, e)
    return np.minimum(e, np.float32(1.0))


def step_lifecycle(cfg: SimConfig, tables: HazardTables, pop: Population, month: int, u: np.ndarray) -> Transitions:
    """Apply one month of transitions with the uniforms ``u`` (one per slot)."""
    lc = cfg.lifecycle
    stage = pop.stage
    fat = fatigue_multiplier(cfg, pop) if pop.contacts.any() else None
    e = exit_hazard(cfg, tables, pop, month, fat)
    d = tables.decline[stage.astype(np.int16) * len(TIER_NAMES) + pop.tier]
    d = np.minimum(d, 1.0 - e)
    if lc.maturity_tenure_months is None:
        g2m = np.float32(lc.growth_to_maturity)
        growth_p = np.full(stage.shape, g2m, np.float32)
    else:
        growth_p = (pop.tenure + 1 >= lc.maturity_tenure_months).astype(np.float32)
    prog_table = np.array([lc.acquisition_to_growth, 0.0, 0.0, lc.recovery_hazard, 0.0, 0.0], np.float32)
    p = np.where(stage == GROWTH, growth_p, prog_table[stage])
    p = np.minimum(p, np.maximum(1.0 - e - d, 0.0))

    r = tables.reentry[stage]
    exit_ = u < e
    true_churn = u < e * (1.0 - r)
    reentry = exit_ & ~true_churn
    to_decline = ~exit_ & (u < e + d)
    progressed = ~exit_ & ~to_decline & (u < e + d + p)

    before = stage.copy()
    changed = exit_ | to_decline | progressed
    # Acquisition progresses to growth; growth (to maturity) and decline (recovery) to maturity.
    stage[progressed] = np.where(before[progressed] == ACQUISITION, GROWTH, MATURITY)
    stage[to_decline] = DECLINE
    stage[exit_] = EXITED
    pop.months_in_stage += 1
    pop.months_in_stage[changed] = 0
    return Transitions(true_churn, reentry, to_decline, progressed, before)
