"""Customer data and value: from real customer tables and campaign history to scored options.

Modules, one idea each: :mod:`.mapping` (column mapping), :mod:`.lifecycle` (stages),
:mod:`.value` (value index, matrix, tiers, keep/develop/retrench), :mod:`.segments` (k-means
behaviour clusters), :mod:`.tags` (safe tag-rule language), :mod:`.retention` (sBG fits,
hazards, CLV), :mod:`.churn_model` and :mod:`.churn_eval` (calibrated churn early warning
and its held-out report), :mod:`.uplift` (calibrated T-learner), :mod:`.policy_eval` (IPS
off-policy evaluation), :mod:`.prepare` and :mod:`.campaign` (the two worked pipelines), :mod:`.cli`.
"""

from __future__ import annotations

from .campaign import CampaignResult, UpliftConfig, greedy_plan, load_uplift_config, run_campaign
from .churn_eval import ChurnReport, ChurnRisk, churn_risk, evaluate_churn_model
from .churn_model import ChurnModel, fit_churn_model
from .errors import MappingError, ScoringError, TagRuleError, UpliftDataError
from .lifecycle import STAGES, lifecycle_stage
from .mapping import CustomerMapping, GeneratedId, load_customers, load_mapping
from .policy_eval import PolicyValue, evaluate_policies, ips_value
from .prepare import PrepareConfig, Prepared, load_prepare_config, prepare
from .retention import (
    ExitHazards,
    SBGFit,
    churn_flag,
    churn_within,
    fit_exit_hazards,
    fit_sbg,
    fit_sbg_cohorts,
    fit_sbg_hazard,
    hazards,
    monthly_hazards,
    residual_value,
    residual_value_constant,
    survival,
    yearly_hazards,
)
from .fitted import MODEL_FILES, FittedModel, fingerprint, fitted_keys, load_model, model_files
from .segments import SegmentModel, Segmentation, apply_segments, behaviour_segments, segment_names
from .tags import evaluate as evaluate_rule
from .tags import parse_rule, threshold_for_count
from .uplift import Arm, UpliftModel, fit_uplift, scored_options
from .value import (
    POLICY,
    TIERS,
    RankReference,
    band_cuts,
    rank_references,
    tier_policy,
    value_bands,
    value_index,
    value_matrix,
    value_tiers,
)

__all__ = [
    "MODEL_FILES",
    "POLICY",
    "STAGES",
    "TIERS",
    "Arm",
    "CampaignResult",
    "ChurnModel",
    "ChurnReport",
    "ChurnRisk",
    "CustomerMapping",
    "GeneratedId",
    "ExitHazards",
    "FittedModel",
    "MappingError",
    "PolicyValue",
    "PrepareConfig",
    "Prepared",
    "RankReference",
    "SBGFit",
    "ScoringError",
    "SegmentModel",
    "Segmentation",
    "TagRuleError",
    "UpliftConfig",
    "UpliftDataError",
    "UpliftModel",
    "apply_segments",
    "band_cuts",
    "behaviour_segments",
    "churn_flag",
    "churn_risk",
    "churn_within",
    "evaluate_churn_model",
    "evaluate_policies",
    "evaluate_rule",
    "fingerprint",
    "fit_churn_model",
    "fit_exit_hazards",
    "fit_sbg",
    "fit_sbg_cohorts",
    "fit_sbg_hazard",
    "fit_uplift",
    "fitted_keys",
    "greedy_plan",
    "hazards",
    "ips_value",
    "lifecycle_stage",
    "load_customers",
    "load_mapping",
    "load_model",
    "load_prepare_config",
    "load_uplift_config",
    "model_files",
    "monthly_hazards",
    "parse_rule",
    "prepare",
    "rank_references",
    "residual_value",
    "residual_value_constant",
    "run_campaign",
    "scored_options",
    "segment_names",
    "survival",
    "threshold_for_count",
    "tier_policy",
    "value_bands",
    "value_index",
    "value_matrix",
    "value_tiers",
    "yearly_hazards",
]
