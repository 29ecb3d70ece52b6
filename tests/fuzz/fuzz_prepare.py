"""Mutations of a ``campaignlab prepare`` input: the IBM Telco mapping on 300 real rows.

The base is the project's worked example (examples/telco_prepare.yaml) pointed at the first
300 customers of the bundled IBM Telco table. A mutation changes one value of the mapping,
one cell or column of the table, or the file's bytes; the common contract of
:mod:`fuzz_contract` applies (exit 0, 1 or 2; no traceback; one bounded error line;
nothing written on exit 2; no leaks).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml

from fuzz_world import EXTREME_NUMBERS, SECRET, Case, Choose, World, _set, _typo

ROOT = Path(__file__).resolve().parents[2]
ROWS = 300


def prepare_world() -> World:
    config = yaml.safe_load((ROOT / "examples" / "telco_prepare.yaml").read_text(encoding="utf-8"))
    config["customers"]["path"] = "customers.csv"
    with (ROOT / "data" / "telco_churn.csv").open(encoding="utf-8", newline="") as handle:
        rows = [row for _, row in zip(range(ROWS + 1), csv.reader(handle))]
    return World(config, [], rows)


NUMBER_KEYS: tuple[tuple[Any, ...], ...] = (
    ("retention", "margin"), ("retention", "discount_rate"), ("retention", "horizon_months"),
    ("scenario", "budget"), ("scenario", "max_contacts"), ("segments", "k"), ("segments", "seed"),
    ("channels", "sms", "contact_cost"), ("channels", "outbound_call", "response"),
    ("offers", "contract_upgrade", "offer_cost"), ("offers", "security_pack", "churn_reduction"),
    ("offers", "loyalty_points", "response_multiplier"), ("value", "loyal_min_months"),
    ("lifecycle", "growth_max_months"),
)


def prepare_number(world: World, choose: Choose) -> Case:
    path, value = choose(NUMBER_KEYS), choose(EXTREME_NUMBERS)
    _set(world.scenario, path, value)
    return Case("prepare_number", f"{'.'.join(map(str, path))} = {value!r}", world)


def prepare_unknown_key(world: World, choose: Choose) -> Case:
    where = choose(((), ("customers",), ("retention",), ("offers", "security_pack"), ("channels", "sms"), ("scenario",)))
    node: Any = world.scenario
    for part in where:
        node = node[part]
    node[choose(("budgett", "churn_reducton", "contact_cst", "margn", "xyz"))] = 1
    return Case("prepare_unknown_key", ".".join(where), world, expect=frozenset({2}))


def prepare_dead_name(world: World, choose: Choose) -> Case:
    """A name in the mapping that matches nothing in the table or the config."""
    what = choose(("column", "category_value", "policy_channel", "tag_column", "by"))
    if what == "column":
        name = _typo("MonthlyCharges", choose)
        world.scenario["customers"]["numeric"]["arpu"] = name
    elif what == "category_value":
        name = "Month-to-mnth"
        world.scenario["offers"]["contract_upgrade"]["eligible"] = f"NOT churned AND contract == '{name}'"
    elif what == "policy_channel":
        name = _typo("app_push", choose)
        world.scenario["policy_channels"]["retrench"] = ["sms", name]
    elif what == "tag_column":
        name = _typo("fiber", choose)
        world.scenario["tags"]["unprotected_fiber"] = f"{name} AND NOT online_security"
    else:
        name = _typo("contract", choose)
        world.scenario["retention"]["by"] = name
    return Case("prepare_dead_name", f"{what}: {name!r}", world, dead_name=name, expect=frozenset({2}))


def prepare_cell(world: World, choose: Choose) -> Case:
    column = choose(("tenure", "MonthlyCharges", "TotalCharges", "Churn", "Contract", "customerID", "SeniorCitizen"))
    k = world.customers[0].index(column)
    cell = choose(("", "nan", "inf", "-1", "abc", "1e400", "Maybe", "=cmd()", "[/]", "99999999999999999999", "2.5"))
    rows = choose((1, 3, ROWS))
    for row in world.customers[1:1 + rows]:
        row[k] = cell
    return Case("prepare_cell", f"{column} = {cell!r} on {rows} rows", world)


def prepare_structure(world: World, choose: Choose) -> Case:
    what = choose(("drop_column", "duplicate_id", "header_only", "empty", "latin1", "semicolon", "bom_crlf", "outside_path", "not_mapping"))
    if what == "drop_column":
        k = world.customers[0].index(choose(("tenure", "MonthlyCharges", "Churn", "customerID", "Contract")))
        for row in world.customers:
            del row[k]
    elif what == "duplicate_id":
        world.customers.append(list(world.customers[1]))
    elif what == "header_only":
        del world.customers[1:]
    elif what == "empty":
        world.raw["customers.csv"] = b""
    elif what == "outside_path":
        world.extra["../outside.csv"] = f"customerID,tenure\n{SECRET},1\n".encode()
        world.scenario["customers"]["path"] = choose(("../outside.csv", "/etc/passwd"))
    elif what == "not_mapping":
        world.raw["scenario.yaml"] = b"- a\n- list\n"
    else:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=";" if what == "semicolon" else ",", lineterminator="\n").writerows(world.customers)
        body = buffer.getvalue()
        world.raw["customers.csv"] = {
            "latin1": body.replace("Female", "Femme été").encode("latin-1"),
            "semicolon": body.encode(),
            "bom_crlf": b"\xef\xbb\xbf" + body.replace("\n", "\r\n").encode(),
        }[what]
    expect = frozenset({2}) if what in ("drop_column", "duplicate_id", "header_only", "empty", "outside_path", "not_mapping") else None
    return Case("prepare_structure", what, world, expect=expect)


def prepare_valid(world: World, choose: Choose) -> Case:
    """The worked example with other valid settings: must prepare, and its scenario must solve."""
    world.scenario["scenario"]["budget"] = choose((100, 1500, 15000))
    world.scenario["segments"]["k"] = choose((2, 3, 4))
    world.scenario["retention"]["horizon_months"] = choose((6, 12, 24))
    return Case("prepare_valid", "budget, k, horizon", world, expect=frozenset({0}))


PREPARE_MUTATIONS = {
    f.__name__: f for f in (prepare_number, prepare_unknown_key, prepare_dead_name, prepare_cell, prepare_structure, prepare_valid)
}
