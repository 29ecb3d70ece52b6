"""The approval report: one self-contained HTML page a budget owner signs, and the files it approves.

What this module computes (the page is drawn by :mod:`scenarios.report_html` with
:mod:`scenarios.report_sections`, its charts by :mod:`scenarios.report_charts`; the files and
fingerprints are :mod:`scenarios.report_files`):

* the plan: solved for the report, or read from a ``campaignlab optimize`` output folder
  (``--from``) without re-solving: its summary.json must list the sha256 of the plan.csv
  beside it, the inputs' sha256 it records must be those of the scenario's inputs now, and
  the plan is rechecked by the independent verifier;
* the what-ifs, run in parallel on the project's worker pool (:func:`scenarios.sweep.run_tasks`):
  what each rule and exclusion costs (the scenario re-solved without it; the do-not-contact
  list is counted as the options it filters) and the efficient frontier (every budget but
  the current one, whose point is the plan itself). They are proven to a relative gap of
  :data:`WHAT_IF_GAP` (or the scenario's, if looser): a 1e-6 gap takes the demo 19 s a
  solve, 1e-4 about 5 s, and moves its optimum by about a yuan in 100,000;
* the comparison with rule and score targeting at equal budget (:mod:`scenarios.compare`),
  and on request the plan test in the lifecycle simulator;
* provenance: date and time, author, scenario description, and fingerprints a reader can
  recompute (each says what its hash covers).

:func:`write_report` writes the page and, beside it, what it approves: plan.csv and
summary.json as ``optimize`` writes them (so ``sha256sum plan.csv`` gives the hash on the
page, and ``report --from`` works on the report's own folder), and the contact lists; all
as one set (:func:`optimizer.atomic.write_folder`), the page last.
"""

from __future__ import annotations

import datetime
import functools
import math
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.atomic import write_folder
from optimizer.errors import InputError, NoPlan
from optimizer.limits import rule_mask
from optimizer.problem import Problem
from optimizer.report import plan_csv, summarise
from optimizer.scenario import Scenario
from optimizer.solving import solve
from optimizer.verify import verify_plan

from .compare import Baseline, compare, headline
from .contacts import contact_list_files, contact_lists
from .frontier import default_budgets, frontier_table
from .inputs import ScenarioInputs
from .report_files import HOLDOUT_FILE, PLAN_FILE, SUMMARY_FILE, input_fingerprints, read_optimize_output, sha256_bytes, summary_json
from .sweep import ProgressBar, results_table, run_point, run_tasks

__all__ = ["WHAT_IF_GAP", "ReportData", "allocation", "base_problem", "build_report", "closed_limits", "rule_effects", "value_horizon", "write_report"]

#: Relative gap the report's what-if re-solves are proven to (the scenario's own, if looser).
WHAT_IF_GAP = 1e-4


@dataclass
class ReportData:
    summary: dict[str, Any]
    scenario: Scenario
    plan: pd.DataFrame
    files: dict[str, bytes]  # plan.csv, summary.json (and holdout.csv) exactly as written beside the page
    contacts: dict[str, pd.DataFrame]  # the contact list of each channel
    allocation: pd.DataFrame
    rules: pd.DataFrame
    frontier: pd.DataFrame | None
    comparison: pd.DataFrame | None
    comparison_headline: str
    simulated: Any | None  # scenarios.plan_test.PlanTest: the plan replayed on the base
    fingerprint: dict[str, Any]
    meta: dict[str, Any]  # generated, author, description, source, horizon, what-if gap, closed limits
    notes: list[str] = field(default_factory=list)

    @property
    def plan_sha256(self) -> str:
        return sha256_bytes(self.files[PLAN_FILE])


