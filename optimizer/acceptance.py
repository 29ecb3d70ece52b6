"""Acceptance multipliers: last wave's measured acceptance, fed into the next wave's p_accept.

``campaignlab evaluate`` compares each offer x channel (x segment) group's realised
acceptances with the sum of the plan's ``p_accept`` over it and writes the ratio, the
*multiplier*, to ``acceptance_multipliers.csv``::

    offer_id, channel_id, [segment column], multiplier, lower, upper, contacts,
    expected_acceptances, realised_acceptances, small_group, interval

The next wave reads it back: every option in a group gets ``p_accept x multiplier``, clipped
to [0, 1]. Why a multiplier and not a new probability: the scoring model ranks customers
within a group; what the wave measures is how far the model's level is off in that group, so
the ranking is kept and only the level moves.

Groups flagged ``small_group = 1`` (fewer than
:data:`MIN_EXPECTED_ACCEPTANCES` expected acceptances) are *not* applied: their interval
is wide, and a multiplier of 0 from 3 contacts would stop an offer being made, and so being
measured, for good. Set the flag to 0 in the file to apply such a group anyway.

This module is in ``optimizer`` (not ``scenarios``) because ``optimize`` reads the file; it
imports nothing above it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, quote
from .tables import _fail, _ids, _numeric, read_table

__all__ = [
    "GROUP_KEYS", "MIN_EXPECTED_ACCEPTANCES", "MULTIPLIER_COLUMNS", "apply_acceptance_multipliers",
    "read_acceptance_multipliers", "segment_column_of", "segment_text",
]

GROUP_KEYS = ("offer_id", "channel_id")
#: Every column the file may hold besides the keys; one further column is the segment column.
MULTIPLIER_COLUMNS = ("multiplier", "lower", "upper", "contacts", "expected_acceptances", "realised_acceptances", "small_group", "interval")
#: Below this many expected acceptances a group's multiplier is flagged and not applied.
MIN_EXPECTED_ACCEPTANCES = 5.0


def segment_text(values: pd.Series) -> pd.Series:
    """Segment labels as text, the same whichever way a table was read.

    A CSV customers table turns a wholly numeric column into floats (``3.0``) while the
    multipliers CSV keeps ``3``: both become ``"3"``. Blank and NaN become ``""`` (a group of
    its own).
    """
    if pd.api.types.is_bool_dtype(values):
        return values.map(lambda v: str(bool(v)))
    if pd.api.types.is_numeric_dtype(values):
        def one(v: float) -> str:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                return ""
            return str(int(v)) if float(v).is_integer() else repr(float(v))
        return values.astype(object).map(one).astype(str)
    text = values.astype("string").fillna("").str.strip()
    # "3.0" (a float written as text by one tool) and "3" are one segment; "007" stays as it is
    return text.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True).astype(str)


def segment_column_of(table: pd.DataFrame, file: str = "acceptance multipliers") -> str | None:
    """The segment column of a multipliers table: the one column that is neither a key nor a figure."""
    others = [c for c in table.columns if c not in GROUP_KEYS + MULTIPLIER_COLUMNS]
    if len(others) > 1:
        raise InputError(f"more than one column besides {', '.join(GROUP_KEYS + MULTIPLIER_COLUMNS)}; "
                         f"at most one (the segment column) is allowed, found {', '.join(map(quote, others))}",
                         file=file, column=others[1])
    return others[0] if others else None


def read_acceptance_multipliers(path: str | Path) -> pd.DataFrame:
    """Read and check a multipliers file (CSV or Parquet); errors name the file, row and column.

    Needed: ``offer_id``, ``channel_id``, ``multiplier`` (finite, >= 0). Checked when present:
    ``lower <= multiplier <= upper``, counts >= 0, ``small_group`` 0 or 1. Each group once.
    """
    file = str(path)
    raw = read_table(path)
    is_csv = file.lower().endswith(".csv")
    if not len(raw):
        raise InputError("the multipliers table has no rows", file=file)
    for column in GROUP_KEYS + ("multiplier",):
        if column not in raw.columns:
            raise InputError(f"required column missing; a multipliers file has {', '.join(GROUP_KEYS)}, "
                             "[a segment column], multiplier", file=file, column=column)
    segment = segment_column_of(raw, file)
    out = pd.DataFrame({c: _ids(raw, c, file, is_csv) for c in GROUP_KEYS})
    if segment is not None:
        out[segment] = segment_text(raw[segment]).to_numpy()
    for column in ("multiplier", "lower", "upper", "contacts", "expected_acceptances", "realised_acceptances"):
        if column in raw.columns:
            out[column] = _numeric(raw, column, file, is_csv)
            _fail(out[column].to_numpy() < 0, "must be >= 0", file, column, is_csv)
    if "lower" in out.columns:
        _fail((out["lower"] > out["multiplier"]).to_numpy(), "lower exceeds multiplier", file, "lower", is_csv)
    if "upper" in out.columns:
        _fail((out["upper"] < out["multiplier"]).to_numpy(), "upper is below multiplier", file, "upper", is_csv)
    if "small_group" in raw.columns:
        flag = _numeric(raw, "small_group", file, is_csv)
        _fail(~np.isin(flag, (0.0, 1.0)), "small_group must be 0 or 1", file, "small_group", is_csv)
        out["small_group"] = flag.astype(np.int64)
    if "interval" in raw.columns:
        out["interval"] = raw["interval"].astype(str).to_numpy()
    keys = list(GROUP_KEYS) + ([segment] if segment else [])
    _fail(out.duplicated(keys).to_numpy(), f"duplicate group ({', '.join(keys)}); each group appears once", file, keys[0], is_csv)
    return out


def _group_names(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    return frame[keys].astype(str).agg(" x ".join, axis=1) if len(frame) else pd.Series([], dtype=str)


def apply_acceptance_multipliers(
    options: pd.DataFrame, customers: pd.DataFrame | None, table: pd.DataFrame, file: str
) -> tuple[pd.DataFrame, list[str]]:
    """``options`` with ``p_accept`` multiplied by its group's multiplier, clipped to [0, 1].

    ``table`` is :func:`read_acceptance_multipliers`'s result. A segment column is looked up
    in the options, else in ``customers`` by ``customer_id`` (an error naming ``file`` and the
    column when neither has it). Returns the new options (a copy; other columns unchanged)
    and warning lines: groups that match no option, options no group covers (they keep their
    p_accept), flagged small groups left out, and probabilities clipped at 1.
    """
    segment = segment_column_of(table, file)
    keys = list(GROUP_KEYS) + ([segment] if segment else [])
    frame = pd.DataFrame({c: options[c].astype(str).to_numpy() for c in GROUP_KEYS})
    if segment is not None:
        if segment in options.columns:
            frame[segment] = segment_text(options[segment]).to_numpy()
        elif customers is not None and segment in customers.columns:
            known = customers.drop_duplicates("customer_id")  # a multi-wave base repeats each customer per wave
            labels = pd.Series(segment_text(known[segment]).to_numpy(), index=known["customer_id"].astype(str).to_numpy())
            frame[segment] = labels.reindex(options["customer_id"].astype(str).to_numpy()).fillna("").to_numpy()
        else:
            raise InputError(f"the multipliers are per {quote(segment)}, which is neither an option column nor a "
                             "customer column of this scenario", file=file, column=segment)
    warnings: list[str] = []
    usable = table
    if "small_group" in table.columns and (table["small_group"] == 1).any():
        small = table[table["small_group"] == 1]
        usable = table[table["small_group"] != 1]
        warnings.append(f"{file}: {len(small)} group(s) flagged small_group (fewer than {MIN_EXPECTED_ACCEPTANCES:g} expected "
                        f"acceptances) are not applied, e.g. {_group_names(small.head(1), keys).iloc[0]}")
    index = pd.MultiIndex.from_frame(usable[keys].astype(str)) if len(usable) else None
    where = index.get_indexer(pd.MultiIndex.from_frame(frame[keys])) if index is not None else np.full(len(frame), -1)
    covered = where >= 0
    multiplier = np.ones(len(frame))
    multiplier[covered] = usable["multiplier"].to_numpy(float)[where[covered]]
    raw = options["p_accept"].to_numpy(float) * multiplier
    clipped = int((raw > 1).sum())
    out = options.copy()
    out["p_accept"] = np.clip(raw, 0.0, 1.0)
    unused = np.setdiff1d(np.arange(len(usable)), where[covered])
    if unused.size:
        warnings.append(f"{file}: {unused.size} group(s) match no option and are ignored, e.g. "
                        f"{_group_names(usable.iloc[unused[:1]], keys).iloc[0]}")
    if (~covered).any():
        warnings.append(f"{file}: {int((~covered).sum()):,} of {len(frame):,} options are in no group of the file and keep their "
                        f"p_accept, e.g. {_group_names(frame.loc[~covered].head(1), keys).iloc[0]}")
    if clipped:
        warnings.append(f"{file}: {clipped:,} option(s) had p_accept x multiplier above 1; clipped to 1")
    return out, warnings
