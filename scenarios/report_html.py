"""The approval report as one self-contained HTML page (no script, no remote resource).

Every figure says what it is (an expectation, a bound, a percentile), its unit and, for
return and net value, its horizon. Sections: headline, risk, holdout (when the scenario
has one), money by offer, channel and segment, the allocation, limits (state and shadow
price in words), what each rule costs, the efficient frontier, the baselines at equal
budget, the plan test (``--simulate``), the files approved with their sha256, the inputs'
fingerprints and a sign-off block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .report import ReportData
from .report_charts import allocation_charts, comparison_chart, limits_chart, png
from .report_files import HOLDOUT_FILE, PLAN_FILE, SUMMARY_FILE
from .report_format import amount, esc, finite, html_table, number, pairs, pct, price_text, yuan
from .report_sections import budget_sentence, holdout_section, plan_test_section, risk_section

__all__ = ["ALLOCATION_ROWS", "headline_figures", "limit_rows", "render_html"]

#: Allocation rows shown on the page; beyond that the page says how many it shows (plan.csv has every contact).
ALLOCATION_ROWS = 500


def headline_figures(summary: dict[str, Any]) -> dict[str, str]:
    """The headline numbers exactly as the page prints them (tests look for these strings)."""
    gap = summary.get("gap")
    return {
        "Expected spend": yuan(summary["spend"]),
        "Expected return": yuan(summary["expected_return"]),
        "Expected net value": yuan(summary["objective"]),
        "ROI": pct(summary.get("roi")),
        "Expected acceptances": number(summary["expected_acceptances"], 1),
        "Optimality gap": f"{gap:.4%}" if gap is not None else "-",
    }


def _headline(data: ReportData) -> list[str]:
    s, horizon = data.summary, data.meta["horizon"]
    figures = headline_figures(s)
    risk = s.get("risk") or {}
    spend_p95 = (risk.get("spend") or {}).get("p95")
    min_roi = data.scenario.min_roi
    whats = {
        "Expected spend": f"mean of realised spend; 95th percentile {yuan(spend_p95)}" if finite(spend_p95) else "mean of realised spend",
        "Expected return": f"expected margin the accepted offers keep, {horizon}",
        "Expected net value": f"expected return minus expected spend, {horizon}",
        "ROI": ("net value / spend; required minimum " + (pct(min_roi) if min_roi is not None else "none (the scenario sets no minimum ROI)")),
        "Expected acceptances": "customers expected to accept an offer (the sum of p_accept), not a count of customers kept",
        "Optimality gap": (f"proven: no plan meeting every limit is worth more than {yuan(s['bound'])} of expected net value"
                           if finite(s.get("bound")) else "no bound proven"),
    }
    cards = "".join(
        f'<div class="card"><div class="label">{esc(k)}</div><div class="value">{esc(v)}</div><div class="what">{esc(whats[k])}</div></div>'
        for k, v in figures.items()
    )
    parts = [
        '<h2 id="headline">Headline</h2>',
        f'<div class="cards">{cards}</div>',
        f'<p id="budget-statement">{esc(budget_sentence(s))}</p>',
        f'<p>{s["contacts"]:,} contacts to {s["customers_contacted"]:,} customers. Money is in yuan; spend is expected '
        f'spend (contact cost, plus the offer cost when the offer is accepted); return and net value are {esc(horizon)}.</p>',
    ]
    if data.comparison_headline:
        parts.append(f'<p class="headline">{esc(data.comparison_headline)}</p>')
    parts += [f'<p class="note">note: {esc(note)}</p>' for note in data.notes]
    return parts


def _money_table(alloc: pd.DataFrame, key: str, label: str, required: dict[str, float] | None = None) -> pd.DataFrame:
    table = alloc.groupby(key, observed=True)[["contacts", "spend", "expected_return", "net_value", "expected_acceptances"]].sum()
    total_contacts, total_spend = table["contacts"].sum(), table["spend"].sum()
    out = pd.DataFrame({
        label: table.index.astype(str),
        "contacts": table["contacts"].to_numpy(),
        "share of contacts": table["contacts"].to_numpy() / total_contacts if total_contacts else np.nan,
        "expected spend (yuan)": table["spend"].to_numpy(),
        "share of spend": table["spend"].to_numpy() / total_spend if total_spend else np.nan,
        "expected return (yuan)": table["expected_return"].to_numpy(),
        "expected net value (yuan)": table["net_value"].to_numpy(),
        "ROI": np.where(table["spend"] > 0, table["net_value"] / table["spend"].where(table["spend"] > 0), np.nan),
        "expected acceptances": table["expected_acceptances"].to_numpy(),
    })
    if required is not None:
        out.insert(out.columns.get_loc("ROI") + 1, "required minimum ROI", [pct(required[k]) if k in required else "none" for k in out[label]])
    return out.sort_values("expected spend (yuan)", ascending=False)


MONEY_FORMATS: dict[str, Callable[[Any], str]] = {
    "share of contacts": pct, "expected spend (yuan)": number, "share of spend": pct, "expected return (yuan)": number,
    "expected net value (yuan)": number, "ROI": pct, "expected acceptances": lambda v: number(v, 1),
}


def _money(data: ReportData, charts: dict[str, str]) -> list[str]:
    alloc = data.allocation
    horizon = data.meta["horizon"]
    parts = ['<h2 id="money">Money by offer, channel and segment</h2>',
             f'<p class="note">Expected spend, return and net value in yuan; return and net value {esc(horizon)}. '
             "ROI is expected net value over expected spend.</p>"]
    if not len(alloc):
        return parts + ['<p class="note">The plan contacts nobody: nothing to chart.</p>']
    for key, label, required in (("offer_id", "offer", data.meta["offer_min_roi"]), ("channel_id", "channel", None),
                                 ("segment", "segment", None)):
        if key in alloc.columns:
            parts += [f"<h3>By {label}</h3>", charts.get(key, ""), html_table(_money_table(alloc, key, label, required), MONEY_FORMATS)]
    if "campaign" in alloc.columns:
        parts += _by_campaign(data)
    parts += ["<h3>Expected spend by offer and channel</h3>", charts["heatmap"]]
    return parts


def _by_campaign(data: ReportData) -> list[str]:
    """Each campaign's money beside its own budget and what one more yuan of that budget is worth."""
    table = _money_table(data.allocation.assign(campaign=data.allocation["campaign"].astype(str).replace("", "(blank)")), "campaign", "campaign")
    own = {c["name"] or "(blank)": c for c in data.summary["campaigns"]["campaigns"]}
    budgets = [own.get(name, {}).get("budget") for name in table["campaign"]]
    prices = [next((b["shadow_price"] for b in own.get(name, {}).get("budget_limits", [])), None) for name in table["campaign"]]
    table.insert(table.columns.get_loc("expected spend (yuan)") + 1, "campaign budget (yuan)", ["none" if b is None else number(b, 2) for b in budgets])
    table["budget shadow price (yuan per yuan)"] = ["-" if p is None else price_text(p) for p in prices]
    return ["<h3>By campaign</h3>",
            '<p class="note">Each campaign\'s limits hold over its own options, the scenario\'s over all of them, and the contact '
            "policy is the customer's, shared by every campaign. The shadow price is the expected net value one more yuan of "
            "the campaign's budget would add; a campaign without a budget has only the scenario's limits.</p>",
            html_table(table, MONEY_FORMATS)]


