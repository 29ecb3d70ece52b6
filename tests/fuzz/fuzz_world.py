"""A small valid campaign and the mutations the fuzz suite applies to it.

The base world is a scenario folder (scenario.yaml, options.csv, customers.csv) that
exercises every kind of limit: budget, minimum ROI, channel capacity and per-customer
channel caps, offer targets, a rule over a customer attribute, an exclusion, the contact
policy with per-customer limits from the table, and a do-not-contact list. A mutation
changes one thing in it (a YAML value, a table cell, a command-line flag, the output
folder) and says what the contract requires of the run: which exit codes are acceptable,
and whether the change is a name that matches nothing (which must be an error, or a
warning when the scenario says ``allow_unused``).

Every choice a mutation makes goes through a ``choose(options)`` callable, so the same
code is driven by Hypothesis in the tests (``data.draw(sampled_from(...))``) and by a
seeded generator in the campaign script.
"""

from __future__ import annotations

import copy
import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml

Choose = Callable[[Sequence[Any]], Any]

OFFERS = ("data_pack", "bill_credit", "handset")
CHANNELS = ("sms", "call", "app")
STAGES = ("growth", "maturity", "decline")
CONTACT_COST = {"sms": 0.05, "call": 2.5, "app": 0.0}
OPTION_COLUMNS = ("customer_id", "offer_id", "channel_id", "p_accept", "value", "contact_cost", "offer_cost")
#: Written into a file outside the scenario's folder; must never appear in any output or message.
SECRET = "SECRET-c0ffee-do-not-print"


@dataclass
class World:
    """A scenario folder as plain data: the YAML mapping and the two tables as rows of text."""

    scenario: dict[str, Any]
    options: list[list[str]]
    customers: list[list[str]]
    # files written verbatim instead of the rendered ones (bytes mutations)
    raw: dict[str, bytes] = field(default_factory=dict)
    # extra files (a parent scenario, a file outside the folder)
    extra: dict[str, bytes] = field(default_factory=dict)

    def files(self) -> dict[str, bytes]:
        """Every file of the scenario folder, by relative name (``../x`` lies outside it)."""
        out = {
            "scenario.yaml": yaml.safe_dump(self.scenario, sort_keys=False, allow_unicode=True).encode("utf-8"),
            "options.csv": _csv(self.options),
            "customers.csv": _csv(self.customers),
        }
        return out | self.extra | self.raw


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def base_world(seed: int = 0, n_customers: int = 24) -> World:
    """The valid campaign every mutation starts from (seeded, a few hundred variables)."""
    rng = np.random.default_rng(seed)
    customers = [["customer_id", "stage", "arpu", "segment", "max_contacts", "min_contacts"]]
    options = [list(OPTION_COLUMNS)]
    total_spend = 0.0
    for i in range(n_customers):
        cid = f"c{i:03d}"
        max_contacts = str(int(rng.integers(1, 3))) if rng.random() < 0.3 else ""
        customers.append([cid, STAGES[i % 3], f"{rng.uniform(20, 180):.2f}", str(1 + i % 3), max_contacts, ""])
        for offer in OFFERS:
            for channel in CHANNELS:
                if rng.random() < 0.55:
                    p = round(float(rng.uniform(0.05, 0.6)), 3)
                    value = round(float(rng.uniform(10, 120)), 2)
                    offer_cost = round(float(rng.uniform(0, 25)), 2)
                    options.append([cid, offer, channel, str(p), str(value), str(CONTACT_COST[channel]), str(offer_cost)])
                    total_spend += CONTACT_COST[channel] + p * offer_cost
    scenario: dict[str, Any] = {
        "name": "fuzz",
        "description": "the fuzz suite's base campaign",
        "options": "options.csv",
        "customers": "customers.csv",
        "budget": round(total_spend * 0.3, 2),
        "min_roi": 0.1,
        "channels": {"sms": {"max_per_customer": 1}, "call": {"capacity": 8}, "app": {}},
        "offers": {"data_pack": {"min_targets": 1}, "bill_credit": {}, "handset": {"max_targets": 5, "budget": 60.0}},
        "rules": [
            {"name": "decline_calls", "where": {"stage": "decline", "channel_id": "call"}, "max": 3},
            {"name": "rich_share", "where": {"arpu": {">=": 100}}, "max_share": 0.8},
        ],
        "exclusions": [["bill_credit", "handset"]],
        "do_not_contact": ["c003"],
        "contact_policy": {"max_contacts": 2, "min_contacts": 0},
    }
    return World(scenario, options, customers)


