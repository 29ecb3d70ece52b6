"""The small interface every MIP backend implements.

A backend turns a :class:`~optimizer.model.MatrixModel` into numbers and nothing else: it
knows no scenario, no customers and no report. That keeps the model identical across
backends (the benchmark compares solvers, not two model builders) and keeps each backend
short enough to read in one sitting.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from ..model import MatrixModel

__all__ = ["Backend", "RawStatus", "RawSolution", "SolveOptions"]


class RawStatus(enum.Enum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    TIME_LIMIT = "time_limit"
    INFEASIBLE = "infeasible"
    ERROR = "error"


@dataclass(frozen=True)
class SolveOptions:
    time_limit: float | None = None
    mip_gap: float = 1e-6
    threads: int = 1
    seed: int = 0
    # MIP: stop at the first plan whose objective reaches this, when a bound proven elsewhere
    # (decomposition's Lagrangian bound) makes any such plan good enough. HiGHS only; the
    # other backends solve to ``mip_gap``.
    stop_at: float | None = None

    def after(self, spent: float) -> "SolveOptions":
        """These options with ``spent`` seconds taken off the time limit: one limit bounds a
        whole solve, however many solver calls it makes (a floor of 0.01 s keeps it positive)."""
        if self.time_limit is None:
            return self
        return replace(self, time_limit=max(0.01, self.time_limit - spent))


@dataclass(frozen=True)
class RawSolution:
    status: RawStatus
    x: np.ndarray | None  # column values; None when the solver found none
    objective: float | None
    bound: float | None  # best proven upper bound (maximisation); None if unknown
    runtime: float
    row_duals: np.ndarray | None = None  # LP only: d(objective)/d(row bound), maximisation sense
    col_duals: np.ndarray | None = None  # LP only: reduced costs d(objective)/d(x_j); None if not exposed
    message: str = ""


class Backend(Protocol):
    name: str

    def available(self) -> bool: ...

    def version(self) -> str: ...

    def solve_mip(self, model: MatrixModel, options: SolveOptions, start: np.ndarray | None = None) -> RawSolution:
        """Solve with the integrality of ``model.integer``; ``bound`` is the best proven bound.

        ``start`` is a feasible solution the solver may begin from.
        """
        ...

    def solve_lp(self, model: MatrixModel, options: SolveOptions) -> RawSolution:
        """Solve the LP relaxation; ``row_duals`` are the marginal values of each row's active bound."""
        ...
