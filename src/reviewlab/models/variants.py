"""The ablation grid: variants of the ``finetune`` params (``finetune`` <- ``ablations.budget``
<- variant, :func:`reviewlab.core.compose.variant_config`), each trained with several seeds on
one fixed budget and scored on fixed test rows and noisy copies of part of them
(:func:`run_variant`, stage ``ablate``); one tuning run scores validation rows only
(:func:`tune_trial`, stage ``tune``).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reviewlab.core.evaluation import evaluate_split
from reviewlab.core.params import AblationParams, FinetuneParams, RobustnessParams
from reviewlab.core.runtime import hardware
from reviewlab.data.robustness import perturb_texts
from reviewlab.models.encoder.run import (
    RowPredictions,
    convergence,
    decode_on_valid,
    fit,
    runtime,
    score_sets,
)


def fixed_rows(frame: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """A seeded subset of ``n`` rows, the same for every variant and seed (null/0: all)."""
    return frame if not n or n >= len(frame) else frame.sample(n=n, random_state=seed)


def noise_subset(test: pd.DataFrame, robustness: RobustnessParams) -> pd.DataFrame:
    """The fixed test rows that get noisy copies (same rows for every variant and seed)."""
    return fixed_rows(test, robustness.rows, robustness.seed)


@dataclass
class VariantRun:
    """One ablation run: its metrics JSON, its runtime JSON and its predictions."""

    result: dict[str, Any]  # variant, seed, one entry per scored set, test_noise_rows
    runtime: dict[str, Any]
    predictions: pd.DataFrame  # review_id, set, prediction, predicted_class, label


def run_variant(
    frame: pd.DataFrame,
    cfg: FinetuneParams,
    grid: AblationParams,
    variant: str,
    seed: int,
    checkpoints: Path,
    cache_dir: Path | None = None,
) -> VariantRun:
    """Train ``variant`` (config ``cfg``) with ``seed`` on the training frame ``frame``; score
    the fixed test, validation and training rows and the noisy copies."""
    start = time.perf_counter()
    fitted = fit(frame, cfg, seed, checkpoints, cache_dir)
    shutil.rmtree(checkpoints, ignore_errors=True)

    robustness = grid.robustness
    test = fixed_rows(fitted.parts["test"], grid.test_rows, robustness.seed)
    sets = {"test": test}
    if grid.valid_rows != 0:  # null: all validation rows, 0: none
        sets["valid"] = fixed_rows(fitted.parts["valid"], grid.valid_rows, robustness.seed)
    if grid.train_rows:  # the train-validation gap: how far the run overfits
        sets["train"] = fixed_rows(fitted.parts["train"], grid.train_rows, robustness.seed)
    subset = noise_subset(test, robustness)
    for name, level in robustness.levels.items():
        keys = subset["review_id"].tolist()
        sets[name] = subset.assign(
            title=perturb_texts(subset["title"].tolist(), keys, level, robustness.seed),
            text=perturb_texts(subset["text"].tolist(), keys, level, robustness.seed),
        )
    result: dict[str, Any] = {"variant": variant, "seed": seed}
    result["training"] = training_summary(fitted.trainer.state.log_history)
    eval_start = time.perf_counter()
    scored = score_sets(fitted, sets)
    if "valid" in scored and cfg.head == "regression":  # classes from validation cut-points
        result["cutpoints"] = decode_on_valid(scored)
    for name, rows in scored.items():
        result[name] = rows.metrics()
    predictions = pd.concat([_predictions(n, r) for n, r in scored.items()], ignore_index=True)
    tested = predictions[predictions["set"] == "test"].set_index("review_id")
    clean = tested.loc[subset["review_id"]]
    result["test_noise_rows"] = evaluate_split(
        *(clean[c].to_numpy() for c in ("prediction", "label", "predicted_class"))
    )
    now = time.perf_counter()
    cost = runtime(fitted, eval_seconds=now - eval_start, total_seconds=now - start)
    return VariantRun(result, cost | {"hardware": hardware()}, predictions)


def training_summary(history: list[dict[str, Any]]) -> dict[str, Any]:
    """From the Trainer's log history: the steps trained and where the validation loss was
    lowest (``min_before_end``: the run overfits within its budget)."""
    steps = max((h.get("step", 0) for h in history), default=0)
    evals = [(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h]
    summary: dict[str, Any] = {"steps": int(steps), "evaluations": len(evals)}
    if evals:
        step, loss = min(evals, key=lambda e: e[1])
        summary |= {
            "eval_loss_min_step": int(step),
            "eval_loss_min": round(float(loss), 6),
            "eval_loss_last": round(float(evals[-1][1]), 6),
            "min_before_end": bool(step < evals[-1][0]),
        }
    return summary


def _predictions(name: str, scored: RowPredictions) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "review_id": scored.rows["review_id"].to_numpy(),
            "set": name,
            "prediction": scored.estimate,
            "predicted_class": scored.classes.astype(np.int64),
            "label": scored.truth.astype(np.int64),
        }
    )


def tune_trial(
    frame: pd.DataFrame,
    cfg: FinetuneParams,
    seed: int,
    valid_rows: int | None,
    rows_seed: int,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Train one tuning candidate ``cfg`` with ``seed`` on ``frame``; its metrics on
    ``valid_rows`` fixed validation rows (null: all; drawn with ``rows_seed``), never on test,
    the selected checkpoint, the training summary and the training seconds."""
    with tempfile.TemporaryDirectory() as checkpoints:
        fitted = fit(frame, cfg, seed, Path(checkpoints), cache_dir)
    valid = fixed_rows(fitted.parts["valid"], valid_rows, rows_seed)
    scored = score_sets(fitted, {"valid": valid})
    if cfg.head == "regression":
        decode_on_valid(scored)
    return {
        "valid": scored["valid"].metrics(),
        "selected": convergence(fitted.trainer),
        "training": training_summary(fitted.trainer.state.log_history),
        "train_seconds": round(fitted.train_seconds, 1),
    }