# --------------------------------------------------------------------------------------
# Mutations


@dataclass(frozen=True)
class Case:
    """One run: the files, the command line, and what the contract demands of it."""

    kind: str
    detail: str
    world: World
    argv: tuple[str, ...] = ()
    # None: any of 0, 1, 2 is acceptable (the reference decides 0 against 1)
    expect: frozenset[int] | None = None
    # a name in the scenario that matches nothing: error, or a warning under allow_unused
    dead_name: str | None = None
    # the output folder is replaced by this (a file, a folder inside a file)
    out: str | None = None


EXTREME_NUMBERS: tuple[Any, ...] = (
    1e19, -1e19, 2**63, 2**70, -1, 0, 0.5, 1e308, 1e-320, float("nan"), float("inf"), float("-inf"),
    True, False, "yes", "1e3", "abc", "", None, [1], {"a": 1},
)
#: Scenario keys that hold numbers, as paths into the mapping.
NUMBER_KEYS: tuple[tuple[Any, ...], ...] = (
    ("budget",), ("min_roi",), ("channels", "call", "capacity"), ("channels", "sms", "max_per_customer"),
    ("offers", "data_pack", "min_targets"), ("offers", "handset", "max_targets"), ("offers", "handset", "budget"),
    ("rules", 0, "max"), ("rules", 1, "max_share"), ("contact_policy", "max_contacts"),
    ("contact_policy", "min_contacts"), ("seed",),
)
NUMERIC_CELLS = ("", " ", "nan", "NaN", "inf", "-inf", "1e400", "-1", "abc", "1e16", "1e19", " 5 ", "0x10", "1_000", "2.5e-3", "5e-324")
ID_CELLS = ("", " ", "=SUM(A1)", "+1", "-5", "@x", "a,b", 'q"uote', "new\nline", "[bold]x[/]", "wave [/]", "$x^$", "ü-ß", "\t", "\x00", "c001 ")
LIMIT_CELLS = ("1e19", "99999999999999999999", "-1", "1.5", "", "nan", "inf", "3", "0", "abc")
ATTRIBUTE_CELLS = ("", "nan", "inf", "-inf", "abc", "1e400", "100", "decline", "[/]", "=1+1")
NAMES = ("wave [/]", "[bold]x", "\x1b[31mred", "a" * 100_000, "../../escape", "/abs/path", "ü" * 50, "tab\tname", "line\nbreak", "$x^$", "<script>alert(1)</script>")


