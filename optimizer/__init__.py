"""CampaignLab's optimizer: which customer gets which offer through which channel.

Data flows one way: a :class:`Scenario` and its tables make a :class:`Problem`;
:func:`solve` returns a :class:`SolveResult`; :func:`verify_plan` rechecks any plan
against the inputs; :mod:`optimizer.report` writes what a budget owner reads.
"""

from .demo import generate_base
from .errors import InputError
from .problem import CouplingLimit, Problem, load_problem
from .result import Diagnosis, LimitReport, NoPlanError, SolveResult, Status
from .scenario import Channel, ContactPolicy, Offer, Rule, Scenario
from .scenario_file import load_scenario
from .solve import solve
from .verify import Verification, verify_plan

__version__ = "0.1.0"

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
