"""Stage ``ingest`` (per dataset): raw file -> validated canonical table + quarantine.

Reads ``datasets.<dataset>`` through its adapter (:mod:`reviewlab.data.loaders`); writes
``artifacts/<dataset>/canonical/{reviews,quarantine}.parquet`` and
``metrics/<dataset>/data_quality.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.params import Params, dataset_config
from reviewlab.data.loaders import load_reviews


@dataclass
class Result:
    reviews: pd.DataFrame  # the canonical table
    quarantine: pd.DataFrame  # rows that broke the contract, with a reason
    quality: dict[str, Any]  # data_quality.json


def run(params: Params, dataset: str, catalogue: Catalogue | None = None) -> Result:
    """Load ``dataset`` (seeded subsample with ``params.seed``) and write its canonical tables.

    Raises ``ParamsError`` for a dataset params.yaml does not define and ``DataLoadError`` for
    a file that cannot be used (nothing is written then).
    """
    catalogue = catalogue or Catalogue()
    cfg = dataset_config(params, dataset)
    loaded = load_reviews(cfg, dataset, catalogue.root, seed=params.seed)
    catalogue.write_table(loaded.reviews, catalogue.reviews(dataset))
    catalogue.write_table(loaded.quarantine, catalogue.quarantine(dataset))
    catalogue.write_metric(dataset, "data_quality", loaded.quality)
    return Result(loaded.reviews, loaded.quarantine, loaded.quality)
