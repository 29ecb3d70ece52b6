"""What ``campaignlab optimize``, ``verify``, ``generate`` and ``scenarios`` do.

The parser is :mod:`campaignlab.commands`; each handler takes the parsed arguments and
returns the exit code (campaignlab.cli lists them): 0 a plan was written, 1 no plan, 2 bad
input, 3 the verifier rejected a plan.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from .errors import InputError
from .bundled import bundled_scenarios, resolve_scenario

__all__ = ["generate", "list_scenarios", "optimize", "verify"]

EXIT_OK, EXIT_NO_PLAN, EXIT_INPUT, EXIT_UNVERIFIED = 0, 1, 2, 3
DEFAULT_SCENARIO = "demo"
# Below this many customers exact mode proves optimality (gap 1e-6) in seconds; above it the
# LP relaxation alone takes far longer than the decomposition (50 s against 2.6 s at 100k).
AUTO_DECOMPOSE_CUSTOMERS = 50_000
AUTO_DECOMPOSE_LINKED = 1_000  # customers of a multi-wave plan whose waves are tied by windows
# From this many customers `generate` writes chunk by chunk (optimizer.demo.write_base): the
# in-memory generator needs about 2.5 GB per million customers.
CHUNKED_CUSTOMERS = 1_000_000


def optimize(args: argparse.Namespace) -> int:
    from .problem import load_problem
    from .report import print_summary, print_warnings, summarise, write_outputs
    from .result import Status
    from .solving import solve
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
        # rows that tie a customer's waves together make the exact MIP symmetric (the same options
        # in every wave) and slow to prove: 150 customers x 3 waves were not proven in 40 s
        threshold = AUTO_DECOMPOSE_LINKED * len(problem.waves) if problem.linked else AUTO_DECOMPOSE_CUSTOMERS
        mode = "exact" if problem.n_customers < threshold else "decompose"
    for flag, given in (("--scheduler", args.scheduler), ("--lp-check", args.lp_check)):
        if given and mode != "decompose":
            raise InputError(f"{flag} only applies to --mode decompose (or auto above the threshold)", key=flag)
    with status(f"solving ({mode}): {problem.n_customers:,} customers, {problem.n_options:,} options, {len(problem.limits)} coupling limits"):
        if mode == "exact":
            result = solve(problem, solver=args.solver, time_limit=args.time_limit, mip_gap=args.gap, seed=args.seed)
        else:
            from .decompose import solve_decomposed

            result = solve_decomposed(
                problem, time_limit=args.time_limit, gap=args.gap if args.gap is not None else 1e-5, scheduler=args.scheduler,
                lp_check=args.lp_check,
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


def verify(args: argparse.Namespace) -> int:
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


def generate(args: argparse.Namespace) -> int:
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

        def table_writer(table: Any):  # type: ignore[no-untyped-def]
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


def list_scenarios(args: argparse.Namespace) -> int:
    import yaml

    for name, path in sorted(bundled_scenarios().items()):
        description = yaml.safe_load(path.read_text(encoding="utf-8")).get("description", "")
        print(f"{name:24s} {description.strip().splitlines()[0] if description else ''}")
    return EXIT_OK
