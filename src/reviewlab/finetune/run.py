"""The ``finetune`` stage: train, select on validation, score validation and test once."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from reviewlab import paths
from reviewlab.evaluation import evaluate_split
from reviewlab.features import FeatureSet
from reviewlab.finetune.adversarial import AdversarialConfig
from reviewlab.finetune.augment import augment_training
from reviewlab.finetune.data import BEHAVIOUR_COLUMNS, LabelSpec, Standardizer, build_dataset
from reviewlab.finetune.model import build_model, save_model
from reviewlab.finetune.trainer import ReviewTrainer, metrics_fn, references, to_predictions
from reviewlab.io import write_json
from reviewlab.pipeline import features_dir, load_canonical, prediction_frame
from reviewlab.text import clean


@dataclass
class FinetuneResult:
    metrics: dict[str, Any]
    runtime: dict[str, Any]
    history: pd.DataFrame
    predictions: pd.DataFrame


def training_frame(dataset: str, root: Path | None = None) -> pd.DataFrame:
    """Feature table (split, history statistics) joined with the cleaned title and text."""
    table = FeatureSet.load(features_dir(dataset, root)).table
    canonical = load_canonical(dataset, root).drop(
        columns=["user_id", "item_id", "rating", "timestamp"]
    )
    frame = table.merge(canonical, on="review_id", how="left", validate="one_to_one")
    frame["title"] = frame["title"].fillna("").map(clean)
    frame["text"] = frame["text"].map(clean)
    return frame


def bf16_supported() -> bool:
    """bf16 autocast pays off on CUDA and on CPUs with AVX-512 BF16 / AMX."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return "avx512_bf16" in flags or "amx_bf16" in flags


def training_args(cfg: dict[str, Any], out: Path, seed: int):
    from transformers import TrainingArguments

    t = cfg["train"]
    use_bf16 = {"auto": bf16_supported(), True: True, False: False}[t["bf16"]]
    return TrainingArguments(
        output_dir=str(out / "checkpoints"),
        per_device_train_batch_size=t["batch_size"],
        per_device_eval_batch_size=t["eval_batch_size"],
        gradient_accumulation_steps=t["grad_accum"],
        num_train_epochs=t["epochs"],
        max_steps=t.get("max_steps") or -1,
        learning_rate=t["lr"],
        weight_decay=t["weight_decay"],
        warmup_steps=t["warmup_ratio"],
        lr_scheduler_type=t["scheduler"],
        bf16=use_bf16,
        use_cpu=not torch.cuda.is_available(),
        train_sampling_strategy="group_by_length" if t["group_by_length"] else "random",
        eval_strategy="steps",
        eval_steps=t["eval_every"],
        save_strategy="steps",
        save_steps=t["eval_every"],
        save_total_limit=1,
        load_best_model_at_end=True,
        metric_for_best_model=cfg["selection_metric"],
        greater_is_better=cfg["selection_metric"] not in ("rmse", "mae", "loss"),
        logging_steps=t["log_every"],
        seed=seed,
        data_seed=seed,
        dataloader_num_workers=0,
        label_names=["labels"],
        report_to="none",
        disable_tqdm=False,
    )


