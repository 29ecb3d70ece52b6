"""The approval report: content, self-containment, the files beside it, and a render in real headless Chromium."""

import dataclasses
import hashlib
import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from campaignlab.cli import main
from scenarios.report import build_report, write_report
from scenarios.report_html import headline_figures, render_html

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
SMALL = Path(__file__).parent / "fixtures" / "small.yaml"


@pytest.fixture(scope="module")
def report(small, tmp_path_factory):
    data = build_report(small, frontier_points=4, workers=1, author="Li Wei")
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(path, data)
    return data, path.read_text(encoding="utf-8"), path


def dump_dom(path: Path) -> tuple[str, str]:
    """The page as headless Chromium renders it (DOM after layout), and Chromium's log."""
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--dump-dom", path.resolve().as_uri()],
            check=False, capture_output=True, text=True, timeout=120,
        )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout, run.stderr


def test_sections_and_self_containment(report):
    data, page, _ = report
    for anchor in ("headline", "risk", "money", "allocation", "limits", "rules", "frontier", "comparison", "files", "fingerprint", "sign-off"):
        assert f'id="{anchor}"' in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert page.count('src="data:image/png;base64,') >= 7
    assert 'alt="plot"' not in page and page.count('alt="Bar chart: expected spend') >= 3
    for value in headline_figures(data.summary).values():
        assert value in page
    assert all(v["sha256"] in page for v in data.fingerprint["inputs"].values())


def test_the_files_beside_the_page_are_the_ones_it_names(report):
    data, page, path = report
    folder = path.parent
    written = {p.name for p in folder.iterdir() if not p.name.startswith(".")}
    assert {"report.html", "plan.csv", "summary.json", "call_list.csv", "sms_list.csv"} <= written
    plan_sha = hashlib.sha256((folder / "plan.csv").read_bytes()).hexdigest()
    assert f'<code id="plan-sha256">{plan_sha}</code>' in page
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["files"]["plan.csv"]["sha256"] == plan_sha  # as campaignlab optimize writes it
    for name in written - {"report.html"}:
        assert f'<a href="{name}">{name}</a>' in page  # linked relatively
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() in page
    # the whole plan is in plan.csv, every group of it on the page
    assert len(data.allocation) < 500 and "showing" not in page.split('id="allocation"')[1].split("<h2")[0]


def test_rule_effects_are_re_solves(report):
    data, _, _ = report
    rules = data.rules.set_index("limit")
    assert rules.loc["growth_light_touch", "method"] == "re-solved without the rule"
    assert rules.loc["growth_light_touch", "contacts removed"] >= 0
    assert rules.loc["growth_light_touch", "net value it costs"] >= -1e-3 * data.summary["objective"]
    assert rules.loc["growth_light_touch", "at most"] >= rules.loc["growth_light_touch", "net value it costs"]
    assert "exclusion handset_contract + bill_credit_contract" in rules.index


def test_limits_binding_agrees_with_the_shadow_price_and_policy_closures_have_no_price(report):
    from scenarios.report_html import limit_rows

    data, _, _ = report
    rows = {r["name"]: r for r in limit_rows(data)}
    prices = {lim["name"]: lim["shadow_price"] for lim in data.summary["limits"]}
    for name, row in rows.items():
        if row["state"] == "room left":
            assert not prices[name], name  # a limit with room has no price
        if prices[name] and prices[name] > 1e-9 and row["state"] not in ("closed by policy", "not used"):
            assert row["state"].startswith("binds"), name
    # the 10088 wave closes app and store with capacity 0, and flea calls with a max-0 rule
    for name in ("channel:app", "channel:store", "no_calls_to_flea"):
        assert rows[name]["state"] == "closed by policy" and "yuan" not in rows[name]["shadow price in words"]
    budget = rows["budget"]
    if not next(lim for lim in data.summary["limits"] if lim["name"] == "budget")["binding"]:
        assert budget["state"] == "binds in the LP relaxation" and "unused" in budget["shadow price in words"]


