"""Contact lists: one per channel, agents' call list with attributes, written atomically."""

import pandas as pd
import pytest

from optimizer import solve
from campaignlab.cli import main
from scenarios.contacts import contact_lists, write_contact_lists


@pytest.fixture(scope="module")
def solved(small):
    problem = small.problem()
    return problem, solve(problem).plan


def test_lists_cover_the_plan(solved):
    problem, plan = solved
    lists = contact_lists(problem, plan)
    assert set(lists) == set(problem.channel_ids)
    assert sum(len(t) for t in lists.values()) == len(plan)
    call = lists["call"]
    assert len(call) == int((plan["channel_id"] == "call").sum()) > 0
    assert list(call["priority"]) == list(range(1, len(call) + 1))
    assert call["expected_net_value"].is_monotonic_decreasing
    for column in ("stage", "value_tier", "segment", "arpu", "contract", "offer_id", "p_accept"):
        assert column in call.columns
    assert "max_contacts" not in call.columns
    assert "arpu" not in lists["sms"].columns and len(lists["sms"]) > 0


def test_write_csv_and_parquet(solved, tmp_path):
    problem, plan = solved
    lists = contact_lists(problem, plan)
    paths = write_contact_lists(lists, tmp_path, "parquet")
    assert {p.name for p in paths} == {f"{c}_list.parquet" for c in problem.channel_ids}
    assert len(pd.read_parquet(tmp_path / "call_list.parquet")) == len(lists["call"])


def test_cli_contacts_from_a_plan_and_bad_plans(fixtures, solved, tmp_path, capsys):
    _, plan = solved
    plan.to_csv(tmp_path / "plan.csv", index=False)
    assert main(["contacts", str(fixtures / "small.yaml"), "--plan", str(tmp_path / "plan.csv"), "--out", str(tmp_path / "lists")]) == 0
    call = pd.read_csv(tmp_path / "lists" / "call_list.csv")
    assert len(call) == int((plan["channel_id"] == "call").sum())
    # a plan breaking the call capacity: refused, nothing written
    over = pd.concat([plan, plan.assign(channel_id="call")]).drop_duplicates(["customer_id", "offer_id", "channel_id"])
    over.to_csv(tmp_path / "over.csv", index=False)
    code = main(["contacts", str(fixtures / "small.yaml"), "--plan", str(tmp_path / "over.csv"), "--out", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert code == 2 and "breaks the scenario's limits" in err and not (tmp_path / "bad").exists()


def test_csv_lists_neutralise_formulas_and_ids_make_safe_file_names(tmp_path):
    """Contact lists are opened in spreadsheets: a leading = + - @ (or tab, CR) in a text cell gets a quote."""
    lists = {
        "call": pd.DataFrame({"priority": [1, 2, 3], "customer_id": ["=HYPERLINK(\"x\")", "-5", "C7"], "expected_net_value": [-1.5, 2.0, 3.0]}),
        "../sms": pd.DataFrame({"priority": [1], "customer_id": ["@A"], "expected_net_value": [0.5]}),
    }
    paths = write_contact_lists(lists, tmp_path / "lists", "csv")
    assert [p.name for p in paths] == ["call_list.csv", "_sms_list.csv"] and all(p.parent == tmp_path / "lists" for p in paths)
    call = pd.read_csv(paths[0], dtype={"customer_id": str})
    assert list(call["customer_id"]) == ["'=HYPERLINK(\"x\")", "'-5", "C7"]
    assert list(call["expected_net_value"]) == [-1.5, 2.0, 3.0]  # numbers stay numbers
    assert pd.read_csv(paths[1])["customer_id"].tolist() == ["'@A"]
    raw = write_contact_lists(lists, tmp_path / "parquet", "parquet")  # Parquet keeps values raw
    assert pd.read_parquet(raw[0])["customer_id"].tolist() == ["=HYPERLINK(\"x\")", "-5", "C7"]


def test_chosen_columns_and_the_offers_script_reach_every_list(solved):
    import dataclasses

    problem, plan = solved
    offers = dict(problem.scenario.offers)
    first = next(iter(offers))
    offers[first] = offers[first].model_copy(update={"script": "RET-07 bill credit"})
    scripted = dataclasses.replace(problem, scenario=problem.scenario.model_copy(update={"offers": offers}))
    lists = contact_lists(scripted, plan, ["arpu", "stage"])
    for channel, table in lists.items():
        assert list(table.columns[:4]) == ["priority", "customer_id", "offer_id", "offer_script"], channel
        assert {"arpu", "stage"} <= set(table.columns) and "segment" not in table.columns
        assert (table.loc[table["offer_id"] == first, "offer_script"] == "RET-07 bill credit").all()
    with pytest.raises(Exception, match="'arpuu' is not a customers column; did you mean 'arpu'"):
        contact_lists(problem, plan, ["arpuu"])