def _set(mapping: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = mapping
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _typo(name: str, choose: Choose) -> str:
    forms = (name[:-1], name + "s", name[0] + name[2:] if len(name) > 2 else name + "x", name.upper(), name[::-1])
    return choose([f for f in forms if f != name])  # 'sms' reversed is 'sms': not a typo


def yaml_number(world: World, choose: Choose) -> Case:
    path, value = choose(NUMBER_KEYS), choose(EXTREME_NUMBERS)
    _set(world.scenario, path, value)
    return Case("yaml_number", f"{'.'.join(map(str, path))} = {value!r}", world)


def yaml_unknown_key(world: World, choose: Choose) -> Case:
    where = choose(((), ("channels", "call"), ("offers", "handset"), ("rules", 0), ("contact_policy",), ("solver",)))
    key = choose(("capacitty", "budgett", "max_target", "mx", "wher", "extra"))
    node: Any = world.scenario
    for part in where:
        node = node.setdefault(part, {}) if isinstance(node, dict) else node[part]
    node[key] = 1
    return Case("yaml_unknown_key", f"{'.'.join(map(str, where + (key,)))}", world, expect=frozenset({2}))


def yaml_type(world: World, choose: Choose) -> Case:
    key = choose(("channels", "offers", "rules", "exclusions", "contact_policy", "do_not_contact", "name", "options", "where"))
    value = choose(([], {}, "text", 5, None, [["a"]], {"x": None}))
    if key == "where":
        world.scenario["rules"][0]["where"] = value
    else:
        world.scenario[key] = value
    return Case("yaml_type", f"{key} = {value!r}", world)


def dead_channel(world: World, choose: Choose) -> Case:
    name = _typo(choose(CHANNELS), choose)
    allow = choose((False, True))
    world.scenario["channels"][name] = {"capacity": 100}
    return _dead(world, "dead_channel", name, allow)


def dead_offer(world: World, choose: Choose) -> Case:
    name = _typo(choose(OFFERS), choose)
    allow = choose((False, True))
    world.scenario["offers"][name] = {"max_targets": 0}
    return _dead(world, "dead_offer", name, allow)


def dead_where_value(world: World, choose: Choose) -> Case:
    allow = choose((False, True))
    form = choose(("value", "list", "in"))
    name = _typo(choose(STAGES), choose)
    condition = {"value": name, "list": ["growth", name], "in": {"in": [name, "decline"]}}[form]
    world.scenario["rules"][0]["where"]["stage"] = condition
    return _dead(world, "dead_where_value", name, allow)


def dead_do_not_contact(world: World, choose: Choose) -> Case:
    allow = choose((False, True))
    name = choose(("c999", "C001", "c01", "x"))
    world.scenario["do_not_contact"] = ["c003", name]
    return _dead(world, "dead_do_not_contact", name, allow)


def _dead(world: World, kind: str, name: str, allow: bool) -> Case:
    if allow:
        world.scenario["allow_unused"] = True
    return Case(kind, f"{name!r}{' (allow_unused)' if allow else ''}", world, expect=frozenset({0, 1} if allow else {2}), dead_name=name)


def table_numeric_cell(world: World, choose: Choose) -> Case:
    column = choose(("p_accept", "value", "contact_cost", "offer_cost"))
    row = choose(range(1, len(world.options)))
    cell = choose(NUMERIC_CELLS)
    world.options[row][OPTION_COLUMNS.index(column)] = cell
    return Case("table_numeric_cell", f"options row {row} {column} = {cell!r}", world)


def table_id_cell(world: World, choose: Choose) -> Case:
    table = choose(("options", "customers", "both"))
    row = choose(range(1, len(world.customers)))
    cell = choose(ID_CELLS)
    old = world.customers[row][0]
    if table in ("customers", "both"):
        world.customers[row][0] = cell
    if table in ("options", "both"):
        for option in world.options[1:]:
            if option[0] == old:
                option[0] = cell
    return Case("table_id_cell", f"{table}: {old} -> {cell!r}", world)


def table_offer_channel_ids(world: World, choose: Choose) -> Case:
    """An offer or channel renamed everywhere (tables and scenario) to an awkward id."""
    kind = choose(("offer", "channel"))
    old = choose(OFFERS if kind == "offer" else CHANNELS)
    new = choose(("$x^$", "=HYPERLINK()", "[red]x[/]", "a,b", "ü", "-minus", "with space"))
    column = 1 if kind == "offer" else 2
    for option in world.options[1:]:
        if option[column] == old:
            option[column] = new
    key = "offers" if kind == "offer" else "channels"
    world.scenario[key] = {(new if k == old else k): v for k, v in world.scenario[key].items()}
    if kind == "offer":
        world.scenario["exclusions"] = [[new if o == old else o for o in pair] for pair in world.scenario["exclusions"]]
    else:
        where = world.scenario["rules"][0]["where"]
        where["channel_id"] = new if where["channel_id"] == old else where["channel_id"]
    return Case("table_offer_channel_ids", f"{kind} {old} -> {new!r}", world)


def table_customer_limit(world: World, choose: Choose) -> Case:
    column = choose(("max_contacts", "min_contacts"))
    row = choose(range(1, len(world.customers)))
    cell = choose(LIMIT_CELLS)
    world.customers[row][world.customers[0].index(column)] = cell
    return Case("table_customer_limit", f"customers row {row} {column} = {cell!r}", world)


def table_attribute(world: World, choose: Choose) -> Case:
    column = choose(("stage", "arpu"))
    rows = choose((1, 2, 5))
    cell = choose(ATTRIBUTE_CELLS)
    for row in range(1, 1 + rows):
        world.customers[row][world.customers[0].index(column)] = cell
    return Case("table_attribute", f"customers rows 1-{rows} {column} = {cell!r}", world)


def table_structure(world: World, choose: Choose) -> Case:
    what = choose(("drop_column", "duplicate_row", "header_only", "empty", "bom_crlf", "text_column", "latin1", "short_row", "customers_missing"))
    table = choose(("options", "customers"))
    rows = world.options if table == "options" else world.customers
    if what == "drop_column":
        k = choose(range(len(rows[0])))
        for r in rows:
            del r[k]
    elif what == "duplicate_row":
        rows.append(list(rows[1]))
    elif what == "header_only":
        del rows[1:]
    elif what == "empty":
        world.raw[f"{table}.csv"] = b""
    elif what == "bom_crlf":
        world.raw[f"{table}.csv"] = b"\xef\xbb\xbf" + _csv(rows).replace(b"\n", b"\r\n")
    elif what == "text_column":
        rows[0].append("note")
        for r in rows[1:]:
            r.append("hello")
    elif what == "latin1":
        world.raw[f"{table}.csv"] = _csv(rows).replace(b"c001", "cé01".encode("latin-1"))
    elif what == "short_row":
        rows[2] = rows[2][:-2]
    else:
        world.raw["customers.csv"] = _csv(world.customers[:-3])  # options name customers it lacks
    return Case("table_structure", f"{table}: {what}", world)


def yaml_bytes(world: World, choose: Choose) -> Case:
    what = choose(("latin1", "bom", "deep", "alias_bomb", "huge_list", "tabs", "not_mapping", "binary", "anchors_ok"))
    text = yaml.safe_dump(world.scenario, sort_keys=False)
    if what == "latin1":
        body = text.replace("the fuzz suite", "la campagne été").encode("latin-1")
    elif what == "bom":
        body = b"\xef\xbb\xbf" + text.encode("utf-8")
    elif what == "deep":
        body = (text + "deep: " + "[" * 5000 + "]" * 5000 + "\n").encode()
    elif what == "alias_bomb":
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 10)}]" for i in range(1, 9)]
        body = (text + "\n".join(lines) + "\n").encode()
    elif what == "huge_list":
        body = (text + "exclusions: [" + ", ".join(["[data_pack, bill_credit]"] * 20_000) + "]\n").encode()
    elif what == "tabs":
        body = text.replace("  ", "\t").encode()
    elif what == "not_mapping":
        body = b"- just\n- a list\n"
    elif what == "binary":
        body = bytes(range(256)) * 4
    else:  # anchors and aliases used as intended stay fine
        body = text.replace("name: fuzz", "name: &n fuzz", 1).replace("description: the fuzz suite's base campaign", "description: *n").encode()
    world.raw["scenario.yaml"] = body
    # a BOM, a long (valid) list and anchors used as intended are fine; the rest is refused
    return Case("yaml_bytes", what, world, expect=None if what in ("bom", "huge_list", "anchors_ok") else frozenset({2}))


