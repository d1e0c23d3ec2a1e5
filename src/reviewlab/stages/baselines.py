"""Stage ``baselines`` (per dataset): the non-neural baselines on the audited splits.

Fits every model of ``baselines.models`` (:mod:`reviewlab.models.classical`), selected on
validation only; scores test once with bootstrap CIs. Writes
``metrics/<dataset>/baselines.json``, ``artifacts/<dataset>/baselines/`` (predictions and
the validation search) and ``artifacts/<dataset>/baseline_models/`` (the fitted models, for
``reviewlab predict`` and stage ``transfer``).
"""

from __future__ import annotations

import joblib

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.params import Params
from reviewlab.data.features import FeatureSet
from reviewlab.models.classical import BaselineRun, fit_and_score


def run(params: Params, dataset: str, catalogue: Catalogue | None = None) -> BaselineRun:
    """Fit and score every baseline of ``dataset``; write metrics, predictions and search."""
    catalogue = catalogue or Catalogue()
    features = FeatureSet.load(catalogue.features(dataset))
    scored = fit_and_score(features, params.baselines, params.seed, params.evaluation)
    catalogue.write_metric(dataset, "baselines", scored.payload)
    folder = catalogue.baselines(dataset)
    catalogue.write_table(scored.predictions, catalogue.predictions(folder))
    scored.search.to_csv(catalogue.search(folder), index=False)
    models = catalogue.baseline_models(dataset)
    models.mkdir(parents=True, exist_ok=True)
    joblib.dump(scored.scorers, catalogue.scorers(models))
    return scored
