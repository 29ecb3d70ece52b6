"""The approval report: one self-contained HTML page a budget owner signs off.

Sections: the headline (spend, expected return, ROI, retained customers, optimality gap);
allocation by offer x channel x segment x stage; every limit with its usage and shadow
price; the contacts each rule removes (the scenario re-solved without that rule; the
do-not-contact list is counted as the options it filters); the efficient frontier; the
comparison with rule and score targeting at equal budget (and, on request, in the
simulator with confidence intervals); and a fingerprint (sha256 of every input, seed,
solver and versions) to reproduce the approved plan exactly. Plots are PNGs inlined as
base64 and there is no script, so the page renders anywhere, offline.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import math
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
from optimizer.problem import Problem, rule_mask
from optimizer.report import summarise
from optimizer.solve import solve
from optimizer.verify import verify_plan

from .compare import Baseline, compare, headline
from .frontier import default_budgets, frontier, plot_frontier
from .inputs import ScenarioInputs

__all__ = ["ReportData", "allocation", "build_report", "render_html", "rule_effects", "write_report"]


@dataclass
class ReportData:
    summary: dict[str, Any]
    allocation: pd.DataFrame
    rules: pd.DataFrame
    frontier: pd.DataFrame | None
    comparison: pd.DataFrame | None
    comparison_headline: str
    simulated: Any | None  # scenarios.plan_test.PlanTest: the plan replayed on the base
    fingerprint: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def allocation(problem: Problem, plan: pd.DataFrame) -> pd.DataFrame:
    """Contacts, expected acceptances and net value by offer x channel x segment x stage."""
    merged = plan.merge(problem.customers, on="customer_id", how="left")
    keys = ["offer_id", "channel_id"] + [c for c in ("segment", "stage") if c in merged.columns]
    merged["net_value"] = merged["expected_value"] - merged["expected_cost"]
    table = merged.groupby(keys, observed=True).agg(
        contacts=("customer_id", "size"), retained=("p_accept", "sum"), spend=("expected_cost", "sum"), net_value=("net_value", "sum")
    )
    return table.reset_index().sort_values("net_value", ascending=False).reset_index(drop=True)


def _relaxed(problem: Problem, **update: Any) -> Problem:
    """``problem`` with scenario keys replaced, on its tables as checked (do-not-contact rows already gone).

    The names were checked when ``problem`` was built; a value matched only by the removed
    do-not-contact rows must not look unused now, hence ``allow_unused``.
    """
    relaxed = problem.scenario.model_copy(update={**update, "do_not_contact": None, "allow_unused": True})
    return Problem.from_tables(relaxed, problem.options, problem.customers, do_not_contact=[])


def rule_effects(problem: Problem, chosen: np.ndarray, objective: float) -> pd.DataFrame:
    """What each rule, exclusion and the do-not-contact list costs in contacts and net value.

    Rules and exclusions: the scenario re-solved without it; ``removed`` is the matching
    contacts of the plan without the rule minus those of the plan with it (negative for an
    "at least" rule, which adds contacts). Do-not-contact: the options it filters, counted,
    not re-solved.
    """
    s = problem.scenario
    rows = []
    arrays = {"spend": problem.spend, "expected_return": problem.expected_return, "net_value": problem.net_value}
    # with every option filtered out (all on the do-not-contact list) no rule can cost anything
    for rule in s.rules if problem.n_options else []:
        other = _relaxed(problem, rules=[r for r in s.rules if r.name != rule.name])
        result = solve(other, shadow_prices=False)
        mask = rule_mask(rule, problem.options, problem.customers, problem.customer, arrays)
        with_rule = int(chosen[mask].sum())
        if result.has_plan:
            without = int(result.chosen[mask].sum())
            rows.append({"limit": rule.name, "method": "re-solved without the rule", "matching contacts without": without,
                         "matching contacts with": with_rule, "contacts removed": without - with_rule,
                         "net value it costs": result.objective - objective})
        else:
            rows.append({"limit": rule.name, "method": f"re-solved without the rule: {result.status.value}",
                         "matching contacts without": None, "matching contacts with": with_rule, "contacts removed": None, "net value it costs": None})
    for a, b in s.exclusions if problem.n_options else []:
        other = _relaxed(problem, exclusions=[e for e in s.exclusions if tuple(e) != (a, b)])
        result = solve(other, shadow_prices=False)
        if result.has_plan:
            held = result.plan.groupby("customer_id")["offer_id"].agg(set)
            both = int(held.map(lambda h, a=a, b=b: a in h and b in h).sum())
            rows.append({"limit": f"exclusion {a} + {b}", "method": "re-solved without the exclusion", "matching contacts without": both,
                         "matching contacts with": 0, "contacts removed": both, "net value it costs": result.objective - objective})
    if problem.removed_by_do_not_contact:
        rows.append({"limit": "do-not-contact list", "method": "options filtered (counted, not re-solved)",
                     "matching contacts without": None, "matching contacts with": 0,
                     "contacts removed": problem.removed_by_do_not_contact, "net value it costs": None})
    return pd.DataFrame(rows, columns=["limit", "method", "matching contacts without", "matching contacts with", "contacts removed", "net value it costs"])


def _plan_sha(plan: pd.DataFrame) -> str:
    text = plan[["customer_id", "offer_id", "channel_id"]].to_csv(index=False)
    return hashlib.sha256(text.encode()).hexdigest()


def build_report(
    inputs: ScenarioInputs,
    *,
    budgets: Sequence[float] | None = None,
    frontier_points: int = 7,
    baselines: Sequence[Baseline] | None = None,
    simulate: bool = False,
    workers: int = 1,
    replications: int | None = None,
) -> ReportData:
    """Solve, then compute every section. A run without a plan is an InputError: no report."""
    from optimizer import __version__

    start = time.perf_counter()
    problem = inputs.problem()
    result = solve(problem)
    if not result.has_plan:
        raise NoPlan.of(result, "no report written")
    verification = verify_plan(problem, result.plan)
    if not verification.ok:
        raise InputError(f"the verifier rejected the plan ({'; '.join(verification.violations)}); no report written")
    summary = summarise(problem, result, verification, wall_time=time.perf_counter() - start)
    notes = list(summary.get("notes", []))
    alloc = allocation(problem, result.plan)
    rules = rule_effects(problem, result.chosen, result.objective)
    front = None
    if budgets or (frontier_points and problem.scenario.budget is not None):
        front = frontier(inputs, list(budgets) if budgets else default_budgets(inputs, frontier_points), workers=workers)
    elif problem.scenario.budget is None:
        notes.append("no budget in the scenario: the frontier is not drawn (give budgets to draw it)")
    comparison, sentence = None, ""
    try:
        comparison = compare(problem, baselines)
        if len(comparison) > 1:
            sentence = headline(comparison, problem.scenario.budget)
    except InputError as exc:
        notes.append(f"strategy comparison skipped: {exc}")
    simulated = None
    if simulate:
        from .plan_test import run_plan_test

        simulated = run_plan_test(inputs, result.chosen, replications=replications, workers=workers, baselines=baselines,
                                  problem=problem)
    fingerprint = {
        "scenario": problem.scenario.name,
        "inputs_sha256": dict(problem.sources),
        "seed": problem.scenario.seed,
        "solver": f"{result.solver} {result.solver_version} (mip_gap {problem.scenario.solver.mip_gap:g}, threads {problem.scenario.solver.threads})",
        "plan_sha256": _plan_sha(result.plan),
        "campaignlab_version": __version__,
        "python": platform.python_version(),
    }
    return ReportData(summary, alloc, rules, front, comparison, sentence, simulated, fingerprint, notes)


# ---- rendering -------------------------------------------------------------------------

def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return '<img alt="plot" src="data:image/png;base64,' + base64.b64encode(buffer.getvalue()).decode() + '">'


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    if isinstance(value, (float, np.floating)):
        return f"{value:,.{digits}f}"
    return html.escape(str(value))


def _table(frame: pd.DataFrame, digits: int = 2, limit: int | None = None) -> str:
    shown = frame if limit is None else frame.head(limit)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v, digits)}</td>" for v in row) + "</tr>" for row in shown.itertuples(index=False))
    more = f'<p class="note">showing {limit} of {len(frame)} rows</p>' if limit is not None and len(frame) > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def headline_figures(summary: dict[str, Any]) -> dict[str, str]:
    """The headline numbers exactly as the page prints them (tests look for these strings)."""
    gap = summary.get("gap")
    return {
        "Expected spend": f"{summary['spend']:,.0f} yuan",
        "Expected return": f"{summary['expected_return']:,.0f} yuan",
        "Expected net value": f"{summary['objective']:,.0f} yuan",
        "ROI": f"{summary['roi']:.1%}" if summary.get("roi") is not None else "-",
        "Retained customers": f"{summary['expected_acceptances']:,.1f}",
        "Optimality gap": f"{gap:.3%}" if gap is not None else "-",
    }


def _allocation_plots(alloc: pd.DataFrame) -> dict[str, str]:
    """Contacts by offer x channel (a heat map) and by stage and channel, for a plan with contacts."""
    import matplotlib.pyplot as plt

    from simulation.plots import literal

    out = {}
    pivot = alloc.pivot_table(index="offer_id", columns="channel_id", values="contacts", aggfunc="sum", fill_value=0)
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(pivot) + 1.5))
    ax.imshow(pivot.to_numpy(), cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(pivot.columns)), pivot.columns.map(literal))
    ax.set_yticks(range(len(pivot.index)), pivot.index.map(literal))
    for (i, j), v in np.ndenumerate(pivot.to_numpy()):
        ax.text(j, i, f"{v:,}", ha="center", va="center", color="black")
    ax.set_title("contacts by offer x channel")
    out["allocation"] = _png(fig)
    if "stage" in alloc.columns:
        by = alloc.pivot_table(index="stage", columns="channel_id", values="contacts", aggfunc="sum", fill_value=0)
        fig, ax = plt.subplots(figsize=(6, 3))
        by.rename(index=literal, columns=literal).plot.barh(stacked=True, ax=ax)
        ax.set_xlabel("contacts")
        ax.set_title("contacts by lifecycle stage and channel")
        out["stage"] = _png(fig)
    return out


def _plots(data: ReportData) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulation.plots import literal  # user ids in labels: a `$` would start mathtext

    out = {}
    alloc = data.allocation
    if not len(alloc) or alloc["contacts"].sum() == 0:
        out["allocation"] = '<p class="note">The plan contacts nobody: nothing to chart.</p>'
    else:
        out |= _allocation_plots(alloc)
    limits = [lim for lim in data.summary["limits"] if lim["sense"] == "<=" and lim["limit"] > 0]
    if limits:
        fig, ax = plt.subplots(figsize=(6, 0.4 * len(limits) + 1.2))
        share = [100 * lim["usage"] / lim["limit"] for lim in limits]
        ax.barh([literal(lim["name"]) for lim in limits], share, color=["tab:red" if lim["binding"] else "tab:blue" for lim in limits])
        ax.axvline(100, color="black", linewidth=0.8)
        ax.set_xlabel("usage (% of the limit; red = binding)")
        out["limits"] = _png(fig)
    if data.frontier is not None:
        out["frontier"] = _png(plot_frontier(data.frontier, title=f"{data.summary['scenario']}: efficient frontier"))
    if data.comparison is not None:
        fig, ax = plt.subplots(figsize=(6, 2.8))
        ax.barh(data.comparison["strategy"][::-1].map(literal), data.comparison["net_value"][::-1], color="tab:green")
        ax.set_xlabel("expected net value at equal budget (yuan)")
        out["comparison"] = _png(fig)
    return out


_CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{margin-bottom:0}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:2em}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:1em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 16px;min-width:150px}
.card .label{font-size:0.85em;color:#666}.card .value{font-size:1.4em;font-weight:bold}
table{border-collapse:collapse;margin:0.5em 0;font-size:0.9em}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}.note{color:#666;font-size:0.9em}
.headline{font-size:1.1em;background:#eef7ee;padding:8px 12px;border-radius:6px}
code{font-size:0.85em}img{max-width:100%}
"""


