"""Calibration to the 10088 outbound retention programme (Xinjiang, Aug 2013 - Jan 2014).

Three published figures: 64.9% of called customers connected, 51.5% of connected agreed,
and churn among called mid/high-value customers was 16.4% lower than among all
mid/high-value customers. The first two are direct parameters (``call_centre.connect_rate``,
the offer's ``accept_prob``); the simulation must reproduce them as measured rates, which
checks that shifts, capacity and the dial order do not bias who is reached. The third
fixes the one unobserved parameter, the offer's churn multiplier.

How: a wave calls a random share f of the mid/high-value stock base in month 0; a called
customer accepts with probability a = connect x acceptance. Over the 6-month window, a
customer starting in stage s churns with probability c0(s) without the offer and c1(s; M)
with it (exit hazards x M; a declining acceptor recovers with the offer's recovery
probability), both from the Markov chain of :mod:`simulation.markov` raised to the 6th
power. With the stage mix pi,

    called = pi . ((1 - a) c0 + a c1(M)),   all = f called + (1 - f) pi . c0,
    1 - called / all = 0.164,

solved for M by bracketing root finding; the offer's ``churn_multiplier`` is M divided by
the contract lock-in multiplier when the offer signs a contract (both apply).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .config import SimConfig
from .contacts import ContactPlan
from .errors import SimulationConfigError
from .markov import monthly_matrix
from .stages import DECLINE, MATURITY, STAGE_NAMES, TIER_NAMES
from .view import MonthView

__all__ = [
    "CalibrationTarget",
    "CallWave",
    "calibrate_offer_effect",
    "predicted_churn_reduction",
    "xinjiang_10088",
]


@dataclass(frozen=True)
class CalibrationTarget:
    connect_rate: float
    acceptance_rate: float
    churn_reduction_called: float
    window_months: int


def xinjiang_10088() -> CalibrationTarget:
    """The wave-1 figures of the sources (150,000 called, 64.9% connected, 51.5% agreed)."""
    return CalibrationTarget(0.649, 0.515, 0.164, 6)


def _window_churn(cfg: SimConfig, multiplier: float, months: int) -> np.ndarray:
    """P(exit within ``months``) from each live stage with exit hazards x ``multiplier``."""
    P = monthly_matrix(cfg)
    live = P[:4, :4].copy()
    exit_p = P[:4, 4] * multiplier
    # Rebuild rows with the scaled exit (decline and progression keep their probabilities,
    # staying absorbs the difference), as the engine's partition does.
    live[np.arange(4), np.arange(4)] += P[:4, 4] - exit_p
    M = np.zeros((5, 5))
    M[:4, :4], M[:4, 4], M[4, 4] = live, exit_p, 1.0
    return np.linalg.matrix_power(M, months)[:4, 4]


def predicted_churn_reduction(
    cfg: SimConfig, offer: str, called_fraction: float, total_multiplier: float, months: int
) -> float:
    """1 - churn(called) / churn(all mid/high) for the wave described in the docstring."""
    pc = cfg.population
    pi = np.array([pc.initial_stage_mix[s] for s in STAGE_NAMES])
    o = cfg.offers[offer]
    a = cfg.call_centre.connect_rate * o.accept_prob
    c0 = _window_churn(cfg, 1.0, months)
    c1 = _window_churn(cfg, total_multiplier, months)
    c1_start = c1.copy()  # a declining acceptor recovers to maturity with recovery_prob
    c1_start[DECLINE] = o.recovery_prob * c1[MATURITY] + (1 - o.recovery_prob) * c1[DECLINE]
    called = pi @ ((1 - a) * c0 + a * c1_start)
    base = pi @ c0
    everyone = called_fraction * called + (1 - called_fraction) * base
    return float(1.0 - called / everyone)


def calibrate_offer_effect(
    cfg: SimConfig, offer: str, called_fraction: float, target: CalibrationTarget | None = None
) -> float:
    """The offer ``churn_multiplier`` that reproduces the target churn reduction."""
    target = target or xinjiang_10088()
    if offer not in cfg.offers:
        raise SimulationConfigError("offer", f"(={offer!r}) is not configured")
    if not 0 < called_fraction <= 1:
        raise SimulationConfigError("called_fraction", f"(={called_fraction}) must be in (0, 1]")
    lock = cfg.lifecycle.contract_lock_in_multiplier if cfg.offers[offer].contract else 1.0

    def gap(m: float) -> float:
        return (
            predicted_churn_reduction(cfg, offer, called_fraction, m, target.window_months)
            - target.churn_reduction_called
        )

    if gap(0.0) < 0:
        raise SimulationConfigError(
            "calibration",
            "even an offer that stops all churn cannot "
            f"reach a {target.churn_reduction_called:.1%} reduction with "
            "this acceptance; check connect and acceptance rates",
        )
    total = brentq(gap, 0.0, 1.0, xtol=1e-10)
    return total / lock


class CallWave:
    """One outbound wave: a random share of live customers in some tiers, in one month."""

    uses_calls = True

    def __init__(
        self,
        fraction: float,
        tiers: tuple[str, ...] = ("premium", "loyal", "potential"),
        offer: str = "bill_credit",
        month: int = 0,
        name: str = "call_wave",
    ) -> None:
        if not 0 < fraction <= 1:
            raise SimulationConfigError(f"strategies.{name}.fraction", f"(={fraction}) must be in (0, 1]")
        for t in tiers:
            if t not in TIER_NAMES:
                raise SimulationConfigError(f"strategies.{name}.tiers", f"(={t!r}) is not a tier")
        self.fraction, self.tiers, self.offer, self.month, self.name = (
            fraction,
            tuple(tiers),
            offer,
            month,
            name,
        )

    def validate(self, config: SimConfig) -> None:
        if self.offer not in config.offers:
            raise SimulationConfigError(
                f"strategies.{self.name}.offer",
                f"(={self.offer!r}) is not configured; known: {tuple(config.offers)}",
            )

    def plan(self, view: MonthView, rng: np.random.Generator) -> ContactPlan:
        if view.month != self.month:
            return ContactPlan.empty()
        codes = [TIER_NAMES.index(t) for t in self.tiers]
        idx = np.flatnonzero(view.eligible & np.isin(view.tier, codes))
        k = round(self.fraction * idx.size)
        chosen = rng.permutation(idx)[:k]
        return ContactPlan.build(view.config, chosen, self.offer, "call")
