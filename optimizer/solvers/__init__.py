"""MIP backends behind one interface; ``get_backend(name)`` picks one."""

from __future__ import annotations

from .base import Backend, RawSolution, RawStatus, SolveOptions
from .cbc import CbcBackend
from .highs import HighsBackend
from .ortools import OrtoolsBackend

__all__ = ["Backend", "RawSolution", "RawStatus", "SolveOptions", "BACKENDS", "get_backend"]

BACKENDS: dict[str, Backend] = {"highs": HighsBackend(), "cbc": CbcBackend(), "ortools": OrtoolsBackend()}


def get_backend(name: str) -> Backend:
    if name not in BACKENDS:
        raise ValueError(f"unknown solver {name!r}; choose one of {', '.join(BACKENDS)}")
    backend = BACKENDS[name]
    if not backend.available():
        raise ValueError(f"solver {name!r} is not installed; install campaignlab with its dependencies")
    return backend
