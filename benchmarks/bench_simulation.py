"""Benchmark of the lifecycle simulator (a script, not a timed test).

Prints, for each base size and each call centre engine (``call_centre.engine``: "fast",
the compiled replay of the call centre's events, and "events", the SimPy processes),
customer-months per second of one replication with the call centre (seats, shifts, inbound
hotline) and contact fatigue on, under the key-moment strategy (calls on usage drops and
expiring contracts, SMS on handset changes), beside plain SimPy's event rate measured in the
same run, the SimPy events the replication used, and the peak RSS of the process that ran
it; then the ratio of the two engines' wall times and whether they gave the same results.
Each run is a fresh child process so its peak RSS is its own; its clock starts when the
simulation is built, after imports and a 1,000-customer month (one-time set-up). The load
average before and after says whether other work shared the cores. ``--scaling`` also
times R replications (fast engine) on 1 and on 2 worker processes.

    python benchmarks/bench_simulation.py                       # 100k and 1M x 36 months
    python benchmarks/bench_simulation.py --customers 20000 --months 6   # quick

Target (issue 14, the fast engine): >= 5M customer-months/s, i.e. 1M customers x 36 months
in about 7 s per replication on this 2-core machine (issue 4's target was 1M/s, 60 s).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def plain_simpy_rate(events: int = 1_000_000) -> float:
    """Events per second of bare SimPy: 1,000 processes each looping on timeouts."""
    import simpy

    env = simpy.Environment()
    per = events // 1000

    def proc(env: simpy.Environment):  # type: ignore[no-untyped-def]
        for _ in range(per):
            yield env.timeout(1.0)

    for _ in range(1000):
        env.process(proc(env))
    t0 = time.perf_counter()
    env.run()
    return events / (time.perf_counter() - t0)


TARGET = 5_000_000  # customer-months/s, issue 14
ENGINES = ("fast", "events")


def bench_config(customers: int, months: int, engine: str = "fast"):  # type: ignore[no-untyped-def]
    from simulation import build_config

    return build_config(
        {
            "name": f"bench_{customers}",
            "horizon_months": months,
            # Budget and seats scale with the base: 208 seats (the source's 10088 centre) at 1M.
            "budget_per_month": 1.5 * customers,
            "population": {"customers": customers, "gross_adds_per_month": 0.01 * customers},
            "call_centre": {
                "seats": max(5, round(customers * 208 / 1_000_000)),
                "inbound_calls_per_hour": customers / 10_000,
                "engine": engine,
            },
        }
    )


def strategy():  # type: ignore[no-untyped-def]
    from simulation import KeyMomentTriggers

    return KeyMomentTriggers(
        [
            {"moment": "usage_drop", "offer": "bill_credit", "channel": "call"},
            {
                "moment": "contract_expiring",
                "offer": "bill_credit",
                "channel": "call",
                "months_ahead": 1,
            },
            {"moment": "handset_change", "offer": "data_pack", "channel": "sms"},
        ]
    )


def _one_size(customers: int, months: int, engine: str, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from simulation import Simulation

    cfg = bench_config(customers, months, engine)
    # One-time set-up, not a replication's cost: a 1,000-customer month loads the compiled
    # code (numba's cache) as the imports loaded the modules.
    Simulation(bench_config(1_000, 1, engine), strategy(), seed=1).run()
    t0 = time.perf_counter()
    sim = Simulation(cfg, strategy(), seed=12345)
    t_init = time.perf_counter() - t0
    res = sim.run()
    wall = time.perf_counter() - t0
    events = next(sim.env._eid)  # SimPy's event counter: events scheduled in this run
    ts = res.timeseries
    queue.put(
        {
            "customers": customers,
            "months": months,
            "wall_s": wall,
            "init_s": t_init,
            "customer_months": customers * months,
            "live_customer_months": int(ts["active"].sum()),
            "calls_dialled": int(ts["calls_dialled"].sum()),
            "inbound_calls": int(ts["inbound_calls"].sum()),
            "simpy_events": events,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            # What the engines must agree on: every monthly figure and the totals.
            "results": (ts.drop(columns="strategy", errors="ignore").to_dict("list"), res.totals),
        }
    )


def run_size(customers: int, months: int, engine: str) -> dict:
    ctx = mp.get_context("spawn")  # a fresh interpreter: its peak RSS is this run's alone
    queue = ctx.Queue()
    p = ctx.Process(target=_one_size, args=(customers, months, engine, queue))
    p.start()
    out = queue.get()
    p.join()
    return out


def scaling(customers: int, months: int, replications: int) -> tuple[float, float]:
    from simulation import run_experiment

    cfg = bench_config(customers, months)
    times = []
    for workers in (1, 2):
        t0 = time.perf_counter()
        run_experiment(cfg, {"keys": strategy()}, replications=replications, seed=1, workers=workers)
        times.append(time.perf_counter() - t0)
    return times[0], times[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument(
        "--scaling",
        type=int,
        default=0,
        metavar="R",
        help="also time R replications of the smallest size on 1 and 2 workers",
    )
    args = ap.parse_args(argv)
    if any(c <= 0 for c in args.customers) or args.months <= 0:
        ap.error("--customers and --months must be > 0")

    print(f"load average (1 min) before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    rate = plain_simpy_rate()
    print(f"plain SimPy: {rate:,.0f} events/s (1,000 processes x 1,000 timeouts)")
    print(
        f"{'customers':>10} {'months':>6} {'engine':>6} {'wall s':>8} {'cust-months/s':>14} "
        f"{'live c-m/s':>11} {'calls':>9} {'inbound':>8} {'SimPy ev':>9} {'ev/s':>9} "
        f"{'peak RSS MB':>11}"
    )
    for n in args.customers:
        runs = {}
        for engine in ENGINES:
            r = runs[engine] = run_size(n, args.months, engine)
            cms = r["customer_months"] / r["wall_s"]
            print(
                f"{n:>10,} {args.months:>6} {engine:>6} {r['wall_s']:>8.2f} {cms:>14,.0f} "
                f"{r['live_customer_months'] / r['wall_s']:>11,.0f} {r['calls_dialled']:>9,} "
                f"{r['inbound_calls']:>8,} {r['simpy_events']:>9,} "
                f"{r['simpy_events'] / r['wall_s']:>9,.0f} {r['peak_rss_mb']:>11.0f}"
            )
        fast, events = runs["fast"], runs["events"]
        cms = fast["customer_months"] / fast["wall_s"]
        same = "yes" if repr(fast["results"]) == repr(events["results"]) else "NO"  # repr: NaN equals NaN
        print(
            f"{'':>10} events / fast wall time: {events['wall_s'] / fast['wall_s']:.1f}x; "
            f"same results on both engines: {same}"
        )
        verdict = "met" if cms >= TARGET else "MISSED"
        print(f"{'':>10} target >= {TARGET:,} customer-months/s (fast engine): {verdict}")
    print(f"load average (1 min) after: {os.getloadavg()[0]:.2f}")
    if args.scaling:
        n = min(args.customers)
        t1, t2 = scaling(n, args.months, args.scaling)
        print(
            f"{args.scaling} replications of {n:,} x {args.months}: 1 worker {t1:.1f} s, "
            f"2 workers {t2:.1f} s, speed-up {t1 / t2:.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
