"""Stage ``segments``: customer segmentation of ``embed.dataset``'s users from their training
reviews (embeddings, behaviour), shown beside its supervised counterpart, the ``age_group``
task.

Reads the features (table, word TF-IDF, vectorizers) and the review embeddings of
``embed.dataset`` and ``metrics/tasks/age_group.json``; writes ``metrics/studies/segments.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import joblib
import pandas as pd

from reviewlab.core.artifacts import STUDIES, TASKS, Catalogue
from reviewlab.core.params import Params
from reviewlab.data.features import FeatureSet
from reviewlab.studies import segmentation

#: The user-classification task shown with the segments (its metrics are a dep of the stage).
TASK = "age_group"


@dataclass
class Result:
    k: int
    search: pd.DataFrame  # silhouette per k
    labels: pd.Series  # segment of each user
    projection: pd.DataFrame  # 2-D PCA of the clustering space
    table: pd.DataFrame  # per segment: size, behaviour means, distinctive terms
    age_group: dict[str, Any]  # metrics/tasks/age_group.json


def run(params: Params, catalogue: Catalogue | None = None) -> Result:
    catalogue = catalogue or Catalogue()
    dataset = params.embed.dataset
    features = FeatureSet.load(catalogue.features(dataset))
    vocabulary = joblib.load(catalogue.vectorizers(dataset))["word"].get_feature_names_out()
    found = segmentation.study(
        dataset,
        features.table,
        features.tfidf["word"],
        vocabulary,
        catalogue.load_embeddings(dataset),
        params.segments,
        params.seed,
    )
    catalogue.write_metric(STUDIES, "segments", found.metrics)
    return Result(
        found.k,
        found.search,
        found.labels,
        found.projection,
        found.table,
        catalogue.read_metric(TASKS, TASK),
    )
