"""CampaignLab lifecycle simulator: test retention strategies before launch.

A hybrid discrete-event simulation of a mobile operator's customer base: the lifecycle
(acquisition, growth, maturity, decline, exit), usage and arrears are updated month by month
with numpy over the whole base, and the outbound call centre's seats, shifts and queue run as
SimPy processes. Strategies are injected objects; experiments run replications in parallel on
common random numbers and compare strategies with paired confidence intervals.

    from simulation import build_config, run_experiment, DoNothing, RuleTargeting
    cfg = build_config({"population": {"customers": 50_000}})
    res = run_experiment(cfg, {"none": DoNothing(), "rule": RuleTargeting("usage_drop")},
                         replications=8, seed=1, workers=2)
    res.compare("none")
"""

from .base import CustomerBase, base_from_customers
from .calibration import (
    CalibrationTarget,
    CallWave,
    calibrate_offer_effect,
    predicted_churn_reduction,
    xinjiang_10088,
)
from .callcentre import DAY_SECONDS, MONTH_DAYS, MONTH_SECONDS, CallCentre, MonthCalls
from .config import (
    ArrearsConfig,
    CallCentreConfig,
    ChannelConfig,
    FatigueConfig,
    LifecycleConfig,
    OfferConfig,
    PopulationConfig,
    SimConfig,
    UsageConfig,
    build_config,
    load_scenario_file,
)
from .contact_log import ContactLog
from .contacts import ContactPlan
from .engine import Simulation, simulate
from .erlang import ErlangA, erlang_a, erlang_c, mean_wait, service_level
from .errors import SimulationConfigError
from .experiment import DEFAULT_COMPARE_KPIS, ExperimentResult, mean_ci, run_experiment
from .kpis import TOTAL_KPIS, RunResult
from .markov import absorption_times, monthly_matrix, occupancy, truncated_occupancy
from .presets import constant_hazard_config, small_config
from .scenario import Scenario, bundled_scenarios, load_scenario, scenario_from_mapping
from .stages import STAGE_NAMES, TIER_NAMES
from .strategies import (
    DEFAULT_SCORE_WEIGHTS,
    KEY_MOMENTS,
    STRATEGY_TYPES,
    DoNothing,
    KeyMomentTriggers,
    RuleTargeting,
    ScoreThreshold,
    Strategy,
    build_strategies,
    build_strategy,
    churn_score,
    compile_rule,
)
from .strategies.optimizing import OptimizerStrategy, greedy_plan
from .strategies.replay import PlanReplay
from .strategies.valuation import OptionEstimates, estimate_options, stay_months
from .streams import Streams, replication_seeds
from .view import TAGS, MonthView

__all__ = [
    "DAY_SECONDS",
    "DEFAULT_COMPARE_KPIS",
    "DEFAULT_SCORE_WEIGHTS",
    "KEY_MOMENTS",
    "MONTH_DAYS",
    "MONTH_SECONDS",
    "STAGE_NAMES",
    "STRATEGY_TYPES",
    "TAGS",
    "TIER_NAMES",
    "TOTAL_KPIS",
    "ArrearsConfig",
    "CalibrationTarget",
    "CallCentre",
    "CallCentreConfig",
    "CallWave",
    "ChannelConfig",
    "ContactLog",
    "ContactPlan",
    "CustomerBase",
    "DoNothing",
    "ErlangA",
    "ExperimentResult",
    "FatigueConfig",
    "KeyMomentTriggers",
    "LifecycleConfig",
    "MonthCalls",
    "MonthView",
    "OfferConfig",
    "OptimizerStrategy",
    "OptionEstimates",
    "PlanReplay",
    "PopulationConfig",
    "RuleTargeting",
    "RunResult",
    "Scenario",
    "ScoreThreshold",
    "SimConfig",
    "Simulation",
    "SimulationConfigError",
    "Strategy",
    "Streams",
    "UsageConfig",
    "absorption_times",
    "base_from_customers",
    "build_config",
    "build_strategies",
    "build_strategy",
    "bundled_scenarios",
    "calibrate_offer_effect",
    "churn_score",
    "compile_rule",
    "constant_hazard_config",
    "erlang_a",
    "erlang_c",
    "estimate_options",
    "greedy_plan",
    "load_scenario",
    "load_scenario_file",
    "mean_ci",
    "mean_wait",
    "monthly_matrix",
    "occupancy",
    "predicted_churn_reduction",
    "replication_seeds",
    "run_experiment",
    "scenario_from_mapping",
    "service_level",
    "simulate",
    "small_config",
    "stay_months",
    "truncated_occupancy",
    "xinjiang_10088",
]
