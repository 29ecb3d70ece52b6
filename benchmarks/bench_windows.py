"""Contact history and rolling windows at scale: what they add to building, solving, verifying.

The demo scenario scaled to ``--size`` customers (a generated base) is solved in
decomposition mode twice, each in its own child process (so peak RSS is its own): without a
history, and with a generated three-month history and the README's windows (30 days max 2,
90 days max 1 call, a 60-day cool-down after a declined handset offer, ``min_gap_days`` 7,
a data pack -> family plan sequence). Reported: the Problem build (history checks and rooms
included), the solve, the verifier, peak RSS, the certified gap, and the ratio of the
history's cost to one numpy pass over the history (a bincount of its customers).

    python benchmarks/bench_windows.py --size 1000000
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_decompose import spec_of  # noqa: E402  (a sibling script)

PLAN_DATE = datetime.date(2027, 3, 1)
POLICY = {
    "max_contacts": 2,
    "windows": [{"days": 30, "max": 2}, {"days": 90, "max": 1, "channel": "call"},
                {"days": 60, "max": 0, "offer": "handset_contract", "after": "declined"}],
    "min_gap_days": 7,
    "sequences": [{"first": "data_pack", "then": "family_plan", "days": 45}],
}


def one_run(size: int, seed: int, windows: bool) -> dict:
    import numpy as np
    import pandas as pd

    from optimizer import Problem, Scenario, verify_plan
    from optimizer.decompose import solve_decomposed
    from optimizer.demo import generate_base, generate_history

    solve_decomposed(Problem.from_tables(Scenario.model_validate(spec_of(300)), *generate_base(300, seed=1)))  # compile outside the clock
    options, customers = generate_base(size, seed=seed)
    spec = spec_of(size) | {"plan_date": PLAN_DATE.isoformat()}
    history = None
    out: dict = {"size": size, "windows": windows}
    if windows:
        spec["contact_policy"] = POLICY
        history = generate_history(customers, PLAN_DATE, months=3, seed=seed)
        out["history_rows"] = len(history)
        start = time.perf_counter()
        positions = pd.Index(customers["customer_id"]).get_indexer(history["customer_id"])
        np.bincount(positions, minlength=len(customers))
        out["numpy_pass_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    problem = Problem.from_tables(Scenario.model_validate(spec), options, customers, history=history)
    out["build_seconds"] = time.perf_counter() - start
    out["options"] = problem.n_options
    out["window_effects"] = [e.__dict__ for e in problem.window_effects]
    start = time.perf_counter()
    result = solve_decomposed(problem, gap=1e-6)
    out["solve_seconds"] = time.perf_counter() - start
    out |= {"objective": result.objective_value, "bound": result.bound, "gap": result.gap, "contacts": int(result.chosen.sum())}
    start = time.perf_counter()
    verification = verify_plan(problem, result.plan)
    out["verify_seconds"] = time.perf_counter() - start
    out["verified"] = verification.ok
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", choices=["plain", "windows"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(args.size, args.seed, args.child == "windows")))
        return
    runs = {}
    for kind in ("plain", "windows"):
        done = subprocess.run([sys.executable, __file__, "--size", str(args.size), "--seed", str(args.seed), "--child", kind],
                              capture_output=True, text=True, check=True)
        runs[kind] = json.loads(done.stdout.strip().splitlines()[-1])
    plain, win = runs["plain"], runs["windows"]
    print(f"{args.size:,} customers, decomposition mode (seed {args.seed}); the machine's load is not controlled here: say it")
    print(f"{'':24}{'build s':>9}{'solve s':>9}{'verify s':>9}{'peak MB':>9}{'gap':>10}{'contacts':>10}{'objective':>16}")
    for kind, r in runs.items():
        print(f"{kind:24}{r['build_seconds']:9.2f}{r['solve_seconds']:9.2f}{r['verify_seconds']:9.2f}{r['peak_rss_mb']:9.0f}"
              f"{r['gap']:10.1e}{r['contacts']:10,}{r['objective']:16,.2f}")
    extra = win["build_seconds"] - plain["build_seconds"]
    print(f"history of {win['history_rows']:,} rows: build +{extra:.2f} s = {extra / win['numpy_pass_seconds']:.0f}x one numpy pass "
          f"({win['numpy_pass_seconds']:.3f} s); verify +{win['verify_seconds'] - plain['verify_seconds']:.2f} s")
    for e in win["window_effects"]:
        print(f"  {e['name']}: {e['customers_restricted']:,} customers with less room, {e['customers_blocked']:,} with none, "
              f"{e['options_removed']:,} options removed")
    print(f"verified: plain {plain['verified']}, windows {win['verified']}")


if __name__ == "__main__":
    main()
