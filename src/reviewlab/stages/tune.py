"""Stage ``tune`` (a DVC matrix: variant x trial x seed; frozen in dvc.yaml): one tuning run.

Trains one candidate of a grid variant (``ablations.tuning.space.<variant>.<trial>`` over the
budget) with one tuning seed on ``ablations.dataset`` and scores the validation rows only
(:func:`reviewlab.models.variants.tune_trial`). Writes
``tuning/runs/<dataset>/<variant>-<trial>-<seed>.json``; the ``tuning`` stage turns the
runs into the tuning table that chose each variant's settings.
"""

from __future__ import annotations

from typing import Any

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.compose import trial_config
from reviewlab.core.io import write_json
from reviewlab.core.params import Params
from reviewlab.core.runtime import hardware
from reviewlab.models.encoder.data import training_frame
from reviewlab.models.variants import tune_trial


def run(
    params: Params, *, variant: str, trial: str, seed: int, catalogue: Catalogue | None = None
) -> dict[str, Any]:
    """Train and score candidate ``trial`` of ``variant`` with ``seed``; write its metrics."""
    catalogue = catalogue or Catalogue()
    grid = params.ablations
    dataset = grid.dataset
    frame = training_frame(catalogue.load_features_table(dataset), catalogue.load_reviews(dataset))
    result = tune_trial(
        frame,
        trial_config(params, variant, trial),
        seed,
        grid.valid_rows,
        grid.robustness.seed,
        catalogue.cache("tokenised"),
    )
    result = {
        "variant": variant,
        "trial": trial,
        "seed": seed,
        "candidate": grid.tuning.space[variant][trial],
        "budget": grid.budget,  # what the choice is valid for: the report flags a changed budget
        **result,
        "hardware": hardware(),
    }
    write_json(catalogue.tuning_metric(dataset, variant, trial, seed), result)
    return result
