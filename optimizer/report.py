"""What a budget owner reads: ``summary.json``, ``plan.csv`` and a one-screen summary."""

from __future__ import annotations

import json
import dataclasses
import math
import platform
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from .atomic import write_folder
from .holdout import describe as describe_holdout
from .holdout import summary_line as holdout_line
from .problem import Problem
from .result import SolveResult, Status
from .risk import plan_risk
from .tables import CAMPAIGN
from .verify import Verification

__all__ = ["jsonable", "plan_csv", "summarise", "summary_text", "write_outputs", "print_summary", "print_warnings", "printable", "ATTRIBUTES"]

#: Customer attributes the summary counts contacts by, when the customers table has them.
ATTRIBUTES = ("segment", "stage", "value_tier")


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def summarise(problem: Problem, result: SolveResult, verification: Verification | None, *, wall_time: float) -> dict[str, Any]:
    """The summary as plain data (it becomes summary.json)."""
    from . import __version__

    s = problem.scenario
    summary: dict[str, Any] = {
        "scenario": s.name,
        "status": result.status.value,
        "objective": result.objective_value,
        "bound": result.bound,
        "gap": result.gap,
        "lp_bound": result.lp_bound,
    }
    notes = []
    if result.has_plan:
        plan = result.plan
        spend = float(plan["expected_cost"].sum())
        ret = float(plan["expected_value"].sum())
        merged = plan.merge(problem.customers, on="customer_id", how="left")
        summary |= {
            "spend": spend,
            "expected_return": ret,
            "roi": (ret - spend) / spend if spend > 0 else None,
            "contacts": int(len(plan)),
            "customers_contacted": int(plan["customer_id"].nunique()),
            "expected_acceptances": float(plan["p_accept"].sum()),
            "counts": {
                "offer": {k: int(v) for k, v in plan["offer_id"].value_counts().sort_index().items()},
                "channel": {k: int(v) for k, v in plan["channel_id"].value_counts().sort_index().items()},
                **{
                    a: {str(k): int(v) for k, v in merged[a].value_counts().sort_index().items()}
                    for a in ATTRIBUTES
                    if a in merged.columns
                },
            },
        }
        summary["risk"] = plan_risk(problem, result.chosen)
        if len(plan) == 0 and s.ratio_limits_only:
            notes.append(
                "the plan is empty: no option has positive net value under these limits; ROI and share "
                "limits are ratios, which an empty plan always meets"
            )
    if s.budget is not None:
        summary["budget"] = result.chance_budget or {
            "kind": "expected" if s.budget_confidence is None else "chance", "amount": s.budget, "confidence": s.budget_confidence,
            "what": "expected spend <= amount (yuan)" if s.budget_confidence is None else "no plan met the budget at its confidence",
        }
    if result.independent_bound is not None:
        summary["independent_bound"] = result.independent_bound
    summary["limits"] = [
        {
            "name": lim.name,
            "kind": lim.kind,
            "sense": lim.sense,
            "limit": lim.limit,
            "usage": lim.usage,
            "binding": lim.binding,
            "shadow_price": _finite(lim.shadow_price),
            "unit": lim.unit,
            "meaning": lim.sentence() if math.isfinite(lim.shadow_price) else "no LP dual available",
            "description": lim.description,
        }
        for lim in result.limits
    ]
    if s.ratio_limits_only and (s.min_roi is not None or any(o.min_roi is not None for o in s.offers.values())):
        notes.append("only ratio limits (ROI, shares) constrain this plan from below; the empty plan also meets them")
    if problem.removed_by_do_not_contact:
        summary["removed"] = {"do_not_contact_options": problem.removed_by_do_not_contact}
    if problem.waves and result.has_plan:
        by_wave = result.plan.groupby("wave", sort=False)
        summary["waves"] = [
            {"name": w.name, "date": w.date.isoformat(), "contacts": int(len(by_wave.get_group(w.name))) if w.name in by_wave.groups else 0,
             "expected_spend": float(by_wave.get_group(w.name)["expected_cost"].sum()) if w.name in by_wave.groups else 0.0,
             "expected_return": float(by_wave.get_group(w.name)["expected_value"].sum()) if w.name in by_wave.groups else 0.0}
            for w in s.waves
        ]
        summary["linked_rows"] = {rows.kind: int(rows.rhs.size) for rows in problem.linked}
    if CAMPAIGN in problem.options.columns:
        notes += _campaign_notes(problem)
        if result.has_plan:
            summary["campaigns"] = _campaigns(problem, result)
    if problem.history is not None:
        summary["contact_history"] = problem.history.describe()
    if problem.window_effects:
        policy = s.contact_policy
        summary["contact_windows"] = {
            "plan_date": (problem.history.plan_date.isoformat() if problem.history is not None
                          else s.plan_date.isoformat() if s.plan_date is not None else "today (plan_date not set)"),
            "what": "per window or sequence, before the solve: customers whose past contacts used some of its room, "
                    "customers with no room left, and the options removed for that (the approval report re-solves without each "
                    "window for the contacts and net value it costs)",
            "windows": [dataclasses.asdict(e) for e in problem.window_effects],
            "min_gap_days": policy.min_gap_days,
        }
    if problem.holdout is not None:
        contacted = np.unique(problem.customer[np.flatnonzero(result.chosen)]) if result.has_plan else None
        summary["holdout"] = describe_holdout(problem.holdout, contacted)
    if result.diagnosis is not None:
        summary["diagnosis"] = {
            "method": result.diagnosis.method,
            "violated": [{"limit": n, "amount": a, "why": w} for n, a, w in result.diagnosis.violated],
            "conflicts_with": list(result.diagnosis.conflicts_with),
            "summary": result.diagnosis.summary(),
        }
    summary |= {
        "message": result.message,
        "notes": notes,
        "warnings": list(problem.warnings),
        "verified": None if verification is None else verification.ok,
        "violations": [] if verification is None else list(verification.violations),
        "runtime_seconds": _runtimes(result, wall_time),
        "solver": {
            "name": result.solver,
            "version": result.solver_version,
            "mip_gap": s.solver.mip_gap,
            "time_limit": s.solver.time_limit,
            "threads": s.solver.threads,
        },
        "size": {"customers": problem.n_customers, "options": problem.n_options, "coupling_limits": len(problem.limits)},
        "inputs_sha256": problem.sources,
        "seed": s.seed,
        "campaignlab_version": __version__,
        "python": platform.python_version(),
    }
    return summary


