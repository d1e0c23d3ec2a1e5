"""Classification metrics for review-level labels (binary or multi-class), as a local
`evaluate` module.

Load it by path (no hub needed): ``evaluate.load(reviewlab.evaluation.LABEL_METRIC_PATH)``.
The opinion-mining and user-classification tasks score every model through it.
"""

import datasets
import evaluate
import numpy as np
from sklearn.metrics import f1_score, roc_auc_score

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


def label_metrics(predictions, references, scores=None, binary=True):
    """All metrics as plain floats (the function behind the evaluate module)."""
    predictions = np.asarray(predictions, dtype=np.int64)
    references = np.asarray(references, dtype=np.int64)
    result = {
        "accuracy": float(np.mean(predictions == references)),
        "macro_f1": float(f1_score(references, predictions, average="macro", zero_division=0)),
    }
    if binary:
        result["f1"] = float(f1_score(references, predictions, zero_division=0))
        both = len(np.unique(references)) == 2
        result["roc_auc"] = (
            float(roc_auc_score(references, np.asarray(scores, dtype=np.float64)))
            if scores is not None and both
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
