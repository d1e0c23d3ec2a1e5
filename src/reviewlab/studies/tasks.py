"""Review-level classification tasks (opinion mining, user classification) on derived datasets.

A task's derived dataset is the source dataset's rows that carry its label (splits, features
and TF-IDF unchanged; excluded rows counted by reason), stored as ``task_<name>`` and fine-tuned
like a rating dataset (:func:`reviewlab.core.compose.task_config`). Every model is scored on the
same fixed test subset: the fine-tuned encoder, TF-IDF + logistic regression (on the
fine-tune's training rows and on all of them), a VADER rule for sentiment labels, the majority.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from reviewlab.core.compose import TASK_LABEL as LABEL
from reviewlab.core.evaluation import evaluate_labels
from reviewlab.core.evaluation.compare import Runs, compare_models, label_fn, verdicts
from reviewlab.core.evaluation.inference import failure
from reviewlab.core.params import (
    EvaluationParams,
    FinetuneParams,
    LabelBins,
    LabelMap,
    TaskBudget,
    TaskParams,
)
from reviewlab.data.features import FeatureSet
from reviewlab.models import classical
from reviewlab.models.encoder.run import TrainedModel, fit, runtime, score_sets
from reviewlab.models.variants import fixed_rows

#: VADER's own cut-off for a positive compound score (Hutto & Gilbert, 2014).
VADER_POSITIVE = 0.05
#: Iterations of the tasks' TF-IDF logistic regression (more than the ratings' one needs).
LOGREG_MAX_ITER = 500
#: The trivial model of every task: the training split's most frequent label.
MAJORITY = "majority"

#: A task's label: a column, a value map or bins (``tasks.<name>.label``).
TaskLabel = str | LabelMap | LabelBins


def derive_labels(values: pd.Series, spec: TaskLabel) -> tuple[pd.Series, dict]:
    """Task labels (NaN where excluded) from a source column, and the excluded counts: the
    column's values, a :class:`LabelMap` (unmapped values excluded) or a :class:`LabelBins`
    (label i for ``bins[i] <= value < bins[i + 1]``; values outside excluded)."""
    if isinstance(spec, str):
        labels = values
    elif isinstance(spec, LabelMap):
        labels = values.map({float(k): v for k, v in spec.map.items()})
    else:
        labels = pd.cut(values, spec.bins, right=False, labels=False)
    missing = values.isna()
    outside = labels.isna() & ~missing
    excluded = {"missing_value": int(missing.sum()), "outside_label_definition": int(outside.sum())}
    return labels.astype("float64"), excluded


def label_names(spec: TaskLabel) -> list[str] | None:
    """Readable class names of binned labels (``18-34`` ...); None otherwise."""
    if not isinstance(spec, LabelBins):
        return None
    return [f"{lo}-{hi - 1}" for lo, hi in zip(spec.bins[:-1], spec.bins[1:], strict=True)]


def label_json(spec: TaskLabel) -> str | dict[str, Any]:
    """The label definition as params.yaml writes it (``from``, ``map`` / ``bins``)."""
    return spec if isinstance(spec, str) else spec.model_dump(by_alias=True)


@dataclass
class Derived:
    """A task's derived dataset: features and canonical rows of the labelled reviews."""

    features: FeatureSet  # the source's table (+ ``label``) and TF-IDF rows, labelled rows only
    reviews: pd.DataFrame  # the source's canonical rows of those reviews
    rows: dict[str, Any]  # row accounting: source, rows in / kept, excluded, labels by split


def derive(name: str, task: TaskParams, fs: FeatureSet, canonical: pd.DataFrame) -> Derived:
    """The rows of the source dataset (features ``fs``, canonical table ``canonical``) that
    carry task ``name``'s label, in column ``label``."""
    column = task.label if isinstance(task.label, str) else task.label.from_
    if column in fs.table:
        values = fs.table[column]
    elif column in canonical:
        values = fs.table["review_id"].map(canonical.set_index("review_id")[column])
    else:
        raise KeyError(
            f"tasks.{name}.label: column '{column}' is in neither the features table nor the "
            f"canonical table of dataset '{task.dataset}' (known: {sorted(canonical.columns)})"
        )
    labels, excluded = derive_labels(values.astype("float64"), task.label)
    keep = labels.notna().to_numpy()
    table = fs.table[keep].assign(**{LABEL: labels[keep].astype("int64")}).reset_index(drop=True)
    tfidf = {kind: matrix[np.flatnonzero(keep)] for kind, matrix in fs.tfidf.items()}
    rows = canonical[canonical["review_id"].isin(table["review_id"])]
    counts = table.groupby("split")[LABEL].value_counts().unstack(fill_value=0)
    accounting = {
        "source": task.dataset,
        "rows_in": int(len(fs.table)),
        "rows_kept": int(keep.sum()),
        "excluded": excluded,
        "labels_by_split": {
            split: {str(k): int(v) for k, v in row.items()} for split, row in counts.iterrows()
        },
    }
    return Derived(FeatureSet(table, tfidf, fs.dense_columns), rows, accounting)


