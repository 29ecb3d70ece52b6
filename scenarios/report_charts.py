"""The approval report's charts: PNGs inlined as base64, each with alt text saying what it shows.

Money is charted in yuan (whole numbers with thousands separators), ROI in percent; heat-map
text is white on dark cells and black on light ones, chosen by the cell's luminance.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["allocation_charts", "comparison_chart", "heatmap_figure", "limits_chart", "money_chart", "png", "text_colour"]

#: One colour per money measure, the same on every chart.
COLOURS = {"spend": "tab:orange", "expected_return": "tab:blue", "net_value": "tab:green"}
MEASURES = {"spend": "expected spend", "expected_return": "expected return", "net_value": "expected net value"}
#: Relative luminance where black and white text have equal contrast (WCAG 2: (L + 0.05) ratios meet at 0.179).
LUMINANCE_SWITCH = 0.179


def text_colour(rgba: tuple[float, ...]) -> str:
    """``"white"`` on a dark background, ``"black"`` on a light one (WCAG 2 relative luminance of sRGB)."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgba[:3]]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "white" if luminance < LUMINANCE_SWITCH else "black"


def png(fig: Any, alt: str) -> str:
    """``fig`` as an inline ``<img>`` with ``alt``; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _yuan_axis(axis: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def money_chart(table: pd.DataFrame, key: str, what: str, horizon: str) -> str:
    """Spend, expected return and net value (yuan) by ``key``, grouped horizontal bars."""
    from simulation.plots import literal  # user ids in labels: a `$` would start mathtext

    plt = _pyplot()
    table = table.sort_values("net_value")
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(table) + 1.6))
    y = np.arange(len(table))
    height = 0.27
    for i, measure in enumerate(("spend", "expected_return", "net_value")):
        ax.barh(y + (i - 1) * height, table[measure], height, color=COLOURS[measure], label=MEASURES[measure])
    ax.set_yticks(y, table[key].map(literal))
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_xlabel(f"yuan (expectations; return and net value {horizon})")
    _yuan_axis(ax.xaxis)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncol=3, frameon=False, fontsize=9)
    top = table.iloc[-1]
    alt = (f"Bar chart: expected spend, expected return and expected net value in yuan by {what}. Largest net value: "
           f"{top[key]}, {top['net_value']:,.0f} yuan on a spend of {top['spend']:,.0f} yuan.")
    return png(fig, alt)


def heatmap_figure(alloc: pd.DataFrame) -> tuple[Any, str]:
    """Expected spend by offer x channel (yuan, contacts beneath), text colour by each cell's luminance; the figure and its alt text."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    from simulation.plots import literal

    plt = _pyplot()
    spend = alloc.pivot_table(index="offer_id", columns="channel_id", values="spend", aggfunc="sum", fill_value=0, observed=True)
    contacts = alloc.pivot_table(index="offer_id", columns="channel_id", values="contacts", aggfunc="sum", fill_value=0, observed=True)
    values = spend.to_numpy(float)
    cmap, norm = colormaps["Blues"], Normalize(0, max(float(values.max()), 1e-9))
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(spend) + 1.8))
    image = ax.imshow(values, cmap=cmap, norm=norm, aspect="auto")
    ax.set_xticks(range(len(spend.columns)), spend.columns.map(literal))
    ax.set_yticks(range(len(spend.index)), spend.index.map(literal))
    for (i, j), v in np.ndenumerate(values):
        n = int(contacts.iat[i, j])
        ax.text(j, i, f"{v:,.0f} yuan\n{n:,} contact{'' if n == 1 else 's'}", ha="center", va="center", fontsize=8,
                color=text_colour(cmap(norm(v))))
    bar = fig.colorbar(image, ax=ax)
    bar.set_label("expected spend (yuan)")
    _yuan_axis(bar.ax.yaxis)
    ax.set_title("expected spend by offer x channel (yuan; contacts beneath)")
    i, j = np.unravel_index(int(np.argmax(values)), values.shape)
    alt = (f"Heat map of expected spend in yuan by offer and channel, with the number of contacts in each cell. Largest: "
           f"{spend.index[i]} by {spend.columns[j]}, {values[i, j]:,.0f} yuan for {int(contacts.iat[i, j]):,} contacts.")
    return fig, alt


def allocation_charts(alloc: pd.DataFrame, horizon: str) -> dict[str, str]:
    """The money charts of a plan with contacts: by offer, channel and segment, and the heat map."""
    out = {"heatmap": png(*heatmap_figure(alloc))}
    for key, what in (("offer_id", "offer"), ("channel_id", "channel"), ("segment", "segment")):
        if key in alloc.columns:
            out[key] = money_chart(alloc.groupby(key, observed=True)[["spend", "expected_return", "net_value"]].sum().reset_index(),
                                   key, what, horizon)
    return out


def limits_chart(limits: list[dict[str, Any]]) -> str:
    """Usage of each open upper limit as a share of it: red binds, orange binds only in the LP relaxation."""
    from simulation.plots import literal

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 0.4 * len(limits) + 1.4))
    colour = {"binds": "tab:red", "binds in the LP relaxation": "tab:orange"}
    share = [100 * lim["usage"] / lim["limit"] for lim in limits]
    ax.barh([literal(lim["name"]) for lim in limits][::-1], share[::-1],
            color=[colour.get(lim["state"], "tab:blue") for lim in limits][::-1])
    ax.axvline(100, color="black", linewidth=0.8)
    ax.set_xlabel("usage (% of the limit; red: binds, orange: binds in the LP relaxation only, blue: room left)")
    most = max(limits, key=lambda lim: lim["usage"] / lim["limit"])
    alt = (f"Bar chart: usage of each upper limit as a percentage of the limit. {len(limits)} limits; fullest: {most['name']} "
           f"at {100 * most['usage'] / most['limit']:.1f}%.")
    return png(fig, alt)


def comparison_chart(table: pd.DataFrame) -> str:
    """Expected spend and net value (yuan) per strategy; a plan the verifier rejects is hatched."""
    from simulation.plots import literal

    plt = _pyplot()
    rows = table.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.7 * len(rows) + 1.4))
    y = np.arange(len(rows))
    hatch = ["" if ok else "//" for ok in rows["verified"]]
    ax.barh(y + 0.2, rows["spend"], 0.38, color=COLOURS["spend"], label="expected spend", hatch=hatch)
    ax.barh(y - 0.2, rows["net_value"], 0.38, color=COLOURS["net_value"], label="expected net value", hatch=hatch)
    ax.set_yticks(y, [literal(s) + ("" if ok else "\n(breaks a limit)") for s, ok in zip(rows["strategy"], rows["verified"])])
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_xlabel("yuan (expectations at equal budget)")
    _yuan_axis(ax.xaxis)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncol=2, frameon=False, fontsize=9)
    opt = table.iloc[0]
    alt = (f"Bar chart: expected spend and expected net value in yuan of the optimizer and {len(table) - 1} baselines at equal "
           f"budget. The optimizer: {opt['net_value']:,.0f} yuan of net value on {opt['spend']:,.0f} yuan of spend.")
    return png(fig, alt)
