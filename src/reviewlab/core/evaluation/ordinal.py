"""Ordinal decoding: a regressor's star-rating classes from cut-points fitted on validation.

Rounding at fixed .5 points is a decoding rule, not a property of the model: a regressor whose
estimates sit between 4 and 4.5 for most rows predicts "4" everywhere and loses on accuracy to
a classifier that learned where the classes lie. So every regressor's classes come from
cut-points fitted on its validation predictions (``c_1 < ... < c_4``: rating ``j + 1`` for
``c_j <= estimate < c_(j+1)``) that maximise validation accuracy, the quantity a classifier's
arg-max decision targets; the test split never takes part.
"""

from __future__ import annotations

import numpy as np

from reviewlab.core.evaluation.rating_metrics import confusion, from_confusion

#: Candidate positions per cut-point (quantiles of the validation estimates).
CANDIDATES = 200
#: Coordinate-ascent passes over the cut-points.
PASSES = 3


def decode(estimate: np.ndarray, cuts: list[float] | np.ndarray, low: int = 1) -> np.ndarray:
    """Classes of continuous estimates under ascending ``cuts``."""
    return low + np.searchsorted(np.asarray(cuts), np.asarray(estimate), side="right")


def fit_cutpoints(
    estimate: np.ndarray, truth: np.ndarray, low: int = 1, high: int = 5
) -> list[float]:
    """Ascending cut-points maximising accuracy of :func:`decode` on (``estimate``,
    ``truth``), by coordinate ascent from the rounding points (1.5, 2.5, ...) over quantiles of
    the estimates; among equal accuracies the candidate nearest the current cut wins, so a model
    whose rounding is already best keeps it."""
    estimate = np.asarray(estimate, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.int64)
    cuts = np.arange(low, high) + 0.5
    grid = np.unique(np.quantile(estimate, np.linspace(0, 1, CANDIDATES)))
    grid = np.concatenate([grid, cuts])

    def accuracy(c: np.ndarray) -> float:
        classes = decode(estimate, c, low)
        return from_confusion(confusion(truth, classes, low, high))["accuracy"]

    for _ in range(PASSES):
        for j in range(len(cuts)):
            lo = cuts[j - 1] if j else -np.inf
            hi = cuts[j + 1] if j + 1 < len(cuts) else np.inf
            options = np.unique(np.append(grid[(grid > lo) & (grid < hi)], cuts[j]))
            scores = []
            for value in options:
                trial = cuts.copy()
                trial[j] = value
                scores.append(accuracy(trial))
            scores = np.asarray(scores)
            best = np.flatnonzero(scores == scores.max())
            cuts[j] = options[best[np.argmin(np.abs(options[best] - cuts[j]))]]
    return [round(float(c), 6) for c in cuts]
