"""Every ``campaignlab`` sub-command: its arguments, and the handler that runs it.

Why the arguments live here and not beside their handlers: building the parser must not
import the packages (``import optimizer`` alone loads pandas, SciPy and the solvers, about
a second), so ``campaignlab --help`` stays instant. A handler is named as ``module:function``
and imported only when its command runs; each takes the parsed arguments and returns the exit
code.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .arguments import (
    add_allow_outside, finite_float, fraction, non_negative_float, non_negative_int, positive_float, positive_int,
)

__all__ = ["COMMANDS", "Command"]

DEFAULT_SCENARIO = "demo"
#: Shown in ``optimize --help``; the threshold itself is optimizer.cli.AUTO_DECOMPOSE_CUSTOMERS (a test keeps them equal).
AUTO_DECOMPOSE_CUSTOMERS = 50_000
SCENARIO_HELP = "scenario YAML (may use extends:) or bundled name"


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    handler: str  # "module:function", imported when the command runs
    arguments: Callable[[argparse.ArgumentParser], None]
    description: str | None = None


def _optimize(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO, help=f"scenario YAML or bundled name (default: {DEFAULT_SCENARIO})")
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument("--mode", choices=["auto", "exact", "decompose"], default="auto",
                   help=f"exact MIP, or Lagrangian decomposition with a certified gap; auto: exact below {AUTO_DECOMPOSE_CUSTOMERS:,} customers")
    p.add_argument("--lp-check", action="store_true",
                   help="decomposition: also bound the LP relaxation by OR-Tools' PDLP, a second, independent bound in summary.json")
    p.add_argument("--scheduler", help="decomposition on Dask: 'local' starts a LocalCluster, tcp://HOST:PORT uses a running one")
    p.add_argument("--solver", choices=["highs", "cbc", "ortools"], help="MIP backend for exact mode (default: the scenario's, else highs)")
    p.add_argument("--time-limit", type=positive_float, help="seconds; the best plan found so far is returned with its gap")
    p.add_argument("--gap", type=fraction, help="relative optimality gap to prove, in [0, 1) (default 1e-6 exact, 1e-5 decompose)")
    p.add_argument("--seed", type=non_negative_int, help="solver random seed (default: the scenario's seed)")
    p.add_argument("--quiet", action="store_true", help="print nothing; read summary.json")
    add_allow_outside(p)


def _verify(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario")
    p.add_argument("plan", help="CSV/Parquet with customer_id, offer_id, channel_id")
    add_allow_outside(p)


def _generate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--customers", type=positive_int, default=20_000)
    p.add_argument("--seed", type=non_negative_int, default=7)
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    p.add_argument("--out", required=True)


def _nothing(p: argparse.ArgumentParser) -> None:
    """A command without arguments."""


def _simulate(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML file or bundled scenario name")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: out/<scenario name>)")
    p.add_argument("--replications", type=positive_int, default=None, help="replications per strategy (default: the scenario's)")
    p.add_argument("--seed", type=non_negative_int, default=None, help="root seed (default: the scenario's)")
    p.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1)")
    p.add_argument("--plan", type=Path, default=None,
                   help="optimizer scenarios: the plan.csv to replay (default: solve the scenario and replay its plan)")
    p.add_argument("--effects", choices=["plan", "lifecycle"], default=None,
                   help="optimizer scenarios: an acceptance does what the option's value says (plan) or what the "
                        "lifecycle model says (lifecycle); default: the scenario's, else lifecycle when every offer's effect is known")
    p.add_argument("--horizon", type=positive_int, default=None, help="optimizer scenarios: months to simulate (default: the scenario's, else 24)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--every-month", action="store_true",
                   help="optimizer scenarios: re-plan every month (optimizer, rule, score) over the horizon and rank them")
    p.add_argument("--budget-per-month", type=non_negative_float, default=None, help="with --every-month: yuan a month (default: the scenario's budget)")
    p.add_argument("--seats", type=positive_int, default=None,
                   help="optimizer scenarios: call-centre seats (default: the scenario's, else sized to the call capacity)")
    add_allow_outside(p)


def _prepare(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="YAML config with a 'customers' mapping (see examples/telco_prepare.yaml)")
    p.add_argument("--out", required=True, help="output folder (created if missing); the fitted model goes in OUT/model/")
    p.add_argument("--model", metavar="MODEL_DIR",
                   help="apply a saved model (an earlier run's OUT/model) unchanged: no refit, segment ids and tiers keep their meaning")
    p.add_argument("--input", metavar="TABLE", help="customer table to read instead of the config's customers.path (e.g. next month's)")


def _uplift(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="YAML config (see examples/hillstrom_uplift.yaml)")
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--max-rows", type=positive_int, default=None, help="subsample the history (stratified) for a quick run")


def _sweep(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help=SCENARIO_HELP)
    add_allow_outside(p)
    p.add_argument("--grid", action="append", metavar="KEY=VALUES",
                   help="dotted scenario key and values, V1,V2,... or START:STOP:N; repeat for more axes "
                        "(e.g. budget=5000:20000:4, channels.call.capacity=200,300,416)")
    p.add_argument("--out", default="out/sweep", help="folder for sweep.parquet and sweep.csv")
    p.add_argument("--workers", type=positive_int, default=2, help="worker processes (default 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _frontier(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help=SCENARIO_HELP)
    add_allow_outside(p)
    p.add_argument("--budgets", help="V1,V2,... or START:STOP:N (default: 10%% to 200%% of the scenario's budget)")
    p.add_argument("--points", type=positive_int, default=9, help="number of default budgets (default 9)")
    p.add_argument("--out", default="out/frontier", help="folder for frontier.parquet, .csv and .png")
    p.add_argument("--workers", type=positive_int, default=2)
    p.add_argument("--no-progress", action="store_true")


def _inverse(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help=SCENARIO_HELP)
    add_allow_outside(p)
    p.add_argument("--target", type=finite_float, required=True, help="retained customers (expected acceptances) or net value in yuan")
    p.add_argument("--measure", choices=["retained", "net_value"], default="retained")
    p.add_argument("--vary", default="budget", help="budget, seats, or a dotted numeric key (default budget)")
    p.add_argument("--calls-per-seat", type=positive_float, help="with --vary seats: calls one seat makes for this base (outbound_10088: 2)")
    p.add_argument("--low", type=finite_float, help="lower end of the search (default 0)")
    p.add_argument("--high", type=finite_float, help="upper end (default: what the unlimited plan uses)")
    p.add_argument("--tolerance", type=positive_float, help="width of the final bracket (default 0.5%% of the upper end; 1 seat)")
    p.add_argument("--out", help="folder for inverse.json")


def _compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help=SCENARIO_HELP)
    add_allow_outside(p)
    p.add_argument("--rule", help="tag rule for rule targeting, e.g. \"arpu > 80 AND stage == 'decline'\"")
    p.add_argument("--score", help="customer column to rank by for score targeting, e.g. churn_risk")
    p.add_argument("--offers", help="offers the baselines make, in priority order, comma-separated "
                                    "(default: bill_credit_contract where the scenario has it, else its first offer)")
    p.add_argument("--channel", help="channel the baselines use (default: call, else the scenario's call channel, else its first)")
    p.add_argument("--simulate", action="store_true", help="also replay every plan on the scenario's base in the lifecycle simulator, with CIs")
    p.add_argument("--replications", type=positive_int, default=None, help="with --simulate (default: the scenario's, else 10)")
    p.add_argument("--workers", type=positive_int, default=1)
    p.add_argument("--out", default="out/compare", help="folder for comparison.parquet and .csv")


def _report(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help=SCENARIO_HELP + "; with --from, the scenario the plan was solved for")
    add_allow_outside(p)
    p.add_argument("--out", default="out/report.html", help="HTML file to write; plan.csv, summary.json and the contact lists go beside it")
    p.add_argument("--from", dest="from_folder", metavar="OUT_DIR",
                   help="report on the plan `campaignlab optimize SCENARIO --out OUT_DIR` wrote, without re-solving it")
    p.add_argument("--author", help="who prepared the report (default: $USER, else 'not given')")
    p.add_argument("--budgets", help="frontier budgets, V1,V2,... or START:STOP:N")
    p.add_argument("--points", type=non_negative_int, default=7, help="frontier points when --budgets is not given (0: none)")
    p.add_argument("--simulate", action="store_true", help="add the plan test: the plan replayed on the scenario's base, with CIs")
    p.add_argument("--replications", type=positive_int, default=None, help="with --simulate (default: the scenario's, else 10)")
    p.add_argument("--workers", type=positive_int, default=2, help="processes for the solves (default 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _contacts(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help=SCENARIO_HELP)
    add_allow_outside(p)
    p.add_argument("--plan", help="an existing plan (CSV/Parquet) to turn into lists; default: solve the scenario")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv")
    p.add_argument("--columns", metavar="COL,COL", help="customer columns every list carries, e.g. phone,arpu,stage "
                   "(default: the scenario's contact_columns, else all of them on call and store lists)")
    p.add_argument("--out", default="out/contacts", help="folder for <channel>_list files")


def _evaluate(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help=SCENARIO_HELP + "; the one the plan was solved for")
    # optional to argparse so the generic parser test can parse `evaluate demo`; the handler requires them (exit 2)
    p.add_argument("plan", nargs="?", metavar="PLAN.csv", help="the plan `campaignlab optimize` wrote (required)")
    p.add_argument("responses", nargs="?", metavar="RESPONSES.csv",
                   help="one row per planned contact: customer_id, offer_id, channel_id, reached, accepted, revenue, cost "
                        "[, churned, date] (required)")
    p.add_argument("--holdout", metavar="HOLDOUT.csv", help="customer_id, churned, revenue of the held-out customers: the effect against them")
    p.add_argument("--out", help="output folder (default: evaluation/ beside the plan)")
    p.add_argument("--segment", metavar="COLUMN", help="customers column to split groups by (default: segment, if the customers have it)")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="date of the outcomes in contact_history.csv (default: the responses' date "
                                                       "column, else today)")
    add_allow_outside(p)


COMMANDS: tuple[Command, ...] = (
    Command("optimize", "solve a scenario exactly and write plan.csv and summary.json", "optimizer.cli:optimize", _optimize),
    Command("verify", "check any plan (e.g. a hand-built one) against a scenario's limits", "optimizer.cli:verify", _verify),
    Command("generate", "write a seeded synthetic operator base and its scenario", "optimizer.cli:generate", _generate),
    Command("scenarios", "list the bundled scenarios", "optimizer.cli:list_scenarios", _nothing),
    Command("simulate", "test a scenario's plan on its base in the lifecycle simulator (or run a simulator scenario)",
            "scenarios.cli:simulate", _simulate),
    Command("prepare", "mapped customer table -> customers, scored options, scenario", "optimizer.scoring.cli:prepare", _prepare,
            "Turn a customer table and its column mapping into the optimizer's customers and options tables and a scenario YAML."),
    Command("uplift", "fit uplift on campaign history, target with the optimizer, evaluate off-policy",
            "optimizer.scoring.cli:uplift", _uplift,
            "T-learner uplift fit on a training split, optimizer targeting under a budget on the held-out split, "
            "IPS policy evaluation with CIs."),
    Command("sweep", "solve a scenario over a grid of what-if values", "scenarios.cli:sweep", _sweep),
    Command("frontier", "expected net value and ROI against budget, shadow price and knee", "scenarios.cli:frontier", _frontier),
    Command("inverse", "least budget (or seats) whose optimal plan reaches a target", "scenarios.cli:inverse", _inverse),
    Command("compare", "optimizer vs rule and score targeting at equal budget", "scenarios.cli:compare", _compare),
    Command("report", "one self-contained HTML approval report, with the plan and contact lists beside it",
            "scenarios.cli:report", _report),
    Command("contacts", "contact lists per channel (call list for agents, SMS list)", "scenarios.cli:contacts", _contacts),
    Command("evaluate", "planned against realised: acceptance multipliers, calibration, holdout effect, contact history",
            "scenarios.cli:evaluate", _evaluate),
)
