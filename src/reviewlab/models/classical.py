"""Non-neural baselines for rating prediction. Hyper-parameters are chosen on validation only.

| name            | input                        | model                                         |
|-----------------|------------------------------|-----------------------------------------------|
| mean_majority   | nothing                      | training mean (RMSE/MAE), majority class       |
| user_item_bias  | user and item ids            | mu + b_user + b_item, ridge-regularised (ALS)  |
| tfidf_ridge     | word + char TF-IDF           | ridge regression                               |
| tfidf_logreg    | word + char TF-IDF           | multinomial logistic regression                |
| lightgbm        | word TF-IDF + dense features | gradient-boosted trees (regression)            |
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression, Ridge

from reviewlab.core.evaluation import HIGHER_IS_BETTER, evaluate_split, score
from reviewlab.core.evaluation.compare import rating_families, verdicts
from reviewlab.core.evaluation.inference import failure
from reviewlab.core.evaluation.ordinal import decode, fit_cutpoints
from reviewlab.core.params import BaselineParams, EvaluationParams, LightgbmParams
from reviewlab.data.features import FeatureSet
from reviewlab.models.predictions import prediction_frame

#: LightGBM threads (fixed: the fitted trees, and so the metrics, depend on it).
LIGHTGBM_THREADS = 2


@dataclass
class SelectedModel:
    """Predictions of one model on validation and test, with what was selected."""

    name: str
    valid: np.ndarray
    test: np.ndarray
    valid_classes: np.ndarray | None = None
    test_classes: np.ndarray | None = None
    selected: dict[str, Any] = field(default_factory=dict)
    search: list[dict[str, Any]] = field(default_factory=list)

    def on(self, split: str) -> tuple[np.ndarray, np.ndarray | None]:
        """(estimates, classes) on ``split`` (``valid`` or ``test``)."""
        if split == "valid":
            return self.valid, self.valid_classes
        return self.test, self.test_classes


def _select(
    name: str,
    grid: Iterable[dict[str, Any]],
    fit: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]],
    y_valid: np.ndarray,
    metric: str,
    parallel: bool = False,
) -> SelectedModel:
    """Fit every grid point; keep the one best on the validation ``metric``. ``parallel``:
    fit the points in separate processes, one per core (single-threaded sparse solvers)."""
    best, search = None, []
    sign = 1 if HIGHER_IS_BETTER[metric] else -1
    points = list(grid)
    if parallel and len(points) > 1:
        jobs = min(len(points), os.cpu_count() or 1)
        fits = Parallel(n_jobs=jobs)(delayed(fit)(**point) for point in points)
    else:
        fits = [fit(**point) for point in points]
    for point, (valid, test, valid_cls, test_cls) in zip(points, fits, strict=True):
        value = score(valid, y_valid, valid_cls)[metric]
        search.append({**point, f"valid_{metric}": round(value, 6)})
        if best is None or sign * value > sign * best[0]:
            best = (value, SelectedModel(name, valid, test, valid_cls, test_cls, dict(point)))
    best[1].search = search
    return best[1]


def mean_majority(fs: FeatureSet) -> SelectedModel:
    """The training mean as estimate, the majority class as class."""
    y = fs.table["rating"].to_numpy()
    train, valid, test = (fs.rows(s) for s in ("train", "valid", "test"))
    mean, majority = y[train].mean(), np.bincount(y[train]).argmax()
    selected = {"train_mean": round(float(mean), 6), "majority_class": int(majority)}
    n_valid, n_test = len(valid), len(test)
    constants = [np.full(n_valid, mean), np.full(n_test, mean)]
    classes = [np.full(n_valid, majority).astype(int), np.full(n_test, majority).astype(int)]
    return SelectedModel("mean_majority", *constants, *classes, selected)


def fit_biases(
    users: np.ndarray, items: np.ndarray, ratings: np.ndarray, reg: float, n_iter: int = 15
) -> tuple[float, pd.Series, pd.Series]:
    """Alternating ridge estimates of ``r = mu + b_u + b_i`` (Koren 2008's baseline predictor);
    all-missing ``users`` (no reviewer ids) leave ``b_u`` empty."""
    frame = pd.DataFrame({"u": users, "i": items, "r": ratings.astype("float64")})
    mu = frame["r"].mean()
    b_u = pd.Series(0.0, index=pd.Index(frame["u"].dropna().unique()))
    b_i = pd.Series(0.0, index=pd.Index(frame["i"].dropna().unique()))
    for _ in range(n_iter):
        resid = frame["r"] - mu - frame["u"].map(b_u).fillna(0.0)
        b_i = resid.groupby(frame["i"]).sum() / (frame.groupby("i").size() + reg)
        resid = frame["r"] - mu - frame["i"].map(b_i).fillna(0.0)
        b_u = resid.groupby(frame["u"]).sum() / (frame.groupby("u").size() + reg)
    return mu, b_u, b_i


def user_item_bias(fs: FeatureSet, regs: list[float], metric: str) -> SelectedModel:
    """``mu + b_user + b_item`` with the ridge penalty of ``regs`` best on validation."""
    t = fs.table
    y = t["rating"].to_numpy()
    train, valid, test = (fs.rows(s) for s in ("train", "valid", "test"))

    def fit(reg: float):
        mu, b_u, b_i = fit_biases(
            t["user_id"].to_numpy()[train], t["item_id"].to_numpy()[train], y[train], reg
        )

        def predict(rows: np.ndarray) -> np.ndarray:
            part = t.iloc[rows]
            pred = mu + part["user_id"].map(b_u).fillna(0.0) + part["item_id"].map(b_i).fillna(0.0)
            return pred.to_numpy(dtype="float64")

        return predict(valid), predict(test), None, None

    return _select("user_item_bias", ({"reg": r} for r in regs), fit, y[valid], metric)


def tfidf_matrix(fs: FeatureSet) -> sp.csr_matrix:
    """Word and character TF-IDF side by side: the input of the TF-IDF models."""
    return sp.hstack([fs.tfidf["word"], fs.tfidf["char"]], format="csr")


def logistic_regression(c: float, seed: int, max_iter: int = 300) -> LogisticRegression:
    """The TF-IDF logistic regression shared by the rating baselines and the tasks."""
    return LogisticRegression(C=c, max_iter=max_iter, random_state=seed)


def fit_logregs(x, y, cs: list[float], seed: int, max_iter: int = 300) -> list[LogisticRegression]:
    """One fitted :func:`logistic_regression` per ``C`` of ``cs``, in parallel processes (the
    sparse solver uses one core)."""
    return Parallel(n_jobs=min(len(cs), os.cpu_count() or 1))(
        delayed(logistic_regression(c, seed, max_iter).fit)(x, y) for c in cs
    )


def tfidf_ridge(fs: FeatureSet, alphas: list[float], metric: str, seed: int) -> SelectedModel:
    """Ridge regression on TF-IDF with the ``alphas`` value best on validation."""
    x, y = tfidf_matrix(fs), fs.table["rating"].to_numpy()
    train, valid, test = (fs.rows(s) for s in ("train", "valid", "test"))

    def fit(alpha: float):
        model = Ridge(alpha=alpha, solver="sparse_cg", random_state=seed).fit(x[train], y[train])
        return model.predict(x[valid]), model.predict(x[test]), None, None

    grid = ({"alpha": a} for a in alphas)
    return _select("tfidf_ridge", grid, fit, y[valid], metric, parallel=True)


def tfidf_logreg(fs: FeatureSet, cs: list[float], metric: str, seed: int) -> SelectedModel:
    """Logistic regression on TF-IDF (expected class as estimate), ``C`` best on validation."""
    x, y = tfidf_matrix(fs), fs.table["rating"].to_numpy()
    train, valid, test = (fs.rows(s) for s in ("train", "valid", "test"))

    def fit(C: float):
        model = logistic_regression(C, seed).fit(x[train], y[train])

        def predict(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            proba = model.predict_proba(x[rows])
            return proba @ model.classes_, model.classes_[proba.argmax(axis=1)]

        (pv, cv), (pt, ct) = predict(valid), predict(test)
        return pv, pt, cv, ct

    return _select("tfidf_logreg", ({"C": c} for c in cs), fit, y[valid], metric, parallel=True)


def lightgbm(fs: FeatureSet, cfg: LightgbmParams, seed: int) -> SelectedModel:
    """LightGBM regression on word TF-IDF + dense features; early stopping on validation."""
    dense = sp.csr_matrix(fs.table[fs.dense_columns].to_numpy(dtype=np.float32))
    x = sp.hstack([dense, fs.tfidf["word"]], format="csr")
    y = fs.table["rating"].to_numpy(dtype="float64")
    train, valid, test = (fs.rows(s) for s in ("train", "valid", "test"))
    model = lgb.LGBMRegressor(
        n_estimators=cfg.n_estimators,
        learning_rate=cfg.learning_rate,
        num_leaves=cfg.num_leaves,
        min_child_samples=cfg.min_child_samples,
        colsample_bytree=cfg.colsample_bytree,
        subsample=0.8,
        subsample_freq=1,
        reg_lambda=1.0,
        random_state=seed,
        n_jobs=LIGHTGBM_THREADS,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )
    model.fit(
        x[train],
        y[train],
        eval_X=(x[valid],),
        eval_y=(y[valid],),
        eval_metric="l2",
        callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)],
    )
    selected = {"best_iteration": int(model.best_iteration_)}
    return SelectedModel(
        "lightgbm", model.predict(x[valid]), model.predict(x[test]), selected=selected
    )


def run_all(fs: FeatureSet, cfg: BaselineParams, seed: int) -> list[SelectedModel]:
    """Fit every baseline named in ``cfg.models`` (the ``baselines`` params block)."""
    metric = cfg.selection_metric
    builders = {
        "mean_majority": lambda: mean_majority(fs),
        "user_item_bias": lambda: user_item_bias(fs, cfg.bias_reg, metric),
        "tfidf_ridge": lambda: tfidf_ridge(fs, cfg.ridge_alpha, metric, seed),
        "tfidf_logreg": lambda: tfidf_logreg(fs, cfg.logreg_C, metric, seed),
        "lightgbm": lambda: lightgbm(fs, cfg.lightgbm, seed),
    }
    unknown = set(cfg.models) - set(builders)
    if unknown:
        raise ValueError(f"baselines.models: unknown {sorted(unknown)} (allowed: {list(builders)})")
    return [builders[name]() for name in cfg.models]


@dataclass
class BaselineRun:
    """Every baseline fitted and scored: what the ``baselines`` stage writes and shows."""

    payload: dict[str, Any]  # metrics/<dataset>/baselines.json
    table: pd.DataFrame  # one row per model: valid_* and test_* metrics
    predictions: pd.DataFrame  # validation and test predictions of every model
    search: pd.DataFrame  # every validation grid point with its score

    @property
    def best(self) -> str:
        return self.payload["best_on_valid"]


def decode_regressor(fitted: SelectedModel, y_valid: np.ndarray) -> SelectedModel:
    """A regressor's classes from cut-points fitted on its validation predictions
    (:mod:`reviewlab.core.evaluation.ordinal`); a model with classes of its own is kept."""
    if fitted.valid_classes is not None:
        return fitted
    cuts = fitted.selected["cutpoints"] = fit_cutpoints(fitted.valid, y_valid)
    fitted.valid_classes, fitted.test_classes = (
        decode(fitted.valid, cuts),
        decode(fitted.test, cuts),
    )
    return fitted


def fit_and_score(
    fs: FeatureSet, cfg: BaselineParams, seed: int, evaluation: EvaluationParams
) -> BaselineRun:
    """Fit every baseline; score validation, and test with bootstrap CIs; pick the best on the
    validation ``selection_metric``; compare every model with the trivial one and the selected
    one with every other, paired on the test rows."""
    y, metric = fs.table["rating"].to_numpy(), cfg.selection_metric
    splits = {"valid": fs.rows("valid"), "test": fs.rows("test")}
    models, preds, search = {}, [], []
    for fitted in run_all(fs, cfg, seed):
        search += [{"model": fitted.name, **point} for point in fitted.search]
        fitted = decode_regressor(fitted, y[splits["valid"]])
        entry = models[fitted.name] = {"selected": fitted.selected}
        for split, rows in splits.items():
            pred, cls = fitted.on(split)
            ci = evaluation.ci(seed) if split == "test" else None
            entry[split] = evaluate_split(pred, y[rows], cls, ci=ci)
            preds.append(prediction_frame(fs.table.iloc[rows], fitted.name, split, pred, cls))
    table = pd.DataFrame([{"model": n, **_flat(e)} for n, e in models.items()]).set_index("model")
    best = table[f"valid_{metric}"].sort_values(ascending=not HIGHER_IS_BETTER[metric]).index[0]
    predictions = pd.concat(preds, ignore_index=True)
    comparisons = rating_families(predictions, best, evaluation.margins, evaluation.design(seed))
    trivial = verdicts(comparisons["vs_trivial"], "rmse")
    for name, entry in models.items():
        entry.update(failure(trivial.get(name)))
    payload = {"selection_metric": metric, "best_on_valid": best}
    payload |= {"models": models, "comparisons": comparisons}
    return BaselineRun(payload, table, predictions, pd.DataFrame(search))


def _flat(entry: dict[str, Any]) -> dict[str, Any]:
    return {f"{split}_{k}": v for split in ("valid", "test") for k, v in entry[split].items()}
