"""Stage ``ablate`` (a DVC matrix: variant x seed): one run of the ablation grid.

Trains the variant's config (``finetune`` <- ``ablations.budget`` <- variant) with one seed on
``ablations.dataset`` and scores the fixed test rows, validation rows and noisy test copies
(:func:`reviewlab.models.variants.run_variant`). Writes
``metrics/<dataset>/ablations/<variant>-<seed>.json`` (+ ``_runtime.json``) and the run's
predictions under ``artifacts/<dataset>/ablations/<variant>-<seed>/``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.compose import variant_config
from reviewlab.core.io import write_json
from reviewlab.core.params import AblationParams, FinetuneParams, Params
from reviewlab.models.encoder.data import training_frame
from reviewlab.models.variants import run_variant


@dataclass
class Result:
    metrics: dict[str, Any]  # <variant>-<seed>.json
    runtime: dict[str, Any]  # <variant>-<seed>_runtime.json
    predictions: pd.DataFrame  # review_id, set, prediction, predicted_class, label


def run(params: Params, *, variant: str, seed: int, catalogue: Catalogue | None = None) -> Result:
    """Train and score ``variant`` with ``seed``; write its metrics and predictions."""
    catalogue = catalogue or Catalogue()
    grid = params.ablations
    dataset = grid.dataset
    return train_and_write(
        catalogue,
        dataset,
        Run(variant_config(params, variant), grid, variant, seed),
        catalogue.ablation_run(dataset, variant, seed),
        (
            catalogue.ablation_metric(dataset, variant, seed),
            catalogue.ablation_runtime(dataset, variant, seed),
        ),
    )


@dataclass
class Run:
    """What one grid-like run trains: its config, the scoring rows (``grid``), name and seed."""

    cfg: FinetuneParams
    grid: AblationParams
    variant: str
    seed: int


def train_and_write(
    catalogue: Catalogue, dataset: str, spec: Run, out: Path, files: tuple[Path, Path]
) -> Result:
    """Train ``spec`` on ``dataset``; write its predictions into ``out`` and its metrics and
    runtime JSON to ``files`` (stages ``ablate`` and ``learn``)."""
    shutil.rmtree(out, ignore_errors=True)
    done = run_variant(
        training_frame(catalogue.load_features_table(dataset), catalogue.load_reviews(dataset)),
        spec.cfg,
        spec.grid,
        spec.variant,
        spec.seed,
        catalogue.run_checkpoints(out),
        catalogue.cache("tokenised"),
    )
    catalogue.write_table(done.predictions, catalogue.predictions(out))
    write_json(files[0], done.result)
    write_json(files[1], done.runtime)
    return Result(done.result, done.runtime, done.predictions)
