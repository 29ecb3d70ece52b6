"""``campaignlab simulate`` through its hook functions: outputs, exit codes, messages."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pytest
import yaml

from campaignlab.cli import build_parser
from simulation import cli

SCENARIO = {
    "name": "cli_small",
    "horizon_months": 4,
    "population": {"customers": 2000, "gross_adds_per_month": 30},
    "call_centre": {"seats": 3, "inbound_calls_per_hour": 2},
    "strategies": {
        "none": {"type": "do_nothing"},
        "drop": {"type": "rule", "rule": "usage_drop OR contract_months_left <= 1"},
    },
    "baseline": "none",
    "replications": 2,
    "seed": 4,
}


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["simulate", *argv])


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_writes_every_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = cli.run(
        _args(
            str(_write(tmp_path, SCENARIO)),
            "--out",
            str(out),
            "--workers",
            "2",
            "--replications",
            "3",
        )
    )
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        ".campaignlab.lock",  # held while writing (optimizer.atomic.write_folder)
        "callcentre.png",
        "comparison.csv",
        "ranking.csv",
        "retention.png",
        "summary.csv",
        "timeseries.parquet",
        "totals.csv",
        "totals.parquet",
    ]
    totals = pd.read_parquet(out / "totals.parquet")
    assert sorted(totals["replication"].unique()) == [0, 1, 2]
    assert set(totals["strategy"]) == {"none", "drop"}
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert len(ts) == 3 * 2 * 4
    comp = pd.read_csv(out / "comparison.csv")
    assert set(comp["strategy"]) == {"drop"} and "incremental_roi" in set(comp["kpi"])
    assert (out / "retention.png").read_bytes()[:4] == b"\x89PNG"
    assert "cli_small: 2 strategies x 3 replications" in capsys.readouterr().out
    # Same seed, same results.
    out2 = tmp_path / "out2"
    assert cli.run(_args(str(_write(tmp_path, SCENARIO)), "--out", str(out2), "--replications", "3")) == 0
    pd.testing.assert_frame_equal(totals, pd.read_parquet(out2 / "totals.parquet"))


@pytest.mark.parametrize(
    ("change", "argv", "message"),
    [
        ({"call_centre": {"seats": 0}}, [], "call_centre.seats: (=0) must be > 0: strategy 'drop'"),
        ({"horizon_months": 0}, [], "horizon_months: (=0) must be > 0"),
        ({"strategies": {"x": {"type": "nope"}}}, [], "strategies.x.type: (='nope') is not"),
        ({"replications": 0}, [], "replications: (=0) must be an integer >= 1"),  # flags: tests/optimizer/test_exit_paths.py
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict, argv: list[str], message: str
) -> None:
    data = {**SCENARIO, **change}
    out = tmp_path / "out"
    code = cli.run(_args(str(_write(tmp_path, data)), "--out", str(out), *argv))
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and message in err, err
    assert not out.exists()  # nothing half-written


def test_missing_scenario_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(_args("/no/such/file.yaml")) == 2
    assert "scenario: (='/no/such/file.yaml') is neither a file" in capsys.readouterr().err


def test_default_folder_is_a_slug_of_the_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --out, a name like `../../escape` writes under ./out, never outside the working folder."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    data = {**SCENARIO, "name": "../../escape", "horizon_months": 2, "population": {"customers": 300, "gross_adds_per_month": 5}}
    assert cli.run(_args(str(_write(tmp_path, data)), "--replications", "1", "--no-progress")) == 0
    assert (work / "out" / "_.._escape" / "ranking.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "scenario.yaml"]
