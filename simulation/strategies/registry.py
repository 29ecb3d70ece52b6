"""Strategies by name, for scenario files and the CLI.

A scenario lists strategies as ``label: {type: rule, rule: "...", offer: ..., channel: ...}``.
Unknown types and unknown keys are errors naming the key, never silently ignored.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import SimulationConfigError
from .base import DoNothing, Strategy
from .targeting import KeyMomentTriggers, RuleTargeting, ScoreThreshold

__all__ = ["STRATEGY_TYPES", "build_strategies", "build_strategy"]


def _optimizer_factory(**kwargs: Any) -> Strategy:
    from .optimizing import OptimizerStrategy  # imports the optimizer package lazily

    return OptimizerStrategy(**kwargs)


def _wave_factory(**kwargs: Any) -> Strategy:
    from ..calibration import CallWave

    if "tiers" in kwargs:
        kwargs["tiers"] = tuple(kwargs["tiers"])
    return CallWave(**kwargs)


STRATEGY_TYPES: dict[str, Callable[..., Strategy]] = {
    "do_nothing": DoNothing,
    "rule": RuleTargeting,
    "score": ScoreThreshold,
    "key_moments": KeyMomentTriggers,
    "optimizer": _optimizer_factory,
    "call_wave": _wave_factory,
}


def build_strategy(label: str, spec: Mapping[str, Any]) -> Strategy:
    """Build one strategy from its spec; the label becomes its name."""
    key = f"strategies.{label}"
    if not isinstance(spec, Mapping):
        raise SimulationConfigError(key, f"(={spec!r}) must be a mapping with a 'type'")
    kind = spec.get("type")
    if kind not in STRATEGY_TYPES:
        raise SimulationConfigError(f"{key}.type", f"(={kind!r}) is not a strategy; known: {sorted(STRATEGY_TYPES)}")
    kwargs = {k: v for k, v in spec.items() if k != "type"}
    factory = STRATEGY_TYPES[kind]
    if kind == "optimizer":
        from .optimizing import OptimizerStrategy

        target: Callable[..., Any] = OptimizerStrategy
    elif kind == "call_wave":
        from ..calibration import CallWave

        target = CallWave
    else:
        target = factory
    params = inspect.signature(target).parameters
    for k in kwargs:
        if k not in params or k == "name":
            raise SimulationConfigError(
                f"{key}.{k}",
                f"unknown key for type {kind!r}; known: {sorted(p for p in params if p != 'name')}",
            )
    try:
        return factory(name=label, **kwargs)
    except TypeError as exc:
        raise SimulationConfigError(key, str(exc)) from None


def build_strategies(specs: Mapping[str, Any]) -> dict[str, Strategy]:
    if not isinstance(specs, Mapping) or not specs:
        raise SimulationConfigError("strategies", "must map at least one label to a spec")
    return {str(label): build_strategy(str(label), spec) for label, spec in specs.items()}
