"""Review-level classification tasks (opinion mining, user classification) on derived datasets.

A task is a *derived dataset*: the rows of a source dataset that carry the task's label, with
the source's splits, features and train-only TF-IDF unchanged, written to
``artifacts/task_<name>/`` so that the fine-tuning code trains on it exactly as on a rating
dataset (``finetune`` <- ``task_budget`` <- label and head). Rows without a label (a 3-star
review for polarity, a missing age) are excluded and counted by reason, never dropped silently.

Every model is scored on the same fixed, seeded test subset through the label metric module:
the fine-tuned encoder, TF-IDF + logistic regression (on the fine-tune's training rows and on
all training rows, C chosen on validation), a VADER lexicon rule for sentiment-like labels,
and the majority class.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from reviewlab.core import artifacts as paths
from reviewlab.core.evaluation import evaluate_labels
from reviewlab.core.io import write_json
from reviewlab.data.features import FeatureSet
from reviewlab.models.ablations import deep_merge, fixed_rows
from reviewlab.stages.pipeline_old import canonical_dir, features_dir, load_canonical

LABEL = "label"
#: VADER's own cut-off for a positive compound score (Hutto & Gilbert, 2014).
VADER_POSITIVE = 0.05


def task_dataset(name: str) -> str:
    """The artifacts folder name of task ``name``'s derived dataset."""
    return f"task_{name}"


def derive_labels(values: pd.Series, spec: str | dict[str, Any]) -> tuple[pd.Series, dict]:
    """Task labels (int, NaN where excluded) from a source column, and excluded counts.

    ``spec`` is a column name (its values are the labels), ``{from: col, map: {value: label}}``
    (unmapped values excluded) or ``{from: col, bins: [edges]}`` (label i for
    ``edges[i] <= value < edges[i + 1]``; values outside the edges excluded).
    """
    missing = values.isna()
    if isinstance(spec, str):
        labels = values
        outside = pd.Series(False, index=values.index)
    elif "map" in spec:
        labels = values.map({float(k): v for k, v in spec["map"].items()})
        outside = labels.isna() & ~missing
    else:
        edges = spec["bins"]
        labels = pd.cut(values, edges, right=False, labels=False)
        outside = labels.isna() & ~missing
    excluded = {"missing_value": int(missing.sum()), "outside_label_definition": int(outside.sum())}
    return labels.astype("float64"), excluded


