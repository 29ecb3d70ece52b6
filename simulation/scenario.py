"""Scenario files: the simulation settings plus the strategies to compare.

A scenario YAML holds the :class:`~simulation.config.SimConfig` keys at top level, and four
keys of its own: ``strategies`` (label -> spec), ``baseline`` (the label paired differences
are taken against), ``replications`` and ``seed`` (defaults the CLI can override). Bundled
scenarios ship as package data in ``simulation/bundled/`` and are found by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .config import SimConfig, build_config, load_scenario_file
from .errors import SimulationConfigError
from .strategies.base import Strategy
from .strategies.registry import build_strategies

__all__ = ["Scenario", "bundled_scenarios", "load_scenario", "scenario_from_mapping"]

_OWN_KEYS = ("strategies", "baseline", "replications", "seed")


@dataclass(frozen=True)
class Scenario:
    config: SimConfig
    strategies: dict[str, Strategy]
    baseline: str
    replications: int
    seed: int


def bundled_scenarios() -> dict[str, Path]:
    """Name -> path of every bundled scenario file."""
    root = resources.files("simulation") / "bundled"
    return {Path(str(p)).stem: Path(str(p)) for p in root.iterdir() if str(p).endswith(".yaml")}


def scenario_from_mapping(data: Mapping[str, Any]) -> Scenario:
    cfg = build_config({k: v for k, v in data.items() if k not in _OWN_KEYS})
    strategies = build_strategies(data.get("strategies") or {"do_nothing": {"type": "do_nothing"}})
    baseline = data.get("baseline", next(iter(strategies)))
    if baseline not in strategies:
        raise SimulationConfigError("baseline", f"(={baseline!r}) is not one of the strategies {sorted(strategies)}")
    reps = data.get("replications", 10)
    seed = data.get("seed", 0)
    for key, val in (("replications", reps), ("seed", seed)):
        if isinstance(val, bool) or not isinstance(val, int) or val < (1 if key == "replications" else 0):
            raise SimulationConfigError(
                key, f"(={val!r}) must be an integer {'>= 1' if key == 'replications' else '>= 0'}"
            )
    return Scenario(cfg, strategies, str(baseline), int(reps), int(seed))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a scenario from a YAML path, or by the name of a bundled scenario."""
    p = Path(name_or_path)
    if not p.exists():
        bundled = bundled_scenarios()
        if str(name_or_path) in bundled:
            p = bundled[str(name_or_path)]
        else:
            raise SimulationConfigError(
                "scenario",
                f"(={str(name_or_path)!r}) is neither a file nor a bundled scenario; bundled: {sorted(bundled)}",
            )
    return scenario_from_mapping(load_scenario_file(p))
