"""Exact mode against the same model through PuLP + CBC, and exact mode on OR-Tools, on generated bases.

Each (size, engine) run happens in its own child process so that its peak RSS is its own;
every engine sees the identical Problem (same generator seed, same scaled demo limits). The
CBC run solves the identical sparse model (optimizer.model.build_model), rebuilt as PuLP
expressions, as a hand-built PuLP script would; the ortools run is exact mode itself (LP,
LP-guided search) with the OR-Tools backend (GLOP LP, SCIP MIP) in place of HiGHS. Prints one
table: time, peak RSS, objective, and each engine's time and objective against exact mode's.

    python benchmarks/bench_exact.py                 # 1k and 10k customers
    python benchmarks/bench_exact.py --sizes 1000    # quicker
    python benchmarks/bench_exact.py --engines exact ortools
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from importlib import resources

import yaml


#: exact mode (HiGHS), the plain PuLP + CBC MIP, exact mode on the OR-Tools backend
ENGINES = ("exact", "pulp_cbc", "ortools")


def one_run(size: int, engine: str, seed: int, time_limit: float) -> dict:
    from optimizer import Problem, Scenario, solve, verify_plan
    from optimizer.demo import generate_base, scale_limits
    from optimizer.model import build_model
    from optimizer.solvers import get_backend
    from optimizer.solvers.base import SolveOptions

    template = yaml.safe_load((resources.files("scenarios") / "bundled" / "demo.yaml").read_text(encoding="utf-8"))
    spec = scale_limits(template, size) | {"name": f"bench-{size}", "do_not_contact": None}
    options, customers = generate_base(size, seed=seed)
    start = time.perf_counter()
    problem = Problem.from_tables(Scenario.model_validate(spec), options, customers)
    if engine in ("exact", "ortools"):
        result = solve(problem, solver="highs" if engine == "exact" else "ortools", time_limit=time_limit)
        objective, bound, status = result.objective, result.bound, result.status.value
        ok = verify_plan(problem, result.plan).ok
    else:  # the plain PuLP + CBC MIP on the same matrix
        model = build_model(problem)
        raw = get_backend("cbc").solve_mip(model, SolveOptions(time_limit=time_limit, mip_gap=1e-6))
        objective, bound, status = raw.objective, raw.bound, raw.status.value
        ok = raw.x is not None and verify_plan(problem, problem.plan_table((raw.x > 0.5).astype(int))).ok
    seconds = time.perf_counter() - start
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the CBC executable
    return {
        "size": size, "engine": engine, "options": problem.n_options, "seconds": seconds,
        "peak_rss_mb": max(rss_self, rss_children) / 1024, "objective": objective, "bound": bound,
        "status": status, "verified": ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-limit", type=float, default=1800.0)
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    parser.add_argument("--one", nargs=2, metavar=("SIZE", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(int(args.one[0]), args.one[1], args.seed, args.time_limit)))
        return

    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    runs = {}
    engines = ["exact"] + [e for e in args.engines if e != "exact"]  # exact mode is the yardstick
    jobs = [(size, engine) for size in args.sizes for engine in engines]
    for size, engine in track(jobs, description="solving"):
        cmd = [sys.executable, __file__, "--one", str(size), engine, "--seed", str(args.seed), "--time-limit", str(args.time_limit)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        runs[size, engine] = json.loads(out.strip().splitlines()[-1])

    table = Table("customers", "options", "engine", "status", "seconds", "peak RSS MB", "objective", "verified", "time / exact", "objective - exact")
    for size in args.sizes:
        exact = runs[size, "exact"]
        for r in (runs[size, engine] for engine in engines):
            ratio = f"{r['seconds'] / exact['seconds']:.1f}x" if r is not exact else ""
            diff = f"{r['objective'] - exact['objective']:+.4g}" if r is not exact and r["objective"] is not None else ""
            table.add_row(f"{size:,}", f"{r['options']:,}", r["engine"], r["status"], f"{r['seconds']:.2f}",
                          f"{r['peak_rss_mb']:.0f}", f"{r['objective']:,.4f}" if r["objective"] is not None else "-",
                          str(r["verified"]), ratio, diff)
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
