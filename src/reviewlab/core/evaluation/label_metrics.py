"""Classification metrics for review-level labels (binary or multi-class), as a local
`evaluate` module.

Load it by path (no hub needed): ``evaluate.load(reviewlab.core.evaluation.LABEL_METRIC_PATH)``.
The opinion-mining and user-classification tasks score every model through it.
"""

import datasets
import evaluate
import numpy as np
from scipy.stats import rankdata

_DESCRIPTION = """
Accuracy and macro-F1 of predicted class ids; for binary labels also F1 of the positive
class (1) and, given ``scores`` (the probability or any monotone score of class 1), ROC-AUC.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: predicted class ids (ints).
    references: true class ids (ints).
    scores: optional score of the positive class (binary labels only).
    binary: whether the labels are 0/1 with 1 the positive class.
Returns:
    dict with accuracy, macro_f1, n and, for binary labels, f1 and roc_auc (NaN when one
    class is missing or no scores are given).
"""

_CITATION = """
@article{fawcett2006roc, title={An introduction to ROC analysis}, author={Fawcett, Tom},
journal={Pattern Recognition Letters}, volume={27}, number={8}, pages={861--874}, year={2006}}
"""


def f1_per_class(references, predictions, n_classes):
    """F1 of every class from the confusion counts (0 where a class is never seen)."""
    matrix = np.bincount(references * n_classes + predictions, minlength=n_classes**2)
    matrix = matrix.reshape(n_classes, n_classes).astype(np.float64)
    tp = np.diag(matrix)
    denominator = matrix.sum(axis=0) + matrix.sum(axis=1)
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)


def roc_auc(references, scores):
    """ROC-AUC as the Mann-Whitney statistic (ties count one half): the probability that a
    random positive scores above a random negative. NaN unless both classes are present."""
    positive = references == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def label_metrics(predictions, references, scores=None, binary=True):
    """All metrics as plain floats (the function behind the evaluate module). Macro-F1
    averages over the classes present in the references or the predictions."""
    predictions = np.asarray(predictions, dtype=np.int64)
    references = np.asarray(references, dtype=np.int64)
    n_classes = int(max(predictions.max(initial=0), references.max(initial=0))) + 1
    f1 = f1_per_class(references, predictions, n_classes)
    present = np.isin(np.arange(n_classes), np.union1d(references, predictions))
    result = {
        "accuracy": float(np.mean(predictions == references)),
        "macro_f1": float(f1[present].mean()),
    }
    if binary:
        result["f1"] = float(f1[1]) if n_classes > 1 else 0.0
        result["roc_auc"] = (
            roc_auc(references, np.asarray(scores, dtype=np.float64))
            if scores is not None
            else float("nan")
        )
    result["n"] = int(len(references))
    return result


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class LabelMetrics(evaluate.Metric):
    """Accuracy, macro-F1, F1 and ROC-AUC for review-level labels."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references, scores=None, binary=True):
        return label_metrics(predictions, references, scores, binary)
