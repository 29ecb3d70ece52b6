"""k-means behaviour segments recover planted groups; profiles are ratios to the base mean."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimizer.scoring.errors import MappingError
from optimizer.scoring.segments import behaviour_segments


def _planted(rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    # a roaming-like group (high ARPU, high MOU) of 200 in a base of 1,000
    sizes, centres = [500, 300, 200], [(40, 150), (80, 300), (210, 520)]
    truth = np.repeat(np.arange(3), sizes)
    x = np.vstack([rng.normal(c, (6, 20), size=(n, 2)) for n, c in zip(sizes, centres)])
    return pd.DataFrame(x, columns=["arpu", "mou"]), truth


def test_recovers_planted_groups_and_profiles() -> None:
    df, truth = _planted(np.random.default_rng(3))
    seg = behaviour_segments(df, ["arpu", "mou"], 3, seed=1)
    # labels ordered by size, so they coincide with the planted order
    assert (seg.labels.to_numpy() == truth).mean() > 0.99
    p = seg.profile
    assert p["size"].tolist() == sorted(p["size"], reverse=True) and p["share"].sum() == pytest.approx(1)
    base = df.mean()
    np.testing.assert_allclose(p["arpu_index"], p["arpu_mean"] / base["arpu"])
    assert p.loc[2, "arpu_mean"] == pytest.approx(210, abs=2)
    assert p.loc[2, "arpu_index"] > 2  # "ARPU 210.64 against a base mean of 59.40"-style profile
    again = behaviour_segments(df, ["arpu", "mou"], 3, seed=1)
    pd.testing.assert_series_equal(seg.labels, again.labels)


def test_errors() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    with pytest.raises(MappingError, match="column 'c' not in customers"):
        behaviour_segments(df, ["c"], 1)
    with pytest.raises(MappingError, match="column 'b' must be numeric"):
        behaviour_segments(df, ["b"], 1)
    with pytest.raises(MappingError, match=r"segments.k\(=3\)"):
        behaviour_segments(df, ["a"], 3)
