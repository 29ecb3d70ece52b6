"""Churn early-warning model: a calibrated classifier of the churn flag from behaviour columns.

Why: the sBG fit (:mod:`.retention`) gives every customer of a group (a contract type) one
churn hazard that only moves with tenure, while the strongest warnings are behaviour: in the
BigML table customers with 4+ customer-service calls churned at 52.9% against 11.3%. This
model ranks customers *within* a group and, being calibrated, its probability can replace the
sBG hazard in the option value (:func:`optimizer.value_model.option_value`).

Fit (:func:`fit_churn_model`, on the training part only):

1. **Encode.** Numeric and flag columns are standardised with the training mean and standard
   deviation; category columns are one-hot over the training categories (a category the
   training part never saw is an error at scoring, not a silent zero row).
2. **Choose.** Each candidate (``logistic``: L2 LogisticRegression; ``gradient_boosting``:
   HistGradientBoostingClassifier) is scored by stratified K-fold cross-validation on the
   training part, metric **out-of-fold log-loss** (the mean over folds); the lowest wins, ties
   to the first listed. Log-loss rather than AUC because the probability itself is used.
3. **Calibrate.** The winner is refitted on the whole training part and Platt-scaled on its
   out-of-fold scores over the same folds (``CalibratedClassifierCV(method="sigmoid",
   ensemble=False)``): ``p = 1 / (1 + exp(a f + b))`` with ``f`` the decision function.
4. **Freeze.** The fitted estimator and the calibration map are copied into plain arrays
   (:class:`ChurnModel`), evaluated here with numpy: logistic ``f = x . w + c``; boosting
   ``f = baseline + sum of the leaf each tree sends x to``. :meth:`ChurnModel.to_json` is
   therefore pure data (no pickle, nothing to trust), and :meth:`ChurnModel.from_json`
   predicts bit for bit what the fitted model predicted.

Everything is seeded from the config's ``seed`` and sklearn runs single-threaded, so the same
table gives the same figures twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from scipy.special import expit

from ..value_model import monthly_hazard
from .errors import MappingError, ScoringError
from .retention import churn_flag

__all__ = [
    "MODEL_KINDS",
    "ChurnModel",
    "ChurnModelCfg",
    "Feature",
    "cross_validate",
    "encode",
    "fit_churn_model",
    "learn_features",
    "target_flags",
]

MODEL_KINDS = ("logistic", "gradient_boosting")
FORMAT = "campaignlab-churn-model"
FORMAT_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChurnModelCfg(_Strict):
    """The ``churn_model`` section of a prepare config."""

    features: list[str] = Field(min_length=1)
    target: str = "churned"
    horizon_months: int = Field(12, ge=1, description="the snapshot's churn window: what the probability is about")
    models: list[Literal["logistic", "gradient_boosting"]] = Field(default_factory=lambda: list(MODEL_KINDS), min_length=1)
    folds: int = Field(5, ge=2, le=20)
    seed: int = Field(0, ge=0)
    holdout_share: float = Field(0.25, gt=0, lt=1)

    @field_validator("features", "models")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        dup = sorted({x for x in v if v.count(x) > 1})
        if dup:
            raise ValueError(f"'{dup[0]}' is listed twice")
        return v

    @model_validator(mode="after")
    def _target_not_a_feature(self) -> ChurnModelCfg:
        if self.target in self.features:
            raise ValueError(f"the target '{self.target}' cannot also be a feature (it would predict itself)")
        return self


# --- features ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Feature:
    """One input column and how it is encoded: ``numeric`` and ``flag`` standardised, ``category`` one-hot."""

    name: str
    kind: Literal["numeric", "flag", "category"]
    mean: float = 0.0
    scale: float = 1.0
    categories: tuple[str, ...] = ()

    def labels(self) -> list[str]:
        """Names of the encoded columns (``state=KS`` for a one-hot column)."""
        return [f"{self.name}={c}" for c in self.categories] if self.kind == "category" else [self.name]


def _need(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        raise MappingError(f"churn_model: column '{name}' not in mapped customers (columns: {', '.join(map(str, df.columns))})")
    return df[name]


def _raw(df: pd.DataFrame, f: Feature) -> np.ndarray:
    col = _need(df, f.name)
    if f.kind == "flag":
        return churn_flag(col, f.name).astype(float)
    if f.kind == "category":
        return col.astype(str).str.strip().to_numpy()
    x = pd.to_numeric(col, errors="coerce").to_numpy(float)
    bad = ~np.isfinite(x)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise MappingError(f"churn_model: feature '{f.name}' is not a finite number in data row {row + 1} (got {col.iloc[row]!r})")
    return x


def learn_features(df: pd.DataFrame, names: Sequence[str]) -> tuple[Feature, ...]:
    """Each feature's kind from its mapped column (bool: flag, number: numeric, text: category) and its scaling."""
    out = []
    for name in names:
        col = _need(df, name)
        kind = "flag" if pd.api.types.is_bool_dtype(col) else "numeric" if pd.api.types.is_numeric_dtype(col) else "category"
        f = Feature(name, kind)
        x = _raw(df, f)
        if kind == "category":
            out.append(Feature(name, kind, categories=tuple(sorted(set(x.tolist())))))
        else:
            sd = float(x.std())
            out.append(Feature(name, kind, mean=float(x.mean()), scale=sd if sd > 0 else 1.0))
    return tuple(out)


