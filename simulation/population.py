"""The customer base as columns: one numpy array per attribute, one slot per customer.

Why slots for future customers: every gross add of the horizon gets its slot (and its tier,
usage baseline and decline pattern) at the start, drawn from the ``population`` and
``acquisition`` streams. The number and order of random draws then never depends on what a
strategy did, which is what keeps common random numbers intact across strategies. A slot
whose customer has not joined yet has stage ``PENDING``; a re-entry (new number, same
operator) restarts the same slot, because it is the same person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import SimConfig
from .stages import ACQUISITION, DECLINE, GROWTH, STAGE_NAMES, TIER_NAMES
from .streams import Streams

__all__ = ["PENDING", "Population", "new_population"]

#: Stage code of a slot whose customer joins in a later month.
PENDING = 5

#: Decline patterns: both voice and data fall ("double drop": SIM replaced), or only one
#: falls ("secondary card": the customer now carries a second SIM).
DOUBLE_DROP, VOICE_ONLY, DATA_ONLY = 0, 1, 2


@dataclass
class Population:
    """Mutable per-customer state; the engine is the only writer."""

    n_initial: int
    joins_at: np.ndarray  # int16, month the slot's customer joins (0 = initial base)
    adds_per_month: np.ndarray  # int64, gross adds of each month
    tier: np.ndarray  # int8 value tier code
    stage: np.ndarray  # int8 stage code (EXITED=4, PENDING=5)
    tenure: np.ndarray  # int16 months on the current number
    months_in_stage: np.ndarray  # int16
    contract_end: np.ndarray  # int16 month the contract lock-in ends (-1: none)
    offer_end: np.ndarray  # int16 month an accepted offer's term ends (-1: none)
    offer_churn_mult: np.ndarray  # float32 hazard multiplier of the running offer
    shift_arpu: np.ndarray  # float32 multiplicative usage shifts of the running offer
    shift_mou: np.ndarray
    shift_data: np.ndarray
    arpu_base: np.ndarray  # float32 baseline ARPU (yuan / month)
    mou_base: np.ndarray  # float32 baseline minutes of use
    data_base: np.ndarray  # float32 baseline data (MB)
    level_voice: np.ndarray  # float32 current voice level relative to baseline
    level_data: np.ndarray
    pattern: np.ndarray  # int8 decline pattern of this customer
    arrears: np.ndarray  # int8 months in arrears (0: paying)
    contacts: np.ndarray  # int8 (window, slots) ring of reached contacts per month
    obs_mou: np.ndarray  # float32 (lag+1, slots) ring of observed usage
    obs_data: np.ndarray
    handset_change: np.ndarray  # bool, this month
    first_exit_month: np.ndarray  # int16 month of the first exit of the slot (-1: none)
    reentries: np.ndarray  # int16 re-entries so far
    ever_dialed: np.ndarray  # bool, called at least once (the 10088 "called" group)
    ever_connected: np.ndarray  # bool
    ever_accepted: np.ndarray  # bool
    true_churned: np.ndarray  # bool, left for a competitor at least once
    arpu_uplift: np.ndarray  # float32 yuan added to the bill while the accepted offer runs
    # float32 monthly exit hazard of each slot from the customer's own data (a base built
    # from a customers table, simulation.base); None: the lifecycle's hazard tables apply.
    own_hazard: np.ndarray | None = None

    @property
    def slots(self) -> int:
        return int(self.tier.size)

    def active_mask(self) -> np.ndarray:
        """Customers on the network now (any live stage)."""
        return self.stage < 4


def _levels_after(months: np.ndarray, pattern: np.ndarray, rate: float, floor: float) -> tuple[np.ndarray, np.ndarray]:
    drop = np.maximum(np.power(np.float32(rate), months.astype(np.float32)), np.float32(floor))
    one = np.ones_like(drop)
    voice = np.where(pattern != DATA_ONLY, drop, one).astype(np.float32)
    data = np.where(pattern != VOICE_ONLY, drop, one).astype(np.float32)
    return voice, data


def new_population(cfg: SimConfig, streams: Streams) -> Population:
    """Draw the initial base and a slot for every gross add of the horizon."""
    pc, H = cfg.population, cfg.horizon_months
    acq = streams["acquisition"]
    adds = acq.poisson(pc.gross_adds_per_month, size=H).astype(np.int64)
    n0 = pc.customers
    S = n0 + int(adds.sum())
    rng = streams["population"]

    joins_at = np.zeros(S, dtype=np.int16)
    joins_at[n0:] = np.repeat(np.arange(H, dtype=np.int16), adds)
    tier = rng.choice(len(TIER_NAMES), size=S, p=np.array([pc.tier_mix[t] for t in TIER_NAMES])).astype(np.int8)
    stage = np.full(S, PENDING, dtype=np.int8)
    stage[:n0] = rng.choice(len(STAGE_NAMES), size=n0, p=np.array([pc.initial_stage_mix[s] for s in STAGE_NAMES]))
    # Tenure consistent with the stage: growth before the maturity tenure, maturity after.
    mt = cfg.lifecycle.maturity_tenure_months or 6
    tmax = max(pc.max_initial_tenure_months, mt + 1)
    u = rng.random(S)
    tenure = np.zeros(S, dtype=np.int16)
    s0 = stage[:n0]
    ten0 = np.where(
        s0 == GROWTH,
        1 + (u[:n0] * max(mt - 1, 1)).astype(np.int64),
        np.where(s0 == ACQUISITION, 0, mt + (u[:n0] * (tmax - mt)).astype(np.int64)),
    )
    tenure[:n0] = ten0
    months_in_stage = np.zeros(S, dtype=np.int16)
    u2 = rng.random(S)
    months_in_stage[:n0] = np.where(s0 == DECLINE, (u2[:n0] * 6).astype(np.int64), 0)

    contract_end = np.full(S, -1, dtype=np.int16)
    u3, u4 = rng.random(S), rng.random(S)
    has_contract = (u3[:n0] < pc.contract_share) & (s0 != ACQUISITION)
    contract_end[:n0] = np.where(has_contract, 1 + (u4[:n0] * pc.contract_max_months).astype(np.int64), -1)

    sig = pc.usage_dispersion
    z = rng.standard_normal((3, S)).astype(np.float32)
    ln = np.exp(sig * z - np.float32(0.5 * sig * sig))  # mean-one lognormal spread
    arpu_base = np.array([pc.arpu_mean[t] for t in TIER_NAMES], np.float32)[tier] * ln[0]
    mou_base = np.array([pc.mou_mean[t] for t in TIER_NAMES], np.float32)[tier] * ln[1]
    data_base = np.array([pc.data_mean_mb[t] for t in TIER_NAMES], np.float32)[tier] * ln[2]

    u5 = rng.random(S)
    ds = cfg.usage.double_drop_share
    pattern = np.where(u5 < ds, DOUBLE_DROP, np.where(u5 < ds + (1 - ds) / 2, VOICE_ONLY, DATA_ONLY)).astype(np.int8)
    lv, ld = _levels_after(
        np.where(stage == DECLINE, months_in_stage, 0),
        pattern,
        cfg.usage.decline_rate,
        cfg.usage.usage_floor,
    )
    L = cfg.usage.report_lag_months
    obs_mou = np.repeat((mou_base * lv)[None, :], L + 1, axis=0)
    obs_data = np.repeat((data_base * ld)[None, :], L + 1, axis=0)
    ones = np.ones(S, dtype=np.float32)
    return Population(
        n_initial=n0,
        joins_at=joins_at,
        adds_per_month=adds,
        tier=tier,
        stage=stage,
        tenure=tenure,
        months_in_stage=months_in_stage,
        contract_end=contract_end,
        offer_end=np.full(S, -1, dtype=np.int16),
        offer_churn_mult=ones.copy(),
        shift_arpu=ones.copy(),
        shift_mou=ones.copy(),
        shift_data=ones.copy(),
        arpu_base=arpu_base.astype(np.float32),
        mou_base=mou_base.astype(np.float32),
        data_base=data_base.astype(np.float32),
        level_voice=lv,
        level_data=ld,
        pattern=pattern,
        arrears=np.zeros(S, dtype=np.int8),
        contacts=np.zeros((cfg.fatigue.window_months, S), dtype=np.int8),
        obs_mou=obs_mou,
        obs_data=obs_data,
        handset_change=np.zeros(S, dtype=bool),
        first_exit_month=np.full(S, -1, dtype=np.int16),
        reentries=np.zeros(S, dtype=np.int16),
        ever_dialed=np.zeros(S, dtype=bool),
        ever_connected=np.zeros(S, dtype=bool),
        ever_accepted=np.zeros(S, dtype=bool),
        true_churned=np.zeros(S, dtype=bool),
        arpu_uplift=np.zeros(S, dtype=np.float32),
    )


def join(pop: Population, month: int) -> int:
    """Activate this month's gross adds (a contiguous block of slots); returns how many."""
    start = pop.n_initial + int(pop.adds_per_month[:month].sum())
    n = int(pop.adds_per_month[month])
    if n:
        pop.stage[start : start + n] = ACQUISITION
        pop.tenure[start : start + n] = 0
    return n
