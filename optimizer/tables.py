"""Reading and checking the options and customers tables.

Checks are vectorised (a base can hold tens of millions of options) but every failure is
reported for the first offending row, with the file, the 1-based data row, the CSV line and
the column, plus how many other rows break the same rule.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import InputError, quote
from .scenario import MAX_AMOUNT, MAX_COUNT, Scenario

__all__ = ["CAMPAIGN", "OPTION_KEYS", "OPTION_NUMBERS", "read_table", "check_options", "check_customers", "check_measure", "read_id_list"]

OPTION_KEYS = ("customer_id", "offer_id", "channel_id")
OPTION_NUMBERS = ("p_accept", "value", "contact_cost", "offer_cost")
CUSTOMER_LIMITS = ("max_contacts", "min_contacts")
#: The one text option column besides the ids: which campaign an option belongs to (``campaigns:``).
#: A blank cell is an option of no campaign, under the scenario's limits only.
CAMPAIGN = "campaign"


def read_table(path: str | Path, *, categories: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV (every cell as text, converted later with row-accurate errors) or Parquet.

    Parquet columns named in ``categories`` are read dictionary-encoded (pandas categoricals):
    an options table repeats each id many times, and 93M ids as text take gigabytes.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("file does not exist", file=str(path))
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            return _whole_rows(pd.read_csv(path, dtype=str, keep_default_na=False), path)
        except pd.errors.EmptyDataError:
            raise InputError("table is empty (no header, no rows)", file=str(path)) from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise InputError(f"not a readable CSV: {exc}", file=str(path)) from None
    if suffix in (".parquet", ".pq"):
        try:
            return _read_parquet(path, categories)
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise InputError(f"not a readable Parquet file: {exc}", file=str(path)) from None
    raise InputError(f"unknown table format {suffix!r}; use .csv or .parquet", file=str(path))


def _whole_rows(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Refuse a CSV row with fewer cells than the header (a truncated line, a lost separator).

    pandas fills the missing cells with ``""``, which reads as "blank": a customer's
    ``max_contacts`` would silently become the policy default. A short row always leaves the
    last column blank, so only a table with such blanks is re-read, with the csv module.
    """
    if not len(table) or not (table.iloc[:, -1] == "").any():
        return table
    width = len(table.columns)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        row = 0
        for cells in reader:
            if not cells:  # pandas skips blank lines
                continue
            row += 1
            if len(cells) < width:
                raise InputError(
                    f"the row has {len(cells)} cells, the header {width}; a cell or a separator is missing",
                    file=str(path), row=row, line=reader.line_num, column=str(table.columns[len(cells)]),
                )
    return table


