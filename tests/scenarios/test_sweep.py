"""Sweeps: grid parsing, validation before solving, the results table, parallel workers."""

import pandas as pd
import pytest

from optimizer import InputError
from campaignlab.cli import main
from scenarios.sweep import parse_grid, sweep, write_table


def test_parse_grid_lists_ranges_and_null():
    grid = parse_grid(["budget=1000,2000,null", "channels.call.capacity=20:60:3", "min_roi=0:0.5:2"])
    assert grid == {"budget": [1000, 2000, None], "channels.call.capacity": [20, 40, 60], "min_roi": [0.0, 0.5]}


def test_small_grid_in_two_processes(small, tmp_path):
    grid = {"budget": [600, 1800], "channels.call.capacity": [20, 62]}
    table = sweep(small, grid, workers=2)
    assert list(table[["budget", "channels.call.capacity"]].itertuples(index=False, name=None)) == [
        (600, 20), (600, 62), (1800, 20), (1800, 62)
    ]
    assert (table["status"] == "OPTIMAL").all() and table["verified"].all()
    for column in ("objective", "bound", "gap", "spend", "expected_return", "roi", "contacts", "shadow:budget", "usage:channel:call"):
        assert column in table.columns
    assert (table["spend"] <= table["budget"] + 1e-6).all()
    assert (table["usage:channel:call"] <= table["channels.call.capacity"]).all()
    # more budget or more seats never lowers the optimum (up to the 0.1% gap)
    obj = table.set_index(["budget", "channels.call.capacity"])["objective"]
    tol = 1e-3 * obj.abs().max()
    assert obj[(1800, 62)] >= obj[(600, 62)] - tol and obj[(1800, 62)] >= obj[(1800, 20)] - tol
    paths = write_table(table, tmp_path, "sweep")
    assert [p.name for p in paths] == ["sweep.parquet", "sweep.csv"]
    back = pd.read_parquet(paths[0])
    assert back.shape == table.shape and pd.read_csv(paths[1]).shape == table.shape


def test_sweep_of_offer_limits_and_policy_keys(small):
    table = sweep(small, {"offers.vip_service.max_targets": [0], "rules.growth_light_touch.max": [0]})
    assert table.loc[0, "usage:offer:vip_service:max_targets"] == 0 and table.loc[0, "usage:growth_light_touch"] == 0


@pytest.mark.parametrize(
    "grid, message",
    [
        ({"budgett": [1]}, r"unknown scenario key 'budgett' \(did you mean 'budget'\?\)"),
        ({"channels.fax.capacity": [1]}, r"unknown channel 'fax'; known: call, sms, app, store"),
        ({"channels.call.seats": [1]}, r"unknown channel field 'seats'"),
        ({"offers.data_pack": [1]}, r"give offers.<id>.<field>"),
        ({"rules.nope.max": [1]}, r"unknown rule 'nope'"),
        ({}, r"the grid is empty"),
        ({"budget": []}, r"key 'budget': the grid axis has no values"),
        ({"budget": [100, -5]}, r"grid point budget=-5: .*greater than or equal to 0"),
    ],
)
def test_bad_grids_are_errors_before_any_solve(small, grid, message):
    with pytest.raises(InputError, match=message):
        sweep(small, grid)


def test_cli_sweep_writes_both_tables(fixtures, tmp_path, capsys):
    code = main(["sweep", str(fixtures / "small.yaml"), "--grid", "budget=900,1800", "--out", str(tmp_path), "--workers", "1", "--no-progress"])
    assert code == 0
    assert len(pd.read_csv(tmp_path / "sweep.csv")) == 2 and (tmp_path / "sweep.parquet").is_file()


@pytest.mark.parametrize("grid", ["budgett=1", "budget=", "budget"])
def test_cli_bad_grid_exit_2_nothing_written(fixtures, tmp_path, capsys, grid):
    out = tmp_path / "out"
    code = main(["sweep", str(fixtures / "small.yaml"), "--grid", grid, "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("campaignlab sweep: error:") and err.count("\n") == 1
    assert not out.exists()
