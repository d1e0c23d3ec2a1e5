"""The extended Trainer trains the real packaged encoder with every adversarial method."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from reviewlab.core.params import AdversarialParams, InputParams
from reviewlab.models.encoder.data import LabelSpec, build_dataset
from reviewlab.models.encoder.model import build_model
from reviewlab.models.encoder.run import training_args
from reviewlab.models.encoder.trainer import ReviewTrainer, metrics_fn, to_predictions
from tests.conftest import evaluation_block
from tests.test_finetune_parts import finetune_cfg

TRAIN = {
    "epochs": 1,
    "max_steps": 2,
    "batch_size": 4,
    "eval_batch_size": 8,
    "grad_accum": 2,
    "lr": 1e-4,
    "weight_decay": 0.01,
    "warmup_ratio": 0.0,
    "scheduler": "linear",
    "bf16": False,
    "group_by_length": True,
    "eval_every": 2,
    "log_every": 1,
    "early_stopping_patience": 1,
}
INPUT = InputParams(max_length=32, head_tokens=16, title_max_tokens=8, pad_to_multiple_of=8)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    words = ["awful", "poor", "okay", "good", "great"]
    rows = [(f"t{i}", f"this is {words[i % 5]} gear number {i}", i % 5 + 1) for i in range(24)]
    return pd.DataFrame(rows, columns=["title", "text", "rating"])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "head", "rdrop"),
    [
        ("none", "regression", 0.0),
        ("fgm", "classification", 1.0),
        ("pgd", "regression", 0.5),
        ("freelb", "classification", 0.0),
    ],
)
def test_training_steps_run_and_move_weights(frame, tmp_path, method, head, rdrop):
    from transformers import DataCollatorWithPadding

    from reviewlab.core.backbone import load_tokenizer

    tokenizer = load_tokenizer()
    spec = LabelSpec.fit("rating", head, frame["rating"])
    data = build_dataset(frame, tokenizer, spec, INPUT)
    cfg = finetune_cfg(train=TRAIN, selection_metric="rmse")
    torch.manual_seed(0)
    model = build_model(cfg, spec.num_outputs, 0, spec.initial_bias(frame["rating"]))
    before = model.head.weight.detach().clone()
    trainer = ReviewTrainer(
        model=model,
        args=training_args(cfg, tmp_path, seed=0),
        train_dataset=data,
        eval_dataset=data,
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=metrics_fn(spec),
        labels=spec,
        adversarial=AdversarialParams(method=method, epsilon=0.5, alpha=0.2, steps=2, init_mag=0.0),
        rdrop_alpha=rdrop,
        label_smoothing=0.1 if head == "classification" else 0.0,
        llrd_decay=0.8,
    )
    output = trainer.train()
    assert np.isfinite(output.training_loss) and output.global_step == 2
    assert not torch.equal(before, model.head.weight.detach())
    metrics = trainer.evaluate()
    assert 0 <= metrics["eval_accuracy"] <= 1 and np.isfinite(metrics["eval_rmse"])


def test_to_predictions_per_head():
    spec = LabelSpec("rating", "classification", classes=[1, 2, 3, 4, 5])
    logits = np.log(np.array([[0.1, 0.1, 0.1, 0.2, 0.5], [0.9, 0.025, 0.025, 0.025, 0.025]]))
    estimate, classes = to_predictions(logits, spec)
    np.testing.assert_allclose(estimate, [0.1 + 0.2 + 0.3 + 0.8 + 2.5, 0.9 + 0.35])
    assert classes.tolist() == [5, 1]
    binary = LabelSpec("recommended", "binary", positive=1)
    probability, labels = to_predictions(np.array([[2.0], [-1.0]]), binary)
    assert labels.tolist() == [1, 0] and probability[0] == pytest.approx(1 / (1 + np.exp(-2)))


def test_training_args_follow_the_typed_config(tmp_path):
    cfg = finetune_cfg(
        train={**TRAIN, "max_steps": None, "warmup_ratio": 0.1}, selection_metric="qwk"
    )
    args = training_args(cfg, tmp_path, seed=3)
    assert args.max_steps == -1 and args.num_train_epochs == 1 and args.warmup_steps == 0.1
    assert args.per_device_train_batch_size == 4 and args.gradient_accumulation_steps == 2
    assert args.eval_strategy == "steps" and args.eval_steps == 2 and args.load_best_model_at_end
    assert args.metric_for_best_model == "qwk" and args.greater_is_better
    assert args.seed == args.data_seed == 3 and not args.bf16
    fixed = training_args(finetune_cfg(train={**TRAIN, "eval_every": None}), tmp_path, seed=0)
    assert fixed.max_steps == 2 and fixed.eval_strategy == "no" and fixed.save_strategy == "no"
    assert not fixed.load_best_model_at_end and not fixed.greater_is_better


def test_binary_training_metrics_match_sklearn():
    from types import SimpleNamespace

    from sklearn.metrics import f1_score, roc_auc_score

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 200).astype(np.float32)
    logits = (truth * 1.5 + rng.normal(0, 1, 200)).reshape(-1, 1)
    spec = LabelSpec("recommended", "binary", positive=1)
    got = metrics_fn(spec)(SimpleNamespace(predictions=logits, label_ids=truth))
    predicted = (1 / (1 + np.exp(-logits.reshape(-1))) > 0.5).astype(int)
    assert list(got) == ["accuracy", "f1", "roc_auc"]
    assert got["accuracy"] == np.mean(predicted == truth)
    assert got["f1"] == pytest.approx(f1_score(truth.astype(int), predicted), abs=1e-12)
    assert got["roc_auc"] == pytest.approx(roc_auc_score(truth, logits.reshape(-1)), abs=1e-12)
    one_class = metrics_fn(spec)(SimpleNamespace(predictions=logits[:3], label_ids=np.ones(3)))
    assert np.isnan(one_class["roc_auc"])


@pytest.fixture
def tiny_project(tmp_path):
    """A catalogue with one tiny synthetic dataset ``shop``: canonical reviews, features with
    splits, and a baselines.json."""
    from reviewlab.core.artifacts import Catalogue
    from reviewlab.core.evaluation.compare import TRIVIAL
    from reviewlab.core.params import FeatureParams
    from reviewlab.data.features import build_features
    from reviewlab.data.splits import make_splits
    from tests.conftest import synthetic_reviews

    catalogue = Catalogue(tmp_path)
    reviews = synthetic_reviews(120)
    catalogue.write_table(reviews, catalogue.reviews("shop"))
    split = make_splits(reviews, "stratified", 0.2, 0.2, seed=0)
    tfidf = {"max_features": 200, "ngram_max": 1, "min_df": 1}
    cfg = FeatureParams.model_validate({"tfidf_word": tfidf, "tfidf_char": tfidf})
    features, vectorizers = build_features(reviews, split, cfg)
    features.save(catalogue.features("shop"), vectorizers)
    entry = {"rmse": 1.0, "mae": 0.8, "accuracy": 0.4, "macro_f1": 0.3, "qwk": 0.2, "n": 24}
    model = {"selected": {}, "valid": entry, "test": entry}
    baselines = {"selection_metric": "rmse", "best_on_valid": TRIVIAL, "models": {TRIVIAL: model}}
    catalogue.write_metric("shop", "baselines", baselines)
    scored = reviews.assign(split=split)[split != "train"]
    mean = reviews.loc[split == "train", "rating"].mean()
    predictions = scored[["split", "review_id", "user_id", "item_id", "rating"]].assign(
        model=TRIVIAL, prediction=mean, predicted_class=int(round(mean))
    )
    catalogue.write_table(predictions, catalogue.predictions(catalogue.baselines("shop")))
    return catalogue


TINY_TRAIN = {**TRAIN, "grad_accum": 1, "eval_every": 1, "max_steps": 2, "batch_size": 8}


@pytest.mark.slow
def test_finetune_and_ablate_stages_write_their_outputs(tiny_project):
    from reviewlab.core.evaluation.compare import TRIVIAL
    from reviewlab.core.params import partial
    from reviewlab.stages import ablate, finetune
    from tests.test_finetune_parts import FINETUNE

    catalogue = tiny_project
    settings = {
        **FINETUNE,
        "behaviour_features": True,
        "train": {**FINETUNE["train"], **TINY_TRAIN},
    }
    shop = {"adapter": "amazon_jsonl", "path": "unused", "finetune": {"max_train_rows": 40}}
    params = partial(
        {"seed": 0, "finetune": settings, "datasets.shop": shop, "evaluation": evaluation_block()}
    )
    result = finetune.run(params, "shop", catalogue)
    assert result.runtime["train_rows"] == 40  # the dataset's own setting over `finetune`
    assert list(result.comparison["models"]) == [TRIVIAL, "finetune"]
    assert [c["reference"] for c in result.metrics["comparisons"]["vs_baselines"]] == [TRIVIAL] * 5
    entry = result.metrics["models"]["finetune"]
    assert entry["test"]["n"] == len(result.test) and "rmse_low" in entry["test"]
    assert "rmse_low" not in entry["valid"] and entry["selected"]["best_step"] in (1, 2)
    assert entry["selected"]["last_eval_step"] == 2
    assert entry["selected"]["converged"] == (entry["selected"]["best_step"] == 1)
    assert catalogue.read_metric("shop", "finetune") == result.metrics
    assert list(catalogue.read_metric("shop", "finetune_runtime")) == list(result.runtime)
    assert (catalogue.finetune_live("shop") / "metrics.json").is_file()
    saved = pd.read_parquet(catalogue.predictions(catalogue.finetune("shop")))
    pd.testing.assert_frame_equal(saved, result.predictions)
    assert len(result.test_words) == len(result.test) and len(result.worst) == 5
    assert result.worst.columns.tolist() == ["rating", "prediction", "top_tokens", "text"]
    assert not catalogue.checkpoints("shop-finetune").exists()

    grid = {
        "dataset": "shop",
        "valid_rows": 10,
        "test_rows": 16,
        "train_rows": 8,
        "budget": {"max_train_rows": 32, "train": {"eval_every": None}},
        "robustness": {"seed": 0, "rows": 8, "levels": {"noise_25": 0.25}},
    }
    declared = ("dataset", "budget", "valid_rows", "test_rows", "train_rows", "robustness")
    params = partial(
        {"finetune": settings, "ablations.variants.plain": {}}
        | {f"ablations.{k}": grid[k] for k in declared}
    )
    run = ablate.run(params, variant="plain", seed=1, catalogue=catalogue)
    assert list(run.metrics) == [
        "variant",
        "seed",
        "training",
        "cutpoints",
        "test",
        "valid",
        "train",
        "noise_25",
        "test_noise_rows",
    ]
    assert run.metrics["training"]["steps"] > 0
    assert run.metrics["test"]["n"] == 16 and run.metrics["noise_25"]["n"] == 8
    assert catalogue.read_metric("shop/ablations", "plain-1") == run.metrics
    folder = catalogue.ablation_run("shop", "plain", 1)
    assert pd.read_parquet(catalogue.predictions(folder))["set"].value_counts().to_dict() == {
        "test": 16,
        "valid": 10,
        "noise_25": 8,
        "train": 8,
    }
    assert not (folder / "checkpoints").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["polarity", "stars"])
def test_task_stage_derives_trains_and_scores_every_model(tiny_project, name):
    from reviewlab.core.params import partial
    from reviewlab.stages import task
    from tests.test_finetune_parts import FINETUNE

    catalogue = tiny_project
    tasks = {
        "polarity": {
            "dataset": "shop",
            "label": {"from": "rating", "map": {1: 0, 2: 0, 4: 1, 5: 1}},
            "head": "binary",
            "lexicon": True,
        },
        "stars": {
            "dataset": "shop",
            "label": {"from": "rating", "bins": [1, 3, 5, 6]},
            "head": "classification",
        },
    }
    budget = {
        "test_rows": 12,
        "valid_rows": 12,
        "logreg_C": [1, 10],
        "finetune": {"max_train_rows": 32, "train": {**TINY_TRAIN, "eval_every": None}},
    }
    params = partial(
        {
            "seed": 0,
            "finetune": FINETUNE,
            "task_budget": budget,
            "evaluation": evaluation_block(),
            f"tasks.{name}": tasks[name],
        }
    )
    result = task.run(params, name, catalogue)
    binary = name == "polarity"
    expected = ["finetune", "tfidf_logreg", "tfidf_logreg_all_rows", "majority"]
    assert list(result.metrics["models"]) == expected + (["vader"] if binary else [])
    assert result.metrics["label"] == tasks[name]["label"] and result.metrics["test_rows"] == 12
    assert result.metrics["classes"] == (None if binary else ["1-2", "3-4", "5-5"])
    assert list(result.metrics["thresholds_chosen_on_valid"]) == (expected[:3] if binary else [])
    assert list(result.runtime) == [
        "train_seconds",
        "train_samples_per_second",
        "in_training_eval_seconds",
        "in_training_checkpoint_seconds",
        "train_samples_per_second_excluding_eval",
        "total_seconds",
        "peak_rss_gib",
    ]
    assert catalogue.read_metric("tasks", name) == json.loads(json.dumps(result.metrics))
    derived = catalogue.features(f"task_{name}")
    assert (derived / "table.parquet").is_file() and catalogue.reviews(f"task_{name}").is_file()
    saved = pd.read_parquet(catalogue.predictions(catalogue.artifacts(f"task_{name}")))
    assert len(saved) == 12 * len(result.metrics["models"])