def _allocation(data: ReportData) -> list[str]:
    keys = [c for c in ("campaign", "offer_id", "channel_id", "segment", "stage") if c in data.allocation.columns]
    alloc = data.allocation[keys + ["contacts", "net_value", "spend", "expected_return", "expected_acceptances"]].rename(columns={
        "offer_id": "offer", "channel_id": "channel", "expected_acceptances": "expected acceptances", "spend": "expected spend (yuan)",
        "expected_return": "expected return (yuan)", "net_value": "expected net value (yuan)"})
    return ['<h2 id="allocation">Allocation: offer x channel x segment x stage</h2>',
            f'<p class="note">Every group of the plan, largest expected net value first; every contact is in '
            f'<a href="{PLAN_FILE}">{PLAN_FILE}</a> ({len(data.plan):,} rows).</p>',
            html_table(alloc, MONEY_FORMATS, limit=ALLOCATION_ROWS)]


def limit_rows(data: ReportData) -> list[dict[str, Any]]:
    """Each limit with its state in words, consistent with its shadow price, and the price in words."""
    s, closed = data.summary, data.meta["closed"]
    relaxation = "the Lagrangian dual" if s.get("mode") == "decompose" else "the LP relaxation"
    by_offer = data.allocation.groupby("offer_id", observed=True)[["spend", "net_value"]].sum() if len(data.allocation) else None
    rows = []
    for lim in s["limits"]:
        name, price, unit = lim["name"], lim["shadow_price"], lim["unit"]
        slack = abs(lim["limit"] - lim["usage"])
        gains = price is not None and price > 1e-9
        loosen = ("one more yuan of budget" if lim["kind"] == "budget" else
                  f"one {unit} less of required surplus" if lim["kind"] in ("roi", "offer_roi") else
                  f"raising the limit by one {unit}" if lim["sense"] == "<=" else f"lowering the minimum by one {unit}")
        words = f"{loosen} would add {price_text(price)} yuan of expected net value" if gains else "loosening it adds nothing"
        if name in closed:
            state, words = "closed by policy", f"{closed[name]}: no price, since opening it is a policy decision"
        elif lim["binding"]:
            state = "binds"
        elif gains:
            state = f"binds in {relaxation}"
            words = (f"binds in {relaxation}: the integer plan leaves {amount(slack, unit)} of it unused (whole contacts do "
                     f"not fill it exactly); {words}")
        elif lim["kind"] in ("roi", "offer_roi"):
            state = "room left"
            words = f"the return is {slack:,.2f} yuan above what the minimum ROI requires; {words}"
        else:
            state = "room left"
            words = f"{amount(slack, unit)} of room left; {words}"
        bound = "at most" if lim["sense"] == "<=" else "at least"
        usage = f"{amount(lim['usage'], unit)} ({bound} {amount(lim['limit'], unit)})"
        if lim["kind"] == "roi" and s.get("roi") is not None:
            usage = f"ROI {pct(s['roi'])} (required minimum {pct(data.scenario.min_roi)})"
        elif lim["kind"] == "offer_roi":
            offer = name.split(":")[1]
            required = pct(data.meta["offer_min_roi"].get(offer))
            if by_offer is not None and offer in by_offer.index and by_offer.loc[offer, "spend"] > 0:
                usage = f"ROI {pct(by_offer.loc[offer, 'net_value'] / by_offer.loc[offer, 'spend'])} (required minimum {required})"
            else:
                usage, state, words = f"offer not in the plan (required minimum ROI {required})", "not used", "holds trivially: no contact has this offer"
        rows.append({"name": name, "kind": lim["kind"], "sense": lim["sense"], "limit": lim["limit"], "usage": lim["usage"],
                     "what it is": lim["description"], "usage and bound": usage, "state": state, "shadow price in words": words})
    return rows


