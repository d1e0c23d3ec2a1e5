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
    lent = _lent(catalogue, source, target, test)
    scored = [*_own(catalogue, target, test), *lent]
    truth = test["rating"].to_numpy()
    payload = {"source": source, "target": target}
    payload |= compare(scored, truth, params.evaluation, params.seed)
    catalogue.write_metric(TRANSFER, pair, payload)
    frames = [prediction_frame(test, s.name, "test", s.estimate, s.classes) for s in lent]
    catalogue.write_table(pd.concat(frames), catalogue.predictions(catalogue.transfer(pair)))
    return payload


def _own(catalogue: Catalogue, target: str, test: pd.DataFrame) -> list[Scored]:
    """The target's fine-tune (its saved seed), its best baseline and its training mean."""
    encoder = catalogue.read_metric(target, "finetune")["best_on_valid"]
    baseline = catalogue.read_metric(target, "baselines")["best_on_valid"]
    if baseline == TRIVIAL:
        raise ValueError(
            f"transfer: {target}'s best baseline is the training mean ({TRIVIAL}), which the "
            "study already compares with: give the target a baseline that beats it"
        )
    predictions = pd.concat(
        [
            pd.read_parquet(catalogue.predictions(catalogue.baselines(target))),
            pd.read_parquet(catalogue.predictions(catalogue.finetune(target))),
        ],
        ignore_index=True,
    )
    return [
        Scored(name, target, kind, *in_domain(predictions, name, test["review_id"]))
        for name, kind in ((encoder, "encoder"), (baseline, "baseline"), (TRIVIAL, "trivial"))
    ]


def _lent(catalogue: Catalogue, source: str, target: str, test: pd.DataFrame) -> list[Scored]:
    """The source's fine-tune and best baseline, scoring the target's ``test`` rows."""
    tuned = catalogue.read_metric(source, "finetune")
    encoder = tuned["best_on_valid"]
    rows = training_frame(test, catalogue.load_reviews(target))
    scored = predict_frame(catalogue.finetune_model(source), rows)
    estimate = scored["prediction"].to_numpy()
    cuts = tuned["models"][encoder]["selected"].get("cutpoints")  # a regression head's
    classes = decode(estimate, cuts) if cuts else scored["predicted_class"].to_numpy()
    lent = [Scored(borrowed(encoder, source), source, "encoder", estimate, classes)]

    baseline = catalogue.read_metric(source, "baselines")["best_on_valid"]
    scorers: dict[str, Scorer] = joblib.load(catalogue.scorers(catalogue.baseline_models(source)))
    vectorizers = FeatureSet.load_vectorizers(catalogue.features(source))
    fs = FeatureSet(test, tfidf_of(test["doc"], vectorizers), [])
    estimate, classes = scorers[baseline].predict(fs, np.arange(len(test)))
    return [*lent, Scored(borrowed(baseline, source), source, "baseline", estimate, classes)]
