"""Models compared on the same test rows through the paired inference
(:mod:`reviewlab.core.evaluation.inference`): rating models by the rating metrics, label
models by the label metrics, seeded runs blocked by seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from reviewlab.core.evaluation import HIGHER_IS_BETTER
from reviewlab.core.evaluation.inference import Design, bootstrap_scores, compare, decide, rounded
from reviewlab.core.evaluation.label_metrics import label_metrics
from reviewlab.core.evaluation.rating_metrics import rating_metrics

#: The trivial rating model every other rating model must beat (baselines stage).
TRIVIAL = "mean_majority"


@dataclass
class Runs:
    """One model's predictions on the compared rows, one row of each array per seed (a single
    row for a model trained once); ``scores``: a binary label model's positive-class score."""

    estimate: np.ndarray  # [seed, row] continuous estimate (ratings) or class (labels)
    classes: np.ndarray  # [seed, row] predicted class
    scores: np.ndarray | None = None
    clean: np.ndarray | None = None  # [seed, row] the estimates on unperturbed copies of the rows

    @classmethod
    def single(cls, estimate, classes, scores=None) -> Runs:
        """A model trained once (one seed)."""
        return cls(
            np.atleast_2d(np.asarray(estimate, dtype=np.float64)),
            np.atleast_2d(np.asarray(classes, dtype=np.int64)),
            None if scores is None else np.atleast_2d(np.asarray(scores, dtype=np.float64)),
        )

    @property
    def seeds(self) -> int:
        return len(self.estimate)


MetricFn = Callable[[Runs, int, np.ndarray, np.ndarray], dict[str, float]]


def rating_fn(runs: Runs, seed: int, rows: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """The rating metrics of one seed's predictions on ``rows``."""
    return rating_metrics(runs.estimate[seed, rows], truth, runs.classes[seed, rows])


def rmse_drop_fn(runs: Runs, seed: int, rows: np.ndarray, truth: np.ndarray) -> dict:
    """How much RMSE rises from the clean rows to their perturbed copies (robustness)."""

    def rmse(estimate: np.ndarray) -> float:
        return float(np.sqrt(np.mean((np.clip(estimate, 1, 5) - truth) ** 2)))

    return {"rmse_drop": rmse(runs.estimate[seed, rows]) - rmse(runs.clean[seed, rows])}


def label_fn(binary: bool) -> MetricFn:
    """The label metrics of one seed's predictions on ``rows`` (binary or multi-class)."""

    def fn(runs: Runs, seed: int, rows: np.ndarray, truth: np.ndarray) -> dict[str, float]:
        scores = None if runs.scores is None else runs.scores[seed, rows]
        return label_metrics(runs.classes[seed, rows], truth, scores, binary)

    return fn


def compare_models(
    models: dict[str, Runs],
    truth: np.ndarray,
    pairs: list[tuple[str, str]],
    metrics: dict[str, bool],
    margins: dict[str, float],
    design: Design,
    metric_fn: MetricFn = rating_fn,
) -> list[dict[str, Any]]:
    """Each (``model``, ``reference``) pair compared as model - reference on every metric of
    ``metrics`` (name -> higher is better); one family per metric, Holm within it. Models with
    several seeds share them (blocked); a model trained once counts the same in every block.
    Returns one row per pair and metric: ``model``, ``reference``, ``metric`` and the decided
    comparison (difference, low, high, p-values, mde, margin, per_seed, verdict, ...)."""
    if not pairs:
        return []
    names = list(dict.fromkeys(name for pair in pairs for name in pair))
    k = max(models[n].seeds for n in names)
    truth = np.asarray(truth)

    def score(rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(metrics), len(names), k))
        for m, name in enumerate(names):
            runs = models[name]
            for s in range(k):
                values = metric_fn(runs, s if runs.seeds > 1 else 0, rows, truth[rows])
                out[:, m, s] = [values[metric] for metric in metrics]
        return out

    point, draws = bootstrap_scores(score, len(truth), design)
    position = {name: i for i, name in enumerate(names)}
    rows = []
    for i, (metric, higher) in enumerate(metrics.items()):
        family = [
            compare(
                point[i, position[a]],
                point[i, position[b]],
                draws[:, i, position[a]],
                draws[:, i, position[b]],
                higher_is_better=higher,
                margin=margins[metric],
                design=design,
            )
            for a, b in pairs
        ]
        for (a, b), decided in zip(pairs, decide(family, design), strict=True):
            rows.append({"model": a, "reference": b, "metric": metric, **rounded(decided)})
    return rows


def verdicts(rows: list[dict[str, Any]], metric: str, reference: str | None = None) -> dict:
    """``{model: verdict}`` of the comparisons on ``metric`` (against ``reference``)."""
    return {
        r["model"]: r["verdict"]
        for r in rows
        if r["metric"] == metric and (reference is None or r["reference"] == reference)
    }


def rating_families(
    predictions: pd.DataFrame,
    selected: str,
    margins: dict[str, float],
    design: Design,
) -> dict[str, list[dict[str, Any]]]:
    """Two families on the test rows of a predictions table (``model``, ``split``,
    ``review_id``, ``rating``, ``prediction``, ``predicted_class``; a ``seed`` column for a
    model trained with several seeds): every model against the :data:`TRIVIAL` one
    (``vs_trivial``: a model not better on RMSE has failed) and ``selected`` against every
    other model (``vs_selected``)."""
    test = predictions[predictions["split"] == "test"]
    truth = test.drop_duplicates("review_id").set_index("review_id")["rating"]
    runs = {}
    for name, part in test.groupby("model", sort=False):
        seeds = (
            part.groupby("seed", sort=True)
            if "seed" in part and part["seed"].notna().all()
            else [(0, part)]
        )
        ordered = [p.set_index("review_id").loc[truth.index] for _, p in seeds]
        runs[name] = Runs(
            np.stack([p["prediction"].to_numpy(np.float64) for p in ordered]),
            np.stack([p["predicted_class"].to_numpy(np.int64) for p in ordered]),
        )

    def family(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
        if not pairs:
            return []
        return compare_models(runs, truth.to_numpy(), pairs, HIGHER_IS_BETTER, margins, design)

    others = [name for name in runs if name != selected]
    return {
        "vs_trivial": family([(m, TRIVIAL) for m in runs if m != TRIVIAL and TRIVIAL in runs]),
        "vs_selected": family([(selected, m) for m in others]),
    }
