"""Reading a user's YAML safely: parsed, never executed, within bounds on size, depth and aliases.

Why not ``yaml.safe_load`` alone: it runs no code, but a 1 KB file of nested aliases (a
"billion laughs") takes minutes and gigabytes, and 5,000 levels of nesting overflow the
stack. Every reader of a scenario, a mapping config or a ``--grid`` value comes through
:func:`read_yaml` or :func:`parse_yaml`; an error is one line naming the file and the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, quote

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "compose", "parse_yaml", "read_yaml", "yaml_error"]

MAX_FILE_BYTES = 10_000_000
MAX_DEPTH = 100
MAX_NODES = 100_000  # after expanding aliases; a generous scenario has a few hundred


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing nesting deeper than :data:`MAX_DEPTH` while it composes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise yaml.YAMLError(f"nested deeper than {MAX_DEPTH} levels (line {mark.line + 1})")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _expanded_size(node: yaml.Node, sizes: dict[int, int], level: int = 0) -> int:
    """Nodes in the document once every alias is expanded; a shared node is counted once per use."""
    if level > MAX_DEPTH:
        raise yaml.YAMLError(f"nested deeper than {MAX_DEPTH} levels once aliases are expanded (or an alias refers to itself)")
    if id(node) not in sizes:
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        sizes[id(node)] = 1 + sum(_expanded_size(child, sizes, level + 1) for child in children)
        if sizes[id(node)] > MAX_NODES:
            raise yaml.YAMLError(f"expands to more than {MAX_NODES:,} values (aliases repeat anchored parts)")
    return sizes[id(node)]


def yaml_error(exc: yaml.YAMLError, path: Path) -> InputError:
    """PyYAML's complaint as one line (its messages span several) with the file and line."""
    if isinstance(exc, yaml.reader.ReaderError):
        character = f"#x{exc.character:04x}" if isinstance(exc.character, int) else quote(exc.character)
        problem = f"{exc.reason}: {character} at character {exc.position}"
    else:
        problem = str(getattr(exc, "problem", None) or exc)
    mark = getattr(exc, "problem_mark", None)
    return InputError(f"not valid YAML: {' '.join(problem.split())}", file=str(path), line=mark.line + 1 if mark else None)


def compose(path: Path) -> yaml.Node | None:
    """The YAML node graph of ``path`` within the limits above; undecodable bytes name their offset."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"a scenario file is at most {MAX_FILE_BYTES:,} bytes; this one has {path.stat().st_size:,}", file=str(path))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: byte {exc.start} is {raw[exc.start:exc.start + 1]!r}; save the file as UTF-8", file=str(path)) from None
    return _compose_text(text, str(path))


def _compose_text(text: str, source: str) -> yaml.Node | None:
    loader = None
    try:
        loader = _BoundedLoader(text)
        node = loader.get_single_node()
        if node is not None:
            _expanded_size(node, {})
        return node
    except yaml.YAMLError as exc:
        raise yaml_error(exc, Path(source)) from None
    finally:
        if loader is not None:
            loader.dispose()


def _construct(node: yaml.Node | None, source: str) -> Any:
    try:
        return None if node is None else yaml.SafeLoader("").construct_document(node)
    except yaml.YAMLError as exc:
        raise yaml_error(exc, Path(source)) from None


def read_yaml(path: str | Path) -> Any:
    """A YAML file's content, parsed (never executed) within the limits above.

    Every reader of a user's scenario file should come through here: ``yaml.safe_load`` alone
    lets a 1 KB file take minutes and gigabytes.
    """
    return _construct(compose(Path(path)), str(path))


def parse_yaml(text: str, source: str) -> Any:
    """:func:`read_yaml` for text that is not a file (a ``--grid`` value); ``source`` names it in errors."""
    if len(text) > MAX_FILE_BYTES:
        raise InputError(f"at most {MAX_FILE_BYTES:,} characters", key=source)
    return _construct(_compose_text(text, source), source)


