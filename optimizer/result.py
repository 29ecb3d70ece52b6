"""What a solve returns: a status, a plan, its bound, and what each limit costs."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Status", "LimitReport", "Diagnosis", "SolveResult", "NoPlanError"]


class Status(str, enum.Enum):
    """How a solve ended. A str, so that ``result.status == "OPTIMAL"`` holds for an optimal
    result and the status prints and serialises as its name (``str(Status.OPTIMAL)`` is
    ``"OPTIMAL"`` on every Python version)."""

    OPTIMAL = "OPTIMAL"  # the plan is optimal within the requested gap (proven by the bound)
    FEASIBLE = "FEASIBLE"  # a plan meeting every limit, not proven optimal (e.g. stopped on a node limit)
    TIME_LIMIT = "TIME_LIMIT"  # stopped by the time limit; best plan (if any) with its bound and gap
    INFEASIBLE = "INFEASIBLE"  # no plan meets every limit; see the diagnosis
    ERROR = "ERROR"  # the solver failed; the message says how

    def __str__(self) -> str:
        return self.value


class NoPlanError(RuntimeError):
    """Raised when a result is asked for a plan or objective it does not have."""


@dataclass(frozen=True)
class LimitReport:
    """One coupling limit after the solve.

    ``shadow_price`` is what loosening the limit by one ``unit`` is worth in expected net
    value (yuan), from the dual of the LP relaxation; 0 for a limit that does not bind there.
    """

    name: str
    kind: str
    sense: str
    limit: float
    usage: float
    shadow_price: float
    unit: str
    description: str

    @property
    def binding(self) -> bool:
        return abs(self.usage - self.limit) <= 1e-6 * max(1.0, abs(self.limit))

    def sentence(self) -> str:
        verb = "raising" if self.sense == "<=" else "lowering"
        return f"{verb} {self.name} by one {self.unit} is worth {self.shadow_price:,.4g} yuan"


@dataclass(frozen=True)
class Diagnosis:
    """Why no plan exists: the limits that must give way, and by how much (elastic relaxation)."""

    violated: tuple[tuple[str, float, str], ...]  # (limit, shortfall in its unit, explanation)
    conflicts_with: tuple[str, ...]  # what must give way instead if the violated limits are kept
    method: str

    def summary(self) -> str:
        parts = [f"{name}: {why}" for name, _, why in self.violated]
        text = "relax " + "; ".join(parts) if parts else "no limit found to relax"
        if self.conflicts_with:
            text += f". Or keep them and relax: {', '.join(self.conflicts_with)}"
        return text


@dataclass(frozen=True, eq=False)
class SolveResult:
    """A solve's outcome. Asking for the plan or objective of a result without one raises."""

    status: Status
    chosen: np.ndarray | None  # 0/1 per option of the problem, None when there is no plan
    plan_table: pd.DataFrame | None
    objective_value: float | None
    bound: float | None
    runtime: float  # seconds in the solver (MIP; the LP for shadow prices is in lp_runtime)
    solver: str
    solver_version: str
    limits: tuple[LimitReport, ...] = ()
    lp_bound: float | None = None
    lp_runtime: float = 0.0
    diagnosis: Diagnosis | None = None
    message: str = ""
    extra: dict[str, float] = field(default_factory=dict)
    #: With ``budget: {amount, confidence}``: the chance budget's figures (optimizer.chance).
    chance_budget: dict[str, Any] | None = None
    #: With ``solve_decomposed(lp_check=True)``: a second bound by another method (optimizer.decompose.lp_check).
    independent_bound: dict[str, Any] | None = None

    @property
    def has_plan(self) -> bool:
        return self.chosen is not None

    @property
    def plan(self) -> pd.DataFrame:
        if self.plan_table is None:
            raise NoPlanError(f"no plan: the solve ended {self.status.value}. {self.message}".strip())
        return self.plan_table

    @property
    def objective(self) -> float:
        if self.objective_value is None:
            raise NoPlanError(f"no objective: the solve ended {self.status.value}. {self.message}".strip())
        return self.objective_value

    @property
    def gap(self) -> float | None:
        """Relative gap (bound - objective) / max(1, |objective|); None when either is unknown."""
        if self.objective_value is None or self.bound is None:
            return None
        return max(0.0, self.bound - self.objective_value) / max(1.0, abs(self.objective_value))
