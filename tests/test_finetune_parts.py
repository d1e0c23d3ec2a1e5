"""Fine-tuning building blocks: tokenisation, labels, R-Drop, LLRD groups, model round trip."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from reviewlab.core.backbone import resolve_model
from reviewlab.core.compose import merged_finetune
from reviewlab.core.params import AugmentParams, FinetuneParams
from reviewlab.models.encoder.data import LabelSpec, Standardizer, encode, head_tail
from reviewlab.models.encoder.model import (
    ReviewModel,
    llrd_param_groups,
    load_model,
    rdrop_loss,
    save_model,
    task_loss,
)

#: A complete ``finetune`` block for the unit tests (tiny inputs, the packaged encoder).
FINETUNE = {
    "name": "finetune",
    "model_name_or_path": None,
    "attn_implementation": "eager",
    "label_column": "rating",
    "head": "regression",
    "selection_metric": "rmse",
    "behaviour_features": False,
    "freeze_encoder": False,
    "max_train_rows": None,
    "max_valid_rows": None,
    "class_weights": "none",
    "input": {"max_length": 32, "head_tokens": 16, "title_max_tokens": 8, "pad_to_multiple_of": 8},
    "dropout": {"hidden": 0.1, "attention": 0.0, "head": 0.1},
    "train": {
        "epochs": 1,
        "max_steps": None,
        "batch_size": 4,
        "eval_batch_size": 8,
        "grad_accum": 1,
        "lr": 1e-4,
        "head_lr": None,
        "weight_decay": 0.01,
        "warmup_ratio": 0.1,
        "scheduler": "linear",
        "bf16": False,
        "group_by_length": True,
        "eval_every": None,
        "log_every": 1,
        "early_stopping_patience": 1,
        "threads": None,
    },
    "adversarial": {"method": "none", "epsilon": 1.0, "alpha": 0.3, "steps": 3, "init_mag": 0.0},
    "augment": {"method": "none", "p": 0.1, "copies": 1},
    "lora": {
        "enabled": False,
        "r": 8,
        "alpha": 16,
        "dropout": 0.1,
        "target_modules": ["query", "value"],
    },
    "regularization": {"rdrop_alpha": 0.0, "label_smoothing": 0.0, "llrd_decay": 1.0},
}


def finetune_cfg(**overrides) -> FinetuneParams:
    """The test ``finetune`` block with ``overrides`` merged in key by key (validated)."""
    return merged_finetune(FinetuneParams.model_validate(FINETUNE), (overrides, "test"))


CFG = finetune_cfg()


@pytest.fixture(scope="module")
def tokenizer():
    from reviewlab.core.backbone import load_tokenizer

    return load_tokenizer()


@pytest.fixture(scope="module")
def model() -> ReviewModel:
    from reviewlab.models.encoder.model import build_model

    return build_model(CFG, num_outputs=5, n_extra=3, bias=[0.0, 0.1, 0.2, 0.3, 0.4])


def test_packaged_model_resolves_offline():
    folder = Path(resolve_model(None))
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    assert resolve_model("all-MiniLM-L6-v2") == str(folder)
    assert resolve_model("bert-base-uncased") == "bert-base-uncased"
    assert resolve_model("/some/local/checkpoint") == "/some/local/checkpoint"


def test_head_tail_keeps_both_ends():
    assert head_tail(list(range(10)), 4, 1) == [0, 7, 8, 9]
    assert head_tail(list(range(10)), 4, 4) == [0, 1, 2, 3]
    assert head_tail(list(range(3)), 4, 1) == [0, 1, 2]


def test_encode_respects_max_length_and_keeps_head_and_tail(tokenizer):
    long_text = "start " + " ".join(f"w{i}" for i in range(400)) + " finale"
    out = encode(tokenizer, ["Great strings", ""], [long_text, "short one"], 64, 16, 8)
    first, second = (tokenizer.convert_ids_to_tokens(ids) for ids in out["input_ids"])
    assert len(out["input_ids"][0]) <= 64
    assert first[0] == "[CLS]" and first.count("[SEP]") == 2 and "great" in first
    assert first[4] == "start"  # [CLS] great strings [SEP] start ...
    assert first[-2] == "finale" and first[-1] == "[SEP]"
    assert second == ["[CLS]", "short", "one", "[SEP]"]
    assert out["token_type_ids"][0][-1] == 1 and out["token_type_ids"][1] == [0, 0, 0, 0]


def test_label_specs():
    ratings = pd.Series([1, 3, 5, 5, 4])
    cls = LabelSpec.fit("rating", "classification", ratings)
    assert cls.classes == [1, 3, 4, 5] and cls.num_outputs == 4
    assert cls.targets(pd.Series([5, 1])).tolist() == [3, 0]
    with pytest.raises(ValueError, match="not seen in train"):
        cls.targets(pd.Series([2]))
    binary = LabelSpec.fit("recommended", "binary", pd.Series([0, 1, 1]))
    assert binary.targets(pd.Series([1, 0])).tolist() == [1.0, 0.0]
    assert binary.initial_bias(pd.Series([0, 1, 1]))[0] == pytest.approx(np.log(2))
    reg = LabelSpec.fit("rating", "regression", ratings)
    assert reg.initial_bias(ratings) == [pytest.approx(3.6)]
    with pytest.raises(ValueError, match="head 'ordinal'"):
        LabelSpec("rating", "ordinal")


def test_standardizer_uses_train_statistics_and_fills_missing():
    train = pd.DataFrame({"a": [1.0, 3.0], "b": [np.nan, 2.0]})
    scaler = Standardizer.fit(train, ["a", "b"])
    out = scaler.transform(pd.DataFrame({"a": [2.0, np.nan], "b": [2.0, 5.0]}))
    np.testing.assert_allclose(out, [[0.0, 0.0], [0.0, 3.0]])  # b: mean 2, zero std -> 1


def test_rdrop_reduces_to_task_loss_for_identical_passes():
    logits = torch.randn(6, 5)
    labels = torch.randint(0, 5, (6,))
    base = task_loss(logits, labels, "classification", 0.1)
    assert torch.allclose(rdrop_loss(logits, logits, labels, "classification", 4.0, 0.1), base)
    other = logits + torch.randn(6, 5)
    assert rdrop_loss(logits, other, labels, "classification", 4.0) > 0.5 * (
        task_loss(logits, labels, "classification") + task_loss(other, labels, "classification")
    )
    pred, y = torch.randn(4, 1), torch.rand(4) * 4 + 1
    a, b = pred, pred + 0.5
    expected = 0.5 * (task_loss(a, y, "regression") + task_loss(b, y, "regression")) + 2 * 0.25
    assert torch.allclose(rdrop_loss(a, b, y, "regression", 2.0), expected)
    binary = torch.randn(4, 1)
    assert torch.allclose(
        rdrop_loss(binary, binary, (y > 3).float(), "binary", 1.0),
        task_loss(binary, (y > 3).float(), "binary"),
    )


def test_llrd_groups(model):
    groups = llrd_param_groups(model, lr=1e-4, decay=0.5, weight_decay=0.01, head_lr=1e-3)
    rate = {id(p): (g["lr"], g["weight_decay"]) for g in groups for p in g["params"]}
    named = dict(model.named_parameters())
    n = model.encoder.config.num_hidden_layers
    assert rate[id(named["head.weight"])] == (1e-3, 0.01)
    top = next(k for k in named if f".layer.{n - 1}." in k and k.endswith("query.weight"))
    bottom = next(k for k in named if ".layer.0." in k and k.endswith("query.weight"))
    assert rate[id(named[top])][0] == pytest.approx(1e-4)
    assert rate[id(named[bottom])][0] == pytest.approx(1e-4 * 0.5 ** (n - 1))
    emb = next(k for k in named if "word_embeddings" in k)
    assert rate[id(named[emb])][0] == pytest.approx(1e-4 * 0.5**n)
    assert all(rate[id(p)][1] == 0.0 for k, p in named.items() if k.endswith("bias"))
    assert sum(len(g["params"]) for g in groups) == len(named)
    flat = llrd_param_groups(model, lr=1e-4, decay=1.0, weight_decay=0.0)
    assert {g["lr"] for g in flat} == {1e-4}


def test_model_forward_and_round_trip(model, tmp_path, tokenizer):
    batch = tokenizer(["good guitar", "bad strings, broke"], padding=True, return_tensors="pt")
    extra = torch.randn(2, 3)
    model.eval()
    with torch.no_grad():
        logits = model(**batch, extra=extra).logits
    assert logits.shape == (2, 5)
    save_model(model, tmp_path / "m", {"note": "test"})
    loaded, meta = load_model(tmp_path / "m")
    with torch.no_grad():
        again = loaded(**batch, extra=extra).logits
    torch.testing.assert_close(logits, again)
    assert meta["note"] == "test" and meta["num_outputs"] == 5


def test_augmentation_is_seeded_and_keeps_labels():
    from reviewlab.models.encoder.augment import augment_training, augmenter

    train = pd.DataFrame(
        {
            "text": ["the strings sound bright and stay in tune", "cheap pedal broke fast"],
            "rating": [5, 1],
        }
    )
    cfg = AugmentParams(method="delete", p=0.3, copies=2)
    out = augment_training(train, cfg, seed=1)
    assert len(out) == 6 and out["rating"].tolist() == [5, 1] * 3
    assert out.iloc[2:]["text"].tolist() != train["text"].tolist() * 2
    assert out.equals(augment_training(train, cfg, seed=1))
    assert augment_training(train, AugmentParams(method="none", p=0.1, copies=1), 0) is train
    typo = augment_training(train, AugmentParams(method="typo", p=0.5, copies=1), seed=2)
    assert typo["text"].iloc[2] != train["text"].iloc[0]
    with pytest.raises(ValueError, match="augment.method 'backtranslate'"):
        augmenter("backtranslate", 0.1)
    with pytest.raises(ValueError, match="method"):  # the schema rejects it before any run
        AugmentParams(method="backtranslate", p=0.1, copies=1)


def test_lora_trains_few_parameters_and_saves_merged(tmp_path, tokenizer):
    from reviewlab.models.encoder.model import build_model

    lora = {
        "enabled": True,
        "r": 4,
        "alpha": 8,
        "dropout": 0.0,
        "target_modules": ["query", "value"],
    }
    model = build_model(finetune_cfg(lora=lora), num_outputs=1, n_extra=0)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    assert trainable < 0.02 * total
    groups = llrd_param_groups(model, lr=1e-4, decay=0.9, weight_decay=0.0)
    assert sum(len(g["params"]) for g in groups) == sum(
        1 for p in model.parameters() if p.requires_grad
    )
    with torch.no_grad():  # make the adapters non-trivial
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.1)
    batch = tokenizer(["nice tone"], return_tensors="pt")
    model.eval()
    with torch.no_grad():
        before = model(**batch).logits
    save_model(model, tmp_path / "lora", {})
    loaded, _ = load_model(tmp_path / "lora")
    with torch.no_grad():
        torch.testing.assert_close(loaded(**batch).logits, before, rtol=1e-4, atol=1e-4)


def test_checkpoints_resume_only_the_same_run(tmp_path):
    from reviewlab.models.encoder.run import prepare_checkpoints

    folder = tmp_path / "ckpt"
    assert prepare_checkpoints(folder, "run-a") is None
    for step, state in ((2, "{}"), (4, "{}"), (6, None), (8, '{"global_st')):
        (folder / f"checkpoint-{step}").mkdir()
        if state is not None:
            (folder / f"checkpoint-{step}" / "trainer_state.json").write_text(state)
    assert prepare_checkpoints(folder, "run-a") == folder / "checkpoint-4"
    # half-written (no state file, or a truncated one): never passes as progress
    assert not (folder / "checkpoint-6").exists() and not (folder / "checkpoint-8").exists()
    assert prepare_checkpoints(folder, "run-b") is None  # other config/seed/data: start over
    assert not list(folder.glob("checkpoint-*"))


def test_run_fingerprint_tracks_config_seed_and_rows():
    import hashlib
    import json

    from reviewlab.models.encoder.run import run_fingerprint

    parts = {"train": pd.DataFrame({"text": ["a", "b"], "rating": [1, 5]})}
    base = run_fingerprint(CFG, 1, parts)
    assert base == run_fingerprint(CFG, 1, {"train": parts["train"].copy()})
    assert base != run_fingerprint(finetune_cfg(train={"lr": 2e-4}), 1, parts)
    assert base != run_fingerprint(CFG, 2, parts)
    changed = {"train": parts["train"].assign(rating=[1, 4])}
    assert base != run_fingerprint(CFG, 1, changed)
    # the config is hashed as params.yaml spells it (with the dataset the stage composing the
    # config sets, none here, and the seeds it trains, by default the global one): the same
    # digest as its plain mapping
    plain = {**FINETUNE, "dataset": None, "seeds": None}
    digest = hashlib.sha256(json.dumps([plain, 1], sort_keys=True, default=str).encode())
    digest.update(pd.util.hash_pandas_object(parts["train"], index=False).to_numpy().tobytes())
    assert base == digest.hexdigest()


def _fitted_stub(n_train: int = 3):
    """Just enough of a ``TrainedModel`` for the scoring path: predictions are the rows' ratings."""
    from types import SimpleNamespace

    def predict(self, rows, data):
        truth = rows["rating"].to_numpy()
        return rows.iloc[::-1], truth[::-1] + 0.25, np.rint(truth[::-1] + 0.25), truth[::-1]

    stub = SimpleNamespace(
        train_seconds=12.345,
        train_samples_per_second=7.891,
        side_seconds={},
        parts={"train": pd.DataFrame({"rating": [1] * n_train})},
        encoded=[],
    )
    stub.encode = lambda rows: stub.encoded.append(len(rows)) or "encoded"
    stub.predict = lambda rows, data: predict(stub, rows, data)
    return stub


