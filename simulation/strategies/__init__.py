"""Retention strategies, injected into the engine (see :class:`Strategy`)."""

from .base import DoNothing, Strategy
from .registry import STRATEGY_TYPES, build_strategies, build_strategy
from .rules import compile_rule
from .targeting import (
    DEFAULT_SCORE_WEIGHTS,
    KEY_MOMENTS,
    KeyMomentTriggers,
    RuleTargeting,
    ScoreThreshold,
    churn_score,
)

__all__ = [
    "DEFAULT_SCORE_WEIGHTS",
    "KEY_MOMENTS",
    "STRATEGY_TYPES",
    "DoNothing",
    "KeyMomentTriggers",
    "RuleTargeting",
    "ScoreThreshold",
    "Strategy",
    "build_strategies",
    "build_strategy",
    "churn_score",
    "compile_rule",
]