def render_html(data: ReportData) -> str:
    """The whole page as one string."""
    s = data.summary
    plots = _plots(data)
    figures = headline_figures(s)
    cards = "".join(f'<div class="card"><div class="label">{html.escape(k)}</div><div class="value">{html.escape(v)}</div></div>' for k, v in figures.items())
    limits = pd.DataFrame(
        [{"limit": lim["name"], "usage": lim["usage"], "bound": f"{lim['sense']} {lim['limit']:,.2f}", "binding": lim["binding"],
          "shadow price (yuan per unit)": lim["shadow_price"], "unit": lim["unit"], "meaning": lim["meaning"]} for lim in s["limits"]]
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>CampaignLab plan: {html.escape(s['scenario'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Campaign plan: {html.escape(s['scenario'])}</h1>",
        f'<p class="note">status {html.escape(s["status"])}; {s["size"]["customers"]:,} customers, {s["size"]["options"]:,} options; '
        f'every limit rechecked by the independent verifier: {"ok" if s["verified"] else "FAILED"}</p>',
        '<h2 id="headline">Headline</h2>',
        f'<div class="cards">{cards}</div>',
        f'<p>{s["contacts"]:,} contacts to {s["customers_contacted"]:,} customers. Expected net value bound '
        f'{_fmt(s["bound"])} yuan: the plan is within {figures["Optimality gap"]} of the best possible.</p>',
    ]
    if data.comparison_headline:
        parts.append(f'<p class="headline">{html.escape(data.comparison_headline)}</p>')
    for note in data.notes:
        parts.append(f'<p class="note">note: {html.escape(note)}</p>')
    parts += [
        '<h2 id="allocation">Allocation: offer x channel x segment x stage</h2>',
        plots["allocation"], plots.get("stage", ""),
        _table(data.allocation, limit=40),
        '<h2 id="limits">Limits: usage and shadow prices</h2>',
        '<p class="note">Shadow price: expected net value gained by loosening the limit by one unit (LP dual of the relaxation).</p>',
        plots.get("limits", ""),
        _table(limits, digits=3),
        '<h2 id="rules">Contacts removed by each rule</h2>',
        '<p class="note">Each rule and exclusion: the scenario re-solved without it. Do-not-contact: options filtered, counted without re-solving.</p>',
        _table(data.rules) if len(data.rules) else "<p>The scenario has no rules, exclusions or do-not-contact list.</p>",
        '<h2 id="frontier">Efficient frontier</h2>',
    ]
    if data.frontier is not None:
        cols = ["budget", "status", "net_value", "roi", "marginal_value", "slope", "knee", "spend", "expected_acceptances"]
        knee = data.frontier[data.frontier["knee"]]
        if len(knee):
            parts.append(f"<p>Knee at a budget of {knee['budget'].iloc[0]:,.0f} yuan: beyond it each extra yuan buys much less.</p>")
        parts += [plots["frontier"], _table(data.frontier[cols], digits=3)]
    else:
        parts.append("<p>Not drawn (the scenario has no budget).</p>")
    parts.append('<h2 id="comparison">Strategy comparison at equal budget</h2>')
    if data.comparison is not None:
        cols = ["strategy", "description", "contacts", "spend", "expected_return", "net_value", "roi", "retained", "retained_per_1000_yuan", "verified", "optimizer_gain"]
        parts += [plots.get("comparison", ""), _table(data.comparison[cols])]
    if data.simulated is not None:
        parts += _plan_test_section(data.simulated)
    else:
        parts.append('<p class="note">Expected values only; run with --simulate to replay the plan on this base in the lifecycle simulator.</p>')
    fp = data.fingerprint
    rows = [("scenario", fp["scenario"]), ("seed", fp["seed"]), ("solver", fp["solver"]), ("plan sha256", fp["plan_sha256"]),
            ("campaignlab", fp["campaignlab_version"]), ("python", fp["python"])]
    rows += [(f"sha256 {k}", v) for k, v in fp["inputs_sha256"].items()]
    parts += ['<h2 id="fingerprint">Plan fingerprint</h2>',
              "<table>" + "".join(f"<tr><th>{html.escape(str(k))}</th><td><code>{html.escape(str(v))}</code></td></tr>" for k, v in rows) + "</table>",
              "</body></html>"]
    return "\n".join(parts)


def _plan_test_section(test: Any) -> list[str]:
    """The plan replayed on this base: planned vs simulated, gaps and their causes, assumptions."""
    from .plan_test import PLANNED_KEYS, UNITS, sentence

    esc = html.escape
    rows = pd.DataFrame(
        [
            {"measure": k, "unit": UNITS[k], "planned (expectation)": test.planned.get(k, float("nan")),
             "simulated mean": test.simulated[k]["mean"], "95% CI low": test.simulated[k]["ci_low"], "95% CI high": test.simulated[k]["ci_high"]}
            for k in (*PLANNED_KEYS, "customers_retained", "revenue", "in_horizon_return", "residual_return")
        ]
    )
    net = test.strategies[test.strategies["measure"] == "net_value"][["strategy", "description", "planned", "mean", "ci_low", "ci_high"]]
    parts = [
        '<h2 id="plan-test">The plan tested in the lifecycle simulator</h2>',
        f"<p><strong>{esc(sentence(test))}</strong></p>",
        f'<p class="note">This plan executed in month 1 on this scenario\'s own customers: {test.replications} replications, '
        f"{test.horizon_months}-month horizon, value horizon {test.value_horizon_months} months, seed {test.seed}, "
        f"<em>{esc(test.effects)}</em> effects ("
        + ("each accepted offer changes the customer's exit hazard and bill for its term; the return is the margin kept against doing nothing"
           if test.effects == "lifecycle" else "each acceptance is credited its option's value")
        + "). Intervals are 95% t intervals across replications; strategies share common random numbers.</p>",
        _table(rows, digits=1),
    ]
    if test.p_spend_over_budget is not None:
        parts.append(f"<p>Realised spend exceeded the budget of {test.budget:,.0f} yuan in {test.p_spend_over_budget:.0%} of replications "
                     "(offer costs are paid on acceptance).</p>")
    if test.gaps:
        items = "".join(
            f"<li><strong>{esc(g['measure'])}</strong>: planned {g['planned']:,.1f}, simulated {g['simulated']:,.1f} "
            f"(95% CI {g['ci_low']:,.1f} to {g['ci_high']:,.1f})<ul>" + "".join(f"<li>{esc(c)}</li>" for c in g["causes"]) + "</ul></li>"
            for g in test.gaps
        )
        parts.append(f"<h3>Where the plan and the simulation differ, and why</h3><ul>{items}</ul>")
    else:
        parts.append("<p>Every planned figure lies inside its simulated interval.</p>")
    parts += ["<h3>Every strategy on the same customers (net value, yuan)</h3>", _table(net, digits=1)]
    cc = test.call_centre
    parts.append(
        f'<p class="note">Call centre: {cc["seats"]} seats ({esc(cc["seats_source"])}), {cc["days_per_month"]} days x '
        f'{cc["hours_per_day"]:g} h, connect rate {cc["connect_rate"]:.1%}; {cc["calls_dialled_mean"]:,.0f} of '
        f'{cc["calls_planned"]:,} planned calls placed on average, seat utilisation {cc["utilisation_mean"]:.1%}.</p>'
    )
    notes = "".join(f"<li>{esc(str(a['what']))}: {esc(str(a['value']))} <span class=\"note\">({esc(str(a['source']))})</span></li>"
                    for a in test.assumptions)
    parts.append(f"<h3>What the simulation assumed</h3><ul>{notes}</ul>")
    return parts


def write_report(path: Path, page: str) -> Path:
    """The page to ``path``, atomically, under its folder's lock (:func:`optimizer.atomic.write_folder`)."""
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder; give the HTML file to write, e.g. --out out/report.html", file=str(path))
    write_folder(path.parent, [(path.name, lambda tmp: tmp.write_text(page, encoding="utf-8"))])
    return path
