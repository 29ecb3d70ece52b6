"""Random streams: one numpy Generator per purpose, spawned from one SeedSequence.

Why: a global seed makes parallel replications impossible and couples unrelated draws.
Spawning a child per purpose (lifecycle, usage, calls ...) means a strategy that makes more
calls does not shift the lifecycle draws, so two strategies run on the same replication seed
see the same customers fail in the same months unless the strategy changed their hazard:
common random numbers, which make paired differences far tighter than independent runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PURPOSES", "Streams", "replication_seeds"]

#: Fixed order matters: adding a purpose must append, never insert, to keep old seeds valid.
PURPOSES: tuple[str, ...] = (
    "population",  # initial base and all future slots (tiers, usage baselines, contracts)
    "acquisition",  # gross adds per month
    "lifecycle",  # stage transitions and exits
    "arrears",  # arrears entry and cure
    "usage",  # monthly usage noise, decline pattern, handset change
    "response",  # connect, reach, acceptance per customer per month
    "callcentre",  # outbound handle times
    "store",  # store visits
    "strategy",  # for strategies that randomise (tie-breaks, exploration)
    "inbound",  # hotline arrivals and their handle times (CRN for the hotline's waits)
)


@dataclass(frozen=True)
class Streams:
    """One generator per purpose for one replication."""

    generators: dict[str, np.random.Generator]

    @classmethod
    def from_seed(cls, seed: np.random.SeedSequence | int) -> Streams:
        if isinstance(seed, np.random.SeedSequence):
            # A fresh copy: spawn() advances the object's counter, so spawning twice from the
            # caller's object would give a second strategy different streams (no CRN).
            ss = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
        else:
            ss = np.random.SeedSequence(seed)
        children = ss.spawn(len(PURPOSES))
        return cls({p: np.random.Generator(np.random.PCG64(c)) for p, c in zip(PURPOSES, children)})

    def __getitem__(self, purpose: str) -> np.random.Generator:
        return self.generators[purpose]


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """One SeedSequence per replication; every strategy gets the same one (CRN)."""
    return np.random.SeedSequence(seed).spawn(replications)
