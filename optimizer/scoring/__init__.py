"""Customer data and value: from real customer tables and campaign history to scored options.

Modules, one idea each: :mod:`.mapping` (column mapping), :mod:`.lifecycle` (stages),
:mod:`.value` (value index, matrix, tiers, keep/develop/retrench), :mod:`.segments` (k-means
behaviour clusters), :mod:`.tags` (safe tag-rule language), :mod:`.retention` (sBG fits,
hazards, CLV), :mod:`.uplift` (calibrated T-learner), :mod:`.policy_eval` (IPS off-policy
evaluation), :mod:`.prepare` and :mod:`.campaign` (the two worked pipelines), :mod:`.cli`.
"""

from __future__ import annotations

from .campaign import CampaignResult, UpliftConfig, greedy_plan, load_uplift_config, run_campaign
from .errors import MappingError, ScoringError, TagRuleError, UpliftDataError
from .lifecycle import STAGES, lifecycle_stage
from .mapping import CustomerMapping, GeneratedId, load_customers, load_mapping
from .policy_eval import PolicyValue, evaluate_policies, ips_value
from .prepare import PrepareConfig, Prepared, load_prepare_config, prepare
from .retention import (
    ExitHazards,
    SBGFit,
    fit_exit_hazards,
    fit_sbg,
    fit_sbg_cohorts,
    fit_sbg_hazard,
    hazards,
    monthly_hazards,
    residual_value,
    survival,
    yearly_hazards,
)
from .segments import Segmentation, behaviour_segments
from .tags import evaluate as evaluate_rule
from .tags import parse_rule, threshold_for_count
from .uplift import Arm, UpliftModel, fit_uplift, scored_options
from .value import POLICY, TIERS, tier_policy, value_bands, value_index, value_matrix, value_tiers

__all__ = [
    "POLICY",
    "STAGES",
    "TIERS",
    "Arm",
    "CampaignResult",
    "CustomerMapping",
    "GeneratedId",
    "ExitHazards",
    "MappingError",
    "PolicyValue",
    "PrepareConfig",
    "Prepared",
    "SBGFit",
    "ScoringError",
    "Segmentation",
    "TagRuleError",
    "UpliftConfig",
    "UpliftDataError",
    "UpliftModel",
    "behaviour_segments",
    "evaluate_policies",
    "evaluate_rule",
    "fit_exit_hazards",
    "fit_sbg",
    "fit_sbg_cohorts",
    "fit_sbg_hazard",
    "fit_uplift",
    "greedy_plan",
    "hazards",
    "ips_value",
    "lifecycle_stage",
    "load_customers",
    "load_mapping",
    "load_prepare_config",
    "load_uplift_config",
    "monthly_hazards",
    "parse_rule",
    "prepare",
    "residual_value",
    "run_campaign",
    "scored_options",
    "survival",
    "threshold_for_count",
    "tier_policy",
    "value_bands",
    "value_index",
    "value_matrix",
    "value_tiers",
    "yearly_hazards",
]
