"""Three waves planned jointly against planning each wave alone in sequence.

A generated demo base of ``--size`` customers with a three-month contact history and the
README's windows (30 days max 2, 90 days max 1 call, a 60-day cool-down after a declined
handset offer, ``min_gap_days`` 7, never a family plan within 45 days after a data pack) is
planned over three waves (1 March, 22 March, 19 April 2027), each with the demo's budget and
capacities scaled to the base:

* **joint**: one exact plan over the three waves (optimizer.waves), every window across waves;
* **sequential**: wave 1 alone, its contacts appended to the history (outcome ``no_answer``:
  the planner of wave 2 does not know the outcomes yet, and the joint plan does not either),
  then wave 2 alone on that history, then wave 3.

Both are solved by ``--mode``: exact (proven optimal unless ``--time-limit`` stops it) or
decomposition (the per-customer walk over all three waves, a certified gap); the gap is
printed and both plans pass the verifier over all three waves. Then (unless
``--no-window-costs``) each window is dropped from the joint scenario in turn: the change in
contacts and net value is what that window costs. Every money figure is expected yuan over
the demo's value horizon. Peak RSS is read after the joint solve (build, solve, verify) and
at the end.

    python benchmarks/bench_waves.py --size 1000
    python benchmarks/bench_waves.py --size 1000000 --mode decompose --no-window-costs
"""

from __future__ import annotations

import argparse
import datetime
import resource
import time

import pandas as pd

PLAN_DATE = datetime.date(2027, 3, 1)
WAVES = (("march", datetime.date(2027, 3, 1)), ("march_late", datetime.date(2027, 3, 22)), ("april", datetime.date(2027, 4, 19)))
POLICY = {
    "max_contacts": 2,
    "windows": [{"days": 30, "max": 2, "name": "any 30 days"}, {"days": 90, "max": 1, "channel": "call", "name": "call 90 days"},
                {"days": 60, "max": 0, "offer": "handset_contract", "after": "declined", "name": "handset cool-down"}],
    "min_gap_days": 7,
    "sequences": [{"first": "data_pack", "then": "family_plan", "days": 45}],
}


def spec(size: int, policy: dict) -> dict:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_decompose import spec_of  # a sibling script: the demo scenario scaled to the base

    base = spec_of(size)
    waves = [{"name": name, "date": day.isoformat(), "budget": base["budget"]} for name, day in WAVES]
    return base | {"name": f"three-waves-{size}", "contact_policy": policy, "waves": waves}


def run(problem, mode: str, time_limit: float, gap: float):  # type: ignore[no-untyped-def]
    from optimizer import solve
    from optimizer.decompose import solve_decomposed

    if mode == "exact":
        return solve(problem, time_limit=time_limit, shadow_prices=False)
    return solve_decomposed(problem, time_limit=time_limit, gap=gap)


def joint(size: int, options: pd.DataFrame, customers: pd.DataFrame, history: pd.DataFrame, policy: dict, mode: str,
          time_limit: float, gap: float):
    from optimizer import Problem, Scenario, verify_plan

    start = time.perf_counter()
    problem = Problem.from_tables(Scenario.model_validate(spec(size, policy)), options, customers, history=history)
    built = time.perf_counter() - start
    start = time.perf_counter()
    result = run(problem, mode, time_limit, gap)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    ok = verify_plan(problem, result.plan_table).ok if result.plan_table is not None else False
    return problem, result, {"build": built, "solve": seconds, "verify": time.perf_counter() - start}, ok


