"""Formatting for the approval report: money in whole yuan with thousands separators, ROI in
percent, amounts in their unit, and tables that scroll sideways on a narrow screen."""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["amount", "esc", "finite", "html_table", "number", "pairs", "pct", "price_text", "yuan"]

esc = html.escape


def finite(value: Any) -> bool:
    return value is not None and not (isinstance(value, (float, np.floating)) and not math.isfinite(value))


def yuan(value: Any) -> str:
    return f"{value:,.0f} yuan" if finite(value) else "-"


def pct(value: Any, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}%" if finite(value) else "-"


def number(value: Any, digits: int = 0) -> str:
    return f"{value:,.{digits}f}" if finite(value) else "-"


def price_text(value: float) -> str:
    return f"{value:.2g}" if abs(value) < 0.01 else f"{value:,.2f}"


def amount(value: float, unit: str) -> str:
    """A limit's amount in its unit: whole contacts and targets, yuan to the fen."""
    if unit in ("contact", "target"):
        return f"{value:,.0f} {unit}{'' if round(value) == 1 else 's'}"
    return f"{value:,.2f} {unit}"


def cell(value: Any) -> str:
    if not finite(value) or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    if isinstance(value, (float, np.floating)):
        return f"{value:,.2f}"
    return esc(str(value))


def html_table(frame: pd.DataFrame, formats: dict[str, Callable[[Any], str]] | None = None, limit: int | None = None) -> str:
    """``frame`` as an HTML table in a horizontally scrolling box; ``formats`` per column return escaped text."""
    formats = formats or {}
    shown = frame if limit is None else frame.head(limit)
    words = {c for c in shown.columns if c not in formats and len(shown) and isinstance(shown[c].iloc[0], str)}
    head = "".join(f'<th class="t">{esc(str(c))}</th>' if c in words else f"<th>{esc(str(c))}</th>" for c in shown.columns)
    def td(column: str, value: Any) -> str:
        text = isinstance(value, str) and column not in formats  # words read left-aligned, numbers right
        shown_value = formats[column](value) if column in formats and finite(value) else cell(value)
        return ('<td class="t">' if text else "<td>") + shown_value + "</td>"

    body = "".join("<tr>" + "".join(td(c, v) for c, v in zip(shown.columns, row)) + "</tr>" for row in shown.itertuples(index=False))
    more = f'<p class="note">showing {len(shown):,} of {len(frame):,} rows</p>' if len(shown) < len(frame) else ""
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{more}'


def pairs(rows: list[tuple[str, str]]) -> str:
    """A two-column table of label and (already escaped) value."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<div class="scroll"><table class="pairs">{body}</table></div>'
