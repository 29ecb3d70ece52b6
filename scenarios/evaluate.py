"""``campaignlab evaluate``: the closed loop, what a wave planned against what it realised.

The plan's figures are expectations (``p_accept`` is a probability, ``expected_value`` a mean);
the responses say what happened to each planned contact. Per offer x channel (x segment):
expected against realised acceptances, return and cost, and ROI, each realised figure with a
95% interval (:mod:`scenarios.evaluate_stats` states the methods and their sources); the
effect against a holdout; the calibration of p_accept; acceptance multipliers for the next
wave (:mod:`optimizer.acceptance` applies them); and the contact history extended by this
wave's outcomes.

Planned contacts without a response row are *left out* of every realised figure, and the
expected figures they are compared with are summed over the same responded contacts: an
unknown outcome is not a "no answer", and counting it as one would lower the multipliers fed
into the next wave. How many there were is printed, and stated in the JSON and on the page.
In the contact history they *are* written, as ``no_answer`` with ``outcome_source`` saying
so: the contact was planned and probably made, and a contact window that forgot it would
contact the customer too often.
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.acceptance import GROUP_KEYS, MIN_EXPECTED_ACCEPTANCES, MULTIPLIER_COLUMNS, segment_text
from optimizer.atomic import write_folder
from optimizer.contact_history import OUTCOMES, outcome_codes
from optimizer.errors import InputError, did_you_mean, quote
from optimizer.problem import Problem
from optimizer.tables import read_table

from .evaluate_groups import group_figures, holdout_effect
from .evaluate_inputs import read_holdout, read_plan, read_responses
from .evaluate_stats import LEVEL, brier, reliability_table

__all__ = ["FILES", "Evaluation", "evaluate", "write_evaluation"]

SUMMARY_FILE, HTML_FILE, MULTIPLIERS_FILE, HISTORY_FILE = "evaluation.json", "evaluation.html", "acceptance_multipliers.csv", "contact_history.csv"
FILES = (SUMMARY_FILE, HTML_FILE, MULTIPLIERS_FILE, HISTORY_FILE)
NO_RESPONSE = "no response row (counted as no_answer)"


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Everything ``evaluate`` found; :func:`write_evaluation` writes it."""

    summary: dict[str, Any]  # evaluation.json, without its file manifest
    groups: pd.DataFrame  # per offer x channel [x segment]
    offer_channel: pd.DataFrame  # per offer x channel (the chart)
    reliability: pd.DataFrame
    multipliers: pd.DataFrame
    history: pd.DataFrame


def _segment_of(problem: Problem, plan: pd.DataFrame, plan_file: str, segment: str | None) -> tuple[str | None, pd.Series]:
    """The segment column (given, else ``segment`` if the customers have it) and each contact's label."""
    customers = problem.customers.drop_duplicates("customer_id")  # a multi-wave base repeats customers per wave
    ids = pd.Index(customers["customer_id"].astype(str))
    where = ids.get_indexer(plan["customer_id"])
    if (where < 0).any():
        row = int(np.flatnonzero(where < 0)[0])
        raise InputError(f"customer {quote(plan['customer_id'].iloc[row])} is not a customer of the scenario; was the plan made "
                         "for another one?", file=plan_file, row=row + 1, line=row + 2 if plan_file.lower().endswith(".csv") else None,
                         column="customer_id")
    for column, known in (("offer_id", problem.offer_ids), ("channel_id", problem.channel_ids)):
        strange = ~plan[column].isin(list(known)).to_numpy()
        if strange.any():
            row = int(np.flatnonzero(strange)[0])
            raise InputError(f"{quote(plan[column].iloc[row])} is not in the scenario{did_you_mean(plan[column].iloc[row], list(known))}",
                             file=plan_file, row=row + 1, line=row + 2 if plan_file.lower().endswith(".csv") else None, column=column)
    reserved = set(GROUP_KEYS + MULTIPLIER_COLUMNS) | {"customer_id", "wave"}
    if segment is None:
        segment = "segment" if "segment" in customers.columns else None
    elif segment not in customers.columns or segment in reserved:
        choices = [c for c in customers.columns if c not in reserved]
        raise InputError(f"{quote(segment)} is not a customer column to segment by{did_you_mean(segment, choices)}", key="--segment")
    if segment is None:
        return None, pd.Series([""] * len(plan))
    return segment, pd.Series(segment_text(customers[segment]).to_numpy()[where])


def _contacts(plan: pd.DataFrame, responses: Any) -> pd.DataFrame:
    """One row per planned contact with its response (zeros and ``responded = False`` where none came)."""
    table = responses.table
    answered = np.full(len(plan), -1)
    answered[table["plan_row"].to_numpy()] = np.arange(len(table))
    out = plan.copy()
    out["responded"] = answered >= 0
    for column in ("reached", "accepted", "revenue", "cost") + (("churned",) if responses.has_churned else ()):
        values = table[column].to_numpy()
        full = np.zeros(len(plan), values.dtype)
        full[out["responded"].to_numpy()] = values[answered[answered >= 0]]
        out[column] = full
    out["response_row"] = answered
    return out


