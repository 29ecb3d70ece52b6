"""extends: deep merge, lists replaced, cycles and missing parents, errors naming the file."""

from pathlib import Path

import pytest
import yaml

import optimizer.problem
from optimizer import InputError, load_scenario, solve, verify_plan
from scenarios.cli import main
from optimizer.scenario_file import bundled_path, deep_merge, load_merged


def test_deep_merge_merges_mappings_and_replaces_lists():
    base = {"a": {"x": 1, "y": {"p": 1}}, "rules": [1, 2], "b": 3}
    child = {"a": {"y": {"q": 2}}, "rules": [9], "b": None}
    assert deep_merge(base, child) == {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "rules": [9], "b": None}
    assert base == {"a": {"x": 1, "y": {"p": 1}}, "rules": [1, 2], "b": 3}  # inputs untouched


def test_child_overrides_keep_the_rest_of_the_parent(fixtures):
    scenario, base = load_scenario(fixtures / "small.yaml")
    parent, _ = load_scenario(bundled_path("outbound_10088"))
    assert scenario.name == "small_10088" and scenario.budget == 1800
    assert scenario.channels["call"].capacity == 62
    assert scenario.channels["call"].max_per_customer == parent.channels["call"].max_per_customer == 1
    assert scenario.offers["handset_contract"].max_targets == 9
    assert scenario.offers["handset_contract"].min_roi == parent.offers["handset_contract"].min_roi  # merged
    assert scenario.min_roi == parent.min_roi and scenario.exclusions == parent.exclusions
    assert [r.max for r in scenario.rules] == [5, 0]  # the list was replaced whole
    assert base == fixtures


def test_null_removes_a_parent_value(tmp_path):
    (tmp_path / "child.yaml").write_text("extends: outbound_10088\nname: no_budget\nbudget: null\n")
    scenario, _ = load_scenario(tmp_path / "child.yaml")
    assert scenario.budget is None


def test_bundled_what_ifs_extend_the_10088_wave():
    base, _ = load_scenario(bundled_path("outbound_10088"))
    cut, _ = load_scenario(bundled_path("budget_cut"))
    seats, _ = load_scenario(bundled_path("seat_cut"))
    assert cut.budget < base.budget and cut.channels == base.channels
    assert seats.channels["call"].capacity < base.channels["call"].capacity and seats.budget == base.budget
    assert seats.channels["call"].max_per_customer == 1
    for name in ("budget_cut", "seat_cut"):
        assert "extends" in yaml.safe_load(bundled_path(name).read_text())


def test_cycle_is_an_error_naming_the_file_and_key(fixtures):
    with pytest.raises(InputError, match=r"extends forms a cycle: cycle_a.yaml -> cycle_b.yaml -> cycle_a.yaml") as info:
        load_scenario(fixtures / "cycle_a.yaml")
    assert info.value.key == "extends" and info.value.file.endswith("cycle_b.yaml")


def test_missing_parent_is_an_error_naming_the_file_and_key(fixtures):
    with pytest.raises(InputError, match=r"missing_parent.yaml, key 'extends': the parent scenario 'no_such_base.yaml' does not exist"):
        load_scenario(fixtures / "missing_parent.yaml")


def test_validation_error_names_the_parent_that_set_the_key(fixtures):
    with pytest.raises(InputError, match=r"wrong_parent_typo.yaml, line 5, key 'channels.call.capacitty': unknown key \(did you mean 'capacity'\?\)"):
        load_scenario(fixtures / "wrong_child_of_typo.yaml")


def test_parent_table_paths_stay_relative_to_the_parent(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "dnc.csv").write_text("customer_id\nC0000001\n")
    (data / "base.yaml").write_text(
        "extends: outbound_10088\nname: with_dnc\nsynthetic: {customers: 50, seed: 1}\ndo_not_contact: dnc.csv\n"
    )
    (tmp_path / "child.yaml").write_text("extends: data/base.yaml\nname: child\n")
    merged = load_merged(tmp_path / "child.yaml")
    assert Path(merged.data["do_not_contact"]) == (data / "dnc.csv").resolve()
    assert [p.name for p in merged.files] == ["child.yaml", "base.yaml", "outbound_10088.yaml"]


def test_load_problem_follows_extends_and_hashes_every_file(fixtures):
    problem = optimizer.problem.load_problem(fixtures / "small.yaml")
    assert problem.scenario.budget == 1800 and problem.n_customers == 600
    assert {"scenario", "scenario parent 1"} <= set(problem.sources)
    result = solve(problem)
    assert verify_plan(problem, result.plan).ok


def test_cli_reports_a_cycle_in_one_line_with_exit_2(fixtures, tmp_path, capsys):
    code = main(["sweep", str(fixtures / "cycle_a.yaml"), "--grid", "budget=1", "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cycle" in err
    assert not (tmp_path / "out").exists()
