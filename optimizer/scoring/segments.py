"""Behaviour segments: k-means on standardised usage columns, profiled against the base mean.

The profile mirrors the roaming-group example in shared/domain.md (ARPU 210.64 against a
base mean of 59.40): each cluster's size, share and mean of every feature, plus the ratio of
that mean to the base mean ("index", 1.0 = like the base), which is how segments get named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from .errors import MappingError

__all__ = ["Segmentation", "behaviour_segments"]


@dataclass(frozen=True)
class Segmentation:
    labels: pd.Series  # cluster id per customer, 0..k-1, ordered by size (0 largest)
    profile: pd.DataFrame  # one row per cluster: size, share, <feature>_mean, <feature>_index
    base_mean: pd.Series  # base mean of each feature
    inertia: float


def behaviour_segments(
    customers: pd.DataFrame,
    features: Sequence[str],
    k: int,
    *,
    seed: int | np.random.SeedSequence = 0,
    n_init: int = 10,
) -> Segmentation:
    """Cluster ``customers`` on ``features`` into ``k`` groups (seed passed in, no global state)."""
    if not features:
        raise MappingError("segments.features: give at least one column")
    for col in features:
        if col not in customers.columns:
            raise MappingError(f"segments.features: column '{col}' not in customers")
        if not pd.api.types.is_numeric_dtype(customers[col]) or customers[col].isna().any():
            raise MappingError(f"segments.features: column '{col}' must be numeric with no blanks")
    if not 1 <= k <= len(customers):
        raise MappingError(f"segments.k(={k}) must be between 1 and the number of customers ({len(customers)})")
    x = customers[list(features)].to_numpy(float)
    rs = seed.generate_state(1)[0] if isinstance(seed, np.random.SeedSequence) else int(seed)
    km = KMeans(n_clusters=k, n_init=n_init, random_state=int(rs)).fit(StandardScaler().fit_transform(x))
    # relabel so cluster 0 is the largest: stable names across runs with the same data
    sizes = np.bincount(km.labels_, minlength=k)
    order = np.argsort(-sizes, kind="stable")
    relabel = np.empty(k, dtype=int)
    relabel[order] = np.arange(k)
    labels = pd.Series(relabel[km.labels_], index=customers.index, name="segment")
    base = customers[list(features)].mean()
    grouped = customers[list(features)].groupby(labels.to_numpy()).mean()
    prof = pd.DataFrame({"size": np.bincount(labels, minlength=k)}, index=range(k))
    prof["share"] = prof["size"] / len(customers)
    for col in features:
        prof[f"{col}_mean"] = grouped[col]
        prof[f"{col}_index"] = grouped[col] / base[col] if base[col] != 0 else np.nan
    prof.index.name = "segment"
    return Segmentation(labels=labels, profile=prof, base_mean=base, inertia=float(km.inertia_))
