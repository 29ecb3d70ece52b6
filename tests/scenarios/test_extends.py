"""extends: deep merge, lists replaced or edited (rules+, rules-), cycles and missing parents, errors naming the file."""

import re
from pathlib import Path

import pytest
import yaml

import optimizer.problem
from optimizer import InputError, load_scenario, solve, verify_plan
from campaignlab.cli import main
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


# --------------------------------------------------------------------------------------
# List edits: rules+ / rules- and exclusions+ / exclusions- (issue 16)


def _child(tmp_path, text):
    path = tmp_path / "child.yaml"
    path.write_text("extends: outbound_10088\nname: child\n" + text)
    return path


def test_rules_plus_appends_to_the_inherited_rules(tmp_path):
    path = _child(tmp_path, "rules+:\n  - {name: few_sms, where: {channel_id: sms}, max: 100}\n")
    scenario, _ = load_scenario(path)
    assert [r.name for r in scenario.rules] == ["growth_light_touch", "no_calls_to_flea", "few_sms"]
    assert load_merged(path).warnings == ()


def test_rules_minus_removes_by_name_before_plus_adds(tmp_path):
    text = "rules-: [growth_light_touch]\nrules+:\n  - {name: growth_light_touch, where: {stage: growth}, max: 7}\n"
    scenario, _ = load_scenario(_child(tmp_path, text))
    assert [(r.name, r.max) for r in scenario.rules] == [("no_calls_to_flea", 0), ("growth_light_touch", 7)]


def test_exclusions_minus_removes_a_pair_in_either_order(tmp_path):
    scenario, _ = load_scenario(_child(tmp_path, "exclusions-: [[bill_credit_contract, handset_contract]]\n"))
    assert scenario.exclusions == []
    scenario, _ = load_scenario(_child(tmp_path, "exclusions+: [[data_pack, family_plan]]\n"))
    assert scenario.exclusions == [("handset_contract", "bill_credit_contract"), ("data_pack", "family_plan")]


@pytest.mark.parametrize(
    ("text", "key", "rule"),
    [
        ("rules-: [no_calls_to_fle]\n", "rules-", r"'no_calls_to_fle' is not an inherited rule \(did you mean 'no_calls_to_flea'\?\)"),
        ("rules+: [{name: no_calls_to_flea, max: 1}]\n", "rules+", r"rule 'no_calls_to_flea' is already inherited"),
        ("exclusions-: [[data_pack, vip_service]]\n", "exclusions-", r"is not an inherited exclusion; inherited: bill_credit_contract\+handset_contract"),
        ("rules+: {name: x}\n", "rules+", r"rules\+ takes a list"),
        ("rules: []\nrules+: []\n", "rules", r"not both"),
        ("budget+: 5\n", "budget+", r"only rules and exclusions take \+ and - edits"),
    ],
)
def test_a_bad_list_edit_names_the_file_and_key(tmp_path, text, key, rule):
    path = _child(tmp_path, text)
    with pytest.raises(InputError, match=rf"child.yaml, key '{re.escape(key)}': .*{rule}"):
        load_scenario(path)


REPLACING = "rules:\n  - {name: few_sms, where: {channel_id: sms}, max: 100}\n"


def test_replacing_inherited_rules_is_a_warning(tmp_path):
    assert load_merged(_child(tmp_path, REPLACING)).warnings == (
        "child.yaml: rules: replaces the 2 inherited rules from outbound_10088.yaml; use rules+: to add and rules-: to remove",
    )
    assert load_merged(_child(tmp_path, "rules: []\n")).warnings == ()  # an empty list clears on purpose


def test_the_warning_reaches_the_problem(tmp_path):
    problem = optimizer.problem.load_problem(_child(tmp_path, REPLACING))
    assert any("replaces the 2 inherited rules" in w for w in problem.warnings)
