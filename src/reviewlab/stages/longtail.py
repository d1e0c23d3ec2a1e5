"""Stage ``longtail`` (per dataset): test errors of every rating model of the dataset by item
popularity and user activity, counted on the training split.

Reads ``artifacts/<dataset>/features`` (the table), the baselines' and the fine-tuned
encoder's predictions; writes ``metrics/<dataset>/longtail.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.params import Params
from reviewlab.studies import tail


@dataclass
class Result:
    errors: pd.DataFrame  # by, model, bucket, n, rmse, mae
    gap: pd.DataFrame  # tail minus head RMSE per grouping and model
    versus: pd.DataFrame  # per bucket, each model - the training mean in RMSE, with verdicts


def run(params: Params, dataset: str, catalogue: Catalogue | None = None) -> Result:
    catalogue = catalogue or Catalogue()
    table = pd.read_parquet(catalogue.features_table(dataset))
    folders = [catalogue.baselines(dataset), catalogue.finetune(dataset)]
    frames = [pd.read_parquet(catalogue.predictions(folder)) for folder in folders]
    found = tail.study(
        table, tail.on_test_split(frames), params.longtail.shares, params.evaluation, params.seed
    )
    catalogue.write_metric(dataset, "longtail", found.metrics)
    return Result(found.errors, found.gap, found.versus)
