"""An independent reading of a fuzz case's raw files, and an independent MILP over it.

Nothing here imports the project. The scenario is read with ``yaml.safe_load`` and merged
by this module's own reading of the README (``extends:``, ``rules+:``, ``rules-:``), the
tables with the standard ``csv`` module and a strict number grammar, and the optimum is
found by SciPy's ``milp`` on a model written here from the README's definitions. So a
broken cast or filter in the project cannot fool both the run and this check: an exit-0
plan must satisfy every limit as read here and reach this optimum, and an INFEASIBLE claim
must be infeasible here too.

Inputs this reading finds invalid raise :class:`Invalid`; the contract then requires the
run to have refused them (exit 2).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.optimize import Bounds, LinearConstraint, milp

NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
KEYS = ("customer_id", "offer_id", "channel_id")
NUMBERS = ("p_accept", "value", "contact_cost", "offer_cost")
DERIVED = ("spend", "expected_return", "net_value")


class Invalid(ValueError):
    """The raw inputs break a documented rule (the run should have exited 2)."""


def number(text: str) -> float:
    """A finite decimal number, as the README defines a numeric cell (surrounding spaces allowed)."""
    text = text.strip()
    if not NUMBER.match(text):
        raise Invalid(f"{text!r} is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise Invalid(f"{text!r} is not finite")
    return value


def read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid(f"{path.name}: {exc}") from None
    if not rows:
        raise Invalid(f"{path.name}: empty")
    header = rows[0]
    if len(set(header)) != len(header):
        raise Invalid(f"{path.name}: repeated column")
    out = []
    for row in rows[1:]:
        if len(row) != len(header):
            raise Invalid(f"{path.name}: a row has {len(row)} cells, the header {len(header)}")
        out.append(dict(zip(header, row)))
    if not out:
        raise Invalid(f"{path.name}: no rows")
    return out


def merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """The README's ``extends`` merge: mappings key by key, lists replaced, ``key+``/``key-`` edit lists."""
    out = dict(base)
    for key, value in child.items():
        if key.endswith("+"):
            name = key[:-1]
            out[name] = list(out.get(name) or []) + list(value)
        elif key.endswith("-"):
            name = key[:-1]
            inherited = list(out.get(name) or [])
            if name == "rules":
                known = {r["name"] for r in inherited}
                if set(value) - known:
                    raise Invalid(f"rules-: {sorted(set(value) - known)} not inherited")
                out[name] = [r for r in inherited if r["name"] not in value]
            else:
                drop = [list(v) for v in value]
                if any(d not in [list(x) for x in inherited] for d in drop):
                    raise Invalid(f"{key}: not inherited")
                out[name] = [x for x in inherited if list(x) not in drop]
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def read_scenario(folder: Path) -> dict[str, Any]:
    child = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    if "extends" in child:
        parent = yaml.safe_load((folder / child.pop("extends")).read_text(encoding="utf-8"))
        child = merge(parent, child)
    names = [r["name"] for r in child.get("rules", [])]
    if len(set(names)) != len(names):
        raise Invalid("rule names repeat")
    return child


@dataclass
class Model:
    """The fuzz case as arrays: one entry per option not on the do-not-contact list."""

    scenario: dict[str, Any]
    customer: np.ndarray  # index into customers
    offer: list[str]
    channel: list[str]
    p: np.ndarray
    spend: np.ndarray
    ret: np.ndarray
    keys: list[tuple[str, str, str]]
    customers: list[dict[str, Any]]
    columns: dict[str, np.ndarray]  # where-able columns per option

    @property
    def net(self) -> np.ndarray:
        return self.ret - self.spend


