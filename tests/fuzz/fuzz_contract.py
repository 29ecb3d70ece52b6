"""Run one fuzz case as the user would, and check the command-line contract on what it left.

Each run happens in a forked child (the project is imported once, in the parent, so a run
costs what the command costs, not an interpreter start), with its working folder set to the
scenario's folder and its stdout and stderr captured at the file-descriptor level. The
parent kills a child that outlives the time limit: a hang is a finding, not a stuck test.

The contract (issue "Nothing silent, nothing half-written, nothing leaked"):

- the exit code is 0, 1 or 2, never an exception, a signal or a hang;
- exit 2 prints one ``campaignlab: error:`` line of bounded length and writes nothing;
- exit 1 leaves summary.json (the diagnosis) and no plan.csv; an INFEASIBLE claim is
  infeasible for the independent reference too;
- exit 0 leaves a plan.csv that summary.json vouches for (its sha256), that meets every
  limit as the reference reads the raw files, and that reaches the reference optimum;
- no temporary file is left, no output leaves the output folder, no text of a file
  outside the scenario's folder appears anywhere;
- a name that matches nothing is an error, or a warning when the scenario allows it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import fuzz_reference as reference
from fuzz_world import SECRET, Case

TIME_LIMIT_S = 120.0
MAX_ERROR_CHARS = 600


@dataclass
class Outcome:
    code: int | str  # an exit code, "exception", "timeout" or "signal N"
    stdout: str
    stderr: str
    seconds: float
    failures: list[str] = field(default_factory=list)
    status: str | None = None  # summary.json's status, when written


def _child(argv: list[str], folder: Path, logs: Path) -> None:
    os.chdir(folder)
    out = os.open(logs / "stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    err = os.open(logs / "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(out, 1)
    os.dup2(err, 2)
    sys.stdout = os.fdopen(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stderr = os.fdopen(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    from campaignlab.cli import main

    try:
        code: int | str = main(argv)
    except SystemExit as exc:  # argparse refuses a flag with exit 2
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = "exception"
    sys.stdout.flush()
    sys.stderr.flush()
    (logs / "code").write_text(str(code))
    os._exit(0)


def materialise(case: Case, root: Path) -> Path:
    """Write the case's files under ``root/work`` (``../x`` lands in ``root``); returns the folder."""
    if root.exists():
        shutil.rmtree(root)
    folder = root / "work"
    folder.mkdir(parents=True)
    for name, body in case.world.files().items():
        path = (folder / name).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return folder


#: Each command as the fuzz runs it: its name, then the flags that keep a run small.
COMMANDS: dict[str, tuple[str, ...]] = {
    "optimize": ("optimize",),
    "simulate": ("simulate", "--replications", "2", "--horizon", "6", "--no-progress"),
    "sweep": ("sweep", "--grid", "budget=20,80", "--workers", "1", "--no-progress"),
    "compare": ("compare", "--offers", "bill_credit", "--channel", "call"),
    "report": ("report", "--points", "0", "--workers", "1"),
    "contacts": ("contacts",),
    "prepare": ("prepare",),
}


def _fork(argv: list[str], folder: Path, logs: Path, time_limit: float) -> Outcome:
    """``campaignlab ARGV`` in a forked child with ``folder`` as its working folder."""
    logs.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("fork")
    start = time.perf_counter()
    child = context.Process(target=_child, args=(argv, folder, logs))
    child.start()
    child.join(time_limit)
    seconds = time.perf_counter() - start
    if child.is_alive():
        child.kill()
        child.join()
        code: int | str = "timeout"
    elif (logs / "code").exists():
        text = (logs / "code").read_text()
        code = int(text) if text.lstrip("-").isdigit() else text
    else:
        code = f"signal {-child.exitcode}" if child.exitcode and child.exitcode < 0 else f"died {child.exitcode}"
    read = lambda name: (logs / name).read_text(errors="replace") if (logs / name).exists() else ""  # noqa: E731
    return Outcome(code, read("stdout"), read("stderr"), seconds)