def label_names(spec: str | dict[str, Any]) -> list[str] | None:
    """Readable class names for binned labels (``[18, 35)`` ...); None otherwise."""
    if isinstance(spec, dict) and "bins" in spec:
        edges = spec["bins"]
        return [f"{lo}-{hi - 1}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return None


def derive(name: str, task: dict[str, Any], root: Path) -> dict[str, Any]:
    """Write ``artifacts/task_<name>/{canonical,features}``; return the row accounting."""
    source = task["dataset"]
    fs = FeatureSet.load(features_dir(source, root))
    canonical = load_canonical(source, root)
    spec = task["label"]
    column = spec if isinstance(spec, str) else spec["from"]
    if column in fs.table:
        values = fs.table[column]
    elif column in canonical:
        values = fs.table["review_id"].map(canonical.set_index("review_id")[column])
    else:
        raise KeyError(
            f"tasks.{name}.label: column '{column}' is in neither the features table nor the "
            f"canonical table of dataset '{source}' (known: {sorted(canonical.columns)})"
        )
    labels, excluded = derive_labels(values.astype("float64"), spec)
    keep = labels.notna().to_numpy()
    table = fs.table[keep].assign(**{LABEL: labels[keep].astype("int64")}).reset_index(drop=True)
    tfidf = {kind: matrix[np.flatnonzero(keep)] for kind, matrix in fs.tfidf.items()}
    target = task_dataset(name)
    vectorizers = joblib.load(features_dir(source, root) / "vectorizers.joblib")
    FeatureSet(table, tfidf, fs.dense_columns).save(features_dir(target, root), vectorizers)
    rows = canonical[canonical["review_id"].isin(table["review_id"])]
    canonical_dir(target, root).mkdir(parents=True, exist_ok=True)
    rows.to_parquet(canonical_dir(target, root) / "reviews.parquet", index=False)
    counts = table.groupby("split")[LABEL].value_counts().unstack(fill_value=0)
    return {
        "source": source,
        "rows_in": int(len(fs.table)),
        "rows_kept": int(keep.sum()),
        "excluded": excluded,
        "labels_by_split": {
            split: {str(k): int(v) for k, v in row.items()} for split, row in counts.iterrows()
        },
    }


def task_config(params: dict[str, Any], name: str) -> dict[str, Any]:
    """The full ``finetune`` config of task ``name``: finetune <- task_budget <- label/head."""
    task = params["tasks"][name]
    cfg = deep_merge(params["finetune"], params["task_budget"]["finetune"], "task_budget.finetune")
    overrides = {"label_column": LABEL, "head": task["head"], "selection_metric": "loss"}
    cfg = deep_merge(cfg, overrides, f"tasks.{name}")
    return {**cfg, "dataset": task_dataset(name), "name": name}


def tfidf_logreg(
    fs: FeatureSet, train: np.ndarray, valid: np.ndarray, cs: list[float], seed: int
) -> tuple[LogisticRegression, dict[str, float]]:
    """Word + char TF-IDF logistic regression; ``C`` chosen on validation macro-F1 (the
    values of ``cs`` are fitted in parallel processes: the sparse solver uses one core)."""
    x = sp.hstack([fs.tfidf["word"], fs.tfidf["char"]], format="csr")
    y = fs.table[LABEL].to_numpy()
    models = Parallel(n_jobs=min(len(cs), os.cpu_count() or 1))(
        delayed(LogisticRegression(C=c, max_iter=500, random_state=seed).fit)(x[train], y[train])
        for c in cs
    )
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


def run_task(params: dict[str, Any], name: str, root: Path | None = None) -> dict[str, Any]:
    """Derive task ``name``, fine-tune on it, fit the baselines; score all on the test subset."""
    from reviewlab.models.finetune.run import fit, peak_rss_gib

    root = root or paths.project_root()
    task, budget, seed = params["tasks"][name], params["task_budget"], params["seed"]
    start = time.perf_counter()
    accounting = derive(name, task, root)
    cfg = task_config(params, name)
    out = paths.artifacts(task_dataset(name), root)
    fitted = fit(cfg["dataset"], cfg, seed, out / "checkpoints", root)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    fitted.trainer.compute_metrics = None  # the Trainer's rating metrics do not apply here
    test = fixed_rows(fitted.parts["test"], budget["test_rows"], seed)
    ordered, estimate, classes, _ = fitted.predict(test, fitted.encode(test, cfg, root))
    binary = task["head"] == "binary"
    thresholds = {}
    if binary:  # decision threshold chosen on validation rows (imbalanced labels)
        held = fixed_rows(fitted.parts["valid"], budget["valid_rows"], seed)
        _, valid_score, _, valid_truth = fitted.predict(held, fitted.encode(held, cfg, root))
        thresholds["finetune"] = best_threshold(valid_score, valid_truth)
        classes = (estimate >= thresholds["finetune"]).astype(np.int64)
    predictions = {
        "finetune": pd.DataFrame(
            {
                "review_id": ordered["review_id"].to_numpy(),
                "predicted": classes.astype(np.int64),
                "score": estimate if binary else np.nan,
            }
        )
    }

    fs = FeatureSet.load(features_dir(cfg["dataset"], root))
    position = pd.Series(np.arange(len(fs.table)), index=fs.table["review_id"])
    same_train = position[fitted.parts["train"]["review_id"]].to_numpy()
    all_train, valid = fs.rows("train"), fs.rows("valid")
    test_rows = position[test["review_id"]].to_numpy()
    held_rows = position[held["review_id"]].to_numpy() if binary else None
    x = sp.hstack([fs.tfidf["word"], fs.tfidf["char"]], format="csr")
    search = {}
    for model_name, train_rows in (
        ("tfidf_logreg", same_train),
        ("tfidf_logreg_all_rows", all_train),
    ):
        model, search[model_name] = tfidf_logreg(fs, train_rows, valid, budget["logreg_C"], seed)
        proba = model.predict_proba(x[test_rows])
        predicted = model.classes_[proba.argmax(axis=1)]
        if binary:
            valid_proba = model.predict_proba(x[held_rows])[:, 1]
            truth = fs.table[LABEL].to_numpy()[held_rows]
            thresholds[model_name] = best_threshold(valid_proba, truth)
            predicted = (proba[:, 1] >= thresholds[model_name]).astype(np.int64)
        predictions[model_name] = _frame(test, predicted, proba[:, 1] if binary else None)
    majority = fs.table[LABEL].iloc[all_train].mode().iloc[0]
    predictions["majority"] = _frame(test, np.full(len(test), majority), None)
    if task.get("lexicon"):
        compound = fs.table["vader_compound"].to_numpy()[test_rows]
        predictions["vader"] = _frame(test, (compound >= VADER_POSITIVE).astype(int), compound)

    truth = test.set_index("review_id")[LABEL]
    ci = {
        "n_resamples": params["evaluation"]["n_bootstrap"],
        "level": params["evaluation"]["ci_level"],
        "seed": seed,
    }
    models = {}
    for model_name, frame in predictions.items():
        frame = frame.set_index("review_id").loc[test["review_id"]]
        scores = frame["score"].to_numpy() if binary and frame["score"].notna().all() else None
        models[model_name] = evaluate_labels(
            frame["predicted"].to_numpy(), truth.to_numpy(), scores, binary, ci
        )
    result = {
        "task": name,
        "dataset": task["dataset"],
        "label": task["label"],
        "head": task["head"],
        "classes": label_names(task["label"]),
        "rows": accounting,
        "train_rows_finetune": len(fitted.parts["train"]),
        "test_rows": len(test),
        "logreg_search_valid_macro_f1": search,
        "thresholds_chosen_on_valid": thresholds,
        "models": models,
    }
    runtime = {
        "train_seconds": round(fitted.train_seconds, 1),
        "train_samples_per_second": round(fitted.train_samples_per_second, 2),
        "total_seconds": round(time.perf_counter() - start, 1),
        "peak_rss_gib": round(peak_rss_gib(), 2),
    }
    table = pd.concat([f.assign(model=m) for m, f in predictions.items()], ignore_index=True)
    table.merge(truth.rename("label").reset_index(), on="review_id").to_parquet(
        out / "predictions.parquet", index=False
    )
    write_json(metrics_path(name, root), result)
    write_json(metrics_path(name, root).with_name(f"{name}_runtime.json"), runtime)
    return {**result, "runtime": runtime}


def metrics_path(name: str, root: Path | None = None) -> Path:
    return paths.metrics_dir("tasks", root) / f"{name}.json"


def _frame(rows: pd.DataFrame, predicted: np.ndarray, score: np.ndarray | None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "review_id": rows["review_id"].to_numpy(),
            "predicted": np.asarray(predicted, dtype=np.int64),
            "score": np.nan if score is None else score,
        }
    )


