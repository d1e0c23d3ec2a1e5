"""The ablation grid: named variants of the ``finetune`` params, each trained with several seeds
on one fixed budget, scored on a fixed subset of the test split (``ablations.test_rows``) and on
noisy copies of a fixed part of that subset.

A variant is a partial ``finetune`` block: ``finetune`` <- ``ablations.budget`` <- variant,
merged key by key (:func:`reviewlab.core.compose.variant_config`). One run (stage ``ablate``,
a DVC matrix over variant x seed) is :func:`run_variant`; :func:`sweep` chooses a variant's
setting on validation rows only.
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
from pydantic import ValidationError

from reviewlab.core.compose import merged_finetune, nested, variant_config
from reviewlab.core.evaluation import evaluate_split
from reviewlab.core.params import (
    AblationParams,
    FinetuneParams,
    Params,
    ParamsError,
    RobustnessParams,
    describe,
)
from reviewlab.core.runtime import hardware
from reviewlab.data.robustness import perturb_texts
from reviewlab.models.finetune.run import Scored, decode_on_valid, fit, runtime, score_sets


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
    """Train ``variant`` (its config ``cfg``) with ``seed`` on the training frame ``frame``;
    score the fixed test rows, the validation rows (``grid.valid_rows``) and the noisy copies.
    ``checkpoints`` is removed once training is done."""
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
    predictions = pd.concat(
        [_predictions(name, rows) for name, rows in scored.items()], ignore_index=True
    )
    clean = predictions[predictions["set"] == "test"].set_index("review_id")
    clean = clean.loc[subset["review_id"]]
    result["test_noise_rows"] = evaluate_split(
        clean["prediction"].to_numpy(),
        clean["label"].to_numpy(),
        clean["predicted_class"].to_numpy(),
    )
    cost = runtime(
        fitted,
        eval_seconds=time.perf_counter() - eval_start,
        total_seconds=time.perf_counter() - start,
    )
    cost["hardware"] = hardware()
    return VariantRun(result, cost, predictions)


def training_summary(history: list[dict[str, Any]]) -> dict[str, Any]:
    """From the Trainer's log history: the steps trained, and where the validation loss was
    lowest (``eval_loss_min_step`` before ``steps``: the run overfits within its budget, and
    early stopping restored the best checkpoint)."""
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


def _predictions(name: str, scored: Scored) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "review_id": scored.rows["review_id"].to_numpy(),
            "set": name,
            "prediction": scored.estimate,
            "predicted_class": scored.classes.astype(np.int64),
            "label": scored.truth.astype(np.int64),
        }
    )


def sweep_configs(
    params: Params, variant: str, key: str, values: list[Any]
) -> list[FinetuneParams]:
    """The config of ``variant`` with the ``finetune`` setting ``key`` (dotted) set to each of
    ``values``; every one checked against the schema before anything trains."""
    base = variant_config(params, variant)
    configs = []
    for value in values:
        try:
            configs.append(merged_finetune(base, (nested(key, value), "--key")))
        except ValidationError as err:
            raise ParamsError(describe(err, f"sweep {variant} with {key}={value!r}")) from None
    return configs


def sweep(
    frame: pd.DataFrame,
    values: list[Any],
    configs: list[FinetuneParams],
    seeds: list[int],
    valid_rows: int | None,
    rows_seed: int,
    cache_dir: Path | None = None,
) -> pd.DataFrame:
    """Validation metrics of each config of :func:`sweep_configs` (one per value), trained on
    ``frame`` with every seed and scored on ``valid_rows`` fixed validation rows (drawn with
    ``rows_seed``): how a variant's setting is chosen without looking at the test split. One
    row per value x seed."""
    rows = []
    for value, cfg in zip(values, configs, strict=True):
        for seed in seeds:
            with tempfile.TemporaryDirectory() as checkpoints:
                fitted = fit(frame, cfg, seed, Path(checkpoints), cache_dir)
            valid = fixed_rows(fitted.parts["valid"], valid_rows, rows_seed)
            metrics = score_sets(fitted, {"valid": valid})["valid"].raw_metrics()
            rows.append(
                {"value": value, "seed": seed, "train_seconds": round(fitted.train_seconds, 1)}
                | {m: round(float(v), 4) for m, v in metrics.items()}
            )
    return pd.DataFrame(rows)
