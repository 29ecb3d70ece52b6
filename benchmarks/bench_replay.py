"""Benchmark of the plan test: replaying an optimizer plan on a generated base (a script).

For each base size, in a fresh child process (so its peak RSS is its own): the demo's
limits scaled to the base, the plan from decomposition mode (exact below 50,000 customers),
then the replay of that plan on the same base, do-nothing beside it on common random
numbers. Prints seconds per replication of the plan and of do-nothing, the baseline of one
numpy pass over the base in the same process (a vectorised month of 24 hazard draws over
every customer, the least a monthly simulation must do), their ratio, and peak RSS.

    python benchmarks/bench_replay.py                     # 100k and 1M customers, 24 months
    python benchmarks/bench_replay.py --sizes 20000 --replications 2   # quick

Target (issue 10): seconds per replication and peak RSS of replaying a 1M-customer plan.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def numpy_pass(n: int, months: int) -> float:
    """Seconds for ``months`` vectorised exit draws over ``n`` customers: the floor."""
    import numpy as np

    rng = np.random.default_rng(0)
    h = rng.random(n, dtype=np.float32) * np.float32(0.05)
    alive = np.ones(n, bool)
    t0 = time.perf_counter()
    for _ in range(months):
        alive &= rng.random(n, dtype=np.float32) >= h
    return time.perf_counter() - t0


def one_size(size: int, replications: int, months: int, seed: int) -> dict:
    import numpy as np
    import yaml

    from optimizer.demo import generate_base, scale_limits
    from scenarios.inputs import ScenarioInputs
    from scenarios.plan_test import run_plan_test

    template = yaml.safe_load((resources.files("scenarios") / "bundled" / "demo.yaml").read_text(encoding="utf-8"))
    data = scale_limits(template, size)
    data.pop("do_not_contact", None)
    data["name"] = f"bench_replay_{size}"
    data["simulation"] = {"horizon_months": months, "strategies": ["do_nothing", "plan"]}
    t0 = time.perf_counter()
    options, customers = generate_base(size, seed=seed)
    from optimizer.demo import offer_effect

    data["simulation"]["offers"] = {o: {"churn_multiplier": offer_effect(o).churn_multiplier, "term_months": offer_effect(o).term_months,
                                        "arpu_uplift": offer_effect(o).arpu_uplift} for o in data["offers"]}
    inputs = ScenarioInputs.from_tables(data, options, customers)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    problem = inputs.problem()
    if size < 50_000:
        from optimizer.solving import solve

        result = solve(problem)
    else:
        from optimizer.decompose import solve_decomposed

        result = solve_decomposed(problem)
    solve_s = time.perf_counter() - t0
    chosen = result.chosen.astype(np.int8)
    stamps: list[float] = []
    t0 = time.perf_counter()
    test = run_plan_test(inputs, chosen, effects="lifecycle", replications=replications, seed=seed, problem=problem,
                         progress=lambda done, total: stamps.append(time.perf_counter()))
    replay_s = time.perf_counter() - t0
    # stamps[0]: the experiment starts (setup before it: base, contact plans); then one stamp
    # per run, alternating do_nothing, plan within each replication
    setup_s = stamps[0] - t0
    per_run = [b - a for a, b in zip(stamps[:-1], stamps[1:])]
    floor = numpy_pass(size, months)
    return {
        "customers": size, "options": problem.n_options, "contacts": int(chosen.sum()), "months": months,
        "replications": replications, "load_s": load_s, "solve_s": solve_s, "replay_total_s": replay_s, "setup_s": setup_s,
        "do_nothing_s_per_rep": float(np.mean(per_run[0::2])), "plan_s_per_rep": float(np.mean(per_run[1::2])),
        "numpy_pass_s": floor, "run_seconds": per_run, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "net_value_planned": test.planned["net_value"], "net_value_simulated": test.simulated["net_value"]["mean"],
    }


def _child(args: tuple, queue) -> None:  # type: ignore[no-untyped-def]
    queue.put(one_size(*args))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--replications", type=int, default=3)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    rows = []
    for size in args.sizes:
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=((size, args.replications, args.months, args.seed), queue))
        proc.start()
        row = queue.get()
        proc.join()
        rows.append(row)
        print(json.dumps(row))
    print()
    head = ("customers", "contacts", "solve s", "setup s", "plan s/rep", "do-nothing s/rep", "numpy pass s", "plan / numpy", "peak RSS MiB",
            "net value planned", "simulated")
    print(" | ".join(head))
    for r in rows:
        print(" | ".join([f"{r['customers']:,}", f"{r['contacts']:,}", f"{r['solve_s']:.1f}", f"{r['setup_s']:.1f}", f"{r['plan_s_per_rep']:.2f}",
                          f"{r['do_nothing_s_per_rep']:.2f}", f"{r['numpy_pass_s']:.3f}", f"{r['plan_s_per_rep'] / r['numpy_pass_s']:.0f}x",
                          f"{r['peak_rss_mib']:,.0f}", f"{r['net_value_planned']:,.0f}", f"{r['net_value_simulated']:,.0f}"]))
    print(f"({args.months} months per replication; setup: the base and contact plans built once; "
          "peak RSS: the whole child process, load and solve included)")


if __name__ == "__main__":
    main()