def test_score_sets_predicts_in_order_and_reuses_encoded_sets():
    from reviewlab.models.encoder.run import score_sets

    fitted = _fitted_stub()
    rows = pd.DataFrame({"review_id": ["a", "b"], "rating": [4, 2]})
    scored = score_sets(fitted, {"valid": rows, "test": rows.iloc[:1]}, {"valid": "ready"})
    assert list(scored) == ["valid", "test"] and fitted.encoded == [1]  # only test tokenised
    valid = scored["valid"]
    assert valid.rows["review_id"].tolist() == ["b", "a"] and valid.truth.tolist() == [2, 4]
    metrics = valid.metrics()
    assert metrics["n"] == 2 and metrics["mae"] == 0.25 and metrics["accuracy"] == 1.0
    assert metrics["rmse"] == pytest.approx(0.25)


def test_runtime_keeps_the_key_order_of_each_stage():
    from reviewlab.models.encoder.run import RowPredictions, runtime

    fitted = _fitted_stub()
    done = RowPredictions(pd.DataFrame(), np.zeros(1), np.zeros(1), np.zeros(1), 1.26)
    finetune = runtime(fitted, predicted={"valid": done, "test": done})
    assert list(finetune) == [
        "train_seconds",
        "valid_predict_seconds",
        "test_predict_seconds",
        "train_samples_per_second",
        "train_rows",
        "peak_rss_gib",
    ]
    assert finetune["train_seconds"] == 12.3 and finetune["valid_predict_seconds"] == 1.3
    assert finetune["train_samples_per_second"] == 7.89 and finetune["train_rows"] == 3
    ablate = runtime(fitted, eval_seconds=2.0, total_seconds=20.0)
    assert list(ablate) == [
        "train_seconds",
        "train_samples_per_second",
        "train_rows",
        "eval_seconds",
        "total_seconds",
        "peak_rss_gib",
    ]
    task = runtime(fitted, total_seconds=20.0, train_rows=False)
    assert list(task) == [
        "train_seconds",
        "train_samples_per_second",
        "total_seconds",
        "peak_rss_gib",
    ]
    assert task["peak_rss_gib"] > 0


