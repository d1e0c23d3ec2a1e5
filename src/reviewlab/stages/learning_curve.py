"""Stage ``learning_curve`` (per dataset of ``learning_curve.datasets``): the report of the
learning curve.

Reads the metrics and predictions of every run the params declare (``learning_curve``: sizes x
the reference and candidates x seeds; stage ``learn``) and the training ratings of the features
table; writes ``metrics/<dataset>/learning_curve.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.io import read_json
from reviewlab.core.params import Params
from reviewlab.reporting import curve


@dataclass
class Result:
    payload: dict[str, Any]  # learning_curve.json
    table: pd.DataFrame  # per size: each variant's test RMSE and the chosen one's difference


def run(params: Params, dataset: str, catalogue: Catalogue | None = None) -> Result:
    """Summarise the learning curve of ``dataset``; write ``learning_curve.json``."""
    catalogue = catalogue or Catalogue()
    spec = params.learning_curve
    runs, tables = [], []
    for size in spec.sizes:
        for variant in spec.variants:
            for seed in spec.seeds:
                file = catalogue.curve_metric(dataset, size, variant, seed)
                if not file.exists():
                    raise FileNotFoundError(
                        f"{file}: learning-curve run missing; run `dvc repro learn`"
                    )
                runtime = read_json(catalogue.curve_runtime(dataset, size, variant, seed))
                runs.append(
                    read_json(file) | {"size": size, "train_seconds": runtime["train_seconds"]}
                )
                folder = catalogue.curve_run(dataset, size, variant, seed)
                tables.append(
                    pd.read_parquet(catalogue.predictions(folder)).assign(
                        size=size, variant=variant, seed=seed
                    )
                )
    table = pd.read_parquet(catalogue.features_table(dataset), columns=["split", "rating"])
    payload = curve.summarise(
        spec,
        params.evaluation,
        runs,
        pd.concat(tables, ignore_index=True),
        table.loc[table["split"] == "train", "rating"],
    )
    budget = {k: v for k, v in params.ablations.budget.items() if k != "max_train_rows"}
    payload = {"dataset": dataset, "budget": budget, **payload}  # the sizes set max_train_rows
    catalogue.write_metric(dataset, "learning_curve", payload)
    return Result(payload, curve.rmse_table(payload))
