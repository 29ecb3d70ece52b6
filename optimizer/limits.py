"""Coupling limits: the constraints that tie many customers together, read off a scenario.

Budget, ROI, channel capacity, offer limits and the scenario's ``rules``; the same budget,
ROI, capacity and offer limits again over each campaign's options (``campaigns:``). A rule's filter is
a rule of :mod:`optimizer.rule_language` over the options, where a name is an option column,
a derived measure (``spend``, ``expected_return``, ``net_value``) or a customer attribute
(spread to that customer's options). A value the filter names that no option has is a typo
until shown otherwise: an error, or a warning in a template (``allow_unused``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import HINT_CANDIDATES, InputError, did_you_mean, quote
from .rule_language import Coded, Compare, FrameTable, Literal, Name, RuleError, mask, names_used, to_text
from .scenario import ChannelLimits, OfferLimits, Rule, Scenario
from .tables import CAMPAIGN, check_measure

__all__ = [
    "DERIVED_COLUMNS", "HINT_CANDIDATES", "CouplingLimit", "OptionTable", "coupling_limits", "did_you_mean",
    "option_column", "rule_mask", "unused_name",
]

#: Measures a rule may sum besides the option table's own numeric columns.
DERIVED_COLUMNS = ("spend", "expected_return", "net_value")


@dataclass(frozen=True)
class CouplingLimit:
    """One linear limit over all options: ``sum(coef[k] * x[index[k]]) <sense> rhs``.

    ``index`` is None when the limit covers every option (then ``coef`` has one entry per
    option). ``unit`` names what one unit of ``rhs`` is, so that the shadow price reads as
    "one more <unit> is worth X yuan".
    """

    name: str
    kind: str
    sense: str  # "<=" or ">="
    rhs: float
    coef: np.ndarray
    index: np.ndarray | None
    unit: str
    description: str

    def usage(self, x: np.ndarray) -> float:
        """Left-hand side for a 0/1 (or fractional) choice vector ``x`` over all options."""
        chosen = x if self.index is None else x[self.index]
        return float(np.dot(self.coef, chosen))


def unused_name(scenario: Scenario, notes: list[str], what: str, name: str, choices: list[str], key: str) -> None:
    """A name that matches nothing: an error, or a warning for a template (``allow_unused``)."""
    rule = what + did_you_mean(name, choices)
    if scenario.allow_unused:
        notes.append(f"{key}: {rule}")
        return
    raise InputError(rule + "; fix or remove it, or set allow_unused: true if the scenario is a template", key=key)


def option_column(
    name: str, table: pd.DataFrame, customers: pd.DataFrame, customer: np.ndarray, arrays: dict[str, np.ndarray]
) -> np.ndarray:
    """One value per option for a column of the options table, a derived measure or a customer attribute."""
    if name in arrays:
        return arrays[name]
    if name in table.columns:
        return table[name].to_numpy()
    if name in customers.columns:
        return customers[name].to_numpy()[customer]
    raise KeyError(name)


class OptionTable:
    """The options as a rule-language table: option columns, derived measures, customer attributes.

    ``codes`` maps an option column to codes the problem already holds for it (offer and
    channel positions, with their ids): a text column of 9M options costs seconds to factorise.
    """

    def __init__(self, table: pd.DataFrame, customers: pd.DataFrame, customer: np.ndarray, arrays: dict[str, np.ndarray],
                 codes: Mapping[str, tuple[np.ndarray, Sequence[str]]] | None = None) -> None:
        self.table, self.customers, self.customer, self.arrays = table, customers, customer, arrays
        self.codes = dict(codes or {})
        self.names = list(dict.fromkeys([*map(str, table.columns), *arrays, *map(str, customers.columns)]))

    def __len__(self) -> int:
        return len(self.table)

    def column(self, name: str) -> Any:
        if name in self.codes and name not in self.arrays:
            positions, ids = self.codes[name]
            return Coded(positions, np.asarray(ids, dtype=object))
        if name in self.arrays or name in self.table.columns:
            return option_column(name, self.table, self.customers, self.customer, self.arrays)
        attribute = self.customers[name]
        if isinstance(attribute.dtype, pd.CategoricalDtype):
            # spread the codes, not the text: 2 bytes per option instead of an object pointer
            return Coded(attribute.cat.codes.to_numpy()[self.customer], attribute.cat.categories.to_numpy(object))
        if not pd.api.types.is_numeric_dtype(attribute.dtype) and not pd.api.types.is_bool_dtype(attribute.dtype):
            # text: factorised over the customers, then spread (a tenth of the work of the options' copy)
            positions, labels = pd.factorize(attribute, use_na_sentinel=True)
            return Coded(positions[self.customer], np.asarray(labels, dtype=object))
        return attribute.to_numpy()[self.customer]


def rule_mask(
    rule: Rule, table: pd.DataFrame, customers: pd.DataFrame, customer: np.ndarray, arrays: dict[str, np.ndarray],
    *, unmatched: list[tuple[str, Any]] | None = None, codes: Mapping[str, tuple[np.ndarray, Sequence[str]]] | None = None,
) -> np.ndarray:
    """Options that match a rule's ``where`` filter; a blank or NaN attribute matches no comparison.

    ``unmatched`` collects ``(column, value)`` for each value the filter names that no option
    or customer has. A filter over customer attributes alone is evaluated once per customer.
    """
    tree = rule.filter
    option_names = set(map(str, table.columns)) | set(arrays)
    attributes = set(map(str, customers.columns)) - option_names
    found: list[tuple[str, Any]] = []
    try:
        used = names_used(tree)
        if used and used <= attributes:
            matched = mask(tree, FrameTable(customers), unmatched=found)[customer]
        else:
            matched = mask(tree, OptionTable(table, customers, customer, arrays, codes), unmatched=found)
    except RuleError as exc:
        raise InputError(str(exc), key=f"rules.{rule.name}.where") from None
    if unmatched is not None:
        # an attribute value is a typo only if no customer has it, options or not (a base whose
        # customers all sit on the do-not-contact list still has its stages)
        unmatched += [(c, v) for c, v in found if c not in attributes or not _holds(customers, c, v)]
    return matched


def _holds(frame: pd.DataFrame, column: str, value: Any) -> bool:
    return bool(mask(Compare("==", Name(column), Literal(value)), FrameTable(frame)).any())


def _held_by_blocked(column: str, value: Any, blocked_rows: pd.DataFrame | None) -> bool:
    """A value that only do-not-contact customers' options have is no typo: the list removed them."""
    return blocked_rows is not None and column in blocked_rows.columns and _holds(blocked_rows, column, value)


