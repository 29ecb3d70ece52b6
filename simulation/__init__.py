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

from .calibration import (
    CalibrationTarget, CallWave, calibrate_offer_effect, predicted_churn_reduction, xinjiang_10088,
)
from .callcentre import DAY_SECONDS, MONTH_SECONDS, CallCentre, MonthCalls
from .config import (
    ArrearsConfig, CallCentreConfig, ChannelConfig, FatigueConfig, LifecycleConfig, OfferConfig,
    PopulationConfig, SimConfig, UsageConfig, build_config, load_scenario_file,
)
from .contacts import ContactPlan
from .engine import Simulation, simulate
from .erlang import erlang_c, mean_wait, service_level
from .errors import SimulationConfigError
from .experiment import DEFAULT_COMPARE_KPIS, ExperimentResult, mean_ci, run_experiment
from .kpis import TOTAL_KPIS, RunResult
from .markov import absorption_times, monthly_matrix, occupancy, truncated_occupancy
from .scenario import Scenario, bundled_scenarios, load_scenario, scenario_from_mapping
from .stages import STAGE_NAMES, TIER_NAMES
from .strategies import (
    DEFAULT_SCORE_WEIGHTS, KEY_MOMENTS, STRATEGY_TYPES, DoNothing, KeyMomentTriggers,
    RuleTargeting, ScoreThreshold, Strategy, build_strategies, build_strategy, churn_score,
    compile_rule,
)
from .streams import Streams, replication_seeds
from .view import TAGS, MonthView

__all__ = [
    # configuration and scenarios
    "SimConfig", "PopulationConfig", "LifecycleConfig", "ArrearsConfig", "UsageConfig",
    "FatigueConfig", "CallCentreConfig", "ChannelConfig", "OfferConfig", "build_config",
    "load_scenario_file", "Scenario", "load_scenario", "bundled_scenarios",
    "scenario_from_mapping",
    "SimulationConfigError", "STAGE_NAMES", "TIER_NAMES",
    # running
    "Simulation", "simulate", "Streams", "replication_seeds", "RunResult", "TOTAL_KPIS",
    "run_experiment", "ExperimentResult", "mean_ci", "DEFAULT_COMPARE_KPIS",
    # strategies
    "Strategy", "DoNothing", "RuleTargeting", "ScoreThreshold", "KeyMomentTriggers",
    "build_strategy", "build_strategies", "compile_rule", "ContactPlan", "MonthView", "TAGS",
    "CallWave", "KEY_MOMENTS", "STRATEGY_TYPES", "DEFAULT_SCORE_WEIGHTS", "churn_score",
    # call centre and theory
    "CallCentre", "MonthCalls", "MONTH_SECONDS", "DAY_SECONDS", "erlang_c", "mean_wait", "service_level",
    "monthly_matrix", "absorption_times", "occupancy", "truncated_occupancy",
    # calibration
    "CalibrationTarget", "xinjiang_10088", "calibrate_offer_effect", "predicted_churn_reduction",
]
