"""Issue 16, input side: every bad scenario or table gives one short InputError, fast.

Each test is a defect the mutation campaign found, kept as its regression test: numbers too
large to hold, names that match nothing, booleans and non-finite numbers where a number is
meant, NaN attributes under a rule, costs beyond the documented range, an empty base after the
do-not-contact list, pathological YAML, huge names, and time limits on every solver call.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from optimizer import InputError, Problem, Scenario, Status, load_problem, load_scenario, solve, verify_plan
from campaignlab.cli import main
from optimizer.decompose import solve_decomposed
from optimizer.model import build_model
from optimizer.scenario import MAX_AMOUNT

from test_bad_input import BASE_OPTIONS, where, write_case, write_table


def scenario_of(**keys: Any) -> Scenario:
    return Scenario.model_validate({"name": "t", "channels": {"sms": {}, "call": {}}, "offers": {"data_pack": {}, "bill_credit": {}}, **keys})


def customers_with(column: str, values: list[Any]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["c1", "c2", "c3"], column: values})


# --------------------------------------------------------------------------------------
# 1. Counts too large to hold are refused, not wrapped to a negative minimum


def test_min_targets_beyond_int64_is_an_error(tmp_path: Path) -> None:
    path, _ = write_case(tmp_path, offers={"data_pack": {"min_targets": 10**19}, "bill_credit": {}})
    with pytest.raises(InputError, match=where(str(path), "key 'offers.data_pack.min_targets'", "less than or equal to 1000000000000")):
        load_problem(path)


def test_min_contacts_beyond_int64_in_the_customers_table_is_an_error(tmp_path: Path) -> None:
    customers = customers_with("min_contacts", ["0", "10000000000000000000", "0"])
    path, _ = write_case(tmp_path, customers_table=customers)
    with pytest.raises(InputError, match=where("customers.csv", "row 2 (line 3)", "column 'min_contacts'", "out of range")):
        load_problem(path)


def test_min_targets_above_the_options_of_the_offer_is_infeasible_and_says_so() -> None:
    # data_pack has 3 options over 2 customers: 5 targets cannot be met
    problem = Problem.from_tables(scenario_of(offers={"data_pack": {"min_targets": 5}, "bill_credit": {}}), BASE_OPTIONS)
    result = solve(problem)
    assert result.status is Status.INFEASIBLE
    assert "offer:data_pack:min_targets" in result.message and "against a minimum of 5" in result.message


# --------------------------------------------------------------------------------------
# 2. Names that match nothing: an error with a "did you mean", a warning in a template


UNUSED = [
    ({"channels": {"sms": {}, "call": {}, "cal": {"capacity": 100}}}, "channels.cal", "no option uses channel 'cal' (did you mean 'call'?)"),
    ({"offers": {"data_pack": {}, "bill_credit": {}, "data_pak": {"max_targets": 0}}}, "offers.data_pak", "no option has offer 'data_pak' (did you mean 'data_pack'?)"),
    ({"rules": [{"name": "r", "where": {"channel_id": "smss"}, "max": 1}]}, "rules.r.where.channel_id", "'channel_id' = 'smss' (did you mean 'sms'?)"),
    ({"rules": [{"name": "r", "where": {"channel_id": {"in": ["sms", "cal"]}}, "max": 1}]}, "rules.r.where.channel_id", "'cal' (did you mean 'call'?)"),
    ({"rules": [{"name": "r", "where": {"offer_id": {"not_in": ["bill_credt"]}}, "max": 1}]}, "rules.r.where.offer_id", "'bill_credt' (did you mean 'bill_credit'?)"),
    ({"do_not_contact": ["c1", "c9"]}, "do_not_contact", "'c9' is not a customer"),
]


@pytest.mark.parametrize(("keys", "key", "rule"), UNUSED)
def test_a_name_that_matches_nothing_is_an_error(tmp_path: Path, keys: dict[str, Any], key: str, rule: str) -> None:
    path, _ = write_case(tmp_path, **keys)
    with pytest.raises(InputError, match=where(str(path), f"key '{key}'", rule, "allow_unused: true")):
        load_problem(path)


@pytest.mark.parametrize(("keys", "key", "rule"), UNUSED)
def test_a_template_turns_it_into_a_warning(keys: dict[str, Any], key: str, rule: str) -> None:
    problem = Problem.from_tables(scenario_of(allow_unused=True, **keys), BASE_OPTIONS)
    assert len(problem.warnings) == 1 and problem.warnings[0].startswith(f"{key}: ") and rule in problem.warnings[0]
    assert verify_plan(problem, solve(problem).plan).ok


def test_a_rule_value_on_a_customer_attribute_is_checked_too() -> None:
    customers = customers_with("stage", ["growth", "decline", "growth"])
    with pytest.raises(InputError, match=where("rules.r.where.stage", "'stage' = 'grwth' (did you mean 'growth'?)")):
        Problem.from_tables(scenario_of(rules=[{"name": "r", "where": {"stage": "grwth"}, "max": 1}]), BASE_OPTIONS, customers)


def test_a_do_not_contact_id_is_checked_against_the_customers_table() -> None:
    customers = customers_with("stage", ["growth", "decline", "growth"])
    problem = Problem.from_tables(scenario_of(do_not_contact=["c3"]), BASE_OPTIONS, customers)
    assert problem.removed_by_do_not_contact == 1
    with pytest.raises(InputError, match=where("do_not_contact", "'C3' is not a customer", "did you mean 'c3'")):
        Problem.from_tables(scenario_of(do_not_contact=["C3"]), BASE_OPTIONS, customers)


def test_warnings_given_by_the_scenario_file_come_first() -> None:
    problem = Problem.from_tables(scenario_of(allow_unused=True, do_not_contact=["x"]), BASE_OPTIONS, warnings=("from the file",))
    assert problem.warnings[0] == "from the file" and len(problem.warnings) == 2


# --------------------------------------------------------------------------------------
# 4, 5. Booleans and non-finite numbers are not numbers


@pytest.mark.parametrize(
    ("text", "key", "rule"),
    [
        ("budget: yes", "budget", "a number is needed, not a yes/no"),
        ("channels: {sms: {capacity: true}, call: {}}", "channels.sms.capacity", "a number is needed"),
        ("budget: .inf", "budget", "finite number"),
        ("min_roi: .nan", "min_roi", "finite number"),
        ("rules: [{name: r, max: .nan}]", "rules.0.max", "finite number"),
        ("rules: [{name: r, where: {value: {'>': .nan}}, max: 1}]", "rules.0", "'>' needs a finite number"),
        ("rules: [{name: r, where: {value: {'>=': yes}}, max: 1}]", "rules.0", "'>=' needs a finite number"),
        ("solver: {time_limit: .inf}", "solver.time_limit", "finite number"),
        ("solver: {mip_gap: 1}", "solver.mip_gap", "less than 1"),
        ("budget: 1.0e+13", "budget", "less than or equal to 1000000000000"),
        ("seed: 99999999999", "seed", "less than or equal to"),
        ("simulation: {margin: .nan}", "simulation.margin", "finite number"),
    ],
)
def test_numbers_must_be_finite_numbers_in_range(tmp_path: Path, text: str, key: str, rule: str) -> None:
    path, _ = write_case(tmp_path)
    data = yaml.safe_load(path.read_text()) | yaml.safe_load(text)
    path.write_text(yaml.safe_dump(data) if "yes" not in text else path.read_text() + text + "\n")
    with pytest.raises(InputError, match=where(str(path), f"key '{key}'", rule)) as err:
        load_scenario(path)
    assert "\n" not in str(err.value)


# --------------------------------------------------------------------------------------
# 6. NaN attributes: a rule's filter never matches them; a sum over them is an error


def test_a_nan_attribute_matches_no_condition(tmp_path: Path) -> None:
    customers = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "arpu": [50.0, np.nan, 150.0], "stage": ["a", None, "b"]})
    rules = [
        {"name": "not_rich", "where": {"arpu": {"<": 100}}, "max": 10},
        {"name": "not_fifty", "where": {"arpu": {"!=": 50}}, "max": 10},
        {"name": "not_a", "where": {"stage": {"not_in": ["a"]}}, "max": 10},
    ]
    problem = Problem.from_tables(scenario_of(rules=rules), BASE_OPTIONS, customers)
    matched = {lim.name: sorted(set(problem.options["customer_id"].iloc[lim.index])) for lim in problem.limits}
    # c2's blank arpu and stage are neither < 100, nor != 50, nor outside ["a"]
    assert matched == {"not_rich": ["c1"], "not_fifty": ["c3"], "not_a": ["c3"]}
    result = solve(problem)
    assert verify_plan(problem, result.plan).ok


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_sum_over_a_non_finite_attribute_names_the_row(tmp_path: Path, bad: float) -> None:
    customers = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "arpu": [50.0, bad, 150.0]})
    path, _ = write_case(tmp_path, fmt="parquet", customers_table=customers, rules=[{"name": "r", "sum": "arpu", "max": 100}])
    # inf is refused when the table is read (any attribute); NaN only once a rule sums it
    rule = "infinite values are not allowed" if np.isinf(bad) else "not a finite number"
    with pytest.raises(InputError, match=where("customers.parquet", "row 2", "column 'arpu'", rule)):
        load_problem(path)


def test_no_nan_reaches_a_solver() -> None:
    problem = Problem.from_tables(scenario_of(budget=10), BASE_OPTIONS)
    broken = dataclasses.replace(problem.limits[0], coef=np.array([1.0, np.nan, 1.0, 1.0, 1.0]))
    with pytest.raises(InputError, match="limit 'budget' holds nan where a finite number is needed"):
        build_model(dataclasses.replace(problem, limits=(broken,)))
    net = problem.net_value.copy()
    net[2] = np.inf
    with pytest.raises(InputError, match="the objective"):
        build_model(dataclasses.replace(problem, net_value=net))


# --------------------------------------------------------------------------------------
# 7. Amounts are at most 1e12: within it HiGHS solves exactly, beyond it the input is refused


@pytest.mark.parametrize("column", ["value", "contact_cost", "offer_cost"])
def test_amounts_beyond_the_range_are_refused(tmp_path: Path, column: str) -> None:
    table = BASE_OPTIONS.copy()
    table.loc[2, column] = 1e16
    path, options = write_case(tmp_path, table)
    with pytest.raises(InputError, match=where(str(options), "row 3 (line 4)", f"column '{column}'", "out of range")):
        load_problem(path)


def test_amounts_at_the_edge_of_the_range_solve_exactly() -> None:
    # c1's call option is worth 0.35 x 1e12; everything else is as in the base
    table = BASE_OPTIONS.copy()
    table.loc[1, "value"] = MAX_AMOUNT
    table.loc[4, "offer_cost"] = MAX_AMOUNT
    problem = Problem.from_tables(scenario_of(budget=MAX_AMOUNT, min_roi=0.1), table)
    result = solve(problem)
    assert result.status is Status.OPTIMAL and verify_plan(problem, result.plan).ok
    assert result.objective == pytest.approx(0.35 * MAX_AMOUNT, rel=1e-9)


# --------------------------------------------------------------------------------------
# 8. Everybody on the do-not-contact list: the empty plan, unless a minimum forces a contact


@pytest.mark.parametrize("mode", ["exact", "decompose"])
def test_everybody_blocked_gives_the_empty_plan(mode: str) -> None:
    problem = Problem.from_tables(scenario_of(budget=10, min_roi=0.2, do_not_contact=["c1", "c2", "c3"]), BASE_OPTIONS)
    assert problem.n_options == 0
    result = solve(problem) if mode == "exact" else solve_decomposed(problem)
    assert result.status is Status.OPTIMAL and result.objective == 0.0 and len(result.plan) == 0


def test_everybody_blocked_with_a_minimum_is_infeasible_with_a_diagnosis() -> None:
    scenario = scenario_of(offers={"data_pack": {"min_targets": 1}, "bill_credit": {}}, do_not_contact=["c1", "c2", "c3"])
    result = solve(Problem.from_tables(scenario, BASE_OPTIONS))
    assert result.status is Status.INFEASIBLE and "offer:data_pack:min_targets" in result.message


# --------------------------------------------------------------------------------------
# 9. Pathological YAML is refused in milliseconds, with one line


def _bomb() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\nname: bomb\n"


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        ("name: caf\xe9\n".encode("latin-1"), "not UTF-8 text: byte 9 is b'\\xe9'"),
        (("name: " + "[" * 5000 + "]" * 5000 + "\n").encode(), "nested deeper than 100 levels"),
        (_bomb().encode(), "expands to more than 100,000 values"),
        (b"a: &a [*a]\nname: x\n", "an alias refers to itself"),
        (b"name: x\n---\nname: y\n", "not valid YAML"),
        (b"name: x\n\x01\n", "special characters are not allowed: #x0001 at character 8"),
        (b"- 1\n- 2\n", "a scenario is a YAML mapping"),
    ],
)
def test_pathological_yaml_is_one_line_and_fast(tmp_path: Path, content: bytes, rule: str) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_bytes(content)
    start = time.perf_counter()
    with pytest.raises(InputError, match=where(str(path), rule)) as err:
        load_scenario(path)
    assert time.perf_counter() - start < 5.0
    assert "\n" not in str(err.value) and len(str(err.value)) < 300


def test_an_alias_bomb_through_the_cli_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb())
    assert main(["optimize", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "expands to more than" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_huge_scenario_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text("name: x\n# " + "x" * 10_000_001 + "\n")
    with pytest.raises(InputError, match="a scenario file is at most 10,000,000 bytes"):
        load_scenario(path)


def test_an_error_quotes_a_short_escaped_fragment(tmp_path: Path) -> None:
    path, _ = write_case(tmp_path)
    path.write_text(path.read_text() + 'seed: "' + "\\e[31m" * 20_000 + '"\n')  # YAML's escape for ESC
    with pytest.raises(InputError, match="key 'seed'") as err:
        load_scenario(path)
    assert len(str(err.value)) < 300 and "\x1b" not in str(err.value) and "..." in str(err.value)


def test_a_huge_cell_is_quoted_short(tmp_path: Path) -> None:
    table = BASE_OPTIONS.astype({"value": str})
    table.loc[0, "value"] = "x" * 1_000_000
    path, _ = write_case(tmp_path, table)
    with pytest.raises(InputError, match="is not a number") as err:
        load_problem(path)
    assert len(str(err.value)) < 400


# --------------------------------------------------------------------------------------
# 10. A 100k-character name costs nothing


def test_a_huge_name_loads_and_solves_quickly(tmp_path: Path) -> None:
    long = "w" * 100_000
    path, _ = write_case(tmp_path, name=long, rules=[{"name": long, "where": {"channel_id": "sms"}, "max": 1}])
    start = time.perf_counter()
    problem = load_problem(path)
    assert verify_plan(problem, solve(problem).plan).ok
    assert time.perf_counter() - start < 10.0


# --------------------------------------------------------------------------------------
# The time limit bounds every solver call, the diagnosis of an infeasible scenario included


def test_a_time_limit_bounds_the_diagnosis_too(tmp_path: Path) -> None:
    """An infeasible 300-item knapsack (a minimum above what the weights allow) with 0.5 s."""
    rng = np.random.default_rng(5)
    n = 300
    weights = rng.integers(1, 1000, size=(6, n)).astype(float)
    options = pd.DataFrame(
        dict(
            customer_id=[f"c{i}" for i in range(n)], offer_id="o", channel_id="h", p_accept=1.0,
            value=weights.sum(axis=0) / 6 + rng.integers(0, 500, n), contact_cost=0.0, offer_cost=0.0,
            **{f"w{k}": weights[k] for k in range(6)},
        )
    )
    rules = [{"name": f"knapsack{k}", "sum": f"w{k}", "max": float(weights[k].sum() / 4)} for k in range(6)]
    rules.append({"name": "many", "min": n / 2})
    scenario = Scenario.model_validate({"name": "t", "channels": {"h": {}}, "offers": {"o": {}}, "rules": rules, "solver": {"time_limit": 0.5}})
    start = time.perf_counter()
    result = solve(Problem.from_tables(scenario, options))
    assert result.status is Status.INFEASIBLE
    assert time.perf_counter() - start < 10.0


def test_time_limit_in_the_scenario_is_honoured(tmp_path: Path) -> None:
    path = write_table(tmp_path / "options.csv", BASE_OPTIONS)
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump({"name": "t", "options": path.name, "channels": {"sms": {}, "call": {}},
                                        "offers": {"data_pack": {}, "bill_credit": {}}, "solver": {"time_limit": 0.5}}))
    start = time.perf_counter()
    result = solve(load_problem(scenario))
    assert result.status is Status.OPTIMAL and time.perf_counter() - start < 10.0


def test_a_short_customers_row_is_refused_not_read_as_blanks(tmp_path: Path) -> None:
    """A truncated CSV row used to read as blank cells: its max_contacts became the policy default."""
    (tmp_path / "options.csv").write_text("customer_id,offer_id,channel_id,p_accept,value,contact_cost,offer_cost\n"
                                          "c1,data_pack,sms,0.5,10,0.1,1\nc2,data_pack,sms,0.5,10,0.1,1\n")
    (tmp_path / "customers.csv").write_text("customer_id,stage,max_contacts\nc1,growth,0\nc2,growth\n")
    (tmp_path / "s.yaml").write_text("name: t\noptions: options.csv\ncustomers: customers.csv\n"
                                     "channels: {sms: {}}\noffers: {data_pack: {}}\n")
    with pytest.raises(InputError, match=where("customers.csv", "row 2 (line 3)", "column 'max_contacts'", "2 cells, the header 3")):
        load_problem(tmp_path / "s.yaml")