def _distinct(name: str, table: pd.DataFrame, customers: pd.DataFrame) -> list[str]:
    """The values of a text column, for a "did you mean"; none for numbers or a huge column."""
    column = table[name] if name in table.columns else customers[name] if name in customers.columns else None
    if column is None or pd.api.types.is_numeric_dtype(column):
        return []
    values = column.cat.categories if isinstance(column.dtype, pd.CategoricalDtype) else pd.unique(column)
    return [str(v) for v in values[: HINT_CANDIDATES + 1]]


def coupling_limits(
    scenario: Scenario,
    table: pd.DataFrame,
    customers: pd.DataFrame,
    customer: np.ndarray,
    offer: np.ndarray,
    channel: np.ndarray,
    offer_ids: tuple[str, ...],
    channel_ids: tuple[str, ...],
    arrays: dict[str, np.ndarray],
    notes: list[str],
    customers_file: str,
    customers_csv: bool,
    blocked_rows: pd.DataFrame | None,
) -> list[CouplingLimit]:
    limits = _spend_limits(scenario.budget, scenario.min_roi, scenario.channels, scenario.offers, offer, channel, offer_ids,
                           channel_ids, arrays, None)
    for name, campaign in scenario.campaigns.items():
        within = np.flatnonzero((table[CAMPAIGN] == name).to_numpy())
        limits += _spend_limits(campaign.budget, campaign.min_roi, campaign.channels, campaign.offers, offer, channel, offer_ids,
                                channel_ids, arrays, (name, within))
    codes = {"offer_id": (offer, offer_ids), "channel_id": (channel, channel_ids)}
    for rule in scenario.rules:
        unmatched: list[tuple[str, Any]] = []
        mask = rule_mask(rule, table, customers, customer, arrays, unmatched=unmatched, codes=codes)
        for column, value in dict.fromkeys(unmatched):
            if _held_by_blocked(column, value, blocked_rows):
                continue
            what = f"no option or customer has {quote(column)} = {quote(value)}"
            unused_name(scenario, notes, what, str(value), _distinct(column, table, customers), f"rules.{rule.name}.where.{column}")
        if rule.sum is None:
            measure, unit = np.broadcast_to(1.0, len(table)), "contact"  # read-only, no memory
        else:
            try:
                measure = option_column(rule.sum, table, customers, customer, arrays).astype(np.float64)
            except (KeyError, ValueError, TypeError):
                numeric = sorted([c for c in table.columns if c not in ("customer_id", "offer_id", "channel_id", CAMPAIGN)] + list(DERIVED_COLUMNS))
                raise InputError(f"sums {quote(rule.sum)}, which is not a numeric option column; use one of {', '.join(numeric)}", key=f"rules.{rule.name}.sum") from None
            if rule.sum in customers.columns and rule.sum not in table.columns and rule.sum not in arrays:
                # option columns were checked with the table; a customer attribute only now that a rule sums it
                check_measure(customers[rule.sum].to_numpy(dtype=np.float64), customers_file, rule.sum, customers_csv)
            unit = f"unit of {rule.sum}"
        what = f"{'count' if rule.sum is None else 'sum of ' + rule.sum} over {_describe_where(rule)}"
        idx = np.flatnonzero(mask)
        for bound, sense, tag in ((rule.max, "<=", "max"), (rule.min, ">=", "min")):
            if bound is not None:
                name = rule.name if (rule.max is None) != (rule.min is None) else f"{rule.name}:{tag}"
                limits.append(CouplingLimit(name, "rule", sense, float(bound), measure[idx], idx, unit, f"{what} {sense} {bound:g}"))
        for share, sense, tag in ((rule.max_share, "<=", "max_share"), (rule.min_share, ">=", "min_share")):
            if share is not None:
                # sum_{match} m x <= s * sum_{all} m x, written over all options as m * (match - s)
                limits.append(CouplingLimit(f"{rule.name}:{tag}", "rule_share", sense, 0.0, measure * (mask - share), None, unit, f"{what} {sense} {share:g} of the total"))
    return limits


