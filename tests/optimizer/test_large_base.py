"""The chunked generator, categorical-id loading and range-built shards agree with the plain paths."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from optimizer import Problem, Scenario, verify_plan
from campaignlab.cli import main
from optimizer.decompose.shard import _sorted_shards, layout_of, shards_of
from optimizer.demo import CHANNELS, OFFERS, generate_base, scale_limits, write_base
from optimizer.tables import OPTION_KEYS, read_table


def scenario(n: int) -> Scenario:
    template = yaml.safe_load((resources.files("scenarios") / "bundled" / "demo.yaml").read_text(encoding="utf-8"))
    spec = scale_limits(template, n) | {"name": "t", "do_not_contact": None}
    spec["offers"]["data_pack"] = {"min_targets": 3}
    spec["rules"].append({"name": "sms_share", "where": {"channel_id": "sms", "arpu": {">=": 40}}, "max_share": 0.5})
    return Scenario.model_validate(spec)


def written(tmp_path: Path, n: int, seed: int = 3, chunk: int = 700) -> tuple[pd.DataFrame, pd.DataFrame]:
    write_base(n, tmp_path, seed=seed, chunk_customers=chunk)
    return read_table(tmp_path / "options.parquet", categories=OPTION_KEYS), read_table(tmp_path / "customers.parquet")


def test_write_base_is_reproducible_and_chunk_local(tmp_path: Path) -> None:
    a, _ = written(tmp_path / "a", 2000)
    b, _ = written(tmp_path / "b", 2000)
    pd.testing.assert_frame_equal(a, b)
    # the first chunk does not depend on how many customers follow it
    c, _ = written(tmp_path / "c", 1000)
    head = a[a["customer_id"].astype(str) < "C0000700"].reset_index(drop=True)
    pd.testing.assert_frame_equal(head.astype({k: str for k in OPTION_KEYS}), c[c["customer_id"].astype(str) < "C0000700"].reset_index(drop=True).astype({k: str for k in OPTION_KEYS}))


def test_write_base_follows_the_generator_rules(tmp_path: Path) -> None:
    options, customers = written(tmp_path, 2500)
    ref, ref_customers = generate_base(2500, seed=3)
    assert list(options.columns) == list(ref.columns) and list(customers.columns) == list(ref_customers.columns)
    assert customers["customer_id"].tolist() == [f"C{i:07d}" for i in range(2500)]
    assert (customers.dtypes == ref_customers.dtypes).all()
    assert options["p_accept"].between(0.001, 0.95).all()
    costs = options["channel_id"].astype(str).map({c: v[0] for c, v in CHANNELS.items()})
    assert (options["contact_cost"] == costs).all()
    assert (options["offer_cost"] == options["offer_id"].astype(str).map({o: v[0] for o, v in OFFERS.items()})).all()
    # eligibility: who may get which offer through which channel, as in generate_base
    joined = options.astype({k: str for k in OPTION_KEYS}).merge(customers, on="customer_id")
    assert set(joined.loc[joined["offer_id"] == "vip_service", "value_tier"]) == {"premium"}
    assert joined.loc[joined["channel_id"] == "app", "has_app"].all()
    assert joined.loc[joined["channel_id"] == "store", "visits_store"].all()
    assert not options.duplicated(list(OPTION_KEYS)).any()
    # one row group per chunk's options at most a few; rows per customer comparable to the in-memory base
    assert len(options) / 2500 == pytest.approx(len(ref) / 2500, rel=0.05)


def test_write_base_writes_csv_too(tmp_path: Path) -> None:
    options, _ = written(tmp_path / "p", 1500)
    write_base(1500, tmp_path / "c", seed=3, chunk_customers=700, format="csv")
    csv = pd.read_csv(tmp_path / "c" / "options.csv")
    assert np.array_equal(csv["p_accept"].to_numpy(), options["p_accept"].to_numpy())
    assert csv["customer_id"].tolist() == options["customer_id"].astype(str).tolist()


def test_write_base_leaves_nothing_behind_on_failure(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_base(10, tmp_path, format="xlsx")
    assert not list(tmp_path.iterdir())


def test_generate_command_uses_the_chunked_writer_for_large_bases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("optimizer.cli.CHUNKED_CUSTOMERS", 500)
    # 700 customers: above the patched threshold as 800 were, and its plan solves in 2 s where 800's took 12
    assert main(["generate", "--customers", "700", "--seed", "2", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".campaignlab.lock", "customers.parquet", "options.parquet", "scenario.yaml"]
    assert isinstance(read_table(tmp_path / "options.parquet", categories=OPTION_KEYS)["customer_id"].dtype, pd.CategoricalDtype)
    assert main(["optimize", str(tmp_path / "scenario.yaml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0


def same_problem(a: Problem, b: Problem) -> None:
    for name in ("customer", "offer", "channel", "spend", "expected_return", "net_value"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert [lim.name for lim in a.limits] == [lim.name for lim in b.limits]
    for x, y in zip(a.limits, b.limits):
        assert (x.sense, x.rhs, x.unit, x.description) == (y.sense, y.rhs, y.unit, y.description)
        assert np.array_equal(x.coef, y.coef) and (x.index is None) == (y.index is None)
        assert x.index is None or np.array_equal(x.index, y.index)
    pd.testing.assert_frame_equal(a.plan_table(a.net_value > 0), b.plan_table(b.net_value > 0))


@pytest.mark.parametrize("blocked", [False, True])
def test_categorical_ids_give_the_same_problem_as_text_ids(tmp_path: Path, blocked: bool) -> None:
    options, customers = written(tmp_path, 2000)
    assert isinstance(options["customer_id"].dtype, pd.CategoricalDtype)
    dnc = customers["customer_id"].iloc[3:900:11].tolist() if blocked else None
    text = options.astype({k: str for k in OPTION_KEYS})
    cat, plain = (Problem.from_tables(scenario(2000), t, customers, do_not_contact=dnc) for t in (options, text))
    same_problem(cat, plain)
    plan = plain.plan_table(plain.net_value > 1)
    assert verify_plan(cat, plan) == verify_plan(plain, plan)
    assert plan["customer_id"].map(type).eq(str).all()


def test_categorical_ids_are_checked_like_text_ids(tmp_path: Path) -> None:
    options, customers = written(tmp_path, 300)
    options["offer_id"] = options["offer_id"].cat.rename_categories(lambda c: f" {c} ")
    text = options.astype({k: str for k in OPTION_KEYS})
    same_problem(Problem.from_tables(scenario(300), options, customers), Problem.from_tables(scenario(300), text, customers))
    options["channel_id"] = options["channel_id"].cat.rename_categories(lambda c: "" if c == "sms" else c)
    with pytest.raises(Exception, match="missing id") as got:
        Problem.from_tables(scenario(300), options, customers)
    assert got.value.row == int(np.flatnonzero(options["channel_id"].astype(str) == "")[0]) + 1


def test_duplicate_options_are_found_in_categorical_tables(tmp_path: Path) -> None:
    options, customers = written(tmp_path, 300)
    doubled = pd.concat([options, options.iloc[[5]]], ignore_index=True)
    with pytest.raises(Exception, match="duplicate") as got:
        Problem.from_tables(scenario(300), doubled, customers)
    assert got.value.row == len(doubled)


def same_shards(new: list, old: list) -> None:
    assert len(new) == len(old)
    for a, b in zip(new, old):
        assert (a.first, a.n_customers, a.coef.shape) == (b.first, b.n_customers, b.coef.shape)
        for name in ("customer", "offer", "channel", "net", "min_contacts", "max_contacts"):
            x, y = getattr(a, name), getattr(b, name)
            assert x.dtype == y.dtype and np.array_equal(x, y), name
        everyone = np.arange(a.n_options)
        assert np.array_equal(a.table_rows(everyone), b.table_rows(everyone))
        for name in ("indptr", "indices", "data"):
            x, y = getattr(a.coef, name), getattr(b.coef, name)
            assert x.dtype == y.dtype and np.array_equal(x, y), name
        assert len(a.dense) == len(b.dense) and all(np.array_equal(x, y) for x, y in zip(a.dense, b.dense))


@pytest.mark.parametrize("source", ["generate_base", "write_base", "shuffled"])
def test_range_built_shards_equal_globally_sorted_shards(tmp_path: Path, source: str) -> None:
    if source == "write_base":
        options, customers = written(tmp_path, 1500)
    else:
        options, customers = generate_base(1500, seed=4)
        if source == "shuffled":
            options = options.sample(frac=1.0, random_state=1).reset_index(drop=True)
    problem = Problem.from_tables(scenario(1500), options, customers, do_not_contact=customers["customer_id"].iloc[::7].tolist())
    layout = layout_of(problem)
    limits_of = tuple(problem.customers[c].to_numpy().astype(np.int16) for c in ("min_contacts", "max_contacts"))
    for size in (1, 97, 700, 10**6):
        same_shards(shards_of(problem, layout, size), _sorted_shards(problem, layout.sign, size, limits_of, None))
