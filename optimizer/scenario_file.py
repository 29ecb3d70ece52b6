"""Reading scenario files: YAML that is parsed, never executed, with ``extends:``.

A what-if is a few lines on top of a base::

    extends: outbound_10088.yaml     # a path relative to this file, or a bundled name
    name: outbound_10088_budget_cut
    budget: 9000

Merging rules: mappings merge key by key (recursively), lists and scalars are replaced
whole (a child's ``rules:`` replaces the parent's list), and ``null`` replaces too (so
``budget: null`` removes the parent's budget). Table paths (``options``, ``customers``,
``do_not_contact``) stay relative to the file that wrote them. The merged mapping is then
validated by :class:`~optimizer.scenario.Scenario`; a failure names the file in the chain
that set the offending key, its line, and for an unknown key the likely intended one.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .errors import InputError
from .scenario import Channel, ContactPolicy, Offer, Rule, Scenario, SolverSettings, Synthetic

__all__ = ["MergedScenario", "bundled_path", "bundled_scenarios", "deep_merge", "load_merged", "load_scenario", "resolve_scenario", "validate"]


def _line_index(node: yaml.Node, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map each key path of a YAML document to its 1-based line, for error messages."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = path + (key.value,)
            lines[sub] = key.start_mark.line + 1
            lines.update({k: v for k, v in _line_index(value, sub).items() if k != sub})
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            lines.update(_line_index(value, path + (i,)))
    return lines


_NESTED: dict[str, type[BaseModel]] = {
    "channels": Channel,
    "offers": Offer,
    "rules": Rule,
    "contact_policy": ContactPolicy,
    "synthetic": Synthetic,
    "solver": SolverSettings,
}


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names valid beside the key at ``loc``, for "did you mean" hints.

    Walks the models along ``loc``: a model's field descends into its model, a mapping or
    list of models skips the id or index that follows.
    """
    model: Any = Scenario
    parts = list(loc[:-1])
    while parts:
        field = model.model_fields.get(str(parts.pop(0)))
        if field is None:
            return []
        target = _model_in(field.annotation)
        if target is None:
            return []
        if typing.get_origin(_strip_optional(field.annotation)) in (dict, list):
            if not parts:
                return []
            parts.pop(0)
        model = target
    return list(model.model_fields)


def _strip_optional(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1 else annotation


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field holds, itself or as the values of a dict or list."""
    annotation = _strip_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation)[::-1]:
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _describe(error: dict[str, Any]) -> tuple[tuple[Any, ...], str]:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-after")))
    if error["type"] == "extra_forbidden":
        hint = difflib.get_close_matches(str(loc[-1]), _allowed_keys(loc), n=1)
        rule = "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
    else:
        rule = error["msg"].removeprefix("Value error, ")
        if error.get("input") is not None and error["type"] != "missing" and not isinstance(error["input"], dict):
            rule += f" (got {error['input']!r})"
    return loc, rule



#: Keys whose values are paths relative to the file that sets them.
PATH_KEYS = ("options", "customers", "do_not_contact")


def bundled_path(name: str) -> Path | None:
    """The bundled scenario file called ``name`` (with or without .yaml), or None."""
    folder = resources.files("scenarios") / "bundled"
    stem = name.removesuffix(".yaml")
    candidate = Path(str(folder / f"{stem}.yaml"))
    return candidate if candidate.is_file() else None


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``: mappings merge recursively, everything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class MergedScenario:
    """A scenario's merged mapping before validation, with the files it came from (child first)."""

    data: dict[str, Any]
    files: tuple[Path, ...]
    base_dir: Path


def _read(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=str(path), line=mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise InputError("a scenario is a YAML mapping of keys (name, options, budget, ...)", file=str(path))
    return data, node


def _parent_path(value: Any, child: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"extends must be a file path or a bundled scenario name (got {value!r})", file=str(child), key="extends")
    relative = (child.parent / value).resolve()
    if relative.is_file():
        return relative
    bundled = bundled_path(value) if "/" not in value else None
    if bundled is not None:
        return bundled.resolve()
    raise InputError(
        f"the parent scenario {value!r} does not exist (looked for {relative} and a bundled scenario of that name)",
        file=str(child),
        key="extends",
    )


def _rebase(data: dict[str, Any], source_dir: Path, target_dir: Path) -> dict[str, Any]:
    """Make a parent's table paths valid from the child's folder."""
    if source_dir == target_dir:
        return data
    out = dict(data)
    for key in PATH_KEYS:
        value = out.get(key)
        if isinstance(value, str) and not Path(value).is_absolute():
            out[key] = str((source_dir / value).resolve())
    return out


def load_merged(path: str | Path) -> MergedScenario:
    """Follow ``extends`` from ``path`` to the root and merge; cycles and missing parents are errors."""
    path = Path(path)
    if not path.is_file():
        raise InputError("scenario file does not exist", file=str(path))
    chain: list[tuple[Path, dict[str, Any]]] = []
    current = path.resolve()
    seen: list[Path] = []
    while True:
        if current in seen:
            loop = " -> ".join(p.name for p in seen + [current])
            raise InputError(f"extends forms a cycle: {loop}", file=str(chain[-1][0]), key="extends")
        seen.append(current)
        data, _ = _read(current)
        chain.append((current, data))
        if "extends" not in data:
            break
        current = _parent_path(data["extends"], current)
    merged: dict[str, Any] = {}
    target = path.resolve().parent
    for file, data in reversed(chain):  # root first, child last
        own = {k: v for k, v in data.items() if k != "extends"}
        merged = deep_merge(merged, _rebase(own, file.parent, target))
    return MergedScenario(merged, tuple(p for p, _ in chain), path.parent)


def validate(data: dict[str, Any], files: tuple[Path, ...] = ()) -> Scenario:
    """Validate a merged mapping; an error names the file (child-most) that set the key, and its line."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc, rule = _describe(first)
        # the file that set the longest prefix of the key wins; ties go to the child
        file, line, best = (str(files[0]) if files else None), None, 0
        for candidate in files:
            try:
                node = yaml.compose(candidate.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
            except (OSError, yaml.YAMLError):
                continue
            lines = _line_index(node) if node is not None else {}
            depth = next((i for i in range(len(loc), 0, -1) if loc[:i] in lines), 0)
            if depth > best:
                file, line, best = str(candidate), lines[loc[:depth]], depth
        more = len(exc.errors()) - 1
        raise InputError(
            rule + (f" ({more} more problem{'s' if more > 1 else ''} after this one)" if more else ""),
            file=file,
            line=line,
            key=".".join(str(p) for p in loc) or None,
        ) from None


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


def load_scenario(path: str | Path) -> tuple[Scenario, Path]:
    """Read, merge (``extends``) and validate a scenario; returns it with the folder its paths are relative to."""
    merged = load_merged(path)
    return validate(merged.data, merged.files), merged.base_dir
