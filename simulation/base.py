"""The planner's own customers as the simulated population: one base for plan and test.

A :class:`CustomerBase` is the customers table of an optimizer scenario turned into the
simulator's per-customer columns: lifecycle stage, value tier, tenure, bill, contract and a
monthly exit hazard. Columns the table lacks are derived where they can be (a stage from
the tenure) and defaulted where they cannot; every default and derivation is recorded in
``assumptions`` (what, value, source), so the report can say what the simulation assumed.

Where the exit hazard comes from, best first:

0. ``simulation.hazards.column``: a column of monthly exit hazards, read as given: the ones
   ``prepare`` valued the options with when a churn model or score set them; churned rows
   (the ``churned`` flag, when the table has it) have left and are not simulated;
1. a churn snapshot in the table (tenure in months and a churned flag): an sBG fit per
   group (:func:`optimizer.scoring.fit_exit_hazards`), each customer's hazard the posterior
   mean given the months survived; churned rows have left and are not simulated;
2. a churn probability column (``churn_risk``, 12 months; ``p_churn_<N>m``, N months): the
   constant hazard of that probability (:func:`optimizer.value_model.monthly_hazard`), the
   same reading the option values were computed with;
3. the lifecycle's default hazard tables by stage and tier, flagged as an assumption.

Why one hazard per customer and not the stage tables: the option values the optimizer was
given are computed from that customer's risk; a simulator that drew churn from generic
tables would test a different world from the one the plan was made for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .config import SimConfig
from .errors import SimulationConfigError
from .population import DOUBLE_DROP, Population
from .stages import MATURITY, STAGE_NAMES, TIER_NAMES
from .streams import Streams

__all__ = ["CustomerBase", "base_from_customers"]

#: The base mean ARPU of the profiled province (yuan a month), the default bill.
DEFAULT_ARPU = 59.40
DEFAULT_TENURE_MONTHS = 24


@dataclass(frozen=True)
class CustomerBase:
    """Per-customer columns of the simulated base, in the customers table's row order."""

    customer_id: np.ndarray  # str ids, as in the optimizer's tables
    stage: np.ndarray  # int8 stage codes
    tier: np.ndarray  # int8 tier codes
    tenure: np.ndarray  # int16 months on the network
    arpu: np.ndarray  # float32 monthly bill (yuan)
    contract_months_left: np.ndarray  # int16 months of contract lock-in left (-1: none)
    hazard: np.ndarray  # float32 monthly exit hazard
    assumptions: list[dict[str, Any]] = field(default_factory=list)
    hazard_source: str = ""
    hazard_fit: pd.DataFrame | None = None

    def __len__(self) -> int:
        return int(self.customer_id.size)

    def position(self) -> dict[str, int]:
        """customer_id -> slot."""
        return {c: i for i, c in enumerate(self.customer_id.tolist())}

    def population(self, cfg: SimConfig, streams: Streams) -> Population:
        """The simulator's state for this base (no gross adds: the wave's base is fixed).

        Usage baselines (minutes, data) are not in a customers table: they are drawn per
        tier as for a synthetic base, from the ``population`` stream.
        """
        n = len(self)
        pc = cfg.population
        rng = streams["population"]
        sig = pc.usage_dispersion
        z = rng.standard_normal((2, n)).astype(np.float32)
        ln = np.exp(sig * z - np.float32(0.5 * sig * sig))
        mou = np.array([pc.mou_mean[t] for t in TIER_NAMES], np.float32)[self.tier] * ln[0]
        data = np.array([pc.data_mean_mb[t] for t in TIER_NAMES], np.float32)[self.tier] * ln[1]
        L = cfg.usage.report_lag_months
        ones = np.ones(n, np.float32)
        return Population(
            n_initial=n,
            joins_at=np.zeros(n, np.int16),
            adds_per_month=np.zeros(cfg.horizon_months, np.int64),
            tier=self.tier.copy(),
            stage=self.stage.copy(),
            tenure=self.tenure.copy(),
            months_in_stage=np.zeros(n, np.int16),
            contract_end=self.contract_months_left.copy(),
            offer_end=np.full(n, -1, np.int16),
            offer_churn_mult=ones.copy(),
            shift_arpu=ones.copy(),
            shift_mou=ones.copy(),
            shift_data=ones.copy(),
            arpu_base=self.arpu.copy(),
            mou_base=mou,
            data_base=data,
            level_voice=ones.copy(),
            level_data=ones.copy(),
            pattern=np.full(n, DOUBLE_DROP, np.int8),
            arrears=np.zeros(n, np.int8),
            contacts=np.zeros((cfg.fatigue.window_months, n), np.int8),
            obs_mou=np.repeat(mou[None, :], L + 1, axis=0),
            obs_data=np.repeat(data[None, :], L + 1, axis=0),
            handset_change=np.zeros(n, bool),
            first_exit_month=np.full(n, -1, np.int16),
            reentries=np.zeros(n, np.int16),
            ever_dialed=np.zeros(n, bool),
            ever_connected=np.zeros(n, bool),
            ever_accepted=np.zeros(n, bool),
            true_churned=np.zeros(n, bool),
            arpu_uplift=np.zeros(n, np.float32),
            own_hazard=self.hazard.copy(),
        )


