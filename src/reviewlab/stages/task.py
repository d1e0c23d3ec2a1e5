"""Stage ``task`` (one per key of ``tasks``): derive, fine-tune and score a review-level task.

Derives the task's dataset from ``tasks.<name>.dataset`` (:func:`reviewlab.studies.tasks.derive`:
the labelled rows, with the source's splits and features) into ``artifacts/task_<name>/``,
fine-tunes on it (``finetune`` <- ``task_budget.finetune`` <- label and head) and scores every
model on the fixed test subset (:func:`reviewlab.studies.tasks.run_task`). Writes
``metrics/tasks/<name>.json``, ``<name>_runtime.json`` and the predictions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from reviewlab.core.artifacts import TASKS, Catalogue, task_dataset
from reviewlab.core.compose import task_config
from reviewlab.core.params import Params
from reviewlab.data.features import FeatureSet
from reviewlab.models.encoder.data import training_frame
from reviewlab.studies.tasks import derive, run_task


@dataclass
class Result:
    metrics: dict[str, Any]  # metrics/tasks/<name>.json
    runtime: dict[str, Any]  # metrics/tasks/<name>_runtime.json
    predictions: pd.DataFrame  # review_id, predicted, score, model, label


def run(params: Params, name: str, catalogue: Catalogue | None = None) -> Result:
    """Derive task ``name``, fine-tune on it, fit the baselines; write metrics and predictions."""
    catalogue = catalogue or Catalogue()
    task, seed = params.tasks[name], params.seed
    start = time.perf_counter()
    source, target = task.dataset, task_dataset(name)
    derived = derive(
        name, task, FeatureSet.load(catalogue.features(source)), catalogue.load_reviews(source)
    )
    derived.features.save(
        catalogue.features(target), FeatureSet.load_vectorizers(catalogue.features(source))
    )
    catalogue.write_table(derived.reviews, catalogue.reviews(target))

    out = catalogue.artifacts(target)
    done = run_task(
        name,
        task,
        params.task_budget,
        task_config(params, name),
        training_frame(catalogue.load_features_table(target), catalogue.load_reviews(target)),
        FeatureSet.load(catalogue.features(target)),
        derived.rows,
        seed,
        params.evaluation,
        catalogue.run_checkpoints(out),
        catalogue.cache("tokenised"),
        started=start,
    )
    catalogue.write_table(done.predictions, catalogue.predictions(out))
    catalogue.write_metric(TASKS, name, done.result)
    catalogue.write_metric(TASKS, f"{name}_runtime", done.runtime)
    return Result(done.result, done.runtime, done.predictions)
