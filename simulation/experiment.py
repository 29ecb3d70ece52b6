"""Experiments: replications in parallel, common random numbers, paired comparisons.

Every strategy runs on the same replication seeds (one ``SeedSequence`` per replication, the
streams spawned per purpose inside), so replication r of two strategies sees the same base,
the same gross adds and the same monthly uniforms; their difference is mostly the strategy's
effect, and a paired t interval over replications is much tighter than comparing two
independent means. Replications run in worker processes (``concurrent.futures``; Dask's
process scheduler when ``backend="dask"``); results do not depend on ``workers``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .base import CustomerBase
from .config import SimConfig
from .contact_log import ContactLog
from .engine import Simulation
from .errors import SimulationConfigError
from .kpis import RunResult
from .strategies.base import Strategy
from .streams import replication_seeds

__all__ = ["DEFAULT_COMPARE_KPIS", "ExperimentResult", "mean_ci", "run_experiment"]

DEFAULT_COMPARE_KPIS: tuple[str, ...] = (
    "retention_rate",
    "true_churn",
    "revenue",
    "cost",
    "net_value",
    "discounted_net_value",
    "clv",
    "offers_accepted",
)


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float]:
    """Mean and t-based half-width of its confidence interval (nan half-width if n < 2)."""
    x = np.asarray(list(values), dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    if x.size < 2:
        return float(x.mean()), float("nan")
    half = stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean()), float(half)


@dataclass(frozen=True)
class ExperimentResult:
    """Totals and monthly series of every (replication, strategy) run."""

    totals: pd.DataFrame
    timeseries: pd.DataFrame
    #: (replication, strategy) -> the contacts that run executed (simulation.contact_log)
    contacts: dict[tuple[int, str], ContactLog] = field(default_factory=dict)

    @property
    def strategies(self) -> list[str]:
        return list(dict.fromkeys(self.totals["strategy"]))

    def summary(self, kpis: Iterable[str] = DEFAULT_COMPARE_KPIS, confidence: float = 0.95) -> pd.DataFrame:
        """Mean and CI half-width of each KPI for each strategy."""
        rows = []
        for s, g in self.totals.groupby("strategy", sort=False):
            for k in kpis:
                m, h = mean_ci(g[k], confidence)
                rows.append(
                    {
                        "strategy": s,
                        "kpi": k,
                        "mean": m,
                        "half_width": h,
                        "n": int(g[k].notna().sum()),
                    }
                )
        return pd.DataFrame(rows)

    def compare(
        self, baseline: str, kpis: Iterable[str] = DEFAULT_COMPARE_KPIS, confidence: float = 0.95
    ) -> pd.DataFrame:
        """Paired differences (strategy - baseline) over replications with t intervals.

        Also reports the incremental ROI per replication: (delta revenue - delta cost) /
        delta cost, the return on the extra marketing spend against the baseline.
        """
        if baseline not in self.strategies:
            raise SimulationConfigError(
                "baseline",
                f"(={baseline!r}) is not a strategy of this experiment; known: {self.strategies}",
            )
        t = self.totals.set_index(["replication", "strategy"])
        base = t.xs(baseline, level="strategy")
        rows = []
        for s in self.strategies:
            if s == baseline:
                continue
            mine = t.xs(s, level="strategy").loc[base.index]
            for k in kpis:
                m, h = mean_ci(mine[k] - base[k], confidence)
                rows.append(_row(s, k, m, h, len(base)))
            d_cost = mine["cost"] - base["cost"]
            d_net = (mine["revenue"] - base["revenue"]) - d_cost
            roi = (d_net / d_cost).where(d_cost != 0)
            m, h = mean_ci(roi, confidence)
            rows.append(_row(s, "incremental_roi", m, h, int(roi.notna().sum())))
        return pd.DataFrame(rows)

    def ranking(self, kpi: str = "discounted_net_value", confidence: float = 0.95) -> pd.DataFrame:
        """Strategies by mean KPI (best first), with CI and the paired gap to the leader.

        ``distinct_from_next`` is true when the paired CI of (this - next) excludes zero.
        """
        s = self.summary([kpi], confidence).sort_values("mean", ascending=False)
        order = list(s["strategy"])
        t = self.totals.set_index(["replication", "strategy"])[kpi]
        distinct = []
        for a, b in itertools.pairwise(order):
            m, h = mean_ci(t.xs(a, level="strategy") - t.xs(b, level="strategy"), confidence)
            distinct.append(bool(np.isfinite(h) and m - h > 0))
        s = s.assign(rank=range(1, len(s) + 1), distinct_from_next=distinct + [False])
        return s.reset_index(drop=True)


def _row(strategy: str, kpi: str, m: float, h: float, n: int) -> dict[str, object]:
    return {
        "strategy": strategy,
        "kpi": kpi,
        "mean_diff": m,
        "half_width": h,
        "ci_low": m - h,
        "ci_high": m + h,
        "n": n,
    }


def _run_one(
    config: SimConfig,
    strategy: Strategy,
    seed: np.random.SeedSequence,
    replication: int,
    label: str,
    base: CustomerBase | None = None,
) -> tuple[int, str, RunResult]:
    return replication, label, Simulation(config, strategy, seed, base).run()


def run_experiment(
    config: SimConfig,
    strategies: Mapping[str, Strategy],
    *,
    replications: int = 10,
    seed: int = 0,
    workers: int = 1,
    backend: str = "processes",
    base: CustomerBase | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ExperimentResult:
    """Run every strategy on ``replications`` common seeds; see the module docstring.

    ``base`` simulates the planner's own customers (:mod:`simulation.base`) instead of the
    configured synthetic population; ``progress(done, total)`` is called before the first run
    (done = 0) and as runs finish (in one process; with workers, once at the start).
    """
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise SimulationConfigError("replications", f"(={replications!r}) must be an integer >= 1")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SimulationConfigError("workers", f"(={workers!r}) must be an integer >= 1")
    if not strategies:
        raise SimulationConfigError("strategies", "at least one strategy is needed")
    if backend not in ("processes", "dask"):
        raise SimulationConfigError("backend", f"(={backend!r}) must be 'processes' or 'dask'")
    for name, strat in strategies.items():
        validate = getattr(strat, "validate", None)
        if validate is not None:
            validate(config)
        if strat.uses_calls and config.call_centre.seats == 0:
            raise SimulationConfigError("call_centre.seats", f"(=0) must be > 0: strategy {name!r} places calls")
    seeds = replication_seeds(seed, replications)
    tasks = [
        (config, strat, seeds[r], r, label, base) for r in range(replications) for label, strat in strategies.items()
    ]
    if progress is not None:
        progress(0, len(tasks))
    if workers == 1:
        results = []
        for task in tasks:
            results.append(_run_one(*task))
            if progress is not None:
                progress(len(results), len(tasks))
    elif backend == "dask":
        import dask  # optional dependency

        results = list(
            dask.compute(
                *[dask.delayed(_run_one)(*task) for task in tasks],
                scheduler="processes",
                num_workers=workers,
            )
        )
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_run_one, *zip(*tasks)))
    tot_rows, series, contacts = [], [], {}
    for rep, label, res in results:
        tot_rows.append({"replication": rep, "strategy": label, **res.totals})
        series.append(res.timeseries.assign(replication=rep, strategy=label))
        contacts[(rep, label)] = res.contacts
    totals = pd.DataFrame(tot_rows)
    ts = pd.concat(series, ignore_index=True)
    front = ["replication", "strategy", "month"]
    ts = ts[front + [c for c in ts.columns if c not in front]]
    return ExperimentResult(totals, ts, contacts)
