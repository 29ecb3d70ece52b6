"""plan.csv's fast writer gives pandas' text byte for byte, and falls back to pandas where it cannot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.report import _unquoted_columns, plan_csv


def pandas_text(plan: pd.DataFrame) -> str:
    return plan.to_csv(index=False, float_format="%.10g", lineterminator="\n")


floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.05, 2.5, 1e-5, 1.5e-7, 12345678901.0, 1 / 3, 0.1 + 0.2, 1e16, 5e-324]),
)
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)


@settings(max_examples=150, deadline=None)
@given(rows=st.integers(0, 40), data=st.data())
def test_the_text_is_pandas_text(rows: int, data: st.DataObject) -> None:
    """Random frames: floats (NaN, infinities, -0.0, repeated prices), integers, ids with and without
    commas, quotes and line breaks, blank campaigns; the fast path and the fallback alike."""
    repeated = st.sampled_from([0.0, 0.05, 2.5, 19.99])
    frame = pd.DataFrame({
        "customer_id": data.draw(st.lists(names, min_size=rows, max_size=rows)),
        "campaign": data.draw(st.lists(st.sampled_from(["", "winback", "q4"]), min_size=rows, max_size=rows)),
        "count": np.array(data.draw(st.lists(st.integers(-2**63, 2**63 - 1), min_size=rows, max_size=rows)), np.int64),
        "p_accept": np.array(data.draw(st.lists(floats, min_size=rows, max_size=rows)), np.float64),
        "contact_cost": np.array(data.draw(st.lists(repeated, min_size=rows, max_size=rows)), np.float64),
    })
    assert plan_csv(frame) == pandas_text(frame)


def test_a_plan_of_the_demo_takes_the_fast_path_and_a_file_holds_the_same_text(tmp_path) -> None:
    rng = np.random.default_rng(0)
    n = 5000
    plan = pd.DataFrame({
        "customer_id": [f"C{i:06d}" for i in range(n)], "offer_id": rng.choice(["data_pack", "family_plan"], n),
        "channel_id": rng.choice(["sms", "call"], n), "p_accept": rng.random(n), "expected_value": rng.normal(50, 20, n),
        "expected_cost": rng.random(n) * 10, "contact_cost": rng.choice([0.05, 2.5], n), "offer_cost": rng.choice([0.0, 25.5], n),
    })
    assert _unquoted_columns(plan) is not None  # the fast path, not the fallback
    plan_csv(plan, tmp_path / "plan.csv")
    assert (tmp_path / "plan.csv").read_bytes() == pandas_text(plan).encode()
    assert pd.read_csv(tmp_path / "plan.csv")["p_accept"].to_numpy() == pytest.approx(plan["p_accept"].to_numpy(), rel=1e-9)


def test_fields_that_need_quotes_are_written_by_pandas(tmp_path) -> None:
    plan = pd.DataFrame({"customer_id": ["a,b", 'say "hi"', "two\nlines"], "p_accept": [0.5, 0.25, 1.0]})
    assert _unquoted_columns(plan) is None
    plan_csv(plan, tmp_path / "plan.csv")
    assert pd.read_csv(tmp_path / "plan.csv")["customer_id"].tolist() == ["a,b", 'say "hi"', "two\nlines"]

