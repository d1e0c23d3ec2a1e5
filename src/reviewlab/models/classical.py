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
    scorer: Scorer | None = None  # the selected fit, to score other rows (predict, transfer)

    def on(self, split: str) -> tuple[np.ndarray, np.ndarray | None]:
        """(estimates, classes) on ``split`` (``valid`` or ``test``)."""
        if split == "valid":
            return self.valid, self.valid_classes
        return self.test, self.test_classes


@dataclass
class Scorer:
    """A fitted baseline: ``estimate`` gives (estimates, classes or None) for ``rows`` of any
    :class:`FeatureSet` (its own dataset's, new reviews' or another store's); a regressor's
    classes come from its validation ``cutpoints`` (set once they are fitted)."""

    cutpoints: list[float] | None = field(default=None, kw_only=True)

    def estimate(self, fs: FeatureSet, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def predict(self, fs: FeatureSet, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        estimate, classes = self.estimate(fs, rows)
        if classes is None and self.cutpoints is not None:
            classes = decode(estimate, self.cutpoints)
        return estimate, classes


@dataclass
class Constant(Scorer):
    """The training mean as estimate, the majority class as class."""

    mean: float
    majority: int

    def estimate(self, fs: FeatureSet, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.full(len(rows), self.mean), np.full(len(rows), self.majority).astype(int)


@dataclass
class Biases(Scorer):
    """``mu + b_user + b_item`` (an unseen user or item adds 0)."""

    mu: float
    user: pd.Series
    item: pd.Series

    def estimate(self, fs: FeatureSet, rows: np.ndarray) -> tuple[np.ndarray, None]:
        part = fs.table.iloc[rows]
        pred = self.mu + part["user_id"].map(self.user).fillna(0.0)
        pred = pred + part["item_id"].map(self.item).fillna(0.0)
        return pred.to_numpy(dtype="float64"), None


@dataclass
class Tfidf(Scorer):
    """A scikit-learn model on word + char TF-IDF; a classifier's estimate is its expected
    class."""

    model: Any

    def estimate(self, fs: FeatureSet, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        x = tfidf_matrix(fs)[rows]
        if not hasattr(self.model, "predict_proba"):
            return self.model.predict(x), None
        proba = self.model.predict_proba(x)
        classes = self.model.classes_
        return proba @ classes, classes[proba.argmax(axis=1)]


@dataclass
class Boosted(Scorer):
    """LightGBM on the ``dense`` columns and word TF-IDF."""

    model: Any
    dense: list[str]

    def estimate(self, fs: FeatureSet, rows: np.ndarray) -> tuple[np.ndarray, None]:
        return self.model.predict(boosted_matrix(fs, self.dense)[rows]), None


def boosted_matrix(fs: FeatureSet, dense: list[str]) -> sp.csr_matrix:
    """LightGBM's input: the ``dense`` columns of ``fs.table`` beside its word TF-IDF."""
    values = sp.csr_matrix(fs.table[dense].to_numpy(dtype=np.float32))
    return sp.hstack([values, fs.tfidf["word"]], format="csr")


def _select(
    name: str,
    grid: Iterable[dict[str, Any]],
    fit: Callable[..., Scorer],
    fs: FeatureSet,
    metric: str,
    parallel: bool = False,
) -> SelectedModel:
    """Fit every grid point; keep the one best on the validation ``metric``. ``parallel``:
    fit the points in separate processes, one per core (single-threaded sparse solvers)."""
    best, search = None, []
    sign = 1 if HIGHER_IS_BETTER[metric] else -1
    valid, test = fs.rows("valid"), fs.rows("test")
    y_valid = fs.table["rating"].to_numpy()[valid]
    points = list(grid)
    if parallel and len(points) > 1:
        jobs = min(len(points), os.cpu_count() or 1)
        fits = Parallel(n_jobs=jobs)(delayed(fit)(**point) for point in points)
    else:
        fits = [fit(**point) for point in points]
    both = np.concatenate([valid, test])  # one call: the scorers build their input matrix once
    for point, scorer in zip(points, fits, strict=True):
        estimate, classes = scorer.predict(fs, both)
        pv, pt = np.split(estimate, [len(valid)])
        cv, ct = (None, None) if classes is None else np.split(classes, [len(valid)])
        value = score(pv, y_valid, cv)[metric]
        search.append({**point, f"valid_{metric}": round(value, 6)})
        if best is None or sign * value > sign * best[0]:
            best = (value, SelectedModel(name, pv, pt, cv, ct, dict(point), scorer=scorer))
    best[1].search = search
    return best[1]


def mean_majority(fs: FeatureSet) -> SelectedModel:
    """The training mean as estimate, the majority class as class."""
    y = fs.table["rating"].to_numpy()
    train = fs.rows("train")
    scorer = Constant(y[train].mean(), int(np.bincount(y[train]).argmax()))
    selected = {"train_mean": round(float(scorer.mean), 6), "majority_class": scorer.majority}
    (pv, cv), (pt, ct) = (scorer.predict(fs, fs.rows(s)) for s in ("valid", "test"))
    return SelectedModel("mean_majority", pv, pt, cv, ct, selected, scorer=scorer)


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
    t, train = fs.table, fs.rows("train")

    def fit(reg: float) -> Biases:
        users, items = t["user_id"].to_numpy()[train], t["item_id"].to_numpy()[train]
        return Biases(*fit_biases(users, items, t["rating"].to_numpy()[train], reg))

    return _select("user_item_bias", ({"reg": r} for r in regs), fit, fs, metric)


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
    x, y, train = tfidf_matrix(fs), fs.table["rating"].to_numpy(), fs.rows("train")

    def fit(alpha: float) -> Tfidf:
        return Tfidf(
            Ridge(alpha=alpha, solver="sparse_cg", random_state=seed).fit(x[train], y[train])
        )

    grid = ({"alpha": a} for a in alphas)
    return _select("tfidf_ridge", grid, fit, fs, metric, parallel=True)


def tfidf_logreg(fs: FeatureSet, cs: list[float], metric: str, seed: int) -> SelectedModel:
    """Logistic regression on TF-IDF (expected class as estimate), ``C`` best on validation."""
    x, y, train = tfidf_matrix(fs), fs.table["rating"].to_numpy(), fs.rows("train")

    def fit(C: float) -> Tfidf:
        return Tfidf(logistic_regression(C, seed).fit(x[train], y[train]))

    return _select("tfidf_logreg", ({"C": c} for c in cs), fit, fs, metric, parallel=True)


def lightgbm(fs: FeatureSet, cfg: LightgbmParams, seed: int) -> SelectedModel:
    """LightGBM regression on word TF-IDF + dense features; early stopping on validation."""
    x = boosted_matrix(fs, fs.dense_columns)
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
    scorer = Boosted(model, list(fs.dense_columns))
    selected = {"best_iteration": int(model.best_iteration_)}
    (pv, _), (pt, _) = scorer.predict(fs, valid), scorer.predict(fs, test)
    return SelectedModel("lightgbm", pv, pt, selected=selected, scorer=scorer)


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
    scorers: dict[str, Scorer]  # the selected fit of every model

    @property
    def best(self) -> str:
        return self.payload["best_on_valid"]


def decode_regressor(fitted: SelectedModel, y_valid: np.ndarray) -> SelectedModel:
    """A regressor's classes from cut-points fitted on its validation predictions
    (:mod:`reviewlab.core.evaluation.ordinal`); a model with classes of its own is kept."""
    if fitted.valid_classes is not None:
        return fitted
    cuts = fitted.selected["cutpoints"] = fit_cutpoints(fitted.valid, y_valid)
    if fitted.scorer is not None:
        fitted.scorer.cutpoints = cuts
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
    models, preds, search, scorers = {}, [], [], {}
    for fitted in run_all(fs, cfg, seed):
        search += [{"model": fitted.name, **point} for point in fitted.search]
        fitted = decode_regressor(fitted, y[splits["valid"]])
        scorers[fitted.name] = fitted.scorer
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
    return BaselineRun(payload, table, predictions, pd.DataFrame(search), scorers)


def _flat(entry: dict[str, Any]) -> dict[str, Any]:
    return {f"{split}_{k}": v for split in ("valid", "test") for k, v in entry[split].items()}
