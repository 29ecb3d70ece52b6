"""Bundled data match PROVENANCE.md; the notebook is stripped and runs top to bottom."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
NOTEBOOK = ROOT / "notebooks" / "customer_data_and_uplift.ipynb"


def test_bundled_files_match_provenance() -> None:
    text = (ROOT / "data" / "PROVENANCE.md").read_text()
    rows = re.findall(r"\| `([\w.]+\.csv)` \| ([\d,]+) \| [\d,]+ \| `([0-9a-f]{64})` \|", text)
    assert {r[0] for r in rows} == {"telco_churn.csv", "hillstrom.csv"}
    for name, size, sha in rows:
        data = (ROOT / "data" / name).read_bytes()
        assert len(data) == int(size.replace(",", "")), name
        assert hashlib.sha256(data).hexdigest() == sha, name


def test_notebook_is_stripped_and_runs() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit the notebook without outputs"
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env_path) if p)
    try:
        nbclient.NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
        ).execute()
    finally:
        if env_path:
            os.environ["PYTHONPATH"] = env_path
        else:
            os.environ.pop("PYTHONPATH", None)
    text = "".join(o.get("text", "") for c in code for o in c.outputs)
    assert "OPTIMAL" in text and "held-out customers" in text
