"""The efficient frontier: best expected net value and ROI against budget.

Each point is the optimal plan at that budget (everything else as in the scenario). Along
the curve:

* ``marginal_value`` is the budget's shadow price (LP dual): expected net value gained by one
  more yuan of budget. It is net of the yuan itself, so 0 means extra money buys nothing
  and 1.5 means one more yuan brings 1.5 yuan of net value (2.5 of return).
* ``slope`` is the finite difference between neighbouring points, the same quantity measured
  on the integer plans.
* the knee is the point of greatest curvature, found Kneedle-style: net value and budget
  scaled to [0, 1], the point farthest above the chord from the first to the last point.
  Before it, money is the binding limit; after it, each yuan buys much less.

Net value is non-decreasing in budget (a larger budget only adds feasible plans), up to the
solver's relative optimality gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputError

from .inputs import ScenarioInputs
from .sweep import sweep

__all__ = ["default_budgets", "frontier", "frontier_table", "knee_index", "plot_frontier"]


def default_budgets(inputs: ScenarioInputs, points: int = 9) -> list[float]:
    """Budgets from 10% to 200% of the scenario's budget (or of the unlimited plan's spend)."""
    budget = inputs.scenario().budget
    if budget is None:
        from .sweep import run_point

        row = run_point(inputs, {"budget": None})
        budget = row["spend"] if row["spend"] == row["spend"] and row["spend"] else 1000.0
    return [round(float(b), 2) for b in np.linspace(0.1 * budget, 2.0 * budget, points)]


def knee_index(x: Sequence[float], y: Sequence[float]) -> int | None:
    """Index of the knee of an increasing concave curve (Kneedle), None when it is flat or too short."""
    x_arr, y_arr = np.asarray(x, float), np.asarray(y, float)
    if x_arr.size < 3 or np.ptp(x_arr) == 0 or np.ptp(y_arr) <= 1e-9 * max(1.0, abs(y_arr).max()):
        return None
    xn = (x_arr - x_arr.min()) / np.ptp(x_arr)
    yn = (y_arr - y_arr.min()) / np.ptp(y_arr)
    distance = yn - xn
    best = int(np.argmax(distance))
    return best if distance[best] > 1e-9 else None


def frontier(inputs: ScenarioInputs, budgets: Sequence[float] | None = None, *, workers: int = 1, progress: bool = False) -> pd.DataFrame:
    """Solve at each budget; columns budget, status, net_value, spend, expected_return, roi,
    expected_acceptances, marginal_value, slope, knee (and the sweep's columns).

    Raises InputError when no budget has a plan.
    """
    budgets = sorted({float(b) for b in (budgets if budgets is not None else default_budgets(inputs))})
    if not budgets:
        raise InputError("the frontier needs at least one budget", key="budget")
    if any(b < 0 for b in budgets):
        raise InputError(f"budgets must be >= 0 (got {min(budgets):g})", key="budget")
    return frontier_table(sweep(inputs, {"budget": budgets}, workers=workers, progress=progress))


def frontier_table(table: pd.DataFrame) -> pd.DataFrame:
    """The frontier's columns from sweep rows over ``budget`` (sorted by budget): marginal value, slope, knee."""
    table = table.sort_values("budget").reset_index(drop=True)
    feasible = table["objective"].notna()
    if not feasible.any():
        why = table["message"].iloc[-1]
        raise InputError(
            f"every budget of the frontier ({table['budget'].iloc[0]:,.0f} to {table['budget'].iloc[-1]:,.0f} yuan) is infeasible; "
            f"at the largest: {why}",
            key="budget",
        )
    table = table.rename(columns={"objective": "net_value"})
    table["marginal_value"] = table.get("shadow:budget", pd.Series(np.nan, index=table.index))
    ok = table[feasible]
    slope = np.full(len(table), np.nan)
    if len(ok) >= 2:
        diffs = np.diff(ok["net_value"].to_numpy()) / np.diff(ok["budget"].to_numpy())
        slope[ok.index[1:]] = diffs
    table["slope"] = slope
    table["knee"] = False
    k = knee_index(ok["budget"], ok["net_value"])
    if k is not None:
        table.loc[ok.index[k], "knee"] = True
    front = ["budget", "status", "net_value", "roi", "marginal_value", "slope", "knee", "spend", "expected_return", "expected_acceptances"]
    return table[front + [c for c in table.columns if c not in front]]


def plot_frontier(table: pd.DataFrame, *, title: str = "", current: float | None = None) -> Any:
    """Net value and ROI against budget (top), marginal value per yuan (bottom); the knee and the
    ``current`` budget marked. Legends sit above each panel, so no point or label is under one."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from simulation.plots import literal

    yuan = FuncFormatter(lambda v, _: f"{v:,.0f}")
    ok = table[table["net_value"].notna()]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    top.plot(ok["budget"], ok["net_value"], "o-", color="tab:blue", label="expected net value (yuan)")
    top.set_ylabel("expected net value (yuan)")
    roi_ax = top.twinx()
    roi_ax.plot(ok["budget"], ok["roi"] * 100, "s--", color="tab:orange", label="ROI (%)")
    roi_ax.set_ylabel("ROI (%)")
    knee = ok[ok["knee"]]
    if len(knee):
        x, y = knee["budget"].iloc[0], knee["net_value"].iloc[0]
        top.plot([x], [y], "*", color="red", markersize=16, label=f"knee: {x:,.0f} yuan")
        bottom.axvline(x, color="red", linestyle=":")
    if current is not None:
        for ax in (top, bottom):
            ax.axvline(current, color="black", linestyle="--", linewidth=1)
        top.plot([], [], "k--", linewidth=1, label=f"current budget: {current:,.0f} yuan")
    lines = top.get_legend_handles_labels()[0] + roi_ax.get_legend_handles_labels()[0]
    top.legend(lines, [ln.get_label() for ln in lines], loc="lower left", bbox_to_anchor=(0, 1.01), ncol=2, frameon=False, fontsize=9)
    fig.suptitle(literal(title) if title else "efficient frontier")  # the title names the scenario
    bottom.step(ok["budget"], ok["marginal_value"], where="mid", color="tab:green", label="shadow price of budget (LP dual)")
    bottom.plot(ok["budget"], ok["slope"], "x", color="tab:gray", label="slope between points")
    bottom.axhline(0, color="black", linewidth=0.5)
    bottom.set_ylabel("net value per extra yuan (yuan)")
    bottom.set_xlabel("budget (yuan)")
    bottom.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncol=2, frameon=False, fontsize=9)
    for axis in (top.yaxis, bottom.xaxis):
        axis.set_major_formatter(yuan)
    fig.tight_layout()
    return fig
