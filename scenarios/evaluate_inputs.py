"""Reading what ``campaignlab evaluate`` is given: the plan, the responses and the holdout.

Every rule a row can break is an :class:`~optimizer.errors.InputError` naming the file, the
1-based data row (and CSV line) and the column, so the message alone says what to fix. A
response that matches no planned contact is an error, not a warning: it is either a typo in
a key (and would silently lower the group's measured acceptance) or a contact nobody planned.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.errors import InputError, quote
from optimizer.tables import _fail, _ids, _numeric, read_table

__all__ = [
    "CONTACT_KEYS", "PLAN_COLUMNS", "RESPONSE_COLUMNS", "Responses", "parse_date", "read_holdout", "read_plan", "read_responses",
]

CONTACT_KEYS = ("customer_id", "offer_id", "channel_id")
PLAN_COLUMNS = CONTACT_KEYS + ("p_accept", "expected_value", "expected_cost")
RESPONSE_COLUMNS = CONTACT_KEYS + ("reached", "accepted", "revenue", "cost")
#: Optional response columns with a meaning; any other column is kept as it is.
RESPONSE_OPTIONAL = ("churned", "date", "wave")


def parse_date(text: str, key: str = "--date") -> datetime.date:
    """An ISO date ``YYYY-MM-DD`` (an InputError naming ``key`` otherwise)."""
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{quote(text)} is not a date in ISO form (YYYY-MM-DD)", key=key) from None


def _keys(plan_columns: pd.Index) -> list[str]:
    """The key of a contact: a plan with a ``wave`` column has one contact per wave and option."""
    return (["wave"] if "wave" in plan_columns else []) + list(CONTACT_KEYS)


def _flag(table: pd.DataFrame, column: str, file: str, is_csv: bool) -> np.ndarray:
    """A 0/1 column as int8; anything else (2, yes, blank, 0.5) names the first row."""
    raw = table[column]
    if pd.api.types.is_bool_dtype(raw):
        return raw.to_numpy().astype(np.int8)
    text = raw.astype("string").fillna("").str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        _fail(bad, f"{quote(text.iloc[int(np.flatnonzero(bad)[0])])} is not 0 or 1", file, column, is_csv)
    return values.astype(np.int8)


def read_plan(path: str | Path) -> pd.DataFrame:
    """The plan ``campaignlab optimize`` wrote: ids as text, the planned figures as float64, other columns kept."""
    file = str(path)
    raw = read_table(path)
    is_csv = file.lower().endswith(".csv")
    for column in PLAN_COLUMNS:
        if column not in raw.columns:
            raise InputError(f"required column missing; a plan has {', '.join(PLAN_COLUMNS)}", file=file, column=column)
    if not len(raw):
        raise InputError("the plan has no contacts; there is nothing to evaluate", file=file)
    out = raw.copy()
    keys = _keys(raw.columns)
    for column in keys:
        out[column] = _ids(raw, column, file, is_csv).astype(str).to_numpy()
    for column in PLAN_COLUMNS[3:]:
        out[column] = _numeric(raw, column, file, is_csv)
    p = out["p_accept"].to_numpy()
    _fail((p < 0) | (p > 1), "p_accept must lie in [0, 1]", file, "p_accept", is_csv)
    _fail(out.duplicated(keys).to_numpy(), f"duplicate contact ({', '.join(keys)}); each appears once", file, keys[0], is_csv)
    return out.reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class Responses:
    """Checked responses, each matched to its planned contact.

    ``table`` has one row per response with ``plan_row`` (the row of the plan it answers),
    the flags as int8, revenue and cost as float64 and ``date`` as ``datetime.date`` (when
    given); ``extra`` names the columns kept without a meaning.
    """

    table: pd.DataFrame
    file: str
    extra: tuple[str, ...]
    has_churned: bool
    has_date: bool


def read_responses(path: str | Path, plan: pd.DataFrame, plan_file: str) -> Responses:
    """Read and check the responses against ``plan`` (see the module docstring)."""
    file = str(path)
    raw = read_table(path)
    is_csv = file.lower().endswith(".csv")
    keys = _keys(plan.columns)
    needed = RESPONSE_COLUMNS + (("wave",) if "wave" in keys else ())
    for column in needed:
        if column not in raw.columns:
            why = f"; the plan {plan_file} has waves, so each response names its wave" if column == "wave" else ""
            raise InputError(f"required column missing; responses have {', '.join(needed)}{why}", file=file, column=column)
    if not len(raw):
        raise InputError("the responses table has no rows", file=file)
    out = raw.copy()
    for column in keys:
        out[column] = _ids(raw, column, file, is_csv).astype(str).to_numpy()
    for column in ("reached", "accepted") + (("churned",) if "churned" in raw.columns else ()):
        out[column] = _flag(raw, column, file, is_csv)
    _fail((out["accepted"] > out["reached"]).to_numpy(), "accepted is 1 but reached is 0; an offer is accepted only when the "
          "customer is reached", file, "accepted", is_csv)
    for column in ("revenue", "cost"):
        out[column] = _numeric(raw, column, file, is_csv)
    _fail(out["cost"].to_numpy() < 0, "cost must be >= 0", file, "cost", is_csv)
    if "date" in raw.columns:
        text = raw["date"].astype("string").fillna("").str.strip()
        dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        bad = dates.isna().to_numpy()
        if bad.any():
            _fail(bad, f"{quote(text.iloc[int(np.flatnonzero(bad)[0])])} is not a date in ISO form (YYYY-MM-DD)", file, "date", is_csv)
        out["date"] = dates.dt.date.to_numpy()
    _fail(out.duplicated(keys).to_numpy(), f"duplicate response ({', '.join(keys)}); one row per planned contact", file, keys[0], is_csv)
    out["plan_row"] = _match(out, plan, keys, file, plan_file, is_csv)
    if "churned" in out.columns:
        per_customer = out.groupby("customer_id", sort=False)["churned"].transform("nunique").to_numpy()
        _fail(per_customer > 1, "churned differs between this customer's rows; a customer churned or did not", file, "churned", is_csv)
    extra = tuple(c for c in raw.columns if c not in RESPONSE_COLUMNS + RESPONSE_OPTIONAL)
    return Responses(out.reset_index(drop=True), file, extra, "churned" in raw.columns, "date" in raw.columns)


def _match(responses: pd.DataFrame, plan: pd.DataFrame, keys: list[str], file: str, plan_file: str, is_csv: bool) -> np.ndarray:
    """The plan row of each response; the first unmatched one names the first key column that does not match."""
    where = pd.MultiIndex.from_frame(plan[keys]).get_indexer(pd.MultiIndex.from_frame(responses[keys]))
    if (where < 0).any():
        row = int(np.flatnonzero(where < 0)[0])
        column = keys[-1]
        order = list(CONTACT_KEYS) + [k for k in keys if k not in CONTACT_KEYS]  # customer first: the likeliest slip
        for i in range(1, len(order) + 1):
            wanted = responses.iloc[row][order[:i]]
            if not (plan[order[:i]] == wanted.to_numpy()).all(axis=1).any():
                column = order[i - 1]
                break
        what = ", ".join(f"{k}={quote(responses[k].iloc[row])}" for k in keys)
        _fail(where < 0, f"no planned contact {what} in {plan_file}; every response answers a contact of the plan",
              file, column, is_csv)
    return where


def read_holdout(path: str | Path, plan: pd.DataFrame) -> pd.DataFrame:
    """The holdout outcomes: ``customer_id``, ``churned`` (0/1), ``revenue``; no customer twice, none in the plan."""
    file = str(path)
    raw = read_table(path)
    is_csv = file.lower().endswith(".csv")
    for column in ("customer_id", "churned", "revenue"):
        if column not in raw.columns:
            raise InputError("required column missing; a holdout file has customer_id, churned, revenue", file=file, column=column)
    if not len(raw):
        raise InputError("the holdout table has no rows", file=file)
    out = pd.DataFrame({"customer_id": _ids(raw, "customer_id", file, is_csv).astype(str).to_numpy(),
                        "churned": _flag(raw, "churned", file, is_csv), "revenue": _numeric(raw, "revenue", file, is_csv)})
    _fail(out["customer_id"].duplicated().to_numpy(), "duplicate customer_id", file, "customer_id", is_csv)
    contacted = out["customer_id"].isin(plan["customer_id"]).to_numpy()
    if contacted.any():
        _fail(contacted, f"customer {quote(out['customer_id'].iloc[int(np.flatnonzero(contacted)[0])])} is in the plan; "
              "a holdout customer must not be contacted", file, "customer_id", is_csv)
    return out
