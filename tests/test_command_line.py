"""The ``campaignlab`` entry point: instant help, handlers that resolve, layers that import one way."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from campaignlab.cli import build_parser
from campaignlab.commands import AUTO_DECOMPOSE_CUSTOMERS, COMMANDS, DEFAULT_SCENARIO

ROOT = Path(__file__).parents[1]
#: What building the parser must never load: the numeric stack, the solvers, the packages themselves.
HEAVY = ("numpy", "pandas", "scipy", "highspy", "pulp", "ortools", "simpy", "matplotlib", "optimizer", "simulation", "scenarios")


def _imported(*argv: str) -> set[str]:
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "campaignlab", *argv], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("argv", [("--help",), ("optimize", "--help"), ("simulate", "--help"), ("report", "--help")])
def test_help_imports_no_solver_and_no_simulator(argv: tuple[str, ...]) -> None:
    loaded = _imported(*argv)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert not heavy, heavy


def test_every_command_has_a_handler_and_a_parser() -> None:
    parser = build_parser()
    for command in COMMANDS:
        module, function = command.handler.split(":")
        assert callable(getattr(importlib.import_module(module), function)), command.handler
        argv = [command.name] + (["x"] if command.name in ("verify",) else [])
        if command.name == "verify":
            argv.append("plan.csv")
        elif command.name in ("prepare", "uplift"):
            argv += ["config.yaml", "--out", "o"]
        elif command.name == "generate":
            argv += ["--out", "o"]
        elif command.name == "inverse":
            argv += ["demo", "--target", "1"]
        elif command.name not in ("optimize", "scenarios"):
            argv.append("demo")
        assert parser.parse_args(argv).handler == command.handler


def test_the_help_text_states_the_thresholds_the_handlers_use() -> None:
    from optimizer import cli

    assert (AUTO_DECOMPOSE_CUSTOMERS, DEFAULT_SCENARIO) == (cli.AUTO_DECOMPOSE_CUSTOMERS, cli.DEFAULT_SCENARIO)


LOWER_THAN = {"optimizer": {"simulation", "scenarios", "campaignlab"}, "simulation": {"scenarios", "campaignlab"}, "scenarios": {"campaignlab"}}


@pytest.mark.parametrize("package", sorted(LOWER_THAN))
def test_lower_layers_never_import_higher_ones(package: str) -> None:
    upward = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            upward += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in LOWER_THAN[package]]
    assert not upward, upward


def test_listing_the_scenarios_loads_no_solver_and_the_facade_stays_whole() -> None:
    loaded = _imported("scenarios")
    # listing reads file names and descriptions: no numeric stack, and not the scenario model (pydantic)
    assert not sorted(m for m in loaded if m.split(".")[0] in ("numpy", "pandas", "scipy", "highspy", "pulp", "ortools", "simulation", "pydantic"))
    assert "optimizer.scenario" not in loaded
    code = ("import optimizer.solving, optimizer; from optimizer import solve, Status, __all__ as names; "
            "assert callable(solve) and all(getattr(optimizer, n) is not None for n in names)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