def finetune(
    dataset: str, cfg: dict[str, Any], eval_cfg: dict[str, Any], seed: int, root: Path | None = None
) -> FinetuneResult:
    """Fine-tune ``cfg['model_name_or_path']`` on ``dataset``; write metrics and predictions."""
    from dvclive import Live
    from transformers import AutoTokenizer, DataCollatorWithPadding, EarlyStoppingCallback, set_seed
    from transformers.integrations import DVCLiveCallback

    from reviewlab.backbone import resolve_model

    root = root or paths.project_root()
    torch.set_num_threads(cfg["train"].get("threads") or os.cpu_count() or 1)
    out = paths.artifacts(dataset, root) / "finetune"
    frame = training_frame(dataset, root)
    train = frame[frame["split"] == "train"]
    if cfg["max_train_rows"] and len(train) > cfg["max_train_rows"]:
        train = train.sample(n=cfg["max_train_rows"], random_state=seed)
    train = augment_training(train, cfg["augment"], seed)
    parts = {
        "train": train,
        "valid": frame[frame["split"] == "valid"],
        "test": frame[frame["split"] == "test"],
    }

    spec = LabelSpec.fit(cfg["label_column"], cfg["head"], train[cfg["label_column"]])
    scaler = Standardizer.fit(train, BEHAVIOUR_COLUMNS) if cfg["behaviour_features"] else None
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(cfg["model_name_or_path"]))
    cache = root / "artifacts" / ".cache" / "tokenised"
    cache.mkdir(parents=True, exist_ok=True)
    data = {
        k: build_dataset(v, tokenizer, spec, cfg["input"], scaler, cache) for k, v in parts.items()
    }

    set_seed(seed)
    n_extra = len(BEHAVIOUR_COLUMNS) if scaler else 0
    model = build_model(cfg, spec.num_outputs, n_extra, spec.initial_bias(train[spec.column]))
    live = Live(
        dir=str(paths.metrics_dir(dataset, root) / "finetune_live"),
        dvcyaml=None,
        save_dvc_exp=False,
        report=None,
    )
    trainer = ReviewTrainer(
        model=model,
        args=training_args(cfg, out, seed),
        train_dataset=data["train"],
        eval_dataset=data["valid"],
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(
            tokenizer, pad_to_multiple_of=cfg["input"]["pad_to_multiple_of"]
        ),
        compute_metrics=metrics_fn(spec),
        callbacks=[
            EarlyStoppingCallback(early_stopping_patience=cfg["train"]["early_stopping_patience"]),
            DVCLiveCallback(live=live),
        ],
        labels=spec,
        adversarial=AdversarialConfig(**cfg["adversarial"]),
        rdrop_alpha=cfg["regularization"]["rdrop_alpha"],
        label_smoothing=cfg["regularization"]["label_smoothing"],
        llrd_decay=cfg["regularization"]["llrd_decay"],
    )
    start = time.perf_counter()
    train_output = trainer.train()
    train_seconds = time.perf_counter() - start

    name = cfg.get("name", "finetune")
    ci = {"n_resamples": eval_cfg["n_bootstrap"], "level": eval_cfg["ci_level"], "seed": seed}
    entry: dict[str, Any] = {"selected": {"best_step": _best_step(trainer)}}
    predictions, runtime = [], {"train_seconds": round(train_seconds, 1)}
    for split in ("valid", "test"):
        start = time.perf_counter()
        output = trainer.predict(data[split])
        runtime[f"{split}_predict_seconds"] = round(time.perf_counter() - start, 1)
        estimate, classes = to_predictions(output.predictions, spec)
        truth = references(output.label_ids, spec)
        rows = _rows_in_prediction_order(trainer, data[split], parts[split], spec, output.label_ids)
        entry[split] = evaluate_split(
            estimate,
            truth.astype(np.int64),
            classes.astype(np.int64),
            ci=ci if split == "test" else None,
        )
        frame = prediction_frame(rows, name, split, estimate, classes)
        predictions.append(frame.assign(label=truth))
    runtime["train_samples_per_second"] = round(train_output.metrics["train_samples_per_second"], 2)
    runtime["train_rows"] = len(train)
    runtime["peak_rss_gib"] = round(_peak_rss_gib(), 2)

    metrics = {
        "selection_metric": cfg["selection_metric"],
        "best_on_valid": name,
        "models": {name: entry},
    }
    write_json(paths.metrics_dir(dataset, root) / "finetune.json", metrics)
    write_json(paths.metrics_dir(dataset, root) / "finetune_runtime.json", runtime)
    save_model(
        trainer.model,
        out / "model",
        {
            "finetune": cfg,
            "label": spec.__dict__,
            "scaler": None if scaler is None else scaler.__dict__,
        },
    )
    tokenizer.save_pretrained(out / "model")
    table = pd.concat(predictions, ignore_index=True)
    table.to_parquet(out / "predictions.parquet", index=False)
    history = pd.DataFrame(trainer.state.log_history)
    return FinetuneResult(metrics, runtime, history, table)


def _rows_in_prediction_order(trainer, dataset, rows: pd.DataFrame, spec: LabelSpec, label_ids):
    """Length-grouped evaluation reorders rows: replay its (seeded) sampler, check the labels."""
    sampler = trainer._get_eval_sampler(dataset)
    order = list(sampler) if sampler is not None else list(range(len(rows)))
    ordered = rows.iloc[order]
    if not np.allclose(spec.targets(ordered[spec.column]), np.asarray(label_ids).reshape(-1)):
        raise RuntimeError("prediction rows could not be aligned with their reviews")
    return ordered


def _best_step(trainer) -> int | None:
    checkpoint = trainer.state.best_model_checkpoint
    return int(checkpoint.rsplit("-", 1)[1]) if checkpoint else None


def _peak_rss_gib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
