"""A scenario's inputs loaded once, and what-if variants of it built without re-reading tables.

A sweep solves one scenario dozens of times with a few keys changed. :class:`ScenarioInputs`
holds the merged scenario mapping (``extends`` resolved) and its tables; :meth:`~ScenarioInputs.problem`
applies dotted-key overrides (``channels.call.capacity``), validates the result through
:class:`optimizer.scenario.Scenario` and builds the :class:`optimizer.Problem`. Only a change
under ``synthetic`` regenerates the tables.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.demo import generate_base
from optimizer.errors import InputError
from optimizer.problem import Problem, read_scenario_tables, scenario_sources, sha256_table
from optimizer.scenario import Scenario
from optimizer.scenario_file import _NESTED, load_merged, resolve_scenario, validate

__all__ = ["ScenarioInputs", "apply_overrides", "check_key", "load_inputs", "resolve_scenario"]


#: Keys a what-if cannot change: the tables are read once, when the inputs load.
_TABLE_KEYS = ("name", "description", "options", "customers", "do_not_contact", "exclusions", "contact_history", "acceptance_multipliers")


def check_key(data: Mapping[str, Any], key: str) -> tuple[Any, ...]:
    """Split a dotted scenario key into a path, refusing keys the scenario schema does not have.

    Leaves only: ``budget``, ``channels.<id>.<field>``, ``offers.<id>.<field>``,
    ``rules.<name>.<field>``, ``contact_policy.<field>``, ``synthetic.<field>``, ``solver.<field>``.
    """
    parts = key.split(".")
    top = parts[0]

    def unknown(what: str, choices: list[str], got: str) -> InputError:
        hint = difflib.get_close_matches(got, choices, n=1)
        return InputError(
            f"unknown {what} {got!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "") + f"; known: {', '.join(choices)}",
            key=key,
        )

    if top not in Scenario.model_fields or top in _TABLE_KEYS:
        allowed = [k for k in Scenario.model_fields if k not in _TABLE_KEYS]
        raise unknown("scenario key", allowed, top)
    model = _NESTED.get(top)
    if model is None:
        if len(parts) != 1:
            raise InputError(f"{top!r} is a single value and has no sub-keys", key=key)
        return (top,)
    if top in ("channels", "offers", "rules"):
        if len(parts) != 3:
            raise InputError(f"give {top}.<id>.<field>, e.g. " + ("channels.call.capacity" if top == "channels" else "offers.data_pack.max_targets" if top == "offers" else "rules.growth_light_touch.max"), key=key)
        if top == "rules":
            names = [r.get("name") for r in data.get("rules", []) if isinstance(r, dict)]
            if parts[1] not in names:
                raise unknown("rule", [str(n) for n in names], parts[1])
            position: Any = names.index(parts[1])
        else:
            ids = list(data.get(top) or {})
            if parts[1] not in ids:
                raise unknown(top[:-1], ids, parts[1])
            position = parts[1]
        fields = [f for f in model.model_fields if f not in ("name", "where", "sum")]
        if parts[2] not in fields:
            raise unknown(f"{top[:-1]} field", fields, parts[2])
        return (top, position, parts[2])
    if len(parts) != 2:
        raise InputError(f"give {top}.<field>; fields: {', '.join(model.model_fields)}", key=key)
    if parts[1] not in model.model_fields:
        raise unknown(f"{top} field", list(model.model_fields), parts[1])
    return (top, parts[1])


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``data`` with each dotted key set; unknown keys are errors."""
    out = copy.deepcopy(dict(data))
    for key, value in overrides.items():
        path = check_key(out, key)
        node: Any = out
        for step in path[:-1]:
            if isinstance(node, dict):
                if node.get(step) is None:
                    node[step] = {}
                node = node[step]
            else:
                node = node[step]
        if tuple(path) in (("budget",), ("budget_confidence",)) and isinstance(out.get("budget"), dict) and value is not None:
            # `budget: {amount, confidence}`: a what-if on either keeps the other
            out["budget"]["amount" if path[0] == "budget" else "confidence"] = value
        else:
            node[path[-1]] = value
    return out


