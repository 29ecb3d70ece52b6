"""Behaviour segments: k-means on standardised usage columns, profiled against the base mean.

The profile mirrors a published roaming-group example (an operator's segmentation paper: ARPU 210.64 against a
base mean of 59.40): each cluster's size, share and mean of every feature, plus the ratio of
that mean to the base mean ("index", 1.0 = like the base), which is how segments get named.

A fit keeps what it learnt as a :class:`SegmentModel` (the scaler and the cluster centres),
and customers are assigned to the nearest centre by :meth:`SegmentModel.assign` both when
fitting and when applying a saved model to next month's file: segment 1 then means the same
centre in every month, whoever else is in the file. Each segment also gets a name in words
from its centre ("high ARPU, low tenure months"), so a scenario reader need not decode ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from .errors import MappingError

__all__ = ["SegmentModel", "Segmentation", "apply_segments", "behaviour_segments", "segment_names"]

#: A feature enters a segment's name when its centre is at least this many base standard
#: deviations from the base mean; below it the segment is "like the base" on that feature.
NAME_MIN_SD = 0.5
#: Words for feature names that are acronyms; other names are shown with spaces for underscores.
_WORDS = {"arpu": "ARPU", "mou": "MOU", "aov": "AOV", "clv": "CLV", "sms": "SMS"}


@dataclass(frozen=True)
class SegmentModel:
    """A fitted segmentation: per-feature scaling, one centre per segment (scaled units), names.

    Row ``i`` of ``centres`` is segment ``i``; because it is a standardised centre, its
    entries are also how many base standard deviations the segment sits from the base mean.
    """

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    centres: tuple[tuple[float, ...], ...]
    names: tuple[str, ...]

    def scaled(self, customers: pd.DataFrame) -> np.ndarray:
        _check_features(customers, self.features)
        x = customers[list(self.features)].to_numpy(float)
        return (x - np.asarray(self.mean)) / np.asarray(self.scale)

    def assign(self, customers: pd.DataFrame) -> pd.Series:
        """Segment id per customer: the nearest centre after the saved scaling (ties: lowest id)."""
        z = self.scaled(customers)
        c = np.asarray(self.centres)
        d = ((z[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
        return pd.Series(np.argmin(d, axis=1), index=customers.index, name="segment")

    def name_of(self, labels: pd.Series) -> pd.Series:
        return labels.map(dict(enumerate(self.names))).rename("segment_name")


@dataclass(frozen=True)
class Segmentation:
    labels: pd.Series  # cluster id per customer, 0..k-1, ordered by size in the fitted base (0 largest)
    profile: pd.DataFrame  # one row per cluster: name, size, share, <feature>_mean, <feature>_index
    base_mean: pd.Series  # base mean of each feature (of the fitted base)
    inertia: float
    model: SegmentModel


def _check_features(customers: pd.DataFrame, features: Sequence[str]) -> None:
    if not features:
        raise MappingError("segments.features: give at least one column")
    for col in features:
        if col not in customers.columns:
            raise MappingError(f"segments.features: column '{col}' not in customers")
        if not pd.api.types.is_numeric_dtype(customers[col]) or customers[col].isna().any():
            raise MappingError(f"segments.features: column '{col}' must be numeric with no blanks")


def _words(feature: str) -> str:
    return _WORDS.get(feature.lower(), feature.replace("_", " "))


def segment_names(centres: np.ndarray, features: Sequence[str], *, min_sd: float = NAME_MIN_SD) -> list[str]:
    """A name per segment from the (standardised) centres: its most distinctive features in words.

    Up to two features whose centre is furthest from the base mean (at least ``min_sd``
    standard deviations), as "high X" / "low X"; "typical" when none is. Names that would
    coincide take further features, then the segment id, so every name is unique.
    """
    c = np.asarray(centres, dtype=float)
    order = np.argsort(-np.abs(c), axis=1, kind="stable")

    def words(i: int, n: int, threshold: float) -> str:
        parts = [
            f"{'high' if c[i, j] > 0 else 'low'} {_words(features[j])}"
            for j in order[i][:n]
            if abs(c[i, j]) >= threshold and c[i, j] != 0
        ]
        return ", ".join(parts) or "typical"

    names = [words(i, 2, min_sd) for i in range(len(c))]
    for n in range(3, len(features) + 1):
        dup = {name for name in names if names.count(name) > 1}
        if not dup:
            break
        names = [words(i, n, 0.0) if name in dup else name for i, name in enumerate(names)]
    return [f"{name} ({i})" if names.count(name) > 1 else name for i, name in enumerate(names)]


def _profile(customers: pd.DataFrame, labels: pd.Series, model: SegmentModel) -> pd.DataFrame:
    """Size, share and feature means per segment; the index is against the fitted base mean."""
    k = len(model.centres)
    grouped = customers[list(model.features)].groupby(labels.to_numpy()).mean().reindex(range(k))
    size = np.bincount(labels, minlength=k)
    prof = pd.DataFrame({"name": list(model.names), "size": size}, index=range(k))
    prof["share"] = prof["size"] / max(len(customers), 1)
    for col, base in zip(model.features, model.mean):
        prof[f"{col}_mean"] = grouped[col]
        prof[f"{col}_index"] = grouped[col] / base if base != 0 else np.nan
    prof.index.name = "segment"
    return prof


def behaviour_segments(
    customers: pd.DataFrame,
    features: Sequence[str],
    k: int,
    *,
    seed: int | np.random.SeedSequence = 0,
    n_init: int = 10,
) -> Segmentation:
    """Cluster ``customers`` on ``features`` into ``k`` groups (seed passed in, no global state)."""
    _check_features(customers, features)
    if not 1 <= k <= len(customers):
        raise MappingError(f"segments.k(={k}) must be between 1 and the number of customers ({len(customers)})")
    x = customers[list(features)].to_numpy(float)
    rs = seed.generate_state(1)[0] if isinstance(seed, np.random.SeedSequence) else int(seed)
    scaler = StandardScaler().fit(x)
    from threadpoolctl import threadpool_limits

    # one thread: the same centres on any machine and thread count, and no OpenMP pool that a
    # forked process (a fuzz run, a user's multiprocessing) would inherit half-alive and hang in
    with threadpool_limits(limits=1):
        km = KMeans(n_clusters=k, n_init=n_init, random_state=int(rs)).fit(scaler.transform(x))
    raw = SegmentModel(
        tuple(features), tuple(map(float, scaler.mean_)), tuple(map(float, scaler.scale_)),
        tuple(map(tuple, km.cluster_centers_.astype(float))), ("",) * k,
    )
    # Labels come from the same nearest-centre rule a saved model applies, then are ordered
    # so cluster 0 is the largest: stable ids across runs with the same data.
    first = raw.assign(customers).to_numpy()
    order = np.argsort(-np.bincount(first, minlength=k), kind="stable")
    relabel = np.empty(k, dtype=int)
    relabel[order] = np.arange(k)
    centres = km.cluster_centers_[order].astype(float)
    model = SegmentModel(
        raw.features, raw.mean, raw.scale, tuple(tuple(map(float, row)) for row in centres), tuple(segment_names(centres, features))
    )
    labels = pd.Series(relabel[first], index=customers.index, name="segment")
    base = customers[list(features)].mean()
    return Segmentation(labels=labels, profile=_profile(customers, labels, model), base_mean=base, inertia=float(km.inertia_), model=model)


def apply_segments(model: SegmentModel, customers: pd.DataFrame) -> Segmentation:
    """Segments of a new file under a saved model: no refit, the nearest saved centre."""
    labels = model.assign(customers)
    z = model.scaled(customers)
    inertia = float(((z - np.asarray(model.centres)[labels.to_numpy()]) ** 2).sum())
    base = pd.Series(model.mean, index=list(model.features))
    return Segmentation(labels=labels, profile=_profile(customers, labels, model), base_mean=base, inertia=inertia, model=model)
