"""Rating metrics for 1-5 star predictions, as a local `evaluate` module.

Load it by path (no hub needed): ``evaluate.load(reviewlab.core.evaluation.METRIC_PATH)``.
Every stage, and the Trainer's ``compute_metrics``, scores predictions through it.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
RMSE and MAE of a continuous rating estimate (clipped to the rating range), and accuracy,
macro-F1 and quadratic weighted kappa (QWK) of the discrete predicted rating (the rounded
estimate unless ``predicted_classes`` is given, e.g. a classifier's arg-max).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: continuous rating estimates (floats).
    references: true ratings (ints).
    predicted_classes: optional discrete predictions; default: rounded, clipped predictions.
    low, high: the rating range (default 1, 5).
Returns:
    dict with rmse, mae, accuracy, macro_f1, qwk, n.
"""

_CITATION = """
@article{cohen1968weighted, title={Weighted kappa}, author={Cohen, Jacob},
journal={Psychological Bulletin}, volume={70}, number={4}, pages={213}, year={1968}}
"""


def confusion(references, classes, low, high):
    """Confusion matrix over the labels low..high (rows: true, columns: predicted)."""
    k = high - low + 1
    flat = (references - low) * k + (classes - low)
    return np.bincount(flat, minlength=k * k).reshape(k, k).astype(np.float64)


def from_confusion(matrix):
    """Accuracy, macro-F1 (over labels present in truth or prediction) and QWK."""
    n = matrix.sum()
    true_counts, pred_counts = matrix.sum(axis=1), matrix.sum(axis=0)
    diag = np.diag(matrix)
    present = (true_counts + pred_counts) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(present, 2 * diag / (true_counts + pred_counts), 0.0)
    k = matrix.shape[0]
    weights = (np.subtract.outer(np.arange(k), np.arange(k)) ** 2) / (k - 1) ** 2
    expected = np.outer(true_counts, pred_counts) / n
    denominator = (weights * expected).sum()
    qwk = 1 - (weights * matrix).sum() / denominator if denominator > 0 else float("nan")
    return {
        "accuracy": float(diag.sum() / n),
        "macro_f1": float(f1[present].mean()),
        "qwk": float(qwk),
    }


def rating_metrics(predictions, references, predicted_classes=None, low=1, high=5):
    """All metrics as plain floats (the function behind the evaluate module)."""
    predictions = np.clip(np.asarray(predictions, dtype=np.float64), low, high)
    references = np.asarray(references, dtype=np.int64)
    if predicted_classes is None:
        classes = np.rint(predictions).astype(np.int64)
    else:
        classes = np.clip(np.asarray(predicted_classes, dtype=np.int64), low, high)
    errors = predictions - references
    result = {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mae": float(np.mean(np.abs(errors))),
    }
    result.update(from_confusion(confusion(references, classes, low, high)))
    result["n"] = int(len(references))
    return result


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class RatingMetrics(evaluate.Metric):
    """RMSE, MAE, accuracy, macro-F1 and QWK for star ratings."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references, predicted_classes=None, low=1, high=5):
        return rating_metrics(predictions, references, predicted_classes, low, high)
