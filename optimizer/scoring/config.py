"""Reading YAML configs: one-line errors that name the file and the key path."""

from __future__ import annotations

import difflib
import typing
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import InputError
from ..yaml_reading import read_yaml
from .errors import ScoringError

__all__ = ["load_yaml", "parse_model", "resolve_path"]

M = TypeVar("M", bound=BaseModel)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing file, bad YAML or a non-mapping top level raises."""
    p = Path(path)
    if not p.is_file():
        raise ScoringError(f"{p}: config file not found")
    try:
        data = read_yaml(p)  # bounded: depth, size and alias expansion
    except InputError as exc:
        raise ScoringError(str(exc)) from None
    if not isinstance(data, dict):
        raise ScoringError(f"{p}: top level must be a mapping of keys, got {type(data).__name__}")
    return data


def parse_model(model: type[M], data: Any, *, source: str, prefix: str = "") -> M:
    """Validate ``data`` against a pydantic model, turning the first error into one line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # a misspelt key also makes the real key "missing": report the misspelling first
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = ".".join(str(x) for x in (prefix, *err["loc"]) if x != "")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            fields = _fields_at(model, err["loc"][:-1])
            hint = difflib.get_close_matches(str(err["loc"][-1]), fields, n=1)
            msg = "unknown key" + (f" (did you mean '{hint[0]}'?)" if hint else " (check the spelling)")
        elif err["type"] == "missing":
            msg = "required key is missing"
        raise ScoringError(f"{source}: key '{loc}': {msg}") from None


def _model_in(ann: Any) -> tuple[type[BaseModel] | None, bool]:
    """The pydantic model inside an annotation, and whether it sits in a dict's values."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann, False
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin is dict and len(args) == 2:
        inner, _ = _model_in(args[1])
        return inner, True
    for arg in args:
        inner, in_dict = _model_in(arg)
        if inner is not None:
            return inner, in_dict
    return None, False


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (nested) model at ``loc``, for "did you mean" hints."""
    current: type[BaseModel] | None = model
    parts = list(loc)
    while parts and current is not None:
        field = current.model_fields.get(str(parts.pop(0)))
        if field is None:
            return []
        current, in_dict = _model_in(field.annotation)
        if in_dict:
            if not parts:
                return []
            parts.pop(0)  # the user's own key (a channel or offer name)
    return list(current.model_fields) if current is not None else []


def resolve_path(base: Path, value: str | Path) -> Path:
    """Paths in a config are relative to the config file's folder."""
    p = Path(value)
    return p if p.is_absolute() else (base / p)
