"""Parsers for public benchmark instances and their conversion into CampaignLab's input format.

The instances live in ``/work/shared/cases`` (see its README.md); this module only reads and
converts them. Every converter returns a :class:`Case`: an options table, a customers table and
a :class:`~optimizer.Scenario`, plus the published optimum in CampaignLab's sense (maximise the
sum of ``p_accept * value - contact_cost - p_accept * offer_cost``).

Mapping (README table "Each family maps onto offer allocation"):

* a job / class / item / marketing customer is a *customer*;
* an agent / item choice / (product, channel) is an *option*;
* "exactly one" is ``min_contacts = max_contacts = 1``; "0 or 1" / "at most one" is ``0 .. 1``;
* a capacity or resource row is a scenario *rule* summing an extra numeric weight column of
  the options table (``{"where": {"offer_id": "a3"}, "sum": "weight", "max": cap}``);
* costs are zero and ``p_accept = 1`` unless the model itself has a probability, so the net
  value of an option is its profit; a minimisation is posed as ``value = -cost``, and then the
  CampaignLab optimum is ``-published optimum``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer import Problem, Scenario

__all__ = [
    "CASES_DIR",
    "Case",
    "GapInstance",
    "gap_case",
    "ibm_marketing_case",
    "mknap_case",
    "mmkp_case",
    "read_gap_optima",
    "read_mknap",
    "read_mmkp",
    "read_orlib_gap",
]

#: tests/optimizer/cases.py -> /work ; the benchmark files are a sibling of the repository.
CASES_DIR = Path(__file__).resolve().parents[3] / "shared" / "cases"


@dataclass(frozen=True)
class Case:
    """One benchmark instance in CampaignLab's input format."""

    name: str
    scenario: Scenario
    options: pd.DataFrame
    customers: pd.DataFrame
    optimum: float  # the published optimum in CampaignLab's (maximisation) sense
    tolerance: float  # |objective - optimum| allowed

    def problem(self) -> Problem:
        return Problem.from_tables(self.scenario, self.options, self.customers)


def _numbers(path: Path) -> list[str]:
    """Whitespace-separated tokens of a file (line breaks carry no meaning in OR-Library files)."""
    return path.read_text().split()


def _customers(ids: list[str], min_contacts: int, max_contacts: int) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ids, "min_contacts": min_contacts, "max_contacts": max_contacts})


def _options(
    customer: list[str], offer: list[str], channel: list[str], value: np.ndarray, **extra: np.ndarray
) -> pd.DataFrame:
    n = len(customer)
    table = pd.DataFrame(
        {
            "customer_id": customer,
            "offer_id": offer,
            "channel_id": channel,
            "p_accept": np.ones(n),
            "value": np.asarray(value, dtype=np.float64),
            "contact_cost": np.zeros(n),
            "offer_cost": np.zeros(n),
        }
    )
    for column, values in extra.items():
        table[column] = np.asarray(values, dtype=np.float64)
    return table


# --------------------------------------------------------------------------------------------
# GAP: OR-Library gap1..gap12 (Cattrysse et al. 1994, Osman 1995), gapa..gapd (Chu and Beasley 1997)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GapInstance:
    """One generalized assignment problem: assign each of n jobs to one of m agents.

    ``cost[i, j]`` is the cost (or profit) of job j on agent i, ``weight[i, j]`` the resource it
    takes from agent i, ``capacity[i]`` agent i's resource.
    """

    name: str
    cost: np.ndarray  # (m, n)
    weight: np.ndarray  # (m, n)
    capacity: np.ndarray  # (m,)

    @property
    def agents(self) -> int:
        return self.cost.shape[0]

    @property
    def jobs(self) -> int:
        return self.cost.shape[1]


def read_orlib_gap(path: Path, letter: str | None = None) -> list[GapInstance]:
    """All problems of an OR-Library GAP file.

    Format (cases README, "gap/orlib"; OR-Library gapinfo): the number of problems P, then per
    problem: ``m n``; the m x n cost/profit matrix (row i = agent i); the m x n resource matrix;
    the m capacities. Line breaks carry no meaning. Without ``letter`` (gap1..gap12) problem k
    is named ``c{m}{n}-k`` (gap1 #1 = c515-1); with it (gapa..gapd, Chu and Beasley) the name
    is ``{letter}{m:02d}{n}`` (a05100), as in gap_optima.csv.
    """
    tokens = _numbers(path)
    pos = 0

    def take(count: int) -> np.ndarray:
        nonlocal pos
        out = np.array(tokens[pos : pos + count], dtype=np.float64)
        if out.size != count:
            raise ValueError(f"{path}: file ends early (wanted {count} numbers at token {pos})")
        pos += count
        return out

    problems = int(take(1)[0])
    out = []
    for k in range(1, problems + 1):
        m, n = (int(v) for v in take(2))
        cost = take(m * n).reshape(m, n)
        weight = take(m * n).reshape(m, n)
        capacity = take(m)
        name = f"c{m}{n}-{k}" if letter is None else f"{letter}{m:02d}{n}"
        out.append(GapInstance(name, cost, weight, capacity))
    if pos != len(tokens):
        raise ValueError(f"{path}: {len(tokens) - pos} numbers left after {problems} problems")
    return out


