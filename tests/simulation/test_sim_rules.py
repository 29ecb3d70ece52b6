"""Tag rules (AND/OR/NOT, thresholds) evaluate exactly like the numpy expression they mean."""

from __future__ import annotations

import numpy as np
import pytest

from simulation import MonthView, SimulationConfigError, build_config, compile_rule
from simulation.population import new_population
from simulation.presets import small_config
from simulation.streams import Streams
from simulation.usage import arpu_now


@pytest.fixture(scope="module")
def view() -> MonthView:
    cfg = build_config(small_config())
    pop = new_population(cfg, Streams.from_seed(3))
    pop.handset_change[::7] = True
    return MonthView(cfg, pop, 1, 1000.0, 100, arpu_now(cfg, pop))


def test_boolean_algebra(view: MonthView) -> None:
    got = compile_rule('arpu > 100 AND (usage_drop OR contract_months_left <= 2) AND NOT tier == "flea"')(view)
    want = (view.arpu > 100) & (view.usage_drop | (view.contract_months_left <= 2)) & ~(view.tier == 4) & view.live
    assert got.sum() > 0 and np.array_equal(got, want)
    assert np.array_equal(
        compile_rule("handset_change or in_arrears")(view),
        (view.handset_change | view.in_arrears) & view.live,
    )
    assert np.array_equal(
        compile_rule("10 <= tenure < 24")(view),
        (view.tenure >= 10) & (view.tenure < 24) & view.live,
    )
    assert np.array_equal(compile_rule('stage == "decline"')(view), (view.stage == 3) & view.live)
    assert compile_rule("arpu > -1")(view).sum() == view.live.sum()


def test_the_language_is_the_scenario_filters_language(view: MonthView) -> None:
    # arithmetic and IN work here as in a scenario's `where` (one rule language)
    assert np.array_equal(compile_rule("arpu * 12 > 1200")(view), (view.arpu * 12 > 1200) & view.live)
    assert np.array_equal(
        compile_rule("tier IN ('premium', 'loyal') AND stage != 'decline'")(view),
        np.isin(view.tier, [0, 1]) & (view.stage != 3) & view.live,
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("arpu >", "expected a column name, a value, NOT or '\\(' at position 6"),
        ("__import__('os')", "unknown function __import__"),
        ("usage_dorp", "'usage_dorp', which is not a tag; did you mean 'usage_drop'"),
        ('tier == "gold"', "tier has no value 'gold'"),
        ('arpu == "premium"', "arpu holds numbers; it is compared with the text 'premium'"),
        ("tenure", "the column 'tenure' is a number, not true/false"),
        ("", "must be a non-empty text"),
    ],
)
def test_bad_rules(rule: str, message: str) -> None:
    with pytest.raises(SimulationConfigError, match=message):
        compile_rule(rule, key="strategies.x.rule")
