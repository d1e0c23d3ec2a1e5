"""Stage ``headlines``: the small flat files DVC compares across experiments.

Reads the detail metrics every other stage writes (``metrics/``: each dataset's
``baselines.json`` and ``longtail.json``, ``finetune.json`` and ``finetune_runtime.json`` of
the grid's dataset (``ablations.dataset``; the other datasets' fine-tunes stay in their
reports: a second fine-tune row would share its keys and widen ``dvc exp show`` past a
screen), ``ablations_summary.json``, ``tasks/<task>.json``,
``studies/{recommend,segments,opinions}.json``, ``transfer/<pair>.json``) and that
fine-tune's test predictions, and writes

- ``headlines/**.json``: the only DVC ``metrics`` of the pipeline (one table row each:
  :mod:`reviewlab.reporting.headline_rows` explains the layout);
- ``plots/*.csv``: the data of dvc.yaml's top-level ``plots`` (calibration, the ablation and
  transfer forest plots, long-tail errors by bucket, recommendation metrics by model).

Both folders are written whole (what a previous run left there is removed first), as DVC does
before it runs a stage.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reviewlab.core.artifacts import STUDIES, TASKS, TRANSFER, Catalogue
from reviewlab.core.errors import ReviewlabError
from reviewlab.core.io import write_json
from reviewlab.core.params import Params
from reviewlab.reporting import headline_rows


@dataclass
class Result:
    metrics: dict[str, dict]  # headline name -> its flat payload (headlines/<name>.json)
    plots: dict[str, pd.DataFrame]  # plot data name -> its table (plots/<name>.csv)

    def __str__(self) -> str:  # what `reviewlab stage headlines` prints
        return f"{len(self.metrics)} headline metrics files, {len(self.plots)} plot data files"


def run(params: Params, catalogue: Catalogue | None = None) -> Result:
    """Write every headline metrics file and plot data file from the committed metrics."""
    catalogue = catalogue or Catalogue()
    datasets = list(params.datasets)
    grid = params.ablations.dataset
    predictions = catalogue.predictions(catalogue.finetune(grid))
    if not predictions.is_file():
        raise ReviewlabError(
            f"{predictions.relative_to(catalogue.root)} is missing: the calibration plot needs "
            f"the fine-tune's test predictions (`dvc repro finetune@{grid}`, or `dvc pull` them)"
        )
    summary = catalogue.read_metric(grid, "ablations_summary")
    metrics = headline_rows.headline_metrics(
        baselines={d: catalogue.read_metric(d, "baselines") for d in datasets},
        finetune=(
            grid,
            catalogue.read_metric(grid, "finetune"),
            catalogue.read_metric(grid, "finetune_runtime"),
        ),
        ablations=(grid, summary),
        tasks={t: catalogue.read_metric(TASKS, t) for t in params.tasks},
        recommend=catalogue.read_metric(STUDIES, "recommend"),
        segments=catalogue.read_metric(STUDIES, "segments"),
        opinions=catalogue.read_metric(STUDIES, "opinions"),
    )
    plots = {
        "calibration": headline_rows.calibration(pd.read_parquet(predictions)),
        "ablations": headline_rows.forest(summary),
        "recommend": headline_rows.recommend(catalogue.read_metric(STUDIES, "recommend")),
        "transfer": headline_rows.transfer_forest(
            [catalogue.read_metric(TRANSFER, pair) for pair in params.transfer]
        ),
    }
    for dataset in datasets:
        for by, table in headline_rows.longtail(catalogue.read_metric(dataset, "longtail")).items():
            plots[f"longtail/{dataset}_{by}"] = table

    for folder in (catalogue.headlines_dir(), catalogue.plots_dir()):
        _empty(folder)
    for name, payload in metrics.items():
        write_json(catalogue.headline(name), payload)
    for name, table in plots.items():
        path = catalogue.plot_data(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(path, index=False, lineterminator="\n")
    return Result(metrics, plots)


def _empty(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