def _count(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 or value != int(value):
        raise Invalid(f"{what}: {value!r} is not a whole number >= 0")
    return float(value)


def _amount(value: Any, what: str, low: float = -math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < low:
        raise Invalid(f"{what}: {value!r} is not a finite number >= {low}")
    return float(value)


def build(folder: Path) -> Model:
    """Read the case folder as the README describes it; :class:`Invalid` for anything it forbids."""
    s = read_scenario(folder)
    options = read_csv(folder / s["options"])
    customers = read_csv(folder / s["customers"])
    policy = s.get("contact_policy") or {}
    default_max = _count(policy.get("max_contacts", 1), "contact_policy.max_contacts")
    default_min = _count(policy.get("min_contacts", 0), "contact_policy.min_contacts")
    by_id: dict[str, int] = {}
    table: list[dict[str, Any]] = []
    for row in customers:
        cid = row["customer_id"].strip()
        if not cid or cid in by_id:
            raise Invalid(f"customer id {cid!r} blank or repeated")
        by_id[cid] = len(table)
        limits = {}
        for column, default in (("max_contacts", default_max), ("min_contacts", default_min)):
            text = row.get(column, "").strip()
            limits[column] = default if text == "" else _count(number(text), column)
        if limits["min_contacts"] > limits["max_contacts"]:
            raise Invalid("min_contacts exceeds max_contacts")
        table.append({**row, "customer_id": cid, **limits})
    dnc = set(s.get("do_not_contact") or [])
    channels, offers = s["channels"], s["offers"]
    customer, offer, channel, p, cost_c, cost_o, value, keys = [], [], [], [], [], [], [], []
    seen = set()
    for row in options:
        key = tuple(row[k].strip() for k in KEYS)
        if not all(key):
            raise Invalid("blank id")
        if key in seen:
            raise Invalid("duplicate option")
        seen.add(key)
        if key[0] not in by_id:
            raise Invalid(f"option for unknown customer {key[0]!r}")
        if key[1] not in offers or key[2] not in channels:
            raise Invalid("option names an offer or channel the scenario does not list")
        numbers = {c: number(row[c]) for c in NUMBERS}
        if not 0 <= numbers["p_accept"] <= 1 or numbers["contact_cost"] < 0 or numbers["offer_cost"] < 0:
            raise Invalid("p_accept outside [0, 1] or a negative cost")
        if key[0] in dnc:
            continue
        customer.append(by_id[key[0]])
        offer.append(key[1])
        channel.append(key[2])
        p.append(numbers["p_accept"])
        cost_c.append(numbers["contact_cost"])
        cost_o.append(numbers["offer_cost"])
        value.append(numbers["value"])
        keys.append(key)
    p_arr = np.array(p)
    spend = np.array(cost_c) + p_arr * np.array(cost_o)
    ret = p_arr * np.array(value)
    cust = np.array(customer, dtype=int)
    columns: dict[str, np.ndarray] = {
        "customer_id": np.array([k[0] for k in keys], dtype=object),
        "offer_id": np.array(offer, dtype=object),
        "channel_id": np.array(channel, dtype=object),
        "spend": spend, "expected_return": ret, "net_value": ret - spend,
    }
    for column in customers[0]:
        if column in ("customer_id", "max_contacts", "min_contacts"):
            continue
        cells = [row[column] for row in table]
        try:
            values: np.ndarray = np.array([number(c) for c in cells])
        except Invalid:
            values = np.array(cells, dtype=object)
        columns[column] = values[cust] if len(cust) else values[:0]
    return Model(s, cust, offer, channel, p_arr, spend, ret, keys, table, columns)


def _matches(values: np.ndarray, condition: Any) -> np.ndarray:
    numeric = values.dtype.kind == "f"

    def equal(v: Any) -> np.ndarray:
        if numeric:
            try:
                return values == float(v)
            except (TypeError, ValueError):
                return np.zeros(len(values), bool)
        return np.array([str(x) == str(v) for x in values], bool)

    if isinstance(condition, list):
        return np.logical_or.reduce([equal(v) for v in condition] + [np.zeros(len(values), bool)])
    if not isinstance(condition, dict):
        return equal(condition)
    mask = np.ones(len(values), bool)
    for op, operand in condition.items():
        if op in ("in", "not_in"):
            hit = _matches(values, operand if isinstance(operand, list) else [operand])
            mask &= hit if op == "in" else ~hit
        elif op in ("==", "!="):
            mask &= equal(operand) if op == "==" else ~equal(operand)
        else:
            if not numeric:
                raise Invalid(f"{op} on a text column")
            bound = _amount(operand, op)
            mask &= {">": values > bound, ">=": values >= bound, "<": values < bound, "<=": values <= bound}[op]
    return mask


def where_mask(model: Model, where: dict[str, Any]) -> np.ndarray:
    mask = np.ones(len(model.p), bool)
    for column, condition in (where or {}).items():
        if column not in model.columns:
            raise Invalid(f"where on unknown column {column!r}")
        mask &= _matches(model.columns[column], condition)
    return mask


def constraints(model: Model) -> list[tuple[str, np.ndarray, float, float]]:
    """Every limit as (name, coefficients over options, lower, upper)."""
    s, n, inf = model.scenario, len(model.p), math.inf
    rows: list[tuple[str, np.ndarray, float, float]] = []
    if s.get("budget") is not None:
        rows.append(("budget", model.spend, -inf, _amount(s["budget"], "budget", 0)))
    if s.get("min_roi") is not None:
        r = _amount(s["min_roi"], "min_roi", -1)
        rows.append(("min_roi", model.ret - (1 + r) * model.spend, 0.0, inf))
    offer, channel = np.array(model.offer, dtype=object), np.array(model.channel, dtype=object)
    for name, spec in s["channels"].items():
        spec = spec or {}
        on = (channel == name).astype(float)
        if spec.get("capacity") is not None:
            rows.append((f"channel:{name}", on, -inf, _count(spec["capacity"], "capacity")))
        if spec.get("max_per_customer") is not None:
            cap = _count(spec["max_per_customer"], "max_per_customer")
            for c in np.unique(model.customer):
                rows.append((f"{name} per customer", on * (model.customer == c), -inf, cap))
    for name, spec in s["offers"].items():
        spec = spec or {}
        on = (offer == name).astype(float)
        if spec.get("max_targets") is not None:
            rows.append((f"offer:{name}:max", on, -inf, _count(spec["max_targets"], "max_targets")))
        if spec.get("min_targets") is not None:
            rows.append((f"offer:{name}:min", on, _count(spec["min_targets"], "min_targets"), inf))
        if spec.get("budget") is not None:
            rows.append((f"offer:{name}:budget", on * model.spend, -inf, _amount(spec["budget"], "offer budget", 0)))
        if spec.get("min_roi") is not None:
            r = _amount(spec["min_roi"], "offer min_roi", -1)
            rows.append((f"offer:{name}:roi", on * (model.ret - (1 + r) * model.spend), 0.0, inf))
    for rule in s.get("rules") or []:
        mask = where_mask(model, rule.get("where") or {})
        measure = np.ones(n) if rule.get("sum") is None else np.asarray(model.columns[rule["sum"]], float)
        if rule.get("max") is not None or rule.get("min") is not None:
            low = -inf if rule.get("min") is None else _amount(rule["min"], "rule min")
            high = inf if rule.get("max") is None else _amount(rule["max"], "rule max")
            rows.append((f"rule:{rule['name']}", measure * mask, low, high))
        for key, sense in (("max_share", "<="), ("min_share", ">=")):
            if rule.get(key) is not None:
                share = _amount(rule[key], key, 0)
                coef = measure * (mask - share)
                rows.append((f"rule:{rule['name']}:{key}", coef, -inf if sense == "<=" else 0.0, 0.0 if sense == "<=" else inf))
    # the offer masks once, not once per customer: the same rows, without an object-array comparison
    # per customer and offer (which took seconds on a fuzzed world of a few thousand options)
    offer_masks = {name: offer == name for name in set(model.offer)}
    pair_masks = [offer_masks.get(a, offer == a) | offer_masks.get(b, offer == b) for a, b in s.get("exclusions") or []]
    for c in range(len(model.customers)):
        mine = (model.customer == c).astype(float)
        limits = model.customers[c]
        rows.append((f"contacts:{c}", mine, limits["min_contacts"], limits["max_contacts"]))
        for name in offer_masks:
            rows.append((f"one per offer:{c}", mine * offer_masks[name], -inf, 1.0))
        for pair in pair_masks:
            rows.append((f"exclusion:{c}", mine * pair, -inf, 1.0))
    return rows


def optimum(model: Model) -> float | None:
    """The best expected net value under every limit, or None when no plan meets them."""
    n = len(model.p)
    rows = constraints(model)
    if n == 0:
        feasible = all(lo <= 0 <= hi for _, _, lo, hi in rows)
        return 0.0 if feasible else None
    matrix = np.array([coef for _, coef, _, _ in rows]) if rows else np.zeros((0, n))
    lows = np.array([lo for _, _, lo, _ in rows])
    highs = np.array([hi for _, _, _, hi in rows])
    result = milp(
        -model.net, integrality=np.ones(n), bounds=Bounds(0, 1),
        constraints=[LinearConstraint(matrix, lows, highs)] if rows else [],
        options={"mip_rel_gap": 1e-9, "time_limit": 60},
    )
    if result.status == 2:  # infeasible
        return None
    if result.status != 0:
        raise RuntimeError(f"reference MILP: {result.message}")
    return float(-result.fun)


def plan_violations(model: Model, plan_rows: list[dict[str, str]], tol: float = 1e-6) -> tuple[list[str], float]:
    """The limits a plan breaks as read here, and its expected net value."""
    index = {k: i for i, k in enumerate(model.keys)}
    x = np.zeros(len(model.p))
    problems = []
    for row in plan_rows:
        key = tuple(row[k].strip() for k in KEYS)
        if key not in index:
            problems.append(f"plan row {key} is not an allowed option")
            continue
        x[index[key]] += 1
    if (x > 1).any():
        problems.append("an option appears twice in the plan")
    for name, coef, lo, hi in constraints(model):
        usage = float(coef @ x)
        scale = tol * max(1.0, abs(lo) if math.isfinite(lo) else 0, abs(hi) if math.isfinite(hi) else 0)
        if usage < lo - scale or usage > hi + scale:
            problems.append(f"{name}: {usage:.6g} outside [{lo:.6g}, {hi:.6g}]")
    return problems, float(model.net @ x)
