"""The ablation grid: named variants of the ``finetune`` params, each trained with several seeds
on one fixed budget, scored on a fixed subset of the test split (``ablations.test_rows``) and on
noisy copies of a fixed part of that subset.

A variant is a partial ``finetune`` block: ``finetune`` <- ``ablations.budget`` <- variant,
merged key by key (an unknown key is an error, never silently ignored). One run
(``reviewlab ablate --variant V --seed S``, a DVC matrix stage) writes
``metrics/<dataset>/ablations/<V>-<S>.json`` (+ ``_runtime.json``) and its predictions.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reviewlab.core import artifacts as paths
from reviewlab.core.evaluation import evaluate_split, score
from reviewlab.core.io import write_json
from reviewlab.data.robustness import perturb_texts


def deep_merge(base: dict[str, Any], override: dict[str, Any], where: str) -> dict[str, Any]:
    """``base`` with ``override`` merged in; every key of ``override`` must exist in ``base``."""
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if key not in merged:
            raise KeyError(
                f"params.yaml: {where}.{key} is not a finetune parameter (known: {sorted(merged)})"
            )
        if isinstance(value, dict) and isinstance(merged[key], dict):
            merged[key] = deep_merge(merged[key], value, f"{where}.{key}")
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def variant_config(params: dict[str, Any], variant: str) -> dict[str, Any]:
    """The full ``finetune`` config of ``variant``: finetune <- budget <- variant overrides."""
    grid = params["ablations"]
    if variant not in grid["variants"]:
        raise KeyError(
            f"params.yaml: ablations.variants.{variant} is not defined "
            f"(known: {sorted(grid['variants'])})"
        )
    cfg = deep_merge(params["finetune"], grid["budget"], "ablations.budget")
    cfg = deep_merge(cfg, grid["variants"][variant], f"ablations.variants.{variant}")
    cfg["name"] = variant
    return cfg


def run_dir(dataset: str, variant: str, seed: int, root: Path | None = None) -> Path:
    return paths.artifacts(dataset, root) / "ablations" / f"{variant}-{seed}"


def metrics_path(dataset: str, variant: str, seed: int, root: Path | None = None) -> Path:
    return paths.metrics_dir(dataset, root) / "ablations" / f"{variant}-{seed}.json"


def fixed_rows(frame: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """A seeded subset of ``n`` rows, the same for every variant and seed (null/0: all)."""
    return frame if not n or n >= len(frame) else frame.sample(n=n, random_state=seed)


def noise_subset(test: pd.DataFrame, robustness: dict[str, Any]) -> pd.DataFrame:
    """The fixed test rows that get noisy copies (same rows for every variant and seed)."""
    return fixed_rows(test, robustness["rows"], robustness["seed"])


def run_variant(
    params: dict[str, Any], variant: str, seed: int, root: Path | None = None
) -> dict[str, Any]:
    """Train ``variant`` with ``seed``; score validation, test and the noisy test copies."""
    from reviewlab.models.finetune.run import fit, peak_rss_gib

    root = root or paths.project_root()
    grid = params["ablations"]
    dataset, cfg = grid["dataset"], variant_config(params, variant)
    out = run_dir(dataset, variant, seed, root)
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    fitted = fit(dataset, cfg, seed, out / "checkpoints", root)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)

    test = fixed_rows(fitted.parts["test"], grid["test_rows"], grid["robustness"]["seed"])
    sets = {"test": test}
    if grid["valid_rows"] != 0:  # null: all validation rows, 0: none
        sets["valid"] = fixed_rows(
            fitted.parts["valid"], grid["valid_rows"], grid["robustness"]["seed"]
        )
    subset = noise_subset(test, grid["robustness"])
    for name, level in grid["robustness"]["levels"].items():
        keys = subset["review_id"].tolist()
        sets[name] = subset.assign(
            title=perturb_texts(subset["title"].tolist(), keys, level, grid["robustness"]["seed"]),
            text=perturb_texts(subset["text"].tolist(), keys, level, grid["robustness"]["seed"]),
        )
    tables, result = [], {"variant": variant, "seed": seed}
    eval_start = time.perf_counter()
    for name, rows in sets.items():
        ordered, estimate, classes, truth = fitted.predict(rows, fitted.encode(rows, cfg, root))
        result[name] = evaluate_split(estimate, truth.astype(np.int64), classes.astype(np.int64))
        tables.append(
            pd.DataFrame(
                {
                    "review_id": ordered["review_id"].to_numpy(),
                    "set": name,
                    "prediction": estimate,
                    "predicted_class": classes.astype(np.int64),
                    "label": truth.astype(np.int64),
                }
            )
        )
    predictions = pd.concat(tables, ignore_index=True)
    clean = (
        predictions[(predictions["set"] == "test")].set_index("review_id").loc[subset["review_id"]]
    )
    result["test_noise_rows"] = evaluate_split(
        clean["prediction"].to_numpy(),
        clean["label"].to_numpy(),
        clean["predicted_class"].to_numpy(),
    )
    runtime = {
        "train_seconds": round(fitted.train_seconds, 1),
        "train_samples_per_second": round(fitted.train_samples_per_second, 2),
        "train_rows": len(fitted.parts["train"]),
        "eval_seconds": round(time.perf_counter() - eval_start, 1),
        "total_seconds": round(time.perf_counter() - start, 1),
        "peak_rss_gib": round(peak_rss_gib(), 2),
    }
    out.mkdir(parents=True, exist_ok=True)
    predictions.to_parquet(out / "predictions.parquet", index=False)
    target = metrics_path(dataset, variant, seed, root)
    write_json(target, result)
    write_json(target.with_name(f"{variant}-{seed}_runtime.json"), runtime)
    return {**result, "runtime": runtime}


def nested(dotted: str, value: Any) -> dict[str, Any]:
    """``"a.b"``, 1 -> ``{"a": {"b": 1}}``."""
    *parents, last = dotted.split(".")
    tree: dict[str, Any] = {last: value}
    for key in reversed(parents):
        tree = {key: tree}
    return tree


def sweep(
    params: dict[str, Any],
    variant: str,
    key: str,
    values: list[Any],
    seeds: list[int],
    valid_rows: int | None,
    root: Path | None = None,
) -> pd.DataFrame:
    """Validation metrics of ``variant`` on the grid's budget with the ``finetune`` setting
    ``key`` (dotted) set to each of ``values``: how a variant's setting is chosen without
    looking at the test split. One row per value x seed."""
    from reviewlab.core.params import check_finetune
    from reviewlab.models.finetune.run import fit

    root = root or paths.project_root()
    grid = params["ablations"]
    rows = []
    for value in values:
        cfg = deep_merge(variant_config(params, variant), nested(key, value), "--key")
        check_finetune(cfg, f"sweep {variant} with {key}={value!r}")
        for seed in seeds:
            with tempfile.TemporaryDirectory() as checkpoints:
                fitted = fit(grid["dataset"], cfg, seed, Path(checkpoints), root)
            valid = fixed_rows(fitted.parts["valid"], valid_rows, grid["robustness"]["seed"])
            _, estimate, classes, truth = fitted.predict(valid, fitted.encode(valid, cfg, root))
            metrics = score(estimate, truth.astype(np.int64), classes.astype(np.int64))
            rows.append(
                {"value": value, "seed": seed, "train_seconds": round(fitted.train_seconds, 1)}
                | {m: round(float(v), 4) for m, v in metrics.items()}
            )
    return pd.DataFrame(rows)
