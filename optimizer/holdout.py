"""A holdout: eligible customers withheld from the plan at random, to measure its effect afterwards.

Why. A retention campaign's effect is churn among the customers it contacts against churn
among comparable customers it did not contact. The rest of the base is no comparison: the
plan picks the customers it expects to keep, who differ from the others. So before solving,
a random share of the customers the plan could contact is withheld (their options are
removed, like a do-not-contact list), and their churn afterwards is the counterfactual.
Random *within strata* (each combination of the ``stratify`` attributes, such as value tier
and stage; a blank or NaN value is a stratum of its own) makes the held-out group match the
base on those attributes exactly rather than on average: customers of the same value are
compared.

Who. Eligible: customers with at least one option left after the do-not-contact list and
``min_contacts`` 0 (a customer the plan must contact cannot be withheld; they are counted).

How, reproducibly. Eligible customers are sorted by ``customer_id`` and each gets one uniform
key from a numpy ``Generator`` (PCG64: the same bits on every platform) seeded by the
holdout seed; in each stratum the customers with the smallest keys are held out. So the
holdout depends on the customers, their attributes and the seed, never on table order.
Each stratum holds out ``share x n`` customers rounded by the largest-remainder (Hamilton)
method, ties broken by the same generator: the total is ``round(share x eligible)`` and no
stratum is a whole customer away from its exact quota.

Power. :func:`two_proportion_power` is the textbook normal approximation for the two-sided
two-proportion z-test, with the ``min_detectable_effect`` route solving it for the smallest
holdout. Before solving, the plan's size is unknown, so the *planned* figure compares the
held-out customers with every eligible customer not held out (the most the plan could
contact); the summary adds the figure for the customers the solved plan contacts, which is
what the measurement will have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from .errors import InputError
from .scenario import Holdout

__all__ = [
    "HoldoutSelection",
    "MAX_STRATA_SHOWN",
    "describe",
    "detectable_drop",
    "min_holdout_for_power",
    "select_holdout",
    "summary_line",
    "two_proportion_power",
]

#: Strata listed in the summary; the rest are counted (a fine stratification has thousands).
MAX_STRATA_SHOWN = 50
METHOD = (
    "two-sided two-proportion z-test, normal approximation with the pooled variance under no effect "
    "and no continuity correction (Fleiss, Levin & Paik 2003, ch. 4; Fleiss, Tytun & Ury 1980)"
)
ELIGIBLE = "customers with at least one option after the do-not-contact list and min_contacts 0"


def two_proportion_power(p1: float, p2: float, n1: Any, n2: Any, alpha: float = 0.05) -> Any:
    """Power of the two-sided two-proportion z-test at level ``alpha`` to tell rate ``p1`` in
    ``n1`` customers from rate ``p2`` in ``n2``; ``n1``/``n2`` may be arrays. 0 if a group is empty.

    The formula of Fleiss, Levin & Paik, *Statistical Methods for Rates and Proportions*, 3rd
    ed. (Wiley 2003), ch. 4, for equal groups ``n = (z_{1-a/2} sqrt(2 pbar qbar) + z_{1-b}
    sqrt(p1 q1 + p2 q2))^2 / (p1 - p2)^2``, and its unequal-groups form (Fleiss, Tytun & Ury,
    *Biometrics* 36:343-346, 1980), without continuity correction, solved for the power::

        power = Phi((|p1 - p2| - z_{1-a/2} sqrt(pbar qbar (1/n1 + 1/n2))) / sqrt(p1 q1 / n1 + p2 q2 / n2))
        pbar = (n1 p1 + n2 p2) / (n1 + n2),  q = 1 - p

    The far tail (a significant difference the wrong way, below alpha/2) is left out, as in
    the textbook: it is not detecting a drop.
    """
    n1, n2 = np.asarray(n1, float), np.asarray(n2, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
        null_sd = np.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
        alternative_sd = np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        power = np.where((n1 > 0) & (n2 > 0), ndtr((abs(p1 - p2) - ndtri(1 - alpha / 2) * null_sd) / alternative_sd), 0.0)
    return float(power) if power.ndim == 0 else power


def detectable_drop(p1: float, n1: int, n2: int, alpha: float, power: float) -> float | None:
    """The drop from churn rate ``p1`` that groups of ``n1`` and ``n2`` detect with ``power``; None if not even all of it."""
    if two_proportion_power(p1, 0.0, n1, n2, alpha) < power:
        return None
    from scipy.optimize import brentq  # here: scipy.optimize costs every command 0.3 s of start-up

    # power rises from alpha/2 (no drop) with the drop, so the root is the smallest such drop
    return float(brentq(lambda d: two_proportion_power(p1, p1 - d, n1, n2, alpha) - power, 0.0, p1, xtol=1e-12))


def min_holdout_for_power(p1: float, drop: float, eligible: int, alpha: float, power: float) -> int | None:
    """The fewest of ``eligible`` customers to hold out (at most half) for ``power`` to detect ``drop``.

    The held-out group has churn rate ``p1``, the rest ``p1 - drop``. Every size is tried,
    not bisected: the power need not rise with the holdout's size near half.
    """
    sizes = np.arange(1, eligible // 2 + 1)
    reach = two_proportion_power(p1, p1 - drop, sizes, eligible - sizes, alpha) >= power
    return int(sizes[np.argmax(reach)]) if reach.any() else None


@dataclass(frozen=True, eq=False)
class HoldoutSelection:
    """The held-out customers of a problem, and what their power calculation needs."""

    rows: np.ndarray  # positions in the problem's customers table, in customer_id order
    table: pd.DataFrame  # customer_id and the stratify columns: holdout.csv
    eligible: np.ndarray  # bool per customers row: could have been held out
    strata: tuple[dict[str, Any], ...]  # {"stratum": {column: value}, "eligible": n, "held_out": k}
    not_eligible_min_contacts: int
    options_removed: int
    share: float  # held out / eligible
    share_source: str
    seed: int
    spec: Holdout
    baseline_rate: float | None
    baseline_rate_source: str  # where it came from, or why there is none


def select_holdout(customers: pd.DataFrame, option_counts: np.ndarray, spec: Holdout, seed: int) -> HoldoutSelection:
    """Draw the holdout from ``customers`` (a checked table; ``option_counts`` per row after the
    do-not-contact list). ``seed`` is the scenario's, used when ``spec.seed`` is unset.

    The stratify columns must be columns of ``customers`` (the caller checks, naming the key).
    """
    seed = spec.seed if spec.seed is not None else seed
    has_option = option_counts > 0
    mandatory = has_option & (customers["min_contacts"].to_numpy() > 0)
    pool = np.flatnonzero(has_option & ~mandatory)
    pool = pool[np.argsort(customers["customer_id"].to_numpy()[pool].astype(str), kind="stable")]
    rng = np.random.default_rng(seed)
    keys = rng.random(pool.size)  # drawn in customer_id order: table order cannot matter
    stratum, labels = _strata(customers.iloc[pool], list(spec.stratify))
    sizes = np.bincount(stratum, minlength=len(labels))
    baseline, baseline_source = _baseline(customers, pool, spec)
    if spec.share is not None:
        share, share_source = Fraction(str(spec.share)), "holdout.share in the scenario"
    else:
        share = _share_for_power(baseline, baseline_source, spec, pool.size)
        share_source = f"the smallest share with power >= {spec.power:g} to detect holdout.min_detectable_effect"
    quotas = _largest_remainder(sizes, share, rng)

    by_key = np.lexsort((keys, stratum))  # stratum by stratum, smallest key first
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    rank = np.arange(pool.size) - first[stratum[by_key]]
    held = np.zeros(pool.size, bool)
    held[by_key[rank < quotas[stratum[by_key]]]] = True
    rows = pool[held]
    table = customers.iloc[rows][["customer_id", *spec.stratify]].reset_index(drop=True)
    eligible = np.zeros(len(customers), bool)
    eligible[pool] = True
    return HoldoutSelection(
        rows=rows,
        table=table,
        eligible=eligible,
        strata=tuple({"stratum": label, "eligible": int(n), "held_out": int(k)} for label, n, k in zip(labels, sizes, quotas)),
        not_eligible_min_contacts=int(mandatory.sum()),
        options_removed=int(option_counts[rows].sum()),
        share=rows.size / pool.size if pool.size else 0.0,
        share_source=share_source,
        seed=seed,
        spec=spec,
        baseline_rate=baseline,
        baseline_rate_source=baseline_source,
    )


def _strata(frame: pd.DataFrame, stratify: list[str]) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Each row's stratum (strata sorted by value, missing last) and each stratum's values."""
    if not stratify:
        return np.zeros(len(frame), np.int64), [{}]
    codes, values = zip(*(_codes(frame[column]) for column in stratify))
    combos, inverse = np.unique(np.column_stack(codes), axis=0, return_inverse=True)
    labels = [{column: values[j][combo[j]] for j, column in enumerate(stratify)} for combo in combos]
    return inverse.reshape(-1).astype(np.int64), labels


