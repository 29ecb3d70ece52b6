"""Shared scenario builders for the simulation tests (small, fast, fixed seeds).

A plain module rather than conftest.py: the tests folder has no __init__.py, and a second
conftest.py module would clash with the other test folders' ones by module name.
"""

from __future__ import annotations

from typing import Any

from simulation import TIER_NAMES

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
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg


def small_config(**overrides: Any) -> dict[str, Any]:
    """A default-model scenario small enough to run in well under a second."""
    cfg: dict[str, Any] = {
        "horizon_months": 6,
        "population": {"customers": 3000, "gross_adds_per_month": 40},
        "call_centre": {"seats": 5},
    }
    cfg.update(overrides)
    return cfg
