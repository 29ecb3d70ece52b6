"""CampaignLab's optimizer: which customer gets which offer through which channel.

Data flows one way: a :class:`Scenario` and its tables make a :class:`Problem`;
:func:`solve` returns a :class:`SolveResult`; :func:`verify_plan` rechecks any plan
against the inputs; :mod:`optimizer.report` writes what a budget owner reads.

The names below are imported on first use (PEP 562), so that ``import optimizer.errors``
or ``optimizer.scenario_file`` does not load pandas, SciPy and the solvers with them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "Channel": "scenario", "ContactPolicy": "scenario", "Offer": "scenario", "Rule": "scenario", "Scenario": "scenario",
    "CouplingLimit": "limits", "Problem": "problem", "load_problem": "problem",
    "Diagnosis": "result", "LimitReport": "result", "NoPlanError": "result", "SolveResult": "result", "Status": "result",
    "InputError": "errors", "generate_base": "demo", "load_scenario": "scenario_file", "solve": "solving",
    "Verification": "verify", "verify_plan": "verify",
}

__all__ = [
    "Channel",
    "ContactPolicy",
    "CouplingLimit",
    "Diagnosis",
    "InputError",
    "LimitReport",
    "NoPlanError",
    "Offer",
    "Problem",
    "Rule",
    "Scenario",
    "SolveResult",
    "Status",
    "Verification",
    "generate_base",
    "load_problem",
    "load_scenario",
    "solve",
    "verify_plan",
]

if TYPE_CHECKING:
    from .demo import generate_base
    from .errors import InputError
    from .limits import CouplingLimit
    from .problem import Problem, load_problem
    from .result import Diagnosis, LimitReport, NoPlanError, SolveResult, Status
    from .scenario import Channel, ContactPolicy, Offer, Rule, Scenario
    from .scenario_file import load_scenario
    from .solving import solve
    from .verify import Verification, verify_plan


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'optimizer' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