def allocation(problem: Problem, plan: pd.DataFrame) -> pd.DataFrame:
    """Contacts, expected acceptances and money by (campaign x) offer x channel x segment x stage."""
    merged = plan.merge(problem.customers, on="customer_id", how="left")
    keys = [c for c in ("campaign",) if c in merged.columns] + ["offer_id", "channel_id"] + [c for c in ("segment", "stage") if c in merged.columns]
    merged["net_value"] = merged["expected_value"] - merged["expected_cost"]
    table = merged.groupby(keys, observed=True).agg(
        contacts=("customer_id", "size"), expected_acceptances=("p_accept", "sum"), spend=("expected_cost", "sum"),
        expected_return=("expected_value", "sum"), net_value=("net_value", "sum"),
    )
    return table.reset_index().sort_values("net_value", ascending=False).reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def base_problem(inputs: ScenarioInputs) -> Problem:
    """``inputs.problem()``, built once per process (``inputs`` hashes by identity; a worker gets one)."""
    return inputs.problem()


def _relaxed(problem: Problem, **update: Any) -> Problem:
    """``problem`` with scenario keys replaced, on its tables as checked (do-not-contact rows already gone).

    The names were checked when ``problem`` was built; a value matched only by the removed
    do-not-contact rows must not look unused now, hence ``allow_unused``.
    """
    relaxed = problem.scenario.model_copy(update={**update, "do_not_contact": None, "holdout": None, "allow_unused": True})
    return Problem.from_tables(relaxed, problem.options, problem.customers, do_not_contact=[], history=problem.history)


def _relaxations(problem: Problem) -> list[tuple[str, Any]]:
    """Each rule and exclusion the report re-solves without; none when every option is filtered out."""
    if not problem.n_options:
        return []
    s = problem.scenario
    policy = s.contact_policy
    return ([("rule", rule.name) for rule in s.rules] + [("exclusion", (a, b)) for a, b in s.exclusions]
            + [("window", k) for k in range(len(policy.windows))] + ([("min_gap_days", None)] if policy.min_gap_days else [])
            + [("sequence", k) for k in range(len(policy.sequences))])


def _without_window(inputs: ScenarioInputs, problem: Problem, kind: str, what: Any) -> Problem:
    """The scenario re-built from its tables without one contact window or sequence: the window
    removed options, which only the tables as read still hold."""
    policy = problem.scenario.contact_policy
    if kind == "window":
        key, value = "contact_policy.windows", [w.model_dump(exclude_none=True) for k, w in enumerate(policy.windows) if k != what]
    elif kind == "sequence":
        key, value = "contact_policy.sequences", [q.model_dump() for k, q in enumerate(policy.sequences) if k != what]
    else:
        key, value = "contact_policy.min_gap_days", None
    return inputs.problem({key: value})


def _window_of(problem: Problem, kind: str, what: Any) -> tuple[str, Any]:
    """A window's or sequence's name and the filter of the contacts it counts (offer, channel), or the sequence."""
    policy = problem.scenario.contact_policy
    if kind == "window":
        w = policy.windows[what]
        return w.label, (w.offer, w.channel)
    if kind == "sequence":
        q = policy.sequences[what]
        return q.label, (q.then, None)
    return policy.all_windows[-1].label, (None, None)


def _counted(plan: pd.DataFrame, offer: str | None, channel: str | None) -> int:
    keep = np.ones(len(plan), bool)
    if offer is not None:
        keep &= (plan["offer_id"] == offer).to_numpy()
    if channel is not None:
        keep &= (plan["channel_id"] == channel).to_numpy()
    return int(keep.sum())


def _relaxation_task(inputs: ScenarioInputs, job: tuple[tuple[str, Any], float]) -> dict[str, Any]:
    """The scenario re-solved without one rule or exclusion (a worker task): status, objective, bound, choice."""
    (kind, what), gap = job
    problem = base_problem(inputs)
    s = problem.scenario
    if kind == "rule":
        other = _relaxed(problem, rules=[r for r in s.rules if r.name != what])
    elif kind == "exclusion":
        other = _relaxed(problem, exclusions=[e for e in s.exclusions if tuple(e) != tuple(what)])
    else:
        other = _without_window(inputs, problem, kind, what)
    # only the status of an infeasible re-solve is reported: no diagnosis (two more MIPs each)
    result = solve(other, shadow_prices=False, mip_gap=gap, diagnose_infeasible=False)
    out: dict[str, Any] = {"status": result.status.value, "objective": result.objective_value, "bound": result.bound,
                           "chosen": result.chosen.astype(np.int8) if result.has_plan else None}
    if kind == "exclusion" and result.has_plan:
        held = result.plan.groupby("customer_id", observed=True)["offer_id"].agg(set)
        out["both"] = int(held.map(lambda h: what[0] in h and what[1] in h).sum())
    if kind in ("window", "min_gap_days", "sequence"):
        out["chosen"] = None  # over the re-built option table, not the plan's: counted here instead
        out["solved"] = result.has_plan
        out["counted"] = _counted(result.plan, *_window_of(problem, kind, what)[1]) if result.has_plan else None
        out["contacts"] = int(len(result.plan)) if result.has_plan else None
    return out