def read_gap_optima(path: Path) -> dict[tuple[str, str, int], dict[str, str]]:
    """Rows of gap/gap_optima.csv keyed by (file, sense, index_in_file).

    Columns (cases README, "gap/gap_optima.csv"): instance, file, index_in_file, agents, jobs,
    sense, value, status, sources, all_sources_agree.
    """
    with open(path, newline="") as handle:
        return {(row["file"], row["sense"], int(row["index_in_file"])): row for row in csv.DictReader(handle)}


def gap_case(instance: GapInstance, sense: str, optimum: float) -> Case:
    """A GAP as offer allocation: job = customer (exactly one option), agent = offer.

    One channel; the option (job j, agent i) has ``value = cost[i, j]`` (max sense) or
    ``-cost[i, j]`` (min sense) and a ``weight`` column; agent i's capacity is a rule summing
    ``weight`` over ``offer_id == a{i}``.
    """
    if sense not in ("max", "min"):
        raise ValueError(sense)
    m, n = instance.cost.shape
    agent = np.repeat(np.arange(m), n)  # agent-major, as in the file
    job = np.tile(np.arange(n), m)
    sign = 1.0 if sense == "max" else -1.0
    options = _options(
        [f"j{j}" for j in job],
        [f"a{i}" for i in agent],
        ["assign"] * (m * n),
        sign * instance.cost.ravel(),
        weight=instance.weight.ravel(),
    )
    customers = _customers([f"j{j}" for j in range(n)], 1, 1)
    scenario = Scenario(
        name=f"gap {instance.name} {sense}",
        channels={"assign": {}},
        offers={f"a{i}": {} for i in range(m)},
        rules=[
            {"name": f"agent_{i}", "where": {"offer_id": f"a{i}"}, "sum": "weight", "max": float(instance.capacity[i])}
            for i in range(m)
        ],
    )
    return Case(f"{instance.name}-{sense}", scenario, options, customers, sign * optimum, 1e-6)


# --------------------------------------------------------------------------------------------
# mknap1: OR-Library multidimensional 0-1 knapsack (Petersen 1967)
# --------------------------------------------------------------------------------------------


def read_mknap(path: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, float]]:
    """Problems of OR-Library mknap1.txt as (profit (n,), weight (m, n), capacity (m,), optimum).

    Format (cases README, "mknap/mknap1.txt"; OR-Library mknapinfo): K problems; per problem
    ``n m opt``; the n profits; m rows of n weights; the m capacities. Maximisation.
    """
    tokens = _numbers(path)
    pos = 0

    def take(count: int) -> np.ndarray:
        nonlocal pos
        out = np.array(tokens[pos : pos + count], dtype=np.float64)
        if out.size != count:
            raise ValueError(f"{path}: file ends early")
        pos += count
        return out

    problems = int(take(1)[0])
    out = []
    for _ in range(problems):
        n, m, opt = take(3)
        n, m = int(n), int(m)
        profit = take(n)
        weight = take(m * n).reshape(m, n)
        capacity = take(m)
        out.append((profit, weight, capacity, float(opt)))
    if pos != len(tokens):
        raise ValueError(f"{path}: {len(tokens) - pos} numbers left after {problems} problems")
    return out


def mknap_case(name: str, profit: np.ndarray, weight: np.ndarray, capacity: np.ndarray, optimum: float) -> Case:
    """Item = customer with one option (take it), 0 or 1 contacts; dimension k = rule summing ``w_k``."""
    m, n = weight.shape
    options = _options(
        [f"i{j}" for j in range(n)], ["take"] * n, ["pick"] * n, profit, **{f"w_{k}": weight[k] for k in range(m)}
    )
    scenario = Scenario(
        name=f"mknap1 {name}",
        channels={"pick": {}},
        offers={"take": {}},
        rules=[{"name": f"dim_{k}", "sum": f"w_{k}", "max": float(capacity[k])} for k in range(m)],
    )
    return Case(name, scenario, options, _customers([f"i{j}" for j in range(n)], 0, 1), optimum, 1e-4)


# --------------------------------------------------------------------------------------------
# MMKP: Khan et al. multiple-choice multidimensional knapsack (OR-Library mmkp I01..I13)
# --------------------------------------------------------------------------------------------


