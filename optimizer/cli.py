"""The ``campaignlab`` command.

Exit codes: 0 a plan was written (OPTIMAL, FEASIBLE or TIME_LIMIT with a plan); 1 no plan
(INFEASIBLE, or the solver stopped without one; summary.json says why); 2 bad input (one
line naming the file, row, column or key; nothing written); 3 the verifier rejected a plan
(a bug: please report it with the summary).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from .arguments import add_allow_outside, fraction, non_negative_int, positive_float, positive_int
from .errors import InputError
from .scenario_file import bundled_scenarios, resolve_scenario

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_NO_PLAN, EXIT_INPUT, EXIT_UNVERIFIED = 0, 1, 2, 3
DEFAULT_SCENARIO = "demo"
# Below this many customers exact mode proves optimality (gap 1e-6) in seconds; above it the
# LP relaxation alone takes far longer than the decomposition (50 s against 2.6 s at 100k).
AUTO_DECOMPOSE_CUSTOMERS = 50_000
# From this many customers `generate` writes chunk by chunk (optimizer.demo.write_base): the
# in-memory generator needs about 2.5 GB per million customers.
CHUNKED_CUSTOMERS = 1_000_000


def _optimize(args: argparse.Namespace) -> int:
    from .problem import load_problem
    from .report import print_summary, print_warnings, summarise, write_outputs
    from .result import Status
    from .solve import solve
    from .verify import verify_plan

    from rich.console import Console

    start = time.perf_counter()
    status = Console(stderr=True, quiet=args.quiet).status
    with status("reading the scenario and its tables"):
        problem = load_problem(resolve_scenario(args.scenario), allow_outside=args.allow_outside)
    if not args.quiet:
        print_warnings(problem.warnings)
    mode = args.mode
    if mode == "auto":
        mode = "exact" if problem.n_customers < AUTO_DECOMPOSE_CUSTOMERS else "decompose"
    if args.scheduler and mode != "decompose":
        raise InputError("--scheduler only applies to --mode decompose (or auto above the threshold)", key="--scheduler")
    with status(f"solving ({mode}): {problem.n_customers:,} customers, {problem.n_options:,} options, {len(problem.limits)} coupling limits"):
        if mode == "exact":
            result = solve(problem, solver=args.solver, time_limit=args.time_limit, mip_gap=args.gap, seed=args.seed)
        else:
            from .decompose import solve_decomposed

            result = solve_decomposed(
                problem, time_limit=args.time_limit, gap=args.gap if args.gap is not None else 1e-5, scheduler=args.scheduler
            )
    with status("verifying the plan against every limit"):
        verification = verify_plan(problem, result.plan) if result.has_plan else None
    summary = summarise(problem, result, verification, wall_time=time.perf_counter() - start)
    summary["mode"] = mode
    if args.seed is not None:
        summary["seed"] = args.seed
    out = Path(args.out)
    write_outputs(out, result.plan if result.has_plan else None, summary, holdout=None if problem.holdout is None else problem.holdout.table)
    if not args.quiet:
        print_summary(summary, out)
    if verification is not None and not verification.ok:
        return EXIT_UNVERIFIED
    return EXIT_OK if result.has_plan and result.status is not Status.ERROR else EXIT_NO_PLAN


def _simulate(args: argparse.Namespace) -> int:
    """An optimizer scenario gets the plan test; a simulator scenario its strategies."""
    from scenarios.cli import plan_test_command
    from scenarios.plan_test import is_plan_scenario
    from simulation.cli import run as run_simulation

    return plan_test_command(args) if is_plan_scenario(args.scenario) else run_simulation(args)


def _verify(args: argparse.Namespace) -> int:
    from .problem import load_problem
    from .report import print_warnings
    from .tables import read_table
    from .verify import verify_plan

    problem = load_problem(resolve_scenario(args.scenario), allow_outside=args.allow_outside)
    print_warnings(problem.warnings)
    plan = read_table(args.plan)
    missing = [c for c in ("customer_id", "offer_id", "channel_id") if c not in plan.columns]
    if missing:
        raise InputError("a plan needs customer_id, offer_id and channel_id columns", file=args.plan, column=missing[0])
    verification = verify_plan(problem, plan)
    from .report import printable

    for violation in verification.violations:
        print(printable(violation, None))
    print(
        f"{'ok' if verification.ok else 'VIOLATED'}: {len(plan):,} rows, net value {verification.objective:,.2f}, "
        f"spend {verification.spend:,.2f}, expected return {verification.expected_return:,.2f}"
    )
    return EXIT_OK if verification.ok else EXIT_NO_PLAN


def _generate(args: argparse.Namespace) -> int:
    import yaml

    from .atomic import atomic_write, output_folder, write_folder
    from .demo import generate_base, scale_limits, write_base

    out = Path(args.out)
    template = scale_limits(yaml.safe_load(resolve_scenario(DEFAULT_SCENARIO).read_text(encoding="utf-8")), args.customers)
    template |= {
        "name": f"generated-{args.customers}-seed{args.seed}",
        "options": f"options.{args.format}",
        "customers": f"customers.{args.format}",
        "do_not_contact": None,
    }

    scenario_text = yaml.safe_dump(template, sort_keys=False)
    tables = [f"options.{args.format}", f"customers.{args.format}"]
    if args.customers >= CHUNKED_CUSTOMERS:
        # scenario.yaml plays the summary: gone while the tables change, written last
        with output_folder(out, [*tables, "scenario.yaml"]):
            (out / "scenario.yaml").unlink(missing_ok=True)
            n_options, n_customers = write_base(args.customers, out, seed=args.seed, format=args.format)
            atomic_write(out / "scenario.yaml", lambda tmp: tmp.write_text(scenario_text, encoding="utf-8"))
    else:
        options, customers = generate_base(args.customers, seed=args.seed)
        n_options, n_customers = len(options), len(customers)

        def table_writer(table: pd.DataFrame):  # type: ignore[no-untyped-def]
            if args.format == "csv":
                return lambda tmp: table.to_csv(tmp, index=False)
            return lambda tmp: table.to_parquet(tmp, index=False)

        write_folder(
            out,
            [(tables[0], table_writer(options)), (tables[1], table_writer(customers))],
            summary=("scenario.yaml", lambda files: scenario_text),
        )
    print(f"wrote {n_customers:,} customers and {n_options:,} options to {out}; run: campaignlab optimize {out / 'scenario.yaml'}")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    import yaml

    for name, path in sorted(bundled_scenarios().items()):
        description = yaml.safe_load(path.read_text(encoding="utf-8")).get("description", "")
        print(f"{name:24s} {description.strip().splitlines()[0] if description else ''}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="campaignlab", description="Marketing resource allocation for retention teams.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("optimize", help="solve a scenario exactly and write plan.csv and summary.json")
    p.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO, help=f"scenario YAML or bundled name (default: {DEFAULT_SCENARIO})")
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument("--mode", choices=["auto", "exact", "decompose"], default="auto",
                   help=f"exact MIP, or Lagrangian decomposition with a certified gap; auto: exact below {AUTO_DECOMPOSE_CUSTOMERS:,} customers")
    p.add_argument("--scheduler", help="decomposition on Dask: 'local' starts a LocalCluster, tcp://HOST:PORT uses a running one")
    p.add_argument("--solver", choices=["highs", "cbc"], help="MIP backend for exact mode (default: the scenario's, else highs)")
    p.add_argument("--time-limit", type=positive_float, help="seconds; the best plan found so far is returned with its gap")
    p.add_argument("--gap", type=fraction, help="relative optimality gap to prove, in [0, 1) (default 1e-6 exact, 1e-5 decompose)")
    p.add_argument("--seed", type=non_negative_int, help="solver random seed (default: the scenario's seed)")
    p.add_argument("--quiet", action="store_true", help="print nothing; read summary.json")
    add_allow_outside(p)
    p.set_defaults(func=_optimize)

    p = sub.add_parser("verify", help="check any plan (e.g. a hand-built one) against a scenario's limits")
    p.add_argument("scenario")
    p.add_argument("plan", help="CSV/Parquet with customer_id, offer_id, channel_id")
    add_allow_outside(p)
    p.set_defaults(func=_verify)

    p = sub.add_parser("generate", help="write a seeded synthetic operator base and its scenario")
    p.add_argument("--customers", type=positive_int, default=20_000)
    p.add_argument("--seed", type=non_negative_int, default=7)
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_generate)

    p = sub.add_parser("scenarios", help="list the bundled scenarios")
    p.set_defaults(func=_list)

    from simulation.cli import add_arguments as add_simulation_arguments

    p = sub.add_parser("simulate", help="test a scenario's plan on its base in the lifecycle simulator (or run a simulator scenario)")
    add_simulation_arguments(p)
    p.set_defaults(func=_simulate)

    from .scoring.cli import register as register_scoring

    register_scoring(sub)

    from scenarios.cli import register as register_whatif

    register_whatif(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as exc:
        print(f"campaignlab: error: {exc}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main())
