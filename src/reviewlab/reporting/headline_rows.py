"""Headlines: the few flat numbers DVC compares across experiments, and DVC plot data.

Everything here is computed from the detail payloads the other stages write (``metrics/``) and
the fine-tune's predictions, in memory; the ``headlines`` stage reads and writes the files.

How DVC shows metrics decides the layout. ``dvc metrics show`` prints one table: a row per
metrics file, a column per key found in any file. ``dvc exp show`` prints a row per experiment
and a column per (file, key), named by the key alone only when no other file has that key
(else ``<path>:<key>``, some 40 characters wide). Hence two kinds of headline row:

- the fine-tune (the model most experiments change): one row whose keys no other file uses
  (:data:`FINETUNE_KEYS`, :data:`RUNTIME_KEYS`), so ``dvc exp show --only-changed`` after a
  fine-tune experiment names them plainly;
- every other headline (a baseline, an ablation variant, a task model, a recommender, a
  study): one number with its 95% CI under the shared keys :data:`ROW_KEYS` (``metric``
  names it), so all of them take four columns of ``dvc metrics show``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

#: The fine-tune's test metrics (with the RMSE's CI) ...
FINETUNE_KEYS = ("rmse", "rmse_low", "rmse_high", "mae", "accuracy", "macro_f1", "qwk")
#: ... and its cost, from ``finetune_runtime.json``.
RUNTIME_KEYS = ("train_seconds", "peak_rss_gib")
#: Every other headline row: ``{metric: name, value, low, high}`` (no CI: no low / high).
ROW_KEYS = ("metric", "value", "low", "high")
#: The folder of the headlines that span datasets.
STUDIES = "studies"
#: The folder (inside a dataset's) of the ablation grid's variants.
ABLATIONS = "ablations"
#: Digits kept (the detail metrics files keep 6 too).
DIGITS = 6


def row(metric: str, value: float, low: float | None = None, high: float | None = None) -> dict:
    """One headline row: ``metric``'s ``value`` and, when known, its CI bounds."""
    out: dict[str, Any] = dict(zip(ROW_KEYS[:2], (metric, _round(value)), strict=True))
    if low is not None and high is not None:
        out |= dict(zip(ROW_KEYS[2:], (_round(low), _round(high)), strict=True))
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def finetune_row(payload: Mapping[str, Any], runtime: Mapping[str, Any]) -> tuple[str, dict]:
    """``(model name, row)`` of ``finetune.json`` (its one model's test metrics) and
    ``finetune_runtime.json``."""
    (name, entry), *others = payload["models"].items()
    if others:
        raise ValueError(f"finetune.json holds {len(others) + 1} models, expected one")
    test = entry["test"]
    values = {key: _round(test[key]) for key in FINETUNE_KEYS}
    return name, values | {key: runtime[key] for key in RUNTIME_KEYS}


def model_rows(payload: Mapping[str, Any]) -> dict[str, dict]:
    """Model -> test RMSE with its CI, from a ``baselines.json`` payload."""
    return {
        model: row("rmse", e["test"]["rmse"], e["test"].get("rmse_low"), e["test"].get("rmse_high"))
        for model, e in payload["models"].items()
    }


def ablation_rows(summary: Mapping[str, Any]) -> dict[str, dict]:
    """Variant -> its test RMSE minus the reference's, with the paired CI, from
    ``ablations_summary.json`` (the reference itself, compared with nothing, has no row)."""
    rows = {}
    for variant, entry in summary["variants"].items():
        diff = entry["vs_reference"].get("rmse")
        if diff:
            rows[variant] = row("rmse_diff", diff["difference"], diff["low"], diff["high"])
    return rows


def task_rows(payload: Mapping[str, Any]) -> dict[str, dict]:
    """Model -> test macro-F1 with its CI, from a ``metrics/tasks/<task>.json`` payload."""
    return {
        model: row("macro_f1", e["macro_f1"], e.get("macro_f1_low"), e.get("macro_f1_high"))
        for model, e in payload["models"].items()
    }


def recommend_rows(payload: Mapping[str, Any]) -> dict[str, dict]:
    """Recommender -> NDCG@k over all test users with its CI, from ``recommend.json``."""
    metric = f"ndcg@{payload['k']}"
    return {
        model: row(metric, e["all"]["ndcg"], e["all"].get("ndcg_low"), e["all"].get("ndcg_high"))
        for model, e in payload["models"].items()
    }


def segments_row(payload: Mapping[str, Any]) -> dict:
    """The silhouette score of the chosen number of segments, from ``segments.json``."""
    chosen = [s["silhouette"] for s in payload["silhouette"] if s["k"] == payload["k"]]
    return row("silhouette", chosen[0])


def opinions_row(payload: Mapping[str, Any]) -> dict:
    """Spearman correlation of review-level aspect sentiment with the stars (test reviews),
    from ``opinions.json``."""
    return row("spearman", payload["test_agreement"]["spearman_review_aspect"])


