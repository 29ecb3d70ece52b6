"""Where each customer's churn risk comes from, and how well the churn model earns its place.

:func:`churn_risk` is the one entry ``prepare`` calls. With ``churn_model`` it splits the
snapshot (stratified by the churn flag, ``holdout_share`` held out), fits the model on the
training part (:func:`.churn_model.fit_churn_model`) and reports on the held-out part against
two baselines fitted on the same training part:

* **constant**: the training churn rate of the customer's ``retention.by`` group (overall
  when there is no group, or for a group the training part lacks): what a rate table says;
* **sBG**: what ``prepare`` computes without a model, ``p_churn_<H>m`` = 1 - S(n + H) / S(n)
  from the sBG fit of the customer's group (:mod:`.retention`), H the model's horizon.

Held-out figures: AUC, Brier score, log-loss, mean predicted against observed churn; a
reliability table (ten quantile bins of the prediction, observed share with a 95% Wilson
interval) drawn as a PNG; and the top signals by permutation importance (the drop in held-out
AUC when one feature's values are shuffled among the held-out customers, five shuffles), with
the largest standardised coefficient when the model is logistic. The model that scores the
base is the one reported on (fitted on the training part), so the figures describe it.

With ``churn_score`` the mapped column is the probability (validated), and there is no report.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from .campaign import split_history
from .churn_model import ChurnModel, ChurnModelCfg, encode, fit_churn_model, target_flags
from .errors import MappingError, ScoringError
from .retention import churn_within, fit_exit_hazards

__all__ = [
    "ChurnReport",
    "ChurnRisk",
    "ChurnScoreCfg",
    "calibration_png",
    "churn_risk",
    "evaluate_churn_model",
    "reliability",
    "score_probability",
]

_PERMUTATION_REPEATS = 5
_BINS = 10


class ChurnScoreCfg(BaseModel):
    """The ``churn_score`` section: a mapped column already holding a churn probability."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str
    horizon_months: int = Field(12, ge=1, description="the window the probability is about")


def score_probability(customers: pd.DataFrame, cfg: ChurnScoreCfg) -> np.ndarray:
    """The ``churn_score`` column as probabilities; every value must be a number in [0, 1]."""
    if cfg.column not in customers.columns:
        raise MappingError(
            f"churn_score.column: '{cfg.column}' not in mapped customers (columns: {', '.join(map(str, customers.columns))})"
        )
    raw = customers[cfg.column]
    p = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(p) & (p >= 0) & (p <= 1))
    if bad.any():
        rows = np.flatnonzero(bad)
        cells = raw.iloc[rows[:5]].tolist()  # plain Python values: 1.5, not np.float64(1.5)
        shown = ", ".join(f"{r + 1} ({v!r})" for r, v in zip(rows[:5], cells))
        raise MappingError(
            f"churn_score.column: '{cfg.column}' must be a churn probability in [0, 1]; {rows.size:,} data row(s) "
            f"are not (first: {shown})"
        )
    return p


@dataclass(frozen=True)
class ChurnReport:
    """The held-out evaluation of a fitted churn model (see the module docstring)."""

    chosen: str
    cv: pd.DataFrame  # model, folds, cv_log_loss (the selection metric), cv_log_loss_sd, cv_brier, cv_auc, chosen
    holdout: pd.DataFrame  # predictor, n, churners, observed_rate, mean_predicted, auc, brier, log_loss
    reliability: pd.DataFrame  # predictor, bin, n, mean_predicted, observed, ci_low, ci_high
    signals: pd.DataFrame  # feature, kind, auc_drop, auc_drop_sd, corr_with_p (, coefficient, coefficient_column)
    calibration_png: bytes
    notes: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """Plain data for summary.json (NaN as null)."""

        def plain(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
                    for r in df.to_dict("records")]

        return {"chosen": self.chosen, "selection": "stratified K-fold out-of-fold log-loss (lowest wins)",
                "cv": plain(self.cv), "holdout": plain(self.holdout), "top_signals": plain(self.signals.head(5)),
                "notes": list(self.notes)}


@dataclass(frozen=True, eq=False)
class ChurnRisk:
    """Each customer's churn probability over ``horizon_months``, and where it came from."""

    p: np.ndarray
    horizon_months: int
    source: str
    model: ChurnModel | None = None
    report: ChurnReport | None = None


