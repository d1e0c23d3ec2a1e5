"""Scoring predictions: the project's evaluate module plus bootstrap confidence intervals."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import evaluate
import numpy as np

METRIC_PATH = str(Path(__file__).with_name("rating_metrics.py"))
LABEL_METRIC_PATH = str(Path(__file__).with_name("label_metrics.py"))
METRICS = ("rmse", "mae", "accuracy", "macro_f1", "qwk")
#: For each metric, whether a larger value is better.
HIGHER_IS_BETTER = {"rmse": False, "mae": False, "accuracy": True, "macro_f1": True, "qwk": True}


@cache
def load_metric(path: str = METRIC_PATH) -> evaluate.EvaluationModule:
    """One of the project's metric modules, loaded by path through ``evaluate`` (offline)."""
    return evaluate.load(path)


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
    """Percentile bootstrap CI of each rating metric (rows resampled with replacement)."""
    compute = load_metric()._compute
    predictions = np.asarray(predictions, dtype=np.float64)
    references = np.asarray(references, dtype=np.int64)
    return percentile_bootstrap(
        lambda idx: compute(
            predictions[idx], references[idx], None if classes is None else classes[idx]
        ),
        len(references),
        METRICS,
        n_resamples,
        level,
        seed,
    )


def percentile_bootstrap(
    compute: Callable[[np.ndarray], dict[str, float]],
    n: int,
    metrics: tuple[str, ...],
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Percentile CI of ``metrics`` from ``compute(row_indices)`` over resampled rows."""
    rng = np.random.default_rng(seed)
    draws = {m: np.empty(n_resamples) for m in metrics}
    for b in range(n_resamples):
        result = compute(rng.integers(0, n, n))
        for m in metrics:
            draws[m][b] = result[m]
    alpha = (1 - level) / 2
    return {
        m: {
            "low": float(np.nanquantile(values, alpha)),
            "high": float(np.nanquantile(values, 1 - alpha)),
        }
        for m, values in draws.items()
    }


def evaluate_labels(
    predictions: np.ndarray,
    references: np.ndarray,
    scores: np.ndarray | None = None,
    binary: bool = True,
    ci: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Classification metrics of one model (label module); with ``ci`` adds ``_low/_high``."""
    module = load_metric(LABEL_METRIC_PATH)
    predictions = np.asarray(predictions, dtype=np.int64)
    references = np.asarray(references, dtype=np.int64)
    scores = None if scores is None else np.asarray(scores, dtype=np.float64)
    result = module.compute(
        predictions=predictions, references=references, scores=scores, binary=binary
    )
    if ci:
        names = tuple(k for k, v in result.items() if k != "n" and not np.isnan(v))
        bounds = percentile_bootstrap(
            lambda idx: module._compute(
                predictions[idx], references[idx], None if scores is None else scores[idx], binary
            ),
            len(references),
            names,
            **ci,
        )
        for metric, bound in bounds.items():
            result[f"{metric}_low"], result[f"{metric}_high"] = bound["low"], bound["high"]
    return {k: _json_number(v) for k, v in result.items()}


def _json_number(value: Any) -> Any:
    """Floats rounded to 6 places; an undefined metric (NaN) becomes None (JSON null)."""
    if not isinstance(value, float):
        return value
    return None if np.isnan(value) else round(value, 6)


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


def evaluate_seeds(
    predictions: np.ndarray,
    references: np.ndarray,
    classes: np.ndarray,
    ci: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Metrics of one model trained with several seeds, scored on the same rows
    (``predictions`` and ``classes``: ``[seed, row]``): each metric's mean over the seeds and,
    with two or more seeds, its standard deviation across them (``<metric>_sd``); with ``ci``,
    a percentile interval of the mean that resamples the rows and the seeds together. One
    seed gives exactly :func:`evaluate_split`'s result."""
    predictions = np.atleast_2d(np.asarray(predictions, dtype=np.float64))
    classes = np.atleast_2d(np.asarray(classes, dtype=np.int64))
    references = np.asarray(references, dtype=np.int64)
    if len(predictions) == 1:
        return evaluate_split(predictions[0], references, classes[0], ci)
    per_seed = [score(p, references, c) for p, c in zip(predictions, classes, strict=True)]
    result: dict[str, Any] = {m: float(np.mean([s[m] for s in per_seed])) for m in METRICS}
    result["n"] = len(references)
    result |= {f"{m}_sd": float(np.std([s[m] for s in per_seed], ddof=1)) for m in METRICS}
    if ci:
        compute = load_metric()._compute
        seeds = np.random.default_rng(ci.get("seed", 0) + 1)
        k = len(predictions)

        def mean_of_resampled_seeds(rows: np.ndarray) -> dict[str, float]:
            picked = [
                compute(predictions[s, rows], references[rows], classes[s, rows])
                for s in seeds.integers(0, k, k)
            ]
            return {m: float(np.mean([p[m] for p in picked])) for m in METRICS}

        bounds = percentile_bootstrap(mean_of_resampled_seeds, len(references), METRICS, **ci)
        for metric, bound in bounds.items():
            result[f"{metric}_low"], result[f"{metric}_high"] = bound["low"], bound["high"]
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in result.items()}
