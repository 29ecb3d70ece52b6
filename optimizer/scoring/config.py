"""Reading YAML configs: one-line errors that name the file and the key path."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import InputError
from ..scenario_file import allowed_keys, deep_merge
from ..yaml_reading import read_yaml
from .errors import ScoringError

__all__ = ["load_yaml", "parse_model", "resolve_path"]

M = TypeVar("M", bound=BaseModel)


#: Configs in one ``extends`` chain at the most.
MAX_CHAIN = 16


def load_yaml(path: str | Path, *, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a YAML mapping; a missing file, bad YAML or a non-mapping top level raises.

    ``extends: parent.yaml`` (relative to the file) inherits a config and overrides only the
    keys given: mappings merge key by key, lists and values are replaced, so next month's
    config can be three lines. Every ``path:`` in a parent stays relative to the parent.
    """
    p = Path(path)
    if not p.is_file():
        raise ScoringError(f"{p}: config file not found")
    try:
        data = read_yaml(p)  # bounded: depth, size and alias expansion
    except InputError as exc:
        raise ScoringError(str(exc)) from None
    if not isinstance(data, dict):
        raise ScoringError(f"{p}: top level must be a mapping of keys, got {type(data).__name__}")
    if "extends" not in data:
        return data
    parent = data.pop("extends")
    if not isinstance(parent, str) or not parent.strip():
        raise ScoringError(f"{p}: key 'extends': give the path of the config this one extends")
    parent_path = resolve_path(p.parent, parent).resolve()
    chain = (*_chain, p.resolve())
    if parent_path in chain:
        raise ScoringError(f"{p}: key 'extends': {parent} is already in the chain ({' -> '.join(c.name for c in chain)}); a config cannot extend itself")
    if len(chain) >= MAX_CHAIN:
        raise ScoringError(f"{p}: key 'extends': more than {MAX_CHAIN} configs in one chain")
    inherited = _absolute_paths(load_yaml(parent_path, _chain=chain), parent_path.parent)
    return deep_merge(inherited, data)


def _absolute_paths(data: Any, folder: Path) -> Any:
    """Every relative ``path:`` value made absolute against ``folder`` (the parent config's)."""
    if isinstance(data, dict):
        return {k: str(resolve_path(folder, v)) if k == "path" and isinstance(v, str) else _absolute_paths(v, folder) for k, v in data.items()}
    if isinstance(data, list):
        return [_absolute_paths(v, folder) for v in data]
    return data


def parse_model(model: type[M], data: Any, *, source: str, prefix: str = "") -> M:
    """Validate ``data`` against a pydantic model; every problem is reported at once, on one line.

    A config is fixed in one round, not one run per mistake: each problem names its dotted
    key, and an unknown key gets a "did you mean" from the keys valid at that place.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        misspelt = {tuple(e["loc"][:-1]) for e in errors if e["type"] == "extra_forbidden"}
        problems = []
        for err in errors:
            if err["type"] == "missing" and tuple(err["loc"][:-1]) in misspelt:
                continue  # the real key is "missing" because it was misspelt: one problem, not two
            loc = ".".join(str(x) for x in (prefix, *err["loc"]) if x != "" and not str(x).startswith("function-"))
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                known = allowed_keys(tuple(err["loc"]), root=model)
                hint = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
                msg = "unknown key" + (f" (did you mean '{hint[0]}'?)" if hint else f" (known: {', '.join(known)})" if known else "")
            elif err["type"] == "missing":
                msg = "required key is missing"
            problems.append(f"key '{loc}': {msg}")
        head = f"{len(problems)} problems: " if len(problems) > 1 else ""
        raise ScoringError(f"{source}: {head}{'; '.join(problems)}") from None


def resolve_path(base: Path, value: str | Path) -> Path:
    """Paths in a config are relative to the config file's folder."""
    p = Path(value)
    return p if p.is_absolute() else (base / p)
