"""What ``campaignlab simulate``, sweep, frontier, inverse, compare, report and contacts do.

The parser is :mod:`campaignlab.commands`. Every handler returns an exit code:
0 success; 1 no plan (an infeasible scenario: nothing to test, compare, report or list); 2 bad input
(one line on stderr naming the file, key or value; nothing written). All files are written
atomically, together, after every computation has succeeded.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from optimizer.atomic import default_folder
from optimizer.errors import InputError, NoPlan

__all__ = ["compare", "contacts", "evaluate", "frontier", "inverse", "plan_test_command", "report", "simulate", "sweep"]

EXIT_OK, EXIT_NO_PLAN, EXIT_INPUT = 0, 1, 2


def _guard(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    def wrap(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        @functools.wraps(handler)
        def run(args: argparse.Namespace) -> int:
            try:
                return int(handler(args))
            except InputError as exc:
                print(f"campaignlab {name}: error: {exc}", file=sys.stderr)
                return EXIT_INPUT
            except NoPlan as exc:
                print(f"campaignlab {name}: no plan: {_line(str(exc))}", file=sys.stderr)
                return EXIT_NO_PLAN

        return run

    return wrap


def _csv_numbers(text: str, key: str) -> list[float]:
    from .sweep import parse_grid

    values = parse_grid([f"{key}={text}"])[key]
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise InputError(f"give numbers as V1,V2,... or START:STOP:N (got {text!r})", key=f"--{key}")
    if not all(math.isfinite(v) and v >= 0 for v in values):
        raise InputError(f"every value must be a finite number >= 0 (got {text!r})", key=f"--{key}")
    return [float(v) for v in values]


def _printed(table: Any) -> str:
    """A table for the terminal: names printable and cut (optimizer.report.printable); the files keep them whole."""
    from optimizer.report import printable

    text = [c for c in table.columns if table[c].dtype == object or str(table[c].dtype) in ("str", "string", "category")]
    return str(table.assign(**{c: table[c].map(printable) for c in text}).to_string(index=False))


def _line(text: str) -> str:
    """A sentence that quotes user names, for the terminal: control characters escaped, long words cut."""
    from optimizer.report import printable

    return printable(text, None)


def _load(args: argparse.Namespace, command: str) -> tuple[Any, Any]:
    """The scenario's inputs and its base problem, with the input warnings printed once.

    Building the base problem checks every name against the tables before any worker starts,
    and is where a name that matches nothing in a template (``allow_unused``) is reported.
    """
    from optimizer.report import print_warnings

    from .inputs import load_inputs

    inputs = load_inputs(args.scenario, allow_outside=args.allow_outside)
    problem = inputs.problem()
    print_warnings(problem.warnings, f"campaignlab {command}")
    return inputs, problem


@_guard("sweep")
def sweep(args: argparse.Namespace) -> int:
    from .sweep import parse_grid, sweep, write_table

    inputs, _ = _load(args, "sweep")
    grid = parse_grid(args.grid or [])
    table = sweep(inputs, grid, workers=args.workers, progress=not args.no_progress)
    paths = write_table(table, Path(args.out), "sweep")
    shown = [c for c in list(grid) + ["status", "objective", "gap", "spend", "roi", "contacts"] if c in table.columns]
    print(_printed(table[shown]))
    print(f"wrote {', '.join(map(str, paths))}")
    return EXIT_OK


@_guard("frontier")
def frontier(args: argparse.Namespace) -> int:
    from .frontier import default_budgets, frontier, plot_frontier
    from .sweep import write_table

    inputs, _ = _load(args, "frontier")
    budgets = _csv_numbers(args.budgets, "budgets") if args.budgets else default_budgets(inputs, args.points)
    table = frontier(inputs, budgets, workers=args.workers, progress=not args.no_progress)
    import matplotlib

    matplotlib.use("Agg")
    fig = plot_frontier(table, title=f"{inputs.name}: efficient frontier")
    out = Path(args.out)
    paths = write_table(table, out, "frontier", extra=[("frontier.png", lambda tmp: fig.savefig(tmp, format="png", dpi=110))])
    print(table[["budget", "status", "net_value", "roi", "marginal_value", "knee"]].to_string(index=False))
    print(f"wrote {', '.join(map(str, paths))}")
    return EXIT_OK


@_guard("inverse")
def inverse(args: argparse.Namespace) -> int:
    from .inverse import SEATS_KEY, least_resource

    inputs, _ = _load(args, "inverse")
    key, per_unit = args.vary, 1.0
    if args.vary == "seats":
        if args.calls_per_seat is None:
            raise InputError("--vary seats needs --calls-per-seat (calls one seat makes for this base in the wave)", key="--calls-per-seat")
        key, per_unit = SEATS_KEY, float(args.calls_per_seat)
    scale = per_unit
    result = least_resource(
        inputs, args.target, measure=args.measure, key=key,
        low=None if args.low is None else args.low * scale, high=None if args.high is None else args.high * scale,
        tolerance=None if args.tolerance is None else args.tolerance * scale, per_unit=per_unit,
    )
    print(_line(result.sentence()))
    if args.out:
        from optimizer.atomic import write_folder

        record = {"key": result.key, "measure": result.measure, "target": result.target, "per_unit": result.per_unit,
                  "low": result.low, "high": result.high, "value_at_low": result.value_at_low, "value_at_high": result.value_at_high,
                  "evaluations": result.evaluations}
        text = json.dumps(record, indent=2, default=str)
        (path,) = write_folder(Path(args.out), [("inverse.json", lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))])
        print(f"wrote {path}")
    return EXIT_OK


def simulate(args: argparse.Namespace) -> int:
    """An optimizer scenario gets the plan test; a simulator scenario its strategies."""
    from simulation.cli import run as run_simulation

    from .plan_test import is_plan_scenario

    return plan_test_command(args) if is_plan_scenario(args.scenario) else run_simulation(args)


@_guard("simulate")
def plan_test_command(args: argparse.Namespace) -> int:
    """``campaignlab simulate SCENARIO [--plan PLAN.csv]``: the plan test (scenarios.plan_test)."""
    from .plan_test import run_plan_test, sentence, write_plan_test
    from .sweep import ProgressBar

    inputs, problem = _load(args, "simulate")
    if args.horizon is not None and not 1 <= args.horizon <= 240:
        raise InputError(f"(={args.horizon}) must be between 1 and 240 months", key="--horizon")
    bar: ProgressBar | None = None
    if args.every_month and args.plan is not None:
        raise InputError("--every-month re-plans each month; it takes no --plan", key="--plan")
    if not args.every_month and args.budget_per_month is not None:
        raise InputError("applies with --every-month", key="--budget-per-month")

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            what = "every month" if args.every_month else "plan test"
            from rich.markup import escape

            from optimizer.report import printable

            bar = ProgressBar(not args.no_progress, total, f"{what} {escape(printable(inputs.name))}: replications x strategies")
        if done:
            bar.advance()

    out = Path(args.out) if args.out is not None else default_folder(inputs.name)
    if args.every_month:
        return _monthly(args, inputs, out, progress, lambda: bar)
    try:
        result = run_plan_test(
            inputs, args.plan, effects=args.effects, replications=args.replications, seed=args.seed,
            horizon_months=args.horizon, workers=args.workers, progress=progress, seats=args.seats, problem=problem,
        )
    finally:
        if bar is not None:
            bar.stop()
    paths = write_plan_test(result, out)
    print(_line(sentence(result)))
    rows = [(k, result.planned[k], result.simulated[k]) for k in ("spend", "expected_return", "net_value", "acceptances", "calls")]
    print(f"{'measure':<16}{'planned':>14}{'simulated':>14}  95% CI")
    for k, planned, sim in rows:
        print(f"{k:<16}{planned:>14,.1f}{sim['mean']:>14,.1f}  [{sim['ci_low']:,.1f}, {sim['ci_high']:,.1f}]")
    if result.p_spend_over_budget is not None:
        print(f"share of replications with spend over the budget: {result.p_spend_over_budget:.0%}")
    for gap in result.gaps:
        print(_line(f"gap in {gap['measure']}: " + " | ".join(gap["causes"])))
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return EXIT_OK


def _monthly(args: argparse.Namespace, inputs: Any, out: Path, progress: Callable[[int, int], None], bar: Callable[[], Any]) -> int:
    """``simulate SCENARIO --every-month``: strategies re-planned monthly, ranked (scenarios.monthly)."""
    from .monthly import compare_monthly, write_monthly

    budget = args.budget_per_month
    if budget is None:
        budget = inputs.scenario().budget
        if budget is None:
            raise InputError("the scenario has no budget: give --budget-per-month", key="--budget-per-month")
    try:
        result = compare_monthly(inputs, budget_per_month=budget, months=args.horizon, seats=args.seats,
                                 replications=args.replications, seed=args.seed, effects=args.effects, progress=progress)
    finally:
        if bar() is not None:
            bar().stop()
    paths = write_monthly(result, out)
    print(f"{_line(result.scenario)}: {result.budget_per_month:,.0f} yuan a month, {result.seats} seats, {result.months} months, "
          f"{result.replications} replications ({result.effects} effects); net value against doing nothing, yuan, 95% CI:")
    for _, row in result.ranking.iterrows():
        print(f"  {row['rank']}. {_line(row['strategy']):<32}{row['net_value']:>14,.0f}  [{row['net_value_ci_low']:,.0f}, "
              f"{row['net_value_ci_high']:,.0f}]  spend {row['spend']:,.0f}" + ("  (ahead of the next)" if row["distinct_from_next"] else ""))
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return EXIT_OK


def _baselines(args: argparse.Namespace, problem: Any) -> Any:
    from .compare import baseline_defaults, default_baselines, rule_targeting, score_targeting

    if not args.rule and not args.score:
        return default_baselines(problem)
    offers, channel = baseline_defaults(problem)
    offers = [o.strip() for o in args.offers.split(",")] if args.offers else offers
    channel = args.channel or channel
    out = []
    if args.rule:
        out.append(rule_targeting(args.rule, offers, channel, name=f"rule: {args.rule}"))
    if args.score:
        out.append(score_targeting(args.score, offers, channel, name=f"score: {args.score}"))
    return out


@_guard("compare")
def compare(args: argparse.Namespace) -> int:
    from optimizer.atomic import neutralised

    from .compare import compare, headline
    from .sweep import write_table

    inputs, problem = _load(args, "compare")
    table = compare(problem, _baselines(args, problem))
    extra = []
    out = Path(args.out)
    if args.simulate:
        from .plan_test import run_plan_test, sentence

        tested = run_plan_test(inputs, replications=args.replications, workers=args.workers,
                               baselines=_baselines(args, problem), problem=problem)
        simulated = tested.strategies[tested.strategies["measure"].isin(["spend", "expected_return", "net_value", "acceptances"])]
        extra.append(("simulated_comparison.csv", lambda tmp: neutralised(simulated).to_csv(tmp, index=False, float_format="%.10g")))
    paths = write_table(table, out, "comparison", extra=extra)
    print(_printed(table[["strategy", "contacts", "spend", "net_value", "roi", "retained", "verified"]]))
    print(_line(headline(table, problem.scenario.budget)))
    if args.simulate:
        print(_line(sentence(tested)))
        shown = simulated[simulated["measure"] == "net_value"][["strategy", "planned", "mean", "ci_low", "ci_high"]]
        print("simulated net value on this base (yuan, mean and 95% CI over replications):")
        print(_printed(shown))
    print(f"wrote {', '.join(map(str, paths))}")
    return EXIT_OK


@_guard("report")
def report(args: argparse.Namespace) -> int:
    from .report import build_report, write_report

    inputs, _ = _load(args, "report")
    budgets = _csv_numbers(args.budgets, "budgets") if args.budgets else None
    data = build_report(inputs, budgets=budgets, frontier_points=args.points, simulate=args.simulate, workers=args.workers,
                        replications=args.replications, from_folder=None if args.from_folder is None else Path(args.from_folder),
                        author=args.author, progress=not args.no_progress)
    paths = write_report(Path(args.out), data)
    print(f"wrote {', '.join(map(str, paths))} ({paths[-1].stat().st_size / 1024:,.0f} KiB page, {data.meta['seconds']:,.1f} s)")
    return EXIT_OK


@_guard("contacts")
def contacts(args: argparse.Namespace) -> int:
    from optimizer.solving import solve
    from optimizer.tables import read_table
    from optimizer.verify import verify_plan

    from .contacts import contact_lists, write_contact_lists

    inputs, problem = _load(args, "contacts")
    if args.plan:
        plan = read_table(args.plan)
        missing = [c for c in ("customer_id", "offer_id", "channel_id") if c not in plan.columns]
        if missing:
            raise InputError("a plan needs customer_id, offer_id and channel_id columns", file=args.plan, column=missing[0])
        verification = verify_plan(problem, plan)
        if not verification.ok:
            raise InputError(f"the plan breaks the scenario's limits: {verification.violations[0]}; no lists written", file=args.plan)
    else:
        result = solve(problem)
        if not result.has_plan:
            print(f"campaignlab contacts: no plan ({result.status.value}): {result.message}; no lists written", file=sys.stderr)
            return EXIT_NO_PLAN
        plan = result.plan
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    lists = contact_lists(problem, plan, columns)
    paths = write_contact_lists(lists, Path(args.out), args.format)
    from optimizer.report import printable

    for channel, table in lists.items():
        print(f"{printable(channel):8s} {len(table):6,} contacts")
    print(f"wrote {', '.join(map(str, paths))}")
    return EXIT_OK


@_guard("evaluate")
def evaluate(args: argparse.Namespace) -> int:
    """``campaignlab evaluate SCENARIO PLAN.csv RESPONSES.csv``: planned against realised (scenarios.evaluate)."""
    from .evaluate import evaluate, write_evaluation
    from .evaluate_inputs import parse_date

    for value, name in ((args.plan, "PLAN.csv"), (args.responses, "RESPONSES.csv")):
        if value is None:
            raise InputError("is required: campaignlab evaluate SCENARIO PLAN.csv RESPONSES.csv", key=name)
    date = parse_date(args.date) if args.date is not None else None
    _, problem = _load(args, "evaluate")
    result = evaluate(problem, args.plan, args.responses, args.holdout, segment=args.segment, date=date)
    out = Path(args.out) if args.out is not None else Path(args.plan).parent / "evaluation"
    paths = write_evaluation(result, out)
    s = result.summary
    c, t = s["contacts"], s["totals"]
    if c["without_response"]:
        print(f"campaignlab evaluate: warning: {c['without_response']:,} of {c['planned']:,} planned contacts have no response row "
              f"(e.g. {_line(c['without_response_example'])}); left out of every figure, no_answer in the contact history",
              file=sys.stderr)
    def ci(low: Any, high: Any, digits: int = 2) -> str:
        return f"[{low:,.{digits}f}, {high:,.{digits}f}]" if low is not None and high is not None else "[no interval]"

    print(f"{c['with_response']:,} contacts with a response: acceptances {t['realised_acceptances']:,} realised against "
          f"{t['expected_acceptances']:,.1f} expected; multiplier {t['multiplier']:.3f} {ci(t['multiplier_ci_low'], t['multiplier_ci_high'], 3)}")
    print(f"revenue {t['realised_revenue']:,.0f} yuan realised {ci(t['realised_revenue_ci_low'], t['realised_revenue_ci_high'], 0)} "
          f"against {t['expected_return']:,.0f} expected return; cost {t['realised_cost']:,.0f} against {t['expected_cost']:,.0f} expected")
    print(f"Brier score of p_accept {s['calibration']['brier']:.4f} (constant predictor {s['calibration']['reference_brier']:.4f})")
    if s["holdout"] is not None:
        d = s["holdout"]["churn_difference"]
        print(f"churn rate contacted - holdout: {d['difference']:+.2%} {ci(d['ci_low'], d['ci_high'], 4)} (fraction; 95% Newcombe)")
    print(f"wrote {', '.join(map(str, paths))}")
    return EXIT_OK
