"""``evaluation.html``: the evaluation as one self-contained page (no script, no remote resource).

It reuses the approval report's formatting (``report_format``), style sheet and PNG helper
(``report_charts.png``), so both pages read alike. Every figure says whether it is an
expectation (from the plan), a realised figure (from the responses) or an interval, its unit
and its horizon. Nothing on the page depends on the clock: the same inputs give the same bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .evaluate_stats import LEVEL
from .report_charts import png
from .report_format import esc, finite, html_table, number, pairs, pct, yuan

__all__ = ["acceptance_chart", "reliability_chart", "render_html"]

#: Group rows shown on the page; evaluation.json has every group.
GROUP_ROWS = 300
EXPECTED, REALISED = "tab:blue", "tab:orange"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def acceptance_chart(table: pd.DataFrame) -> str:
    """Expected against realised acceptance rate per offer x channel, the realised one with its interval."""
    from simulation.plots import literal  # ids in labels: a `$` would start mathtext

    plt = _pyplot()
    rows = table[table["responded"] > 0].sort_values(["expected_acceptances"]).reset_index(drop=True)
    n = rows["responded"].to_numpy(float)
    expected, realised = 100 * rows["expected_acceptances"] / n, 100 * rows["realised_acceptances"] / n
    low, high = 100 * rows["acceptances_ci_low"] / n, 100 * rows["acceptances_ci_high"] / n
    fig, ax = plt.subplots(figsize=(7.5, 0.38 * len(rows) + 1.8))
    y = np.arange(len(rows))
    ax.errorbar(realised, y, xerr=[np.nan_to_num(realised - low), np.nan_to_num(high - realised)], fmt="o", color=REALISED,
                ecolor=REALISED, capsize=3, label=f"realised, with {LEVEL:.0%} interval")
    ax.scatter(expected, y, marker="D", facecolors="none", edgecolors=EXPECTED, s=40, linewidths=1.5, zorder=3,
               label="expected (mean p_accept of the plan)")
    ax.set_yticks(y, [f"{literal(o)} by {literal(c)} ({int(k):,})" for o, c, k in zip(rows["offer_id"], rows["channel_id"], n)])
    ax.set_xlabel("acceptance rate (% of contacts with a response; contacts in brackets)")
    ax.set_xlim(left=0)
    ax.grid(axis="x", color="#ddd")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncol=2, frameon=False, fontsize=9)
    worst = rows.iloc[int(np.nanargmax(np.abs(realised - expected)))] if len(rows) else None
    alt = (f"Dot chart of the acceptance rate by offer and channel, {len(rows)} groups: the plan's expectation as an open "
           "diamond, the realised rate as a dot with its interval."
           + (f" Largest gap: {worst['offer_id']} by {worst['channel_id']}." if worst is not None else ""))
    return png(fig, alt)


def reliability_chart(reliability: pd.DataFrame) -> str:
    """Observed against predicted acceptance per decile of p_accept, with the diagonal of perfect calibration."""
    plt = _pyplot()
    predicted, observed = 100 * reliability["mean_predicted"], 100 * reliability["observed_rate"]
    low, high = 100 * reliability["ci_low"], 100 * reliability["ci_high"]
    top = float(max(high.max(), predicted.max(), 1.0)) * 1.08
    fig, ax = plt.subplots(figsize=(5.5, 5.0))
    ax.plot([0, top], [0, top], linestyle="--", color="#555", label="perfect calibration (observed = predicted)")
    ax.errorbar(predicted, observed, yerr=[observed - low, high - observed], fmt="o-", color=REALISED, capsize=3,
                label=f"observed rate per decile of p_accept, {LEVEL:.0%} Wilson interval")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("predicted acceptance (mean p_accept in the decile, %)")
    ax.set_ylabel("observed acceptance (% of the decile's contacts)")
    ax.grid(color="#eee")
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    alt = (f"Reliability curve: observed against predicted acceptance for {len(reliability)} equal-count bins of p_accept, with "
           "the diagonal of perfect calibration; points below the diagonal mean the plan expected more acceptances than came.")
    return png(fig, alt)


def _ci(low: Any, high: Any, fmt: Any) -> str:
    return f"[{fmt(low)}, {fmt(high)}]" if finite(low) and finite(high) else "no interval"


def _cards(s: dict[str, Any]) -> str:
    t, horizon = s["totals"], s["units"]["expected_return"]
    level = f"{LEVEL:.0%}"
    cards = [
        ("Acceptances", f"{t['realised_acceptances']:,} realised", f"expected {number(t['expected_acceptances'], 1)} (sum of p_accept); "
         f"{level} interval {_ci(t['acceptances_ci_low'], t['acceptances_ci_high'], lambda v: number(v, 1))}; count of contacts"),
        ("Acceptance multiplier", number(t["multiplier"], 3), f"realised / expected acceptances; {level} interval "
         f"{_ci(t['multiplier_ci_low'], t['multiplier_ci_high'], lambda v: number(v, 3))}; 1 = the plan's p_accept was right"),
        ("Revenue", f"{yuan(t['realised_revenue'])} realised", f"expected return {yuan(t['expected_return'])} ({horizon}); "
         f"{level} interval {_ci(t['realised_revenue_ci_low'], t['realised_revenue_ci_high'], yuan)}, over the responses' period"),
        ("Cost", f"{yuan(t['realised_cost'])} realised", f"expected cost {yuan(t['expected_cost'])}; {level} interval "
         f"{_ci(t['realised_cost_ci_low'], t['realised_cost_ci_high'], yuan)}"),
        ("ROI", f"{pct(t['roi_realised'])} realised", f"planned {pct(t['roi_planned'])} (expected return / expected cost - 1); "
         f"{level} interval {_ci(t['roi_realised_ci_low'], t['roi_realised_ci_high'], pct)}"),
        ("Brier score", number(s["calibration"]["brier"], 4), f"mean squared error of p_accept against accepted (0/1); always "
         f"predicting the observed rate scores {number(s['calibration']['reference_brier'], 4)}; lower is better"),
    ]
    body = "".join(f'<div class="card"><div class="label">{esc(k)}</div><div class="value">{esc(v)}</div>'
                   f'<div class="what">{esc(w)}</div></div>' for k, v, w in cards)
    return f'<div class="cards">{body}</div>'


def _group_table(groups: pd.DataFrame, segment: str | None) -> str:
    keys = ["offer_id", "channel_id"] + ([segment] if segment else [])
    shown = pd.DataFrame({k: groups[k].map(lambda v: v if v != "" else "(blank)") for k in keys})
    shown["contacts (with response)"] = [f"{c:,} ({r:,})" for c, r in zip(groups["contacts"], groups["responded"])]
    shown["acceptances: expected"] = groups["expected_acceptances"].map(lambda v: number(v, 1))
    shown["realised [95% interval]"] = [f"{x:,} {_ci(lo, hi, lambda v: number(v, 1))}" for x, lo, hi in
                                        zip(groups["realised_acceptances"], groups["acceptances_ci_low"], groups["acceptances_ci_high"])]
    shown["multiplier [95% interval]"] = [f"{number(m, 2)} {_ci(lo, hi, lambda v: number(v, 2))}" + (" (few; not applied)" if f else "")
                                          for m, lo, hi, f in zip(groups["multiplier"], groups["multiplier_ci_low"],
                                                                  groups["multiplier_ci_high"], groups["small_group"])]
    shown["return: expected (yuan)"] = groups["expected_return"].map(lambda v: number(v))
    shown["revenue: realised [95%] (yuan)"] = [f"{number(v)} {_ci(lo, hi, number)}" for v, lo, hi in
                                               zip(groups["realised_revenue"], groups["realised_revenue_ci_low"], groups["realised_revenue_ci_high"])]
    shown["cost: expected / realised (yuan)"] = [f"{number(e)} / {number(r)}" for e, r in zip(groups["expected_cost"], groups["realised_cost"])]
    shown["ROI: planned / realised [95%]"] = [f"{pct(p)} / {pct(r)} {_ci(lo, hi, pct)}" for p, r, lo, hi in
                                              zip(groups["roi_planned"], groups["roi_realised"], groups["roi_realised_ci_low"], groups["roi_realised_ci_high"])]
    return html_table(shown, limit=GROUP_ROWS)


def _holdout(h: dict[str, Any] | None) -> list[str]:
    if h is None:
        return ["<h2>Effect against the holdout</h2>", '<p class="note">No holdout file given (--holdout): the realised figures '
                "above are what the contacted customers did, not what the campaign changed.</p>"]
    churn, revenue, net = h["churn_difference"], h["revenue_difference"], h["net_difference"]
    rows = [
        ("customers", f"{h['contacted_customers']:,} contacted (with a response), {h['holdout_customers']:,} held out"),
        ("churn rate (realised, share of customers)", f"contacted {pct(h['churn_rate_contacted'])}, holdout {pct(h['churn_rate_holdout'])}"),
        ("churn difference, contacted - holdout", f"{pct(churn['difference'], 2)} points, 95% Newcombe interval "
         f"{_ci(churn['ci_low'], churn['ci_high'], lambda v: pct(v, 2))}; negative: fewer churned among the contacted"),
        ("revenue per customer (yuan, realised)", f"contacted {yuan(h['revenue_per_customer_contacted'])}, holdout {yuan(h['revenue_per_customer_holdout'])}"),
        ("revenue difference per customer", f"{yuan(revenue['difference'])}, 95% Welch interval {_ci(revenue['ci_low'], revenue['ci_high'], yuan)}"),
        ("net of campaign cost, per customer", f"{yuan(net['difference'])}, 95% Welch interval {_ci(net['ci_low'], net['ci_high'], yuan)}"),
    ]
    return ["<h2>Effect against the holdout</h2>", pairs([(k, esc(v)) for k, v in rows])]


def render_html(evaluation: Any) -> str:
    """The page as one string."""
    from .report_html import _CSS  # the approval report's style sheet: both pages read alike

    s = evaluation.summary
    seg = s["segment_column"]
    c = s["contacts"]
    d = s["date"]
    header = pairs([(k, esc(str(v))) for k, v in (
        ("scenario", s["scenario"]), ("plan", s["inputs"]["plan"]), ("responses", s["inputs"]["responses"]),
        ("holdout", s["inputs"]["holdout"] or "none"), ("outcome date", f"{d['date'] or 'per response row'} (from {d['from']})"),
        ("groups", "offer x channel" + (f" x {seg}" if seg else " (no segment column)")),
        ("money", "yuan; expected return " + s["units"]["expected_return"] + "; realised revenue " + s["units"]["realised_revenue"]),
    )])
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>CampaignLab evaluation: {esc(s['scenario'])}</title>",
             f"<style>{_CSS}.warn{{background:#fdecea;color:#611a15;padding:8px 12px;border-radius:6px}}</style></head><body>",
             f"<h1>Campaign evaluation: {esc(s['scenario'])}</h1>", header]
    if c["without_response"]:
        parts.append(f'<p class="warn"><b>{c["without_response"]:,} of {c["planned"]:,} planned contacts have no response row</b> '
                     f"(e.g. {esc(c['without_response_example'])}). They are left out of every figure below, expected and "
                     "realised alike; contact_history.csv records them as no_answer.</p>")
    parts += ["<h2>Planned against realised, all contacts with a response</h2>", _cards(s),
              "<h2>Acceptance by offer and channel</h2>", acceptance_chart(evaluation.offer_channel),
              f"<h2>Every group (offer x channel{' x ' + esc(seg) if seg else ''})</h2>",
              '<p class="note">Expected figures are the plan\'s, summed over the contacts with a response; realised ones are '
              "from the responses. Intervals are 95%: acceptances by the score interval of the multiplier, revenue and cost "
              "by a t interval per contact, ROI by the ratio estimator's delta method. Groups with fewer than "
              f"{s['multipliers']['small_group_below_expected_acceptances']:g} expected acceptances are marked few: their "
              "multiplier is written but not applied by the next wave.</p>", _group_table(evaluation.groups, seg)]
    cal = s["calibration"]
    parts += ["<h2>Calibration of p_accept</h2>",
              f"<p>Brier score {number(cal['brier'], 4)} over {cal['contacts']:,} contacts (always predicting the observed rate "
              f"{pct(cal['observed_rate'])}: {number(cal['reference_brier'], 4)}; skill {number(cal['skill'], 3)}, above 0 is "
              f"better than that). Mean p_accept {pct(cal['mean_predicted'])}.</p>", reliability_chart(evaluation.reliability),
              html_table(evaluation.reliability.rename(columns={"count": "contacts"}),
                         {"p_min": lambda v: pct(v, 2), "p_max": lambda v: pct(v, 2), "mean_predicted": lambda v: pct(v, 2),
                          "observed_rate": lambda v: pct(v, 2), "ci_low": lambda v: pct(v, 2), "ci_high": lambda v: pct(v, 2)})]
    parts += _holdout(s["holdout"])
    parts += ["<h2>Files</h2>", pairs([
        ("acceptance_multipliers.csv", esc("per group: multiplier = realised / expected acceptances, with its 95% interval; "
                                           "the next wave multiplies p_accept by it (optimizer.acceptance)")),
        ("contact_history.csv", esc(f"{s['contact_history']['earlier_rows']:,} earlier rows and {s['contact_history']['new_rows']:,} "
                                    "from this wave: the next scenario's contact_history")),
        ("evaluation.json", esc("every figure on this page, and the sha256 of the other files")),
    ]), "</body></html>"]
    return "\n".join(parts)
