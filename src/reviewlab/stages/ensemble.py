"""Stage ``ensemble`` (per dataset): the stacked ensemble of the dataset's rating models
(:mod:`reviewlab.models.stacking`) on the validation predictions of its baselines and of its
fine-tuned encoder (the saved seed), compared with every member and the trivial model on the
same test rows by the paired inference. Writes ``metrics/<dataset>/ensemble.json`` and
``artifacts/<dataset>/ensemble/`` (the stack's predictions and the fitted stack, which
:mod:`reviewlab.stages.serve` loads to score new reviews).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import joblib
import pandas as pd

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.evaluation import evaluate_split
from reviewlab.core.evaluation.compare import TRIVIAL, rating_families, verdicts
from reviewlab.core.evaluation.inference import failure
from reviewlab.core.params import Params
from reviewlab.models import stacking
from reviewlab.models.predictions import prediction_frame

#: The stack's model name in metrics and reports.
NAME = "stacked"
SPLITS = ("valid", "test")


@dataclass
class Result:
    metrics: dict[str, Any]  # ensemble.json
    members: dict[str, Any]  # each member's entry of baselines.json / finetune.json
    weights: pd.Series  # the stacker's coefficient per standardised input

    @property
    def comparison(self) -> dict[str, Any]:
        """The stack beside its members, as a ``baselines.json``-like payload."""
        return {**self.metrics, "models": {**self.members, **self.metrics["models"]}}


def run(params: Params, dataset: str, catalogue: Catalogue | None = None) -> Result:
    """Stack the members of ``params.ensemble`` on ``dataset``; write metrics and predictions."""
    catalogue = catalogue or Catalogue()
    cfg, seed = params.ensemble, params.seed
    finetuned = pd.read_parquet(catalogue.predictions(catalogue.finetune(dataset)))
    members = pd.concat(
        [
            pd.read_parquet(catalogue.predictions(catalogue.baselines(dataset))),
            finetuned.drop(columns="label"),
        ],
        ignore_index=True,
    )
    table = catalogue.load_features_table(dataset)
    x = {s: stacking.inputs(members, cfg.members, table, cfg.behaviour, s) for s in SPLITS}
    if len(x["test"]) != (table["split"] == "test").sum():
        raise ValueError(f"ensemble on {dataset}: a member did not score every test review")
    rows = table.set_index("review_id")
    truth = {s: rows.loc[x[s].index, "rating"].to_numpy() for s in SPLITS}
    stacked = stacking.stack(x["valid"], truth["valid"], x["test"], cfg.alphas, cfg.folds, seed)
    ci = params.evaluation.ci(seed)
    entry: dict[str, Any] = {
        "selected": {"alpha": stacked.alpha, "folds": cfg.folds, "valid_rows": len(x["valid"])},
        "weights": stacked.weights,
        "valid": evaluate_split(stacked.valid, truth["valid"], stacked.valid_classes),
        "test": evaluate_split(stacked.test, truth["test"], stacked.test_classes, ci=ci),
    }
    own = pd.concat(
        prediction_frame(rows.loc[x[s].index].reset_index(), NAME, s, *pair)
        for s, pair in (
            ("valid", (stacked.valid, stacked.valid_classes)),
            ("test", (stacked.test, stacked.test_classes)),
        )
    )
    compared = pd.concat([members[members["model"].isin([*cfg.members, TRIVIAL])], own])
    evaluation = params.evaluation
    families = rating_families(compared, NAME, evaluation.margins, evaluation.design(seed))
    entry.update(failure(verdicts(families["vs_trivial"], "rmse", TRIVIAL).get(NAME)))
    metrics = {"members": cfg.members, "models": {NAME: entry}}
    metrics["comparisons"] = {"vs_members": families["vs_selected"]}
    catalogue.write_metric(dataset, "ensemble", metrics)
    folder = catalogue.ensemble(dataset)
    catalogue.write_table(own, catalogue.predictions(folder))
    model = stacking.StackModel(cfg.members, cfg.behaviour, stacked.pipeline, stacked.cutpoints)
    joblib.dump(model, catalogue.scorers(folder))
    return Result(metrics, _members(catalogue, dataset, cfg.members), pd.Series(stacked.weights))


def _members(catalogue: Catalogue, dataset: str, names: list[str]) -> dict[str, Any]:
    """Each member's entry (validation and test metrics) from its own stage's metrics."""
    found = {
        **catalogue.read_metric(dataset, "baselines")["models"],
        **catalogue.read_metric(dataset, "finetune")["models"],
    }
    return {name: found[name] for name in names}
