"""The extended Trainer trains the real packaged encoder with every adversarial method."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from reviewlab.models.finetune.adversarial import AdversarialConfig
from reviewlab.models.finetune.data import LabelSpec, build_dataset
from reviewlab.models.finetune.model import build_model
from reviewlab.models.finetune.run import training_args
from reviewlab.models.finetune.trainer import ReviewTrainer, metrics_fn, to_predictions
from tests.test_finetune_parts import CFG

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
INPUT = {"max_length": 32, "head_tokens": 16, "title_max_tokens": 8, "pad_to_multiple_of": 8}


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
    cfg = {**CFG, "train": TRAIN, "selection_metric": "rmse"}
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
        adversarial=AdversarialConfig(method, epsilon=0.5, alpha=0.2, steps=2),
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
