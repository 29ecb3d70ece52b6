"""Contact lists per channel, ready for execution.

The call list is what the 10088 agents work through: one row per customer to call, highest
expected net value first (so a wave cut short still made its best calls), with the offer to
present (and its script, where the scenario names one) and the customer attributes an agent
needs (stage, value tier, segment, ARPU, tenure, contract...). The SMS list and the others carry
the customer, the offer and the priority. The columns each list carries can be chosen
(``contacts --columns phone,arpu,stage`` or the scenario's ``contact_columns``): then every
channel's list carries exactly those.
All lists are written together, atomically: ``<channel>_list.csv`` (or ``.parquet``). These
are the files people open in a spreadsheet: every text cell that starts like a formula
(``=``, ``+``, ``-``, ``@``, tab, CR) is prefixed with ``'`` in the CSV (OWASP CSV injection).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from optimizer.atomic import neutralised, slug, write_folder
from optimizer.errors import InputError
from optimizer.problem import Problem
from optimizer.rule_language import suggest

__all__ = ["AGENT_COLUMNS", "contact_list_files", "contact_lists", "write_contact_lists"]

#: Columns of the customers table internal to the optimizer, left out of the lists.
_INTERNAL = ("max_contacts", "min_contacts")
#: Channels whose list carries every customer attribute by default: agents talk to the
#: customer (a channel id containing one of these words: call, outbound_call, store_visit).
AGENT_COLUMNS = ("call", "store")


def _agent_channel(channel: str) -> bool:
    return any(word in channel.lower() for word in AGENT_COLUMNS)


def contact_lists(problem: Problem, plan: pd.DataFrame, columns: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """One table per channel of the scenario (empty when the plan does not use it).

    ``columns`` (else the scenario's ``contact_columns``): the customer columns every list
    carries; by default call and store lists carry them all and the others none.
    """
    columns = columns if columns is not None else problem.scenario.contact_columns
    known = [str(c) for c in problem.customers.columns if c not in _INTERNAL and c != "customer_id"]
    for column in columns or []:
        if column not in known:
            raise InputError(f"{column!r} is not a customers column{suggest(column, known)}", key="contact columns")
    missing = [c for c in ("customer_id", "offer_id", "channel_id") if c not in plan.columns]
    if missing:
        raise InputError("a plan needs customer_id, offer_id and channel_id columns", column=missing[0])
    keys = ["customer_id", "offer_id", "channel_id"]
    rows = plan[keys].astype(str).merge(problem.options, on=keys, how="left", indicator=True)
    if (rows["_merge"] != "both").any():
        bad = rows.loc[rows["_merge"] != "both", keys].iloc[0]
        raise InputError(f"plan row {tuple(bad)} is not an eligible option of the scenario", key="plan")
    rows = rows.drop(columns="_merge")
    rows["expected_value"] = rows["p_accept"] * rows["value"]
    rows["expected_cost"] = rows["contact_cost"] + rows["p_accept"] * rows["offer_cost"]
    rows["expected_net_value"] = rows["expected_value"] - rows["expected_cost"]
    attributes = problem.customers.drop(columns=[c for c in _INTERNAL if c in problem.customers.columns])
    if columns is not None:
        attributes = attributes[["customer_id", *dict.fromkeys(columns)]]
    scripts = {o: spec.script for o, spec in problem.scenario.offers.items() if spec.script}
    lists: dict[str, pd.DataFrame] = {}
    for channel in problem.channel_ids:
        on = rows[rows["channel_id"] == channel].sort_values(["expected_net_value", "customer_id"], ascending=[False, True])
        on = on.reset_index(drop=True)
        on.insert(0, "priority", range(1, len(on) + 1))
        base = on[["priority", "customer_id", "offer_id", "p_accept", "expected_value", "expected_cost", "expected_net_value"]]
        if scripts:
            base.insert(3, "offer_script", base["offer_id"].map(scripts).fillna(""))
        if columns is not None or _agent_channel(channel):
            base = base.merge(attributes, on="customer_id", how="left")
        lists[channel] = base
    return lists


def contact_list_files(lists: dict[str, pd.DataFrame], fmt: str = "csv") -> list[tuple[str, Callable[[Path], None]]]:
    """``(file name, writer)`` per list for :func:`optimizer.atomic.write_folder`: ``<channel>_list.<fmt>``, the id slugged."""
    if fmt not in ("csv", "parquet"):
        raise InputError(f"unknown format {fmt!r}; use csv or parquet", key="--format")
    names = {channel: f"{slug(channel)}_list.{fmt}" for channel in lists}
    if len(set(names.values())) < len(names):
        raise InputError(f"channel ids {sorted(lists)} give the same file name once made safe for a path; rename one", key="channels")

    def writer(table: pd.DataFrame) -> Callable[[Path], None]:
        if fmt == "csv":
            return lambda tmp: neutralised(table).to_csv(tmp, index=False, float_format="%.6g")
        return lambda tmp: table.to_parquet(tmp, index=False)

    return [(names[channel], writer(table)) for channel, table in lists.items()]


def write_contact_lists(lists: dict[str, pd.DataFrame], out: Path, fmt: str = "csv") -> list[Path]:
    """Write every list to ``out/<channel>_list.<fmt>`` in one atomic step."""
    return write_folder(Path(out), contact_list_files(lists, fmt))