def _codes(values: pd.Series, names: tuple[str, ...], column: str, source: str) -> np.ndarray:
    lookup = {n: i for i, n in enumerate(names)}
    text = values.astype(str).to_numpy()
    codes = np.array([lookup.get(v, -1) for v in text], np.int8)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise SimulationConfigError(
            f"{source}, column {column!r}, row {row + 1}",
            f"(={text[row]!r}) is not one of {list(names)}",
        )
    return codes


def _given_hazards(cust: pd.DataFrame, column: str, churn_col: str, source: str) -> tuple[np.ndarray, str, np.ndarray]:
    """Monthly hazards read from ``column`` (each in [0, 1]), and which rows are still customers."""
    if column not in cust.columns:
        raise SimulationConfigError(f"{source}, simulation.hazards.column", f"(={column!r}) is not a column of the customers table")
    h = pd.to_numeric(cust[column], errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(h) & (h >= 0) & (h <= 1))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise SimulationConfigError(f"{source}, column {column!r}, row {row + 1}", f"(={cust[column].iloc[row]!r}) must be a monthly hazard in [0, 1]")
    keep = np.ones(len(cust), bool)
    if churn_col in cust.columns:
        from optimizer.scoring.errors import ScoringError
        from optimizer.scoring.retention import churn_flag

        try:
            keep = ~churn_flag(cust[churn_col], churn_col)
        except ScoringError as exc:
            raise SimulationConfigError(f"{source}, simulation.hazards.churned", str(exc)) from None
    return h, f"column {column!r}: each customer's monthly exit hazard as the option values used it", keep


