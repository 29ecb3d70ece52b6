"""Erlang C: the M/M/c results the call centre is validated against.

With offered load A = lambda * h Erlang (h the mean handle time) on c agents (A < c):

    P(wait) = (A^c / c!) * c / (c - A)  /  ( sum_{k<c} A^k / k!  +  (A^c / c!) * c / (c - A) )
    mean wait W_q = P(wait) * h / (c - A)
    service level SL(t) = 1 - P(wait) * exp(-(c - A) * t / h)

Computed with the stable Erlang B recursion B_k = A B_{k-1} / (k + A B_{k-1}), then
C = c B / (c - A (1 - B)). Example from the issue: 48 Erlang on 55 agents gives
P(wait) = 0.2387; a mean wait of 8.184 s then implies h = 8.184 * 7 / 0.2387 = 240 s, and
84.6% of calls are answered within 15 s.
"""

from __future__ import annotations

import math

from .errors import SimulationConfigError

__all__ = ["erlang_c", "mean_wait", "service_level"]


def _check(load: float, agents: int) -> None:
    if not (math.isfinite(load) and load >= 0):
        raise SimulationConfigError("load", f"(={load}) must be a finite number >= 0")
    if agents <= 0:
        raise SimulationConfigError("agents", f"(={agents}) must be > 0")
    if load >= agents:
        raise SimulationConfigError("load", f"(={load}) must be < agents (={agents}) for a stable queue")


def erlang_c(load: float, agents: int) -> float:
    """Probability that an arriving call waits (Erlang C)."""
    _check(load, agents)
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return agents * b / (agents - load * (1.0 - b))


def mean_wait(load: float, agents: int, handle_time: float) -> float:
    """Mean time in queue over all calls, in the unit of ``handle_time``."""
    return erlang_c(load, agents) * handle_time / (agents - load)


def service_level(load: float, agents: int, handle_time: float, within: float) -> float:
    """Share of calls answered within ``within`` (same unit as ``handle_time``)."""
    return 1.0 - erlang_c(load, agents) * math.exp(-(agents - load) * within / handle_time)
