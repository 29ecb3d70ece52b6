"""Reading scenario files: YAML that is parsed, never executed, with ``extends:``.

A what-if is a few lines on top of a base::

    extends: outbound_10088.yaml     # a path relative to this file, or a bundled name
    name: outbound_10088_budget_cut
    budget: 9000

Merging rules: mappings merge key by key (recursively), lists and scalars are replaced
whole (a child's ``rules:`` replaces the parent's list, with a warning in
``MergedScenario.warnings``), and ``null`` replaces too (so ``budget: null`` removes the
parent's budget). ``rules+: [...]`` appends to the inherited rules and ``rules-: [name]``
removes one by name; ``exclusions+`` / ``exclusions-`` do the same for pairs of offers.
Table paths (``options``, ``customers``, ``do_not_contact``) stay relative to the file that
wrote them. The merged mapping is then validated by :class:`~optimizer.scenario.Scenario`; a failure names the file in the chain
that set the offending key, its line, and for an unknown key the likely intended one.

Reading is bounded (:func:`read_yaml`): size, nesting depth and alias expansion are limited,
so a hostile file fails in milliseconds with one line instead of exhausting memory.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .bundled import bundled_path, bundled_scenarios, resolve_scenario
from .errors import InputError, quote
from .yaml_reading import compose, read_yaml
from .scenario import Channel, ContactPolicy, Offer, Rule, Scenario, SolverSettings, Synthetic

__all__ = ["MergedScenario", "allowed_keys", "allowed_roots", "bundled_path", "check_inside", "bundled_scenarios", "deep_merge", "load_merged", "load_scenario", "resolve_scenario", "validate"]


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


def allowed_keys(loc: tuple[Any, ...], root: type[BaseModel] = Scenario) -> list[str]:
    """Field names valid beside the key at ``loc`` (a pydantic error's) in ``root``, for "did you mean" hints.

    Walks the models along ``loc``: a model's field descends into its model, a mapping or
    list of models skips the id or index that follows.
    """
    model: Any = root
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
    if loc == ("budget_confidence",):
        loc = ("budget", "confidence")  # what the file says (Scenario reads the pair into two fields)
    if error["type"] == "extra_forbidden":
        hint = difflib.get_close_matches(str(loc[-1]), allowed_keys(loc), n=1)
        rule = "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
    else:
        rule = error["msg"].removeprefix("Value error, ")
        if error.get("input") is not None and error["type"] != "missing" and not isinstance(error["input"], dict):
            rule += f" (got {quote(error['input'])})"
    return loc, rule



#: Keys whose values are paths relative to the file that sets them.
PATH_KEYS = ("options", "customers", "do_not_contact")


#: Lists a child may edit (``rules+``, ``rules-``...) instead of replacing them whole.
LIST_KEYS = ("rules", "exclusions")


def deep_merge(
    base: dict[str, Any],
    override: dict[str, Any],
    *,
    parents: Mapping[str, str] | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """``override`` on top of ``base``: mappings merge recursively, everything else is replaced.

    ``rules+``/``exclusions+`` append to the inherited list and ``rules-``/``exclusions-``
    remove from it (removal first). A plain ``rules:`` that replaces a non-empty inherited
    list adds a line to ``notes``: replacing is easy to do by accident (``parents`` names the
    file each list came from).
    """
    merged = _merge(base, {k: v for k, v in override.items() if not _is_edit(k)})
    for key in LIST_KEYS:
        edited = _edit_list(key, base.get(key), override, (parents or {}).get(key, "the parent"), notes)
        if edited is not None:
            merged[key] = edited
    return merged


def _is_edit(key: Any) -> bool:
    if isinstance(key, str) and key[-1:] in ("+", "-") and len(key) > 1:
        if key[:-1] not in LIST_KEYS:
            raise InputError(f"only {' and '.join(LIST_KEYS)} take + and - edits; give the whole value", key=key)
        return True
    return False


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _item_id(key: str, item: Any) -> Any:
    """What identifies a list item: a rule's name, an exclusion's unordered pair of offers."""
    if key == "rules":
        return item.get("name") if isinstance(item, dict) else None
    return frozenset(map(str, item)) if isinstance(item, (list, tuple)) else None


def _edit_list(key: str, inherited: Any, override: dict[str, Any], parent: str, notes: list[str] | None) -> list[Any] | None:
    """The list ``key`` after the child's ``key-`` and ``key+`` edits; None when it has none."""
    add, remove = override.get(f"{key}+"), override.get(f"{key}-")
    inherited = inherited if isinstance(inherited, list) else []
    kind = "rule" if key == "rules" else "exclusion"
    if add is None and remove is None:
        if notes is not None and inherited and override.get(key):
            notes.append(
                f"{key}: replaces the {len(inherited)} inherited {kind}{'s' if len(inherited) > 1 else ''} from {parent}; "
                f"use {key}+: to add and {key}-: to remove"
            )
        return None
    if key in override:
        raise InputError(f"give {key}: (replace the list) or {key}+/{key}- (edit it), not both", key=key)
    for edit, value in ((f"{key}+", add), (f"{key}-", remove)):
        if value is not None and not isinstance(value, list):
            raise InputError(f"{edit} takes a list (got {quote(value)})", key=edit)
    items = list(inherited)
    for ref in remove or []:
        ids = [_item_id(key, item) for item in items]
        wanted = ref if key == "rules" else _item_id(key, ref)
        if wanted not in ids:
            known = [str(i) if key == "rules" else "+".join(sorted(i)) for i in ids if i is not None]
            hint = difflib.get_close_matches(str(ref), known, n=1) if key == "rules" else []
            raise InputError(
                f"{quote(ref)} is not an inherited {kind}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; inherited: {', '.join(known) or 'none'}",
                key=f"{key}-",
            )
        del items[ids.index(wanted)]
    for item in add or []:
        ident = _item_id(key, item)
        if ident is not None and ident in [_item_id(key, i) for i in items]:
            name = quote(ident) if key == "rules" else "+".join(sorted(ident))
            raise InputError(f"{kind} {name} is already inherited; remove it first with {key}-: or give another name", key=f"{key}+")
        items.append(item)
    return items


@dataclass(frozen=True)
class MergedScenario:
    """A scenario's merged mapping before validation, with the files it came from (child first)."""

    data: dict[str, Any]
    files: tuple[Path, ...]
    base_dir: Path
    warnings: tuple[str, ...] = ()  # e.g. a child's rules: replacing inherited rules


#: Files in one extends chain (each file's own limits: optimizer.yaml_reading).
MAX_CHAIN = 32


def _read(path: Path) -> dict[str, Any]:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise InputError("a scenario is a YAML mapping of keys (name, options, budget, ...)", file=str(path))
    return data


def allowed_roots(scenario_file: str | Path) -> tuple[Path, ...]:
    """The folders a scenario may read from: its own, the working folder and the bundled scenarios."""
    bundled = Path(str(resources.files("scenarios") / "bundled"))
    return Path(scenario_file).resolve().parent, Path.cwd().resolve(), bundled.resolve()


def check_inside(path: Path, roots: tuple[Path, ...], *, file: str | Path, key: str) -> Path:
    """``path`` resolved, refused (before anything reads it) when it lies outside every root.

    A scenario is data someone may hand over: ``extends: /etc/shadow`` or
    ``customers: ../../secrets.csv`` must not read (and echo into an error) files the user
    never named. ``--allow-outside`` (``roots=()``) lifts the check.
    """
    resolved = path.resolve()
    if roots and not any(resolved.is_relative_to(root) for root in roots):
        raise InputError(
            f"{resolved} is outside the scenario's folder ({roots[0]}) and the working folder; pass --allow-outside to read it",
            file=str(file),
            key=key,
        )
    return resolved


def _parent_path(value: Any, child: Path, roots: tuple[Path, ...]) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"extends must be a file path or a bundled scenario name (got {value!r})", file=str(child), key="extends")
    relative = check_inside(child.parent / value, roots, file=child, key="extends")
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