@dataclass(eq=False)
class ScenarioInputs:
    """A merged scenario mapping and its tables, ready to build problems with overrides."""

    data: dict[str, Any]
    files: tuple[Path, ...]
    base_dir: Path
    options: pd.DataFrame
    customers: pd.DataFrame | None
    do_not_contact: list[str] | None
    options_file: str
    customers_file: str
    sources: dict[str, str] = field(default_factory=dict)
    #: What reading the scenario file warned about (a child's ``rules:`` replacing inherited rules).
    warnings: tuple[str, ...] = ()
    #: The contact history the scenario names, as read (checked when a problem is built).
    history: pd.DataFrame | None = None
    history_file: str = "contact_history"
    #: The acceptance multipliers the scenario names, checked (applied when a problem is built).
    acceptance: pd.DataFrame | None = None
    acceptance_file: str = "acceptance_multipliers"

    @property
    def name(self) -> str:
        return str(self.data.get("name", "scenario"))

    def scenario(self, overrides: Mapping[str, Any] | None = None) -> Scenario:
        data = apply_overrides(self.data, overrides or {})
        return validate(data, self.files)

    def problem(self, overrides: Mapping[str, Any] | None = None) -> Problem:
        """Validate the scenario with ``overrides`` applied and join it with the tables."""
        scenario = self.scenario(overrides)
        options, customers, sources = self.options, self.customers, dict(self.sources)
        if scenario.synthetic is not None and overrides and any(k.startswith("synthetic.") for k in overrides):
            options, customers = generate_base(scenario.synthetic.customers, seed=scenario.synthetic.seed)
            sources["options (synthetic)"] = sha256_table(options)
            sources["customers (synthetic)"] = sha256_table(customers)
        try:
            return Problem.from_tables(
                scenario,
                options,
                customers,
                do_not_contact=self.do_not_contact,
                options_file=self.options_file,
                customers_file=self.customers_file,
                sources=sources,
                warnings=self.warnings,
                history=self.history,
                history_file=self.history_file,
                acceptance=self.acceptance,
                acceptance_file=self.acceptance_file,
            )
        except InputError as exc:
            if exc.file is not None:
                raise
            raise InputError(exc.rule, file=str(self.files[0]) if self.files else None, key=exc.key) from None

    @classmethod
    def from_tables(
        cls, data: Mapping[str, Any], options: pd.DataFrame, customers: pd.DataFrame | None = None
    ) -> ScenarioInputs:
        """In-memory inputs (notebooks, tests): a scenario mapping and the two tables."""
        data = dict(data)
        data.pop("extends", None)
        validate(data)
        return cls(data, (), Path("."), options, customers, None, "options", "customers",
                   {"options": sha256_table(options), **({"customers": sha256_table(customers)} if customers is not None else {})})


def load_inputs(name_or_path: str | Path, *, allow_outside: bool = False) -> ScenarioInputs:
    """Load a scenario (file or bundled name, ``extends`` resolved) and its tables once.

    ``allow_outside`` lets ``extends`` and the table paths leave the scenario's folder, the
    working folder and the bundled scenarios (:func:`optimizer.problem.load_problem`).
    """
    path = resolve_scenario(name_or_path)
    merged = load_merged(path, allow_outside=allow_outside)
    scenario = validate(merged.data, merged.files)
    if scenario.waves:
        raise InputError(
            "what-ifs, the report, contact lists and the plan test take one wave; a multi-wave scenario runs through "
            "`campaignlab optimize` and `verify` (plan.csv has a wave column). Drop `waves:` and set plan_date to study one wave",
            file=str(path), key="waves")
    tables = read_scenario_tables(scenario, merged.base_dir, path, allow_outside=allow_outside)
    return ScenarioInputs(
        merged.data, merged.files, merged.base_dir, tables.options, tables.customers, tables.do_not_contact,
        tables.options_file, tables.customers_file, scenario_sources(merged.files) | tables.sources, merged.warnings,
        tables.history, tables.history_file, tables.acceptance, tables.acceptance_file,
    )
