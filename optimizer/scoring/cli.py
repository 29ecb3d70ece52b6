"""``campaignlab prepare`` and ``campaignlab uplift``: the scoring steps from the command line.

Both read a YAML config (paths relative to it), compute everything in memory, and only then
write the outputs, each to a temporary file in the output folder renamed into place with
``os.replace``; a bad input stops the command before anything is written, with a one-line
message naming the file, column or key, and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..atomic import neutralised, write_folder
from ..errors import InputError
from .config import load_yaml
from .errors import ScoringError

__all__ = ["prepare", "uplift"]

EXIT_OK, EXIT_INPUT = 0, 2


#: Tables the optimizer reads back: written raw; every other CSV is neutralised for spreadsheets.
_INPUT_TABLES = ("customers.csv", "options.csv")


def _write_all(out: Path, files: dict[str, Any]) -> None:
    """Tables and scenario.yaml in order, then summary.json last with the sha256 of each (atomic.write_folder)."""

    def writer(obj: Any, name: str) -> Callable[[Path], None]:
        if isinstance(obj, pd.DataFrame):
            table = obj if name in _INPUT_TABLES else neutralised(obj)
            return lambda p: table.to_csv(p, index=False)
        return lambda p: p.write_text(yaml.safe_dump(obj, sort_keys=False), encoding="utf-8")

    summary = files["summary.json"]
    write_folder(
        out,
        [(name, writer(obj, name)) for name, obj in files.items() if name != "summary.json"],
        summary=("summary.json", lambda manifest: json.dumps(summary | {"files": manifest}, indent=2) + "\n"),
    )


def _core_input_errors() -> tuple[type[BaseException], ...]:
    """The optimizer core's user-error types (its tables rejected), when the core is present."""
    try:
        from ..errors import InputError
        from ..result import NoPlanError
    except ImportError:
        return ()
    return (InputError, NoPlanError)


def _fail(cmd: str, exc: BaseException) -> int:
    print(f"campaignlab {cmd}: error: {exc}".replace("\n", " "), file=sys.stderr)
    return EXIT_INPUT


def prepare(args: argparse.Namespace) -> int:
    from .prepare import load_prepare_config, prepare

    try:
        path = Path(args.config)
        cfg = load_prepare_config(load_yaml(path), base=path.parent, source=str(path))
        res = prepare(cfg)
    except ScoringError as exc:
        return _fail("prepare", exc)
    fits = pd.DataFrame(
        [
            {
                "group": g,
                "alpha": f.alpha,
                "beta": f.beta,
                "mean_churn": f.mean_churn,
                "at_bound": f.at_bound,
                "log_likelihood": f.log_likelihood,
                "n": f.n_customers,
            }
            for g, f in res.fits.items()
        ]
    )
    files: dict[str, Any] = {
        "customers.csv": res.customers,
        "options.csv": res.options,
        "retention_fits.csv": fits,
        "value_matrix.csv": res.value_matrix.reset_index(),
    }
    if res.segment_profile is not None:
        files["segments.csv"] = res.segment_profile.reset_index()
    files["summary.json"] = {
        "customers": len(res.customers),
        "options": len(res.options),
        "value_tiers": res.customers["value_tier"].value_counts().to_dict(),
        "value_policy": res.customers["value_policy"].value_counts().to_dict(),
        "stages": res.customers["stage"].value_counts().to_dict(),
    }
    files["scenario.yaml"] = res.scenario  # after the tables; summary.json (written last) lists them all
    try:
        _write_all(Path(args.out), files)
    except InputError as exc:
        return _fail("prepare", exc)
    print(
        f"prepared {len(res.customers)} customers and {len(res.options)} options in {args.out}; "
        f"run: campaignlab optimize {Path(args.out) / 'scenario.yaml'}"
    )
    return EXIT_OK


def uplift(args: argparse.Namespace) -> int:
    from .campaign import load_uplift_config, run_campaign

    try:
        path = Path(args.config)
        cfg = load_uplift_config(load_yaml(path), base=path.parent, source=str(path))
        if args.max_rows is not None:
            if args.max_rows < 30:
                raise ScoringError(f"--max-rows(={args.max_rows}) must be >= 30")
            cfg = cfg.model_copy(update={"max_rows": args.max_rows})
        res = run_campaign(cfg)
    except (ScoringError, *_core_input_errors()) as exc:
        return _fail("uplift", exc)
    summary = {
        "value_per_response": res.model.value_per_response,
        "n_train": res.model.n_train,
        "held_out": len(res.customers),
        "optimizer": res.optimizer_info,
    }
    files: dict[str, Any] = {
        "options.csv": res.options,
        "customers.csv": res.customers,
        "policy_evaluation.csv": res.evaluation,
        "summary.json": summary,
        "scenario.yaml": res.scenario,
    }
    try:
        _write_all(Path(args.out), files)
    except InputError as exc:
        return _fail("uplift", exc)
    cols = [
        c
        for c in (
            "policy",
            "contacts",
            "spend",
            "spend_ci_low",
            "spend_ci_high",
            "spend_lift",
            "spend_lift_ci_low",
            "spend_lift_ci_high",
        )
        if c in res.evaluation.columns
    ]
    print(res.evaluation[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return EXIT_OK
