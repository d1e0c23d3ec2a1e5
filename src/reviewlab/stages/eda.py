"""Stage ``eda`` (per dataset): headline statistics of the canonical table.

Reads the canonical table and ``data_quality.json``; measures review lengths in words and in
the ``eda.tokenizer``'s tokens; writes ``metrics/<dataset>/eda.json``. The notebook plots
from the :class:`Result` (:mod:`reviewlab.data.profiling`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.backbone import load_tokenizer
from reviewlab.core.params import Params
from reviewlab.data import profiling


@dataclass
class Result:
    reviews: pd.DataFrame  # the canonical table
    length: pd.DataFrame  # words (and tokens) per review
    summary: dict[str, Any]  # eda.json
    quality: dict[str, Any]  # data_quality.json of the ingest stage
    examples: int  # rows shown per example table (eda.examples)


def run(params: Params, dataset: str, catalogue: Catalogue | None = None) -> Result:
    """Compute and write ``eda.json`` of ``dataset``."""
    from transformers.utils import logging as hf_logging

    catalogue = catalogue or Catalogue()
    reviews = catalogue.load_reviews(dataset)
    quality = catalogue.read_metric(dataset, "data_quality")
    hf_logging.set_verbosity_error()
    length = profiling.lengths(reviews, load_tokenizer(params.eda.tokenizer))
    summary = profiling.summary(reviews, length)
    catalogue.write_metric(dataset, "eda", summary)
    return Result(reviews, length, summary, quality, params.eda.examples)
