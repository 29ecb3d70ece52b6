"""Ready-made scenario mappings: the Markov-ready lifecycle and a tiny fast scenario.

``constant_hazard_config`` switches every state-dependent multiplier off (tenure rule,
tenure boost, tier multipliers, contracts, escalation, arrears, re-entry), so the lifecycle
is the absorbing Markov chain of :mod:`simulation.markov`; the validation tests and anyone
checking a change against theory start from it. ``small_config`` is a default-model scenario
that runs in well under a second. Both return plain mappings for :func:`build_config`, with
``overrides`` merged one level deep.
"""

from __future__ import annotations

from typing import Any

from .stages import TIER_NAMES

__all__ = ["constant_hazard_config", "small_config"]

ONES = {t: 1.0 for t in TIER_NAMES}
NO_STAGE = {"acquisition": 0.0, "growth": 0.0, "maturity": 0.0, "decline": 0.0}


def constant_hazard_config(**overrides: Any) -> dict[str, Any]:
    """Every multiplier neutral, tenure rule off, no arrears, no re-entry: a Markov chain."""
    cfg: dict[str, Any] = {
        "horizon_months": 36,
        "population": {"customers": 2000, "contract_share": 0.0},
        "lifecycle": {
            "maturity_tenure_months": None,
            "growth_to_maturity": 0.2,
            "acquisition_to_growth": 0.7,
            "tier_exit_multiplier": ONES,
            "tier_decline_multiplier": ONES,
            "tenure_boost": 0.0,
            "decline_escalation": 1.0,
            "exit_hazard": {"acquisition": 0.03, "growth": 0.04, "maturity": 0.02, "decline": 0.10},
            "decline_hazard": {"acquisition": 0.01, "growth": 0.02, "maturity": 0.015},
            "recovery_hazard": 0.05,
            "reentry_share": NO_STAGE,
        },
        "arrears": {"monthly_prob": NO_STAGE},
    }
    return _merge(cfg, overrides)


def small_config(**overrides: Any) -> dict[str, Any]:
    """A default-model scenario small enough to run in well under a second."""
    cfg: dict[str, Any] = {
        "horizon_months": 6,
        "population": {"customers": 3000, "gross_adds_per_month": 40},
        "call_centre": {"seats": 5},
    }
    return _merge(cfg, overrides)


def _merge(cfg: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg
