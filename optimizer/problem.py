"""The problem: a scenario joined with its tables, reduced to arrays and labelled limits.

``Problem`` is the single input of every solver and of the verifier. It holds the
validated tables (so that a plan can be checked against the inputs themselves) and the
numbers derived from them once: per-option spend, expected return and net value, and the
*coupling limits*, the few constraints that tie many customers together (budget, ROI,
channel capacity, offer limits, rules). Everything per customer (contact counts, one option
per offer, exclusions, per-channel caps) is left to the model, which knows its structure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from .errors import InputError, quote
from .contact_history import ContactHistory, check_contact_history
from .contact_windows import WindowEffect, restrict_contacts
from .holdout import HoldoutSelection, select_holdout
from .limits import DERIVED_COLUMNS, HINT_CANDIDATES, CouplingLimit, coupling_limits, did_you_mean, unused_name
from .scenario import Scenario
from .scenario_file import allowed_roots, check_inside, load_merged, validate
from .tables import CAMPAIGN, OPTION_KEYS, check_customers, check_options, read_id_list, read_table

__all__ = ["CouplingLimit", "DERIVED_COLUMNS", "LinkedRows", "Problem", "ScenarioTables", "load_problem", "read_scenario_tables", "scenario_sources"]



@dataclass(frozen=True, eq=False)
class LinkedRows:
    """``sum of x over each row's options <= rhs``: one kind of per-customer row over several waves."""

    kind: str  # e.g. "window:one call a quarter"
    row: np.ndarray  # row (0-based within the kind) of each entry
    option: np.ndarray  # option of each entry
    rhs: np.ndarray  # per row
    owner: np.ndarray  # per row: the problem's customer (a customer in its last wave) the row belongs to
    # what a row counts, wave by wave: (wave, offer position or -1 for any, channel position or -1);
    # the entries of a customer's row are that customer's options matching these, what lets
    # decomposition count them in its per-customer walk (optimizer.decompose.subproblem)
    terms: tuple[tuple[int, int, int], ...] = ()


