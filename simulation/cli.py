"""``campaignlab simulate SCENARIO``: run a simulator scenario's strategies and write the results.

An optimizer scenario (a bundled one, or a YAML with options, ``synthetic`` or ``extends``)
goes to the plan test instead (:mod:`scenarios.plan_test`, wired by the ``campaignlab``
entry point): its plan replayed on its own base.

Run by the ``campaignlab`` command (its arguments are in campaignlab.commands; ``run``
returns the exit code). SCENARIO is a YAML path or the name of
a bundled scenario. Outputs, each written atomically into ``--out``:

    totals.parquet / totals.csv          one row per (replication, strategy)
    timeseries.parquet                   one row per (replication, strategy, month)
    summary.csv                          mean and CI half-width of each KPI per strategy
    comparison.csv                       paired differences against the baseline, t CIs
    ranking.csv                          strategies by discounted net value
    retention.png, callcentre.png        retention curves and call-centre load with bands

All of them are written together under the folder's lock (:func:`optimizer.atomic.write_folder`).

Exit codes: 0 success, 2 bad input or an unwritable ``--out`` (one line on stderr naming the
key or the folder).
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from .errors import SimulationConfigError
from .experiment import run_experiment
from optimizer.atomic import default_folder, neutralised, write_folder
from optimizer.errors import InputError
from optimizer.report import printable
from .scenario import load_scenario

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (SimulationConfigError, InputError) as exc:
        print(f"campaignlab simulate: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    for flag in ("plan", "effects", "horizon", "budget_per_month", "seats"):
        if getattr(args, flag, None) is not None or (flag == "plan" and getattr(args, "every_month", False)):
            raise SimulationConfigError(
                f"--{flag.replace('_', '-')}", "applies to optimizer scenarios (the plan test); this is a simulator scenario"
            )
    sc = load_scenario(args.scenario)
    reps = sc.replications if args.replications is None else args.replications
    seed = sc.seed if args.seed is None else args.seed
    if seed < 0:
        raise SimulationConfigError("--seed", f"(={seed}) must be >= 0")
    out = args.out if args.out is not None else default_folder(sc.config.name)
    res = run_experiment(sc.config, sc.strategies, replications=reps, seed=seed, workers=args.workers)
    from .plots import plot_call_centre, plot_retention

    tables = {"totals.parquet": res.totals, "totals.csv": res.totals, "timeseries.parquet": res.timeseries, "summary.csv": res.summary()}
    if len(res.strategies) > 1:
        tables["comparison.csv"] = res.compare(sc.baseline)
    ranking = res.ranking()
    tables["ranking.csv"] = ranking
    write_folder(
        out,
        [(name, _table_writer(name, df)) for name, df in tables.items()]
        + [
            ("retention.png", lambda p: plot_retention(res, p, sc.config.population.customers)),
            ("callcentre.png", lambda p: plot_call_centre(res, p)),
        ],
    )
    print(f"{printable(sc.config.name)}: {len(res.strategies)} strategies x {reps} replications (seed {seed}) -> {printable(out, None)}")
    shown = ranking.assign(strategy=ranking["strategy"].map(printable)) if "strategy" in ranking.columns else ranking
    with pd.option_context("display.width", 120):
        print(shown.to_string(index=False))
    return 0


def _table_writer(name: str, df: pd.DataFrame):  # type: ignore[no-untyped-def]
    """CSVs are for people (text cells neutralised against spreadsheet formulas); Parquet keeps values raw."""
    if name.endswith(".csv"):
        return lambda p: neutralised(df).to_csv(p, index=False)
    return lambda p: df.to_parquet(p, index=False)
