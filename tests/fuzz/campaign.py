"""The fuzz campaign: thousands of mutated runs of every command, counted by outcome.

    python tests/fuzz/campaign.py --runs 80 --other-runs 6 --out fuzz-campaign.json

runs every mutation class of ``fuzz_world`` ``--runs`` times through ``campaignlab optimize``
and ``--other-runs`` times through each of simulate, sweep, compare, report and contacts
(and the ``prepare`` classes of ``fuzz_prepare`` through prepare),
each choice drawn from a generator seeded by (class, run), so a finding is reproduced by its
class and run number. Every run is checked by ``fuzz_contract``; the table gives, per class
and command, the runs, the exit codes, and the contract failures (a traceback, a hang, a
half-written output, an exit-0 plan the independent reference rejects, a wrong "no plan", a
name that matches nothing silently, a leak). Failures are listed in full in the JSON file.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

from fuzz_contract import COMMANDS, run  # noqa: E402
from fuzz_prepare import PREPARE_MUTATIONS, prepare_world  # noqa: E402
from fuzz_world import MUTATIONS, base_world  # noqa: E402

import optimizer.cli  # noqa: E402,F401  (imported once: forked runs start warm)


def _chooser(seed: int):
    rng = np.random.default_rng(seed)
    return lambda options: list(options)[int(rng.integers(len(options)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=80, help="runs per mutation class through optimize")
    parser.add_argument("--other-runs", type=int, default=6, help="runs per class through each other command")
    parser.add_argument("--kinds", help="comma-separated mutation classes (default: all)")
    parser.add_argument("--commands", default=",".join(COMMANDS), help="comma-separated commands")
    parser.add_argument("--out", default="fuzz-campaign.json")
    args = parser.parse_args(argv)
    plan = []
    for command in args.commands.split(","):
        known = PREPARE_MUTATIONS if command == "prepare" else MUTATIONS
        kinds = [k for k in args.kinds.split(",") if k in known] if args.kinds else sorted(known)
        plan += [(command, kind, i) for kind in kinds for i in range(args.runs if command == "optimize" else args.other_runs)]
    counts: dict[tuple[str, str], Counter] = {}
    failures = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch, Progress(transient=True) as progress:
        task = progress.add_task("fuzz runs", total=len(plan))
        for command, kind, i in plan:
            seed = sum(map(ord, kind)) * 100_003 + i  # stable across runs (hash() is salted)
            if command == "prepare":
                case = PREPARE_MUTATIONS[kind](prepare_world(), _chooser(seed))
            else:
                case = MUTATIONS[kind](base_world(), _chooser(seed))
            outcome = run(case, Path(scratch) / "run", COMMANDS[command])
            tally = counts.setdefault((command, kind), Counter())
            tally["runs"] += 1
            tally[f"exit {outcome.code}"] += 1
            tally["seconds"] += outcome.seconds
            if outcome.failures:
                tally["failed"] += 1
                failures.append({"command": command, "kind": kind, "run": i, "detail": case.detail,
                                 "exit": outcome.code, "failures": outcome.failures})
            progress.advance(task)
    table = Table(title=f"fuzz campaign: {len(plan)} runs in {time.perf_counter() - start:,.0f} s")
    for column in ("command", "class", "runs", "exit 0", "exit 1", "exit 2", "other", "contract failures", "mean s"):
        table.add_column(column, justify="left" if column in ("command", "class") else "right")
    for (command, kind), tally in counts.items():
        other = tally["runs"] - tally["exit 0"] - tally["exit 1"] - tally["exit 2"]
        table.add_row(command, kind, str(tally["runs"]), str(tally["exit 0"]), str(tally["exit 1"]), str(tally["exit 2"]),
                      str(other), str(tally["failed"]), f"{tally['seconds'] / tally['runs']:.2f}")
    console = Console(width=150)
    console.print(table)
    total = Counter()
    for tally in counts.values():
        total.update(tally)
    console.print(f"total: {total['runs']} runs, {total['failed']} breaking the contract")
    Path(args.out).write_text(json.dumps({"runs": total["runs"], "failed": total["failed"], "failures": failures,
                                          "by_class": {f"{c}/{k}": dict(t) for (c, k), t in counts.items()}}, indent=1))
    for failure in failures[:40]:
        text = f"({failure['detail']}) exit {failure['exit']}: {'; '.join(failure['failures'])[:300]}"
        console.print(f"[red]{failure['command']} {failure['kind']} #{failure['run']}[/red] {escape(text)}", highlight=False)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
