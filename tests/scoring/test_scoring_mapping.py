"""Column mapping: the telco worked example loads; every bad input names its column or key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.scoring.config import load_yaml
from optimizer.scoring.errors import MappingError, ScoringError
from optimizer.scoring.mapping import CustomerMapping, load_customers, load_mapping

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE = Path(__file__).parents[2] / "examples" / "telco_prepare.yaml"


def _mapping(path: Path, **spec) -> CustomerMapping:
    return CustomerMapping.model_validate({"path": path, "id": "id", **spec})


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    p = tmp_path / "base.csv"
    p.write_text("id,arpu,plan,active,total\nA,10.5,basic,Yes,100\nB,20,gold,No, \nC,30,basic,Yes,300\n")
    return p


def test_telco_example_loads_with_documented_counts() -> None:
    cfg = load_yaml(EXAMPLE)
    m = load_mapping(cfg, base=EXAMPLE.parent, source=str(EXAMPLE))
    if not m.path.is_file():
        pytest.skip("bundled data/telco_churn.csv missing")
    c = load_customers(m)
    # counts from shared/data/README.md
    assert len(c) == 7043 and c["customer_id"].is_unique
    assert int(c["churned"].sum()) == 1869
    assert c["lock_in_months"].value_counts().to_dict() == {0: 3875, 24: 1695, 12: 1473}
    assert c["tenure_months"].min() == 0 and c["tenure_months"].max() == 72
    # the 11 blank TotalCharges are the tenure-0 customers and were filled with 0
    assert int((c["total_charges"] == 0).sum()) == 11
    assert set(c.loc[c["total_charges"] == 0, "tenure_months"]) == {0}
    assert c["n_services"].between(0, 9).all()
    # first row of the file: 7590-VHVEG, DSL with online backup only, no phone
    first = c.iloc[0]
    assert first["customer_id"] == "7590-VHVEG" and first["n_services"] == 2 and first["arpu"] == 29.85


def test_parquet_gives_same_result(tiny: Path, tmp_path: Path) -> None:
    spec = {"numeric": {"arpu": {"column": "arpu"}}, "categories": {"plan": "plan"}}
    a = load_customers(_mapping(tiny, **spec))
    pq = tmp_path / "base.parquet"
    pd.read_csv(tiny, dtype=str).to_parquet(pq)
    b = load_customers(_mapping(pq, **spec))
    pd.testing.assert_frame_equal(a, b)


def test_missing_column_named(tiny: Path) -> None:
    with pytest.raises(MappingError, match=r"mapped column 'ARPU' \(key 'customers.numeric.arpu'\) not in table"):
        load_customers(_mapping(tiny, numeric={"arpu": {"column": "ARPU"}}))


def test_non_numeric_value_named_with_row(tiny: Path) -> None:
    with pytest.raises(MappingError, match=r"column 'plan' .* non-numeric value 'basic' in 3 data rows \(first: 1, 2, 3\)"):
        load_customers(_mapping(tiny, numeric={"x": {"column": "plan"}}))


def test_blank_needs_fill_value(tiny: Path) -> None:
    with pytest.raises(MappingError, match=r"column 'total' .* blank in data row 2; set 'blank:'"):
        load_customers(_mapping(tiny, numeric={"total": {"column": "total"}}))
    c = load_customers(_mapping(tiny, numeric={"total": {"column": "total", "blank": 0}}))
    assert c["total"].tolist() == [100.0, 0.0, 300.0]


def test_unseen_lookup_and_flag_values(tiny: Path) -> None:
    with pytest.raises(MappingError, match=r"column 'plan' \(key 'customers.lookups.tier'\) has value 'gold'"):
        load_customers(_mapping(tiny, lookups={"tier": {"column": "plan", "values": {"basic": 1}}}))
    with pytest.raises(MappingError, match=r"column 'plan' .* value 'gold' .* not in true_values"):
        load_customers(
            _mapping(tiny, flags={"f": {"column": "plan", "true_values": ["basic"], "false_values": ["silver"]}})
        )


def test_duplicate_ids(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_text("id,x\nA,1\nA,2\n")
    with pytest.raises(MappingError, match="duplicate customer id 'A'"):
        load_customers(_mapping(p))


def test_config_errors_name_the_key() -> None:
    src = FIXTURES / "wrong_unknown_key.yaml"
    with pytest.raises(ScoringError, match=r"key 'customers.numerc': unknown key"):
        load_mapping(load_yaml(src), base=src.parent, source=str(src))
    src = FIXTURES / "wrong_missing_column.yaml"
    m = load_mapping(load_yaml(src), base=src.parent, source=str(src))
    if m.path.is_file():
        with pytest.raises(MappingError, match="mapped column 'MonthlyCharge'"):
            load_customers(m)
    with pytest.raises(MappingError, match=r"customers.counts.n.*'nope' is not one of the mapped flags"):
        load_mapping(
            {"customers": {"path": "x.csv", "id": "id", "counts": {"n": ["nope"]}}}, base=Path("."), source="cfg"
        )


def test_bad_yaml_reports_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\ncustomers: [unclosed\n")
    with pytest.raises(ScoringError, match=r"bad.yaml, line \d+: not valid YAML"):
        load_yaml(p)
    with pytest.raises(ScoringError, match="config file not found"):
        load_yaml(tmp_path / "none.yaml")


def test_counts_sum_flags(tiny: Path) -> None:
    c = load_customers(
        _mapping(
            tiny,
            flags={"a": {"column": "active", "true_values": ["Yes"]}, "g": {"column": "plan", "true_values": ["gold"]}},
            counts={"n": ["a", "g"]},
        )
    )
    np.testing.assert_array_equal(c["n"].to_numpy(), [1.0, 1.0, 1.0])


def test_derived_columns_use_the_rule_language(tiny: Path) -> None:
    m = _mapping(
        tiny,
        numeric={"arpu": "arpu", "total": {"column": "total", "blank": 0}},
        flags={"active": {"column": "active", "true_values": ["Yes"]}},
        categories={"plan": "plan"},
        derived={
            "annual_arpu": "arpu * 12",
            "gold_or_big": "plan == 'gold' OR annual_arpu > 300",  # a derived column may use an earlier one
            "band": "where(arpu >= 20, 'high', 'low')",
        },
    )
    c = load_customers(m)
    assert c["annual_arpu"].tolist() == [126.0, 240.0, 360.0]
    assert c["gold_or_big"].dtype == bool and c["gold_or_big"].tolist() == [False, True, True]
    assert c["band"].tolist() == ["low", "high", "high"]


def test_a_derived_column_naming_nothing_or_dividing_by_zero_is_refused(tiny: Path) -> None:
    with pytest.raises(MappingError, match="customers.derived.x': rule 'arpuu \\* 2' uses 'arpuu', which is not a column mapped above it; did you mean 'arpu'"):
        load_customers(_mapping(tiny, numeric={"arpu": "arpu"}, derived={"x": "arpuu * 2"}))
    with pytest.raises(MappingError, match="customers.derived.x': rule 'arpu \\*': expected a column name"):
        _mapping(tiny, numeric={"arpu": "arpu"}, derived={"x": "arpu *"}).canonical_names()
    m = _mapping(tiny, numeric={"arpu": "arpu", "total": {"column": "total", "blank": 0}}, derived={"per": "arpu / total"})
    with pytest.raises(MappingError, match="'arpu / total' is missing or infinite in 1 data row\\(s\\) \\(first: 2\\)"):
        load_customers(m)


def test_generated_ids_for_a_table_without_one(tmp_path: Path) -> None:
    p = tmp_path / "noid.csv"
    p.write_text("arpu\n10\n20\n")
    c = load_customers(CustomerMapping.model_validate({"path": p, "id": {"generate": "row_number", "prefix": "C"}, "numeric": {"arpu": "arpu"}}))
    assert c["customer_id"].tolist() == ["C1", "C2"]


def test_separator_and_encoding_are_read_and_a_wrong_one_is_named(tmp_path: Path) -> None:
    p = tmp_path / "semi.csv"
    p.write_text("id;arpu;city\nA;10,5;Koeln\n")
    spec = {"path": p, "id": "id", "categories": {"city": "city"}}
    with pytest.raises(MappingError, match="one column read with separator ',', but the header holds ';'; set 'customers.separator: \";\"'"):
        load_customers(CustomerMapping.model_validate(spec))
    p.write_bytes("id;arpu;city\nA;10,5;K\xf6ln\nB;20;Berlin\n".encode("latin-1"))
    with pytest.raises(MappingError, match="not utf-8 text \\(it holds the byte b'\\\\xf6'\\); set 'customers.encoding'"):
        load_customers(CustomerMapping.model_validate({**spec, "separator": ";"}))
    c = load_customers(CustomerMapping.model_validate({**spec, "separator": ";", "encoding": "latin-1"}))
    assert c["city"].tolist() == ["Köln", "Berlin"]
    with pytest.raises(ValueError, match="unknown text encoding 'latin-9x'"):
        CustomerMapping.model_validate({**spec, "encoding": "latin-9x"})


def test_every_problem_of_a_table_is_reported_at_once(tiny: Path) -> None:
    m = _mapping(
        tiny,
        numeric={"plan_n": "plan", "total": "total", "gone": "no_such_column"},
        lookups={"tier": {"column": "plan", "values": {"basic": 1}}},
        derived={"twice": "plan_n * 2", "fine": "tier + 1", "typo": "totl + 1", "ratio": "arpu / total"},
    )
    with pytest.raises(MappingError) as caught:
        load_customers(m)
    message = str(caught.value)
    assert message.count("\n") == 0 and message.startswith(f"{tiny}: 5 problems: ")
    assert "'totl', which is not a column mapped above it; did you mean 'total'" in message
    for part in ("'customers.numeric.plan_n') has non-numeric value 'basic'", "'customers.numeric.total') is blank in data row 2",
                 "mapped column 'no_such_column'", "'customers.lookups.tier') has value 'gold' in data row 2"):
        assert part in message
    assert "customers.derived.twice" not in message and "customers.derived.ratio" not in message  # built on broken columns: skipped


def test_a_config_extends_another_and_every_key_error_comes_at_once(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "may.csv").write_text("id,arpu\nA,1\n")
    (tmp_path / "base" / "may.yaml").write_text("customers: {path: may.csv, id: id, numeric: {arpu: arpu}}\nother: 1\n")
    (tmp_path / "june.yaml").write_text("extends: base/may.yaml\nother: 2\n")
    merged = load_yaml(tmp_path / "june.yaml")
    assert merged["other"] == 2 and Path(merged["customers"]["path"]) == (tmp_path / "base" / "may.csv").resolve()
    (tmp_path / "loop.yaml").write_text("extends: loop.yaml\n")
    with pytest.raises(ScoringError, match="a config cannot extend itself"):
        load_yaml(tmp_path / "loop.yaml")
    with pytest.raises(ScoringError, match="2 problems: key 'customers.numeric.arpu.colum': unknown key \\(did you mean 'column'\\?\\); key 'customers.idd': unknown key \\(did you mean 'id'\\?\\)"):
        load_mapping({"customers": {"path": "x.csv", "idd": "id", "numeric": {"arpu": {"colum": "a"}}}}, base=tmp_path, source="c.yaml")
