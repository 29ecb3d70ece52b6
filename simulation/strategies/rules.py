"""Rule strategies' targeting: the project's rule language over the simulator's month view.

The sources' three-step targeting (pick key tags, combine them with AND/OR/NOT, tune the
thresholds until the list fits the campaign's resources) in the same language as a
scenario's filters and the scoring tags (:mod:`optimizer.rule_language`):

    arpu > 100 AND (usage_drop OR contract_months_left <= 2) AND NOT tier == "flea"

Names must be tags of :data:`simulation.view.TAGS`, and a text compared with ``tier`` or
``stage`` must be one of their values; both are checked when the rule is compiled, before
any month runs. Each rule then yields a boolean mask over all slots every month.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from optimizer.rule_language import Coded, MappingTable, RuleError, check_names, compared_values, mask, parse

from ..errors import SimulationConfigError
from ..stages import STAGE_NAMES, TIER_NAMES
from ..view import TAGS, MonthView

__all__ = ["compile_rule"]

#: Tags held as codes, and the value each code stands for.
_LABELS = {"tier": np.asarray(TIER_NAMES, dtype=object), "stage": np.asarray(STAGE_NAMES, dtype=object)}
_FLAGS = {"double_drop", "secondary_card", "usage_drop", "in_contract", "handset_change", "in_arrears", "has_offer"}
#: One slot of each tag's type: a rule is evaluated on it once when compiled, so that text
#: where a number is meant fails with the scenario, not in the first simulated month.
_SAMPLE = MappingTable(
    {
        name: Coded(np.zeros(1, np.int8), _LABELS[name]) if name in _LABELS
        else np.zeros(1, bool) if name in _FLAGS else np.zeros(1)
        for name in TAGS
    },
    1,
)


class _ViewTable:
    """A month view as a rule-language table: one row per slot, one column per tag."""

    names = tuple(TAGS)

    def __init__(self, view: MonthView) -> None:
        self.view = view

    def __len__(self) -> int:
        return self.view.slots

    def column(self, name: str) -> np.ndarray | Coded:
        values = self.view[name]
        return Coded(values, _LABELS[name]) if name in _LABELS else values


def compile_rule(text: str, key: str = "rule") -> Callable[[MonthView], np.ndarray]:
    """Compile ``text`` into ``f(view) -> bool mask`` over live slots; errors name ``key``."""
    try:
        tree = parse(text)
        check_names(tree, TAGS, what="tag")
        mask(tree, _SAMPLE)
    except RuleError as exc:
        raise SimulationConfigError(key, f"(={text!r}): {exc}") from None
    for name, value in compared_values(tree):
        labels = _LABELS.get(name)
        if labels is not None and value not in labels:
            raise SimulationConfigError(key, f"(={text!r}): {name} has no value {value!r}; expected one of {tuple(labels)}")

    def targets(view: MonthView) -> np.ndarray:
        return mask(tree, _ViewTable(view)) & view.live

    return targets
