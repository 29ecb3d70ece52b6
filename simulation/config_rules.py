"""The rules a simulator setting obeys, as pydantic field types, and the one-line error.

A setting's type is its rule: ``Probability``, ``Rate`` (a finite number >= 0), ``Positive``,
``PositiveInt``, ``Count`` (an integer >= 0) ... Each is checked by a plain validator, so a
setting is exactly what the rule says (``"0.5"`` is not a number, ``2.0`` is the integer 2,
``yes`` is not ``true``), and a broken rule reads as SimPy's do: the value, then the rule,
``(=1.3) must be a probability in [0, 1]``.

The sections are :class:`optimizer.scenario.StrictModel` models (unknown keys are errors);
:func:`config_error` turns pydantic's first error into one :class:`SimulationConfigError`
naming the dotted key, with the "did you mean" of the optimizer's scenario files.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, PlainValidator, ValidationError, ValidationInfo, field_validator

from optimizer.errors import quote
from optimizer.scenario import StrictModel
from optimizer.scenario_file import allowed_keys

from .errors import SimulationConfigError

__all__ = [
    "PARTIAL",
    "Broken",
    "Count",
    "Finite",
    "Flag",
    "PositiveInt",
    "PositiveIntOrNone",
    "Positive",
    "PositiveOrNone",
    "Probability",
    "Rate",
    "Section",
    "Text",
    "config_error",
    "key_in",
    "one_of",
]

#: What the optimizer's models say when a yes/no is given where a number is meant.
NOT_A_NUMBER = "a number is needed, not a yes/no (true/false)"


class Broken(ValueError):
    """A broken rule whose message is complete (it quotes the value as the rule read it).

    ``key`` is the setting relative to where validation found the problem: empty for a
    field's own rule, the field for a section's cross check (``tier_mix`` in ``population``).
    """

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise Broken(f"(={value!r}) {NOT_A_NUMBER}")
    if not isinstance(value, (int, float)):
        raise Broken(f"(={quote(value)}) must be a number")
    try:
        value = float(value)
    except OverflowError:  # an integer beyond float range
        raise Broken(f"(={quote(value)}) must be finite") from None
    if not math.isfinite(value):
        raise Broken(f"(={value}) must be finite")
    return value


def _bounded(rule: str, ok: Callable[[float], bool]) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        number = _number(value)
        if not ok(number):
            raise Broken(f"(={number}) must be {rule}")
        return number

    return check


def _integer(low: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool):
            raise Broken(f"(={value!r}) {NOT_A_NUMBER}")
        if not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
            raise Broken(f"(={quote(value)}) must be an integer")
        number = int(value)
        if number < low:
            raise Broken(f"(={number}) must be {'>= 0' if low == 0 else '> 0'}")
        return number

    return check


def _or_none(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else check(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Broken(f"(={quote(value)}) must be true or false")
    return value


_probability = _bounded("a probability in [0, 1]", lambda v: 0.0 <= v <= 1.0)
_rate = _bounded(">= 0", lambda v: v >= 0.0)
_positive = _bounded("> 0", lambda v: v > 0.0)

Probability = Annotated[float, PlainValidator(_probability)]
Rate = Annotated[float, PlainValidator(_rate)]
Positive = Annotated[float, PlainValidator(_positive)]
PositiveOrNone = Annotated[float | None, PlainValidator(_or_none(_positive))]
Finite = Annotated[float, PlainValidator(_number)]
PositiveInt = Annotated[int, PlainValidator(_integer(1))]
PositiveIntOrNone = Annotated[int | None, PlainValidator(_or_none(_integer(1)))]
Count = Annotated[int, PlainValidator(_integer(0))]
Flag = Annotated[bool, PlainValidator(_flag)]
#: A label (a scenario's name): whatever is given, as text.
Text = Annotated[str, PlainValidator(str)]


def one_of(*names: str) -> PlainValidator:
    """A setting that is one of ``names`` (``Annotated[str, one_of("carry", "drop")]``)."""

    def check(value: Any) -> str:
        if value not in names:
            raise Broken(f"(={quote(value)}) must be one of {list(names)}")
        return value

    return PlainValidator(check)


def key_in(names: tuple[str, ...]) -> PlainValidator:
    """A key of a per-stage or per-tier map: one of ``names``."""

    def check(value: Any) -> str:
        if value not in names:
            raise Broken(f"unknown key; expected one of {list(names)}")
        return value

    return PlainValidator(check)


class _Partial:
    def __repr__(self) -> str:
        return "PARTIAL"


#: Marks a per-name map (``Annotated[dict[...], PARTIAL]``) that may be given in part: the
#: names it leaves out keep their defaults (``exit_hazard: {growth: 0.03}`` changes one stage).
PARTIAL = _Partial()


class Section(StrictModel):
    """A section of the simulator's settings: strict and frozen; partial maps keep the defaults."""

    @field_validator("*", mode="before")
    @classmethod
    def _over_defaults(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields[info.field_name] if info.field_name else None
        if field is not None and PARTIAL in field.metadata and isinstance(value, Mapping):
            return {**field.get_default(call_default_factory=True), **value}
        return value


#: pydantic's own errors (the value's type), in the words of the rules above.
_TYPE_RULES = {"model_type": "must be a mapping", "dict_type": "must be a mapping", "string_type": "must be text"}


def config_error(exc: ValidationError, root: type[BaseModel]) -> SimulationConfigError:
    """The first problem of a failed ``root.model_validate`` as one line naming the dotted key.

    Unknown keys come first (a misspelt key is the likeliest mistake, and it leaves the key
    meant at its default) and cross checks last (they compare settings that may themselves
    be wrong).
    """
    errors = exc.errors()

    def rank(error: Any) -> int:
        cause = (error.get("ctx") or {}).get("error")
        return 0 if error["type"] == "extra_forbidden" else 2 if isinstance(cause, Broken) and cause.key else 1

    error = min(errors, key=rank)
    loc = tuple(p for p in error["loc"] if p != "[key]")
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, Broken):
        return SimulationConfigError(_dotted(loc + ((cause.key,) if cause.key else ())), str(cause))
    key = _dotted(loc)
    if error["type"] == "extra_forbidden":
        known = sorted(allowed_keys(loc, root))
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        did = f" (did you mean {hint[0]!r}?)" if hint else ""
        return SimulationConfigError(key, f"unknown key{did}; known keys: {', '.join(known)}")
    rule = _TYPE_RULES.get(error["type"]) or error["msg"].removeprefix("Value error, ")
    return SimulationConfigError(key, f"(={quote(error['input'])}) {rule}")


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "scenario"