def yaml_name(world: World, choose: Choose) -> Case:
    name = choose(NAMES)
    where = choose(("name", "description", "rule"))
    if where == "rule":
        world.scenario["rules"][0]["name"] = name
    else:
        world.scenario[where] = name
    return Case("yaml_name", f"{where} = {name[:20]!r}{'...' if len(name) > 20 else ''}", world)


def cli_flags(world: World, choose: Choose) -> Case:
    flag = choose(("--gap", "--time-limit"))
    value = choose(("2", "inf", "-1", "nan", "1", "0", "-0", "1e-300", "abc", "0.5", "1e9", "30"))
    number = float(value) if value != "abc" else float("nan")
    valid = (0 <= number < 1) if flag == "--gap" else (math.isfinite(number) and number > 0)
    return Case("cli_flags", f"{flag} {value}", world, argv=(flag, value), expect=None if valid else frozenset({2}))


def out_path(world: World, choose: Choose) -> Case:
    what = choose(("file", "inside_file", "deep_new", "dotdot"))
    out = {"file": "outfile", "inside_file": "outfile/sub", "deep_new": "a/b/c/out", "dotdot": "x/../out"}[what]
    world.extra["outfile"] = b"not a folder\n"
    return Case("out_path", what, world, out=out, expect=frozenset({2}) if what in ("file", "inside_file") else None)


def paths_outside(world: World, choose: Choose) -> Case:
    """Tables and parents outside the scenario's folder tree: refused without reading them."""
    key = choose(("options", "customers", "extends", "do_not_contact"))
    target = choose(("../outside.csv", "/etc/passwd", "../outside.yaml", "/etc/hostname"))
    world.extra["../outside.csv"] = f"customer_id,offer_id,channel_id,p_accept,value,contact_cost,offer_cost\n{SECRET},x,y,1,1,1,1\n".encode()
    world.extra["../outside.yaml"] = f"name: {SECRET}\nbogus: [{SECRET}]\n".encode()
    world.scenario[key] = target
    return Case("paths_outside", f"{key}: {target}", world, expect=frozenset({2}))


