"""Stage ``finetune`` (per dataset): fine-tune the pretrained encoder on one dataset, with
the ``finetune`` block and the dataset's own overrides (``datasets.<dataset>.finetune``).

Trains on the audited training split (:func:`reviewlab.models.encoder.run.fit`), selects the
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
from reviewlab.core.params import FinetuneParams, Params
from reviewlab.models.encoder.data import training_frame
from reviewlab.models.encoder.model import save_model
from reviewlab.models.encoder.predict import explain_rows
from reviewlab.models.encoder.run import Evaluated, evaluate_finetune, fit, model_meta
from reviewlab.models.encoder.seeds import best_seed, combine
from reviewlab.reporting import analysis

#: Worst-predicted test reviews explained with their top tokens.
WORST_ROWS = 5


@dataclass
class Result:
    metrics: dict[str, Any]  # finetune.json
    runtime: dict[str, Any]  # finetune_runtime.json
    history: pd.DataFrame  # the Trainer's log history (training curves)
    predictions: pd.DataFrame  # validation and test predictions of the saved seed
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
    """Fine-tune on ``dataset`` once per seed; write metrics, curves, model and predictions."""
    catalogue = catalogue or Catalogue()
    cfg = dataset_config(params, dataset)
    frame = training_frame(catalogue.load_features_table(dataset), catalogue.load_reviews(dataset))
    model_dir = catalogue.finetune_model(dataset)
    evaluated = _train_seeds(frame, cfg, cfg.seeds or [params.seed], params, catalogue, model_dir)
    everything = evaluated.predictions  # every seed's (column `seed` for several)
    baselines = pd.read_parquet(catalogue.predictions(catalogue.baselines(dataset)))
    _compare_with_baselines(evaluated.metrics, everything, baselines, cfg.name, params)
    catalogue.write_metric(dataset, "finetune", evaluated.metrics)
    catalogue.write_metric(dataset, "finetune_runtime", evaluated.runtime)
    predictions = _saved_seed(everything, evaluated.metrics["models"][cfg.name])
    catalogue.write_table(predictions, catalogue.predictions(catalogue.finetune(dataset)))

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


def _train_seeds(
    frame: pd.DataFrame,
    cfg: FinetuneParams,
    seeds: list[int],
    params: Params,
    catalogue: Catalogue,
    model_dir: Path,
) -> Evaluated:
    """Train and score ``cfg`` once per seed; save the model of the seed best on validation
    (DVCLive logs the first seed's curves). One seed: its report, test intervals included;
    several: :func:`reviewlab.models.encoder.seeds.combine`."""
    dataset, ci = cfg.dataset, params.evaluation.ci(params.seed)
    runs: dict[int, Evaluated] = {}
    for seed in seeds:
        checkpoints = catalogue.checkpoints(f"{dataset}-{cfg.name}-{seed}")
        live = catalogue.finetune_live(dataset) if seed == seeds[0] else None
        fitted = fit(frame, cfg, seed, checkpoints, catalogue.cache("tokenised"), live)
        runs[seed] = evaluate_finetune(fitted, ci if len(seeds) == 1 else None)
        if best_seed(runs, cfg.selection_metric) == seed:
            save_model(fitted.trainer.model, model_dir, model_meta(fitted))
            fitted.tokenizer.save_pretrained(model_dir)
    for seed in seeds:  # complete: nothing left to resume
        shutil.rmtree(catalogue.checkpoints(f"{dataset}-{cfg.name}-{seed}"), ignore_errors=True)
    return runs[seeds[0]] if len(seeds) == 1 else combine(runs, ci)


def _saved_seed(predictions: pd.DataFrame, entry: dict[str, Any]) -> pd.DataFrame:
    """The predictions of the saved model (the seed best on validation), one row per review."""
    if "seed" not in predictions:
        return predictions
    saved = predictions["seed"] == entry["selected"]["saved_seed"]
    return predictions[saved].drop(columns="seed").reset_index(drop=True)


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
