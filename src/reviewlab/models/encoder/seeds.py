"""A fine-tune trained once per seed, reported as one model (:func:`combine`): every metric's
mean over the seeds with its spread and, on test, an interval resampling rows and seeds together
(:func:`reviewlab.core.evaluation.evaluate_seeds`); each seed's own metrics; and the seed best
on validation, the model that is saved, explained and plotted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from reviewlab.core.evaluation import HIGHER_IS_BETTER, evaluate_seeds
from reviewlab.models.encoder.run import Evaluated


def best_seed(runs: dict[int, Evaluated], metric: str) -> int:
    """The seed with the best validation ``metric`` (RMSE for a non-rating metric, e.g. loss)."""
    metric = metric if metric in HIGHER_IS_BETTER else "rmse"
    higher = HIGHER_IS_BETTER[metric]
    scores = {
        seed: run.metrics["models"][_name(run)]["valid"][metric] for seed, run in runs.items()
    }
    return (max if higher else min)(scores, key=scores.get)


def combine(runs: dict[int, Evaluated], ci: dict[str, Any]) -> Evaluated:
    """One report of the runs (seed -> run, two or more): metrics, summed runtime, the
    predictions of every seed (column ``seed``) and the saved seed's training history."""
    first = next(iter(runs.values()))
    name, metric = _name(first), first.metrics["selection_metric"]
    saved = best_seed(runs, metric)
    predictions = pd.concat(
        [run.predictions.assign(seed=seed) for seed, run in runs.items()], ignore_index=True
    )
    entries = {seed: run.metrics["models"][name] for seed, run in runs.items()}
    converged = [bool(e["selected"].get("converged")) for e in entries.values()]
    entry: dict[str, Any] = {
        "seeds": list(runs),
        "selected": {
            **entries[saved]["selected"],
            "saved_seed": saved,
            "converged": all(converged),
            "converged_seeds": sum(converged),
        },
        **{
            split: _split_metrics(predictions, split, ci if split == "test" else None)
            for split in ("valid", "test")
        },
        "per_seed": [
            {"seed": seed, **{k: e[k] for k in ("selected", "valid", "test")}}
            for seed, e in entries.items()
        ],
    }
    metrics = {**first.metrics, "models": {name: entry}}
    return Evaluated(metrics, _runtime(runs), predictions, runs[saved].history)


def _name(run: Evaluated) -> str:
    return run.metrics["best_on_valid"]


def _split_metrics(predictions: pd.DataFrame, split: str, ci: dict[str, Any] | None) -> dict:
    """:func:`evaluate_seeds` of one split, the seeds' rows aligned by review."""
    rows = predictions[predictions["split"] == split]
    wide = rows.pivot(index="review_id", columns="seed", values=["prediction", "predicted_class"])
    truth = rows.drop_duplicates("review_id").set_index("review_id").loc[wide.index, "label"]
    return evaluate_seeds(
        wide["prediction"].to_numpy().T, truth.to_numpy(), wide["predicted_class"].to_numpy().T, ci
    )


def _runtime(runs: dict[int, Evaluated]) -> dict[str, Any]:
    """Seconds summed over the seeds, rates averaged, peak memory the largest, the rest as each
    seed has it."""
    reports = [run.runtime for run in runs.values()]
    out: dict[str, Any] = {}
    for key in reports[0]:
        values = [r[key] for r in reports]
        if key.endswith("seconds"):
            out[key] = round(float(np.sum(values)), 1)
        elif key == "peak_rss_gib" or len(set(values)) == 1:
            out[key] = max(values)
        else:
            out[key] = round(float(np.mean(values)), 2)
    return {**out, "seeds": len(reports)}
