"""Stage ``transfer`` (one per key of ``transfer`` in params.yaml): a store's models on another
store's test split (:mod:`reviewlab.studies.borrowed`).

Reads the source's fitted baselines (``artifacts/<source>/baseline_models``), TF-IDF
vectorizers and fine-tuned model, the target's features, reviews and in-domain test
predictions; writes ``metrics/transfer/<pair>.json`` and the borrowed models' predictions
(``artifacts/transfer/<pair>/``). Stage ``transfers`` reports every pair.
"""

from __future__ import annotations

from typing import Any

import joblib
import numpy as np
import pandas as pd

from reviewlab.core.artifacts import TRANSFER, Catalogue
from reviewlab.core.evaluation.compare import TRIVIAL
from reviewlab.core.evaluation.ordinal import decode
from reviewlab.core.params import Params
from reviewlab.data.features import FeatureSet, tfidf_of
from reviewlab.models.classical import Scorer
from reviewlab.models.encoder.data import training_frame
from reviewlab.models.encoder.predict import predict_frame
from reviewlab.models.predictions import prediction_frame
from reviewlab.studies.borrowed import Scored, borrowed, compare, in_domain


def run(params: Params, pair: str, catalogue: Catalogue | None = None) -> dict[str, Any]:
    """Score the target's test split with the source's models; compare; write the metrics."""
    catalogue = catalogue or Catalogue()
    source, target = params.transfer[pair].source, params.transfer[pair].target
    table = catalogue.load_features_table(target)
    test = table[table["split"] == "test"].reset_index(drop=True)
    scored = [*_own(catalogue, target, test), *_lent(catalogue, source, target, test)]
    truth = test["rating"].to_numpy()
    payload = {"source": source, "target": target}
    payload |= compare(scored, truth, params.evaluation, params.seed)
    catalogue.write_metric(TRANSFER, pair, payload)
    frames = [prediction_frame(test, s.name, "test", s.estimate, s.classes) for s in scored]
    predictions = pd.concat(frames[3:], ignore_index=True)  # the borrowed models'
    catalogue.write_table(predictions, catalogue.predictions(catalogue.transfer(pair)))
    return payload


def _own(catalogue: Catalogue, target: str, test: pd.DataFrame) -> list[Scored]:
    """The target's fine-tune (saved seed), its best baseline and its training mean."""
    encoder, seed = _encoder(catalogue, target)
    baseline = catalogue.read_metric(target, "baselines")["best_on_valid"]
    predictions = pd.concat(
        [
            pd.read_parquet(catalogue.predictions(catalogue.baselines(target))),
            _saved_seed(pd.read_parquet(catalogue.predictions(catalogue.finetune(target))), seed),
        ],
        ignore_index=True,
    )
    return [
        Scored(name, target, kind, *in_domain(predictions, name, test["review_id"]))
        for name, kind in ((encoder, "encoder"), (baseline, "baseline"), (TRIVIAL, "trivial"))
    ]


def _lent(catalogue: Catalogue, source: str, target: str, test: pd.DataFrame) -> list[Scored]:
    """The source's fine-tune and best baseline, scoring the target's ``test`` rows."""
    encoder, _ = _encoder(catalogue, source)
    cuts = catalogue.read_metric(source, "finetune")["models"][encoder]["selected"]["cutpoints"]
    rows = training_frame(test, catalogue.load_reviews(target))
    estimate = predict_frame(catalogue.finetune_model(source), rows)["prediction"].to_numpy()
    lent = [Scored(borrowed(encoder, source), source, "encoder", estimate, decode(estimate, cuts))]

    baseline = catalogue.read_metric(source, "baselines")["best_on_valid"]
    scorers: dict[str, Scorer] = joblib.load(catalogue.scorers(catalogue.baseline_models(source)))
    scorer = scorers[baseline]
    vectorizers = FeatureSet.load_vectorizers(catalogue.features(source))
    fs = FeatureSet(test, tfidf_of(test["doc"], vectorizers), [])
    estimate, classes = scorer.predict(fs, np.arange(len(test)))
    return [*lent, Scored(borrowed(baseline, source), source, "baseline", estimate, classes)]


def _encoder(catalogue: Catalogue, dataset: str) -> tuple[str, int | None]:
    """The fine-tune's model name and its saved seed (None: trained once)."""
    name, entry = next(iter(catalogue.read_metric(dataset, "finetune")["models"].items()))
    return name, entry["selected"].get("saved_seed")


def _saved_seed(predictions: pd.DataFrame, seed: int | None) -> pd.DataFrame:
    """The saved seed's rows of a fine-tune trained with several seeds (all rows otherwise)."""
    if seed is None or "seed" not in predictions:
        return predictions
    return predictions[predictions["seed"] == seed]