def read_mmkp(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int] | None]:
    """One Khan MMKP file as (value (l, n), weight (l, n, m), capacity (m,), exact item choice or None).

    Format (cases README, "mmkp/orlib_khan"): ``classes items_per_class dims``; the dims
    capacities; per class: its number (1-based), then one line per item ``value w_1 ... w_dims``.
    Trailing lines are heuristic solutions, an upper bound and, for I01-I06, the line after
    ``Solutions by  Exact Solution``: the 0-based item chosen in each class, then its value.
    """
    lines = path.read_text().splitlines()
    tokens = " ".join(lines).split()
    classes, items, dims = (int(t) for t in tokens[:3])
    capacity = np.array(tokens[3 : 3 + dims], dtype=np.float64)
    pos = 3 + dims
    value = np.empty((classes, items))
    weight = np.empty((classes, items, dims))
    for c in range(classes):
        if int(tokens[pos]) != c + 1:
            raise ValueError(f"{path}: class {c + 1} expected, found {tokens[pos]!r}")
        block = np.array(tokens[pos + 1 : pos + 1 + items * (1 + dims)], dtype=np.float64).reshape(items, 1 + dims)
        value[c], weight[c] = block[:, 0], block[:, 1:]
        pos += 1 + items * (1 + dims)
    exact = None
    for i, line in enumerate(lines):
        if "Exact Solution" in line:
            exact = [int(t) for t in lines[i + 1].split()[:classes]]
    return value, weight, capacity, exact


def mmkp_case(name: str, value: np.ndarray, weight: np.ndarray, capacity: np.ndarray, optimum: float) -> Case:
    """Class = customer (exactly one option), item k = offer ``item{k}``; dimension d = rule summing ``w_d``."""
    classes, items, dims = weight.shape
    cls = np.repeat(np.arange(classes), items)
    item = np.tile(np.arange(items), classes)
    options = _options(
        [f"class{c}" for c in cls],
        [f"item{k}" for k in item],
        ["pick"] * cls.size,
        value.ravel(),
        **{f"w_{d}": weight[:, :, d].ravel() for d in range(dims)},
    )
    scenario = Scenario(
        name=f"mmkp {name}",
        channels={"pick": {}},
        offers={f"item{k}": {} for k in range(items)},
        rules=[{"name": f"resource_{d}", "sum": f"w_{d}", "max": float(capacity[d])} for d in range(dims)],
    )
    return Case(name, scenario, options, _customers([f"class{c}" for c in range(classes)], 1, 1), optimum, 1e-4)


# --------------------------------------------------------------------------------------------
# IBM docplex marketing campaign example
# --------------------------------------------------------------------------------------------


def ibm_marketing_case(path: Path) -> Case:
    """The docplex marketing campaign: customer x product x channel, at most one per customer.

    Data: ``ibm_marketing_campaign_data.json`` (products, product_value, budget_share,
    available_budget, channels [name, cost, factor], offers [customerid, Product1,
    Confidence1, Product2, Confidence2], published_objective), extracted from the notebook.

    The notebook's model (also in the JSON's ``model`` field): binary x[o, p, c] for *every*
    product p, not only each customer's two predicted ones (the others have confidence 0 and
    earn nothing, but they still cost their channel and count in ``total_offers``, so they can
    loosen the product-mix rows); ``sum_{p,c} x <= 1`` per customer; ``sum cost_c x <= budget``;
    ``sum_{o,c} x[o, p, c] <= budget_share[p] * total_offers`` per product; maximise
    ``sum x * factor_c * product_value[p] * conf(o, p)``. Channel cost is *not* in the objective.

    Mapping: ``p_accept = factor_c * conf(o, p)`` (<= 0.3), ``value = product_value[p]``, both
    costs 0 (so net value = the notebook's objective term), the channel cost in a
    ``channel_cost`` column summed by a budget rule, and each product's mix limit a count rule
    with ``max_share = budget_share[p]`` (count of p <= share * count of all chosen options).
    """
    data = json.loads(path.read_text())
    products = dict(zip(data["products"], zip(data["product_value"], data["budget_share"])))
    channels = {c["name"]: (float(c["cost"]), float(c["factor"])) for c in data["channels"]}
    rows = []
    for customer_id, product1, conf1, product2, conf2 in data["offers"]:
        conf = {product1: float(conf1), product2: float(conf2)}
        for product, (value, _share) in products.items():
            for channel, (cost, factor) in channels.items():
                rows.append((str(customer_id), product, channel, factor * conf.get(product, 0.0), float(value), cost))
    options = pd.DataFrame(rows, columns=["customer_id", "offer_id", "channel_id", "p_accept", "value", "channel_cost"])
    options.insert(5, "contact_cost", 0.0)
    options.insert(6, "offer_cost", 0.0)
    ids = list(dict.fromkeys(options["customer_id"]))
    rules = [{"name": "budget", "sum": "channel_cost", "max": float(data["available_budget"])}]
    rules += [
        {"name": f"mix_{product}", "where": {"offer_id": product}, "max_share": float(share)}
        for product, (_value, share) in products.items()
    ]
    scenario = Scenario(
        name="ibm docplex marketing campaign",
        channels={c: {} for c in channels},
        offers={p: {} for p in products},
        rules=rules,
    )
    return Case("ibm-marketing", scenario, options, _customers(ids, 0, 1), float(data["published_objective"]), 1e-4)
