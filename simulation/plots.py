"""Plots of an experiment: retention curves with bands and call-centre load.

Bands are t intervals over replications at each month (95% by default), so a band that
does not overlap another is a visible, not a certain, difference: the paired comparison
table is the test. matplotlib is imported here only, with the non-interactive backend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .experiment import ExperimentResult, mean_ci

__all__ = ["literal", "plot_call_centre", "plot_retention"]


def literal(text: object) -> str:
    """A user string for a matplotlib label, shown as written: ``$`` would start mathtext.

    An offer id ``$x^$`` in a label made matplotlib's math parser fail and the command crash.
    """
    return str(text).replace("$", r"\$")


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _band(
    res: ExperimentResult, strategy: str, column: str, scale: float, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ts = res.timeseries[res.timeseries["strategy"] == strategy]
    months = np.sort(ts["month"].unique())
    mean, half = [], []
    for m in months:
        mu, h = mean_ci(ts.loc[ts["month"] == m, column] / scale, confidence)
        mean.append(mu)
        half.append(0.0 if not np.isfinite(h) else h)
    return months, np.array(mean), np.array(half)


def plot_retention(res: ExperimentResult, path: Path, initial_customers: int, confidence: float = 0.95) -> Path:
    """Share of the initial base still with the operator, per strategy, with CI bands, saved as PNG to ``path``.

    Written in place: callers stage ``path`` as a temporary (:func:`optimizer.atomic.write_folder`).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for s in res.strategies:
        months, mean, half = _band(res, s, "initial_retained", initial_customers, confidence)
        ax.plot(months + 1, mean, label=literal(s))
        ax.fill_between(months + 1, mean - half, mean + half, alpha=0.25)
    ax.set_xlabel("month")
    ax.set_ylabel("retained share of the initial base")
    ax.set_title(f"Retention ({confidence:.0%} bands over replications)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
    return path


def plot_call_centre(res: ExperimentResult, path: Path, confidence: float = 0.95) -> Path:
    """Seat utilisation and calls dialled per month, per strategy, saved as PNG to ``path`` (staged by the caller)."""
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    for s in res.strategies:
        months, mean, half = _band(res, s, "cc_utilisation", 1.0, confidence)
        ax1.plot(months + 1, mean, label=literal(s))
        ax1.fill_between(months + 1, mean - half, mean + half, alpha=0.25)
        months, mean, half = _band(res, s, "calls_dialled", 1.0, confidence)
        ax2.plot(months + 1, mean, label=s)
        ax2.fill_between(months + 1, mean - half, mean + half, alpha=0.25)
    ax1.set_ylabel("seat utilisation")
    ax1.set_title("Call-centre load")
    ax2.set_ylabel("calls dialled")
    ax2.set_xlabel("month")
    ax1.legend()
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
    return path