def tfidf_logreg(
    x: sp.csr_matrix,
    y: np.ndarray,
    train: np.ndarray,
    valid: np.ndarray,
    cs: list[float],
    seed: int,
) -> tuple[LogisticRegression, dict[str, float]]:
    """TF-IDF (``x``) logistic regression of ``y`` fitted on the ``train`` rows, ``C`` chosen
    on the ``valid`` rows' macro-F1 (the first of equals), and each ``C``'s macro-F1."""
    models = classical.fit_logregs(x[train], y[train], cs, seed, max_iter=LOGREG_MAX_ITER)
    f1 = [
        evaluate_labels(m.predict(x[valid]), y[valid], binary=len(m.classes_) == 2)["macro_f1"]
        for m in models
    ]
    best = max(range(len(cs)), key=lambda i: (f1[i], -i))
    return models[best], {str(c): f for c, f in zip(cs, f1, strict=True)}


def best_threshold(scores: np.ndarray, truth: np.ndarray) -> float:
    """The cut-off among the 1st..99th percentiles of positive-class ``scores`` with the best
    macro-F1 on ``truth`` (validation rows); ties go to the lowest."""
    candidates = np.unique(
        np.quantile(np.asarray(scores, dtype=np.float64), np.linspace(0.01, 0.99, 99))
    )
    f1s = [
        f1_score(truth, (scores >= t).astype(int), average="macro", zero_division=0)
        for t in candidates
    ]
    return round(float(candidates[int(np.argmax(f1s))]), 6)


def score_models(
    predictions: dict[str, pd.DataFrame],
    truth: pd.Series,
    binary: bool,
    base_rates: dict[int, float],
    evaluation: EvaluationParams,
    seed: int,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every model's label metrics with bootstrap CIs on the ``truth`` rows, its paired
    comparison with the majority class on macro-F1 and accuracy, and whether it failed."""
    runs, models = {}, {}
    for name, predicted in predictions.items():
        chosen = predicted.set_index("review_id").loc[truth.index]
        scores = chosen["score"].to_numpy() if binary and chosen["score"].notna().all() else None
        runs[name] = Runs.single(chosen["predicted"], chosen["predicted"], scores)
        models[name] = evaluate_labels(
            chosen["predicted"].to_numpy(), truth.to_numpy(), scores, binary, evaluation.ci(seed)
        )
    pairs = [(name, MAJORITY) for name in runs if name != MAJORITY]
    higher, design = {"macro_f1": True, "accuracy": True}, evaluation.design(seed)
    comparisons = compare_models(
        runs, truth.to_numpy(), pairs, higher, evaluation.margins, design, label_fn(binary)
    )
    vs_majority, rule = verdicts(comparisons, "macro_f1", MAJORITY), evaluation.failure
    limits = (base_rates, rule.collapse_share, rule.base_rate_gap)
    for name, entry in models.items():
        entry.update(failure(vs_majority.get(name), runs[name].classes[0], *limits))
    return models, comparisons


@dataclass
class TaskRun:
    """One task scored: its metrics JSON, its runtime JSON and every model's predictions."""

    result: dict[str, Any]
    runtime: dict[str, Any]
    predictions: pd.DataFrame  # review_id, predicted, score, model, label


def run_task(
    name: str,
    task: TaskParams,
    budget: TaskBudget,
    cfg: FinetuneParams,
    frame: pd.DataFrame,
    fs: FeatureSet,
    rows: dict[str, Any],
    seed: int,
    evaluation: EvaluationParams,
    checkpoints: Path,
    cache_dir: Path | None = None,
    started: float | None = None,
) -> TaskRun:
    """Fine-tune task ``name`` (config ``cfg``) on its derived dataset (training frame
    ``frame``, features ``fs``, row accounting ``rows``) and fit the baselines; score all on
    the fixed test subset, each against the majority class. ``started``: when the task's work
    began (``time.perf_counter()``, default now), for ``total_seconds``."""
    start = time.perf_counter() if started is None else started
    fitted = fit(frame, cfg, seed, checkpoints, cache_dir)
    shutil.rmtree(checkpoints, ignore_errors=True)
    fitted.trainer.compute_metrics = None  # the Trainer's rating metrics do not apply here
    binary = task.head == "binary"
    test = fixed_rows(fitted.parts["test"], budget.test_rows, seed)
    # a binary decision threshold is chosen on validation rows (imbalanced labels)
    held = fixed_rows(fitted.parts["valid"], budget.valid_rows, seed) if binary else None
    thresholds: dict[str, float] = {}
    predictions = {"finetune": _finetuned(fitted, test, held, thresholds)}
    search, baselines = _baselines(fs, fitted.parts["train"], test, held, task, budget, seed)
    predictions |= baselines
    thresholds |= search.pop("thresholds")
    truth = test.set_index("review_id")[LABEL]
    base_rates = fs.table[LABEL].iloc[fs.rows("train")].value_counts(normalize=True).to_dict()
    models, comparisons = score_models(predictions, truth, binary, base_rates, evaluation, seed)
    result = {
        "task": name,
        "dataset": task.dataset,
        "label": label_json(task.label),
        "head": task.head,
        "classes": label_names(task.label),
        "rows": rows,
        "train_rows_finetune": len(fitted.parts["train"]),
        "test_rows": len(test),
        "logreg_search_valid_macro_f1": search,
        "thresholds_chosen_on_valid": thresholds,
        "models": models,
        "comparisons": {"vs_majority": comparisons},
    }
    cost = runtime(fitted, total_seconds=time.perf_counter() - start, train_rows=False)
    table = pd.concat([f.assign(model=m) for m, f in predictions.items()], ignore_index=True)
    table = table.merge(truth.rename("label").reset_index(), on="review_id")
    return TaskRun(result, cost, table)


def _frame(rows: pd.DataFrame, predicted: np.ndarray, score: np.ndarray | None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "review_id": rows["review_id"].to_numpy(),
            "predicted": np.asarray(predicted, dtype=np.int64),
            "score": np.nan if score is None else score,
        }
    )


