"""Stage ``learning_curve`` (per dataset of ``learning_curve.datasets``): the report of the
learning curve.

Reads the metrics and predictions of every run the params declare (``learning_curve``: sizes x
the reference and candidates x seeds; stage ``learn``; read as the grid's runs are) and the
training ratings of the features table; writes ``metrics/<dataset>/learning_curve.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.params import Params
from reviewlab.reporting import curve
from reviewlab.stages.ablations import load_runs


@dataclass
class Result:
    payload: dict[str, Any]  # learning_curve.json
    table: pd.DataFrame  # per size: each variant's test RMSE and the chosen one's difference


def run(params: Params, dataset: str, catalogue: Catalogue | None = None) -> Result:
    """Summarise the learning curve of ``dataset``; write ``learning_curve.json``."""
    catalogue = catalogue or Catalogue()
    spec = params.learning_curve
    loaded = {
        size: load_runs(
            catalogue,
            spec.variants,
            spec.seeds,
            lambda v, s, n=size: (
                catalogue.curve_metric(dataset, n, v, s),
                catalogue.curve_runtime(dataset, n, v, s),
                catalogue.curve_run(dataset, n, v, s),
            ),
            "learn",
        )
        for size in spec.sizes
    }
    runs, tables = ([part[i].assign(size=n) for n, part in loaded.items()] for i in (0, 1))
    table = pd.read_parquet(catalogue.features_table(dataset), columns=["split", "rating"])
    payload = curve.summarise(
        spec,
        params.evaluation,
        pd.concat(runs, ignore_index=True),
        pd.concat(tables, ignore_index=True),
        table.loc[table["split"] == "train", "rating"],
    )
    budget = {k: v for k, v in params.ablations.budget.items() if k != "max_train_rows"}
    payload = {"dataset": dataset, "budget": budget, **payload}  # the sizes set max_train_rows
    catalogue.write_metric(dataset, "learning_curve", payload)
    return Result(payload, curve.rmse_table(payload))
