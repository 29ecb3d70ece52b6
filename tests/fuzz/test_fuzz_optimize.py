"""The command-line contract of ``campaignlab optimize`` under mutated inputs (Hypothesis).

Every mutation class of :mod:`fuzz_world` runs a few derandomised examples; each run is a
forked ``campaignlab optimize`` checked by :mod:`fuzz_contract` against an independent
reading of its raw files. The larger campaign (thousands of runs, every command) is
``python tests/fuzz/campaign.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzz_reference as reference
from fuzz_contract import run
from fuzz_world import MUTATIONS, Case, base_world

import optimizer.cli  # noqa: F401  (imported once here, so each forked run starts warm)


def _drawer(data: st.DataObject):
    return lambda options: data.draw(st.sampled_from(list(options)))


def test_the_base_world_is_valid_and_matches_the_reference(tmp_path: Path) -> None:
    outcome = run(Case("base", "unchanged", base_world()), tmp_path / "run", time_limit=120)
    assert outcome.code == 0 and outcome.status == "OPTIMAL", outcome.stderr
    assert outcome.failures == []
    model = reference.build(tmp_path / "run" / "work")
    assert len(model.p) > 100 and reference.optimum(model) > 0


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
@settings(max_examples=3, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_contract_holds_under_mutation(kind: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    case = MUTATIONS[kind](base_world(), _drawer(data))
    outcome = run(case, tmp_path_factory.mktemp(kind) / "run")
    assert outcome.failures == [], f"{case.kind} ({case.detail}): exit {outcome.code}; {outcome.failures}"
