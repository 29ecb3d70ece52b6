"""The approval report: content, self-containment, and a render in real headless Chromium."""

import html
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from scenarios.cli import main
from scenarios.report import build_report, headline_figures, render_html, write_report

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def report(small, tmp_path_factory):
    data = build_report(small, frontier_points=4, workers=1)
    page = render_html(data)
    path = write_report(tmp_path_factory.mktemp("report") / "report.html", page)
    return data, page, path


def test_sections_and_self_containment(report):
    data, page, _ = report
    for anchor in ("headline", "allocation", "limits", "rules", "frontier", "comparison", "fingerprint"):
        assert f'id="{anchor}"' in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert page.count('src="data:image/png;base64,') >= 5
    for value in headline_figures(data.summary).values():
        assert value in page
    assert data.fingerprint["plan_sha256"] in page
    assert all(sha in page for sha in data.fingerprint["inputs_sha256"].values())


def test_rule_effects_are_re_solves(report):
    data, _, _ = report
    rules = data.rules.set_index("limit")
    assert rules.loc["growth_light_touch", "method"] == "re-solved without the rule"
    assert rules.loc["growth_light_touch", "contacts removed"] >= 0
    assert rules.loc["growth_light_touch", "net value it costs"] >= -1e-3 * data.summary["objective"]
    assert "exclusion handset_contract + bill_credit_contract" in rules.index


def test_report_of_an_infeasible_scenario_is_exit_1_with_nothing_written(fixtures, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", str(fixtures / "all_infeasible.yaml"), "--out", str(out), "--points", "0"]) == 1
    err = capsys.readouterr().err
    assert "INFEASIBLE" in err and "no report written" in err and "must_call" in err and err.count("\n") == 1
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_renders_in_headless_chromium_without_console_errors(report):
    data, _, path = report
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--dump-dom", path.resolve().as_uri()],
            check=False, capture_output=True, text=True, timeout=120,
        )
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    assert "<h1>Campaign plan: small_10088</h1>" in dom
    for label, value in headline_figures(data.summary).items():
        assert label in dom and value in dom
    # page console messages are logged as CONSOLE(line) "message"; none may appear
    console = [line for line in run.stderr.splitlines() if re.search(r"CONSOLE\(\d+\)|Uncaught|Refused to load", line)]
    assert not console, console


def test_simulate_puts_the_plan_test_of_this_plan_in_the_report(small):
    data = build_report(small, frontier_points=0, simulate=True, replications=3)
    test = data.simulated
    # the very plan the report approves, replayed on the same base
    assert test.planned["net_value"] == pytest.approx(data.summary["objective"], rel=1e-9)
    page = render_html(data)
    assert 'id="plan-test"' in page and "What the simulation assumed" in page
    assert f"{test.simulated['net_value']['mean']:,.0f} yuan" in page
    assert f"{test.replications} replications" in page and f"{test.horizon_months}-month horizon" in page
    for gap in test.gaps:  # each difference is explained beside it
        assert html.escape(gap["causes"][0]) in page


def test_ids_with_dollar_signs_are_labels_not_mathtext():
    """An offer id `$x^$` made matplotlib's mathtext parser fail while drawing the report's plots."""
    import io

    import pandas as pd

    from scenarios.inputs import ScenarioInputs

    options = pd.read_csv(io.StringIO(
        "customer_id,offer_id,channel_id,p_accept,value,contact_cost,offer_cost\n"
        "A,$x^$,sms,0.5,40,1,10\nA,$x^$,$c$,0.8,40,4,10\nB,bill,$c$,0.6,100,4,30\nC,bill,sms,0.1,100,1,30\n"
    ), dtype={"customer_id": str})
    data = {"name": "$wave^$", "budget": 100, "channels": {"$c$": {"capacity": 1}, "sms": {}},
            "offers": {"$x^$": {"max_targets": 5}, "bill": {}}}
    page = render_html(build_report(ScenarioInputs.from_tables(data, options), frontier_points=2, workers=1))
    assert "$x^$" in page and "$wave^$" in page
