"""Load a real customer table (CSV or Parquet) through a column mapping.

The mapping names, for each canonical column the scoring code uses, the source column it
comes from and how to read it:

    customers:
      path: ../data/telco_churn.csv        # relative to the YAML file
      id: customerID
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

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..rule_language import FrameTable, RuleError, check_names, parse, values
from .config import parse_model, resolve_path
from .errors import MappingError

__all__ = [
    "CustomerMapping",
    "FlagColumn",
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


class CustomerMapping(_Strict):
    """The ``customers`` section of a config."""

    path: Path
    id: str
    format: str | None = None
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
        known = [n for n in names if n not in self.derived]
        for name, expression in self.derived.items():
            try:
                check_names(parse(expression), known)
            except RuleError as exc:
                raise MappingError(f"key 'customers.derived.{name}': {exc}") from None
            known.append(name)
        return names


def load_mapping(config: dict[str, Any], *, base: Path, source: str) -> CustomerMapping:
    """Parse the ``customers`` section; its path is resolved against ``base``."""
    if "customers" not in config:
        raise MappingError(f"{source}: key 'customers': required key is missing")
    m = parse_model(CustomerMapping, config["customers"], source=source, prefix="customers")
    m.canonical_names()
    return m.model_copy(update={"path": resolve_path(base, m.path)})


def read_table(path: Path, fmt: str | None = None) -> pd.DataFrame:
    """Read CSV (all columns as strings, so numbers are checked by the mapping) or Parquet."""
    if not path.is_file():
        raise MappingError(f"{path}: customer table not found")
    kind = fmt or ("parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv")
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # noqa: BLE001 - pandas/pyarrow raise many types; report any with the file
        raise MappingError(f"{path}: cannot read as {kind}: {exc}") from None


def _need(df: pd.DataFrame, column: str, key: str, path: Path) -> pd.Series:
    if column not in df.columns:
        near = ", ".join(map(str, df.columns[:25]))
        raise MappingError(f"{path}: mapped column '{column}' (key '{key}') not in table; columns: {near}")
    return df[column]


def _as_text(s: pd.Series) -> pd.Series:
    return s.astype(str).str.strip()


def _derive(table: pd.DataFrame, name: str, expression: str, path: Path) -> np.ndarray:
    """A derived column's values; a missing or infinite number (a division by zero) is an error naming its rows."""
    try:
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


def load_customers(mapping: CustomerMapping, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Apply the mapping: returns ``customer_id`` plus one column per canonical name."""
    path = mapping.path
    raw = read_table(path, mapping.format) if table is None else table
    out = pd.DataFrame(index=raw.index)
    ids = _as_text(_need(raw, mapping.id, "customers.id", path))
    if (ids == "").any():
        row = int(np.flatnonzero((ids == "").to_numpy())[0])
        raise MappingError(f"{path}: column '{mapping.id}' (customer id) is blank in data row {row + 1}")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise MappingError(f"{path}: column '{mapping.id}' has duplicate customer id '{dup.iloc[0]}'")
    out["customer_id"] = ids.to_numpy()

    for name, spec in mapping.numeric.items():
        col = _need(raw, spec.column, f"customers.numeric.{name}", path)
        text = _as_text(col)
        blank = text.isin(["", "nan", "NaN", "None"])
        if blank.any() and spec.blank is None:
            row = int(np.flatnonzero(blank.to_numpy())[0])
            raise MappingError(
                f"{path}: column '{spec.column}' (key 'customers.numeric.{name}') is blank in data "
                f"row {row + 1}; set 'blank:' to a fill value if blanks are expected"
            )
        values = pd.to_numeric(text.where(~blank, None), errors="coerce")
        bad = values.isna() & ~blank
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise MappingError(
                f"{path}: column '{spec.column}' (key 'customers.numeric.{name}') has non-numeric "
                f"value '{text.iloc[row]}' in data row {row + 1}"
            )
        values = values.fillna(spec.blank if spec.blank is not None else np.nan).astype(float)
        if not np.isfinite(values.to_numpy()).all():
            raise MappingError(f"{path}: column '{spec.column}' has non-finite values")
        out[name] = values.to_numpy()

    for name, spec in mapping.flags.items():
        text = _as_text(_need(raw, spec.column, f"customers.flags.{name}", path))
        is_true = text.isin(spec.true_values)
        if spec.false_values is not None:
            unknown = ~(is_true | text.isin(spec.false_values))
            if unknown.any():
                row = int(np.flatnonzero(unknown.to_numpy())[0])
                raise MappingError(
                    f"{path}: column '{spec.column}' (key 'customers.flags.{name}') has value "
                    f"'{text.iloc[row]}' in data row {row + 1}, not in true_values {spec.true_values} or false_values {spec.false_values}"
                )
        out[name] = is_true.to_numpy()

    for name, column in mapping.categories.items():
        out[name] = _as_text(_need(raw, column, f"customers.categories.{name}", path)).to_numpy()

    for name, spec in mapping.lookups.items():
        text = _as_text(_need(raw, spec.column, f"customers.lookups.{name}", path))
        unknown = ~text.isin(list(spec.values))
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            raise MappingError(
                f"{path}: column '{spec.column}' (key 'customers.lookups.{name}') has value "
                f"'{text.iloc[row]}' in data row {row + 1} with no entry in 'values'"
            )
        out[name] = text.map(spec.values).to_numpy()

    for name, flags in mapping.counts.items():
        out[name] = out[flags].sum(axis=1).astype(float)

    for name, expression in mapping.derived.items():
        out[name] = _derive(out, name, expression, path)

    return out.reset_index(drop=True)
