"""Stage ``recommend``: top-10 recommendation on ``embed.dataset`` (leave-last-out), does review
text bring long-tail items in?

Reads the canonical reviews and the review embeddings of ``embed.dataset``; writes
``metrics/studies/recommend.json`` and ``recommend_runtime.json``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from reviewlab.core.artifacts import STUDIES, Catalogue
from reviewlab.core.params import Params
from reviewlab.core.runtime import peak_rss_gib
from reviewlab.studies import recommenders


@dataclass
class Result:
    metrics: dict[str, Any]  # recommend.json: models, vs_als, chosen_on_valid, search
    summary: pd.DataFrame  # one row per model (Recall@k / NDCG@k with CIs, coverage, tail share)
    search: pd.DataFrame  # the validation search


def run(params: Params, catalogue: Catalogue | None = None) -> Result:
    catalogue = catalogue or Catalogue()
    dataset, seed = params.embed.dataset, params.seed
    start = time.perf_counter()
    found = recommenders.study(
        dataset,
        catalogue.load_reviews(dataset),
        catalogue.load_embeddings(dataset),
        params.longtail.recommend,
        params.longtail.shares,
        seed,
        params.evaluation,
    )
    catalogue.write_metric(STUDIES, "recommend", found.metrics)
    runtime = {"seconds": round(time.perf_counter() - start, 1), "peak_rss_gib": peak_rss_gib()}
    catalogue.write_metric(STUDIES, "recommend_runtime", runtime)
    metrics = found.metrics
    return Result(metrics, recommenders.summary(metrics), pd.DataFrame(metrics["search"]))