def churn_risk(
    customers: pd.DataFrame,
    *,
    model_cfg: ChurnModelCfg | None,
    score_cfg: ChurnScoreCfg | None,
    saved: dict[str, Any] | None = None,
    tenure: str,
    churned: str,
    by: str | None,
    likelihood: str = "cohort",
) -> ChurnRisk | None:
    """The churn risk that replaces the sBG hazard, or None when the config asks for neither.

    ``saved`` is a saved model's :meth:`ChurnModel.to_json`: applied unchanged, not refitted.
    """
    if model_cfg is not None and score_cfg is not None:
        raise MappingError("churn_model and churn_score: give one (a model to fit, or a column that already holds the probability)")
    if score_cfg is not None:
        return ChurnRisk(score_probability(customers, score_cfg), score_cfg.horizon_months, f"column '{score_cfg.column}'")
    if model_cfg is None:
        return None
    if saved is not None:
        model = ChurnModel.from_json(saved)
        return ChurnRisk(model.predict_proba(customers), model.horizon_months, f"saved {model.kind} churn model", model)
    model, report = evaluate_churn_model(customers, model_cfg, tenure=tenure, churned=churned, by=by, likelihood=likelihood)
    return ChurnRisk(model.predict_proba(customers), model.horizon_months, f"{model.kind} churn model", model, report)


# --- evaluation ----------------------------------------------------------------------------


def evaluate_churn_model(
    customers: pd.DataFrame, cfg: ChurnModelCfg, *, tenure: str, churned: str, by: str | None, likelihood: str = "cohort"
) -> tuple[ChurnModel, ChurnReport]:
    """Split, fit on the training part, and report on the held-out part (module docstring)."""
    cust = customers.reset_index(drop=True)
    y_all = target_flags(cust, cfg.target)
    split_ss, perm_ss = np.random.SeedSequence(cfg.seed).spawn(2)
    test = split_history(pd.Series(y_all), cfg.holdout_share, np.random.default_rng(split_ss))
    train, held = cust.loc[~test].reset_index(drop=True), cust.loc[test].reset_index(drop=True)
    y = y_all[test]
    model, cv = fit_churn_model(train, cfg)
    p_model = model.predict_proba(held)
    notes: list[str] = []
    preds = {f"{model.kind} (calibrated)": p_model}
    preds["constant" + (f" per {by}" if by else "")] = _constant(y_all[~test], train, held, by, notes)
    sbg = _sbg(train, held, tenure=tenure, churned=churned, by=by, likelihood=likelihood, horizon=cfg.horizon_months, notes=notes)
    if sbg is not None:
        preds[f"sBG p_churn_{cfg.horizon_months}m"] = sbg
    holdout = pd.DataFrame([_metrics(name, y, p) for name, p in preds.items()])
    rel = pd.concat([reliability(y, p).assign(predictor=name) for name, p in preds.items()], ignore_index=True)
    rel = rel[["predictor", *[c for c in rel.columns if c != "predictor"]]]
    signals = _signals(model, held, y, np.random.default_rng(perm_ss))
    png = calibration_png(rel, p_model, horizon=cfg.horizon_months, n_held=int(y.size), metrics=holdout)
    return model, ChurnReport(model.kind, cv, holdout, rel, signals, png, tuple(notes))


def _constant(y_train: np.ndarray, train: pd.DataFrame, held: pd.DataFrame, by: str | None, notes: list[str]) -> np.ndarray:
    overall = float(y_train.mean())
    if by is None:
        return np.full(len(held), overall)
    rate = pd.Series(y_train).groupby(train[by].astype(str).to_numpy()).mean()
    groups = held[by].astype(str)
    missing = sorted(set(groups) - set(rate.index))
    if missing:
        notes.append(f"constant baseline: group(s) {', '.join(missing)} of '{by}' not in the training part; overall rate used")
    return groups.map(rate).fillna(overall).to_numpy(float)


def _sbg(
    train: pd.DataFrame, held: pd.DataFrame, *, tenure: str, churned: str, by: str | None, likelihood: str, horizon: int,
    notes: list[str],
) -> np.ndarray | None:
    try:
        fits = fit_exit_hazards(train, tenure=tenure, churned=churned, by=by, likelihood=likelihood).fits
    except ScoringError as exc:
        notes.append(f"sBG baseline not available: {exc}")
        return None
    groups = held[by].astype(str).to_numpy() if by else np.full(len(held), "all", dtype=object)
    missing = sorted(set(groups) - set(fits))
    if missing:
        notes.append(f"sBG baseline not available: group(s) {', '.join(missing)} of '{by}' have no fit on the training part")
        return None
    t = pd.to_numeric(held[tenure], errors="coerce").to_numpy(float)
    p = np.full(len(held), np.nan)
    for g, fit in fits.items():
        idx = groups == g
        p[idx] = churn_within(fit, t[idx], horizon)
    return p


def _metrics(name: str, y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    both = 0 < y.sum() < y.size
    return {"predictor": name, "n": int(y.size), "churners": int(y.sum()), "observed_rate": float(y.mean()),
            "mean_predicted": float(p.mean()), "auc": float(roc_auc_score(y, p)) if both else float("nan"),
            "brier": float(brier_score_loss(y, p)), "log_loss": float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[False, True]))}


