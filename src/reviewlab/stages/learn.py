"""Stage ``learn`` (a DVC matrix: dataset x size x variant x seed): one run of the learning curve.

Trains a variant of ``learning_curve`` (``finetune`` <- ``ablations.budget`` <- variant, with
``max_train_rows`` = size: :func:`reviewlab.core.compose.curve_config`) with one seed on the
dataset and scores the grid's fixed test, validation and training rows (no noisy copies).
A seed draws the same training rows for every variant, and its rows at one size are part of its
rows at every larger size. Writes ``metrics/<dataset>/learning_curve/<size>-<variant>-<seed>.json``
(+ ``_runtime.json``) and the run's predictions under
``artifacts/<dataset>/learning_curve/<size>-<variant>-<seed>/``.
"""

from __future__ import annotations

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.compose import curve_config
from reviewlab.core.params import Params
from reviewlab.stages.ablate import Result, Run, train_and_write


def run(
    params: Params,
    *,
    dataset: str,
    size: int,
    variant: str,
    seed: int,
    catalogue: Catalogue | None = None,
) -> Result:
    """Train and score ``variant`` on ``size`` training rows with ``seed``; write its files."""
    catalogue = catalogue or Catalogue()
    grid = params.ablations
    quiet = grid.model_copy(
        update={"robustness": grid.robustness.model_copy(update={"levels": {}})}
    )
    return train_and_write(
        catalogue,
        dataset,
        Run(curve_config(params, variant, size), quiet, variant, seed),
        catalogue.curve_run(dataset, size, variant, seed),
        (
            catalogue.curve_metric(dataset, size, variant, seed),
            catalogue.curve_runtime(dataset, size, variant, seed),
        ),
    )
