"""Stage ``preprocess`` (per dataset): de-duplication, splits and features.

Canonical table -> exact repeats on the dataset's ``dedupe`` key removed, ``split`` labels
(the dataset's ``split`` merged over the global one), features with train-only statistics
(:mod:`reviewlab.data.features`); writes ``artifacts/<dataset>/features`` and
``metrics/<dataset>/preprocess.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.compose import dedupe_key, split_config
from reviewlab.core.params import Params
from reviewlab.data.features import (
    FeatureSet,
    build_features,
    deduplicated_splits,
    preprocess_report,
)
from reviewlab.data.splits import split_summary


@dataclass
class Result:
    features: FeatureSet
    duplicates: pd.DataFrame  # the removed repeats
    summary: pd.DataFrame  # rows and rating shares per split
    report: dict[str, Any]  # preprocess.json


def run(params: Params, dataset: str, catalogue: Catalogue | None = None) -> Result:
    """Split and featurise ``dataset``; write its features and ``preprocess.json``."""
    catalogue = catalogue or Catalogue()
    key = dedupe_key(params, dataset)
    reviews, duplicates, split = deduplicated_splits(
        catalogue.load_reviews(dataset), key, split_config(params, dataset), params.seed
    )
    features, vectorizers = build_features(reviews, split, params.features)
    features.save(catalogue.features(dataset), vectorizers)
    report = preprocess_report(reviews, duplicates, split, features, key)
    catalogue.write_metric(dataset, "preprocess", report)
    return Result(features, duplicates, split_summary(reviews, split), report)
