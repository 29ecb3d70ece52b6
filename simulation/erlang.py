"""Erlang C: the M/M/c results the call centre is validated against.

With offered load A = lambda * h Erlang (h the mean handle time) on c agents (A < c):

    P(wait) = (A^c / c!) * c / (c - A)  /  ( sum_{k<c} A^k / k!  +  (A^c / c!) * c / (c - A) )
    mean wait W_q = P(wait) * h / (c - A)
    service level SL(t) = 1 - P(wait) * exp(-(c - A) * t / h)

Computed with the stable Erlang B recursion B_k = A B_{k-1} / (k + A B_{k-1}), then
C = c B / (c - A (1 - B)). Example from the issue: 48 Erlang on 55 agents gives
P(wait) = 0.2387; a mean wait of 8.184 s then implies h = 8.184 * 7 / 0.2387 = 240 s, and
84.6% of calls are answered within 15 s.

Erlang A (M/M/n+M: callers hang up after an exponential patience of rate theta; Palm 1946;
Garnett, Mandelbaum and Reiman 2002, "Designing a call center with impatient customers",
Manufacturing & Service Operations Management 4(3)) is the birth-death process on the number
in system k with births lambda and deaths min(k, n) mu + max(k - n, 0) theta. It is stable
at any load when theta > 0. By PASTA P(wait) = P(k >= n); with E[Q] the mean queue, Little
gives the mean wait over all arrivals E[Q] / lambda, and the abandonment flow theta E[Q]
gives P(abandon) = theta E[Q] / lambda = theta * mean wait. Solved exactly: the states up to
n through Erlang B (sum_{k<=n} p_k = p_n / B(n, A)), the queue states k = n + j from
p_{n+j} = p_n prod_{i<=j} lambda / (n mu + i theta) until a term falls below 1e-15 of the
largest, in logarithms so that heavy overload does not overflow. theta = 0 gives the
geometric tail of Erlang C in closed form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import SimulationConfigError

__all__ = ["ErlangA", "erlang_a", "erlang_c", "mean_wait", "service_level"]

#: Queue states beyond this many are not summed (a patience rate that small on an
#: overloaded queue needs a queue longer than any call centre: use Erlang C or more agents).
_MAX_QUEUE_STATES = 5_000_000
_LOG_TRUNCATE = math.log(1e-15)


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


@dataclass(frozen=True)
class ErlangA:
    """Steady state of M/M/n+M; times in the unit of 1 / the rates."""

    p_wait: float  # probability that an arrival finds every server busy (waits > 0)
    p_abandon: float  # probability that an arrival hangs up before service
    mean_wait: float  # mean time in queue over all arrivals, those who hang up included
    mean_queue: float  # mean number waiting


def _erlang_b(load: float, servers: int) -> float:
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def erlang_a(arrival_rate: float, service_rate: float, servers: int, patience_rate: float) -> ErlangA:
    """Exact Erlang A (M/M/n+M) by the birth-death solution (see the module docstring).

    ``patience_rate`` is 1 / mean patience; 0 means nobody hangs up (Erlang C, which then
    needs ``arrival_rate < servers * service_rate``).
    """
    lam, mu, n, theta = float(arrival_rate), float(service_rate), int(servers), float(patience_rate)
    if not (math.isfinite(lam) and lam >= 0):
        raise SimulationConfigError("arrival_rate", f"(={arrival_rate}) must be a finite number >= 0")
    if not (math.isfinite(mu) and mu > 0):
        raise SimulationConfigError("service_rate", f"(={service_rate}) must be a finite number > 0")
    if n <= 0:
        raise SimulationConfigError("servers", f"(={servers}) must be > 0")
    if not (math.isfinite(theta) and theta >= 0):
        raise SimulationConfigError("patience_rate", f"(={patience_rate}) must be a finite number >= 0")
    if lam == 0.0:
        return ErlangA(0.0, 0.0, 0.0, 0.0)
    b = _erlang_b(lam / mu, n)
    if b == 0.0:  # B below the smallest double (load far below n): nobody waits
        return ErlangA(0.0, 0.0, 0.0, 0.0)
    if theta == 0.0:
        _check(lam / mu, n)
        r = lam / (n * mu)
        log_t, log_u = math.log(r / (1.0 - r)), math.log(r / (1.0 - r) ** 2)
    else:
        # Tail sums T = sum_{j>=1} q_j and U = sum_{j>=1} j q_j, q_j = p_{n+j} / p_n, kept
        # as exp(m) * (t, u) with m the largest log q_j so far.
        log_lam = math.log(lam)
        lq, m, t, u = 0.0, 0.0, 0.0, 0.0
        j = 0
        while True:
            j += 1
            if j > _MAX_QUEUE_STATES:
                raise SimulationConfigError(
                    "patience_rate",
                    f"(={patience_rate}) too small for load {lam / mu:g} on {n} servers: "
                    f"the queue needs more than {_MAX_QUEUE_STATES} states",
                )
            death = n * mu + j * theta
            lq += log_lam - math.log(death)
            if lq > m:
                scale = math.exp(m - lq)
                t, u, m = t * scale, u * scale, lq
            w = math.exp(lq - m)
            t += w
            u += j * w
            if death > lam and lq + math.log(j) - m < _LOG_TRUNCATE:
                break
        log_t, log_u = m + math.log(t), m + math.log(u)
    # p_n = 1 / (1 / B + T), in logarithms.
    log_inv_b = -math.log(b)
    hi = max(log_inv_b, log_t)
    log_pn = -(hi + math.log(math.exp(log_inv_b - hi) + math.exp(log_t - hi)))
    p_wait = math.exp(log_pn) + math.exp(log_pn + log_t)
    mean_queue = math.exp(log_pn + log_u)
    return ErlangA(
        p_wait=min(p_wait, 1.0),
        p_abandon=theta * mean_queue / lam,
        mean_wait=mean_queue / lam,
        mean_queue=mean_queue,
    )