def sequential(size: int, options: pd.DataFrame, customers: pd.DataFrame, history: pd.DataFrame, mode: str, time_limit: float,
               gap: float):
    from optimizer import Problem, Scenario

    scenario = Scenario.model_validate(spec(size, POLICY))
    plans, objective, seconds, removed, statuses = [], 0.0, 0.0, {}, []
    for k in range(len(WAVES)):
        problem = Problem.from_tables(scenario.wave_scenario(k), options, customers, history=history)
        for effect in problem.window_effects:
            label = f"{scenario.waves[k].name}: {effect.name}"  # the joint problem's name for the same window
            removed[label] = removed.get(label, 0) + effect.options_removed
        start = time.perf_counter()
        result = run(problem, mode, time_limit, gap)
        seconds += time.perf_counter() - start
        statuses.append(result.status.value)
        plan = result.plan_table.assign(wave=scenario.waves[k].name)
        plans.append(plan)
        objective += float(result.objective_value)
        sent = plan[["customer_id", "offer_id", "channel_id"]].assign(date=WAVES[k][1].isoformat(), outcome="no_answer")
        history = pd.concat([history, sent], ignore_index=True)
    return pd.concat(plans, ignore_index=True), objective, seconds, removed, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=["exact", "decompose"], default="exact")
    parser.add_argument("--gap", type=float, default=1e-6, help="decomposition's relative gap")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per solve")
    parser.add_argument("--no-window-costs", action="store_true", help="skip the re-solves without each window")
    args = parser.parse_args()

    from optimizer import verify_plan
    from optimizer.demo import generate_base, generate_history

    options, customers = generate_base(args.size, seed=args.seed)
    history = generate_history(customers, PLAN_DATE, months=3, seed=args.seed)
    if args.mode == "decompose":  # compile the walks outside the clock
        small_options, small_customers = generate_base(300, seed=1)
        joint(300, small_options, small_customers, generate_history(small_customers, PLAN_DATE, months=3, seed=1), POLICY,
              "decompose", 60.0, 1e-4)
    problem, result, joint_seconds, joint_ok = joint(args.size, options, customers, history, POLICY, args.mode, args.time_limit, args.gap)
    joint_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seq_plan, seq_objective, seq_seconds, seq_removed, seq_status = sequential(args.size, options, customers, history, args.mode,
                                                                               args.time_limit, args.gap)
    # the sequential plan judged as one three-wave plan: the same verifier, the same windows
    seq_ok = verify_plan(problem, seq_plan).ok
    plan = result.plan_table
    gap = abs(result.bound - result.objective_value) / max(1.0, abs(result.objective_value)) if result.bound is not None else float("nan")
    print(f"{args.size:,} customers x {len(WAVES)} waves, {len(history):,} history rows (3 months), {problem.n_options:,} options "
          f"over all waves; {args.mode} mode; the machine's load is not controlled here: say it")
    print(f"joint: build {joint_seconds['build']:.1f} s, solve {joint_seconds['solve']:.1f} s, verify {joint_seconds['verify']:.1f} s, "
          f"peak RSS {joint_rss:,.0f} MB; {result.message}")
    print(f"{'':12}{'status':>12}{'net value':>14}{'contacts':>10}{'seconds':>9}{'verified':>10}   contacts per wave")
    per_wave = " / ".join(str(int((plan["wave"] == w).sum())) for w, _ in WAVES)
    print(f"{'joint':12}{result.status.value:>12}{result.objective_value:14,.2f}{len(plan):10,}{joint_seconds['solve']:9.1f}{joint_ok!s:>10}   "
          f"{per_wave} (gap {gap:.1e})")
    per_wave = " / ".join(str(int((seq_plan["wave"] == w).sum())) for w, _ in WAVES)
    print(f"{'sequential':12}{'/'.join(seq_status):>12}{seq_objective:14,.2f}{len(seq_plan):10,}{seq_seconds:9.1f}{seq_ok!s:>10}   {per_wave}")
    print(f"joint - sequential: {result.objective_value - seq_objective:+,.2f} yuan of expected net value "
          f"({(result.objective_value - seq_objective) / abs(seq_objective):+.2%})")
    print("options removed before solving by each window (history and, in sequence, the earlier waves' contacts):")
    for effect in problem.window_effects:
        print(f"  {effect.name:36} joint {effect.options_removed:7,}   sequential {seq_removed.get(effect.name, 0):7,}")
    if args.no_window_costs:
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
        return
    print("what each window costs the joint plan (solved again without it):")
    names = [w["name"] for w in POLICY["windows"]] + ["min_gap_days", "sequence"]
    for name in names:
        policy = dict(POLICY)
        if name == "min_gap_days":
            policy.pop("min_gap_days")
        elif name == "sequence":
            policy.pop("sequences")
        else:
            policy["windows"] = [w for w in POLICY["windows"] if w["name"] != name]
        _, relaxed, _, _ = joint(args.size, options, customers, history, policy, args.mode, args.time_limit, args.gap)
        print(f"  without {name:28} contacts {len(relaxed.plan_table) - len(plan):+6,}   net value "
              f"{relaxed.objective_value - result.objective_value:+12,.2f} yuan ({relaxed.status.value})")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