def _solve_task(inputs: ScenarioInputs, _: None) -> tuple[Any, float]:
    """The plan itself (a worker task): the solve and its wall time."""
    start = time.perf_counter()
    result = solve(base_problem(inputs))
    return result, time.perf_counter() - start


def rule_effects(problem: Problem, chosen: np.ndarray, objective: float, outcomes: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """What each rule, exclusion and the do-not-contact list costs in contacts and net value.

    ``outcomes`` are the re-solves without each of :func:`_relaxations`, in that order.
    ``contacts removed`` is the matching contacts of the plan without the rule minus those
    with it (negative for an "at least" rule, which adds contacts); ``at most`` bounds the
    cost by the re-solve's proven bound. Do-not-contact: the options it filters, counted.
    """
    rows = []
    arrays = {"spend": problem.spend, "expected_return": problem.expected_return, "net_value": problem.net_value}
    rules = {rule.name: rule for rule in problem.scenario.rules}
    for (kind, what), out in zip(_relaxations(problem), outcomes):
        solved = out["chosen"] is not None
        cost = out["objective"] - objective if solved else None
        at_most = out["bound"] - objective if solved and out["bound"] is not None else None
        if kind == "rule":
            mask = rule_mask(rules[what], problem.options, problem.customers, problem.customer, arrays)
            with_rule = int(chosen[mask].sum())
            without = int(out["chosen"][mask].sum()) if solved else None
            rows.append({"limit": what, "method": "re-solved without the rule" if solved else f"re-solved without the rule: {out['status']}",
                         "matching contacts without": without, "matching contacts with": with_rule,
                         "contacts removed": None if without is None else without - with_rule,
                         "net value it costs": cost, "at most": at_most})
        elif kind in ("window", "min_gap_days", "sequence"):
            solved = out["solved"]
            cost = out["objective"] - objective if solved else None
            at_most = out["bound"] - objective if solved and out["bound"] is not None else None
            name, counted = _window_of(problem, kind, what)
            with_it = _counted(problem.plan_table(chosen.astype(bool)), *counted)
            rows.append({"limit": name, "method": "re-solved without it (history kept)" if solved else f"re-solved without it: {out['status']}",
                         "matching contacts without": out["counted"], "matching contacts with": with_it,
                         "contacts removed": None if out["counted"] is None else out["counted"] - with_it,
                         "net value it costs": cost, "at most": at_most})
        elif solved:
            rows.append({"limit": f"exclusion {what[0]} + {what[1]}", "method": "re-solved without the exclusion",
                         "matching contacts without": out["both"], "matching contacts with": 0, "contacts removed": out["both"],
                         "net value it costs": cost, "at most": at_most})
    if problem.removed_by_do_not_contact:
        rows.append({"limit": "do-not-contact list", "method": "options filtered (counted, not re-solved)",
                     "matching contacts without": None, "matching contacts with": 0,
                     "contacts removed": problem.removed_by_do_not_contact, "net value it costs": None, "at most": None})
    return pd.DataFrame(rows, columns=["limit", "method", "matching contacts without", "matching contacts with", "contacts removed",
                                       "net value it costs", "at most"])


def _current_point(summary: dict[str, Any], budget: float) -> dict[str, Any]:
    """The plan as the frontier's row at the current budget (a sweep row: no re-solve)."""
    row = {"budget": budget, "status": summary["status"], "objective": summary["objective"], "bound": summary["bound"],
           "gap": summary["gap"], "spend": summary["spend"], "expected_return": summary["expected_return"],
           "roi": math.nan if summary["roi"] is None else summary["roi"], "contacts": summary["contacts"],
           "customers_contacted": summary["customers_contacted"], "expected_acceptances": summary["expected_acceptances"],
           "verified": summary["verified"], "runtime": summary["runtime_seconds"]["total"], "message": summary["message"]}
    for lim in summary["limits"]:
        row[f"usage:{lim['name']}"] = lim["usage"]
        row[f"shadow:{lim['name']}"] = math.nan if lim["shadow_price"] is None else lim["shadow_price"]
    return row


def value_horizon(scenario: Scenario) -> str:
    """The horizon every return and net value is over, in words."""
    from optimizer.value_model import VALUE_HORIZON_MONTHS

    if scenario.simulation is not None:
        return f"over the {scenario.simulation.value_horizon_months}-month value horizon of the option values"
    if scenario.synthetic is not None:
        return f"over the {VALUE_HORIZON_MONTHS}-month value horizon of the generated option values"
    return "over the horizon the option values were computed for"


def closed_limits(problem: Problem) -> dict[str, str]:
    """Limits a policy closes, by name, with the reason: their LP dual is the value of a first contact the
    policy forbids, not a price of capacity, so the page prints the closure instead of a price."""
    s = problem.scenario
    arrays = {"spend": problem.spend, "expected_return": problem.expected_return, "net_value": problem.net_value}
    banned = np.zeros(problem.n_options, bool)
    bans = []
    for rule in s.rules:
        if rule.max == 0 and rule.sum is None:
            banned |= rule_mask(rule, problem.options, problem.customers, problem.customer, arrays)
            bans.append(rule.name)
    out = {name: "closed by policy (the rule allows none)" for name in bans}
    for k, channel_id in enumerate(problem.channel_ids):
        spec = s.channels[channel_id]
        on = problem.channel == k
        if spec.capacity == 0:
            why = "capacity 0"
        elif spec.max_per_customer == 0:
            why = "max_per_customer 0"
        elif on.any() and banned[on].all():
            why = "every option forbidden by " + ", ".join(bans)
        else:
            continue
        out[f"channel:{channel_id}"] = f"closed by policy ({why})"
    for offer_id, spec in s.offers.items():
        if spec.max_targets == 0:
            out[f"offer:{offer_id}:max_targets"] = "closed by policy (max_targets 0)"
        if spec.budget == 0:
            out[f"offer:{offer_id}:budget"] = "closed by policy (budget 0)"
    return out


def build_report(
    inputs: ScenarioInputs,
    *,
    budgets: Sequence[float] | None = None,
    frontier_points: int = 7,
    baselines: Sequence[Baseline] | None = None,
    simulate: bool = False,
    workers: int = 1,
    replications: int | None = None,
    from_folder: Path | None = None,
    author: str | None = None,
    progress: bool = False,
) -> ReportData:
    """Solve (or read ``from_folder``), then compute every section. No plan is NoPlan: no report.

    The plan's solve and the what-if re-solves run as one batch of ``workers`` processes,
    the plan's first (the longest); ``progress`` shows a bar over them.
    """
    from rich.markup import escape

    from optimizer import __version__
    from optimizer.report import printable

    start = time.perf_counter()
    problem = base_problem(inputs)
    s = problem.scenario
    gap = max(s.solver.mip_gap, WHAT_IF_GAP)
    existing = read_optimize_output(from_folder, inputs, problem) if from_folder is not None else None
    notes: list[str] = []
    front_budgets: list[float] = []
    want_frontier = bool(budgets) or bool(frontier_points and s.budget is not None)
    if want_frontier:
        front_budgets = sorted({float(b) for b in (budgets or default_budgets(inputs, frontier_points))} - {s.budget})
    elif s.budget is None:
        notes.append("no budget in the scenario: the frontier is not drawn (give budgets to draw it)")
    relaxations = _relaxations(problem)
    tasks: list[tuple[Any, Any]] = [] if existing is not None else [(_solve_task, None)]
    tasks += [(_relaxation_task, (r, gap)) for r in relaxations]
    tasks += [(run_point, {"budget": b, "solver.mip_gap": gap}) for b in front_budgets]
    bar = ProgressBar(progress, len(tasks), f"report {escape(printable(inputs.name))}: solves")
    try:
        results = run_tasks(inputs, tasks, workers=workers, bar=bar)
    finally:
        bar.stop()

    if existing is None:
        result, seconds = results.pop(0)
        if not result.has_plan:
            raise NoPlan.of(result, "no report written")
        verification = verify_plan(problem, result.plan)
        if not verification.ok:
            raise InputError(f"the verifier rejected the plan ({'; '.join(verification.violations)}); no report written")
        summary = summarise(problem, result, verification, wall_time=seconds)
        summary["mode"] = "exact"
        chosen = result.chosen
        files = {PLAN_FILE: str(plan_csv(result.plan)).encode()}
        holdout = getattr(problem, "holdout", None)
        if holdout is not None:
            files[HOLDOUT_FILE] = holdout.table.to_csv(index=False).encode()
        files = {**files, SUMMARY_FILE: summary_json(summary, files)}
        source = f"solved for this report ({summary['status']}, {seconds:,.1f} s)"
    else:
        summary, chosen, files = existing
        source = f"read from {from_folder} (written by campaignlab optimize), not re-solved; rechecked now by the verifier: ok"
    plan = problem.plan_table(chosen)
    notes = list(summary.get("notes", [])) + notes
    rules = rule_effects(problem, chosen, summary["objective"], results[: len(relaxations)])
    front = None
    if want_frontier:
        rows = [{k: v for k, v in row.items() if k != "solver.mip_gap"} for row in results[len(relaxations):]]
        if s.budget is not None:
            rows.append(_current_point(summary, float(s.budget)))
        front = frontier_table(results_table(rows, ["budget"]))
    comparison, sentence = None, ""
    try:
        comparison = compare(problem, baselines, chosen=chosen, gap=summary["gap"])
        if len(comparison) > 1:
            sentence = headline(comparison, s.budget)
    except InputError as exc:
        notes.append(f"strategy comparison skipped: {exc}")
    simulated = None
    if simulate:
        from .plan_test import run_plan_test

        simulated = run_plan_test(inputs, chosen, replications=replications, workers=workers, baselines=baselines, problem=problem)
    described = input_fingerprints(inputs, problem)
    fingerprint = {
        "scenario": s.name,
        "inputs": {key: {"sha256": sha, **described[key]} for key, sha in problem.sources.items()},
        "seed": summary.get("seed", s.seed),
        "solver": f"{summary['solver']['version']} (mip_gap {summary['solver']['mip_gap']:g}, threads {summary['solver']['threads']})",
        "campaignlab_version": __version__,
        "python": platform.python_version(),
    }
    meta = {
        "generated": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "author": author or os.environ.get("USER") or "not given",
        "description": " ".join((s.description or "").split()) or "(the scenario has no description)",
        "source": source,
        "horizon": value_horizon(s),
        "what_if_gap": gap,
        "closed": closed_limits(problem),
        "offer_min_roi": {o: spec.min_roi for o, spec in s.offers.items() if spec.min_roi is not None},
        "seconds": time.perf_counter() - start,
        "workers": workers,
    }
    return ReportData(summary, s, plan, files, contact_lists(problem, plan), allocation(problem, plan), rules, front, comparison,
                      sentence, simulated, fingerprint, meta, notes)


def write_report(path: Path, data: ReportData) -> list[Path]:
    """The page at ``path`` and, in its folder, plan.csv, summary.json, the contact lists (and holdout.csv):
    one consistent set under the folder's lock (:func:`optimizer.atomic.write_folder`), the page last,
    drawn with the sha256 of every file as written."""
    from .report_html import render_html

    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder; give the HTML file to write, e.g. --out out/report.html", file=str(path))
    data_files: list[tuple[str, Any]] = [(name, lambda tmp, b=content: tmp.write_bytes(b)) for name, content in data.files.items()]
    data_files += contact_list_files(data.contacts)
    if path.name in {name for name, _ in data_files}:
        raise InputError("is the name of a file the report writes beside the page; name the page e.g. report.html", file=str(path))
    return write_folder(path.parent, data_files, summary=(path.name, lambda manifest: render_html(data, manifest)))