def encode(df: pd.DataFrame, features: Sequence[Feature]) -> np.ndarray:
    """The model matrix (float64, one column per :meth:`Feature.labels` entry)."""
    cols = []
    for f in features:
        x = _raw(df, f)
        if f.kind != "category":
            cols.append(((x - f.mean) / f.scale)[:, None])
            continue
        unseen = ~np.isin(x, f.categories)
        if unseen.any():
            row = int(np.flatnonzero(unseen)[0])
            raise MappingError(
                f"churn_model: feature '{f.name}' has category {x[row]!r} in data row {row + 1} that the model was not "
                f"fitted with (known: {', '.join(f.categories)}); refit the model"
            )
        cols.append((x[:, None] == np.asarray(f.categories, dtype=object)[None, :]).astype(float))
    return np.hstack(cols) if cols else np.empty((len(df), 0))


def target_flags(df: pd.DataFrame, target: str) -> np.ndarray:
    """The churn flag as booleans (bool, 0/1 or yes/no text), naming the column on a bad value."""
    try:
        return churn_flag(_need(df, target), target)
    except ScoringError as exc:
        raise MappingError(f"churn_model.target: {exc}") from None


# --- the frozen model --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Tree:
    feature: np.ndarray  # int64, per node
    threshold: np.ndarray  # float64: x <= threshold goes left
    left: np.ndarray
    right: np.ndarray
    missing_left: np.ndarray  # bool: where a NaN goes (cannot occur after encode, kept for fidelity)
    is_leaf: np.ndarray
    value: np.ndarray  # leaf values (learning rate included)

    def leaf_values(self, x: np.ndarray) -> np.ndarray:
        node = np.zeros(len(x), dtype=np.int64)
        rows = np.arange(len(x))
        while True:
            inner = ~self.is_leaf[node]
            if not inner.any():
                return self.value[node]
            r, nd = rows[inner], node[inner]
            v = x[r, self.feature[nd]]
            go_left = np.where(np.isnan(v), self.missing_left[nd], v <= self.threshold[nd])
            node[inner] = np.where(go_left, self.left[nd], self.right[nd])

    def to_json(self) -> dict[str, list[Any]]:
        return {k: getattr(self, k).tolist() for k in ("feature", "threshold", "left", "right", "missing_left", "is_leaf", "value")}

    @classmethod
    def from_json(cls, d: dict[str, list[Any]]) -> _Tree:
        ints = {k: np.asarray(d[k], dtype=np.int64) for k in ("feature", "left", "right")}
        bools = {k: np.asarray(d[k], dtype=bool) for k in ("missing_left", "is_leaf")}
        return cls(**ints, **bools, threshold=np.asarray(d["threshold"], float), value=np.asarray(d["value"], float))


