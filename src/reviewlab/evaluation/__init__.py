"""Scoring predictions: the project's evaluate module plus bootstrap confidence intervals."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import evaluate
import numpy as np

METRIC_PATH = str(Path(__file__).with_name("rating_metrics.py"))
METRICS = ("rmse", "mae", "accuracy", "macro_f1", "qwk")
#: For each metric, whether a larger value is better.
HIGHER_IS_BETTER = {"rmse": False, "mae": False, "accuracy": True, "macro_f1": True, "qwk": True}


@cache
def load_metric() -> evaluate.EvaluationModule:
    """The project's rating metric, loaded by path through ``evaluate`` (works offline)."""
    return evaluate.load(METRIC_PATH)


def score(
    predictions: np.ndarray, references: np.ndarray, classes: np.ndarray | None = None
) -> dict[str, float]:
    """Point estimates of every rating metric via the evaluate module."""
    return load_metric().compute(
        predictions=np.asarray(predictions, dtype=np.float64),
        references=np.asarray(references, dtype=np.int64),
        predicted_classes=classes,
    )


def bootstrap_ci(
    predictions: np.ndarray,
    references: np.ndarray,
    classes: np.ndarray | None = None,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Percentile bootstrap CI of each metric (rows resampled with replacement)."""
    compute = load_metric()._compute
    predictions = np.asarray(predictions, dtype=np.float64)
    references = np.asarray(references, dtype=np.int64)
    rng = np.random.default_rng(seed)
    n = len(references)
    draws = {m: np.empty(n_resamples) for m in METRICS}
    for b in range(n_resamples):
        idx = rng.integers(0, n, n)
        result = compute(
            predictions[idx], references[idx], None if classes is None else classes[idx]
        )
        for m in METRICS:
            draws[m][b] = result[m]
    alpha = (1 - level) / 2
    return {
        m: {
            "low": float(np.nanquantile(values, alpha)),
            "high": float(np.nanquantile(values, 1 - alpha)),
        }
        for m, values in draws.items()
    }


def evaluate_split(
    predictions: np.ndarray,
    references: np.ndarray,
    classes: np.ndarray | None = None,
    ci: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Metrics of one split; with ``ci`` (n_resamples, level, seed) adds ``<metric>_low/_high``."""
    result = score(predictions, references, classes)
    if ci:
        for metric, bounds in bootstrap_ci(predictions, references, classes, **ci).items():
            result[f"{metric}_low"], result[f"{metric}_high"] = bounds["low"], bounds["high"]
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in result.items()}