def _limits(data: ReportData, rows: list[dict[str, Any]]) -> list[str]:
    shown = [r for r in rows if r["sense"] == "<=" and r["limit"] > 0 and r["state"] != "closed by policy"]
    table = pd.DataFrame(rows)[["name", "what it is", "usage and bound", "state", "shadow price in words"]].rename(columns={"name": "limit"})
    return ['<h2 id="limits">Limits: usage, whether they bind, and what loosening each is worth</h2>',
            '<p class="note">Shadow prices come from the LP relaxation of the plan (its duals): the expected net value one more '
            "unit of a limit would add. A limit can bind there while the integer plan leaves a few yuan of it unused.</p>",
            limits_chart(shown) if shown else "", html_table(table)]


def _rules(data: ReportData) -> list[str]:
    parts = ['<h2 id="rules">What each rule costs</h2>',
             f'<p class="note">Each rule and exclusion: the scenario re-solved without it (proven to a relative gap of '
             f'{data.meta["what_if_gap"]:g}; "at most" is the cost bounded by that re-solve\'s bound). Do-not-contact: options '
             "filtered, counted without re-solving. Costs are expected net value in yuan; a cost within the re-solve's gap shows as 0.</p>"]
    if not len(data.rules):
        return parts + ["<p>The scenario has no rules, exclusions or do-not-contact list.</p>"]
    rules = data.rules.rename(columns={"net value it costs": "net value it costs (yuan)", "at most": "at most (yuan)"})
    # dropping a limit cannot lower the optimum: a re-solve a few yuan below the plan is within its gap
    rules["net value it costs (yuan)"] = rules["net value it costs (yuan)"].clip(lower=0)
    counts = {c: number for c in ("matching contacts without", "matching contacts with", "contacts removed")}
    return parts + [html_table(rules, {"net value it costs (yuan)": number, "at most (yuan)": number, **counts})]


