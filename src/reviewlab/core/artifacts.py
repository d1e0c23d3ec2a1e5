"""The artifacts catalogue: every file and folder the pipeline reads or writes, in one place.

Only stage modules (:mod:`reviewlab.stages`) use it; domain code receives data, never paths.
dvc.yaml spells the same layout, and tests keep the two in step.

- ``artifacts/<dataset>/...``: DVC-cached outputs (tables, features, models, predictions);
- ``metrics/<folder>/<name>.json``: committed metrics (``folder``: a dataset, ``tasks`` or
  ``studies``);
- ``reports/<folder>/<stage>.html``: committed HTML reports; executed notebooks beside the
  artifacts under ``artifacts/<folder>/notebooks/``.
- ``headlines/...json`` and ``plots/...csv``: committed headline metrics and plot data (stage
  ``headlines``), the files ``dvc metrics`` / ``dvc plots`` compare across experiments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewlab.core.io import write_json

if TYPE_CHECKING:
    import pandas as pd

#: Reports and executed notebooks of stages that span datasets (the studies) live here.
STUDIES = "studies"
#: Metrics of the review-level tasks live under ``metrics/tasks/``.
TASKS = "tasks"
#: Metrics of the transfer pairs (stage ``transfer``) live under ``metrics/transfer/``.
TRANSFER = "transfer"


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) that holds ``dvc.yaml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file():
            return folder
    raise FileNotFoundError(f"no dvc.yaml found at or above {here}: run from inside the project")


def task_dataset(name: str) -> str:
    """The dataset name (artifacts folder) of task ``name``'s derived dataset."""
    return f"task_{name}"