def _cut(
    scores: np.ndarray, held: tuple[np.ndarray, np.ndarray], name: str, thresholds: dict
) -> np.ndarray:
    """Classes of positive-class ``scores`` at the cut-off best on the ``held`` (scores, truth)
    validation rows, recorded as ``thresholds[name]``."""
    cut = thresholds[name] = best_threshold(*held)
    return (scores >= cut).astype(np.int64)


def _finetuned(
    fitted: TrainedModel, test: pd.DataFrame, held: pd.DataFrame | None, thresholds: dict
) -> pd.DataFrame:
    """The fine-tune's test predictions (binary: thresholded on the ``held`` rows)."""
    scored = score_sets(fitted, {"test": test} | ({} if held is None else {"valid": held}))
    tested = scored["test"]
    if held is None:
        return _frame(tested.rows, tested.classes, None)
    valid = (scored["valid"].estimate, scored["valid"].truth)
    classes = _cut(tested.estimate, valid, "finetune", thresholds)
    return _frame(tested.rows, classes, tested.estimate)


def _baselines(
    fs: FeatureSet,
    finetuned_rows: pd.DataFrame,
    test: pd.DataFrame,
    held: pd.DataFrame | None,
    task: TaskParams,
    budget: TaskBudget,
    seed: int,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """The test predictions of TF-IDF logistic regression (on the fine-tune's training rows and
    on all of them), the majority class and (``task.lexicon``) VADER; and each regression's
    validation search, with the binary thresholds under ``thresholds``."""
    position = pd.Series(np.arange(len(fs.table)), index=fs.table["review_id"])
    all_train, valid = fs.rows("train"), fs.rows("valid")
    test_rows = position[test["review_id"]].to_numpy()
    x, y = classical.tfidf_matrix(fs), fs.table[LABEL].to_numpy()
    search: dict[str, Any] = {"thresholds": {}}
    predictions = {}
    for model_name, train_rows in (
        ("tfidf_logreg", position[finetuned_rows["review_id"]].to_numpy()),
        ("tfidf_logreg_all_rows", all_train),
    ):
        model, search[model_name] = tfidf_logreg(x, y, train_rows, valid, budget.logreg_C, seed)
        proba = model.predict_proba(x[test_rows])
        predicted, score = model.classes_[proba.argmax(axis=1)], None
        if held is not None:
            held_rows = position[held["review_id"]].to_numpy()
            held_scores = (model.predict_proba(x[held_rows])[:, 1], y[held_rows])
            score = proba[:, 1]
            predicted = _cut(score, held_scores, model_name, search["thresholds"])
        predictions[model_name] = _frame(test, predicted, score)
    majority = fs.table[LABEL].iloc[all_train].mode().iloc[0]
    predictions[MAJORITY] = _frame(test, np.full(len(test), majority), None)
    if task.lexicon:
        compound = fs.table["vader_compound"].to_numpy()[test_rows]
        predictions["vader"] = _frame(test, (compound >= VADER_POSITIVE).astype(int), compound)
    return search, predictions
