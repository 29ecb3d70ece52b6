"""Inverse questions: the least budget (or seats) whose optimal plan reaches a target.

Targets are ``retained`` (expected acceptances: the customers the plan is expected to keep)
or ``net_value`` (expected net value in yuan). The answer is a bracket ``[low, high]``: the
optimal plan at ``high`` reaches the target and the one at ``low`` does not, with
``high - low`` at most the tolerance. Bisection keeps that invariant at every step, so the
bracket is valid whatever the curve does between its ends. Optimal net value is
non-decreasing in budget and in seats (more resource only adds plans), so for ``net_value``
the bracket holds the one crossing; expected acceptances of the net-value-optimal plan are
not guaranteed monotone, so for ``retained`` the answer is "a least budget on the grid the
bisection visited", checked at both ends.

The upper end comes from the unlimited plan (the key set to no limit): if even that misses
the target, no budget reaches it and the error says what the unlimited plan achieves.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from optimizer.errors import InputError

from .inputs import ScenarioInputs, check_key
from .sweep import run_point

__all__ = ["MEASURES", "SEATS_KEY", "InverseResult", "least_resource"]

MEASURES = {"retained": "expected_acceptances", "net_value": "objective"}
SEATS_KEY = "channels.call.capacity"


@dataclass(frozen=True)
class InverseResult:
    """The bracket ``low < answer <= high`` (``high`` reaches the target) and every evaluation."""

    key: str
    measure: str
    target: float
    low: float
    high: float
    value_at_low: float
    value_at_high: float
    per_unit: float = 1.0  # e.g. calls per seat: the bracket in seats is low/per_unit, high/per_unit
    evaluations: list[tuple[float, float]] = field(default_factory=list)

    @property
    def answer(self) -> float:
        return self.high

    def sentence(self) -> str:
        unit = "seats" if self.per_unit != 1.0 else ("yuan" if self.key == "budget" else self.key)
        lo, hi = self.low / self.per_unit, self.high / self.per_unit
        return (
            f"{self.measure} >= {self.target:,.6g} needs between {lo:,.6g} (reaches {self.value_at_low:,.6g}) "
            f"and {hi:,.6g} {unit} (reaches {self.value_at_high:,.6g})"
        )


def _metric(inputs: ScenarioInputs, key: str, measure: str) -> Callable[[Any], float]:
    column = MEASURES[measure]

    def evaluate(value: Any) -> float:
        row = run_point(inputs, {key: value})
        result = row[column]
        return -math.inf if result is None or (isinstance(result, float) and math.isnan(result)) else float(result)

    return evaluate


def least_resource(
    inputs: ScenarioInputs,
    target: float,
    *,
    measure: str = "retained",
    key: str = "budget",
    low: float | None = None,
    high: float | None = None,
    tolerance: float | None = None,
    per_unit: float = 1.0,
    max_evaluations: int = 40,
) -> InverseResult:
    """Bisect ``key`` (budget, or an integer key such as channels.call.capacity) for the least
    value whose optimal plan reaches ``target`` of ``measure``.

    ``per_unit`` converts the key's unit into the one asked about (2 calls per seat when
    bisecting seats through the call capacity); the bisection then moves in whole seats.
    """
    if measure not in MEASURES:
        raise InputError(f"unknown target {measure!r}; use one of {', '.join(MEASURES)}", key="measure")
    check_key(inputs.data, key)
    if not math.isfinite(target):
        raise InputError(f"the target must be a finite number (got {target!r})", key="target")
    if per_unit <= 0:
        raise InputError(f"per_unit(={per_unit!r}) must be > 0", key="per_unit")
    integer = key != "budget" and not key.endswith((".budget", "min_roi", "mip_gap"))
    step = per_unit if integer else None
    f = _metric(inputs, key, measure)
    evaluations: list[tuple[float, float]] = []

    def at(value: float) -> float:
        v = int(round(value)) if integer else float(value)
        result = f(v)
        evaluations.append((float(v), result))
        return result

    if high is None:
        unlimited = run_point(inputs, {key: None}, keep_plan=True)
        best = unlimited[MEASURES[measure]]
        best = -math.inf if best is None or (isinstance(best, float) and math.isnan(best)) else float(best)
        if best < target:
            raise InputError(
                f"unreachable: even with no limit on {key} the optimal plan reaches {measure} = {best:,.6g} < {target:,.6g}",
                key=key,
            )
        used = unlimited.get(f"usage:{'budget' if key == 'budget' else 'channel:call' if key == SEATS_KEY else ''}")
        if used is None or (isinstance(used, float) and math.isnan(used)):
            plan = unlimited["_plan"]
            used = float(plan["expected_cost"].sum()) if key == "budget" else float((plan["channel_id"] == key.split(".")[1]).sum()) if key.startswith("channels.") else None
        if used is None:
            raise InputError(f"give --high for {key}: no natural upper bound is known", key=key)
        high = float(used)
        if integer:
            high = math.ceil(high / per_unit) * per_unit
        value_high = at(high)
        # the unlimited plan's usage may round below what the limited solve needs: widen if so
        grow = 0
        while value_high < target and grow < 20:
            high = high * 1.25 + (step or 1.0)
            if integer:
                high = math.ceil(high / per_unit) * per_unit
            value_high = at(high)
            grow += 1
    else:
        value_high = at(high)
    if value_high < target:
        raise InputError(f"the upper end {key}={high:,.6g} reaches only {value_high:,.6g} < {target:,.6g}; give a larger --high", key=key)
    low = 0.0 if low is None else float(low)
    value_low = at(low)
    if value_low >= target:
        return InverseResult(key, measure, target, low, low, value_low, value_low, per_unit, evaluations)
    if tolerance is None:
        tolerance = per_unit if integer else max(1.0, 0.005 * high)
    while high - low > tolerance and len(evaluations) < max_evaluations:
        mid = (low + high) / 2
        if integer:
            mid = math.floor(mid / per_unit) * per_unit
            if mid <= low:
                mid = low + per_unit
            if mid >= high:
                break
        value = at(mid)
        if value >= target:
            high, value_high = mid, value
        else:
            low, value_low = mid, value
    return InverseResult(key, measure, target, low, high, value_low, value_high, per_unit, evaluations)
