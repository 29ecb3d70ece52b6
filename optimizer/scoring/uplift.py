"""Response and uplift estimation from campaign history with a control group.

A two-model (T-learner) estimator: for every treatment arm (an (offer, channel) pair) and for
the control group, a classifier of the binary response on pre-treatment features, calibrated
with scikit-learn's ``CalibratedClassifierCV`` so that predicted probabilities can be used as
``p_accept`` and summed into expected values. For customer x and arm a:

    p_a(x)        = P(response | x, treated with a)          (calibrated)
    p_0(x)        = P(response | x, control)
    uplift_a(x)   = p_a(x) - p_0(x)                            (may be negative: kept)
    inc_value_a(x)= p_a(x) * s_a - p_0(x) * s_0                 incremental value of contacting

where s_a is the mean value (e.g. spend) per responder in arm a on the training data.

Encoding in the optimizer's options table (the optimizer maximises x * (p_accept * value -
contact_cost - p_accept * offer_cost)): **p_accept = 1 and value = inc_value_a(x)**, so the
objective term of a contact is exactly its estimated incremental value minus its cost;
``offer_cost`` is 0 because any discount is already inside the observed spend. The raw
response ``p_response`` and ``uplift`` ride along as extra columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .errors import UpliftDataError

__all__ = ["Arm", "UpliftModel", "fit_uplift", "scored_options"]


@dataclass(frozen=True)
class Arm:
    """A treatment arm of the history: its label in the treatment column and what it was."""

    label: str
    offer_id: str
    channel_id: str


@dataclass(frozen=True)
class UpliftModel:
    arms: tuple[Arm, ...]
    control: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    categories: Mapping[str, frozenset[str]]
    models: Mapping[str, Pipeline]  # arm label (and control) -> calibrated pipeline
    value_per_response: Mapping[str, float]  # s_a
    n_train: Mapping[str, int] = field(default_factory=dict)

    def _features(self, df: pd.DataFrame) -> pd.DataFrame:
        return _check_features(df, self.numeric, self.categorical, self.categories)

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """Long table: one row per (row of ``df``, arm) with p_response, p_control, uplift,
        inc_value. ``row`` is the positional index into ``df``."""
        x = self._features(df)
        p0 = self.models[self.control].predict_proba(x)[:, 1]
        s0 = self.value_per_response[self.control]
        parts = []
        for arm in self.arms:
            pa = self.models[arm.label].predict_proba(x)[:, 1]
            parts.append(
                pd.DataFrame(
                    {
                        "row": np.arange(len(df)),
                        "arm": arm.label,
                        "offer_id": arm.offer_id,
                        "channel_id": arm.channel_id,
                        "p_response": pa,
                        "p_control": p0,
                        "uplift": pa - p0,
                        "inc_value": pa * self.value_per_response[arm.label] - p0 * s0,
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)


def _check_features(
    df: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    categories: Mapping[str, frozenset[str]] | None,
) -> pd.DataFrame:
    out = {}
    for col in numeric:
        if col not in df.columns:
            raise UpliftDataError(f"feature column '{col}' not in table")
        v = pd.to_numeric(df[col], errors="coerce")
        bad = v.isna() | ~np.isfinite(v.to_numpy(float, na_value=np.nan))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise UpliftDataError(
                f"feature column '{col}' has non-numeric value '{df[col].iloc[i]}' in data row {i + 1}"
            )
        out[col] = v.to_numpy(float)
    for col in categorical:
        if col not in df.columns:
            raise UpliftDataError(f"feature column '{col}' not in table")
        v = df[col].astype(str)
        if categories is not None:
            unseen = ~v.isin(categories[col])
            if unseen.any():
                raise UpliftDataError(
                    f"feature column '{col}' has category '{v[unseen].iloc[0]}' unseen in training "
                    f"(known: {', '.join(sorted(categories[col]))})"
                )
        out[col] = v.to_numpy()
    return pd.DataFrame(out, index=df.index)


def _pipeline(numeric: Sequence[str], categorical: Sequence[str], model: str, seed: int) -> Pipeline:
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), list(numeric)),
            ("cat", OneHotEncoder(handle_unknown="error", sparse_output=False), list(categorical)),
        ]
    )
    if model == "logistic":
        clf = LogisticRegression(C=1.0, max_iter=2000)
    elif model == "hgb":
        clf = HistGradientBoostingClassifier(
            max_iter=150,
            learning_rate=0.05,
            max_leaf_nodes=15,
            min_samples_leaf=100,
            l2_regularization=1.0,
            random_state=seed,
        )
    else:
        raise UpliftDataError(f"uplift model '{model}' is not 'logistic' or 'hgb'")
    # sigmoid (Platt) calibration: isotonic needs far more responders than a 1% response gives
    return make_pipeline(pre, CalibratedClassifierCV(clf, method="sigmoid", cv=3))


def fit_uplift(
    history: pd.DataFrame,
    *,
    treatment: str,
    control: str,
    arms: Sequence[Arm],
    response: str,
    value: str | None,
    numeric: Sequence[str],
    categorical: Sequence[str] = (),
    model: str = "logistic",
    seed: int = 0,
) -> UpliftModel:
    """Fit one calibrated classifier per arm and one for the control group (T-learner)."""
    for col in (treatment, response) + ((value,) if value else ()):
        if col not in history.columns:
            raise UpliftDataError(f"column '{col}' not in campaign history")
    labels = history[treatment].astype(str)
    if not (labels == control).any():
        raise UpliftDataError(
            f"no control group: column '{treatment}' has no rows equal to '{control}' "
            f"(values: {', '.join(sorted(labels.unique())[:10])}); uplift needs one"
        )
    y_raw = pd.to_numeric(history[response], errors="coerce")
    if y_raw.isna().any() or not y_raw.isin([0, 1]).all():
        raise UpliftDataError(f"response column '{response}' must hold only 0 and 1")
    y = y_raw.to_numpy(int)
    val = None
    if value:
        v = pd.to_numeric(history[value], errors="coerce")
        if v.isna().any():
            i = int(np.flatnonzero(v.isna().to_numpy())[0])
            raise UpliftDataError(
                f"value column '{value}' has non-numeric value '{history[value].iloc[i]}' in data row {i + 1}"
            )
        val = v.to_numpy(float)
    x = _check_features(history, numeric, categorical, None)
    cats = {c: frozenset(x[c].unique()) for c in categorical}
    models: dict[str, Pipeline] = {}
    per_resp: dict[str, float] = {}
    n_train: dict[str, int] = {}
    for label in [control] + [a.label for a in arms]:
        m = (labels == label).to_numpy()
        if not m.any():
            raise UpliftDataError(f"arm '{label}' has no rows in column '{treatment}'")
        n_pos = int(y[m].sum())
        if n_pos < 6 or n_pos > m.sum() - 6:
            raise UpliftDataError(
                f"arm '{label}': {n_pos} responders of {int(m.sum())} rows in column "
                f"'{response}'; need at least 6 of each class to fit and calibrate"
            )
        models[label] = _pipeline(numeric, categorical, model, seed).fit(x[m], y[m])
        per_resp[label] = float(val[m][y[m] == 1].mean()) if val is not None else 1.0
        n_train[label] = int(m.sum())
    return UpliftModel(
        arms=tuple(arms),
        control=control,
        numeric=tuple(numeric),
        categorical=tuple(categorical),
        categories=cats,
        models=models,
        value_per_response=per_resp,
        n_train=n_train,
    )


def scored_options(
    pred: pd.DataFrame, customer_ids: Sequence[str] | np.ndarray, *, contact_cost: Mapping[str, float]
) -> pd.DataFrame:
    """The optimizer's options table from :meth:`UpliftModel.predict` (encoding in module doc).

    ``contact_cost`` maps channel_id to the cost of one contact. Negative ``value`` rows are
    kept: the optimizer must see that contacting those customers loses money.
    """
    ids = np.asarray(customer_ids)
    missing = sorted(set(pred["channel_id"]) - set(contact_cost))
    if missing:
        raise UpliftDataError(f"no contact_cost for channel '{missing[0]}'")
    return pd.DataFrame(
        {
            "customer_id": ids[pred["row"].to_numpy()],
            "offer_id": pred["offer_id"].to_numpy(),
            "channel_id": pred["channel_id"].to_numpy(),
            "p_accept": 1.0,
            "value": pred["inc_value"].to_numpy(),
            "contact_cost": pred["channel_id"].map(contact_cost).to_numpy(float),
            "offer_cost": 0.0,
            "p_response": pred["p_response"].to_numpy(),
            "p_control": pred["p_control"].to_numpy(),
            "uplift": pred["uplift"].to_numpy(),
        }
    )