#: What each figure of summary.json's ``campaigns`` block is, and its unit.
CAMPAIGN_UNITS = {
    "contacts": "planned contacts (count)",
    "customers_contacted": "customers with at least one planned contact of the campaign (count)",
    "expected_spend": "yuan, expected: contact cost plus p_accept x offer cost, summed over the campaign's contacts",
    "expected_return": "yuan, expected: p_accept x value, summed over the campaign's contacts",
    "expected_net_value": "yuan, expected: expected_return - expected_spend",
    "budget_limits.shadow_price": "yuan of expected net value per yuan of the campaign's budget (LP dual, or the Lagrangian multiplier in decompose mode)",
}


def _campaigns(problem: Problem, result: SolveResult) -> dict[str, Any]:
    """Per campaign of the options (a blank one is ``""``): what the plan spends and returns there, and its budget's price."""
    plan, s = result.plan, problem.scenario
    prices = {lim.name: lim for lim in result.limits}
    waves = [f"{w.name}:" for w in s.waves] or [""]
    rows = []
    for name in sorted({str(v) for v in pd.unique(problem.options[CAMPAIGN])} | set(s.campaigns)):
        mine = plan[(plan[CAMPAIGN] == name).to_numpy()]
        spend, ret = float(mine["expected_cost"].sum()), float(mine["expected_value"].sum())
        own = s.campaigns.get(name)
        budgets = [prices[f"{w}campaign:{name}:budget"] for w in waves if f"{w}campaign:{name}:budget" in prices]
        rows.append({
            "name": name, "own_limits": own is not None, "contacts": int(len(mine)), "customers_contacted": int(mine["customer_id"].nunique()),
            "expected_spend": spend, "expected_return": ret, "expected_net_value": ret - spend,
            "budget": None if own is None else own.budget,
            "budget_limits": [{"limit": b.name, "usage": b.usage, "amount": b.limit, "binding": b.binding,
                               "shadow_price": _finite(b.shadow_price)} for b in budgets],
        })
    return {"what": "per value of the options' campaign column (\"\" is a blank one): the plan's contacts and money there; "
                    "a campaign with own_limits false has only the scenario's limits", "units": CAMPAIGN_UNITS, "campaigns": rows}


