"""argparse ``type=`` functions for the numeric flags of every ``campaignlab`` command.

A flag is checked where it is parsed, so ``--gap 2`` or ``--time-limit nan`` stops with
``campaignlab optimize: error: argument --gap: must lie in [0, 1) (got 2.0)`` and exit 2
before any input is read, instead of reaching a solver that misreads it.
"""

from __future__ import annotations

import argparse
import math

__all__ = ["add_allow_outside", "finite_float", "fraction", "non_negative_float", "non_negative_int", "positive_float", "positive_int"]


def add_allow_outside(parser: argparse.ArgumentParser) -> None:
    """``--allow-outside``: let a scenario read tables and parents outside its folder and the working folder."""
    parser.add_argument(
        "--allow-outside",
        action="store_true",
        help="let the scenario's extends: and table paths leave its folder, the working folder and the bundled scenarios",
    )


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number (got {text!r})") from None


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None


def finite_float(text: str) -> float:
    """Any finite number (targets, search bounds)."""
    value = _number(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number (got {value})")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (seconds, tolerances, calls per seat)."""
    value = _number(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0 (got {value})")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (a budget)."""
    value = _number(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0 (got {value})")
    return value


def fraction(text: str) -> float:
    """A relative gap: in [0, 1) (a gap of 1 or more proves nothing)."""
    value = _number(text)
    if not 0 <= value < 1:  # NaN fails both comparisons
        raise argparse.ArgumentTypeError(f"must lie in [0, 1) (got {value})")
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1 (replications, workers, customers, seats, months)."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1 (got {value})")
    return value


def non_negative_int(text: str) -> int:
    """A whole number >= 0 (seeds, a count where 0 means none)."""
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0 (got {value})")
    return value