@dataclass(frozen=True, eq=False)
class Problem:
    """A validated scenario with its options and customers, as arrays.

    Build one with :meth:`from_tables` (in Python) or :func:`load_problem` (from a
    scenario file). Options are in table order; ``options`` has one row per option that
    survived the do-not-contact list and the holdout.
    """

    scenario: Scenario
    options: pd.DataFrame
    customers: pd.DataFrame
    customer: np.ndarray  # option -> row of `customers`
    offer: np.ndarray  # option -> position in offer_ids (int16)
    channel: np.ndarray  # option -> position in channel_ids (int16)
    offer_ids: tuple[str, ...]
    channel_ids: tuple[str, ...]
    spend: np.ndarray  # contact_cost + p_accept * offer_cost
    expected_return: np.ndarray  # p_accept * value
    net_value: np.ndarray  # expected_return - spend: the objective coefficient
    limits: tuple[CouplingLimit, ...]
    do_not_contact: frozenset[str]
    removed_by_do_not_contact: int
    sources: dict[str, str] = field(default_factory=dict)
    #: Lines worth telling the user though nothing is wrong enough to stop: names that match
    #: nothing in a template (``allow_unused: true``), a child's ``rules:`` replacing inherited rules.
    warnings: tuple[str, ...] = ()
    #: Customers withheld from the plan to measure its effect (``holdout:``); their options are removed.
    holdout: HoldoutSelection | None = None
    #: Past contacts (``contact_history:``) the contact windows count, of the base's customers.
    history: ContactHistory | None = None
    #: Per-customer caps on a channel left by the contact windows (the channel's own
    #: ``max_per_customer`` folded in); ``customers.max_contacts`` holds the whole-base windows' room.
    channel_caps: dict[str, np.ndarray] = field(default_factory=dict)
    #: Offer pairs no customer gets together: the scenario's exclusions, then those its sequences add.
    exclusions: tuple[tuple[str, str], ...] = ()
    #: What each contact window and sequence removed or capped (optimizer.contact_windows).
    window_effects: tuple[WindowEffect, ...] = ()
    #: Each window's room per customer on the plan date (optimizer.contact_windows).
    window_rooms: tuple[np.ndarray, ...] = ()
    #: A multi-wave plan (``waves:``, optimizer.waves): each wave's problem alone, in date order.
    #: Then a "customer" of this problem is a customer in one wave (``options.wave``, ``customers.wave``).
    waves: tuple["Problem", ...] = ()
    #: Per-customer rows that tie a customer's waves together (windows and sequences across waves).
    linked: tuple[LinkedRows, ...] = ()

    @property
    def n_options(self) -> int:
        return len(self.options)

    @property
    def n_customers(self) -> int:
        return len(self.customers)

    @classmethod
    def from_tables(
        cls,
        scenario: Scenario,
        options: pd.DataFrame,
        customers: pd.DataFrame | None = None,
        *,
        do_not_contact: list[str] | None = None,
        options_file: str = "options",
        customers_file: str = "customers",
        sources: dict[str, str] | None = None,
        warnings: tuple[str, ...] = (),
        history: pd.DataFrame | ContactHistory | None = None,
        history_file: str = "contact_history",
        acceptance: pd.DataFrame | None = None,
        acceptance_file: str = "acceptance_multipliers",
    ) -> "Problem":
        """Validate the tables against the scenario and derive every array the solvers use.

        A channel, offer, rule value or do-not-contact id that matches nothing in the tables
        is an error (a misspelt name is a limit that silently does nothing), or one of the
        ``warnings`` when the scenario sets ``allow_unused``. ``warnings`` given here (from
        reading the scenario file) are kept in front. ``acceptance`` (a checked
        :func:`optimizer.acceptance.read_acceptance_multipliers` table) scales each option's
        p_accept by its group's multiplier before anything is derived from it.
        """
        if scenario.waves:
            from .waves import joint_problem  # a plan over several dated waves is stitched from one problem per wave

            return joint_problem(scenario, options, customers, do_not_contact=do_not_contact, options_file=options_file,
                                 customers_file=customers_file, sources=sources, warnings=warnings, history=history,
                                 history_file=history_file, acceptance=acceptance, acceptance_file=acceptance_file)
        notes = list(warnings)
        is_csv = options_file.lower().endswith(".csv")
        table = check_options(options, options_file, scenario, is_csv)
        if acceptance is not None:
            from .acceptance import apply_acceptance_multipliers

            table, applied = apply_acceptance_multipliers(table, customers, acceptance, acceptance_file)
            notes.extend(applied)
        for column, key, what in (("channel_id", "channels", "no option uses channel"), ("offer_id", "offers", "no option has offer")):
            used = [str(v) for v in table[column].unique()]
            for name in sorted(set(getattr(scenario, key)) - set(used)):
                unused_name(scenario, notes, f"{what} {quote(name)}", name, used, f"{key}.{name}")
        _check_campaign_names(scenario, notes, table)
        if do_not_contact is None:
            do_not_contact = scenario.do_not_contact if isinstance(scenario.do_not_contact, list) else []
        dnc = frozenset(str(c) for c in do_not_contact)
        options_ids = table["customer_id"]
        blocked = table["customer_id"].isin(list(dnc)).to_numpy() if dnc else np.zeros(len(table), bool)
        blocked_rows = table.loc[blocked] if blocked.any() else None
        # without a blocked row, no copy (reset_index is lazy under copy-on-write)
        table = (table.loc[~blocked] if blocked.any() else table).reset_index(drop=True)

        if customers is None:
            ids = pd.unique(table["customer_id"]) if len(table) else np.array([], dtype=object)
            cust = pd.DataFrame({"customer_id": pd.Series(ids, dtype=str)})
            cust["max_contacts"] = scenario.contact_policy.max_contacts
            cust["min_contacts"] = scenario.contact_policy.min_contacts
        else:
            cust = check_customers(customers, customers_file, scenario, customers_file.lower().endswith(".csv"))
            clash = sorted(set(cust.columns) & (set(table.columns) - {"customer_id"}))
            if clash:
                raise InputError(
                    "a customer attribute has the name of an option column; rename one of them",
                    file=customers_file,
                    column=clash[0],
                )
        known = cust["customer_id"] if customers is not None else options_ids
        _check_do_not_contact(scenario, notes, dnc, known)
        customer = _positions(pd.Index(cust["customer_id"]), table["customer_id"])
        if customers is not None:
            unknown = customer < 0
            if unknown.any():
                row = int(np.flatnonzero(unknown)[0]) + 1
                raise InputError(
                    f"customer {quote(table['customer_id'].iloc[row - 1])} is not in the customers table {customers_file}",
                    file=options_file,
                    row=row,
                    column="customer_id",
                )
        holdout = None
        if scenario.holdout is not None:
            holdout = _draw_holdout(scenario, cust, customer)
            held = np.zeros(len(cust), bool)
            held[holdout.rows] = True
            dropped = held[customer]
            if dropped.any():
                # like do-not-contact rows: a value only they have is no typo in a rule
                blocked_rows = pd.concat([blocked_rows, table.loc[dropped]]) if blocked_rows is not None else table.loc[dropped]
                table = table.loc[~dropped].reset_index(drop=True)
                customer = customer[~dropped]
        if isinstance(history, pd.DataFrame):
            history = check_contact_history(history, history_file, scenario, cust["customer_id"])
        restricted = restrict_contacts(scenario, history, table, customer, cust["customer_id"], cust["max_contacts"].to_numpy())
        if restricted.remove.any():
            table = table.loc[~restricted.remove].reset_index(drop=True)
            customer = customer[~restricted.remove]
        if restricted.max_contacts is not None:
            cust["max_contacts"] = restricted.max_contacts.astype(np.int64)
            over = cust["min_contacts"].to_numpy() > restricted.max_contacts
            if over.any():
                # a window protects the customer from a contact; a contact minimum does not override it
                cust.loc[over, "min_contacts"] = cust.loc[over, "max_contacts"]
                notes.append(f"contact_policy.windows: {int(over.sum())} customer(s) have less room in a contact window than "
                             f"their min_contacts, e.g. {cust['customer_id'].iloc[int(np.flatnonzero(over)[0])]}; their minimum is lowered to the room")
        if history is not None and history.unknown_customers:
            notes.append(f"contact_history: {history.unknown_customers:,} of {history.rows_read:,} rows are of customers not in this base "
                         f"(e.g. {history.unknown_customer_example}); they are left out")
        offer_ids = tuple(scenario.offers)
        channel_ids = tuple(scenario.channels)
        # a scenario has a handful of offers and channels: int16 saves 1.1 GB per 10M customers
        offer = _positions(pd.Index(offer_ids), table["offer_id"]).astype(np.int16)
        channel = _positions(pd.Index(channel_ids), table["channel_id"]).astype(np.int16)

        # in place, one array each (bit-identical to contact + p * offer: + commutes)
        p = table["p_accept"].to_numpy()
        spend = p * table["offer_cost"].to_numpy()
        spend += table["contact_cost"].to_numpy()
        ret = p * table["value"].to_numpy()
        arrays = dict(spend=spend, expected_return=ret, net_value=ret - spend)
        limits = coupling_limits(
            scenario, table, cust, customer, offer, channel, offer_ids, channel_ids, arrays, notes,
            customers_file, customers_file.lower().endswith(".csv"), blocked_rows,
        )
        return cls(
            scenario=scenario,
            options=table,
            customers=cust,
            customer=customer,
            offer=offer,
            channel=channel,
            offer_ids=offer_ids,
            channel_ids=channel_ids,
            spend=spend,
            expected_return=ret,
            net_value=arrays["net_value"],
            limits=tuple(limits),
            do_not_contact=dnc,
            removed_by_do_not_contact=int(blocked.sum()),
            sources=dict(sources or {}),
            warnings=tuple(notes),
            holdout=holdout,
            history=history,
            channel_caps=restricted.channel_caps,
            exclusions=_distinct_pairs(tuple(tuple(e) for e in scenario.exclusions) + restricted.exclusions),  # type: ignore[arg-type]
            window_effects=restricted.effects,
            window_rooms=restricted.rooms,
        )

    def plan_table(self, chosen: np.ndarray) -> pd.DataFrame:
        """The plan as the documented table: one row per chosen option, in input order
        (a multi-wave plan: wave by wave, with a ``wave`` column; options with a ``campaign``
        column: with it, so that each budget owner can read their own rows)."""
        rows = np.flatnonzero(chosen)
        o = self.options.iloc[rows]
        return pd.DataFrame(
            {
                **({"wave": o["wave"].to_numpy()} if self.waves else {}),
                "customer_id": o["customer_id"].to_numpy(),
                "offer_id": o["offer_id"].to_numpy(),
                "channel_id": o["channel_id"].to_numpy(),
                **({CAMPAIGN: o[CAMPAIGN].to_numpy()} if CAMPAIGN in o.columns else {}),
                "p_accept": o["p_accept"].to_numpy(),
                "expected_value": self.expected_return[rows],
                "expected_cost": self.spend[rows],
                # the split of expected_cost: paid on contact, and paid if accepted
                "contact_cost": o["contact_cost"].to_numpy(),
                "offer_cost": o["offer_cost"].to_numpy(),
            }
        )