def extends_lists(world: World, choose: Choose) -> Case:
    """A child that extends the base and edits its lists."""
    parent = copy.deepcopy(world.scenario)
    world.extra["parent.yaml"] = yaml.safe_dump(parent, sort_keys=False).encode()
    edit = choose(("append", "remove", "replace", "remove_unknown", "append_duplicate", "exclusion_remove"))
    new_rule = {"name": "growth_sms", "where": {"stage": "growth", "channel_id": "sms"}, "max": 4}
    child: dict[str, Any] = {"extends": "parent.yaml", "name": "child"}
    expect: frozenset[int] | None = None
    if edit == "append":
        child["rules+"] = [new_rule]
    elif edit == "remove":
        child["rules-"] = ["decline_calls"]
    elif edit == "replace":
        child["rules"] = [new_rule]
    elif edit == "remove_unknown":
        child["rules-"] = ["decline_call"]
        expect = frozenset({2})
    elif edit == "append_duplicate":
        child["rules+"] = [dict(new_rule, name="decline_calls")]
        expect = frozenset({2})
    else:
        child["exclusions-"] = [["bill_credit", "handset"]]
    world.scenario = child
    return Case("extends_lists", edit, world, expect=expect)


def infeasible(world: World, choose: Choose) -> Case:
    what = choose(("min_targets", "min_contacts", "budget_zero_min", "rule_min"))
    if what == "min_targets":
        world.scenario["offers"]["handset"] = {"min_targets": 10_000}
    elif what == "min_contacts":
        world.scenario["contact_policy"]["min_contacts"] = 2
        world.scenario["budget"] = 1.0
    elif what == "budget_zero_min":
        world.scenario["budget"] = 0
    else:
        world.scenario["rules"].append({"name": "many_calls", "where": {"channel_id": "call"}, "min": 9})
    return Case("infeasible", what, world)


def do_not_contact_all(world: World, choose: Choose) -> Case:
    ids = sorted({row[0] for row in world.options[1:]})
    world.scenario["do_not_contact"] = ids
    forced = choose((False, True))
    if not forced:
        world.scenario["offers"]["data_pack"] = {}
    return Case("do_not_contact_all", "with a minimum" if forced else "no minimum", world, expect=frozenset({1} if forced else {0}))


def large_numbers(world: World, choose: Choose) -> Case:
    column = choose(("value", "offer_cost", "contact_cost"))
    size = choose(("1e12", "1e15", "1e16", "9e15", "1e300"))
    for row in world.options[1::3]:
        row[OPTION_COLUMNS.index(column)] = size
    return Case("large_numbers", f"{column} = {size} on a third of the options", world)


def valid_limits(world: World, choose: Choose) -> Case:
    """A valid scenario with other limits: the run must find the reference's optimum."""
    s = world.scenario
    s["budget"] = choose((None, 0, 5.0, 50.0, s["budget"], 1e6))
    s["min_roi"] = choose((None, -0.5, 0, 0.1, 1.0, 3.0))
    s["channels"]["call"]["capacity"] = choose((0, 1, 3, 8, 100))
    s["offers"]["handset"]["max_targets"] = choose((0, 2, 5, None))
    s["contact_policy"]["max_contacts"] = choose((1, 2, 3))
    s["rules"][1]["max_share"] = choose((0.0, 0.3, 0.8, 1.0))
    return Case("valid_limits", f"budget {s['budget']}, min_roi {s['min_roi']}", world, expect=frozenset({0, 1}))


MUTATIONS: dict[str, Callable[[World, Choose], Case]] = {
    f.__name__: f
    for f in (
        yaml_number, yaml_unknown_key, yaml_type, dead_channel, dead_offer, dead_where_value, dead_do_not_contact,
        table_numeric_cell, table_id_cell, table_offer_channel_ids, table_customer_limit, table_attribute,
        table_structure, yaml_bytes, yaml_name, cli_flags, out_path, paths_outside, extends_lists, infeasible,
        do_not_contact_all, large_numbers, valid_limits,
    )
}


def make_case(kind: str, choose: Choose, seed: int = 0) -> Case:
    """The base world with one mutation of ``kind`` applied."""
    return MUTATIONS[kind](base_world(seed), choose)
