"""``campaignlab simulate SCENARIO``: run a simulator scenario's strategies and write the results.

An optimizer scenario (a bundled one, or a YAML with options, ``synthetic`` or ``extends``)
goes to the plan test instead (:mod:`scenarios.plan_test`, wired by the ``campaignlab``
entry point): its plan replayed on its own base.

Wired into the ``campaignlab`` console script by the project (``add_arguments`` adds this
sub-command's options, ``run`` returns the exit code). SCENARIO is a YAML path or the name of
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
from pathlib import Path

import pandas as pd

from .errors import SimulationConfigError
from .experiment import run_experiment
from optimizer.arguments import add_allow_outside, non_negative_float, non_negative_int, positive_int
from optimizer.atomic import default_folder, neutralised, write_folder
from optimizer.errors import InputError
from optimizer.report import printable
from .scenario import load_scenario

__all__ = ["add_arguments", "main", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario YAML file or bundled scenario name")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: out/<scenario name>)")
    parser.add_argument(
        "--replications",
        type=positive_int,
        default=None,
        help="replications per strategy (default: the scenario's)",
    )
    parser.add_argument("--seed", type=non_negative_int, default=None, help="root seed (default: the scenario's)")
    parser.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--plan",
        type=Path,
        default=None,
        help="optimizer scenarios: the plan.csv to replay (default: solve the scenario and replay its plan)",
    )
    parser.add_argument(
        "--effects",
        choices=["plan", "lifecycle"],
        default=None,
        help="optimizer scenarios: an acceptance does what the option's value says (plan) or what the "
        "lifecycle model says (lifecycle); default: the scenario's, else lifecycle when every offer's effect is known",
    )
    parser.add_argument("--horizon", type=positive_int, default=None, help="optimizer scenarios: months to simulate (default: the scenario's, else 24)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--every-month",
        action="store_true",
        help="optimizer scenarios: re-plan every month (optimizer, rule, score) over the horizon and rank them",
    )
    parser.add_argument("--budget-per-month", type=non_negative_float, default=None, help="with --every-month: yuan a month (default: the scenario's budget)")
    parser.add_argument("--seats", type=positive_int, default=None, help="optimizer scenarios: call-centre seats (default: the scenario's, else sized to the call capacity)")
    add_allow_outside(parser)


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


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m simulation.cli``) until the console script wires it."""
    parser = argparse.ArgumentParser(prog="campaignlab simulate", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
