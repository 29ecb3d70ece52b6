"""The common contract for every other command: simulate, sweep, compare, report, contacts, prepare.

A few mutation classes each (the ones that reach a command's own code: names, awkward ids
in plots and lists, paths, output folders, infeasible scenarios), one derandomised example
per class and command; ``python tests/fuzz/campaign.py`` runs every class through each.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_contract import COMMANDS, run
from fuzz_prepare import PREPARE_MUTATIONS, prepare_world
from fuzz_world import MUTATIONS, base_world

import optimizer.cli  # noqa: F401  (imported once here, so each forked run starts warm)

KINDS = ("dead_offer", "dead_where_value", "table_offer_channel_ids", "yaml_name", "paths_outside", "out_path", "infeasible", "do_not_contact_all")
OTHERS = [c for c in COMMANDS if c not in ("optimize", "prepare")]
SETTINGS = settings(max_examples=1, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)


def _drawer(data: st.DataObject):
    return lambda options: data.draw(st.sampled_from(list(options)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", OTHERS)
@SETTINGS
@given(data=st.data())
def test_every_command_keeps_the_contract(command: str, kind: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    case = MUTATIONS[kind](base_world(), _drawer(data))
    outcome = run(case, tmp_path_factory.mktemp(f"{command}-{kind}") / "run", COMMANDS[command])
    assert outcome.failures == [], f"{command} {case.kind} ({case.detail}): exit {outcome.code}; {outcome.failures}"


@pytest.mark.parametrize("kind", sorted(PREPARE_MUTATIONS))
@SETTINGS
@given(data=st.data())
def test_prepare_keeps_the_contract(kind: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    case = PREPARE_MUTATIONS[kind](prepare_world(), _drawer(data))
    outcome = run(case, tmp_path_factory.mktemp(kind) / "run", COMMANDS["prepare"])
    assert outcome.failures == [], f"prepare {case.kind} ({case.detail}): exit {outcome.code}; {outcome.failures}"


def test_prepare_world_is_the_worked_example(tmp_path: Path) -> None:
    """The unmutated base prepares and its scenario solves (the fuzz starts from a valid input)."""
    from fuzz_world import Case

    outcome = run(Case("base", "unchanged", prepare_world(), expect=frozenset({0})), tmp_path / "run", COMMANDS["prepare"])
    assert outcome.failures == [] and outcome.code == 0, outcome.stderr
