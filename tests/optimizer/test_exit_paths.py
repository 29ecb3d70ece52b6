"""Exit paths of the CLI (issue 16): no plan, an unwritable --out, bad flags, hostile names, kills.

The contract: exit 0 a plan was written; 1 no plan (summary.json says why, no plan.csv); 2
bad input or an unwritable --out (one line, nothing written); 3 the verifier rejected a plan.
Whenever plan.csv and summary.json sit side by side, the summary's sha256 is the plan's.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import importlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.csv
import pytest
from test_cli import OPTIONS, write_case

from optimizer.atomic import LOCK_NAME, default_folder, slug, write_folder
from campaignlab.cli import main
from optimizer.report import printable, write_outputs
from optimizer.result import SolveResult, Status

REPO = Path(__file__).resolve().parents[2]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def optimize(scenario: Path, out: Path, *extra: str) -> int:
    return main(["optimize", str(scenario), "--out", str(out), "--quiet", *extra])


def summary_of(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# ------------------------------------------------------------------ no plan, no plan.csv


def test_summary_lists_the_plan_it_belongs_with(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert optimize(write_case(tmp_path), out) == 0
    files = summary_of(out)["files"]
    assert files == {"plan.csv": {"sha256": sha256(out / "plan.csv"), "bytes": (out / "plan.csv").stat().st_size}}
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME, "plan.csv", "summary.json"]


def test_infeasible_removes_the_plan_an_earlier_run_left(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert optimize(write_case(tmp_path), out) == 0
    assert optimize(write_case(tmp_path, budget=3, min_contacts=1), out) == 1
    summary = summary_of(out)
    assert summary["status"] == "INFEASIBLE" and summary["diagnosis"]["summary"]
    assert not (out / "plan.csv").exists() and summary["files"] == {}


def test_time_limit_without_a_plan_writes_only_the_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    solve_module = importlib.import_module("optimizer.solving")
    out = tmp_path / "out"
    assert optimize(write_case(tmp_path), out) == 0

    def stopped(problem, **_):  # type: ignore[no-untyped-def]
        return SolveResult(Status.TIME_LIMIT, None, None, None, 80.0, 1.0, "highs", "HiGHS test", message="no plan found in time")

    monkeypatch.setattr(solve_module, "solve", stopped)
    assert optimize(write_case(tmp_path), out) == 1
    summary = summary_of(out)
    assert (summary["status"], summary["message"], summary["files"]) == ("TIME_LIMIT", "no plan found in time", {})
    assert not (out / "plan.csv").exists()


# ------------------------------------------------------------------ the output folder


def test_a_later_run_clears_temporaries_a_killed_run_left(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name in (".plan.csv.k1ll3d.tmp", ".summary.json.x9.tmp"):
        (out / name).write_text("half")
    (out / "notes.tmp").write_text("the user's")
    assert optimize(write_case(tmp_path), out) == 0
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME, "notes.tmp", "plan.csv", "summary.json"]


def test_a_second_run_into_a_locked_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with (out / LOCK_NAME).open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another run writing
        assert optimize(write_case(tmp_path), out) == 2
    err = one_error_line(capsys)
    assert f"{out}: another campaignlab run is writing to this folder (lock held); wait for it or choose another --out" in err
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]
    assert optimize(write_case(tmp_path), out) == 0  # released: the next run goes ahead


def test_out_naming_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "taken"
    target.write_text("not a folder")
    assert optimize(write_case(tmp_path), target) == 2
    assert f"{target}: is a file, not a folder; choose another --out" in one_error_line(capsys)
    assert target.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_out_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert optimize(write_case(tmp_path), out) == 2
    finally:
        out.chmod(0o755)
    assert f"{out}: cannot write the outputs here (Permission denied)" in one_error_line(capsys)


def test_full_disk_exits_2_and_keeps_the_old_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    scenario = write_case(tmp_path)
    assert optimize(scenario, out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()

    def full(self, path, *args, **kwargs):  # type: ignore[no-untyped-def]
        Path(path).write_text("customer_id,off")  # half a file, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    def full_arrow(table, file, *args, **kwargs):  # type: ignore[no-untyped-def]
        file.write(b"C0001,off")  # plan.csv's fast writer: half its rows, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    monkeypatch.setattr(pyarrow.csv, "write_csv", full_arrow)
    assert optimize(scenario, out) == 2
    assert f"{out}: cannot write the outputs here (No space left on device)" in one_error_line(capsys)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no temporaries, the old pair intact


def test_a_failing_writer_leaves_nothing_staged(tmp_path: Path) -> None:
    def broken(tmp: Path) -> None:
        raise RuntimeError("a bug, not an output failure")

    def fine(tmp: Path) -> None:
        tmp.write_text("a")

    with pytest.raises(RuntimeError, match="a bug"):  # real bugs are not turned into exit 2
        write_folder(tmp_path, [("a.csv", fine), ("b.csv", broken)], summary=("s.json", lambda files: "{}"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK_NAME]


def wait_for_a_temporary(out: Path, run: subprocess.Popen, old: set[str]) -> None:
    """Poll until ``out`` holds a new ``.tmp`` (the run is staging its files) or the run has ended."""
    while run.poll() is None and not any(name.endswith(".tmp") for name in set(os.listdir(out)) - old):
        time.sleep(0.001)


def test_killed_runs_never_leave_a_mismatched_pair(tmp_path: Path) -> None:
    """SIGKILL real `campaignlab optimize` runs at random moments into one folder.

    Each run has another seed, so its plan differs from the one already there: a plan beside
    an earlier run's summary would fail the sha256 check.
    """
    scenario = tmp_path / "scenario.yaml"

    def reseed(seed: int) -> None:
        # a 1e-3 gap: any plan will do, and each of the 12 runs solves in half the time (the run is then
        # about 1.3 s of start-up and imports, 0.5 s of solve, 30 ms of writing)
        scenario.write_text(f"extends: demo\nname: killed\nsynthetic: {{customers: 1500, seed: {seed}}}\ndo_not_contact: null\n"
                            "solver: {mip_gap: 0.001}\n")

    reseed(100)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "campaignlab", "optimize", str(scenario), "--out", str(out), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.time()
    assert subprocess.run(command, env=env, cwd=tmp_path, timeout=120).returncode == 0
    written_at = (out / "summary.json").stat().st_mtime - start  # the writing ends here, after the solve
    rng = random.Random(16)
    for trial in range(10):
        reseed(trial)
        old = set(os.listdir(out))
        run = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.DEVNULL)
        if trial % 2:  # anywhere in the run
            time.sleep(rng.uniform(0.2, 1.0) * written_at)
        else:  # while writing: once the first temporary appears, within the next 50 ms (writing takes ~30)
            wait_for_a_temporary(out, run, old)
            time.sleep(rng.uniform(0.0, 0.05))
        run.send_signal(signal.SIGKILL)
        run.wait()
        plan, summary = out / "plan.csv", out / "summary.json"
        if plan.exists() and summary.exists():
            assert summary_of(out)["files"]["plan.csv"]["sha256"] == sha256(plan)
    reseed(100)
    assert subprocess.run(command, env=env, cwd=tmp_path, timeout=120).returncode == 0
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME, "plan.csv", "summary.json"]
    assert summary_of(out)["files"]["plan.csv"]["sha256"] == sha256(out / "plan.csv")


# ------------------------------------------------------------------ flags


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["optimize", "--gap", "2"], "argument --gap: must lie in [0, 1) (got 2.0)"),
        (["optimize", "--gap", "inf"], "argument --gap: must lie in [0, 1) (got inf)"),
        (["optimize", "--gap", "-1"], "argument --gap: must lie in [0, 1) (got -1.0)"),
        (["optimize", "--gap", "nan"], "argument --gap: must lie in [0, 1) (got nan)"),
        (["optimize", "--gap", "tight"], "argument --gap: must be a number (got 'tight')"),
        (["optimize", "--time-limit", "0"], "argument --time-limit: must be a finite number > 0 (got 0.0)"),
        (["optimize", "--time-limit", "-1"], "argument --time-limit: must be a finite number > 0 (got -1.0)"),
        (["optimize", "--time-limit", "nan"], "argument --time-limit: must be a finite number > 0 (got nan)"),
        (["optimize", "--time-limit", "inf"], "argument --time-limit: must be a finite number > 0 (got inf)"),
        (["optimize", "--seed", "-3"], "argument --seed: must be a whole number >= 0 (got -3)"),
        (["generate", "--customers", "0", "--out", "x"], "argument --customers: must be a whole number >= 1 (got 0)"),
        (["simulate", "demo", "--replications", "0"], "argument --replications: must be a whole number >= 1 (got 0)"),
        (["simulate", "demo", "--workers", "0"], "argument --workers: must be a whole number >= 1 (got 0)"),
        (["simulate", "demo", "--every-month", "--budget-per-month", "nan"], "argument --budget-per-month: must be a finite number >= 0 (got nan)"),
        (["sweep", "demo", "--workers", "-2"], "argument --workers: must be a whole number >= 1 (got -2)"),
        (["frontier", "demo", "--points", "0"], "argument --points: must be a whole number >= 1 (got 0)"),
        (["inverse", "demo", "--target", "inf"], "argument --target: must be a finite number (got inf)"),
        (["inverse", "demo", "--target", "5", "--tolerance", "0"], "argument --tolerance: must be a finite number > 0 (got 0.0)"),
        (["compare", "demo", "--replications", "1.5"], "argument --replications: must be a whole number (got '1.5')"),
        (["report", "demo", "--points", "-1"], "argument --points: must be a whole number >= 0 (got -1)"),
        (["uplift", "c.yaml", "--out", "x", "--max-rows", "0"], "argument --max-rows: must be a whole number >= 1 (got 0)"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert f"campaignlab {argv[0]}: error: {message}" in capsys.readouterr().err


def test_budgets_must_be_non_negative(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frontier", "demo", "--budgets", "100,-5"]) == 2
    assert "key '--budgets': every value must be a finite number >= 0 (got '100,-5')" in one_error_line(capsys)


# ------------------------------------------------------------------ names on the console


def hostile_case(folder: Path, name: str, offer: str = "data_pack", channel: str = "call") -> Path:
    """The test_cli case with its name, one offer id and the capacity-limited channel's id replaced."""
    scenario = write_case(folder, options=OPTIONS.replace("data_pack", offer).replace("call", channel))
    text = scenario.read_text().replace("name: cli-test", f"name: {json.dumps(name)}")
    scenario.write_text(text.replace("  data_pack:", f"  {json.dumps(offer)}:").replace("  call:", f"  {json.dumps(channel)}:"))
    return scenario


