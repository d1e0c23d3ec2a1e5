"""Long-tail analysis: where rating models fail, by item popularity and user activity.

Items (users) sorted from most to least reviewed in training: the ``head`` holds the first
``shares[0]`` of all training reviews, the ``torso`` the next ones up to ``shares[1]``, the
``tail`` the rest (with the items that have no training review).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from reviewlab.core.evaluation.compare import TRIVIAL, Runs, compare_models
from reviewlab.core.evaluation.inference import Design
from reviewlab.core.params import EvaluationParams

BUCKETS = ("head", "torso", "tail")


def popularity_buckets(counts: pd.Series, shares: list[float]) -> pd.Series:
    """``head`` / ``torso`` / ``tail`` of each key from its training count (same index)."""
    if not 0 < shares[0] < shares[1] < 1:
        raise ValueError(f"longtail.shares must be increasing within (0, 1), got {shares}")
    ordered = counts.sort_values(ascending=False, kind="stable")
    total = ordered.sum()
    before = (ordered.cumsum() - ordered) / total if total else ordered * 0.0
    bucket = np.select([before < shares[0], before < shares[1]], ["head", "torso"], "tail")
    bucket = pd.Series(bucket, index=ordered.index)
    bucket[ordered == 0] = "tail"
    return bucket.reindex(counts.index)


def assign_buckets(table: pd.DataFrame, key: str, shares: list[float]) -> pd.Series:
    """Bucket of each row's ``key`` (``item_id``/``user_id``) from the training rows of the
    features ``table`` (NaN: no key)."""
    train = table.loc[table["split"] == "train", key].dropna()
    keys = pd.Index(table[key].dropna().unique())
    counts = train.value_counts().reindex(keys, fill_value=0)
    return table[key].map(popularity_buckets(counts, shares))


def on_test_split(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The test rows of each rating model's predictions table (baselines, fine-tuned encoder)."""
    if not frames:
        raise ValueError("no rating predictions to analyse")
    return pd.concat([f[f["split"] == "test"] for f in frames], ignore_index=True)


def _groupings(table: pd.DataFrame, shares: list[float]):
    """(``item``/``user``, review id -> bucket) of every grouping the ``table`` has ids for."""
    for by, key in (("item", "item_id"), ("user", "user_id")):
        if not table[key].isna().all():
            buckets = assign_buckets(table, key, shares)
            yield by, dict(zip(table["review_id"], buckets, strict=True))


def errors_by_bucket(
    table: pd.DataFrame, predictions: pd.DataFrame, shares: list[float]
) -> pd.DataFrame:
    """RMSE and MAE of every rating model's test ``predictions`` per item-popularity and
    user-activity bucket of the features ``table``."""
    rows = []
    for by, bucket in _groupings(table, shares):
        frame = predictions.assign(bucket=predictions["review_id"].map(bucket))
        error = frame["prediction"].clip(1, 5) - frame["rating"]
        grouped = frame.assign(se=error**2, ae=error.abs()).groupby(["model", "bucket"])
        stats = grouped.agg(n=("se", "size"), rmse=("se", "mean"), mae=("ae", "mean"))
        stats["rmse"] = np.sqrt(stats["rmse"])
        rows.append(stats.reset_index().assign(by=by))
    result = pd.concat(rows, ignore_index=True)
    result["bucket"] = pd.Categorical(result["bucket"], BUCKETS, ordered=True)
    columns = ["by", "model", "bucket", "n", "rmse", "mae"]
    return result.sort_values(["by", "model", "bucket"]).reset_index(drop=True)[columns]


def tail_gap(errors: pd.DataFrame) -> pd.DataFrame:
    """Per model and grouping: tail RMSE minus head RMSE (positive: worse on the tail)."""
    wide = errors.pivot_table(index=["by", "model"], columns="bucket", values="rmse", observed=True)
    gap = (wide["tail"] - wide["head"]).rename("tail_minus_head_rmse")
    return gap.dropna().reset_index()  # a model with no head or no tail test rows has no gap


def versus_trivial(
    table: pd.DataFrame,
    predictions: pd.DataFrame,
    shares: list[float],
    margins: dict[str, float],
    design: Design,
) -> pd.DataFrame:
    """In every bucket, each model against the training mean (:data:`TRIVIAL`) on test RMSE,
    paired on that bucket's rows (one Holm family per bucket)."""
    if TRIVIAL not in set(predictions["model"]):
        return pd.DataFrame()
    rows = []
    for by, bucket in _groupings(table, shares):
        for name, part in predictions.groupby(predictions["review_id"].map(bucket)):
            models = {m: f.set_index("review_id").sort_index() for m, f in part.groupby("model")}
            truth = models[TRIVIAL]["rating"].to_numpy()
            runs = {
                m: Runs.single(f["prediction"], f["predicted_class"]) for m, f in models.items()
            }
            pairs = [(m, TRIVIAL) for m in runs if m != TRIVIAL]
            found = compare_models(runs, truth, pairs, {"rmse": False}, margins, design)
            rows += [{"by": by, "bucket": name, **r} for r in found]
    return pd.DataFrame(rows)


@dataclass
class LongTail:
    """Errors per bucket, the tail-head gap, the verdicts against the training mean per bucket
    and ``longtail.json``'s payload."""

    errors: pd.DataFrame
    gap: pd.DataFrame
    versus: pd.DataFrame
    metrics: dict[str, Any]


def study(
    table: pd.DataFrame,
    predictions: pd.DataFrame,
    shares: list[float],
    evaluation: EvaluationParams,
    seed: int = 0,
) -> LongTail:
    """Errors of every rating model's test ``predictions`` by bucket of the features ``table``,
    and per bucket each model's paired verdict against the training mean."""
    errors = errors_by_bucket(table, predictions, shares)
    gap = tail_gap(errors)
    design = evaluation.design(seed)
    versus = versus_trivial(table, predictions, shares, evaluation.margins, design)
    keep = ["by", "bucket", "model", "difference", "low", "high", "mde", "verdict"]
    versus = versus if len(versus) else pd.DataFrame(columns=keep)
    metrics = {
        "shares": shares,
        "errors": errors.assign(bucket=errors["bucket"].astype(str)).round(6).to_dict("records"),
        "tail_minus_head_rmse": gap.round(6).to_dict("records"),
        "vs_training_mean": versus[keep].to_dict("records"),
    }
    return LongTail(errors, gap, versus, metrics)


def plot_errors(errors: pd.DataFrame):
    """Test RMSE per bucket, one bar per model, one panel per grouping (item / user)."""
    import seaborn as sns

    grid = sns.catplot(
        errors, x="bucket", y="rmse", hue="model", col="by", kind="bar", height=3.2, aspect=1.3
    )
    grid.set_titles("by {col_name} popularity / activity")
    return grid