def _campaign_notes(problem: Problem) -> list[str]:
    """Which options only the scenario's limits hold over: the budget owner should not assume a campaign budget there."""
    values = problem.options[CAMPAIGN]
    known = set(problem.scenario.campaigns)
    loose = sorted({str(v) for v in pd.unique(values)} - known - {""})
    notes = []
    if loose and not known:
        notes.append("the options have a campaign column and the scenario no campaigns: every campaign has only the scenario's limits")
    elif loose:
        notes.append(f"campaign(s) {', '.join(loose)} have no entry under campaigns: only the scenario's limits hold over their options")
    blank = int((values == "").sum())
    if blank:
        notes.append(f"{blank:,} option(s) have a blank campaign: they belong to no campaign, and only the scenario's limits hold over them")
    return notes


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars as Python ones and every non-finite float as None (JSON null).

    An infinite budget or a NaN shadow price must not crash the writer after the solve.
    """
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def plan_csv(plan: pd.DataFrame, target: Path | None = None) -> str | None:
    """plan.csv as every command writes it: into ``target``, or returned as text when it is None.

    The text is pandas' ``to_csv(index=False, float_format="%.10g", lineterminator="\\n")``,
    byte for byte. Pandas formats it value by value (6.1 s for the 976,533 rows of a plan for
    1M customers); when no field needs quoting it is written by Arrow's CSV writer from columns
    formatted with the same ``%.10g`` (once per distinct value where a column repeats a few, as
    costs do): 1.9 s.
    """
    columns = _unquoted_columns(plan)
    if columns is None:
        return plan.to_csv(target, index=False, float_format="%.10g", lineterminator="\n")
    header = (",".join(plan.columns) + "\n").encode()
    table = pa.table(columns)
    options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
    if target is None:
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(table, sink, options)
        return header.decode() + sink.getvalue().to_pybytes().decode()
    with open(target, "wb") as file:
        file.write(header)
        pa_csv.write_csv(table, file, options)
    return None


_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def _unquoted_columns(plan: pd.DataFrame) -> dict[str, Any] | None:
    """The plan's columns as Arrow writes them to give pandas' text, or None where it would not:
    a field with a comma, quote or line break (pandas quotes it), a repeated or non-text column
    name, or a column neither float, integer nor text."""
    names = [str(name) for name in plan.columns]
    if len(set(names)) < len(names) or any(_NEEDS_QUOTES.search(name) or name != column
                                           for name, column in zip(names, plan.columns)):
        return None
    columns: dict[str, Any] = {}
    for name in names:
        values = plan[name]
        if values.dtype == np.float64:
            columns[name] = _formatted(values.to_numpy())
        elif isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":
            columns[name] = pa.array(values.to_numpy())
        elif values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            try:
                text = pa.array(values, pa.string(), from_pandas=True)  # Arrow-backed text: no copy
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                return None  # not all str (pandas writes str() of each)
            if text.null_count or (len(text) and pc.any(pc.match_substring_regex(text, _NEEDS_QUOTES.pattern)).as_py()):
                return None
            columns[name] = text
        else:
            return None
    return columns


def _formatted(values: np.ndarray) -> Any:
    """``"%.10g" % v`` for each value (pandas' text; NaN as an empty field), as an Arrow string array."""
    bits, where = np.unique(values.view(np.uint64), return_inverse=True)  # bits: 0.0 and -0.0 stay apart
    distinct = bits.view(np.float64)
    if distinct.size * 4 < values.size:  # a cost column: a few prices, repeated
        text = np.array(["" if v != v else "%.10g" % v for v in distinct.tolist()], dtype=object)[where]
    else:
        text = ["" if v != v else "%.10g" % v for v in values.tolist()]
    return pa.array(text, pa.string())


def summary_text(summary: dict[str, Any], files: dict[str, Any]) -> str:
    """summary.json's text: the summary with non-finite numbers as null, and the files it belongs with."""
    return json.dumps(jsonable(summary) | {"files": files}, indent=2, allow_nan=False) + "\n"


def write_outputs(out: Path, plan: pd.DataFrame | None, summary: dict[str, Any], *, holdout: pd.DataFrame | None = None) -> list[Path]:
    """Write ``out/plan.csv`` (when there is a plan) and then ``out/summary.json``, as one consistent pair.

    summary.json is written last and lists the plan's sha256 and size under ``files``. With
    no plan (``plan`` None: infeasible, or stopped without one) a plan.csv an earlier run
    left is removed, so the folder never shows an old plan beside a new summary. plan.csv
    keeps ids raw (no CSV-injection quote): ``verify`` and ``simulate --plan`` read it back.
    ``holdout`` (the held-out customers) becomes holdout.csv beside the plan, raw too: its ids
    are joined with churn outcomes; without it or without a plan an earlier holdout.csv goes.
    """
    def render(files: dict[str, Any]) -> str:
        return summary_text(summary, files)

    if plan is None:
        return write_folder(out, [], summary=("summary.json", render), remove=["plan.csv", "holdout.csv"])
    table = plan

    def write_plan(tmp: Path) -> None:
        plan_csv(table, tmp)

    files = [("plan.csv", write_plan)]
    if holdout is not None:
        files.append(("holdout.csv", lambda tmp: holdout.to_csv(tmp, index=False)))
    return write_folder(out, files, summary=("summary.json", render), remove=[] if holdout is not None else ["holdout.csv"])


def _runtimes(result: SolveResult, wall_time: float) -> dict[str, float]:
    """Where the time went: LP and MIP in exact mode, the dual and the recovery in decompose mode."""
    if "dual_seconds" in result.extra:
        dual = result.extra["dual_seconds"]
        return {"dual": dual, "recovery": result.runtime - dual, "total": wall_time}
    return {"mip": result.runtime, "lp": result.lp_runtime, "total": wall_time}


#: Console width a user string is cut to; the files keep it whole.
SHOWN_CHARACTERS = 80


def printable(text: Any, limit: int | None = SHOWN_CHARACTERS) -> str:
    """``text`` for one console line: control characters escaped, cut to ``limit``, no word over 80 characters.

    A name is data, not terminal codes (``\\x1b[2J`` is printed as such). Long words are cut
    because rich folds them in quadratic time: a 100,000-character scenario name took minutes.
    """
    text = str(text)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    text = re.sub(rf"\S{{{SHOWN_CHARACTERS + 1},}}", lambda m: m.group()[: SHOWN_CHARACTERS - 1] + "…", text)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _shown(text: Any, limit: int | None = SHOWN_CHARACTERS) -> str:
    """A user string ready for rich: printable, and its ``[...]`` shown rather than read as markup."""
    from rich.markup import escape

    return escape(printable(text, limit))


def print_warnings(warnings: Iterable[str], command: str = "campaignlab") -> None:
    """Each input warning on stderr, once per line (they are in summary.json too, where there is one)."""
    import sys

    for warning in dict.fromkeys(warnings):
        print(f"{command}: warning: {printable(warning, None)}", file=sys.stderr)


def print_summary(summary: dict[str, Any], out: Path | None) -> None:
    """One screen: the headline, each limit with what it costs, where the files went."""
    from rich.console import Console
    from rich.table import Table

    console = Console(emoji=False)  # limit names hold ":word:" ("campaign:up:budget"), which rich would turn into emoji
    status = summary["status"]
    colour = "green" if status == Status.OPTIMAL.value else "yellow" if summary.get("spend") is not None else "red"
    console.print(f"[bold]{_shown(summary['scenario'])}[/bold]: [{colour}]{status}[/{colour}]  ({_shown(summary['solver']['version'])}, "
                  f"{summary['runtime_seconds']['total']:.1f} s, {summary['size']['customers']:,} customers, "
                  f"{summary['size']['options']:,} options)")
    if summary.get("spend") is not None:
        gap = summary["gap"]
        roi = summary["roi"]
        console.print(
            f"expected net value [bold]{summary['objective']:,.2f}[/bold] yuan"
            f" (bound {summary['bound']:,.2f}, gap {gap:.2e})" if gap is not None else
            f"expected net value [bold]{summary['objective']:,.2f}[/bold] yuan (no bound)"
        )
        console.print(
            f"expected spend {summary['spend']:,.2f} yuan, expected return {summary['expected_return']:,.2f} yuan, "
            f"ROI {roi:.1%}" if roi is not None else "nothing spent",
        )
        console.print(
            f"{summary['contacts']:,} contacts to {summary['customers_contacted']:,} customers, "
            f"{summary['expected_acceptances']:,.1f} expected acceptances"
        )
        check = summary.get("independent_bound")
        if check is not None:
            console.print(
                f"independent LP bound (PDLP): {check['bound']:,.2f} yuan, "
                + ("consistent with the plan" if check["consistent"] else "[bold red]BELOW the plan's value: please report it[/bold red]")
                if check.get("bound") is not None else f"independent LP bound (PDLP): none ({check.get('message', 'no bound')})"
            )
        risk = summary.get("risk")
        if risk is not None and summary.get("contacts"):
            over = risk["p_spend_over_budget"]
            console.print(
                f"realised spend (offer costs paid on acceptance): 95th percentile {risk['spend']['p95']:,.2f} yuan"
                + (f", P(over the budget) {over:.1%}" if over is not None else "")
            )
        budget = summary.get("budget") or {}
        if budget.get("kind") == "chance":
            console.print(
                f"budget {budget['amount']:,.0f} yuan held with {budget['confidence']:.0%} probability: spend at that "
                f"confidence {budget['spend_at_confidence']:,.2f} yuan; the expected-spend plan would net "
                f"{budget['price_of_certainty']:,.2f} yuan more (the price of certainty)"
            )
    if summary["limits"]:
        table = Table(box=None, header_style="bold")
        table.add_column("limit", overflow="fold")  # names are long ("offer:handset_contract:max_targets")
        table.add_column("usage", justify="right")
        table.add_column("bound", justify="right")
        table.add_column("shadow price", overflow="fold")
        for lim in summary["limits"]:
            price = lim["shadow_price"]
            table.add_row(
                _shown(lim["name"]) + (" *" if lim["binding"] else ""),
                f"{lim['usage']:,.2f}",
                f"{lim['sense']} {lim['limit']:,.2f}",
                "-" if price is None else f"{price:,.4g} yuan / {_shown(lim['unit'])}",
            )
        console.print(table)
        source = "Lagrangian multiplier" if summary.get("mode") == "decompose" else "LP dual"
        console.print(f"* binding; shadow price: expected net value gained by loosening the limit by one unit ({source})")
    for wave in summary.get("waves", []):
        console.print(f"wave {_shown(wave['name'])} ({wave['date']}): {wave['contacts']:,} contacts, expected spend "
                      f"{wave['expected_spend']:,.2f} yuan, expected return {wave['expected_return']:,.2f} yuan")
    for campaign in (summary.get("campaigns") or {}).get("campaigns", []):
        prices = ", ".join(f"{_shown(b['limit'])} {b['shadow_price']:,.4g} yuan/yuan" for b in campaign["budget_limits"] if b["shadow_price"] is not None)
        console.print(f"campaign {_shown(campaign['name'] or '(blank)')}: {campaign['contacts']:,} contacts, expected spend "
                      f"{campaign['expected_spend']:,.2f} yuan, expected return {campaign['expected_return']:,.2f} yuan, "
                      f"expected net value {campaign['expected_net_value']:,.2f} yuan" + (f"; budget shadow price {prices}" if prices else ""))
    history = summary.get("contact_history")
    if history is not None:
        console.print(f"contact history {_shown(history['file'])}: {history['rows']:,} past contacts, plan date {history['plan_date']}"
                      f" ({history['plan_date_from']})" + (f"; {history['rows_of_customers_not_in_the_base']:,} of customers not in this base"
                                                           if history["rows_of_customers_not_in_the_base"] else ""))
    for effect in (summary.get("contact_windows") or {}).get("windows", []):
        console.print(f"{_shown(effect['name'])}: {effect['customers_restricted']:,} customers with less room, "
                      f"{effect['customers_blocked']:,} with none, {effect['options_removed']:,} options removed")
    if "holdout" in summary:
        console.print(_shown(holdout_line(summary["holdout"]), None))
    for note in summary["notes"]:
        console.print(f"note: {_shown(note, None)}")
    if "diagnosis" in summary:
        console.print(f"[red]{_shown(summary['diagnosis']['summary'], None)}[/red]")
    if summary["verified"] is False:
        console.print(f"[red]verification failed: {_shown('; '.join(summary['violations']), None)}[/red]")
    elif summary["verified"]:
        console.print("every limit rechecked from the inputs by the independent verifier: ok")
    if out is not None:
        wrote = f"{out / 'plan.csv'} and {out / 'summary.json'}" if summary.get("spend") is not None else f"{out / 'summary.json'} (no plan)"
        console.print(f"wrote {_shown(wrote, None)}")
