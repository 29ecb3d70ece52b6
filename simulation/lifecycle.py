"""Monthly stage transitions over the whole base, in compiled loops over the slots.

Why compiled: as numpy expressions the month's hazards and transitions made a dozen
temporaries of the base's size and were a sixth of a simulation's run; the loops compute
each slot's figures with the same float32 operations in the same order, so the results are
the same to the bit (decline escalation is a table of numpy's powers for that reason).

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

import numba
import numpy as np

from .config import SimConfig
from .population import Population
from .stages import ACQUISITION, DECLINE, EXITED, GROWTH, MATURITY, STAGE_NAMES, TIER_NAMES

__all__ = ["HazardTables", "Transitions", "exit_hazard", "step_lifecycle"]

_NCODES = 6  # four live stages, EXITED, PENDING: tables are zero for the last two
_NT = len(TIER_NAMES)
F32 = np.float32


@dataclass(frozen=True)
class HazardTables:
    """Per (stage, tier) base probabilities, flattened for one gather per month."""

    exit: np.ndarray  # float32 (_NCODES * n_tiers,)
    decline: np.ndarray
    reentry: np.ndarray  # float32 (_NCODES,)
    tenure_mult: np.ndarray  # float32 multiplier by tenure month (clipped at the end)
    # float32 min(escalation ** m, cap) by months m in decline, every int16 m: numpy's power
    # computed once, so the compiled month gives numpy's figures (a compiled power may round
    # otherwise); all ones when the escalation is off.
    escalation: np.ndarray
    lock_in: np.float32  # multiplier under a contract lock-in
    progress: np.ndarray  # float32 (_NCODES,) progression hazard of every stage but growth

    @classmethod
    def from_config(cls, cfg: SimConfig) -> HazardTables:
        lc = cfg.lifecycle
        ex = np.zeros((_NCODES, _NT), np.float32)
        de = np.zeros((_NCODES, _NT), np.float32)
        for s, name in enumerate(STAGE_NAMES):
            for k, tier in enumerate(TIER_NAMES):
                ex[s, k] = lc.exit_hazard[name] * lc.tier_exit_multiplier[tier]
                de[s, k] = lc.decline_hazard.get(name, 0.0) * lc.tier_decline_multiplier[tier]
        re = np.zeros(_NCODES, np.float32)
        re[:4] = [lc.reentry_share[s] for s in STAGE_NAMES]
        months = np.arange(2048, dtype=np.float32)
        ten = 1.0 + lc.tenure_boost * np.exp(-months / lc.tenure_scale_months)
        esc = np.ones(np.iinfo(np.int16).max + 1, np.float32)
        if lc.decline_escalation != 1.0:
            with np.errstate(over="ignore"):  # beyond float32's range the cap applies
                power = np.power(F32(lc.decline_escalation), np.arange(esc.size, dtype=np.float32))
            esc = np.minimum(power, F32(lc.decline_escalation_cap))
        prog = np.array([lc.acquisition_to_growth, 0.0, 0.0, lc.recovery_hazard, 0.0, 0.0], np.float32)
        return cls(ex.ravel(), de.ravel(), re, ten.astype(np.float32), esc, F32(lc.contract_lock_in_multiplier), prog)


@dataclass
class Transitions:
    """Masks of what happened to whom this month (for KPIs and for resetting slots)."""

    true_churn: np.ndarray
    reentry: np.ndarray
    to_decline: np.ndarray
    progressed: np.ndarray
    stage_before: np.ndarray


def _hazard_args(cfg: SimConfig, tables: HazardTables, pop: Population, month: int, fatigue: bool, offers: bool):  # type: ignore[no-untyped-def]
    fc, own = cfg.fatigue, pop.own_hazard
    # One tuple for the compiled loops; an empty own-hazard array stands for None (one type).
    return (
        pop.stage, pop.tier, pop.tenure, pop.months_in_stage, pop.contract_end, pop.offer_end,
        pop.offer_churn_mult, own is not None, np.zeros(0, np.float32) if own is None else own,
        pop.contacts, tables.exit, tables.tenure_mult, tables.escalation, tables.lock_in, month,
        fatigue, F32(fc.growth_per_contact), F32(fc.per_excess_contact), F32(fc.free_contacts), offers,
    )


@numba.njit(cache=True, nogil=True)
def _exit_hazards(hz):  # type: ignore[no-untyped-def]
    # e_i of the module docstring in numpy's float32 operations and order (the same bits).
    (stage, tier, tenure, months_in_stage, contract_end, offer_end, offer_mult, has_own, own, contacts,
     exit_t, tenure_mult, escalation, lock_in, month, fatigue, f_growth, f_excess, free, offers) = hz
    out = np.empty(stage.size, np.float32)
    for i in range(stage.size):
        s = stage[i]
        if not has_own:
            e = exit_t[s * _NT + tier[i]]
            e = e * tenure_mult[min(tenure[i], tenure_mult.size - 1)]
            if contract_end[i] > month:
                e = e * lock_in
            if s == DECLINE:
                e = e * escalation[months_in_stage[i]]
        else:
            # A customer's own hazard (fitted or scored from data) already prices its stage,
            # tier, tenure and contract: only fatigue and a running offer move it.
            e = own[i] if s < 4 else F32(0.0)
        if fatigue:
            c = 0
            for w in range(contacts.shape[0]):
                c += contacts[w, i]
            cf = F32(c)
            if s == GROWTH:
                e = e * (F32(1.0) + f_growth * cf)
            else:
                e = e * (F32(1.0) + f_excess * max(cf - free, F32(0.0)))
        if offers and offer_end[i] > month:
            e = e * offer_mult[i]
        out[i] = min(e, F32(1.0))
    return out


def exit_hazard(
    cfg: SimConfig,
    tables: HazardTables,
    pop: Population,
    month: int,
    fatigue: bool = False,
    offers: bool = True,
) -> np.ndarray:
    """Monthly exit probability e_i of every slot (zero for exited and pending slots).

    ``fatigue`` includes contact fatigue; ``offers=False`` leaves out the running offers'
    multipliers (the base hazard).
    """
    return _exit_hazards(_hazard_args(cfg, tables, pop, month, fatigue, offers))


@numba.njit(cache=True, nogil=True)
def _step(u, decline_t, reentry_t, progress_t, growth_p, maturity_tenure, hz):  # type: ignore[no-untyped-def]
    stage, tier, tenure, months_in_stage = hz[:4]
    n = stage.size
    exit_p = _exit_hazards(hz)
    true_churn = np.empty(n, np.bool_)
    reentry = np.empty(n, np.bool_)
    to_decline = np.empty(n, np.bool_)
    progressed = np.empty(n, np.bool_)
    before = stage.copy()
    for i in range(n):
        s = stage[i]
        e = exit_p[i]
        d = min(decline_t[s * _NT + tier[i]], F32(1.0) - e)
        if s != GROWTH:
            p = progress_t[s]
        elif maturity_tenure < 0:
            p = growth_p
        else:
            p = F32(1.0) if tenure[i] + 1 >= maturity_tenure else F32(0.0)
        p = min(p, max(F32(1.0) - e - d, F32(0.0)))
        exit_ = u[i] < e
        true_churn[i] = u[i] < e * (F32(1.0) - reentry_t[s])
        reentry[i] = exit_ and not true_churn[i]
        to_decline[i] = not exit_ and u[i] < e + d
        progressed[i] = not exit_ and not to_decline[i] and u[i] < e + d + p
        if exit_:
            stage[i] = EXITED
        elif to_decline[i]:
            stage[i] = DECLINE
        elif progressed[i]:
            stage[i] = GROWTH if s == ACQUISITION else MATURITY
        months_in_stage[i] = 0 if exit_ or to_decline[i] or progressed[i] else months_in_stage[i] + 1
    return true_churn, reentry, to_decline, progressed, before


def step_lifecycle(cfg: SimConfig, tables: HazardTables, pop: Population, month: int, u: np.ndarray) -> Transitions:
    """Apply one month of transitions with the uniforms ``u`` (one per slot)."""
    lc = cfg.lifecycle
    mt = -1 if lc.maturity_tenure_months is None else lc.maturity_tenure_months
    # Fatigue always on: with no contacts in the window its multiplier is exactly 1.
    out = _step(u, tables.decline, tables.reentry, tables.progress, F32(lc.growth_to_maturity), mt,
                _hazard_args(cfg, tables, pop, month, True, True))
    return Transitions(*out)
