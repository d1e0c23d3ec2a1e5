"""Review-level classification tasks (opinion mining, user classification) on derived datasets.

A task is a *derived dataset*: the rows of a source dataset that carry the task's label, with
the source's splits, features and train-only TF-IDF unchanged (stored as ``task_<name>`` by the
``task`` stage), so that the fine-tuning code trains on it exactly as on a rating dataset
(``finetune`` <- ``task_budget`` <- label and head: :func:`reviewlab.core.compose.task_config`).
Rows without a label (a 3-star review for polarity, a missing age) are excluded and counted by
reason, never dropped silently.

Every model is scored on the same fixed, seeded test subset through the label metric module:
the fine-tuned encoder, TF-IDF + logistic regression (on the fine-tune's training rows and on
all training rows, C chosen on validation), a VADER lexicon rule for sentiment-like labels,
and the majority class.
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
#: Iterations of the tasks' TF-IDF logistic regression (its solver needs more than ratings').
LOGREG_MAX_ITER = 500
#: The trivial model of every task: the training split's most frequent label.
MAJORITY = "majority"

#: A task's label: a column, a value map or bins (``tasks.<name>.label``).
TaskLabel = str | LabelMap | LabelBins


def derive_labels(values: pd.Series, spec: TaskLabel) -> tuple[pd.Series, dict]:
    """Task labels (int, NaN where excluded) from a source column, and excluded counts.

    ``spec`` is a column name (its values are the labels), a :class:`LabelMap` (``{from: col,
    map: {value: label}}``; unmapped values excluded) or a :class:`LabelBins` (``{from: col,
    bins: [edges]}``: label i for ``edges[i] <= value < edges[i + 1]``; values outside the
    edges excluded).
    """
    missing = values.isna()
    if isinstance(spec, str):
        labels = values
        outside = pd.Series(False, index=values.index)
    elif isinstance(spec, LabelMap):
        labels = values.map({float(k): v for k, v in spec.map.items()})
        outside = labels.isna() & ~missing
    else:
        labels = pd.cut(values, spec.bins, right=False, labels=False)
        outside = labels.isna() & ~missing
    excluded = {"missing_value": int(missing.sum()), "outside_label_definition": int(outside.sum())}
    return labels.astype("float64"), excluded


def label_names(spec: TaskLabel) -> list[str] | None:
    """Readable class names for binned labels (``[18, 35)`` ...); None otherwise."""
    if isinstance(spec, LabelBins):
        edges = spec.bins
        return [f"{lo}-{hi - 1}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return None


def label_source(spec: TaskLabel) -> str:
    """The source column a task's label comes from."""
    return spec if isinstance(spec, str) else spec.from_


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
    carry task ``name``'s label, with the label in column ``label``."""
    column = label_source(task.label)
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
    """TF-IDF (``x``) logistic regression of the labels ``y``, fitted on the ``train`` rows by
    the baselines' helper (``max_iter`` 500); ``C`` chosen on the ``valid`` rows' macro-F1,
    the first of equals winning."""
    models = classical.fit_logregs(x[train], y[train], cs, seed, max_iter=LOGREG_MAX_ITER)
    search = {
        str(c): evaluate_labels(m.predict(x[valid]), y[valid], binary=len(m.classes_) == 2)[
            "macro_f1"
        ]
        for c, m in zip(cs, models, strict=True)
    }
    best = max(range(len(cs)), key=lambda i: (search[str(cs[i])], -i))
    return models[best], search


