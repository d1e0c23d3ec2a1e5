"""A fine-tune trained with several seeds is one model: the mean over seeds with its spread,
an interval over rows and seeds, the seed best on validation saved, and paired verdicts that
block on the seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reviewlab.core.evaluation import evaluate_seeds, evaluate_split
from reviewlab.core.evaluation.compare import rating_families
from reviewlab.core.evaluation.inference import Design
from reviewlab.models.encoder.run import Evaluated
from reviewlab.models.encoder.seeds import best_seed, combine

CI = {"n_resamples": 200, "level": 0.95, "seed": 0}
RNG = np.random.default_rng(0)
TRUTH = RNG.integers(1, 6, 300)


def _noisy(scale: float, seed: int) -> np.ndarray:
    return np.clip(TRUTH + np.random.default_rng(seed).normal(0, scale, len(TRUTH)), 1, 5)


def test_one_seed_is_exactly_the_single_run_report():
    estimate = _noisy(0.6, 1)
    classes = np.rint(estimate).astype(int)
    assert evaluate_seeds(estimate[None], TRUTH, classes[None], CI) == evaluate_split(
        estimate, TRUTH, classes, CI
    )


def test_several_seeds_give_their_mean_spread_and_a_wider_interval():
    estimates = np.stack([_noisy(s, i) for i, s in enumerate((0.5, 0.6, 0.7))])
    classes = np.rint(estimates).astype(int)
    result = evaluate_seeds(estimates, TRUTH, classes, CI)
    singles = [evaluate_split(e, TRUTH, c) for e, c in zip(estimates, classes, strict=True)]
    rmses = [s["rmse"] for s in singles]
    assert result["rmse"] == pytest.approx(np.mean(rmses), abs=1e-6)
    assert result["rmse_sd"] == pytest.approx(np.std(rmses, ddof=1), abs=1e-6)
    assert result["rmse_low"] < result["rmse"] < result["rmse_high"]
    one = evaluate_split(estimates[1], TRUTH, classes[1], CI)
    assert result["rmse_high"] - result["rmse_low"] > 0.5 * (one["rmse_high"] - one["rmse_low"])
    assert result["n"] == len(TRUTH)


def _run(seed: int, scale: float) -> Evaluated:
    """One seed's report as the finetune stage makes it (no intervals)."""
    ids = [f"r{i}" for i in range(len(TRUTH))]
    frames = []
    for split in ("valid", "test"):
        estimate = _noisy(scale, seed + (split == "test"))
        frames.append(
            pd.DataFrame(
                {
                    "model": "finetune",
                    "split": split,
                    "review_id": ids,
                    "rating": TRUTH,
                    "prediction": estimate,
                    "predicted_class": np.rint(estimate).astype(int),
                    "label": TRUTH,
                }
            ).sample(frac=1, random_state=seed)  # length-grouped order differs per seed
        )
    predictions = pd.concat(frames, ignore_index=True)
    entry = {
        "selected": {"best_step": 10 * seed, "last_eval_step": 30, "converged": seed != 3},
        **{
            s: evaluate_split(p["prediction"], p["label"], p["predicted_class"])
            for s, p in predictions.groupby("split")
        },
    }
    metrics = {
        "selection_metric": "rmse",
        "best_on_valid": "finetune",
        "models": {"finetune": entry},
    }
    runtime = {"train_seconds": 100.0, "train_samples_per_second": 10.0 + seed, "train_rows": 300}
    return Evaluated(metrics, runtime, predictions, pd.DataFrame({"step": [seed]}))


def test_combine_reports_the_mean_and_saves_the_seed_best_on_validation():
    runs = {1: _run(1, 0.7), 2: _run(2, 0.5), 3: _run(3, 0.6)}
    assert best_seed(runs, "rmse") == 2 and best_seed(runs, "loss") == 2
    done = combine(runs, CI)
    entry = done.metrics["models"]["finetune"]
    assert entry["seeds"] == [1, 2, 3]
    assert entry["selected"]["saved_seed"] == 2 and entry["selected"]["best_step"] == 20
    assert entry["selected"]["converged_seeds"] == 2 and not entry["selected"]["converged"]
    per_seed = [r["test"]["rmse"] for r in entry["per_seed"]]
    assert entry["test"]["rmse"] == pytest.approx(np.mean(per_seed), abs=1e-6)
    assert {"rmse_sd", "rmse_low", "rmse_high"} <= set(entry["test"])
    assert "rmse_low" not in entry["valid"]
    assert done.runtime == {
        "train_seconds": 300.0,
        "train_samples_per_second": 12.0,
        "train_rows": 300,
        "seeds": 3,
    }
    assert sorted(done.predictions["seed"].unique()) == [1, 2, 3]
    assert done.history["step"].tolist() == [2]


def test_verdicts_block_a_seeded_model_against_a_model_trained_once():
    runs = {1: _run(1, 0.5), 2: _run(2, 0.5), 3: _run(3, 0.5)}
    tuned = combine(runs, CI).predictions.drop(columns="label")
    baseline = tuned[tuned["seed"] == 1].drop(columns="seed")
    baseline = baseline.assign(model="mean_majority", prediction=3.0, predicted_class=3)
    both = pd.concat([baseline, tuned], ignore_index=True)
    margins = {"rmse": 0.02, "mae": 0.02, "accuracy": 0.01, "macro_f1": 0.01, "qwk": 0.01}
    families = rating_families(both, "finetune", margins, Design(n_resamples=100))
    rmse = next(c for c in families["vs_selected"] if c["metric"] == "rmse")
    assert rmse["seeds"] == 3 and len(rmse["per_seed"]) == 3
    assert rmse["verdict"] == "better" and rmse["difference"] < 0
