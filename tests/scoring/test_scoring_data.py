"""Bundled data match PROVENANCE.md (the notebooks run in tests/notebooks)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_bundled_files_match_provenance() -> None:
    text = (ROOT / "data" / "PROVENANCE.md").read_text()
    rows = re.findall(r"\| `([\w.-]+\.csv)` \| ([\d,]+) \| [\d,]+ \| `([0-9a-f]{64})` \|", text)
    assert {r[0] for r in rows} == {"telco_churn.csv", "hillstrom.csv", "churn-bigml-80.csv", "churn-bigml-20.csv"}
    assert {r[0] for r in rows} == {p.name for p in (ROOT / "data").glob("*.csv")}  # nothing bundled unrecorded
    for name, size, sha in rows:
        data = (ROOT / "data" / name).read_bytes()
        assert len(data) == int(size.replace(",", "")), name
        assert hashlib.sha256(data).hexdigest() == sha, name
