"""The approval report's sections on uncertainty: the budget statement, the risk of the plan,
the holdout that will measure it, and the plan tested in the lifecycle simulator."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .report import ReportData
from .report_files import HOLDOUT_FILE
from .report_format import esc, finite, html_table, number, pairs, pct, yuan

__all__ = ["budget_sentence", "holdout_section", "plan_test_section", "risk_section"]


def budget_sentence(summary: dict[str, Any]) -> str:
    """The budget in one sentence: what it bounds, how often realised spend exceeds it, and for a chance budget what that certainty costs."""
    budget = summary.get("budget")
    risk = summary.get("risk") or {}
    if not budget:
        return "The scenario has no budget."
    if budget.get("kind") == "chance":
        plain = budget.get("expected_spend_plan") or {}
        over = budget.get("p_spend_over_amount")
        return (
            f"Budget {yuan(budget['amount'])} held with {budget['confidence']:.0%} probability: realised spend at that "
            f"confidence is {yuan(budget.get('spend_at_confidence'))}"
            + (f", and it exceeds the budget with probability {pct(over)}" if finite(over) else "")
            + f". The price of that certainty is {yuan(budget.get('price_of_certainty'))} of expected net value: the plan that "
            f"only keeps expected spend within the budget would net {yuan(plain.get('objective'))}"
            + (f" and exceed the budget with probability {pct(plain.get('p_spend_over_amount'))}" if finite(plain.get("p_spend_over_amount")) else "")
            + "."
        )
    over = risk.get("p_spend_over_budget")
    return (
        f"Budget {yuan(budget['amount'])} of expected spend: the plan's mean spend stays within it"
        + (f"; realised spend exceeds it with probability {pct(over)}, since offer costs are paid only on acceptance" if finite(over) else "")
        + "."
    )


def risk_section(data: ReportData) -> list[str]:
    risk = data.summary.get("risk")
    if not risk:
        return []
    horizon = data.meta["horizon"]
    rows = pd.DataFrame([
        {"measure": label, "mean": risk[key]["mean"], "sd": risk[key]["sd"], "5th percentile": risk[key]["p05"],
         "median": risk[key]["p50"], "95th percentile": risk[key]["p95"]}
        for key, label in (("spend", "realised spend (yuan)"), ("expected_return", f"return (yuan, {horizon})"),
                           ("net_value", f"net value (yuan, {horizon})"))
    ])
    money = {c: number for c in ("mean", "sd", "5th percentile", "median", "95th percentile")}
    facts = [
        ("worst-case spend (every contact accepts)", esc(yuan(risk["worst_case_spend"]))),
        ("share of the expected return carried by the top 5% of contacts", esc(pct(risk["top_5pct_share_of_return"]))),
    ]
    if finite(risk.get("p_spend_over_budget")):
        facts.insert(0, ("probability that realised spend exceeds the budget", esc(pct(risk["p_spend_over_budget"]))))
    budget = data.summary.get("budget") or {}
    if budget.get("kind") == "chance":
        facts.insert(0, (f"budget held with {budget['confidence']:.0%} probability", esc(budget_sentence(data.summary))))
    stress = pd.DataFrame(risk["stress"]).rename(columns={"case": "stress case", "spend": "expected spend (yuan)",
                                                           "expected_return": "expected return (yuan)",
                                                           "net_value": "expected net value (yuan)", "roi": "ROI"})
    return [
        '<h2 id="risk">Risk: what the plan may realise</h2>',
        f'<p class="note">How: {esc(risk["what"])}. Units: {esc(risk["unit"])}.</p>',
        html_table(rows, money),
        pairs(facts),
        "<h3>Stress cases (expectations if acceptance or value falls short)</h3>",
        html_table(stress, {"expected spend (yuan)": number, "expected return (yuan)": number, "expected net value (yuan)": number, "ROI": pct}),
    ]


def holdout_section(data: ReportData) -> list[str]:
    block = data.summary.get("holdout")
    if not block:
        return []
    from optimizer.holdout import summary_line

    parts = ['<h2 id="holdout">Holdout: how the plan\'s effect will be measured</h2>',
             f'<p id="power-statement"><strong>{esc(summary_line(block))}</strong></p>',
             pairs([("customers held out", f"{block['customers']:,} of {block['eligible']:,} eligible ({pct(block['share'])})"),
                     ("why that share", esc(str(block.get("share_source", "")))),
                     ("who is eligible", esc(str(block.get("eligible_rule", "")))),
                     ("strata", f"{block['strata_count']:,}" + (f" by {esc(', '.join(block['stratify']))}" if block.get("stratify") else "")),
                     ("seed", esc(str(block.get("seed")))),
                     ("file", f'<a href="{HOLDOUT_FILE}">{HOLDOUT_FILE}</a>' if block.get("file") else "not written"),])]
    power = block.get("power")
    if power:
        groups = [{"compared with": g["compared_with"], "customers": g["customers"], "held out": g["held_out"], "power": g["power"],
                   "drop detectable at the requested power": g["drop_detectable_at_requested_power"]}
                  for name, g in power.items() if isinstance(g, dict) and "compared_with" in g]
        parts += [f'<p class="note">{esc(power["what"])}; {esc(power["method"])}. Effect unit: {esc(power["effect_unit"])}.</p>',
                  html_table(pd.DataFrame(groups), {"power": lambda v: f"{v:.2f}", "drop detectable at the requested power": lambda v: f"{v:.4f}"})]
    else:
        parts.append(f'<p>Power not stated: {esc(str(block.get("power_not_stated", "")))}.</p>')
    return parts


def plan_test_section(test: Any) -> list[str]:
    """Planned vs simulated figures with 95% intervals, the gaps and their causes, the strategies, the assumptions."""
    from .plan_test import PLANNED_KEYS, UNITS, sentence

    rows = pd.DataFrame(
        [
            {"measure": k, "unit": UNITS[k], "planned (expectation)": test.planned.get(k, float("nan")),
             "simulated mean": test.simulated[k]["mean"], "95% CI low": test.simulated[k]["ci_low"], "95% CI high": test.simulated[k]["ci_high"]}
            for k in (*PLANNED_KEYS, "customers_retained", "revenue", "in_horizon_return", "residual_return")
        ]
    )
    one = {c: (lambda v: number(v, 1)) for c in ("planned (expectation)", "simulated mean", "95% CI low", "95% CI high")}
    net = test.strategies[test.strategies["measure"] == "net_value"][["strategy", "description", "planned", "mean", "ci_low", "ci_high"]]
    net = net.rename(columns={"planned": "planned (yuan)", "mean": "simulated mean (yuan)", "ci_low": "95% CI low", "ci_high": "95% CI high"})
    parts = [
        '<h2 id="plan-test">The plan tested in the lifecycle simulator</h2>',
        f"<p><strong>{esc(sentence(test))}</strong></p>",
        f'<p class="note">This plan executed in month 1 on this scenario\'s own customers: {test.replications} replications, '
        f"{test.horizon_months}-month horizon, value horizon {test.value_horizon_months} months, seed {test.seed}, "
        f"<em>{esc(test.effects)}</em> effects ("
        + ("each accepted offer changes the customer's exit hazard and bill for its term; the return is the margin kept against doing nothing"
           if test.effects == "lifecycle" else "each acceptance is credited its option's value")
        + "). Intervals are 95% t intervals across replications; strategies share common random numbers.</p>",
        html_table(rows, one),
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
    parts += [f"<h3>Every strategy on the same customers (net value, yuan, over {test.horizon_months} months plus residual value)</h3>",
              html_table(net, {c: number for c in ("planned (yuan)", "simulated mean (yuan)", "95% CI low", "95% CI high")})]
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