def base_from_customers(
    customers: pd.DataFrame,
    *,
    source: str = "customers",
    hazards: dict[str, Any] | None = None,
    cfg: SimConfig | None = None,
) -> CustomerBase:
    """Build the base from a customers table (see the module docstring for the columns).

    ``hazards`` = ``{"tenure": col, "churned": col, "by": col}`` names the churn snapshot's
    columns (default: ``tenure_months`` and ``churned`` when both exist), or with
    ``"column": col`` the column of monthly hazards to use as given; ``cfg`` gives the default
    hazard tables where the table has no risk at all.
    """
    from optimizer.value_model import monthly_hazard

    cust = customers.reset_index(drop=True)
    notes: list[dict[str, Any]] = []

    def assume(what: str, value: Any, why: str) -> None:
        notes.append({"what": what, "value": value, "source": why})

    hz = dict(hazards or {})
    tenure_col = hz.get("tenure", "tenure_months")
    churn_col = hz.get("churned", "churned")
    fit_table = None
    keep = np.ones(len(cust), bool)
    if hz.get("column") is not None:
        hazard, hazard_source, keep = _given_hazards(cust, hz["column"], churn_col, source)
        if (~keep).any():
            assume("customers already churned", int((~keep).sum()), f"rows with {churn_col!r} true have left: not simulated")
    elif churn_col in cust.columns and tenure_col in cust.columns:
        from optimizer.scoring.errors import ScoringError
        from optimizer.scoring.retention import fit_exit_hazards

        try:
            fitted = fit_exit_hazards(cust, tenure=tenure_col, churned=churn_col, by=hz.get("by"))
        except ScoringError as exc:
            raise SimulationConfigError(f"{source}, simulation.hazards", str(exc)) from None
        hazard = fitted.hazard
        fit_table = fitted.table
        hazard_source = (
            f"sBG fit of {tenure_col!r} and {churn_col!r}" + (f" per {hz['by']!r}" if hz.get("by") else "")
            + " (Fader and Hardie 2007), posterior mean hazard given the months survived"
        )
        keep = ~fitted.churned
        if (~keep).any():
            assume("customers already churned", int((~keep).sum()), f"rows with {churn_col!r} true have left: not simulated")
    else:
        risk_col = "churn_risk" if "churn_risk" in cust.columns else next(
            (c for c in cust.columns if str(c).startswith("p_churn_") and str(c).endswith("m")), None
        )
        if risk_col is not None:
            months = 12.0 if risk_col == "churn_risk" else float(str(risk_col)[len("p_churn_") : -1])
            p = pd.to_numeric(cust[risk_col], errors="coerce").to_numpy(float)
            if not np.all(np.isfinite(p) & (p >= 0) & (p <= 1)):
                row = int(np.flatnonzero(~(np.isfinite(p) & (p >= 0) & (p <= 1)))[0])
                raise SimulationConfigError(f"{source}, column {risk_col!r}, row {row + 1}", "must be a probability in [0, 1]")
            hazard = monthly_hazard(p, months)
            hazard_source = f"constant monthly hazard of {risk_col!r} ({months:g}-month churn probability)"
        else:
            hazard = None
            hazard_source = "the lifecycle's default exit hazards by stage and value tier (placeholders)"

    if "stage" in cust.columns:
        live = cust["stage"].astype(str).isin(STAGE_NAMES).to_numpy()
        gone = keep & ~live & cust["stage"].astype(str).isin(["exit", "exited"]).to_numpy()
        if gone.any():
            assume("customers in stage 'exit'", int(gone.sum()), "have left: not simulated")
            keep &= ~gone
        stage = np.full(len(cust), MATURITY, np.int8)
        stage[keep] = _codes(cust.loc[keep, "stage"], STAGE_NAMES, "stage", source)
    elif tenure_col in cust.columns:
        t = pd.to_numeric(cust[tenure_col], errors="coerce").fillna(DEFAULT_TENURE_MONTHS).to_numpy()
        stage = np.select([t <= 2, t <= 6], [0, 1], MATURITY).astype(np.int8)
        assume("stage", "from tenure: acquisition <= 2 months, growth <= 6, maturity after", "the sources' lifecycle (maturity after 6 months)")
    else:
        stage = np.full(len(cust), MATURITY, np.int8)
        assume("stage", "maturity for every customer", "no stage or tenure column")
    if "value_tier" in cust.columns:
        tier = np.zeros(len(cust), np.int8)
        tier[keep] = _codes(cust.loc[keep, "value_tier"], TIER_NAMES, "value_tier", source)
    else:
        tier = np.full(len(cust), TIER_NAMES.index("potential"), np.int8)
        assume("value_tier", "potential for every customer", "no value_tier column")
    if tenure_col in cust.columns:
        tenure = pd.to_numeric(cust[tenure_col], errors="coerce").fillna(DEFAULT_TENURE_MONTHS).clip(0, 30000).to_numpy()
    else:
        tenure = np.full(len(cust), DEFAULT_TENURE_MONTHS)
        assume("tenure_months", DEFAULT_TENURE_MONTHS, "no tenure column")
    if "arpu" in cust.columns:
        arpu = pd.to_numeric(cust["arpu"], errors="coerce").to_numpy(float)
        bad = keep & ~(np.isfinite(arpu) & (arpu >= 0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise SimulationConfigError(f"{source}, column 'arpu', row {row + 1}", f"(={cust['arpu'].iloc[row]!r}) must be a number >= 0")
    else:
        arpu = np.full(len(cust), DEFAULT_ARPU)
        assume("arpu", DEFAULT_ARPU, "no arpu column: the base mean ARPU of the profiled province (59.40 yuan)")
    contract = np.full(len(cust), -1, np.int64)
    if "contract" in cust.columns:
        kind = cust["contract"].astype(str).to_numpy()
        if set(kind) <= {"none", "expiring", "locked"}:
            contract = np.select([kind == "expiring", kind == "locked"], [2, 12], -1)
            assume("contract months left", "expiring: 2, locked: 12, none: none", "the demo base's contract classes")
    if hazard is None:
        from .config import build_config
        from .lifecycle import HazardTables

        tables = HazardTables.from_config(cfg or build_config())
        hazard = tables.exit[stage.astype(np.int64) * len(TIER_NAMES) + tier]
        assume("exit hazard", "lifecycle.exit_hazard x tier_exit_multiplier", "no churn snapshot or churn probability column")
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        raise SimulationConfigError(source, "no live customer to simulate")
    return CustomerBase(
        customer_id=cust["customer_id"].astype(str).to_numpy()[idx],
        stage=stage[idx],
        tier=tier[idx],
        tenure=tenure[idx].astype(np.int16),
        arpu=arpu[idx].astype(np.float32),
        contract_months_left=contract[idx].astype(np.int16),
        hazard=np.asarray(hazard, np.float64)[idx].astype(np.float32),
        assumptions=notes,
        hazard_source=hazard_source,
        hazard_fit=fit_table,
    )
