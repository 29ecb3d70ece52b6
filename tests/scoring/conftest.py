from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).parents[3] / "shared" / "data"
REPO_DATA = Path(__file__).parents[2] / "data"


def _data_file(name: str) -> Path:
    """A dataset from ../shared/data, else the repo's bundled copy; skip if neither exists."""
    for base in (SHARED_DATA, REPO_DATA):
        if (base / name).is_file():
            return base / name
    pytest.skip(f"{name} not available in {SHARED_DATA} or {REPO_DATA}")


@pytest.fixture
def data_file():
    """Fixture returning the path finder above (test modules cannot import conftest)."""
    return _data_file
