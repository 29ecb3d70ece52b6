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

import numpy as np

from .config import SimConfig
from .population import DATA_ONLY, VOICE_ONLY, Population
from .stages import DECLINE

__all__ = ["arpu_now", "observed_drops", "step_usage"]


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
    rate, floor = np.float32(uc.decline_rate), np.float32(uc.usage_floor)
    falling = declined_this_month
    voice_falls = falling & (pop.pattern != DATA_ONLY)
    data_falls = falling & (pop.pattern != VOICE_ONLY)
    pop.level_voice[voice_falls] = np.maximum(pop.level_voice[voice_falls] * rate, floor)
    pop.level_data[data_falls] = np.maximum(pop.level_data[data_falls] * rate, floor)
    pop.level_voice[recovered] = 1.0
    pop.level_data[recovered] = 1.0
    sig = np.float32(uc.noise_sigma)
    noise = np.exp(sig * z - np.float32(0.5) * sig * sig)
    slot = month % (uc.report_lag_months + 1)
    pop.obs_mou[slot] = pop.mou_base * pop.level_voice * pop.shift_mou * noise[0]
    pop.obs_data[slot] = pop.data_base * pop.level_data * pop.shift_data * noise[1]


def arpu_now(cfg: SimConfig, pop: Population) -> np.ndarray:
    """Billed ARPU of every slot this month (zero meaning is left to the caller's mask)."""
    vs = np.float32(cfg.usage.voice_share_of_arpu)
    mix = vs * pop.level_voice + (np.float32(1.0) - vs) * pop.level_data
    return pop.arpu_base * pop.shift_arpu * mix


def observed_drops(cfg: SimConfig, pop: Population, month: int) -> tuple[np.ndarray, np.ndarray]:
    """Voice and data drop (1 - observed / baseline) as seen at the start of ``month``."""
    L = cfg.usage.report_lag_months
    slot = (month - 1 - L) % (L + 1)
    voice = 1.0 - pop.obs_mou[slot] / np.maximum(pop.mou_base, np.float32(1e-6))
    data = 1.0 - pop.obs_data[slot] / np.maximum(pop.data_base, np.float32(1e-6))
    return voice, data


def truly_declining(pop: Population) -> np.ndarray:
    return pop.stage == DECLINE
