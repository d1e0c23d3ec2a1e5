"""A stacked ensemble of one dataset's rating models (issue #26).

A ridge regression on standardised inputs (its penalty chosen by leave-one-out within the rows
it is fitted on: scikit-learn's ``RidgeCV``) over the members' predicted ratings and a few
training-history counts of the reviewer and the item. It is fitted on the validation split
only: K-fold cross-fitting gives every validation row an out-of-fold prediction (its honest
validation score, and the rows its ordinal cut-points are fitted on); the stacker refitted on
the whole validation split predicts test, which is scored once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from reviewlab.core.evaluation.ordinal import decode, fit_cutpoints


@dataclass
class Stacked:
    """The stack's predictions (clipped to 1-5) and classes, and what it learnt."""

    valid: np.ndarray  # out of fold
    test: np.ndarray
    valid_classes: np.ndarray
    test_classes: np.ndarray
    pipeline: Pipeline  # the stacker refitted on validation
    cutpoints: list[float]

    @property
    def alpha(self) -> float:
        """The ridge penalty chosen on the whole validation split."""
        return float(self.pipeline[-1].alpha_)

    @property
    def weights(self) -> dict[str, float]:
        """Input -> its coefficient on the standardised input."""
        names, coef = self.pipeline.feature_names_in_, self.pipeline[-1].coef_
        return {c: round(float(w), 6) for c, w in zip(names, coef, strict=True)}


@dataclass
class StackModel:
    """The fitted stack (saved by stage ``ensemble``; ``reviewlab predict --ensemble``)."""

    members: list[str]  # the member models whose predicted ratings it reads, in order
    behaviour: list[str]  # the history counts it reads as log(1 + n)
    pipeline: Pipeline
    cutpoints: list[float]  # fitted on the out-of-fold validation predictions

    def predict(self, members: pd.DataFrame, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(rating estimates clipped to 1-5, classes) from the ``members``' predictions and
        the ``rows``' history columns (both indexed alike)."""
        x = with_behaviour(members[self.members].copy(), rows, self.behaviour)
        estimate = np.clip(self.pipeline.predict(x), 1, 5)
        return estimate, decode(estimate, self.cutpoints)


def stacker(alphas: list[float]) -> Pipeline:
    return make_pipeline(StandardScaler(), RidgeCV(alphas=alphas))


def inputs(
    predictions: pd.DataFrame,
    members: list[str],
    table: pd.DataFrame,
    behaviour: list[str],
    split: str,
) -> pd.DataFrame:
    """One row per review of ``split`` that every member scored (in ``table``'s order, indexed
    by ``review_id``; a fine-tune may score a fixed subset of validation): each member's
    predicted rating, then ``log1p`` of each ``behaviour`` column (missing: 0)."""
    part = predictions[predictions["split"] == split]
    wide = part.pivot(index="review_id", columns="model", values="prediction")
    missing = [m for m in members if m not in wide]
    if missing:
        raise ValueError(
            f"ensemble.members: no {split} predictions of {missing} (models: {sorted(wide)})"
        )
    rows = table.loc[table["split"] == split].set_index("review_id")
    x = wide.reindex(rows.index)[members].dropna()
    return with_behaviour(x, rows.loc[x.index], behaviour)


def with_behaviour(x: pd.DataFrame, rows: pd.DataFrame, behaviour: list[str]) -> pd.DataFrame:
    """``x`` with ``log1p`` of each ``behaviour`` column of ``rows`` (missing: 0) added."""
    for column in behaviour:
        x[f"log1p_{column}"] = np.log1p(rows[column].astype(np.float64).fillna(0.0))
    return x


def stack(
    x_valid: pd.DataFrame,
    y_valid: np.ndarray,
    x_test: pd.DataFrame,
    alphas: list[float],
    folds: int,
    seed: int,
) -> Stacked:
    """Cross-fit the stacker within validation, refit it there and predict test."""
    split = KFold(folds, shuffle=True, random_state=seed)
    valid = np.clip(cross_val_predict(stacker(alphas), x_valid, y_valid, cv=split), 1, 5)
    fitted = stacker(alphas).fit(x_valid, y_valid)
    test = np.clip(fitted.predict(x_test), 1, 5)
    cuts = fit_cutpoints(valid, y_valid)
    return Stacked(valid, test, decode(valid, cuts), decode(test, cuts), fitted, cuts)