def reliability(y: np.ndarray, p: np.ndarray, bins: int = _BINS) -> pd.DataFrame:
    """Observed churn share per quantile bin of ``p``, with a 95% Wilson interval.

    A predictor with at most ``bins`` distinct values (a rate per group) gets one bin per
    value: quantile edges would merge a small group into its neighbour.
    """
    distinct = np.unique(p)
    if distinct.size <= bins:
        which = np.searchsorted(distinct, p)
    else:
        edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
        which = np.searchsorted(edges[1:-1], p, side="right")
    rows = []
    z = 1.959963984540054
    for b in np.unique(which):
        idx = which == b
        n, k = int(idx.sum()), int(y[idx].sum())
        share = k / n
        centre = (share + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        rows.append({"bin": int(b) + 1, "n": n, "mean_predicted": float(p[idx].mean()), "observed": share,
                     # the Wilson interval holds the share; min/max only absorb rounding at 0 and 1
                     "ci_low": float(min(max(centre - half, 0.0), share)), "ci_high": float(max(min(centre + half, 1.0), share))})
    return pd.DataFrame(rows)


def _signals(model: ChurnModel, held: pd.DataFrame, y: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    from sklearn.metrics import roc_auc_score

    p = model.predict_proba(held)
    base = roc_auc_score(y, p)
    rows = []
    for f in model.features:
        drops = []
        for _ in range(_PERMUTATION_REPEATS):
            shuffled = held.assign(**{f.name: held[f.name].to_numpy()[rng.permutation(len(held))]})
            drops.append(base - roc_auc_score(y, model.predict_proba(shuffled)))
        row: dict[str, Any] = {"feature": f.name, "kind": f.kind, "auc_drop": float(np.mean(drops)),
                               "auc_drop_sd": float(np.std(drops, ddof=1))}
        x = encode(held, [f])
        row["corr_with_p"] = float(np.corrcoef(x[:, 0], p)[0, 1]) if f.kind != "category" and x[:, 0].std() > 0 else float("nan")
        rows.append(row)
    out = pd.DataFrame(rows)
    if model.kind == "logistic" and model.coef is not None:
        labels = model.encoded_labels()
        start = np.cumsum([0] + [len(f.labels()) for f in model.features])
        best = [start[i] + int(np.argmax(np.abs(model.coef[start[i]:start[i + 1]]))) for i in range(len(model.features))]
        out["coefficient"] = [float(model.coef[j]) for j in best]  # per training standard deviation (numeric, flag)
        out["coefficient_column"] = [labels[j] for j in best]
    return out.sort_values("auc_drop", ascending=False, kind="stable").reset_index(drop=True)


# --- the reliability plot --------------------------------------------------------------------

_COLOURS = ("#08306b", "#d95f02", "#1b7837", "#6a3d9a")  # dark, distinct, readable on white
_MARKERS = ("o", "s", "^", "D")


def calibration_png(rel: pd.DataFrame, p_model: np.ndarray, *, horizon: int, n_held: int, metrics: pd.DataFrame) -> bytes:
    """Reliability diagram (observed against predicted churn, in %) over a histogram of the model's predictions."""
    # a Figure of its own, not pyplot: no global backend or figure state is touched
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 7.5))
    ax, hist = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 100], [0, 100], ls="--", color="#555555", lw=1.2, label="perfect calibration")
    for i, (name, part) in enumerate(rel.groupby("predictor", sort=False)):
        m = metrics.set_index("predictor").loc[name]
        x, yv = 100 * part["mean_predicted"], 100 * part["observed"]
        err = [yv - 100 * part["ci_low"], 100 * part["ci_high"] - yv]
        ax.errorbar(x, yv, yerr=err, color=_COLOURS[i % 4], marker=_MARKERS[i % 4], ms=6, lw=1.6 if i == 0 else 1.0,
                    capsize=3, label=f"{name}: AUC {m['auc']:.3f}, Brier {m['brier']:.4f}".replace("$", r"\$"))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_ylabel("observed churn share in the bin (%)", fontsize=11)
    ax.set_title(f"Churn model calibration on the held-out part ({n_held:,} customers)\n"
                 "points: ten quantile bins of each prediction, bars: 95% Wilson interval", fontsize=11)
    ax.grid(True, color="#dddddd", lw=0.8)
    ax.legend(loc="upper left", fontsize=9, frameon=True, framealpha=0.95)
    hist.hist(100 * np.asarray(p_model), bins=np.linspace(0, 100, 41), color=_COLOURS[0], edgecolor="white")
    hist.set_xlabel(f"predicted probability of churn within {horizon} months (%)", fontsize=11)
    hist.set_ylabel("customers", fontsize=11)
    hist.grid(True, axis="y", color="#dddddd", lw=0.8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return buf.getvalue()
