"""Monthly usage and ARPU, how decline shows in them, and what the operator observes.

A declining customer's affected usage falls by ``decline_rate`` each month (both voice and
data for a "double drop", one of them for a "secondary card"), down to ``usage_floor``;
so decline shows with a lag, growing month by month. The operator sees usage with
multiplicative noise (``noise_sigma``) and ``report_lag_months`` late, and flags a drop when
observed usage is more than ``drop_threshold`` below the customer's baseline: detection is
imperfect by construction (delay from the lag and the gradual fall, false alarms and misses
from the noise), and its precision and recall are measured, not assumed.
"""

from __future__ import annotations

import numba
import numpy as np

from .config import SimConfig
from .population import DATA_ONLY, VOICE_ONLY, Population
from .stages import DECLINE

__all__ = ["arpu_now", "billed_arpu", "observed_drops", "step_usage"]


def step_usage(
    cfg: SimConfig,
    pop: Population,
    month: int,
    z: np.ndarray,
    declined_this_month: np.ndarray,
    recovered: np.ndarray,
) -> None:
    """Advance usage levels for customers who spent this month in decline; observe usage.

    ``z`` holds two standard normals per slot (voice, data) for the observation noise.
    """
    uc = cfg.usage
    sig = np.float32(uc.noise_sigma)
    noise = np.exp(sig * z - np.float32(0.5) * sig * sig)  # numpy's exp: a compiled one may round otherwise
    slot = month % (uc.report_lag_months + 1)
    _step(declined_this_month, recovered, pop.pattern, pop.level_voice, pop.level_data, np.float32(uc.decline_rate),
          np.float32(uc.usage_floor), pop.mou_base, pop.data_base, pop.shift_mou, pop.shift_data, noise,
          pop.obs_mou[slot], pop.obs_data[slot])


@numba.njit(cache=True, nogil=True)
def _step(falling, recovered, pattern, level_voice, level_data, rate, floor, mou_base, data_base,  # type: ignore[no-untyped-def]
          shift_mou, shift_data, noise, obs_mou, obs_data):
    # One compiled pass in numpy's float32 operations and order (the same bits as the array
    # expressions it replaced).
    for i in range(falling.size):
        if falling[i]:
            if pattern[i] != DATA_ONLY:
                level_voice[i] = max(level_voice[i] * rate, floor)
            if pattern[i] != VOICE_ONLY:
                level_data[i] = max(level_data[i] * rate, floor)
        if recovered[i]:
            level_voice[i] = 1.0
            level_data[i] = 1.0
        obs_mou[i] = mou_base[i] * level_voice[i] * shift_mou[i] * noise[0, i]
        obs_data[i] = data_base[i] * level_data[i] * shift_data[i] * noise[1, i]


def arpu_now(cfg: SimConfig, pop: Population) -> np.ndarray:
    """ARPU of every slot this month before offers' uplifts (zero meaning is left to the caller's mask)."""
    return _arpu(np.float32(cfg.usage.voice_share_of_arpu), pop.arpu_base, pop.shift_arpu, pop.level_voice,
                 pop.level_data, pop.stage, pop.offer_end, pop.arpu_uplift, 0, False)


def billed_arpu(cfg: SimConfig, pop: Population, month: int) -> np.ndarray:
    """What each slot is billed in ``month``: ``arpu_now`` plus a running offer's uplift; 0 if not live."""
    return _arpu(np.float32(cfg.usage.voice_share_of_arpu), pop.arpu_base, pop.shift_arpu, pop.level_voice,
                 pop.level_data, pop.stage, pop.offer_end, pop.arpu_uplift, month, True)


@numba.njit(cache=True, nogil=True)
def _arpu(voice_share, arpu_base, shift_arpu, level_voice, level_data, stage, offer_end, uplift, month, billed):  # type: ignore[no-untyped-def]
    out = np.empty(arpu_base.size, np.float32)
    data_share = np.float32(1.0) - voice_share
    for i in range(out.size):
        a = arpu_base[i] * shift_arpu[i] * (voice_share * level_voice[i] + data_share * level_data[i])
        if billed:
            a = a + (uplift[i] if offer_end[i] > month else np.float32(0.0))
            if stage[i] >= 4:
                a = np.float32(0.0)
        out[i] = a
    return out


def observed_drops(cfg: SimConfig, pop: Population, month: int) -> tuple[np.ndarray, np.ndarray]:
    """Voice and data drop (1 - observed / baseline) as seen at the start of ``month``."""
    L = cfg.usage.report_lag_months
    slot = (month - 1 - L) % (L + 1)
    voice = 1.0 - pop.obs_mou[slot] / np.maximum(pop.mou_base, np.float32(1e-6))
    data = 1.0 - pop.obs_data[slot] / np.maximum(pop.data_base, np.float32(1e-6))
    return voice, data


def truly_declining(pop: Population) -> np.ndarray:
    return pop.stage == DECLINE
