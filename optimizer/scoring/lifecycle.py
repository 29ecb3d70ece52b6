"""Lifecycle stage from tenure, a usage trend and an exit flag (the lifecycle of operators' stock-customer marketing).

Stages: acquisition (just joined), growth (accepted but unstable: keep contact light),
maturity (over ``growth_max_months``: "stock" customers), decline (usage falling, from any
stage), exit (churned). Exit overrides decline, which overrides the tenure stages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import MappingError

__all__ = ["STAGES", "lifecycle_stage"]

STAGES = ("acquisition", "growth", "maturity", "decline", "exit")


def lifecycle_stage(
    customers: pd.DataFrame,
    *,
    tenure: str = "tenure_months",
    acquisition_max_months: float = 2,
    growth_max_months: float = 6,
    decline: str | None = None,
    exit: str | None = None,
) -> pd.Series:
    """Stage per customer. ``decline`` and ``exit`` name optional boolean columns."""
    if not 0 <= acquisition_max_months < growth_max_months:
        raise MappingError(
            f"lifecycle: need 0 <= acquisition_max_months(={acquisition_max_months}) "
            f"< growth_max_months(={growth_max_months})"
        )
    for col in (tenure, decline, exit):
        if col is not None and col not in customers.columns:
            raise MappingError(f"lifecycle: column '{col}' not in customers")
    t = customers[tenure].to_numpy(float)
    stage = np.where(
        t <= acquisition_max_months, "acquisition", np.where(t <= growth_max_months, "growth", "maturity")
    ).astype(object)
    if decline is not None:
        stage[customers[decline].to_numpy(bool)] = "decline"
    if exit is not None:
        stage[customers[exit].to_numpy(bool)] = "exit"
    return pd.Series(stage, index=customers.index, name="stage", dtype=object)