def run(case: Case, root: Path, command: tuple[str, ...] = COMMANDS["optimize"], time_limit: float = TIME_LIMIT_S) -> Outcome:
    """Run ``campaignlab COMMAND scenario.yaml --out OUT FLAGS ARGV`` on the case; check the contract.

    A ``prepare`` that succeeds is followed by ``optimize`` on the scenario it wrote, which
    must keep the contract too (a prepared scenario that does not load is a ``prepare`` bug).
    """
    folder = materialise(case, root)
    out = case.out or "out"
    target = f"{out}/report.html" if command[0] == "report" else out  # report takes the page's path; its files land beside it
    argv = [command[0], "scenario.yaml", "--out", target, *command[1:], *case.argv]
    outcome = _fork(argv, folder, root / "logs", time_limit)
    outcome.failures = check(case, outcome, folder, folder / out, root, command[0])
    if command[0] == "prepare" and outcome.code == 0:
        then = _fork(["optimize", f"{out}/scenario.yaml", "--out", "optimized"], folder, root / "logs-optimize", time_limit)
        if then.code not in (0, 1) or "Traceback" in then.stderr:
            outcome.failures.append(f"optimize on the prepared scenario: exit {then.code}: {then.stderr.strip()[-300:]!r}")
        outcome.seconds += then.seconds
    return outcome


def check(case: Case, outcome: Outcome, folder: Path, out: Path, root: Path, command: str = "optimize") -> list[str]:
    """Every way the run broke the contract (empty: it kept it).

    Every command keeps the common part (exit codes, no traceback, bounded errors, nothing
    written on exit 2, no temporaries, no leaks, names that match nothing); ``optimize``'s
    plan and no-plan claims are also checked against the reference.
    """
    failures: list[str] = []
    code = outcome.code
    if not isinstance(code, int):
        last = outcome.stderr.strip().splitlines()[-1:] or [""]
        return [f"{code}: {last[0][:200]}"]
    if code not in (0, 1, 2):
        failures.append(f"exit code {code}")
    allowed = case.expect
    if command == "sweep" and allowed is not None and allowed & {0, 1}:
        allowed = allowed | {0, 1}  # a sweep reports each point's status, a plan or not, and exits 0
    if allowed is not None and code not in allowed:
        failures.append(f"exit {code}, the contract wants {sorted(allowed)}: {outcome.stderr.strip()[-300:]!r}")
    if "Traceback" in outcome.stderr:
        failures.append("a traceback on stderr")
    failures += _leaks(outcome, root)
    temporaries = [p.name for p in out.glob(".*.tmp")] if out.is_dir() else []
    if temporaries:
        failures.append(f"temporary files left: {temporaries}")
    plan, summary = out / "plan.csv", out / "summary.json"
    if code == 2:
        errors = [line for line in outcome.stderr.splitlines() if line.startswith("campaignlab") and "error" in line]
        if not errors:
            failures.append(f"exit 2 without a 'campaignlab: error' line: {outcome.stderr[-300:]!r}")
        elif len(errors[-1]) > MAX_ERROR_CHARS:
            failures.append(f"error message of {len(errors[-1])} characters")
        written = [p.name for p in out.rglob("*") if p.is_file()] if out.is_dir() else []
        if written:
            failures.append(f"exit 2 wrote outputs: {written[:3]}")
    if command != "optimize":
        if case.dead_name is not None and code != 2 and case.dead_name not in outcome.stderr:
            failures.append(f"{case.dead_name!r} matches nothing, and {command} neither refuses nor warns")
        return failures
    if code in (0, 1):
        if not summary.exists():
            failures.append("no summary.json")
            return failures
        data = json.loads(summary.read_text(encoding="utf-8"))
        outcome.status = data.get("status")
        if code == 1:
            if plan.exists():
                failures.append("exit 1 (no plan) left a plan.csv")
            failures += _no_plan_claim(data, folder)
        else:
            failures += _plan_claim(data, plan, folder)
    if case.dead_name is not None:
        failures += _dead_name(case, outcome, out)
    return failures