def test_markup_in_names_is_printed_literally(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = hostile_case(tmp_path, "wave [/]", offer="[bold]", channel="[/]")
    assert main(["optimize", str(scenario), "--out", str(tmp_path / "out")]) == 0
    shown = capsys.readouterr().out
    assert "wave [/]" in shown and "channel:[/] *" in shown
    assert summary_of(tmp_path / "out")["scenario"] == "wave [/]"


def test_control_characters_are_escaped_and_long_names_cut(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    long = "w" * 100_000
    start = time.perf_counter()
    assert main(["optimize", str(hostile_case(tmp_path, "wave\x1b[2J" + long)), "--out", str(tmp_path / "out")]) == 0
    assert time.perf_counter() - start < 20  # it took 155 s when rich folded the whole name
    shown = capsys.readouterr().out
    assert "\x1b[2J" not in shown and "wave\\x1b[2J" in shown and long not in shown
    assert summary_of(tmp_path / "out")["scenario"] == "wave\x1b[2J" + long  # the file keeps it whole


def test_printable() -> None:
    assert printable("a\tb\x00") == "a\\tb\\x00"
    assert printable("x" * 100) == "x" * 79 + "…"
    assert printable("y " + "z" * 200, limit=None) == "y " + "z" * 79 + "…"


def test_non_finite_numbers_in_the_summary_become_null(tmp_path: Path) -> None:
    write_outputs(tmp_path, None, {"budget": float("inf"), "limits": [{"shadow_price": float("nan")}]})
    assert summary_of(tmp_path) == {"budget": None, "limits": [{"shadow_price": None}], "files": {}}


# ------------------------------------------------------------------ where files go


@pytest.mark.parametrize(("name", "folder"), [("/etc/cron.d/x", "_etc_cron.d_x"), ("../../up", "_.._up"), ("", "scenario"),
                                              ("wave 3", "wave_3"), ("..", "scenario"), ("a.b-c_d", "a.b-c_d")])
def test_default_folders_stay_under_out(name: str, folder: str) -> None:
    assert slug(name) == folder and default_folder(name) == Path("out") / folder


def test_extends_outside_the_allowed_folders_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "elsewhere" / "secret.yaml"
    secret.parent.mkdir()
    secret.write_text("top-secret-first-line: 1\n")
    work = tmp_path / "work"
    work.mkdir()
    scenario = work / "child.yaml"
    scenario.write_text(f"extends: {secret}\nname: x\n")
    monkeypatch.chdir(work)
    assert optimize(scenario, work / "out") == 2
    err = one_error_line(capsys)
    assert f"key 'extends': {secret} is outside the scenario's folder ({work}) and the working folder; pass --allow-outside to read it" in err
    assert "top-secret" not in err and not (work / "out").exists()


def test_tables_outside_need_allow_outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "options.csv").write_text(OPTIONS)
    work = tmp_path / "work"
    work.mkdir()
    scenario = write_case(work)
    scenario.write_text(scenario.read_text().replace("options: options.csv", "options: ../shared/options.csv"))
    monkeypatch.chdir(work)
    assert optimize(scenario, work / "out") == 2
    assert "key 'options': " in one_error_line(capsys)
    assert optimize(scenario, work / "out", "--allow-outside") == 0


# ------------------------------------------------------------------ CSV neutralisation


def test_plan_keeps_formula_like_ids_raw_and_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    options = OPTIONS.replace("\nA,", "\n=A1,").replace("\nB,", "\n-5,")
    scenario = write_case(tmp_path, options=options)
    out = tmp_path / "out"
    assert optimize(scenario, out) == 0
    plan = pd.read_csv(out / "plan.csv", dtype=str)
    assert {"=A1", "-5"} <= set(plan["customer_id"])  # raw: verify and simulate --plan read it back
    assert main(["verify", str(scenario), str(out / "plan.csv")]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_input_warnings_go_to_stderr_and_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_case(tmp_path)
    scenario.write_text(scenario.read_text().replace("  sms: {}", "  sms: {}\n  cal: {}") + "allow_unused: true\n")
    assert main(["optimize", str(scenario), "--out", str(tmp_path / "out")]) == 0
    warning = "channels.cal: no option uses channel 'cal' (did you mean 'call'?)"
    assert f"campaignlab: warning: {warning}" in capsys.readouterr().err
    assert summary_of(tmp_path / "out")["warnings"] == [warning]


@pytest.mark.parametrize(
    "argv",
    [
        ["contacts", "{scenario}"],
        ["sweep", "{scenario}", "--grid", "budget=50,100", "--workers", "1", "--no-progress"],
        ["compare", "{scenario}", "--score", "max_contacts", "--offers", "data_pack", "--channel", "sms"],
        ["generate", "--customers", "50"],
    ],
)
def test_every_command_refuses_an_out_that_is_a_file(tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "taken"
    target.write_text("mine")
    scenario = str(write_case(tmp_path))
    assert main([a.format(scenario=scenario) for a in argv] + ["--out", str(target)]) == 2
    assert f"{target}: is a file, not a folder; choose another --out" in one_error_line(capsys)
    assert target.read_text() == "mine"