def _frontier(data: ReportData) -> list[str]:
    parts = ['<h2 id="frontier">Efficient frontier: what more or less budget would buy</h2>']
    front = data.frontier
    if front is None:
        return parts + ["<p>Not drawn (the scenario has no budget).</p>"]
    from .frontier import plot_frontier

    current = data.scenario.budget
    knee = front[front["knee"]]
    if len(knee):
        parts.append(f"<p>Knee at a budget of {yuan(knee['budget'].iloc[0])}: beyond it each extra yuan buys much less.</p>")
    if current is not None:
        parts.append(f"<p>Current budget: {yuan(current)} (its point is the plan itself; the others are re-solved to a relative gap "
                     f"of {data.meta['what_if_gap']:g}).</p>")
    alt = (f"Line chart: best expected net value (yuan) and ROI (%) against budget from {yuan(front['budget'].min())} to "
           f"{yuan(front['budget'].max())}, with the shadow price of budget below"
           + (f"; the current budget {yuan(current)} is marked with a dashed line" if current is not None else "")
           + (f"; the knee at {yuan(knee['budget'].iloc[0])} with a red star." if len(knee) else "."))
    table = front[["budget", "status", "net_value", "roi", "marginal_value", "slope", "knee", "spend", "expected_acceptances"]].rename(columns={
        "budget": "budget (yuan)", "net_value": "expected net value (yuan)", "roi": "ROI", "marginal_value": "shadow price of budget (yuan per yuan)",
        "slope": "slope between points (yuan per yuan)", "spend": "expected spend (yuan)", "expected_acceptances": "expected acceptances"})
    return parts + [png(plot_frontier(front, title=f"{data.scenario.name}: efficient frontier", current=current), alt),
                    html_table(table, {"budget (yuan)": number, "expected net value (yuan)": number, "ROI": pct, "expected spend (yuan)": number,
                                   "expected acceptances": lambda v: number(v, 1)})]


def _comparison(data: ReportData) -> list[str]:
    parts = ['<h2 id="comparison">Strategy comparison at equal budget</h2>']
    table = data.comparison
    if table is None:
        return parts + ['<p class="note">No baseline could be built for this scenario.</p>']
    budget = data.scenario.budget
    shown = pd.DataFrame({
        "strategy": table["strategy"],
        "verifier": ["passes" if ok else f"fails: {why}" for ok, why in zip(table["verified"], table["violations"])],
        "contacts": table["contacts"], "expected spend (yuan)": table["spend"],
        "share of the budget": table["spend"] / budget if budget else np.nan, "expected return (yuan)": table["expected_return"],
        "expected net value (yuan)": table["net_value"], "ROI": table["roi"], "expected acceptances": table["retained"],
        "expected acceptances per 1,000 yuan": table["retained_per_1000_yuan"], "optimizer's gain (yuan)": table["optimizer_gain"],
    })
    described = "".join(f"<li><strong>{esc(n)}</strong>: {esc(d)}</li>" for n, d in zip(table["strategy"], table["description"]))
    return parts + [
        '<p class="note">Each baseline works through its own list, then spends what is left of the budget down the same ranking; '
        "every plan is rechecked by the verifier, and a baseline that breaks a limit shows why.</p>",
        comparison_chart(table),
        html_table(shown, {"expected spend (yuan)": number, "share of the budget": pct, "expected return (yuan)": number,
                       "expected net value (yuan)": number, "ROI": pct, "expected acceptances": lambda v: number(v, 1),
                       "expected acceptances per 1,000 yuan": lambda v: number(v, 1), "optimizer's gain (yuan)": number}),
        f"<ul>{described}</ul>",
    ]


FILE_WHAT = {PLAN_FILE: "the approved plan: one row per contact (customer, offer, channel, p_accept, expected value and cost)",
             SUMMARY_FILE: "the solve's summary as campaignlab optimize writes it (figures, limits, risk, inputs' sha256)",
             HOLDOUT_FILE: "the customers held out of the plan, to measure its effect"}


def _files(data: ReportData, manifest: dict[str, dict[str, Any]] | None) -> list[str]:
    parts = ['<h2 id="files">Files this page approves</h2>']
    if manifest is None:
        return parts + [f'<p class="note">Not written yet; plan.csv will have sha256 <code>{data.plan_sha256}</code>.</p>']
    rows = [{"file": name, "what it holds": FILE_WHAT.get(name, f"contact list for the {name.rsplit('_list', 1)[0]} channel, highest "
                                                                    "expected net value first"), "bytes": entry["bytes"], "sha256": entry["sha256"]}
            for name, entry in manifest.items()]
    formats = {"file": lambda v: f'<a href="{esc(v)}">{esc(v)}</a>', "sha256": lambda v: f"<code>{esc(v)}</code>"}
    return parts + [f'<p>Written beside this page, in the same folder, together. Check any of them with <code>sha256sum {PLAN_FILE}</code>: '
                    f'plan.csv has sha256 <code id="plan-sha256">{data.plan_sha256}</code>.</p>', html_table(pd.DataFrame(rows), formats)]


