"""Load a real customer table (CSV or Parquet) through a column mapping.

The mapping names, for each canonical column the scoring code uses, the source column it
comes from and how to read it:

    customers:
      path: ../data/telco_churn.csv        # relative to the YAML file
      id: customerID                       # or {generate: row_number, prefix: "C"} for a table without one
      separator: ","                       # CSV only: ";" or "\t" for other exports (detected and named if wrong)
      encoding: utf-8                      # CSV only: latin-1, cp1252 ... for older exports
      numeric:      {arpu: MonthlyCharges, total_charges: {column: TotalCharges, blank: 0}}
      flags:        {churned: {column: Churn, true_values: ["Yes"], false_values: ["No"]}}
      categories:   {contract: Contract}
      lookups:      {lock_in_months: {column: Contract, values: {Month-to-month: 0, One year: 12}}}
      counts:       {n_services: [phone, internet, streaming_tv]}   # flags counted per row
      derived:      {arpu_per_service: "arpu / max(n_services, 1)",  # the rule language
                     long_tenure: "tenure >= 24"}                     # (optimizer.rule_language)

A derived column is an expression over the columns mapped above it (and earlier derived
ones), in the same rule language as a scenario's filters; it must come out finite on every
row, so a division by a column with zeros is reported with the rows it breaks.

Every problem names the column or key at fault: a mapped column missing from the file, a
non-numeric cell in a numeric column (with its row), a category outside a lookup or flag's
declared values, a duplicated customer id.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..rule_language import FrameTable, RuleError, check_names, names_used, parse, suggest, values
from .config import parse_model, resolve_path
from .errors import MappingError

__all__ = [
    "CustomerMapping",
    "FlagColumn",
    "GeneratedId",
    "LookupColumn",
    "NumericColumn",
    "load_customers",
    "load_mapping",
    "read_table",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumericColumn(_Strict):
    column: str
    blank: float | None = None  # value for blank cells; None means blanks are an error


class FlagColumn(_Strict):
    column: str
    # (not `true`/`false`: YAML reads those keys as booleans)
    true_values: list[str]
    false_values: list[str] | None = None  # None: anything not in true_values is False


class LookupColumn(_Strict):
    column: str
    values: dict[str, float | str]


class GeneratedId(_Strict):
    """Customer ids made up for a table that has none: the prefix and the 1-based data row."""

    generate: Literal["row_number"]
    prefix: str = ""


class CustomerMapping(_Strict):
    """The ``customers`` section of a config."""

    path: Path
    id: str | GeneratedId
    format: str | None = None
    separator: str = Field(",", min_length=1, max_length=1)
    encoding: str = "utf-8"
    numeric: dict[str, NumericColumn] = Field(default_factory=dict)
    flags: dict[str, FlagColumn] = Field(default_factory=dict)
    categories: dict[str, str] = Field(default_factory=dict)
    lookups: dict[str, LookupColumn] = Field(default_factory=dict)
    counts: dict[str, list[str]] = Field(default_factory=dict)  # name -> flags to count
    derived: dict[str, str] = Field(default_factory=dict)  # name -> expression over the names above

    @field_validator("numeric", mode="before")
    @classmethod
    def _numeric_shorthand(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: {"column": c} if isinstance(c, str) else c for k, c in v.items()}
        return v

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str) -> str:
        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(f"unknown text encoding '{v}'; e.g. utf-8, latin-1, cp1252") from None
        return v

    @field_validator("format")
    @classmethod
    def _known_format(cls, v: str | None) -> str | None:
        if v is not None and v not in ("csv", "parquet"):
            raise ValueError(f"format must be 'csv' or 'parquet', got '{v}'")
        return v

    def canonical_names(self) -> list[str]:
        names = [*self.numeric, *self.flags, *self.categories, *self.lookups, *self.counts, *self.derived]
        dup = {n for n in names if names.count(n) > 1} | ({"customer_id"} & set(names))
        if dup:
            raise MappingError(f"canonical column '{min(dup)}' is mapped more than once")
        for name, flags in self.counts.items():
            for flag in flags:
                if flag not in self.flags:
                    raise MappingError(
                        f"key 'customers.counts.{name}': '{flag}' is not one of the "
                        f"mapped flags ({', '.join(self.flags) or 'none'})"
                    )
        for name, expression in self.derived.items():
            try:
                parse(expression)  # a syntax error is the config's; names are checked with the table's problems
            except RuleError as exc:
                raise MappingError(f"key 'customers.derived.{name}': {exc}") from None
        return names


def load_mapping(config: dict[str, Any], *, base: Path, source: str) -> CustomerMapping:
    """Parse the ``customers`` section; its path is resolved against ``base``."""
    if "customers" not in config:
        raise MappingError(f"{source}: key 'customers': required key is missing")
    m = parse_model(CustomerMapping, config["customers"], source=source, prefix="customers")
    m.canonical_names()
    return m.model_copy(update={"path": resolve_path(base, m.path)})


def read_table(path: Path, fmt: str | None = None, *, separator: str = ",", encoding: str = "utf-8") -> pd.DataFrame:
    """Read CSV (all columns as strings, so numbers are checked by the mapping) or Parquet.

    A CSV in another encoding or with another separator is named as such, with the key to set,
    rather than read as one garbled column.
    """
    if not path.is_file():
        raise MappingError(f"{path}: customer table not found")
    kind = fmt or ("parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv")
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        table = pd.read_csv(path, dtype=str, keep_default_na=False, sep=separator, encoding=encoding)
    except UnicodeDecodeError as exc:
        raise MappingError(
            f"{path}: not {encoding} text (it holds the byte {exc.object[exc.start:exc.start + 1]!r}); "
            "set 'customers.encoding' (e.g. latin-1 or cp1252 for an older export)"
        ) from None
    except Exception as exc:  # noqa: BLE001 - pandas/pyarrow raise many types; report any with the file
        raise MappingError(f"{path}: cannot read as {kind}: {exc}") from None
    if table.shape[1] == 1:
        header = str(table.columns[0])
        found = [s for s in (";", "\t", "|", ",") if s != separator and s in header]
        if found:
            shown = {"\t": "\\t"}.get(found[0], found[0])
            raise MappingError(f"{path}: one column read with separator {separator!r}, but the header holds {found[0]!r}; set 'customers.separator: \"{shown}\"'")
    return table


def _need(df: pd.DataFrame, column: str, key: str, path: Path) -> pd.Series:
    if column not in df.columns:
        raise MappingError(f"{path}: mapped column '{column}' (key '{key}') not in table{suggest(column, [str(c) for c in df.columns], limit=25)}")
    return df[column]


def _as_text(s: pd.Series) -> pd.Series:
    return s.astype(str).str.strip()


def _derive(table: pd.DataFrame, name: str, expression: str, path: Path, known: tuple[str, ...]) -> np.ndarray:
    """A derived column's values; a name mapped nowhere above it, or a missing or infinite number (a
    division by zero), is an error naming its rows."""
    try:
        check_names(expression, known, what="column mapped above it")
        column = values(expression, FrameTable(table))
    except RuleError as exc:
        raise MappingError(f"{path}: key 'customers.derived.{name}': {exc}") from None
    bad = ~np.isfinite(column) if column.dtype.kind == "f" else pd.isna(column) if column.dtype.kind == "O" else None
    if bad is not None and bad.any():
        rows = np.flatnonzero(bad)
        first = ", ".join(str(r + 1) for r in rows[:5])
        raise MappingError(
            f"{path}: key 'customers.derived.{name}': {expression!r} is missing or infinite in {rows.size:,} data "
            f"row(s) (first: {first}); guard it, e.g. with where(...) or max(divisor, 1)"
        )
    return column


def _rows(mask: pd.Series | np.ndarray) -> str:
    """How many data rows, and the first few (1-based), for a message."""
    rows = np.flatnonzero(np.asarray(mask))
    first = ", ".join(str(r + 1) for r in rows[:5])
    return f"data row {first}" if rows.size == 1 else f"{rows.size:,} data rows (first: {first})"


def _ids(raw: pd.DataFrame, mapping: CustomerMapping, path: Path) -> pd.Series:
    if isinstance(mapping.id, GeneratedId):
        return pd.Series([f"{mapping.id.prefix}{i}" for i in range(1, len(raw) + 1)], index=raw.index, dtype=object)
    ids = _as_text(_need(raw, mapping.id, "customers.id", path))
    if (ids == "").any():
        raise MappingError(f"{path}: column '{mapping.id}' (customer id) is blank in {_rows(ids == '')}")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise MappingError(f"{path}: column '{mapping.id}' has duplicate customer id '{dup.iloc[0]}' ({_rows(ids.duplicated())}); "
                           "use id: {generate: row_number} if the table has no id")
    return ids


def _numeric(raw: pd.DataFrame, name: str, spec: NumericColumn, path: Path) -> np.ndarray:
    key = f"customers.numeric.{name}"
    text = _as_text(_need(raw, spec.column, key, path))
    blank = text.isin(["", "nan", "NaN", "None"])
    if blank.any() and spec.blank is None:
        raise MappingError(f"{path}: column '{spec.column}' (key '{key}') is blank in {_rows(blank)}; "
                           "set 'blank:' to a fill value if blanks are expected")
    values = pd.to_numeric(text.where(~blank, None), errors="coerce")
    bad = values.isna() & ~blank
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise MappingError(f"{path}: column '{spec.column}' (key '{key}') has non-numeric value '{text.iloc[row]}' in {_rows(bad)}")
    values = values.fillna(spec.blank if spec.blank is not None else np.nan).astype(float)
    if not np.isfinite(values.to_numpy()).all():
        raise MappingError(f"{path}: column '{spec.column}' (key '{key}') has non-finite values in {_rows(~np.isfinite(values.to_numpy()))}")
    return values.to_numpy()


def _flag(raw: pd.DataFrame, name: str, spec: FlagColumn, path: Path) -> np.ndarray:
    text = _as_text(_need(raw, spec.column, f"customers.flags.{name}", path))
    is_true = text.isin(spec.true_values)
    if spec.false_values is not None:
        unknown = ~(is_true | text.isin(spec.false_values))
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            raise MappingError(
                f"{path}: column '{spec.column}' (key 'customers.flags.{name}') has value '{text.iloc[row]}' in {_rows(unknown)}, "
                f"not in true_values {spec.true_values} or false_values {spec.false_values}"
            )
    return is_true.to_numpy()


def _lookup(raw: pd.DataFrame, name: str, spec: LookupColumn, path: Path) -> np.ndarray:
    text = _as_text(_need(raw, spec.column, f"customers.lookups.{name}", path))
    unknown = ~text.isin(list(spec.values))
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise MappingError(f"{path}: column '{spec.column}' (key 'customers.lookups.{name}') has value "
                           f"'{text.iloc[row]}' in {_rows(unknown)} with no entry in 'values'")
    return text.map(spec.values).to_numpy()


def load_customers(mapping: CustomerMapping, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Apply the mapping: returns ``customer_id`` plus one column per canonical name.

    Every problem of the table is reported at once (one line, each naming its column, key and
    rows), so a new table is fixed in one round; a column built on a broken one is skipped.
    """
    path = mapping.path
    raw = read_table(path, mapping.format, separator=mapping.separator, encoding=mapping.encoding) if table is None else table
    out = pd.DataFrame(index=raw.index)
    problems: list[str] = []
    broken: set[str] = set()

    def build(name: str, make: Callable[[], Any]) -> None:
        try:
            out[name] = make()
        except MappingError as exc:
            problems.append(str(exc).removeprefix(f"{path}: "))
            broken.add(name)

    build("customer_id", lambda: _ids(raw, mapping, path).to_numpy())
    for name, spec in mapping.numeric.items():
        build(name, lambda name=name, spec=spec: _numeric(raw, name, spec, path))
    for name, flag in mapping.flags.items():
        build(name, lambda name=name, flag=flag: _flag(raw, name, flag, path))
    for name, column in mapping.categories.items():
        build(name, lambda name=name, column=column: _as_text(_need(raw, column, f"customers.categories.{name}", path)).to_numpy())
    for name, lookup in mapping.lookups.items():
        build(name, lambda name=name, lookup=lookup: _lookup(raw, name, lookup, path))
    for name, flags in mapping.counts.items():
        if not broken & set(flags):
            out[name] = out[flags].sum(axis=1).astype(float)
        else:
            broken.add(name)
    known = [n for n in mapping.canonical_names() if n not in mapping.derived]
    for name, expression in mapping.derived.items():
        if broken & names_used(expression):
            broken.add(name)
        else:
            build(name, lambda name=name, expression=expression, known=tuple(known): _derive(out, name, expression, path, known))
        known.append(name)
    if problems:
        head = f"{len(problems)} problems: " if len(problems) > 1 else ""
        raise MappingError(f"{path}: {head}{'; '.join(problems)}")
    return out.reset_index(drop=True)