def headline_metrics(
    baselines: Mapping[str, Mapping[str, Any]],
    finetune: tuple[str, Mapping[str, Any], Mapping[str, Any]],
    ablations: tuple[str, Mapping[str, Any]],
    tasks: Mapping[str, Mapping[str, Any]],
    recommend: Mapping[str, Any],
    segments: Mapping[str, Any],
    opinions: Mapping[str, Any],
) -> dict[str, dict]:
    """Every headline row by its name (``headlines/<name>.json``):

    - ``<dataset>/<model>``: each rating model's test RMSE [CI] (``baselines``: dataset ->
      ``baselines.json``), and the fine-tune's row (``finetune``: its dataset,
      ``finetune.json``, ``finetune_runtime.json``);
    - ``<dataset>/ablations/<variant>``: RMSE difference vs the reference [paired CI]
      (``ablations``: the grid's dataset, ``ablations_summary.json``);
    - ``<task>/<model>``: test macro-F1 [CI] (``tasks``: task -> its metrics);
    - ``studies/recommend/<model>``, ``studies/segments``, ``studies/opinions``.

    Tasks sit beside datasets (not under a ``tasks/`` folder) to keep the longest path, hence
    the ``dvc metrics show`` table, narrow; a task named like a dataset is refused.
    """
    clash = sorted(set(tasks) & (set(baselines) | {STUDIES}))
    if clash:
        raise ValueError(
            f"task name(s) {clash} clash with a dataset's (or the '{STUDIES}') headline folder: "
            "rename the task in params.yaml"
        )
    rows: dict[str, dict] = {}
    for dataset, payload in baselines.items():
        for model, values in model_rows(payload).items():
            rows[f"{dataset}/{model}"] = values
    dataset, payload, runtime = finetune
    name, values = finetune_row(payload, runtime)
    rows[f"{dataset}/{name}"] = values
    dataset, summary = ablations
    for variant, values in ablation_rows(summary).items():
        rows[f"{dataset}/{ABLATIONS}/{variant}"] = values
    for task, payload in tasks.items():
        for model, values in task_rows(payload).items():
            rows[f"{task}/{model}"] = values
    for model, values in recommend_rows(recommend).items():
        rows[f"{STUDIES}/recommend/{model}"] = values
    rows[f"{STUDIES}/segments"] = segments_row(segments)
    rows[f"{STUDIES}/opinions"] = opinions_row(opinions)
    return dict(sorted(rows.items()))


# ---- plot data (dvc.yaml top-level `plots`) ------------------------------------------------
def calibration(predictions: pd.DataFrame) -> pd.DataFrame:
    """Mean predicted rating per true rating on the test split (``ideal``: the true rating,
    the line a calibrated model follows), with the number of test reviews."""
    test = predictions[predictions["split"] == "test"]
    if test.empty:
        raise ValueError("the fine-tune's predictions hold no test rows")
    grouped = test.groupby("rating", sort=True)["prediction"]
    frame = pd.DataFrame(
        {"predicted": grouped.mean().round(DIGITS), "n": grouped.size()}
    ).reset_index()
    frame.insert(2, "ideal", frame["rating"].astype(float))
    return frame[["rating", "predicted", "ideal", "n"]]


def transfer_forest(payloads: list[Mapping[str, Any]]) -> pd.DataFrame:
    """The transfer forest plot: per pair (``metrics/transfer/<pair>.json``), each borrowed
    model's test RMSE minus that of the target's own of its kind, and the encoder's loss minus
    the baseline's, with paired 95% CIs and verdicts (no headline rows: they would widen the
    headline table past 200 columns, docs/experiments.md)."""
    rows = []
    for payload in payloads:
        store = payload["target"]
        kin = payload["counterparts"]
        chosen = [
            (f"{store}: {c['model']} - {c['reference']}", c)
            for c in payload["comparisons"]["borrowed"]
            if c["metric"] == "rmse" and kin.get(c["model"]) == c["reference"]
        ]
        (travels,) = payload["comparisons"]["travels"]
        chosen.append((f"{store}: encoder loss - baseline loss", travels))
        for name, c in chosen:
            values = {k: _round(c[k]) for k in ("difference", "low", "high")}
            rows.append({"comparison": name, **values, "verdict": c["verdict"]})
    return pd.DataFrame(rows, columns=["comparison", "difference", "low", "high", "verdict"])


def forest(summary: Mapping[str, Any]) -> pd.DataFrame:
    """The ablation forest plot: per metric and variant, the test difference vs the
    reference with its paired, seed-blocked 95% CI and its verdict (better / worse /
    equivalent / inconclusive, Holm-adjusted)."""
    variants = summary["variants"]
    metrics = dict.fromkeys(m for entry in variants.values() for m in entry["vs_reference"])
    rows = []
    for metric in metrics:  # in the summary's order (rmse, mae, accuracy, macro_f1, qwk)
        for variant, entry in variants.items():
            diff = entry["vs_reference"].get(metric)
            if diff:
                rows.append(
                    {
                        "metric": metric,
                        "variant": variant,
                        "difference": _round(diff["difference"]),
                        "low": _round(diff["low"]),
                        "high": _round(diff["high"]),
                        "verdict": diff["verdict"],
                    }
                )
    return pd.DataFrame(rows, columns=["metric", "variant", "difference", "low", "high", "verdict"])


def longtail(payload: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """Grouping (``item`` popularity, ``user`` activity) -> test RMSE and MAE of every model
    by bucket (head, torso, tail, in that order), from a ``longtail.json`` payload."""
    errors = pd.DataFrame(payload["errors"])
    return {
        by: group[["bucket", "model", "rmse", "mae", "n"]].reset_index(drop=True)
        for by, group in errors.groupby("by", sort=False)
    }


def recommend(payload: Mapping[str, Any]) -> pd.DataFrame:
    """NDCG@k and recall@k of every recommender for all test users and by item bucket of
    the held-out item (``users``: all, tail, head), from ``recommend.json``."""
    rows = []
    for model, entry in payload["models"].items():
        for users, values in entry.items():
            if isinstance(values, Mapping):
                rows.append(
                    {
                        "users": users,
                        "model": model,
                        "ndcg": values["ndcg"],
                        "recall": values["recall"],
                        "n": values["users"],
                    }
                )
    frame = pd.DataFrame(rows, columns=["users", "model", "ndcg", "recall", "n"])
    order = {users: i for i, users in enumerate(dict.fromkeys(frame["users"]))}
    return frame.sort_values("users", key=lambda s: s.map(order), kind="stable").reset_index(
        drop=True
    )