def _fingerprint(data: ReportData) -> list[str]:
    fp = data.fingerprint
    rows = []
    for key, v in fp["inputs"].items():
        where = esc(v["file"]) if v["file"] else "generated, not a file"
        how = f"<br>recompute: <code>{esc(v['recompute'])}</code>" if v["recompute"] else ""
        rows.append((key, f"<code>{esc(v['sha256'])}</code><br>{where}: {esc(v['covers'])}{how}"))
    return ['<h2 id="fingerprint">Fingerprint: reproduce this plan</h2>',
            pairs([("scenario", esc(str(fp["scenario"]))), ("seed", esc(str(fp["seed"]))), ("solver", esc(fp["solver"])),
                    ("plan sha256 (the bytes of plan.csv)", f"<code>{data.plan_sha256}</code>"),
                    ("campaignlab", esc(fp["campaignlab_version"])), ("python", esc(fp["python"]))]),
            "<h3>Inputs (sha256 of each, what it covers, how to recompute it)</h3>", pairs(rows)]


def _sign_off(data: ReportData) -> list[str]:
    line = '<span class="line"></span>'
    return ['<h2 id="sign-off">Sign-off</h2>',
            f"<p>Prepared by: {esc(data.meta['author'])}, {esc(data.meta['generated'])}.</p><p>I approve the plan in "
            f"<code>{PLAN_FILE}</code> (sha256 <code>{data.plan_sha256[:16]}…</code>) for execution.</p>",
            f'<div class="sign"><p>Approved by (name and role): {line}</p><p>Date: {line}</p><p>Signature: {line}</p></div>']


_CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:1.5em auto;max-width:1000px;padding:0 12px;color:#222;line-height:1.4}
h1{margin-bottom:0.2em}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:2em}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:1em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;flex:1 1 200px;max-width:300px}
.card .label{font-size:0.85em;color:#555}.card .value{font-size:1.4em;font-weight:bold}.card .what{font-size:0.8em;color:#555}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:0.5em 0;font-size:0.85em}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:right;vertical-align:top}th{background:#f3f3f3}
td:first-child,th:first-child,td.t,th.t{text-align:left}table.pairs th{text-align:left;max-width:320px}table.pairs td{text-align:left}
.note{color:#555;font-size:0.9em}.headline{font-size:1.05em;background:#eef7ee;padding:8px 12px;border-radius:6px}
code{font-size:0.85em;word-break:break-all}img{max-width:100%;height:auto}
.sign p{margin:1.6em 0}.line{display:inline-block;border-bottom:1px solid #222;width:60%;min-width:200px}
"""


def render_html(data: ReportData, files: dict[str, dict[str, Any]] | None = None) -> str:
    """The whole page as one string; ``files`` is the manifest (name: sha256, bytes) of the files written beside it."""
    s, meta = data.summary, data.meta
    charts = allocation_charts(data.allocation, meta["horizon"]) if len(data.allocation) else {}
    header = pairs([
        ("scenario", esc(s["scenario"])), ("description", esc(meta["description"])), ("prepared by", esc(meta["author"])),
        ("generated", f'<time>{esc(meta["generated"])}</time>'), ("plan", esc(meta["source"])),
        ("status", f'{esc(s["status"])}; {s["size"]["customers"]:,} customers, {s["size"]["options"]:,} options; every limit '
                   f'rechecked by the independent verifier: {"ok" if s["verified"] else "FAILED"}'),
    ])
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>CampaignLab plan: {esc(s['scenario'])}</title>", f"<style>{_CSS}</style></head><body>",
             f"<h1>Campaign plan: {esc(s['scenario'])}</h1>", header]
    parts += _headline(data) + risk_section(data) + holdout_section(data) + _money(data, charts) + _allocation(data)
    parts += _limits(data, limit_rows(data)) + _rules(data) + _frontier(data) + _comparison(data)
    if data.simulated is not None:
        parts += plan_test_section(data.simulated)
    else:
        parts.append('<p class="note">Expected values only; run with --simulate to replay the plan on this base in the lifecycle simulator.</p>')
    parts += _files(data, files) + _fingerprint(data) + _sign_off(data) + ["</body></html>"]
    return "\n".join(parts)
