"""The files an approval report approves, and the provenance of its inputs.

* :func:`read_optimize_output`: a ``campaignlab optimize`` output folder, accepted only if its
  summary.json lists the sha256 of the plan.csv beside it, the inputs' sha256 it records are
  the scenario's inputs now, and the verifier passes the plan;
* :func:`input_fingerprints`: per input hash, the file it covers, what it covers and the
  command that recomputes it;
* :func:`summary_json`: summary.json exactly as ``optimize`` writes it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.errors import InputError, NoPlan
from optimizer.problem import Problem
from optimizer.report import summary_text

from .inputs import ScenarioInputs

__all__ = ["HOLDOUT_FILE", "PLAN_FILE", "SUMMARY_FILE", "input_fingerprints", "read_optimize_output", "sha256_bytes", "summary_json"]

#: Files the page approves, written beside it.
PLAN_FILE, SUMMARY_FILE, HOLDOUT_FILE = "plan.csv", "summary.json", "holdout.csv"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def input_fingerprints(inputs: ScenarioInputs, problem: Problem) -> dict[str, dict[str, str | None]]:
    """Per input hash: the file it belongs to (None for a generated table), what it covers, how to recompute it."""
    out: dict[str, dict[str, str | None]] = {}
    s = problem.scenario
    for key in problem.sources:
        path: Path | None = None
        if key == "scenario" or key.startswith("scenario parent "):
            level = 0 if key == "scenario" else int(key.rsplit(" ", 1)[1])
            path = inputs.files[level] if level < len(inputs.files) else None
            covers = "the bytes of the scenario file" if level == 0 else f"the bytes of the scenario it extends ({level} level{'s' if level > 1 else ''} up)"
        elif key in ("options", "customers"):
            path = Path(inputs.options_file if key == "options" else inputs.customers_file)
            covers = f"the bytes of the {key} table file"
        elif key == "do_not_contact" and isinstance(s.do_not_contact, str):
            path = inputs.base_dir / s.do_not_contact
            covers = "the bytes of the do-not-contact list"
        elif key.endswith("(synthetic)") and s.synthetic is not None:
            table = key.split(" ")[0]
            index = 0 if table == "options" else 1
            out[key] = {
                "file": None,
                "covers": f"the {table} table the seeded generator makes (synthetic: {s.synthetic.customers:,} customers, seed "
                          f"{s.synthetic.seed}): sha256 of its column names joined by commas, then of pandas' 64-bit row hashes",
                "recompute": f'python -c "from optimizer.demo import generate_base; from optimizer.problem import sha256_table; '
                             f'print(sha256_table(generate_base({s.synthetic.customers}, seed={s.synthetic.seed})[{index}]))"',
            }
            continue
        else:
            covers = "as recorded when the problem was built"
        if path is not None and path.is_file():
            out[key] = {"file": str(path), "covers": covers, "recompute": f"sha256sum {path}"}
        else:  # an in-memory table (ScenarioInputs.from_tables)
            out[key] = {"file": None, "covers": f"the {key} table given in memory (optimizer.problem.sha256_table)", "recompute": None}
    return out


def read_optimize_output(folder: Path, inputs: ScenarioInputs, problem: Problem) -> tuple[dict[str, Any], np.ndarray, dict[str, bytes]]:
    """The summary, the plan's 0/1 choice and the files of ``campaignlab optimize SCENARIO --out folder``.

    Refused (an InputError naming the file) unless summary.json lists the sha256 of the
    plan.csv beside it, every input's sha256 it records is the scenario's input now, and
    the verifier passes the plan. A summary without a plan is NoPlan.
    """
    from .plan_world import load_plan

    folder = Path(folder)
    summary_path, plan_path = folder / SUMMARY_FILE, folder / PLAN_FILE
    if not summary_path.is_file():
        raise InputError(f"no {SUMMARY_FILE} here: give the folder `campaignlab optimize SCENARIO --out DIR` wrote", file=str(folder))
    try:
        raw = summary_path.read_bytes()
        summary = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot be read as JSON ({exc})", file=str(summary_path)) from None
    if not isinstance(summary, dict) or not {"status", "inputs_sha256", "limits"} <= set(summary):
        raise InputError("is not a summary written by campaignlab optimize", file=str(summary_path))
    if summary.get("spend") is None:
        raise NoPlan(f"no report written: {summary_path} records no plan ({summary['status']}): {summary.get('message', '')}")
    files: dict[str, bytes] = {SUMMARY_FILE: raw}
    manifest = summary.get("files") or {}
    for name in (PLAN_FILE, HOLDOUT_FILE):
        path = folder / name
        if name not in manifest:
            if name == PLAN_FILE:
                raise InputError(f"lists no {PLAN_FILE}: it was not written by campaignlab optimize", file=str(summary_path))
            continue
        if not path.is_file():
            raise InputError(f"is missing: {summary_path} lists it", file=str(path))
        files[name] = path.read_bytes()
        if sha256_bytes(files[name]) != manifest[name].get("sha256"):
            raise InputError(f"does not belong with {SUMMARY_FILE} (its sha256 is {sha256_bytes(files[name])}, the summary lists "
                             f"{manifest[name].get('sha256')}): re-run campaignlab optimize", file=str(path))
    recorded, now = summary["inputs_sha256"], problem.sources
    described = input_fingerprints(inputs, problem)
    for key in sorted(set(recorded) | set(now)):
        if recorded.get(key) != now.get(key):
            where = (described.get(key) or {}).get("file") or f"the scenario's {key}"
            raise InputError(f"has changed since the plan was made (sha256 {recorded.get(key) or 'not recorded'} in {summary_path}, "
                             f"{now.get(key) or 'no such input'} now): re-run campaignlab optimize", file=where)
    return summary, load_plan(problem, plan_path), files


def summary_json(summary: dict[str, Any], files: dict[str, bytes]) -> bytes:
    """summary.json as ``campaignlab optimize`` writes it (optimizer.report.write_outputs): the data files listed."""
    manifest = {name: {"sha256": sha256_bytes(data), "bytes": len(data)} for name, data in files.items()}
    return summary_text(summary, manifest).encode()
