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


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("arpu >", "not a valid rule"),
        ("__import__('os')", "unsupported construct Call"),
        ("arpu + 1 > 2", "comparisons take tags"),
        ("arpu in [1]", "unsupported comparison In"),
        ('tier == "gold"', "tier has no value 'gold'"),
        ('arpu == "premium"', "can only be compared with tier or stage"),
        ("", "must be a non-empty rule"),
    ],
)
def test_bad_rules(rule: str, message: str) -> None:
    with pytest.raises(SimulationConfigError, match=message):
        compile_rule(rule, key="strategies.x.rule")
