"""What ``prepare`` fitted, saved as plain JSON so next month's file is scored by the same model.

A refit on every file moves the goalposts: k-means renumbers the segments (May's segment 1
is June's segment 2, so a scenario rule ``segment: 1`` silently changes meaning), value bands
are terciles of whoever is in the file, and the sBG fits follow the month's churners. So a
fitted run saves its model in ``OUT/model/`` and ``prepare CONFIG --model OUT/model`` applies
it unchanged.

Layout of the model folder (one JSON file per step, the manifest written last)::

    segments.json     features, scaler mean and scale, centres (scaled units), names, profile
    value.json        per index: weights and each column's reference (distinct values, counts);
                      band cut points; tier thresholds
    retention.json    the sBG fit per group (retention.SBGFit fields) and the columns read
    churn_model.json  the churn model's own to_json(), when the config has one
    manifest.json     format, config name and sha256, the fitted config keys, the input
                      table's sha256 and rows, package versions, creation time (UTC), and
                      the sha256 and size of every file above

JSON, never pickle: loading a model runs no code, and the files can be read and diffed.
A model is refused for a config whose name or fitted keys (:func:`fitted_keys`) differ:
the error names each differing key.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import platform
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel

from .errors import ScoringError
from .retention import SBGFit
from .segments import SegmentModel
from .value import RankReference

__all__ = ["MODEL_FILES", "FittedModel", "fingerprint", "fitted_keys", "load_model", "model_files"]

FORMAT = "campaignlab-prepare-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: The data files of a model folder, in writing order (churn_model.json only when there is one).
MODEL_FILES = ("segments.json", "value.json", "retention.json", "churn_model.json")

#: Config keys (dotted prefixes) a fit does not depend on: offers, channels, costs, rules and
#: how the file is read (path, format, separator, encoding, id column) may change between
#: months under one model. Every other key, including a
#: section added later, counts as fitted, so an unknown change refuses rather than misleads.
NOT_FITTED = (
    "description",
    "lifecycle",
    "tags",
    "channels",
    "offers",
    "policy_channels",
    "scenario",
    "customers.path",
    "customers.format",
    "customers.separator",
    "customers.encoding",
    "customers.id",
    "retention.arpu",
    "retention.margin",
    "retention.discount_rate",
    "retention.horizon_months",
    "value.policy",
)
_VERSIONED = ("campaignlab", "numpy", "pandas", "scipy", "scikit-learn", "pydantic")


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {} if data is None else {prefix: data}


def fitted_keys(cfg: BaseModel) -> dict[str, Any]:
    """The config's keys a fit depends on, flattened to dotted names (``value.current.arpu``).

    Keys left unset (None) are left out, so a section one side lacks shows as its keys.
    """
    flat = _flat(cfg.model_dump(mode="json"))
    return {k: v for k, v in flat.items() if not any(k == p or k.startswith(p + ".") for p in NOT_FITTED)}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fingerprint(source: Path | pd.DataFrame) -> str:
    """sha256 of an input file's bytes, or of an in-memory table written as CSV."""
    if isinstance(source, pd.DataFrame):
        return _sha(source.to_csv(index=False).encode("utf-8"))
    try:
        digest = hashlib.sha256()
        with Path(source).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise ScoringError(f"{source}: cannot read to fingerprint ({exc.strerror or exc})") from None
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _plain(value: Any) -> Any:
    """NaN and infinities as null: strict JSON has no literal for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    return value


@dataclass(frozen=True)
class FittedModel:
    """Every parameter ``prepare`` fitted, plus the manifest saying what it was fitted on."""

    manifest: dict[str, Any]
    ranks: dict[str, dict[str, RankReference]]  # "current"/"potential" -> column -> reference
    weights: dict[str, dict[str, float]]  # "current"/"potential" -> column -> weight
    band_cuts: dict[str, tuple[float, float]]  # "current_value"/"potential_value" -> (low|mid, mid|high)
    tiers: dict[str, float]  # loyal_min_months, newborn_max_months
    fits: dict[str, SBGFit]
    retention: dict[str, Any]  # tenure, churned, by, likelihood: how the fits read the table
    segments: SegmentModel | None = None
    segment_profile: list[dict[str, Any]] = field(default_factory=list)
    churn_model: Any = None  # the churn model's to_json() output, kept as given

    @classmethod
    def fitted(cls, cfg: Any, *, source: Path | pd.DataFrame, rows: int, **parts: Any) -> FittedModel:
        """A new model's manifest: the config it was fitted for and the table it was fitted on."""
        keys = fitted_keys(cfg)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "config_name": cfg.name,
            "config_sha256": None,  # the config file's bytes: set by the CLI, which read the file
            "fitted_keys_sha256": _sha(json.dumps(keys, sort_keys=True).encode()),
            "fitted_keys": keys,
            "input": "<in-memory table>" if isinstance(source, pd.DataFrame) else str(source),
            "input_sha256": fingerprint(source),
            "rows": int(rows),
            "versions": _versions(),
            "created_utc": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        }
        return cls(manifest=manifest, **parts)

    def with_config_file(self, path: Path) -> FittedModel:
        """This model with the sha256 of the config file it was fitted from in its manifest."""
        return replace(self, manifest={**self.manifest, "config_sha256": fingerprint(path)})

    def check_config(self, cfg: Any, *, where: str = "model") -> None:
        """Refuse ``cfg`` unless its name and fitted keys equal the ones this model was fitted for."""
        ours, theirs = self.manifest.get("fitted_keys", {}), fitted_keys(cfg)
        keys = sorted(set(ours) | set(theirs), key=lambda k: (k != "name", k))  # a different name first
        diff = [k for k in keys if k not in ours or k not in theirs or ours[k] != theirs[k]]
        if not diff:
            return

        def show(keys: dict[str, Any], k: str) -> str:
            return repr(keys[k]) if k in keys else "not set"

        shown = "; ".join(f"{k} (model: {show(ours, k)}, config: {show(theirs, k)})" for k in diff[:6])
        more = f"; and {len(diff) - 6} more" if len(diff) > 6 else ""
        raise ScoringError(
            f"{where}: fitted for config '{self.manifest.get('config_name')}', which differs from "
            f"config '{cfg.name}' in {len(diff)} fitted key(s): {shown}{more}; refit without --model, "
            "or use the config the model was fitted with"
        )

    # --- JSON ---------------------------------------------------------------------------

    def documents(self) -> dict[str, Any]:
        """The data files' contents as plain data, by file name (no manifest)."""
        docs: dict[str, Any] = {}
        if self.segments is not None:
            s = self.segments
            docs["segments.json"] = {
                "features": list(s.features),
                "mean": list(s.mean),
                "scale": list(s.scale),
                "centres": [list(c) for c in s.centres],
                "names": list(s.names),
                "profile": [{k: _plain(v) for k, v in row.items()} for row in self.segment_profile],
            }
        docs["value.json"] = {
            "indices": {
                key: {
                    "weights": dict(self.weights[key]),
                    "references": {c: {"values": list(r.values), "counts": list(r.counts)} for c, r in refs.items()},
                }
                for key, refs in self.ranks.items()
            },
            "band_cuts": {k: list(v) for k, v in self.band_cuts.items()},
            "tiers": dict(self.tiers),
        }
        docs["retention.json"] = {
            **self.retention,
            "fits": {
                g: {
                    "alpha": f.alpha,
                    "beta": f.beta,
                    "log_likelihood": f.log_likelihood,
                    "n_customers": f.n_customers,
                    "period_months": f.period_months,
                    "at_bound": f.at_bound,
                }
                for g, f in self.fits.items()
            },
        }
        if self.churn_model is not None:
            docs["churn_model.json"] = self.churn_model
        return docs

    @classmethod
    def from_documents(cls, manifest: dict[str, Any], docs: dict[str, Any]) -> FittedModel:
        seg = docs.get("segments.json")
        val, ret = docs["value.json"], docs["retention.json"]
        segments = None
        if seg is not None:
            segments = SegmentModel(
                features=tuple(seg["features"]),
                mean=tuple(map(float, seg["mean"])),
                scale=tuple(map(float, seg["scale"])),
                centres=tuple(tuple(map(float, c)) for c in seg["centres"]),
                names=tuple(seg["names"]),
            )
        return cls(
            manifest=manifest,
            ranks={
                key: {c: RankReference(tuple(map(float, r["values"])), tuple(map(int, r["counts"]))) for c, r in d["references"].items()}
                for key, d in val["indices"].items()
            },
            weights={key: {c: float(w) for c, w in d["weights"].items()} for key, d in val["indices"].items()},
            band_cuts={k: (float(v[0]), float(v[1])) for k, v in val["band_cuts"].items()},
            tiers={k: float(v) for k, v in val["tiers"].items()},
            fits={g: SBGFit(**f) for g, f in ret["fits"].items()},
            retention={k: v for k, v in ret.items() if k != "fits"},
            segments=segments,
            segment_profile=list(seg["profile"]) if seg is not None else [],
            churn_model=docs.get("churn_model.json"),
        )