def test_balanced_class_weights_make_a_rare_class_weigh_as_much_as_a_common_one():
    import torch

    from reviewlab.models.encoder.data import LabelSpec
    from reviewlab.models.encoder.model import task_loss

    values = pd.Series([0] * 90 + [1] * 10)
    binary = LabelSpec.fit("y", "binary", values)
    assert binary.balanced_weights(values) == [9.0]
    multi = LabelSpec.fit("y", "classification", pd.Series([0] * 6 + [1] * 3 + [2] * 1))
    weights = multi.balanced_weights(pd.Series([0] * 6 + [1] * 3 + [2] * 1))
    assert weights == pytest.approx([10 / 18, 10 / 9, 10 / 3])
    # the loss of a wrong rare-class prediction grows with its weight
    logits, labels = torch.tensor([[2.0, 0.0, 0.0]]), torch.tensor([2])
    plain = task_loss(logits, labels, "classification")
    weighted = task_loss(logits, labels, "classification", weight=torch.tensor(weights))
    assert weighted == pytest.approx(plain.item())  # one row: weighted mean = its own loss
    both = torch.tensor([[2.0, 0.0, 0.0], [2.0, 0.0, 0.0]]), torch.tensor([0, 2])
    assert task_loss(*both, "classification", weight=torch.tensor(weights)) > task_loss(
        *both, "classification"
    )
    with pytest.raises(ValueError, match="classification or binary"):
        LabelSpec.fit("y", "regression", values).balanced_weights(values)


def test_a_job_uses_the_threads_it_is_given(monkeypatch):
    from reviewlab.models.encoder.run import THREADS_ENV, job_threads

    monkeypatch.setenv(THREADS_ENV, "1")
    assert job_threads() == 1
    monkeypatch.delenv(THREADS_ENV)
    assert job_threads() == os.cpu_count()
