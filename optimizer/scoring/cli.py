"""``campaignlab prepare`` and ``campaignlab uplift``: the scoring steps from the command line.

Both read a YAML config (paths relative to it), compute everything in memory, and only then
write the outputs, each to a temporary file in the output folder renamed into place with
``os.replace``; a bad input stops the command before anything is written, with a one-line
message naming the file, column or key, and exit code 2.
"""

from __future__ import annotations

import argparse
import hashlib
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
        if isinstance(obj, bytes):  # a PNG
            return lambda p: p.write_bytes(obj)
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


def _write_model(out: Path, model: Any) -> str:
    """``OUT/model/``: the model's JSON files, then manifest.json with their sha256 (write_folder).

    Written before the tables, so summary.json (last of all) can record the manifest's sha256:
    a reader then sees whether the tables and the model beside them belong together.
    """
    from .fitted import MANIFEST, MODEL_FILES, model_files

    docs, manifest = model_files(model)
    names = [name for name, _ in docs]
    write_folder(
        out / "model",
        [(name, lambda p, text=text: p.write_text(text, encoding="utf-8")) for name, text in docs],
        summary=(MANIFEST, manifest),
        remove=[name for name in MODEL_FILES if name not in names],
    )
    return hashlib.sha256((out / "model" / MANIFEST).read_bytes()).hexdigest()


def prepare(args: argparse.Namespace) -> int:
    """Fit (and save the fit in OUT/model/), or with ``--model`` apply a saved fit unchanged."""
    from .fitted import fingerprint, load_model
    from .prepare import load_prepare_config, prepare

    model_dir = getattr(args, "model", None)
    try:
        path = Path(args.config)
        cfg = load_prepare_config(load_yaml(path), base=path.parent, source=str(path))
        if getattr(args, "input", None):  # relative to the working directory, like any command-line path
            cfg = cfg.model_copy(update={"customers": cfg.customers.model_copy(update={"path": Path(args.input)})})
        saved = load_model(model_dir) if model_dir else None
        if saved is not None:
            saved.check_config(cfg, where=f"--model {model_dir}")
        res = prepare(cfg, model=saved)
        model = res.model if saved is not None else res.model.with_config_file(path)
        provenance = {
            "mode": "applied" if saved is not None else "fitted",
            **({"applied_from": str(model_dir)} if saved is not None else {}),
            "folder": "model",
            "fitted_on_sha256": model.manifest["input_sha256"],
            "input": str(cfg.customers.path),
            "input_sha256": fingerprint(cfg.customers.path),
        }
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
    if "segment_name" in res.customers.columns:
        files["summary.json"]["segment_names"] = dict(enumerate(model.segments.names)) if model.segments else {}
    if res.churn is not None:
        files["summary.json"]["churn_risk"] = {"source": res.churn.source, "horizon_months": res.churn.horizon_months}
    if res.churn is not None and res.churn.report is not None:  # the held-out evaluation of a fitted churn model
        rep = res.churn.report
        files |= {"churn_model_cv.csv": rep.cv, "churn_model_holdout.csv": rep.holdout,
                  "churn_model_reliability.csv": rep.reliability, "churn_model_signals.csv": rep.signals,
                  "churn_model_calibration.png": rep.calibration_png}
        files["summary.json"]["churn_model"] = rep.summary()
    files["scenario.yaml"] = res.scenario  # after the tables; summary.json (written last) lists them all
    try:
        provenance["manifest_sha256"] = _write_model(Path(args.out), model)
        files["summary.json"]["model"] = provenance
        _write_all(Path(args.out), files)
    except InputError as exc:
        return _fail("prepare", exc)
    how = f"with the model in {model_dir}" if model_dir else f"model saved in {Path(args.out) / 'model'}"
    print(
        f"prepared {len(res.customers)} customers and {len(res.options)} options in {args.out} ({how}); "
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
