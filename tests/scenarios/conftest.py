from pathlib import Path

import pytest

from scenarios.inputs import load_inputs

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def small():
    """The 600-customer cut of the bundled 10088 wave (tables generated once per session)."""
    return load_inputs(FIXTURES / "small.yaml")


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES
