"""Stage ``baselines`` (per dataset): the non-neural baselines on the audited splits.

Fits every model of ``baselines.models`` (:mod:`reviewlab.models.baselines`), selected on
validation only; scores test once with bootstrap CIs. Writes
``metrics/<dataset>/baselines.json`` and ``artifacts/<dataset>/baselines/`` (predictions and
the validation search).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.params import Params
from reviewlab.data.features import FeatureSet
from reviewlab.models.baselines import fit_and_score


@dataclass
class Result:
    payload: dict[str, Any]  # baselines.json
    table: pd.DataFrame  # one row per model: valid_* and test_* metrics
    predictions: pd.DataFrame  # validation and test predictions of every model
    search: pd.DataFrame  # every validation grid point with its score

    @property
    def best(self) -> str:
        """The model selected on validation."""
        return self.payload["best_on_valid"]


def run(params: Params, dataset: str, catalogue: Catalogue | None = None) -> Result:
    """Fit and score every baseline of ``dataset``; write metrics, predictions and search."""
    catalogue = catalogue or Catalogue()
    features = FeatureSet.load(catalogue.features(dataset))
    scored = fit_and_score(
        features, params.baselines, params.seed, params.evaluation.ci(params.seed)
    )
    catalogue.write_metric(dataset, "baselines", scored.payload)
    folder = catalogue.baselines(dataset)
    catalogue.write_table(scored.predictions, catalogue.predictions(folder))
    scored.search.to_csv(catalogue.search(folder), index=False)
    return Result(scored.payload, scored.table, scored.predictions, scored.search)