def best_threshold(scores: np.ndarray, truth: np.ndarray) -> float:
    """The cut-off on a positive-class score that maximises macro-F1 on ``truth`` (validation
    rows), among the 1st..99th percentiles of ``scores``; ties go to the lowest cut-off."""
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
    comparison with the majority class on macro-F1 and accuracy (one Holm family per metric),
    and whether it failed (:func:`reviewlab.core.evaluation.inference.failure`)."""
    runs, models = {}, {}
    for name, predicted in predictions.items():
        chosen = predicted.set_index("review_id").loc[truth.index]
        scores = chosen["score"].to_numpy() if binary and chosen["score"].notna().all() else None
        runs[name] = Runs.single(chosen["predicted"], chosen["predicted"], scores)
        models[name] = evaluate_labels(
            chosen["predicted"].to_numpy(), truth.to_numpy(), scores, binary, evaluation.ci(seed)
        )
    pairs = [(name, MAJORITY) for name in runs if name != MAJORITY]
    comparisons = compare_models(
        runs,
        truth.to_numpy(),
        pairs,
        {"macro_f1": True, "accuracy": True},
        evaluation.margins,
        evaluation.design(seed),
        label_fn(binary),
    )
    vs_majority = verdicts(comparisons, "macro_f1", MAJORITY)
    rule = evaluation.failure
    for name, entry in models.items():
        entry.update(
            failure(
                vs_majority.get(name),
                runs[name].classes[0],
                base_rates,
                rule.collapse_share,
                rule.base_rate_gap,
            )
        )
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
    ``frame``, features ``fs``, row accounting ``rows``), fit the baselines; score all on the
    fixed test subset with bootstrap CIs, each against the majority class by the paired
    inference (a model not better on macro-F1, or collapsed onto a rare class, has failed).
    ``started``: ``time.perf_counter()`` when the
    task's work began (default: now), for ``total_seconds``."""
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
    search = _baselines(fs, fitted.parts["train"], test, held, task, budget, seed, predictions)
    thresholds |= search.pop("thresholds")
    all_train = fs.rows("train")
    truth = test.set_index("review_id")[LABEL]
    base_rates = fs.table[LABEL].iloc[all_train].value_counts(normalize=True).to_dict()
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


def _finetuned(
    fitted: TrainedModel,
    test: pd.DataFrame,
    held: pd.DataFrame | None,
    thresholds: dict[str, float],
) -> pd.DataFrame:
    """The fine-tune's test predictions (a binary one thresholded on the ``held`` validation
    rows, the threshold recorded in ``thresholds``)."""
    scored = score_sets(fitted, {"test": test} | ({} if held is None else {"valid": held}))
    tested = scored["test"]
    estimate, classes = tested.estimate, tested.classes
    if held is not None:
        thresholds["finetune"] = best_threshold(scored["valid"].estimate, scored["valid"].truth)
        classes = (estimate >= thresholds["finetune"]).astype(np.int64)
    return pd.DataFrame(
        {
            "review_id": tested.rows["review_id"].to_numpy(),
            "predicted": classes.astype(np.int64),
            "score": estimate if held is not None else np.nan,
        }
    )


def _baselines(
    fs: FeatureSet,
    finetuned_rows: pd.DataFrame,
    test: pd.DataFrame,
    held: pd.DataFrame | None,
    task: TaskParams,
    budget: TaskBudget,
    seed: int,
    predictions: dict[str, pd.DataFrame],
) -> dict[str, Any]:
    """TF-IDF logistic regression on the fine-tune's training rows and on all of them, the
    majority class and (``task.lexicon``) VADER, added to ``predictions``; returns the
    validation search of each regression and, under ``thresholds``, the binary thresholds."""
    position = pd.Series(np.arange(len(fs.table)), index=fs.table["review_id"])
    all_train, valid = fs.rows("train"), fs.rows("valid")
    test_rows = position[test["review_id"]].to_numpy()
    held_rows = None if held is None else position[held["review_id"]].to_numpy()
    x, y = classical.tfidf_matrix(fs), fs.table[LABEL].to_numpy()
    search: dict[str, Any] = {"thresholds": {}}
    for model_name, train_rows in (
        ("tfidf_logreg", position[finetuned_rows["review_id"]].to_numpy()),
        ("tfidf_logreg_all_rows", all_train),
    ):
        model, search[model_name] = tfidf_logreg(x, y, train_rows, valid, budget.logreg_C, seed)
        proba = model.predict_proba(x[test_rows])
        predicted = model.classes_[proba.argmax(axis=1)]
        if held_rows is not None:
            valid_proba = model.predict_proba(x[held_rows])[:, 1]
            cut = search["thresholds"][model_name] = best_threshold(valid_proba, y[held_rows])
            predicted = (proba[:, 1] >= cut).astype(np.int64)
        predictions[model_name] = _frame(test, predicted, None if held is None else proba[:, 1])
    majority = fs.table[LABEL].iloc[all_train].mode().iloc[0]
    predictions[MAJORITY] = _frame(test, np.full(len(test), majority), None)
    if task.lexicon:
        compound = fs.table["vader_compound"].to_numpy()[test_rows]
        predictions["vader"] = _frame(test, (compound >= VADER_POSITIVE).astype(int), compound)
    return search


def _frame(rows: pd.DataFrame, predicted: np.ndarray, score: np.ndarray | None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "review_id": rows["review_id"].to_numpy(),
            "predicted": np.asarray(predicted, dtype=np.int64),
            "score": np.nan if score is None else score,
        }
    )