@dataclass(frozen=True)
class Catalogue:
    """Paths of one checkout (``root``: the folder holding dvc.yaml)."""

    root: Path = field(default_factory=project_root)

    # ---- folders -------------------------------------------------------------------------
    def artifacts(self, dataset: str) -> Path:
        """DVC-cached outputs of one dataset (tables, features, models)."""
        return self.root / "artifacts" / dataset

    def metrics_dir(self, folder: str | None = None) -> Path:
        base = self.root / "metrics"
        return base / folder if folder else base

    def reports_dir(self, folder: str | None = None) -> Path:
        base = self.root / "reports"
        return base / folder if folder else base

    def cache(self, kind: str) -> Path:
        """A re-creatable cache under ``artifacts/.cache/<kind>`` (tokenised rows, checkpoints)."""
        folder = self.root / "artifacts" / ".cache" / kind
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # ---- per-dataset artifacts -----------------------------------------------------------
    def canonical(self, dataset: str) -> Path:
        return self.artifacts(dataset) / "canonical"

    def reviews(self, dataset: str) -> Path:
        return self.canonical(dataset) / "reviews.parquet"

    def quarantine(self, dataset: str) -> Path:
        return self.canonical(dataset) / "quarantine.parquet"

    def features(self, dataset: str) -> Path:
        return self.artifacts(dataset) / "features"

    def baselines(self, dataset: str) -> Path:
        return self.artifacts(dataset) / "baselines"

    def baseline_models(self, dataset: str) -> Path:
        """The fitted baselines (``scorers.joblib``: name -> fitted model), kept apart from
        ``baselines/`` so that what the fine-tune reads does not change with them."""
        return self.artifacts(dataset) / "baseline_models"

    def scorers(self, folder: Path) -> Path:
        """The fitted models (joblib) a model-fitting stage writes into its ``folder``."""
        return folder / "scorers.joblib"

    def finetune(self, dataset: str) -> Path:
        return self.artifacts(dataset) / "finetune"

    def ensemble(self, dataset: str) -> Path:
        return self.artifacts(dataset) / "ensemble"

    def transfer(self, pair: str) -> Path:
        """A transfer pair's borrowed-model predictions (stage ``transfer``)."""
        return self.root / "artifacts" / TRANSFER / pair

    def ablation_run(self, dataset: str, variant: str, seed: int) -> Path:
        return self.artifacts(dataset) / "ablations" / f"{variant}-{seed}"

    def curve_run(self, dataset: str, size: int, variant: str, seed: int) -> Path:
        """One run of the learning curve (stage ``learn``): its predictions."""
        return self.artifacts(dataset) / "learning_curve" / f"{size}-{variant}-{seed}"

    def embeddings(self, dataset: str) -> Path:
        return self.artifacts(dataset) / "embeddings"

    def predictions(self, folder: Path) -> Path:
        """The predictions table every model-fitting stage writes into its folder."""
        return folder / "predictions.parquet"

    # ---- metrics -------------------------------------------------------------------------
    def metric(self, folder: str, name: str) -> Path:
        """``metrics/<folder>/<name>.json``."""
        return self.metrics_dir(folder) / f"{name}.json"

    def ablation_metric(self, dataset: str, variant: str, seed: int) -> Path:
        return self.metric(f"{dataset}/ablations", f"{variant}-{seed}")

    def curve_metric(self, dataset: str, size: int, variant: str, seed: int) -> Path:
        return self.metric(f"{dataset}/learning_curve", f"{size}-{variant}-{seed}")

    def curve_runtime(self, dataset: str, size: int, variant: str, seed: int) -> Path:
        return self.metric(f"{dataset}/learning_curve", f"{size}-{variant}-{seed}_runtime")

    def tuning_metric(self, dataset: str, variant: str, trial: str, seed: int) -> Path:
        """One tuning run's validation metrics (stage ``tune``): ``tuning/runs/<dataset>/``,
        outside ``metrics/``, which the main pipeline's ``headlines`` and ``report`` read whole."""
        return self.root / "tuning" / "runs" / dataset / f"{variant}-{trial}-{seed}.json"

    # ---- notebooks and reports -----------------------------------------------------------
    def index_page(self) -> Path:
        """``reports/index.html``, the front page the ``report`` stage writes (stage reports
        and executed notebooks are the outs dvc.yaml declares for each stage)."""
        return self.reports_dir() / "index.html"

    # ---- reading and writing -------------------------------------------------------------
    def load_reviews(self, dataset: str) -> pd.DataFrame:
        import pandas as pd

        return pd.read_parquet(self.reviews(dataset))

    def read_metric(self, folder: str, name: str) -> dict[str, Any]:
        return json.loads(self.metric(folder, name).read_text(encoding="utf-8"))

    def write_metric(self, folder: str, name: str, payload: dict[str, Any]) -> Path:
        return write_json(self.metric(folder, name), payload)

    def write_table(self, frame: pd.DataFrame, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path, index=False)
        return path

    def search(self, folder: Path) -> Path:
        """The validation grid-search table (CSV) a model-fitting stage writes into its folder."""
        return folder / "search.csv"

    # ---- added for the studies and report stages -----------------------------------------
    def features_table(self, dataset: str) -> Path:
        """The features table (split, label, dense features) inside ``features/``."""
        return self.features(dataset) / "table.parquet"

    def load_features_table(self, dataset: str) -> pd.DataFrame:
        import pandas as pd

        return pd.read_parquet(self.features_table(dataset))

    def vectorizers(self, dataset: str) -> Path:
        """The fitted TF-IDF vectorizers inside ``features/``."""
        return self.features(dataset) / "vectorizers.joblib"

    def ablation_runtime(self, dataset: str, variant: str, seed: int) -> Path:
        return self.metric(f"{dataset}/ablations", f"{variant}-{seed}_runtime")

    def embedding_vectors(self, dataset: str) -> Path:
        return self.embeddings(dataset) / "reviews.npy"

    def embedding_ids(self, dataset: str) -> Path:
        return self.embeddings(dataset) / "review_ids.parquet"

    def readme(self) -> Path:
        return self.root / "README.md"

    def docs_dir(self) -> Path:
        """The documentation pages (some hold generated blocks: :meth:`block`)."""
        return self.root / "docs"

    def bench_results(self) -> Path:
        """The throughput benchmark's markdown table (``reviewlab bench``)."""
        return self.root / "bench" / "results.md"

    def load_embeddings(self, dataset: str) -> pd.DataFrame:
        """Review embeddings (stage ``embed``) by ``review_id``, one column per dimension."""
        import numpy as np
        import pandas as pd

        ids = pd.read_parquet(self.embedding_ids(dataset))["review_id"]
        vectors = np.load(self.embedding_vectors(dataset))
        return pd.DataFrame(vectors, index=pd.Index(ids, name="review_id"))

    def blocks_dir(self) -> Path:
        """``reports/blocks/``: the generated blocks of the README and docs/ (stage ``report``;
        ``reviewlab readme`` copies each into the page that holds its markers)."""
        return self.reports_dir() / "blocks"

    def block(self, name: str) -> Path:
        """``reports/blocks/<name>.md``: one generated block (:meth:`blocks_dir`)."""
        return self.blocks_dir() / f"{name}.md"

    # ---- fine-tuning (stages finetune, ablate, task) --------------------------------------
    def finetune_model(self, dataset: str) -> Path:
        """The fine-tuned model (weights, configs, tokenizer) inside ``finetune/``."""
        return self.finetune(dataset) / "model"

    def finetune_live(self, dataset: str) -> Path:
        """DVCLive training curves of the ``finetune`` stage."""
        return self.metrics_dir(dataset) / "finetune_live"

    def checkpoints(self, run: str) -> Path:
        """Checkpoints of a resumable training run, removed once it completes."""
        return self.cache("checkpoints") / run

    def run_checkpoints(self, folder: Path) -> Path:
        """Checkpoints of a fixed-budget run inside its output ``folder`` (removed after)."""
        return folder / "checkpoints"

    # ---- headlines (stage headlines): what `dvc metrics show` / `dvc plots` compare ---------
    def headlines_dir(self) -> Path:
        """``headlines/``: the small flat files dvc.yaml declares as DVC ``metrics``."""
        return self.root / "headlines"

    def headline(self, name: str) -> Path:
        """``headlines/<name>.json``: one headline metrics file (one row of the table)."""
        return self.headlines_dir() / f"{name}.json"

    def plots_dir(self) -> Path:
        """``plots/``: the data of dvc.yaml's top-level ``plots``."""
        return self.root / "plots"

    def plot_data(self, name: str) -> Path:
        """``plots/<name>.csv``: the data of one DVC plot."""
        return self.plots_dir() / f"{name}.csv"