def test_report_of_an_infeasible_scenario_is_exit_1_with_nothing_written(fixtures, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", str(fixtures / "all_infeasible.yaml"), "--out", str(out), "--points", "0", "--workers", "1", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "INFEASIBLE" in err and "no report written" in err and "must_call" in err and err.count("\n") == 1
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_renders_in_headless_chromium_with_every_element_of_the_approval(report):
    data, _, path = report
    dom, log = dump_dom(path)
    s = data.summary
    assert "<h1>Campaign plan: small_10088</h1>" in dom
    for label, value in headline_figures(s).items():
        assert label in dom and value in dom
    text = html.unescape(re.sub(r"<[^>]+>", " ", dom))
    text = " ".join(text.split())
    # every figure says what it is, its unit and its horizon
    assert f"95th percentile {s['risk']['spend']['p95']:,.0f} yuan" in text
    assert "required minimum 20.0%" in text  # the scenario's min_roi beside the ROI
    assert "required minimum 10.0%" in text  # handset_contract's
    assert "over the 24-month value horizon" in text and "not a count of customers kept" in text
    assert f"no plan meeting every limit is worth more than {s['bound']:,.0f} yuan" in text
    assert "Budget 1,800 yuan of expected spend" in text
    # risk with its stress table
    assert f"{s['risk']['p_spend_over_budget']:.1%}" in text and "worst-case spend" in text
    for case in s["risk"]["stress"]:
        assert case["case"] in text and f"{case['net_value']:,.0f}" in text
    # money by offer, channel and segment, in yuan
    for heading in ("By offer", "By channel", "By segment", "Expected spend by offer and channel"):
        assert heading in text
    assert "share of spend" in text and "expected spend (yuan)" in text
    # limits in words, binding consistent with the price
    assert "closed by policy (capacity 0)" in text and "would add" in text
    # baselines at equal budget, with their spend
    for _, row in data.comparison.iterrows():
        assert f"{row['spend']:,.0f}" in text
    # frontier with the current budget marked
    assert "Current budget: 1,800 yuan" in text and "current budget 1,800 yuan is marked" in html.unescape(dom)
    # provenance and sign-off
    assert re.search(r"generated \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", text)
    assert "prepared by Li Wei" in text and "10088 outbound retention wave" in text
    assert "Approved by (name and role):" in text and "Signature:" in text and "Date:" in text
    plan_sha = hashlib.sha256((path.parent / "plan.csv").read_bytes()).hexdigest()
    assert plan_sha in text and "sha256sum plan.csv" in text
    # page console messages are logged as CONSOLE(line) "message"; none may appear
    console = [line for line in log.splitlines() if re.search(r"CONSOLE\(\d+\)|Uncaught|Refused to load", line)]
    assert not console, console


def test_a_baseline_that_breaks_a_limit_shows_why(small):
    rules = small.data["rules"] + [{"name": "premium_calls", "where": {"value_tier": "premium", "channel_id": "call"}, "min": 15}]
    inputs = dataclasses.replace(small, data={**small.data, "rules": rules})
    data = build_report(inputs, frontier_points=0, workers=1)
    failed = data.comparison[~data.comparison["verified"]]
    assert len(failed) and data.comparison["verified"].iloc[0]
    page = render_html(data)
    for why in failed["violations"]:
        assert f"fails: {html.escape(why)}" in page and "premium_calls" in why


def test_from_an_optimize_folder_gives_the_same_report_without_solving_the_plan(report, small, tmp_path, monkeypatch):
    from campaignlab.cli import main as campaignlab
    from scenarios import compare, report as report_module, sweep

    fresh, _, _ = report
    assert campaignlab(["optimize", str(SMALL), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    plan = report_module.base_problem(small)
    solved_budgets = []

    def no_plan_solve(problem, *args, **kwargs):
        assert problem is not plan, "the plan was re-solved"
        return real(problem, *args, **kwargs)

    def frontier_solve(problem, *args, **kwargs):
        solved_budgets.append(problem.scenario.budget)
        return real(problem, *args, **kwargs)

    real = report_module.solve
    monkeypatch.setattr(report_module, "solve", no_plan_solve)
    monkeypatch.setattr(sweep, "solve", frontier_solve)
    monkeypatch.setattr(compare, "solve", lambda *a, **k: pytest.fail("compare re-solved the plan"))
    from_run = build_report(small, frontier_points=4, workers=1, from_folder=tmp_path / "run")
    assert small.scenario().budget not in solved_budgets and len(solved_budgets) == 4
    assert headline_figures(from_run.summary) == headline_figures(fresh.summary)
    assert from_run.summary["objective"] == fresh.summary["objective"]
    assert [lim["shadow_price"] for lim in from_run.summary["limits"]] == [lim["shadow_price"] for lim in fresh.summary["limits"]]
    assert from_run.rules.equals(fresh.rules)
    assert from_run.frontier["net_value"].tolist() == fresh.frontier["net_value"].tolist()
    assert from_run.comparison["net_value"].tolist() == fresh.comparison["net_value"].tolist()
    assert from_run.files["plan.csv"] == (tmp_path / "run" / "plan.csv").read_bytes()
    assert "not re-solved" in render_html(from_run)


def test_from_refuses_a_folder_whose_inputs_or_plan_changed(small, tmp_path, capsys):
    from campaignlab.cli import main as campaignlab

    run = tmp_path / "run"
    assert campaignlab(["optimize", str(SMALL), "--out", str(run), "--quiet"]) == 0
    out = tmp_path / "report" / "report.html"
    args = ["report", str(SMALL), "--from", str(run), "--out", str(out), "--points", "0", "--workers", "1", "--no-progress"]
    summary = json.loads((run / "summary.json").read_text())
    summary["inputs_sha256"]["scenario"] = "0" * 64
    (run / "summary.json").write_text(json.dumps(summary))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert str(SMALL) in err and "has changed since the plan was made" in err and err.count("\n") == 1
    assert campaignlab(["optimize", str(SMALL), "--out", str(run), "--quiet"]) == 0
    with (run / "plan.csv").open("a") as handle:
        handle.write("\n")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "plan.csv" in err and "does not belong with summary.json" in err
    assert main(["report", str(SMALL), "--from", str(tmp_path / "nowhere"), "--out", str(out), "--points", "0"]) == 2
    assert "no summary.json here" in capsys.readouterr().err
    assert not out.parent.exists()


def test_cli_report_from_its_own_folder(small, tmp_path, capsys):
    out = tmp_path / "approval" / "report.html"
    base = ["--points", "0", "--workers", "1", "--no-progress", "--author", "Chen"]
    assert main(["report", str(SMALL), "--out", str(out), *base]) == 0
    first = (out.parent / "plan.csv").read_bytes()
    assert main(["report", str(SMALL), "--from", str(out.parent), "--out", str(out), *base]) == 0
    assert (out.parent / "plan.csv").read_bytes() == first
    page = out.read_text()
    assert "Chen" in page and hashlib.sha256(first).hexdigest() in page
    assert "wrote" in capsys.readouterr().out


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
    assert "$x^$" in page and "$wave^$" in page and "over the horizon the option values were computed for" in page


def test_a_chance_budget_and_a_holdout_are_in_the_headline_risk_and_holdout_sections(small):
    data = {**small.data, "budget": {"amount": 1800, "confidence": 0.95}, "holdout": {"share": 0.1, "baseline_rate": 0.12}}
    report = build_report(dataclasses.replace(small, data=data), frontier_points=0, workers=1)
    budget = report.summary["budget"]
    assert budget["kind"] == "chance"
    page = render_html(report)
    statement = page.split('id="budget-statement">')[1].split("</p>")[0]
    assert statement.startswith("Budget 1,800 yuan held with 95% probability")
    assert f"the price of that certainty is {budget['price_of_certainty']:,.0f} yuan".lower() in statement.lower()
    assert page.count("held with 95% probability") >= 2  # headline and risk section
    # the baselines hold the same chance budget, as the verifier checks it
    assert report.comparison["verified"].all()
    assert 'id="holdout"' in page and 'id="power-statement"' in page and '<a href="holdout.csv">' in page


def test_the_money_section_has_each_campaign_with_its_budget_and_its_price():
    import io

    import pandas as pd

    from scenarios.inputs import ScenarioInputs

    # upsell's 2.5 yuan take A (spend 2, net 8) and, in the LP, half of B: its budget is worth 3 yuan per yuan
    options = pd.read_csv(io.StringIO(
        "customer_id,offer_id,channel_id,p_accept,value,contact_cost,offer_cost,campaign\n"
        "A,o,sms,1,10,2,0,upsell\nB,o,sms,1,4,1,0,upsell\nC,p,sms,1,6,1,0,retention\nD,p,sms,1,6,1,0,\n"
    ), dtype=str, keep_default_na=False)
    data = {"name": "two campaigns", "budget": 100, "channels": {"sms": {}}, "offers": {"o": {}, "p": {}},
            "campaigns": {"upsell": {"budget": 2.5}}}
    report = build_report(ScenarioInputs.from_tables(data, options), frontier_points=2, workers=1)
    page = render_html(report)
    section = page[page.index("<h3>By campaign</h3>"):]
    section = section[:section.index("</table>")]
    cells = [re.sub("<[^>]+>", "", row).strip() for row in re.findall(r"<tr>(.*?)</tr>", section)]
    upsell = next(c for c in re.findall(r"<tr>(.*?)</tr>", section) if ">upsell<" in c)
    values = [html.unescape(re.sub("<[^>]+>", "", v)) for v in re.findall(r"<td[^>]*>(.*?)</td>", upsell)]
    assert values[0] == "upsell" and "2.50" in values and values[-1] == "3.00"
    assert any("(blank)" in c for c in cells) and any("retention" in c and "none" in c for c in cells)
    assert "campaign:upsell:budget" in page
