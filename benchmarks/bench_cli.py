"""`campaignlab optimize --mode decompose` end to end on a generated base: what a user waits for.

The command runs as a child process on a cached Parquet base (bench_decompose.py's cache):
imports, read and checks, solve, verification and writing. Its wall time and peak RSS are
printed with the solve's share (summary.json's ``runtime_seconds``), quiet and with the other
core kept busy by a CPU-bound process this script starts itself. Baselines from the same run:
Arrow's read of the two Parquet files (the floor of the load), one numpy pass over the option
table, and pandas' ``to_csv`` of the written plan beside the plan writer's
(optimizer.report.plan_csv), which must give the same bytes.

    python benchmarks/bench_cli.py --size 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_decompose import DEFAULT_CACHE, cached_scenario

TARGET_SIZE, TARGET_SECONDS = 1_000_000, 12.0  # issue 14: the 1M command end to end


def run_command(scenario: Path, out: Path, busy: bool) -> dict:
    """One `campaignlab optimize` run: wall seconds, the solve's seconds, peak RSS of the child."""
    command = [sys.executable, "-m", "campaignlab", "optimize", str(scenario), "--mode", "decompose", "--out", str(out), "--quiet"]
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        start = time.perf_counter()
        subprocess.run(command, check=True)
        seconds = time.perf_counter() - start
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "OPTIMAL" and summary["verified"], summary["status"]
    runtime = summary["runtime_seconds"]  # total: read and checks, solve and verification, in the command
    return {"seconds": seconds, "solve_seconds": runtime["dual"] + runtime["recovery"], "checked_seconds": runtime["total"],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "objective": summary["objective"]}


def baselines(scenario: Path, plan_file: Path) -> dict:
    """The same run's floors: Arrow's read of the base, one numpy pass, pandas' CSV writer."""
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    from optimizer.report import plan_csv

    start = time.perf_counter()
    options = pq.read_table(scenario.parent / "options.parquet")
    pq.read_table(scenario.parent / "customers.parquet")
    read = time.perf_counter() - start
    p, value, contact, offer = (options.column(c).to_numpy() for c in ("p_accept", "value", "contact_cost", "offer_cost"))
    ids = options.column("customer_id")
    if str(ids.type).startswith("dictionary"):  # one dictionary over the row groups, then its codes
        codes = np.concatenate([chunk.indices.to_numpy() for chunk in ids.unify_dictionaries().chunks])
    else:
        codes = pd.factorize(ids.to_numpy())[0]
    start = time.perf_counter()
    net = p * (value - offer) - contact
    first = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    np.maximum.reduceat(net, first)
    numpy_pass = time.perf_counter() - start
    plan = pd.read_csv(plan_file, dtype={"customer_id": str})
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        plan.to_csv(Path(scratch) / "pandas.csv", index=False, float_format="%.10g", lineterminator="\n")
        pandas_write = time.perf_counter() - start
        start = time.perf_counter()
        plan_csv(plan, Path(scratch) / "ours.csv")
        our_write = time.perf_counter() - start
        same = (Path(scratch) / "pandas.csv").read_bytes() == (Path(scratch) / "ours.csv").read_bytes()
    return {"arrow_read": read, "numpy_pass": numpy_pass, "pandas_write": pandas_write, "plan_write": our_write,
            "same_bytes": same, "plan_rows": len(plan)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", default=DEFAULT_CACHE, help=f"where Parquet bases are kept (default: {DEFAULT_CACHE})")
    args = parser.parse_args()
    scenario = cached_scenario(args.size, args.seed, args.cache)
    with open("/proc/loadavg") as f:
        print(f"load average (1 min) before: {f.read().split()[0]}")
    with tempfile.TemporaryDirectory() as scratch:
        # a first run on the bundled demo compiles (or loads) the walk outside the clock
        subprocess.run([sys.executable, "-m", "campaignlab", "optimize", "--mode", "decompose", "--out",
                        str(Path(scratch) / "warm"), "--quiet"], check=True)
        quiet = run_command(scenario, Path(scratch) / "quiet", busy=False)
        busy = run_command(scenario, Path(scratch) / "busy", busy=True)
        floor = baselines(scenario, Path(scratch) / "quiet" / "plan.csv")
    print(f"{'customers':>10} {'run':>6} {'wall s':>7} {'solve s':>8} {'read+verify s':>14} {'imports+write s':>16} "
          f"{'peak RSS MiB':>13} {'objective':>16}")
    for name, run in (("quiet", quiet), ("busy", busy)):
        print(f"{args.size:>10,} {name:>6} {run['seconds']:7.2f} {run['solve_seconds']:8.2f} "
              f"{run['checked_seconds'] - run['solve_seconds']:14.2f} {run['seconds'] - run['checked_seconds']:16.2f} "
              f"{run['peak_rss_mb']:13.0f} {run['objective']:16,.2f}")
    print("solve: the dual and the recovery (summary.json runtime_seconds); read+verify: reading and checking the base, "
          "verifying the plan; imports+write: start-up, the summary and the files; peak RSS: the largest child so far")
    print(f"same run: Arrow reads the base in {floor['arrow_read']:.2f} s, one numpy pass takes {floor['numpy_pass']:.3f} s; "
          f"end to end = {quiet['seconds'] / floor['arrow_read']:.0f}x the read")
    print(f"plan.csv ({floor['plan_rows']:,} rows): plan writer {floor['plan_write']:.2f} s, pandas to_csv {floor['pandas_write']:.2f} s "
          f"({floor['pandas_write'] / floor['plan_write']:.1f}x), same bytes: {'yes' if floor['same_bytes'] else 'NO'}")
    ratio = busy["seconds"] / quiet["seconds"]
    print(f"other core busy / quiet: {ratio:.2f}x end to end")
    if args.size == TARGET_SIZE:
        met = quiet["seconds"] <= TARGET_SECONDS
        print(f"target {args.size:,} command end to end (quiet): {quiet['seconds']:.1f} s ({'met' if met else 'MISSED'}; "
              f"target <= {TARGET_SECONDS:g})")

if __name__ == "__main__":
    main()