def _read_parquet(path: Path, categories: tuple[str, ...]) -> pd.DataFrame:
    """A Parquet table read one column at a time, so reading needs about one column more than the result.

    Arrow's pool keeps what it frees; it is handed back after each column. A stored pandas
    index is dropped: every caller renumbers rows anyway.
    """
    source = pq.ParquetFile(path, read_dictionary=[c for c in categories if c in pq.read_schema(path).names])
    index = {c for c in (source.schema_arrow.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
    columns = {}
    for name in source.schema_arrow.names:
        if name not in index:
            columns[name] = source.read(columns=[name], use_pandas_metadata=False).column(0).to_pandas()
            pa.default_memory_pool().release_unused()
    return pd.DataFrame(columns, copy=False)


def _fail(mask: np.ndarray, rule: str, file: str, column: str, is_csv: bool) -> None:
    bad = np.flatnonzero(mask)
    if bad.size:
        row = int(bad[0]) + 1
        more = f" ({bad.size - 1} more rows break this rule)" if bad.size > 1 else ""
        raise InputError(rule + more, file=file, row=row, line=row + 1 if is_csv else None, column=column)


def _numeric(df: pd.DataFrame, column: str, file: str, is_csv: bool, *, required: bool = True) -> np.ndarray:
    """A column as float64, refusing text, blanks, NaN and infinities with the offending row."""
    raw = df[column]
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype(float)
    if raw.dtype == np.float64:
        values = raw.to_numpy()  # no copy: a large table is already float64
        _fail(np.isnan(values), "missing value (NaN); every row needs a number", file, column, is_csv)
    elif pd.api.types.is_numeric_dtype(raw):
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        _fail(np.isnan(values), "missing value (NaN); every row needs a number", file, column, is_csv)
    else:
        text = raw.astype("string").fillna("").str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        blank = (text == "").to_numpy()
        _fail(blank, "missing value; every row needs a number", file, column, is_csv)
        nan_text = text.str.lower().isin(["nan", "-nan", "+nan"]).to_numpy()
        _fail(nan_text, "NaN is not allowed; every row needs a finite number", file, column, is_csv)
        first = np.flatnonzero(np.isnan(values))
        if first.size:
            sample = text.iloc[int(first[0])]
            _fail(np.isnan(values), f"{quote(sample)} is not a number", file, column, is_csv)
    _fail(np.isinf(values), "infinite values are not allowed", file, column, is_csv)
    return values


def _ids(df: pd.DataFrame, column: str, file: str, is_csv: bool) -> pd.Series:
    """Ids as text (stripped, none missing); a categorical column stays categorical."""
    if isinstance(df[column].dtype, pd.CategoricalDtype):
        return _categorical_ids(df[column], file, is_csv)
    ids = df[column].astype("string").str.strip()
    _fail((ids.isna() | (ids == "")).to_numpy(), "missing id", file, column, is_csv)
    return ids.astype(str)


def _categorical_ids(raw: pd.Series, file: str, is_csv: bool) -> pd.Series:
    """The categorical form of :func:`_ids`: the same checks, done once per category."""
    stripped = pd.Index(raw.cat.categories.astype("string").str.strip())
    codes = raw.cat.codes.to_numpy()
    blank = np.asarray(stripped == "", bool)
    _fail((codes < 0) | (blank[codes] if blank.any() else False), "missing id", file, str(raw.name), is_csv)
    merged, categories = pd.factorize(stripped)  # " a" and "a" are one id
    if len(categories) < len(stripped):
        codes = merged.astype(codes.dtype)[codes]
    return pd.Series(pd.Categorical.from_codes(codes, pd.Index(categories.astype(str))), name=raw.name)


def _campaigns(raw: pd.Series) -> pd.Series:
    """The campaign column as categorical text, stripped, a blank or null cell as ``""`` (no campaign).

    Categorical because a base repeats a handful of campaign names over millions of options."""
    if isinstance(raw.dtype, pd.CategoricalDtype):
        names = raw.cat.categories.astype("string").str.strip().fillna("").to_numpy(object)
        text = np.append(names, "")[raw.cat.codes.to_numpy()]  # code -1 (a null cell) picks the appended ""
    else:
        text = raw.astype("string").str.strip().fillna("").to_numpy(object)
    return pd.Series(pd.Categorical(text), name=CAMPAIGN)


def _option_keys(table: pd.DataFrame) -> np.ndarray:
    """One int64 per option that is equal exactly when (customer_id, offer_id, channel_id) are."""
    key = np.zeros(len(table), np.int64)
    for column in OPTION_KEYS:
        codes, uniques = pd.factorize(table[column]) if not isinstance(table[column].dtype, pd.CategoricalDtype) else (
            table[column].cat.codes.to_numpy(), table[column].cat.categories
        )
        key *= len(uniques)
        key += codes
    return key


def _duplicates(table: pd.DataFrame) -> np.ndarray:
    """Rows repeating an earlier option; a table whose keys increase (a sorted base) has none."""
    key = _option_keys(table)
    if len(key) < 2 or bool(np.all(key[1:] > key[:-1])):
        return np.zeros(len(key), bool)
    return pd.Series(key).duplicated(keep="first").to_numpy()


def check_options(df: pd.DataFrame, file: str, scenario: Scenario, is_csv: bool) -> pd.DataFrame:
    """Validate the options table; returns ids as text and every other column as float64."""
    if len(df) == 0:
        raise InputError("options table has no rows", file=file)
    missing = [c for c in OPTION_KEYS + OPTION_NUMBERS if c not in df.columns]
    if missing:
        raise InputError(
            f"required column missing; an options table needs {', '.join(OPTION_KEYS + OPTION_NUMBERS)}",
            file=file,
            column=missing[0],
        )
    if scenario.campaigns and CAMPAIGN not in df.columns:
        raise InputError(f"required column missing; the scenario's 'campaigns:' limits options by their {CAMPAIGN} column",
                         file=file, column=CAMPAIGN)
    out = {c: _ids(df, c, file, is_csv) for c in OPTION_KEYS}
    if CAMPAIGN in df.columns:
        out[CAMPAIGN] = _campaigns(df[CAMPAIGN])
    for column in df.columns:
        if column in OPTION_KEYS or column == CAMPAIGN:
            continue
        try:
            out[column] = _numeric(df, column, file, is_csv)
        except InputError as exc:
            if column in OPTION_NUMBERS:
                raise
            raise InputError(
                exc.rule + "; extra option columns must be numeric (put text attributes in the customers table)",
                file=file,
                row=exc.row,
                line=exc.line,
                column=column,
            ) from None
    p = out["p_accept"]
    _fail((p < 0) | (p > 1), "p_accept must lie in [0, 1]", file, "p_accept", is_csv)
    for cost in ("contact_cost", "offer_cost"):
        _fail(out[cost] < 0, "costs must be >= 0", file, cost, is_csv)
    for column in out:
        if column not in OPTION_KEYS and column != CAMPAIGN:
            check_measure(out[column], file, column, is_csv)
    for column, known, key in (("offer_id", scenario.offers, "offers"), ("channel_id", scenario.channels, "channels")):
        unknown = ~out[column].isin(list(known)).to_numpy()
        if unknown.any():
            name = out[column].iloc[int(np.flatnonzero(unknown)[0])]
            _fail(unknown, f"{quote(name)} is not listed under the scenario's '{key}'", file, column, is_csv)
    table = pd.DataFrame(out, copy=False)
    _fail(_duplicates(table), "duplicate (customer_id, offer_id, channel_id); each option appears once", file, "customer_id", is_csv)
    return table


def check_customers(df: pd.DataFrame, file: str, scenario: Scenario, is_csv: bool) -> pd.DataFrame:
    """Validate the customers table; fills blank contact limits from the contact policy."""
    if len(df) == 0:
        raise InputError("customers table has no rows", file=file)
    if "customer_id" not in df.columns:
        raise InputError("required column missing", file=file, column="customer_id")
    out = df.copy()
    out["customer_id"] = _ids(df, "customer_id", file, is_csv)
    _fail(out["customer_id"].duplicated().to_numpy(), "duplicate customer_id", file, "customer_id", is_csv)
    policy = scenario.contact_policy
    for column, default in (("max_contacts", policy.max_contacts), ("min_contacts", policy.min_contacts)):
        if column not in df.columns:
            out[column] = default
            continue
        blank = df[column].astype("string").fillna("").str.strip() == ""
        filled = df[column].where(~blank, str(default) if is_csv else default)
        values = _numeric(pd.DataFrame({column: filled}), column, file, is_csv)
        _fail((values < 0) | (values != np.round(values)), "must be a whole number >= 0", file, column, is_csv)
        # beyond MAX_COUNT the int64 cast could wrap to a negative count and the limit vanish
        _fail(values > MAX_COUNT, f"out of range: at most {MAX_COUNT:.0e} contacts", file, column, is_csv)
        out[column] = values.astype(np.int64)
    _fail(
        (out["min_contacts"] > out["max_contacts"]).to_numpy(),
        "min_contacts exceeds max_contacts",
        file,
        "min_contacts",
        is_csv,
    )
    for column in out.columns:
        if column in ("customer_id",) + CUSTOMER_LIMITS:
            continue
        if is_csv:
            # CSV attributes arrive as text; columns that are wholly numeric become numbers so that
            # rules can compare them with thresholds (arpu >= 100).
            converted = pd.to_numeric(out[column], errors="coerce")
            if converted.notna().all():
                out[column] = converted.astype(np.float64)
        if pd.api.types.is_float_dtype(out[column]):
            # "inf" parses as a number, but `arpu >= 100` on it is a customer no one meant to include
            _fail(np.isinf(out[column].to_numpy()), "infinite values are not allowed in a customer attribute", file, column, is_csv)
    return out.reset_index(drop=True)


def check_measure(values: np.ndarray, file: str, column: str, is_csv: bool) -> None:
    """Refuse a number a limit or the objective would use that is not finite or beyond
    :data:`~optimizer.scenario.MAX_AMOUNT` (HiGHS mis-solves near 1e16 and stalls on NaN)."""
    low, high = (float(np.min(values)), float(np.max(values))) if len(values) else (0.0, 0.0)
    if -MAX_AMOUNT <= low and high <= MAX_AMOUNT:  # false for NaN: no row mask on a clean column
        return
    _fail(~np.isfinite(values), "not a finite number; a value a limit sums must be a number (not blank, NaN or inf)", file, column, is_csv)
    _fail(np.abs(values) > MAX_AMOUNT, f"out of range: numbers are at most {MAX_AMOUNT:.0e} in size", file, column, is_csv)


def read_id_list(path: str | Path) -> list[str]:
    """Customer ids from a do-not-contact file: a CSV/Parquet with a customer_id column."""
    table = read_table(path)
    if "customer_id" not in table.columns:
        raise InputError("a do-not-contact file needs a customer_id column", file=str(path), column="customer_id")
    return _ids(table, "customer_id", str(path), Path(path).suffix.lower() == ".csv").tolist()
