"""Stage ``ablations``: the report of the ablation grid on ``ablations.dataset``.

Reads the metrics, runtime and predictions of every run the params declare (``ablations.grid``
x ``ablations.seeds``; files left by a removed variant or seed are never read) and the training
ratings of the features table; writes ``metrics/<dataset>/ablations_summary.json`` and
``ablations_runtime.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.io import read_json
from reviewlab.core.params import Params
from reviewlab.reporting import grid_report


@dataclass
class Result:
    runs: pd.DataFrame  # one row per variant x seed: metrics per set + runtime
    summary: pd.DataFrame  # test metrics, mean ± std over seeds
    valid: pd.DataFrame | None  # the same on validation (None: no validation rows scored)
    differences: pd.DataFrame  # paired differences against the references, with CIs
    cost: pd.DataFrame  # training seconds and ratio to the reference
    robustness: pd.DataFrame  # RMSE on noisy copies of the test rows
    robust_differences: pd.DataFrame  # RMSE rise under noise vs the reference, with verdicts
    fit: pd.DataFrame | None  # train-validation gap and where the validation loss bottomed
    metrics: dict[str, Any]  # ablations_summary.json: the numbers its findings phrase
    collapsed: list[str]  # variants that predict the majority rating for >= 95% of test rows
    grid_seconds: float
    reference: str
    test_rows: int | None
    budget: dict[str, Any]
    profile: str  # the params profile the grid ran with (conf/profile/)
    hardware: str  # the machine(s) its runs ran on
    variants: dict[str, dict[str, Any] | None]
    split_rows: dict[str, int]  # rows per split of the features table (the headline's budget)


def run(params: Params, catalogue: Catalogue | None = None) -> Result:
    catalogue = catalogue or Catalogue()
    grid = params.ablations
    dataset = grid.dataset
    runs, predictions = load_runs(
        catalogue,
        grid.grid,
        grid.seeds,
        lambda v, s: (
            catalogue.ablation_metric(dataset, v, s),
            catalogue.ablation_runtime(dataset, v, s),
            catalogue.ablation_run(dataset, v, s),
        ),
        "ablate",
    )
    table = pd.read_parquet(catalogue.features_table(dataset), columns=["split", "rating"])
    report = grid_report.summarise(
        grid,
        params.evaluation,
        runs,
        predictions,
        table.loc[table["split"] == "train", "rating"],
        params.profile,
    )
    catalogue.write_metric(dataset, "ablations_summary", report.metrics)
    catalogue.write_metric(dataset, "ablations_runtime", report.runtime)
    return Result(
        runs=report.runs,
        summary=report.summary,
        valid=report.valid,
        differences=report.differences,
        cost=report.cost,
        robustness=report.robustness,
        robust_differences=report.robust_differences,
        fit=report.fit,
        metrics=report.metrics,
        collapsed=report.collapsed,
        grid_seconds=report.runtime["grid_seconds"],
        reference=grid.reference,
        test_rows=grid.test_rows,
        budget=grid.budget,
        profile=params.profile,
        hardware=report.metrics["hardware"],
        variants={name: grid.variants[name] for name in grid.grid},
        split_rows={k: int(n) for k, n in table["split"].value_counts().items()},
    )


#: Where one run's files are: (variant, seed) -> (metrics JSON, runtime JSON, predictions folder).
RunFiles = Callable[[str, int], tuple[Path, Path, Path]]


def load_runs(
    catalogue: Catalogue, variants: Iterable[str], seeds: list[int], files: RunFiles, stage: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per declared run: metrics per set + runtime, their predictions); a declared
    run without its files is an error naming the ``stage`` that writes them."""
    rows, tables = [], []
    for variant in variants:
        for seed in seeds:
            file, runtime, folder = files(variant, seed)
            if not file.exists():
                raise FileNotFoundError(f"{file}: {stage} run missing; run `dvc repro {stage}`")
            rows.append(grid_report.run_row(variant, seed, read_json(file), read_json(runtime)))
            predictions = pd.read_parquet(catalogue.predictions(folder))
            tables.append(predictions.assign(variant=variant, seed=seed))
    return pd.DataFrame(rows), pd.concat(tables, ignore_index=True)
