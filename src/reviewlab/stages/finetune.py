"""Stage ``finetune`` (per dataset): fine-tune the pretrained encoder on one dataset, with
the ``finetune`` block and the dataset's own overrides (``datasets.<dataset>.finetune``).

Trains on the audited training split (:func:`reviewlab.models.finetune.run.fit`), selects the
best checkpoint on validation, scores validation and test once (test with bootstrap CIs).
Writes ``metrics/<dataset>/finetune.json``, ``finetune_runtime.json``, the DVCLive curves under
``metrics/<dataset>/finetune_live`` and ``artifacts/<dataset>/finetune/`` (the model and the
predictions); reads ``metrics/<dataset>/baselines.json`` to show the encoder beside them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.compose import dataset_config
from reviewlab.core.evaluation.compare import TRIVIAL, rating_families, verdicts
from reviewlab.core.evaluation.inference import failure
from reviewlab.core.params import Params
from reviewlab.models.finetune.data import training_frame
from reviewlab.models.finetune.explain import explain_rows
from reviewlab.models.finetune.model import save_model
from reviewlab.models.finetune.run import evaluate_finetune, fit, model_meta
from reviewlab.reporting import analysis

#: Worst-predicted test reviews explained with their top tokens.
WORST_ROWS = 5


@dataclass
class Result:
    metrics: dict[str, Any]  # finetune.json
    runtime: dict[str, Any]  # finetune_runtime.json
    history: pd.DataFrame  # the Trainer's log history (training curves)
    predictions: pd.DataFrame  # validation and test predictions
    baselines: dict[str, Any]  # baselines.json of the same dataset
    test_words: pd.Series  # words in each test review, in the order of ``test``
    worst: pd.DataFrame  # worst test reviews: rating, prediction, top tokens, text

    @property
    def test(self) -> pd.DataFrame:
        """The test predictions."""
        return self.predictions[self.predictions["split"] == "test"].reset_index(drop=True)

    @property
    def comparison(self) -> dict[str, Any]:
        """``baselines.json`` with the fine-tuned model added to its models."""
        models = {**self.baselines["models"], **self.metrics["models"]}
        return {**self.baselines, "models": models}


def run(params: Params, dataset: str, catalogue: Catalogue | None = None) -> Result:
    """Fine-tune on ``dataset``; write metrics, curves, model and predictions."""
    catalogue = catalogue or Catalogue()
    cfg, seed = dataset_config(params, dataset), params.seed
    frame = training_frame(catalogue.load_features_table(dataset), catalogue.load_reviews(dataset))
    checkpoints = catalogue.checkpoints(f"{dataset}-{cfg.name}")
    fitted = fit(
        frame,
        cfg,
        seed,
        checkpoints,
        catalogue.cache("tokenised"),
        catalogue.finetune_live(dataset),
    )
    evaluated = evaluate_finetune(fitted, params.evaluation.ci(seed))
    baselines = pd.read_parquet(catalogue.predictions(catalogue.baselines(dataset)))
    _compare_with_baselines(evaluated.metrics, evaluated.predictions, baselines, cfg.name, params)
    catalogue.write_metric(dataset, "finetune", evaluated.metrics)
    catalogue.write_metric(dataset, "finetune_runtime", evaluated.runtime)
    model_dir = catalogue.finetune_model(dataset)
    save_model(fitted.trainer.model, model_dir, model_meta(fitted))
    fitted.tokenizer.save_pretrained(model_dir)
    catalogue.write_table(evaluated.predictions, catalogue.predictions(catalogue.finetune(dataset)))
    shutil.rmtree(checkpoints, ignore_errors=True)  # complete: nothing left to resume

    predictions = evaluated.predictions
    test = predictions[predictions["split"] == "test"].reset_index(drop=True)
    texts = frame.set_index("review_id")
    return Result(
        evaluated.metrics,
        evaluated.runtime,
        evaluated.history,
        predictions,
        catalogue.read_metric(dataset, "baselines"),
        texts.loc[test["review_id"], "text"].str.split().str.len(),
        _worst_explained(test, texts, model_dir),
    )


def _compare_with_baselines(
    metrics: dict[str, Any],
    predictions: pd.DataFrame,
    baselines: pd.DataFrame,
    name: str,
    params: Params,
) -> None:
    """Paired verdicts of the fine-tune ``name`` against every baseline of its dataset on the
    same test rows (``comparisons.vs_baselines``), and whether it failed against the trivial
    one."""
    evaluation = params.evaluation
    both = pd.concat([baselines, predictions.drop(columns="label")], ignore_index=True)
    families = rating_families(both, name, evaluation.margins, evaluation.design(params.seed))
    trivial = verdicts(families["vs_trivial"], "rmse", TRIVIAL)
    metrics["models"][name].update(failure(trivial.get(name)))
    metrics["comparisons"] = {"vs_baselines": families["vs_selected"]}


def _worst_explained(test: pd.DataFrame, texts: pd.DataFrame, model_dir: Path) -> pd.DataFrame:
    """The worst-predicted test reviews with their top tokens (integrated gradients of the
    saved model) and the start of their text."""
    worst = analysis.worst(test, WORST_ROWS).set_index("review_id")
    rows = texts.loc[worst.index]
    worst["top_tokens"] = explain_rows(model_dir, rows)
    worst["text"] = rows["text"].str.slice(0, 300)
    return worst[["rating", "prediction", "top_tokens", "text"]]