def _date(responses: Any, date: datetime.date | None) -> tuple[dict[str, Any], np.ndarray, datetime.date]:
    """The history date of each response, what the JSON says about it, and the date of contacts without a response."""
    if date is not None:
        return {"date": date.isoformat(), "from": "--date"}, np.full(len(responses.table), date, dtype=object), date
    if responses.has_date:
        dates = responses.table["date"].to_numpy()
        latest = max(dates)
        return ({"date": None, "from": "the responses' date column (per row)", "latest": latest.isoformat(),
                 "contacts_without_response": f"dated {latest.isoformat()}, the latest response date"}, dates, latest)
    today = datetime.date.today()
    return {"date": today.isoformat(), "from": "today (no --date and no date column in the responses)"}, \
        np.full(len(responses.table), today, dtype=object), today


def _history(problem: Problem, contacts: pd.DataFrame, responses: Any, dates: np.ndarray, fallback: datetime.date) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The scenario's history (if it names one) followed by this wave's contacts and their outcomes."""
    outcome = np.asarray(OUTCOMES)[outcome_codes(contacts["reached"].to_numpy() == 1, contacts["accepted"].to_numpy() == 1)]
    row = contacts["response_row"].to_numpy()
    day = np.array([dates[r].isoformat() if r >= 0 else fallback.isoformat() for r in row], dtype=object)
    new = pd.DataFrame({"customer_id": contacts["customer_id"], "offer_id": contacts["offer_id"], "channel_id": contacts["channel_id"],
                        "date": day, "outcome": outcome})
    if "wave" in contacts.columns:
        new["wave"] = contacts["wave"].to_numpy()
    new["outcome_source"] = np.where(row >= 0, "responses", NO_RESPONSE)
    for column in responses.extra:
        if column not in new.columns:
            values = responses.table[column].to_numpy()
            new[column] = pd.Series([values[r] if r >= 0 else "" for r in row], dtype=object)
    earlier = getattr(problem, "history", None)
    info: dict[str, Any] = {"earlier_file": None, "earlier_rows": 0, "new_rows": len(new)}
    if earlier is None:
        return new, info
    raw = read_table(earlier.file)  # checked when the scenario loaded; every row (customers who left too) and column kept
    old = raw.astype(str)
    for column in ("customer_id", "offer_id", "channel_id", "date", "outcome"):
        old[column] = old[column].str.strip()
    if pd.api.types.is_datetime64_any_dtype(raw["date"]):  # a Parquet history stores timestamps
        old["date"] = raw["date"].dt.strftime("%Y-%m-%d")
    if "outcome_source" not in old.columns:
        old["outcome_source"] = "earlier history"
    info.update(earlier_file=earlier.file, earlier_rows=len(old))
    return pd.concat([old, new.astype(object)], ignore_index=True).fillna(""), info


def _multipliers(groups: pd.DataFrame, segment: str | None) -> pd.DataFrame:
    """The multipliers file: every group with expected acceptances > 0 (a ratio over nothing is no estimate)."""
    keys = list(GROUP_KEYS) + ([segment] if segment else [])
    rows = groups[groups["expected_acceptances"] > 0]
    return pd.DataFrame({
        **{k: rows[k].to_numpy() for k in keys},
        "multiplier": rows["multiplier"].to_numpy(), "lower": rows["multiplier_ci_low"].to_numpy(),
        "upper": rows["multiplier_ci_high"].to_numpy(), "contacts": rows["responded"].to_numpy(),
        "expected_acceptances": rows["expected_acceptances"].to_numpy(), "realised_acceptances": rows["realised_acceptances"].to_numpy(),
        "small_group": rows["small_group"].to_numpy(), "interval": rows["interval"].to_numpy(),
    })


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    """A JSON value: NaN and infinities become null (JSON has neither), numpy scalars Python ones."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def evaluate(problem: Problem, plan_path: str | Path, responses_path: str | Path, holdout_path: str | Path | None = None, *,
             segment: str | None = None, date: datetime.date | None = None) -> Evaluation:
    """Compare ``plan_path``'s expectations with ``responses_path``'s outcomes (see the module docstring)."""
    from .report import value_horizon

    plan_file = str(plan_path)
    plan = read_plan(plan_path)
    segment, labels = _segment_of(problem, plan, plan_file, segment)  # the plan against the scenario before the responses against the plan
    responses = read_responses(responses_path, plan, plan_file)
    holdout = read_holdout(holdout_path, plan) if holdout_path is not None else None
    if holdout is not None and not responses.has_churned:
        raise InputError("--holdout compares churn: the responses need a churned column (0/1, the same on every row of a customer)",
                         file=responses.file, column="churned")
    contacts = _contacts(plan, responses)
    group_keys = list(GROUP_KEYS) + ([segment] if segment else [])
    if segment:
        contacts[segment] = labels.to_numpy()
    groups = group_figures(contacts, group_keys)
    offer_channel = group_figures(contacts, list(GROUP_KEYS))
    totals = group_figures(contacts, [])
    answered = contacts[contacts["responded"]]
    calibration = brier(answered["p_accept"].to_numpy(), answered["accepted"].to_numpy())
    reliability = reliability_table(answered["p_accept"].to_numpy(), answered["accepted"].to_numpy())
    dated, dates, fallback = _date(responses, date)
    history, history_info = _history(problem, contacts, responses, dates, fallback)
    missing = contacts.loc[~contacts["responded"]]
    summary: dict[str, Any] = {
        "what": "planned (expectations from the plan) against realised (from the responses), per offer x channel"
                + (f" x {segment}" if segment else "") + f"; intervals are two-sided {LEVEL:.0%}",
        "scenario": problem.scenario.name,
        "inputs": {"plan": plan_file, "responses": responses.file, "holdout": None if holdout_path is None else str(holdout_path)},
        "units": {"money": "yuan", "acceptances": "count of contacts whose offer was accepted",
                  "expected_return": f"the plan's expected_value (p_accept x value), {value_horizon(problem.scenario)}",
                  "realised_revenue": "the responses' revenue, over the period the responses cover",
                  "roi": "return (or revenue) / cost - 1, as a fraction"},
        "methods": {
            "acceptances and multiplier": "score interval for m in X = sum Bernoulli(m p_accept) (Wilson 1927 generalised; "
                                          "exact Poisson, Garwood 1936, when it has no root); acceptances = m x expected",
            "revenue, cost, net value": "t interval for the group total over contacts with a response (n x mean +- t sd sqrt n), "
                                        "within n x [min, max]; none for a small group or fewer than 2 acceptances",
            "roi": "ratio estimator revenue / cost - 1 with the delta-method (linearised) t interval (Cochran 1977, 6.3); "
                   "none for a small group or fewer than 2 acceptances",
            "holdout": "churn difference: Newcombe (1998) hybrid score interval; revenue difference: Welch (1947) t interval",
            "calibration": "Brier (1950) score; reliability over equal-count deciles of p_accept with Wilson intervals",
        },
        "segment_column": segment,
        "date": dated,
        "contacts": {"planned": len(plan), "with_response": int(contacts["responded"].sum()), "without_response": len(missing),
                     "without_response_example": None if missing.empty else ", ".join(f"{k}={missing[k].iloc[0]}" for k in ("customer_id", "offer_id", "channel_id")),
                     "treatment": "contacts without a response row are left out of every realised and expected figure compared "
                                  "(outcome unknown, not a no-answer); in contact_history.csv they are no_answer"},
        "totals": _records(totals.drop(columns=["_all"]))[0],
        "planned_all_contacts": {"contacts": len(plan), "expected_acceptances": float(plan["p_accept"].sum()),
                                 "expected_return": float(plan["expected_value"].sum()), "expected_cost": float(plan["expected_cost"].sum())},
        "groups": _records(groups),
        "offer_channel": _records(offer_channel),
        "calibration": {**calibration, "reliability": _records(reliability),
                        "method": "Brier score mean (p_accept - accepted)^2 over contacts with a response; reliability over "
                                  "equal-count deciles of p_accept, observed rate with a Wilson interval"},
        "holdout": None if holdout is None else holdout_effect(contacts, holdout, problem),
        "multipliers": {"file": MULTIPLIERS_FILE, "small_group_below_expected_acceptances": MIN_EXPECTED_ACCEPTANCES,
                        "method": "realised / expected acceptances; score interval for m in sum Bernoulli(m p_accept) "
                                  "(Wilson 1927 generalised; exact Poisson, Garwood 1936, when it has no root)"},
        "contact_history": {"file": HISTORY_FILE, **history_info},
    }
    if "wave" in plan.columns:
        summary["waves"] = _records(group_figures(contacts, ["wave"]))
    return Evaluation(_plain(summary), groups, offer_channel, reliability, _multipliers(groups, segment), history)


def write_evaluation(evaluation: Evaluation, out: Path) -> list[Path]:
    """The four files, all or nothing (optimizer.atomic.write_folder); evaluation.json last, with the others' sha256."""
    from .evaluate_html import render_html

    page = render_html(evaluation)
    files = [
        (HTML_FILE, lambda tmp: tmp.write_text(page, encoding="utf-8")),
        (MULTIPLIERS_FILE, lambda tmp: evaluation.multipliers.to_csv(tmp, index=False, float_format="%.12g")),
        (HISTORY_FILE, lambda tmp: evaluation.history.to_csv(tmp, index=False)),
    ]
    summary = (SUMMARY_FILE, lambda manifest: json.dumps({**evaluation.summary, "files": manifest}, indent=2, ensure_ascii=False) + "\n")
    return write_folder(Path(out), files, summary=summary)
