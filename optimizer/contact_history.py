"""The contact history: what was sent to whom, when, and what came of it.

A contact policy with rolling windows ("at most 2 offers in any 30 days") cannot be checked
on the new plan alone: the contacts of the last weeks use up the same windows. The history
is a table with one row per past contact::

    customer_id, offer_id, channel_id, date (ISO, YYYY-MM-DD), outcome (accepted | declined | no_answer)

plus any other columns, kept as they are. ``campaignlab evaluate`` writes the next one.

What is an error and what is not follows what goes wrong in practice. A customer who is no
longer in the base (they left) is counted and reported: their past contacts cannot bind a
plan that does not reach them. An offer or channel the scenario does not know, a date that
does not parse, a date after the plan's, an unknown outcome: those are errors naming the
row, because a window counted over a misread history silently contacts someone too often.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, did_you_mean, quote
from .scenario import Scenario
from .tables import _fail, _ids, read_table

__all__ = [
    "HISTORY_COLUMNS", "OUTCOMES", "ContactHistory", "check_contact_history", "extend_history", "outcome_codes", "plan_date_of",
    "read_contact_history",
]

HISTORY_COLUMNS = ("customer_id", "offer_id", "channel_id", "date", "outcome")
OUTCOMES = ("accepted", "declined", "no_answer")


def outcome_codes(reached: np.ndarray, accepted: np.ndarray) -> np.ndarray:
    """Each contact's outcome as a position in :data:`OUTCOMES`: accepted; else declined if
    the customer was reached; else no_answer (a call not connected, a message not delivered)."""
    return np.where(accepted, 0, np.where(reached, 1, 2)).astype(np.int8)


@dataclass(frozen=True, eq=False)
class ContactHistory:
    """Past contacts of the base's customers, checked against the scenario.

    ``table`` holds the rows of known customers with ``date`` as ``datetime64[D]``;
    ``unknown_customers`` counts the rows whose customer is not in the base (dropped).
    """

    table: pd.DataFrame
    file: str
    rows_read: int
    unknown_customers: int
    unknown_customer_example: str | None
    plan_date: datetime.date
    plan_date_given: bool

    def age_days(self) -> np.ndarray:
        """Days from each contact to the plan date (0 = the same day)."""
        return (np.datetime64(self.plan_date, "D") - self.table["date"].to_numpy().astype("datetime64[D]")).astype(np.int64)

    def describe(self) -> dict[str, object]:
        """What summary.json says about the history."""
        return {
            "file": self.file, "rows": self.rows_read, "rows_of_known_customers": len(self.table),
            "rows_of_customers_not_in_the_base": self.unknown_customers, "example_unknown_customer": self.unknown_customer_example,
            "plan_date": self.plan_date.isoformat(), "plan_date_from": "scenario" if self.plan_date_given else "today (plan_date not set)",
        }


def plan_date_of(scenario: Scenario) -> tuple[datetime.date, bool]:
    """The day the plan's contacts are made, and whether the scenario gave it (else: today)."""
    return (scenario.plan_date, True) if scenario.plan_date is not None else (datetime.date.today(), False)


def read_contact_history(path: str | Path, scenario: Scenario, customer_ids: pd.Series) -> ContactHistory:
    """Read and check a history file (CSV or Parquet) for ``scenario``'s plan over ``customer_ids``."""
    return check_contact_history(read_table(path), str(path), scenario, customer_ids)