def _spend_limits(
    budget: float | None, min_roi: float | None, channels: Mapping[str, ChannelLimits], offers: Mapping[str, OfferLimits],
    offer: np.ndarray, channel: np.ndarray, offer_ids: tuple[str, ...], channel_ids: tuple[str, ...],
    arrays: dict[str, np.ndarray], campaign: tuple[str, np.ndarray] | None,
) -> list[CouplingLimit]:
    """BUDGET, ROI, CAPACITY, OFFER-* over every option, or over one campaign's options.

    ``campaign`` is (name, its options' positions); its limits are named and kinded like the
    scenario's with a ``campaign:<name>:`` / ``campaign_`` prefix ("campaign:upsell:channel:call").
    """
    spend, ret = arrays["spend"], arrays["expected_return"]
    if campaign is None:
        prefix, kind, said, within = "", "", "", None
    else:
        prefix, kind, said, within = f"campaign:{campaign[0]}:", "campaign_", f"campaign {campaign[0]}: ", campaign[1]

    def over(selected: np.ndarray) -> np.ndarray:
        return selected if within is None else np.intersect1d(within, selected, assume_unique=True)

    def limit(name: str, what: str, sense: str, rhs: float, coef: np.ndarray, index: np.ndarray | None, unit: str, description: str) -> None:
        out.append(CouplingLimit(prefix + name, kind + what, sense, rhs, coef, index, unit, said + description))

    out: list[CouplingLimit] = []
    if budget is not None:
        limit("budget", "budget", "<=", budget, spend if within is None else spend[within], within, "yuan", "expected spend <= budget")
    if min_roi is not None:
        surplus = _surplus(ret, spend, min_roi) if within is None else _surplus(ret[within], spend[within], min_roi)
        limit("min_roi", "roi", ">=", 0.0, surplus, within, "yuan of surplus", f"expected return >= {1 + min_roi:g} x expected spend")
    for k, channel_id in enumerate(channel_ids):
        spec = channels.get(channel_id)
        if spec is not None and spec.capacity is not None:
            idx = over(np.flatnonzero(channel == k))
            limit(f"channel:{channel_id}", "channel_capacity", "<=", float(spec.capacity), np.ones(idx.size), idx, "contact",
                  f"contacts through {channel_id} <= {spec.capacity}")
    for k, offer_id in enumerate(offer_ids):
        offer_spec = offers.get(offer_id)
        if offer_spec is None or not offer_spec.limited:
            continue
        idx = over(np.flatnonzero(offer == k))
        ones = np.ones(idx.size)
        name = f"offer:{offer_id}"
        if offer_spec.max_targets is not None:
            limit(f"{name}:max_targets", "offer_max_targets", "<=", float(offer_spec.max_targets), ones, idx, "target", f"customers given {offer_id} <= {offer_spec.max_targets}")
        if offer_spec.min_targets is not None:
            limit(f"{name}:min_targets", "offer_min_targets", ">=", float(offer_spec.min_targets), ones, idx, "target", f"customers given {offer_id} >= {offer_spec.min_targets}")
        if offer_spec.budget is not None:
            limit(f"{name}:budget", "offer_budget", "<=", offer_spec.budget, spend[idx], idx, "yuan", f"expected spend on {offer_id} <= {offer_spec.budget:g}")
        if offer_spec.min_roi is not None:
            r = offer_spec.min_roi
            limit(f"{name}:min_roi", "offer_roi", ">=", 0.0, ret[idx] - (1 + r) * spend[idx], idx, "yuan of surplus", f"return of {offer_id} >= {1 + r:g} x its spend")
    return out


def _surplus(ret: np.ndarray, spend: np.ndarray, min_roi: float) -> np.ndarray:
    """``ret - (1 + min_roi) * spend`` with one array instead of two (the same bits: a - b == a + -b)."""
    out = spend * -(1 + min_roi)
    out += ret
    return out


def _describe_where(rule: Rule) -> str:
    return "all options" if not rule.where else to_text(rule.filter)


