"""Stage ``embed``: sentence embeddings of every review of ``embed.dataset`` (inference only).

Mean-pooled, unit-length vectors of ``title. text`` from the pretrained encoder
(:mod:`reviewlab.studies.embeddings`), shared by the segmentation and recommendation studies.
Writes ``artifacts/<dataset>/embeddings/`` (vectors + review ids) and
``metrics/<dataset>/embed_runtime.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.params import Params
from reviewlab.studies.embeddings import embed_reviews


@dataclass
class Result:
    report: dict[str, Any]  # embed_runtime.json: rows, dim, seconds


def run(params: Params, catalogue: Catalogue | None = None) -> Result:
    """Embed every review of ``embed.dataset``; write the vectors, ids and runtime."""
    catalogue = catalogue or Catalogue()
    dataset = params.embed.dataset
    embedded = embed_reviews(catalogue.load_reviews(dataset), params.embed)
    catalogue.embeddings(dataset).mkdir(parents=True, exist_ok=True)
    np.save(catalogue.embedding_vectors(dataset), embedded.vectors)
    catalogue.write_table(embedded.review_ids, catalogue.embedding_ids(dataset))
    catalogue.write_metric(dataset, "embed_runtime", embedded.report)
    return Result(embedded.report)