def _distinct_pairs(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Each excluded pair once, in first-listed order: (a, b) and (b, a) are one rule, and a
    list that repeats a pair 20,000 times must not build 20,000 identical rows."""
    seen: set[frozenset[str]] = set()
    kept = []
    for pair in pairs:
        if frozenset(pair) not in seen:
            seen.add(frozenset(pair))
            kept.append(pair)
    return tuple(kept)


def _check_campaign_names(scenario: Scenario, notes: list[str], table: pd.DataFrame) -> None:
    """Every campaign, and every channel and offer a campaign limits, must have options:
    a misspelt campaign is a budget that silently holds over nothing."""
    if not scenario.campaigns:
        return
    used = [str(v) for v in pd.unique(table[CAMPAIGN]) if v != ""]
    for name, campaign in scenario.campaigns.items():
        mine = table.loc[(table[CAMPAIGN] == name).to_numpy()]
        if not len(mine):
            unused_name(scenario, notes, f"no option has campaign {quote(name)}", name, used, f"campaigns.{name}")
            continue
        for column, key, what, names in (("channel_id", "channels", "uses channel", campaign.channels),
                                         ("offer_id", "offers", "has offer", campaign.offers)):
            present = [str(v) for v in pd.unique(mine[column])]
            for other in sorted(set(names) - set(present)):
                unused_name(scenario, notes, f"no option of campaign {quote(name)} {what} {quote(other)}", other, present,
                            f"campaigns.{name}.{key}.{other}")


def _check_do_not_contact(scenario: Scenario, notes: list[str], dnc: frozenset[str], known: pd.Series) -> None:
    """Every do-not-contact id must be a customer: a mistyped id is a customer who gets called."""
    if not dnc:
        return
    ids = pd.Series(sorted(dnc), dtype=str)
    strangers = ids[~ids.isin(known.astype(str))]
    if strangers.size:
        others = f"; {strangers.size - 1} more of the {ids.size} ids are no customer either" if strangers.size > 1 else ""
        choices = [str(c) for c in pd.unique(known)] if known.size <= HINT_CANDIDATES else []
        unused_name(scenario, notes, f"{quote(strangers.iloc[0])} is not a customer of this base{others}", strangers.iloc[0], choices, "do_not_contact")


def _draw_holdout(scenario: Scenario, customers: pd.DataFrame, customer: np.ndarray) -> HoldoutSelection:
    """The holdout (optimizer.holdout), once its stratify columns are known to be customer attributes."""
    spec = scenario.holdout
    assert spec is not None
    attributes = [str(c) for c in customers.columns if c != "customer_id"]
    for column in spec.stratify:
        if column not in attributes:
            raise InputError(
                f"stratifies by {quote(column)}, which is not a customers column{did_you_mean(column, attributes)}; "
                f"known: {', '.join(attributes)}",
                key="holdout.stratify",
            )
    return select_holdout(customers, np.bincount(customer, minlength=len(customers)), spec, scenario.seed)


def _positions(index: pd.Index, ids: pd.Series) -> np.ndarray:
    """Position of each id in ``index`` (-1 if absent), looked up once per category when categorical."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        return index.get_indexer(ids.cat.categories).astype(np.int64)[ids.cat.codes.to_numpy()]
    return index.get_indexer(ids).astype(np.int64)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_table(table: pd.DataFrame) -> str:
    """A content hash of a generated table (column names, then row hashes)."""
    digest = hashlib.sha256(",".join(map(str, table.columns)).encode())
    digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class ScenarioTables:
    """The tables a scenario names (or generates), read once, with the sha256 of each."""

    options: pd.DataFrame
    customers: pd.DataFrame | None
    do_not_contact: list[str] | None
    options_file: str
    customers_file: str
    sources: dict[str, str]
    history: pd.DataFrame | None = None
    history_file: str = "contact_history"
    acceptance: pd.DataFrame | None = None
    acceptance_file: str = "acceptance_multipliers"


def read_scenario_tables(scenario: Scenario, base: Path, scenario_file: str | Path, *, allow_outside: bool = False) -> ScenarioTables:
    """Read (or generate, for ``synthetic``) the options, customers and do-not-contact tables.

    Each table must lie in the scenario's folder, the working folder or the bundled
    scenarios unless ``allow_outside`` (checked before it is read).
    """
    from .demo import generate_base  # the generator is only needed for synthetic scenarios

    roots = () if allow_outside else allowed_roots(scenario_file)

    def inside(value: str, key: str) -> Path:
        check_inside(base / value, roots, file=scenario_file, key=key)
        return base / value  # unresolved: messages name the path as the scenario gave it

    sources: dict[str, str] = {}
    customers: pd.DataFrame | None = None
    customers_file = "customers"
    if scenario.synthetic is not None:
        options, customers = generate_base(scenario.synthetic.customers, seed=scenario.synthetic.seed)
        options_file, customers_file = "synthetic options", "synthetic customers"
        sources["options (synthetic)"] = sha256_table(options)
        sources["customers (synthetic)"] = sha256_table(customers)
    elif scenario.options is None:
        raise InputError("give 'options' (a table path) or 'synthetic' (the demo generator)", file=str(scenario_file), key="options")
    else:
        options_path = inside(scenario.options, "options")
        options = read_table(options_path, categories=(*OPTION_KEYS, CAMPAIGN))
        options_file = str(options_path)
        sources["options"] = sha256_file(options_path)
        if scenario.customers is not None:
            customers_path = inside(scenario.customers, "customers")
            customers = read_table(customers_path)
            customers_file = str(customers_path)
            sources["customers"] = sha256_file(customers_path)
    def optional(key: str, value: str | None, reader: Callable[[Path], Any]) -> tuple[Any, str]:
        """The table under ``key`` (None if the scenario gives none), and the file name messages use."""
        if value is None:
            return None, key
        path = inside(value, key)
        table = reader(path)
        sources[key] = sha256_file(path)
        return table, str(path)

    from .acceptance import read_acceptance_multipliers

    dnc, _ = optional("do_not_contact", scenario.do_not_contact if isinstance(scenario.do_not_contact, str) else None, read_id_list)
    history, history_file = optional("contact_history", scenario.contact_history, read_table)
    acceptance, acceptance_file = optional("acceptance_multipliers", scenario.acceptance_multipliers, read_acceptance_multipliers)
    return ScenarioTables(options, customers, dnc, options_file, customers_file, sources, history, history_file,
                          acceptance, acceptance_file)


def scenario_sources(files: tuple[Path, ...]) -> dict[str, str]:
    """sha256 of every file of an ``extends`` chain: the child first, then its parents."""
    return {"scenario" if i == 0 else f"scenario parent {i}": sha256_file(f) for i, f in enumerate(files)}


def load_problem(scenario_path: str | Path, *, allow_outside: bool = False) -> Problem:
    """Read a scenario file and the tables it names; record the sha256 of every input.

    ``allow_outside`` lets ``extends`` and the table paths leave the scenario's folder, the
    working folder and the bundled scenarios.
    """
    merged = load_merged(scenario_path, allow_outside=allow_outside)
    scenario = validate(merged.data, merged.files)
    tables = read_scenario_tables(scenario, merged.base_dir, scenario_path, allow_outside=allow_outside)
    try:
        return Problem.from_tables(
            scenario,
            tables.options,
            tables.customers,
            do_not_contact=tables.do_not_contact,
            options_file=tables.options_file,
            customers_file=tables.customers_file,
            sources=scenario_sources(merged.files) | tables.sources,
            warnings=merged.warnings,
            history=tables.history,
            history_file=tables.history_file,
            acceptance=tables.acceptance,
            acceptance_file=tables.acceptance_file,
        )
    except InputError as exc:
        if exc.file is not None:
            raise
        # errors in rules are about the scenario file, which only this function knows
        raise InputError(exc.rule, file=str(scenario_path), key=exc.key) from None