def load_merged(path: str | Path, *, allow_outside: bool = False) -> MergedScenario:
    """Follow ``extends`` from ``path`` to the root and merge; cycles and missing parents are errors.

    A parent must lie in ``path``'s folder, the working folder or the bundled scenarios
    unless ``allow_outside``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("scenario file does not exist", file=str(path))
    roots = () if allow_outside else allowed_roots(path)
    chain: list[tuple[Path, dict[str, Any]]] = []
    current = path.resolve()
    seen: list[Path] = []
    while True:
        if current in seen:
            loop = " -> ".join(p.name for p in seen + [current])
            raise InputError(f"extends forms a cycle: {loop}", file=str(chain[-1][0]), key="extends")
        if len(seen) == MAX_CHAIN:
            raise InputError(f"an extends chain has at most {MAX_CHAIN} files", file=str(chain[-1][0]), key="extends")
        seen.append(current)
        data = _read(current)
        chain.append((current, data))
        if "extends" not in data:
            break
        current = _parent_path(data["extends"], current, roots)
    merged: dict[str, Any] = {}
    target = path.resolve().parent
    notes: list[str] = []
    set_by: dict[str, str] = {}  # list key -> the file whose edits it holds, for the notes
    for file, data in reversed(chain):  # root first, child last
        own = {k: v for k, v in data.items() if k != "extends"}
        found: list[str] = []
        try:
            merged = deep_merge(merged, _rebase(own, file.parent, target), parents=set_by, notes=found)
        except InputError as exc:
            raise InputError(exc.rule, file=str(file), key=exc.key) from None
        notes.extend(f"{file.name}: {note}" for note in found)
        set_by.update({key: file.name for key in LIST_KEYS if any(k in own for k in (key, f"{key}+", f"{key}-"))})
    return MergedScenario(merged, tuple(p for p, _ in chain), path.parent, tuple(notes))


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
                node = compose(candidate)
            except (OSError, InputError):
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


def load_scenario(path: str | Path, *, allow_outside: bool = False) -> tuple[Scenario, Path]:
    """Read, merge (``extends``) and validate a scenario; returns it with the folder its paths are relative to."""
    merged = load_merged(path, allow_outside=allow_outside)
    return validate(merged.data, merged.files), merged.base_dir