def _dump(doc: Any) -> str:
    return json.dumps(doc, indent=1, allow_nan=False) + "\n"


def model_files(model: FittedModel) -> tuple[list[tuple[str, str]], Any]:
    """``([(file name, text)], manifest(files) -> text)`` for :func:`optimizer.atomic.write_folder`.

    The manifest is the model's own plus the files' sha256 and size, so an applied model
    saved again beside its outputs is byte for byte the folder it was loaded from.
    """
    files = [(name, _dump(doc)) for name, doc in model.documents().items()]

    def manifest(files_manifest: dict[str, Any]) -> str:
        return _dump({**{k: v for k, v in model.manifest.items() if k != "files"}, "files": files_manifest})

    return files, manifest


def load_model(folder: str | Path) -> FittedModel:
    """Read a model folder, checking its format and every file's sha256 against the manifest."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        hint = f"did you mean {folder / 'model'}?" if (folder / "model" / MANIFEST).is_file() else "give the model/ folder a fitted prepare wrote"
        raise ScoringError(f"{folder}: not a model folder ({MANIFEST} missing); {hint}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScoringError(f"{path}: cannot read the model manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ScoringError(f"{path}: format(={manifest.get('format') if isinstance(manifest, dict) else None!r}) is not {FORMAT!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ScoringError(f"{path}: format_version(={manifest.get('format_version')!r}) is not {FORMAT_VERSION}; refit the model")
    docs: dict[str, Any] = {}
    for name, entry in manifest.get("files", {}).items():
        if name not in MODEL_FILES:
            raise ScoringError(f"{path}: lists unknown file {name!r} (known: {', '.join(MODEL_FILES)})")
        data = (folder / name).read_bytes() if (folder / name).is_file() else None
        if data is None or _sha(data) != entry.get("sha256"):
            state = "is missing" if data is None else "does not match its sha256 in the manifest"
            raise ScoringError(f"{folder / name}: {state}; the model folder is incomplete or was edited, refit it")
        docs[name] = json.loads(data)
    for name in ("value.json", "retention.json"):
        if name not in docs:
            raise ScoringError(f"{path}: {name} is not listed; the model folder is incomplete, refit it")
    try:
        return FittedModel.from_documents(manifest, docs)
    except (KeyError, TypeError, ValueError) as exc:
        raise ScoringError(f"{folder}: model files are malformed ({type(exc).__name__}: {exc})") from None
