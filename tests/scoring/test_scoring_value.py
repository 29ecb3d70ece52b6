"""Value index, matrix, tiers and policy on hand-checked tables; lifecycle stages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimizer.scoring.errors import MappingError
from optimizer.scoring.lifecycle import lifecycle_stage
from optimizer.scoring.value import tier_policy, value_bands, value_index, value_matrix, value_tiers


def test_value_index_is_weighted_percentile_rank() -> None:
    df = pd.DataFrame(
        {"arpu": [10.0, 20.0, 30.0, 40.0], "tenure": [4.0, 3.0, 2.0, 1.0], "services": [1.0, 1.0, 3.0, 4.0]}
    )
    idx = value_index(df, {"arpu": 3.0, "tenure": 1.0}, {"services": -1.0})
    # ranks (pct): arpu .25 .5 .75 1; tenure 1 .75 .5 .25 -> (3*arpu + tenure) / 4 * 100
    np.testing.assert_allclose(idx["current_value"], [43.75, 56.25, 68.75, 81.25])
    # services ranks (ties averaged) .375 .375 .75 1; negative weight: 1 - r + 1/n
    np.testing.assert_allclose(idx["potential_value"], [87.5, 87.5, 50.0, 25.0])


def test_bands_matrix_tiers_and_policy() -> None:
    idx = pd.DataFrame(
        {"current_value": [90, 85, 50, 55, 10, 15, 12, 11, 52], "potential_value": [10, 20, 50, 60, 95, 5, 6, 7, 40]}
    )
    tenure = pd.Series([60, 5, 36, 12, 3, 2, 40, 30, 24])
    b = value_bands(idx)
    m = value_matrix(b)
    assert int(m.to_numpy().sum()) == 9 and list(m.index) == ["low", "mid", "high"]
    t = value_tiers(b, tenure, loyal_min_months=24, newborn_max_months=6)
    # current terciles split at 3 customers each: high = {90, 85, 55}, mid = {50, 52, 15}
    expected = ["premium", "premium", "loyal", "premium", "potential", "potential", "flea", "flea", "loyal"]
    assert t.tolist() == expected
    pol = tier_policy(t)
    assert pol.tolist()[:5] == ["keep", "keep", "keep", "keep", "develop"]
    assert set(pol[t == "flea"]) == {"retrench"}
    assert tier_policy(t, {"flea": "develop"})[6] == "develop"
    with pytest.raises(MappingError, match="unknown tier 'gold'"):
        tier_policy(t, {"gold": "keep"})


def test_newborn_is_entry_level_with_short_tenure() -> None:
    idx = pd.DataFrame(
        {"current_value": [1, 2, 3, 50, 60, 70, 80, 90, 99], "potential_value": [1, 2, 3, 4, 5, 6, 7, 8, 9]}
    )
    t = value_tiers(value_bands(idx), pd.Series([2, 10, 1, 0, 0, 0, 0, 0, 0]))
    assert t.tolist()[:3] == ["newborn", "flea", "newborn"]


def test_value_errors_name_column() -> None:
    df = pd.DataFrame({"arpu": [1.0, 2.0], "plan": ["a", "b"]})
    with pytest.raises(MappingError, match="value.current: column 'ARPU' not in customers"):
        value_index(df, {"ARPU": 1.0}, {"arpu": 1.0})
    with pytest.raises(MappingError, match="column 'plan' must be numeric"):
        value_index(df, {"plan": 1.0}, {"arpu": 1.0})
    with pytest.raises(MappingError, match=r"value.potential.arpu: weight\(=0.0\)"):
        value_index(df, {"arpu": 1.0}, {"arpu": 0.0})


def test_lifecycle_stages() -> None:
    df = pd.DataFrame(
        {"tenure_months": [0, 2, 3, 6, 7, 40, 40], "down": [False] * 5 + [True, True], "gone": [False] * 6 + [True]}
    )
    s = lifecycle_stage(df, decline="down", exit="gone")
    assert s.tolist() == ["acquisition", "acquisition", "growth", "growth", "maturity", "decline", "exit"]
    with pytest.raises(MappingError, match="column 'nope'"):
        lifecycle_stage(df, decline="nope")
    with pytest.raises(MappingError, match="acquisition_max_months"):
        lifecycle_stage(df, acquisition_max_months=6, growth_max_months=6)
