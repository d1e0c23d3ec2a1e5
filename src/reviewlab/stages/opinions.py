"""Stage ``opinions``: review-level sentiment (the ``recommended`` and ``polarity`` tasks'
results) and aspect-level opinion mining on ``opinions.dataset``.

Reads the canonical reviews and the features table of ``opinions.dataset`` and
``metrics/tasks/{recommended,polarity}.json``; writes ``metrics/studies/opinions.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from reviewlab.core.artifacts import STUDIES, TASKS, Catalogue
from reviewlab.core.params import Params
from reviewlab.studies import aspects

#: The review-level sentiment tasks shown with the aspects (their metrics are deps).
TASKS_SHOWN = ("recommended", "polarity")


@dataclass
class Result:
    tasks: dict[str, dict[str, Any]]  # task name -> metrics/tasks/<name>.json
    aspects: dict[Any, list[str]]  # category value -> aspect terms
    mentions: pd.DataFrame  # one row per (review, aspect, sentence) with its sentiment
    agreement: dict[str, Any]  # aspect sentiment vs stars on test reviews
    products: dict[Any, pd.DataFrame]  # most-reviewed products: pros and cons


def run(params: Params, catalogue: Catalogue | None = None) -> Result:
    catalogue = catalogue or Catalogue()
    cfg = params.opinions
    tasks = {name: catalogue.read_metric(TASKS, name) for name in TASKS_SHOWN}
    table = pd.read_parquet(catalogue.features_table(cfg.dataset))
    found = aspects.study(table, catalogue.load_reviews(cfg.dataset), cfg, params.seed)
    catalogue.write_metric(STUDIES, "opinions", found.metrics)
    return Result(tasks, found.aspects, found.mentions, found.agreement, found.products)
