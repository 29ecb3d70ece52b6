"""Where the bundled scenarios are: paths only, so ``campaignlab scenarios`` starts fast.

Nothing here reads or validates a scenario (that is :mod:`optimizer.scenario_file`, which
imports pydantic and the scenario model); listing or resolving a name needs neither.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import InputError

__all__ = ["bundled_path", "bundled_scenarios", "resolve_scenario"]


def bundled_path(name: str) -> Path | None:
    """The bundled scenario file called ``name`` (with or without .yaml), or None."""
    folder = resources.files("scenarios") / "bundled"
    stem = name.removesuffix(".yaml")
    candidate = Path(str(folder / f"{stem}.yaml"))
    return candidate if candidate.is_file() else None


def bundled_scenarios() -> dict[str, Path]:
    """Every bundled scenario, by name."""
    folder = resources.files("scenarios") / "bundled"
    return {Path(str(f)).stem: Path(str(f)) for f in folder.iterdir() if str(f).endswith(".yaml")}


def resolve_scenario(name_or_path: str | Path) -> Path:
    """A scenario file as given, else the bundled scenario of that name."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    bundled = None if path.suffix in (".yaml", ".yml") else bundled_path(str(name_or_path))
    if bundled is None:
        raise InputError(
            f"no such scenario file, and no bundled scenario of that name (bundled: {', '.join(sorted(bundled_scenarios()))})",
            file=str(name_or_path),
        )
    return bundled