def check_contact_history(table: pd.DataFrame, file: str, scenario: Scenario, customer_ids: pd.Series) -> ContactHistory:
    """Check a history table (see the module docstring); errors name the file, row and column."""
    is_csv = file.lower().endswith(".csv")
    for column in HISTORY_COLUMNS:
        if column not in table.columns:
            raise InputError(f"required column missing; a contact history has columns {', '.join(HISTORY_COLUMNS)}", file=file, column=column)
    plan_date, given = plan_date_of(scenario)
    out = table.copy()
    for column in ("customer_id", "offer_id", "channel_id"):
        out[column] = _ids(table, column, file, is_csv).astype(str)
    for column, known in (("offer_id", list(scenario.offers)), ("channel_id", list(scenario.channels))):
        strange = ~out[column].isin(known).to_numpy()
        if strange.any():
            value = out[column].iloc[int(np.flatnonzero(strange)[0])]
            what = "offers" if column == "offer_id" else "channels"
            _fail(strange, f"{quote(value)} is not one of the scenario's {what}{did_you_mean(value, known)}", file, column, is_csv)
    text = table["date"].astype("string").fillna("").str.strip()
    dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    bad = dates.isna().to_numpy()
    if bad.any():
        sample = text.iloc[int(np.flatnonzero(bad)[0])]
        _fail(bad, f"{quote(sample)} is not a date in ISO form (YYYY-MM-DD)", file, "date", is_csv)
    days = dates.to_numpy().astype("datetime64[D]")
    late = days > np.datetime64(plan_date, "D")
    _fail(late, f"the contact is after the plan date {plan_date.isoformat()}; a history holds past contacts only", file, "date", is_csv)
    outcome = table["outcome"].astype("string").fillna("").str.strip()
    strange = ~outcome.isin(OUTCOMES).to_numpy()
    if strange.any():
        sample = outcome.iloc[int(np.flatnonzero(strange)[0])]
        _fail(strange, f"{quote(sample)} is not an outcome; use one of {', '.join(OUTCOMES)}", file, "outcome", is_csv)
    out["date"] = days
    out["outcome"] = outcome.astype(str).to_numpy()
    known = out["customer_id"].isin(customer_ids.astype(str)).to_numpy()
    example = None if known.all() else str(out["customer_id"].iloc[int(np.flatnonzero(~known)[0])])
    return ContactHistory(
        table=out.loc[known].reset_index(drop=True), file=file, rows_read=len(out), unknown_customers=int((~known).sum()),
        unknown_customer_example=example, plan_date=plan_date, plan_date_given=given,
    )


def extend_history(history: ContactHistory | None, contacts: pd.DataFrame, plan_date: datetime.date, *, file: str,
                   plan_date_given: bool = True) -> ContactHistory:
    """``history`` (checked already, or None) followed by ``contacts`` made since, for a plan made
    on the later ``plan_date`` (the simulator's monthly re-plan).

    ``contacts`` has :data:`HISTORY_COLUMNS` with ``date`` as ``datetime64[D]`` and ids of the
    base and the scenario: they come from a run built on both, so they are not checked row by
    row again (that check is most of a month's build at a million contacts). A date after
    ``plan_date`` or an unknown outcome would make every window miscount, so those still fail.
    """
    new = contacts[list(HISTORY_COLUMNS)].copy()
    new["date"] = new["date"].to_numpy().astype("datetime64[D]")
    if len(new) and new["date"].to_numpy().max() > np.datetime64(plan_date, "D"):
        raise ValueError(f"a contact is dated after the plan date {plan_date.isoformat()}")
    strange = ~new["outcome"].isin(OUTCOMES).to_numpy()
    if strange.any():
        raise ValueError(f"{quote(new['outcome'].iloc[int(np.flatnonzero(strange)[0])])} is not an outcome; use one of {', '.join(OUTCOMES)}")
    if history is None:
        return ContactHistory(table=new.reset_index(drop=True), file=file, rows_read=len(new), unknown_customers=0,
                              unknown_customer_example=None, plan_date=plan_date, plan_date_given=plan_date_given)
    if history.plan_date > plan_date:
        raise ValueError(f"the new plan date {plan_date.isoformat()} is before the history's {history.plan_date.isoformat()}")
    earlier = history.table[list(HISTORY_COLUMNS)]
    return ContactHistory(
        table=pd.concat([earlier, new], ignore_index=True), file=file, rows_read=history.rows_read + len(new),
        unknown_customers=history.unknown_customers, unknown_customer_example=history.unknown_customer_example,
        plan_date=plan_date, plan_date_given=plan_date_given,
    )
