"""The work of each DVC stage, callable from its notebook (and from tests) in one line.

Each function reads its inputs from the previous stage's outputs, writes its own outputs
(artifacts, metrics JSON) and returns what the notebook shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from reviewlab.core import artifacts as paths
from reviewlab.core.evaluation import HIGHER_IS_BETTER, evaluate_split
from reviewlab.core.io import write_json
from reviewlab.data.features import FeatureSet, build_features, deduplicate
from reviewlab.data.loaders import LoadResult, load_reviews
from reviewlab.data.splits import make_splits, overlap, split_summary
from reviewlab.models import baselines as bl


def canonical_dir(dataset: str, root: Path | None = None) -> Path:
    return paths.artifacts(dataset, root) / "canonical"


def features_dir(dataset: str, root: Path | None = None) -> Path:
    return paths.artifacts(dataset, root) / "features"


def ingest(dataset: str, cfg: dict[str, Any], seed: int, root: Path | None = None) -> LoadResult:
    """Raw file -> validated canonical table + quarantine + ``data_quality.json``."""
    root = root or paths.project_root()
    result = load_reviews({"seed": seed, **cfg}, dataset, root=root)
    out = canonical_dir(dataset, root)
    out.mkdir(parents=True, exist_ok=True)
    result.reviews.to_parquet(out / "reviews.parquet", index=False)
    result.quarantine.to_parquet(out / "quarantine.parquet", index=False)
    write_json(paths.metrics_dir(dataset, root) / "data_quality.json", result.quality)
    return result


def load_canonical(dataset: str, root: Path | None = None) -> pd.DataFrame:
    return pd.read_parquet(canonical_dir(dataset, root) / "reviews.parquet")


@dataclass
class Preprocessed:
    features: FeatureSet
    duplicates: pd.DataFrame
    summary: pd.DataFrame
    report: dict[str, Any]


def preprocess(
    dataset: str,
    split_cfg: dict[str, Any],
    feature_cfg: dict[str, Any],
    seed: int,
    root: Path | None = None,
) -> Preprocessed:
    """Canonical table -> de-duplicated rows, splits and features (train-only statistics)."""
    reviews, duplicates = deduplicate(load_canonical(dataset, root))
    split = make_splits(reviews, seed=seed, **split_cfg)
    features, vectorizers = build_features(reviews, split, feature_cfg)
    features.save(features_dir(dataset, root), vectorizers)
    report = {
        "rows_in": int(len(reviews) + len(duplicates)),
        "duplicates_removed": int(len(duplicates)),
        "rows_out": int(len(reviews)),
        "split": {s: int((split == s).sum()) for s in ("train", "valid", "test")},
        "user_seen_in_train": overlap(reviews, split, "user_id"),
        "item_seen_in_train": overlap(reviews, split, "item_id"),
        "n_features": {
            "dense": len(features.dense_columns),
            **{f"tfidf_{k}": int(m.shape[1]) for k, m in features.tfidf.items()},
        },
    }
    write_json(paths.metrics_dir(dataset, root) / "preprocess.json", report)
    return Preprocessed(features, duplicates, split_summary(reviews, split), report)


def run_baselines(
    dataset: str, cfg: dict[str, Any], eval_cfg: dict[str, Any], seed: int, root: Path | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit every baseline; write ``baselines.json``, predictions and the validation search."""
    fs = FeatureSet.load(features_dir(dataset, root))
    y = fs.table["rating"].to_numpy()
    ci = {"n_resamples": eval_cfg["n_bootstrap"], "level": eval_cfg["ci_level"], "seed": seed}
    models, rows, preds, search = {}, [], [], []
    for fitted in bl.run_all(fs, cfg, seed):
        search += [{"model": fitted.name, **point} for point in fitted.search]
        valid_rows, test_rows = fs.rows("valid"), fs.rows("test")
        entry = {
            "selected": fitted.selected,
            "valid": evaluate_split(fitted.valid, y[valid_rows], fitted.valid_classes),
            "test": evaluate_split(fitted.test, y[test_rows], fitted.test_classes, ci=ci),
        }
        models[fitted.name] = entry
        rows.append({"model": fitted.name, **_flat(entry)})
        for split, idx, pred, cls in (
            ("valid", valid_rows, fitted.valid, fitted.valid_classes),
            ("test", test_rows, fitted.test, fitted.test_classes),
        ):
            preds.append(prediction_frame(fs.table.iloc[idx], fitted.name, split, pred, cls))
    metric = cfg["selection_metric"]
    table = pd.DataFrame(rows).set_index("model")
    best = table[f"valid_{metric}"].sort_values(ascending=not HIGHER_IS_BETTER[metric]).index[0]
    write_json(
        paths.metrics_dir(dataset, root) / "baselines.json",
        {"selection_metric": metric, "best_on_valid": best, "models": models},
    )
    predictions = pd.concat(preds, ignore_index=True)
    out = paths.artifacts(dataset, root) / "baselines"
    out.mkdir(parents=True, exist_ok=True)
    predictions.to_parquet(out / "predictions.parquet", index=False)
    pd.DataFrame(search).to_csv(out / "search.csv", index=False)
    return table, predictions


def _flat(entry: dict[str, Any]) -> dict[str, Any]:
    return {f"{split}_{k}": v for split in ("valid", "test") for k, v in entry[split].items()}


def prediction_frame(rows: pd.DataFrame, model: str, split: str, pred, cls) -> pd.DataFrame:
    """One model's predictions on one split, in the layout every stage writes."""
    frame = rows[["review_id", "user_id", "item_id", "rating"]].copy()
    frame.insert(0, "model", model)
    frame.insert(1, "split", split)
    frame["prediction"] = pred
    frame["predicted_class"] = (
        cls if cls is not None else pd.Series(pred).clip(1, 5).round().astype(int).to_numpy()
    )
    return frame.reset_index(drop=True)