def _codes(column: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Sorted codes of a column's values; a blank or NaN value gets the last code (label None)."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values, missing = column, column.isna().to_numpy()
    else:
        values = column.astype("string")
        missing = (values.str.strip() == "").fillna(True).to_numpy(dtype=bool)
    codes, uniques = pd.factorize(values[~missing], sort=True)
    out = np.full(len(column), len(uniques), np.int64)
    out[~missing] = codes
    return out, [*uniques.tolist(), None]


def _largest_remainder(sizes: np.ndarray, share: Fraction, rng: np.random.Generator) -> np.ndarray:
    """``share x size`` per stratum in whole customers, summing to ``round(share x total)`` (exact arithmetic)."""
    exact = [share * int(n) for n in sizes]
    quotas = [math.floor(q) for q in exact]
    left = math.floor(share * int(sizes.sum()) + Fraction(1, 2)) - sum(quotas)
    tie = rng.permutation(len(sizes))  # equal remainders: no stratum is favoured by its name
    for s in sorted(range(len(sizes)), key=lambda s: (quotas[s] - exact[s], tie[s]))[:left]:
        quotas[s] += 1
    return np.array(quotas, np.int64)


def _baseline(customers: pd.DataFrame, pool: np.ndarray, spec: Holdout) -> tuple[float | None, str]:
    """The churn rate without contact, and where it came from (or why there is none)."""
    if spec.baseline_rate is not None:
        return spec.baseline_rate, "holdout.baseline_rate in the scenario"
    if "p_churn" not in customers.columns:
        return None, "no holdout.baseline_rate and no customers column p_churn"
    values = customers["p_churn"].iloc[pool]
    if not pd.api.types.is_numeric_dtype(values) or ((values < 0) | (values > 1)).any():
        raise InputError("the customers column 'p_churn' must hold churn probabilities in [0, 1]; or set holdout.baseline_rate", key="holdout.baseline_rate")
    known = values.dropna()
    mean = float(known.mean()) if len(known) else math.nan
    if not 0 < mean < 1:
        return None, f"the customers column p_churn has no mean strictly between 0 and 1 over the {pool.size:,} eligible customers"
    return mean, f"mean of the customers column p_churn over the {len(known):,} eligible customers with a value"


def _share_for_power(baseline: float | None, baseline_source: str, spec: Holdout, eligible: int) -> Fraction:
    """The smallest holdout with the requested power, as a share of ``eligible``; an InputError if none up to half."""
    drop = spec.min_detectable_effect
    assert drop is not None
    if baseline is None:
        raise InputError(
            f"min_detectable_effect needs the churn rate without contact ({baseline_source}): set holdout.baseline_rate",
            key="holdout.baseline_rate",
        )
    if drop >= baseline:
        raise InputError(f"{drop:g} is not below the baseline churn rate {baseline:g}; a churn rate cannot fall below 0", key="holdout.min_detectable_effect")
    k = min_holdout_for_power(baseline, drop, eligible, spec.alpha, spec.power)
    if k is None:
        sizes = np.arange(1, eligible // 2 + 1)
        best = float(np.max(two_proportion_power(baseline, baseline - drop, sizes, eligible - sizes, spec.alpha), initial=0.0))
        raise InputError(
            f"no holdout of at most half the {eligible:,} eligible customers reaches power {spec.power:g} for a drop of "
            f"{drop:g} from a churn rate of {baseline:g} (alpha {spec.alpha:g}); the largest achievable power is {best:.4f}: "
            "ask for a larger drop or a lower power, or give a share",
            key="holdout.min_detectable_effect",
        )
    return Fraction(k, eligible)


def describe(selection: HoldoutSelection, contacted: np.ndarray | None) -> dict[str, Any]:
    """The summary's ``holdout`` block; ``contacted`` is the customers rows the plan contacts (None: no plan, no holdout.csv)."""
    strata = list(selection.strata)
    block: dict[str, Any] = {
        "customers": int(selection.rows.size),
        "eligible": int(selection.eligible.sum()),
        "share": selection.share,
        "share_source": selection.share_source,
        "eligible_rule": ELIGIBLE,
        "not_eligible_min_contacts": selection.not_eligible_min_contacts,
        "options_removed": selection.options_removed,
        "stratify": list(selection.spec.stratify),
        "strata_count": len(strata),
        "strata": strata[:MAX_STRATA_SHOWN],
        "strata_not_listed": max(0, len(strata) - MAX_STRATA_SHOWN),
        "file": None if contacted is None else "holdout.csv",
        "seed": selection.seed,
        "power": _power(selection, contacted),
    }
    if block["power"] is None:
        block["power_not_stated"] = selection.baseline_rate_source
    return block


def _power(selection: HoldoutSelection, contacted: np.ndarray | None) -> dict[str, Any] | None:
    p, spec = selection.baseline_rate, selection.spec
    if p is None:
        return None
    held, eligible = int(selection.rows.size), int(selection.eligible.sum())
    groups = {"planned": ("the eligible customers not held out: the most the plan could contact", eligible - held)}
    if contacted is not None:
        groups["after_solving"] = ("the eligible customers the plan contacts", int(selection.eligible[contacted].sum()))
    drop = spec.min_detectable_effect
    if drop is None:
        drop = detectable_drop(p, held, eligible - held, spec.alpha, spec.power)
    return {
        "method": METHOD,
        "what": (
            f"probability of detecting a drop of min_detectable_effect in the churn rate (two-sided two-proportion z-test at "
            f"alpha {spec.alpha:g}), comparing the held-out customers (churn rate baseline_rate) with each group below "
            "(churn rate baseline_rate - min_detectable_effect)"
        ),
        "baseline_rate": p,
        "baseline_rate_source": selection.baseline_rate_source,
        "min_detectable_effect": drop,
        "min_detectable_effect_source": "holdout.min_detectable_effect in the scenario" if spec.min_detectable_effect is not None
        else f"the smallest drop the planned groups detect with power {spec.power:g} (None: not even a drop to 0)",
        "effect_unit": "absolute drop in the churn rate over the measurement horizon (0.02 = 2 percentage points)",
        "alpha": spec.alpha,
        "requested_power": spec.power,
        **{
            name: {
                "compared_with": what,
                "customers": n,
                "held_out": held,
                "power": None if drop is None else two_proportion_power(p, p - drop, held, n, spec.alpha),
                "drop_detectable_at_requested_power": detectable_drop(p, held, n, spec.alpha, spec.power),
            }
            for name, (what, n) in groups.items()
        },
    }


def summary_line(block: dict[str, Any]) -> str:
    """The holdout in one console line."""
    line = (
        f"holdout: {block['customers']:,} of {block['eligible']:,} eligible customers ({block['share']:.1%}) in "
        f"{block['strata_count']:,} {'stratum' if block['strata_count'] == 1 else 'strata'}, kept out of the plan"
        + (f" ({block['file']})" if block["file"] else "")
    )
    power = block["power"]
    if power is None:
        return f"{line}; power not stated: {block['power_not_stated']}"
    group = power.get("after_solving", power["planned"])
    if power["min_detectable_effect"] is None or group["power"] is None:
        return f"{line}; no drop in churn from {power['baseline_rate']:.3g} is detectable with power {power['requested_power']:g}"
    return (
        f"{line}; power {group['power']:.2f} to detect a churn drop of {power['min_detectable_effect']:.3g} from "
        f"{power['baseline_rate']:.3g} against {group['customers']:,} {'contacted' if 'after_solving' in power else 'eligible'} "
        f"(alpha {power['alpha']:g})"
    )