def results_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """One row per model: each metric as ``value [low, high]`` strings, best first."""
    rows = []
    for model, entry in metrics["models"].items():
        row = {"model": model}
        for metric in ("macro_f1", "f1", "roc_auc", "accuracy"):
            if metric in entry:
                row[metric] = _with_ci(entry, metric)
        rows.append(row)
    order = sorted(rows, key=lambda r: -metrics["models"][r["model"]]["macro_f1"])
    return pd.DataFrame(order).set_index("model")


def _with_ci(entry: dict[str, Any], metric: str) -> str:
    value = entry[metric]
    if value is None:  # not defined for this model (e.g. ROC-AUC without scores)
        return "—"
    low, high = entry.get(f"{metric}_low"), entry.get(f"{metric}_high")
    return (
        f"{value:.3f} [{low:.3f}, {high:.3f}]"
        if low is not None and high is not None
        else (f"{value:.3f}")
    )


def describe(metrics: dict[str, Any]) -> str:
    """One line on a task's data: classes, test rows, fine-tuning rows, excluded rows."""
    classes = f"classes {metrics['classes']}; " if metrics["classes"] else ""
    return (
        f"{metrics['task']} ({metrics['dataset']}): {classes}{metrics['test_rows']} test rows; "
        f"fine-tuned on {metrics['train_rows_finetune']} training rows; rows without a label, "
        f"excluded: {metrics['rows']['excluded']}"
    )