@dataclass(frozen=True, eq=False)
class ChurnModel:
    """A fitted, calibrated churn classifier as plain data: P(churn within ``horizon_months``)."""

    kind: str  # "logistic" or "gradient_boosting"
    target: str
    horizon_months: int
    features: tuple[Feature, ...]
    calibration: tuple[float, float]  # Platt (a, b): p = 1 / (1 + exp(a f + b))
    coef: np.ndarray | None = None  # logistic weights on the encoded columns
    intercept: float = 0.0  # logistic intercept, or the boosting baseline
    trees: tuple[_Tree, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)  # training facts (rows, churn rate, CV, versions)

    def decision(self, df: pd.DataFrame) -> np.ndarray:
        """The uncalibrated score ``f`` (log-odds scale) per row of ``df``."""
        x = encode(df, self.features)
        if self.kind == "logistic":
            assert self.coef is not None
            return x @ self.coef + self.intercept
        f = np.zeros(len(x)) + self.intercept  # the order sklearn sums in: baseline, then tree by tree
        for tree in self.trees:
            f += tree.leaf_values(x)
        return f

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of churn within ``horizon_months``, per row of ``df``."""
        a, b = self.calibration
        return expit(-(a * self.decision(df) + b))

    def monthly_hazard(self, df: pd.DataFrame) -> np.ndarray:
        """The constant monthly exit hazard ``1 - (1 - p) ** (1 / H)`` the value model takes."""
        return monthly_hazard(self.predict_proba(df), self.horizon_months)

    def encoded_labels(self) -> list[str]:
        return [label for f in self.features for label in f.labels()]

    def to_json(self) -> dict[str, Any]:
        """Plain data (lists, numbers, strings) that :meth:`from_json` turns back into this model."""
        score: dict[str, Any] = {"intercept": float(self.intercept)}
        if self.kind == "logistic":
            assert self.coef is not None
            score["coef"] = self.coef.tolist()
        else:
            score["trees"] = [t.to_json() for t in self.trees]
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "target": self.target,
            "horizon_months": self.horizon_months,
            "features": [
                {"name": f.name, "kind": f.kind, "mean": f.mean, "scale": f.scale, "categories": list(f.categories)}
                for f in self.features
            ],
            "score": score,
            "calibration": {"method": "sigmoid", "a": self.calibration[0], "b": self.calibration[1]},
            "info": self.info,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChurnModel:
        """The model :meth:`to_json` wrote; a wrong format, version or shape is a :class:`ScoringError`."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ScoringError(f"churn model: format(={got!r}) is not {FORMAT!r}")
        if data.get("format_version") != FORMAT_VERSION:
            raise ScoringError(f"churn model: format_version(={data.get('format_version')!r}) is not {FORMAT_VERSION}; refit it")
        if data.get("kind") not in MODEL_KINDS:
            raise ScoringError(f"churn model: kind(={data.get('kind')!r}) is not one of {', '.join(MODEL_KINDS)}")
        try:
            feats = tuple(
                Feature(f["name"], f["kind"], float(f["mean"]), float(f["scale"]), tuple(f["categories"])) for f in data["features"]
            )
            score, cal = data["score"], data["calibration"]
            if cal["method"] != "sigmoid":
                raise ScoringError(f"churn model: calibration method(={cal['method']!r}) is not 'sigmoid'")
            model = cls(
                kind=data["kind"],
                target=str(data["target"]),
                horizon_months=int(data["horizon_months"]),
                features=feats,
                calibration=(float(cal["a"]), float(cal["b"])),
                coef=np.asarray(score["coef"], float) if data["kind"] == "logistic" else None,
                intercept=float(score["intercept"]),
                trees=tuple(_Tree.from_json(t) for t in score.get("trees", [])),
                info=dict(data.get("info", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ScoringError(f"churn model: malformed JSON ({type(exc).__name__}: {exc})") from None
        width = len(model.encoded_labels())
        if model.coef is not None and model.coef.shape != (width,):
            raise ScoringError(f"churn model: {model.coef.size} coefficients for {width} encoded feature columns")
        return model


# --- fitting -----------------------------------------------------------------------------


def _estimator(kind: str, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    if kind == "logistic":
        return LogisticRegression(C=1.0, max_iter=5000)
    # small, regularised trees: a few thousand rows; no early stopping so the fit uses no
    # internal random validation split
    return HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20,
        l2_regularization=1.0, early_stopping=False, random_state=seed,
    )


def _folds(y: np.ndarray, folds: int, seed: int) -> Any:
    from sklearn.model_selection import StratifiedKFold

    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if min(n_pos, n_neg) < folds:
        raise MappingError(
            f"churn_model: the training part has {n_pos} churners and {n_neg} stayers; "
            f"{folds}-fold cross-validation needs at least {folds} of each (lower 'folds' or give more rows)"
        )
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)


def cross_validate(x: np.ndarray, y: np.ndarray, models: Sequence[str], *, folds: int, seed: int) -> pd.DataFrame:
    """Out-of-fold log-loss (the selection metric), Brier score and AUC per candidate, on the same folds."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
    from threadpoolctl import threadpool_limits

    cv = _folds(y, folds, seed)
    rows = []
    with threadpool_limits(limits=1):
        for kind in models:
            losses, briers, aucs = [], [], []
            for train, test in cv.split(x, y):
                p = _estimator(kind, seed).fit(x[train], y[train]).predict_proba(x[test])[:, 1]
                losses.append(log_loss(y[test], p, labels=[False, True]))
                briers.append(brier_score_loss(y[test], p))
                aucs.append(roc_auc_score(y[test], p))
            rows.append({"model": kind, "folds": folds, "cv_log_loss": float(np.mean(losses)),
                         "cv_log_loss_sd": float(np.std(losses, ddof=1)), "cv_brier": float(np.mean(briers)),
                         "cv_auc": float(np.mean(aucs))})
    table = pd.DataFrame(rows)
    table["chosen"] = np.arange(len(table)) == int(np.argmin(table["cv_log_loss"].to_numpy()))
    return table


def fit_churn_model(train: pd.DataFrame, cfg: ChurnModelCfg, *, seed: int | None = None) -> tuple[ChurnModel, pd.DataFrame]:
    """Choose, refit and calibrate on ``train`` (see the module docstring); returns the model and the CV table.

    ``seed`` (default ``cfg.seed``) drives the folds and the boosting's tie-breaking.
    """
    import sklearn
    from sklearn.calibration import CalibratedClassifierCV
    from threadpoolctl import threadpool_limits

    rs = cfg.seed if seed is None else int(seed)
    features = learn_features(train, cfg.features)
    x = encode(train, features)
    y = target_flags(train, cfg.target)
    cv_table = cross_validate(x, y, cfg.models, folds=cfg.folds, seed=rs)
    kind = str(cv_table.loc[cv_table["chosen"], "model"].iloc[0])
    with threadpool_limits(limits=1):
        cal = CalibratedClassifierCV(_estimator(kind, rs), method="sigmoid", cv=_folds(y, cfg.folds, rs), ensemble=False)
        cal.fit(x, y)
    fitted = cal.calibrated_classifiers_[0]
    est, platt = fitted.estimator, fitted.calibrators[0]
    info = {"rows": int(len(y)), "churners": int(y.sum()), "churn_rate": float(y.mean()), "seed": rs,
            "selection": "stratified K-fold out-of-fold log-loss", "folds": cfg.folds,
            "cv_log_loss": {str(r.model): float(r.cv_log_loss) for r in cv_table.itertuples()},
            "fitted_with": {"scikit-learn": sklearn.__version__}}
    common = {"kind": kind, "target": cfg.target, "horizon_months": cfg.horizon_months, "features": features,
              "calibration": (float(platt.a_), float(platt.b_)), "info": info}
    if kind == "logistic":
        model = ChurnModel(**common, coef=est.coef_.ravel().astype(float).copy(), intercept=float(est.intercept_[0]))
    else:
        trees = []
        for (predictor,) in est._predictors:  # one tree per iteration for a binary target
            n = predictor.nodes
            leaf = n["is_leaf"].astype(bool)
            trees.append(_Tree(
                feature=np.where(leaf, 0, n["feature_idx"]).astype(np.int64),
                threshold=np.where(leaf, 0.0, n["num_threshold"]).astype(float),  # leaves: unused, kept finite for JSON
                left=n["left"].astype(np.int64), right=n["right"].astype(np.int64),
                missing_left=n["missing_go_to_left"].astype(bool), is_leaf=leaf, value=n["value"].astype(float),
            ))
        model = ChurnModel(**common, intercept=float(est._baseline_prediction.ravel()[0]), trees=tuple(trees))
    return model, cv_table