def _leaks(outcome: Outcome, root: Path) -> list[str]:
    # the secret planted outside the folder, and the first line of /etc/passwd
    found = [where for where, text in (("stdout", outcome.stdout), ("stderr", outcome.stderr)) if SECRET in text or "root:x:0:" in text]
    for path in root.rglob("*"):
        if path.is_file() and path.name not in ("outside.csv", "outside.yaml") and SECRET.encode() in path.read_bytes():
            found.append(str(path.relative_to(root)))
    outside = [p.name for p in root.iterdir() if p.name not in ("work", "logs", "outside.csv", "outside.yaml")]
    return [f"text of a file outside the scenario's folder appears in {found}"] * bool(found) + [f"wrote outside the working folder: {outside}"] * bool(outside)


def _read_plan(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _plan_claim(summary: dict, plan: Path, folder: Path) -> list[str]:
    if not plan.exists():
        return ["exit 0 without plan.csv"]
    failures = []
    files = summary.get("files", {})
    if "plan.csv" not in files:
        failures.append("summary.json does not name plan.csv's sha256")
    elif files["plan.csv"].get("sha256") != hashlib.sha256(plan.read_bytes()).hexdigest():
        failures.append("plan.csv is not the plan summary.json describes (sha256 differs)")
    if summary.get("verified") is not True:
        failures.append(f"exit 0 with verified = {summary.get('verified')}")
    try:
        model = reference.build(folder)
        violations, net = reference.plan_violations(model, _read_plan(plan))
        failures += [f"independent check: {v}" for v in violations[:3]]
        best = reference.optimum(model)
    except reference.Invalid as exc:
        return failures + [f"exit 0 on input the reference reading refuses: {exc}"]
    if best is None:
        return failures + ["exit 0 although the reference finds no feasible plan"]
    tol = 1e-6 * max(1.0, abs(best))
    if abs(net - summary["objective"]) > tol:
        failures.append(f"the plan is worth {net:.6f} as read here, summary.json says {summary['objective']:.6f}")
    bound = summary.get("bound")
    if bound is not None and best > bound + tol:
        failures.append(f"the reference optimum {best:.6f} exceeds the certified bound {bound:.6f}")
    if summary.get("status") == "OPTIMAL" and bound is not None and net < best - max(bound - summary["objective"], 0) - tol:
        failures.append(f"OPTIMAL plan worth {net:.6f}, the reference optimum is {best:.6f}, beyond the reported gap")
    return failures


def _no_plan_claim(summary: dict, folder: Path) -> list[str]:
    if summary.get("status") != "INFEASIBLE":
        return [f"exit 1 with status {summary.get('status')} on a small case (expected a plan or INFEASIBLE)"]
    try:
        best = reference.optimum(reference.build(folder))
    except reference.Invalid as exc:
        return [f"INFEASIBLE on input the reference refuses (should be exit 2): {exc}"]
    return [] if best is None else [f"INFEASIBLE, but the reference finds a plan worth {best:.4f}"]


def _dead_name(case: Case, outcome: Outcome, out: Path) -> list[str]:
    name = case.dead_name
    if outcome.code == 2:
        return [] if (name in outcome.stderr or repr(name) in outcome.stderr) else [f"the error does not name {name!r}"]
    summary = out / "summary.json"
    warnings = json.loads(summary.read_text()).get("warnings", []) if summary.exists() else []
    named = any(name in w for w in warnings)
    if not named:
        return [f"{name!r} matches nothing, and no warning says so"]
    if name not in outcome.stderr:
        return [f"the warning about {name!r} is not on stderr"]
    return []
