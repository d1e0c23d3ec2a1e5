"""The ``finetune`` stage: train, select on validation, score validation and test once."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from reviewlab.core import artifacts as paths
from reviewlab.core.evaluation import evaluate_split
from reviewlab.core.io import write_json
from reviewlab.data.features import FeatureSet
from reviewlab.data.text import clean
from reviewlab.models.finetune.adversarial import AdversarialConfig
from reviewlab.models.finetune.augment import augment_training
from reviewlab.models.finetune.data import BEHAVIOUR_COLUMNS, LabelSpec, Standardizer, build_dataset
from reviewlab.models.finetune.model import build_model, save_model
from reviewlab.models.finetune.trainer import ReviewTrainer, metrics_fn, references, to_predictions
from reviewlab.stages.pipeline_old import features_dir, load_canonical, prediction_frame


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


def training_args(cfg: dict[str, Any], checkpoints: Path, seed: int):
    """``TrainingArguments`` from the ``finetune`` params. ``train.eval_every: null`` trains a
    fixed budget with no evaluation or checkpoint during training (the ablation grid)."""
    from transformers import TrainingArguments

    t = cfg["train"]
    use_bf16 = {"auto": bf16_supported(), True: True, False: False}[t["bf16"]]
    every = t["eval_every"]
    return TrainingArguments(
        output_dir=str(checkpoints),
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
        eval_strategy="steps" if every else "no",
        eval_steps=every,
        save_strategy="steps" if every else "no",
        save_steps=every,
        save_total_limit=1,
        load_best_model_at_end=bool(every),
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


@dataclass
class Fitted:
    """A trained model with everything needed to score more rows the same way."""

    trainer: Any
    spec: LabelSpec
    tokenizer: Any
    scaler: Standardizer | None
    parts: dict[str, pd.DataFrame]
    data: dict[str, Any]
    train_seconds: float
    train_samples_per_second: float

    def encode(self, rows: pd.DataFrame, cfg: dict[str, Any], root: Path):
        """Tokenise ``rows`` (title, text, label, behaviour columns) like the training rows."""
        return build_dataset(
            rows, self.tokenizer, self.spec, cfg["input"], self.scaler, _cache(root)
        )

    def predict(
        self, rows: pd.DataFrame, data
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
        """(rows in prediction order, estimate, class, true label) of an encoded ``rows``."""
        output = self.trainer.predict(data)
        estimate, classes = to_predictions(output.predictions, self.spec)
        truth = references(output.label_ids, self.spec)
        ordered = _rows_in_prediction_order(self.trainer, data, rows, self.spec, output.label_ids)
        return ordered, estimate, classes, truth


def run_fingerprint(cfg: dict[str, Any], seed: int, parts: dict[str, pd.DataFrame]) -> str:
    """Hash of everything that determines a training run: config, seed and the rows."""
    digest = hashlib.sha256(json.dumps([cfg, seed], sort_keys=True, default=str).encode())
    for name in sorted(parts):
        digest.update(pd.util.hash_pandas_object(parts[name], index=False).to_numpy().tobytes())
    return digest.hexdigest()


def prepare_checkpoints(folder: Path, fingerprint: str) -> Path | None:
    """The last complete checkpoint of an interrupted run with this ``fingerprint``, if any.

    A checkpoint counts as complete once the Trainer has written its ``trainer_state.json``
    (the last file it saves) and that file parses; anything else in ``folder`` (another run's
    checkpoints, a half-written one) is removed so it can never be mistaken for progress.
    """
    stamp = folder / "run_fingerprint.txt"
    if not stamp.is_file() or stamp.read_text() != fingerprint:
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)
    complete = []
    for checkpoint in folder.glob("checkpoint-*"):
        if _readable_json(checkpoint / "trainer_state.json"):
            complete.append(checkpoint)
        else:
            shutil.rmtree(checkpoint)
    return max(complete, key=lambda p: int(p.name.rsplit("-", 1)[1]), default=None)


def _readable_json(path: Path) -> bool:
    try:
        json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return True


def _cache(root: Path) -> Path:
    cache = root / "artifacts" / ".cache" / "tokenised"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def fit(
    dataset: str,
    cfg: dict[str, Any],
    seed: int,
    checkpoints: Path,
    root: Path,
    live_dir: Path | None = None,
) -> Fitted:
    """Train ``cfg['model_name_or_path']`` on the training split of ``dataset``.

    With ``train.eval_every`` a checkpoint is saved to ``checkpoints`` at every evaluation, the
    best one is restored at the end (early stopping on ``selection_metric``), and an interrupted
    run with the same config, seed and data resumes from its last complete checkpoint.
    ``live_dir`` logs DVCLive curves.
    """
    from transformers import AutoTokenizer, DataCollatorWithPadding, EarlyStoppingCallback, set_seed

    from reviewlab.core.backbone import resolve_model

    torch.set_num_threads(cfg["train"].get("threads") or os.cpu_count() or 1)
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
    data = {
        k: build_dataset(v, tokenizer, spec, cfg["input"], scaler, _cache(root))
        for k, v in parts.items()
    }

    resume = prepare_checkpoints(checkpoints, run_fingerprint(cfg, seed, parts))
    set_seed(seed)
    n_extra = len(BEHAVIOUR_COLUMNS) if scaler else 0
    model = build_model(cfg, spec.num_outputs, n_extra, spec.initial_bias(train[spec.column]))
    callbacks: list[Any] = []
    if cfg["train"]["eval_every"]:
        patience = cfg["train"]["early_stopping_patience"]
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=patience))
    if live_dir is not None:
        from dvclive import Live
        from transformers.integrations import DVCLiveCallback

        live = Live(dir=str(live_dir), dvcyaml=None, save_dvc_exp=False, report=None)
        callbacks.append(DVCLiveCallback(live=live))
    regularization = cfg["regularization"]
    trainer = ReviewTrainer(
        model=model,
        args=training_args(cfg, checkpoints, seed),
        train_dataset=data["train"],
        eval_dataset=data["valid"],
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(
            tokenizer, pad_to_multiple_of=cfg["input"]["pad_to_multiple_of"]
        ),
        compute_metrics=metrics_fn(spec),
        callbacks=callbacks,
        labels=spec,
        adversarial=AdversarialConfig(**cfg["adversarial"]),
        rdrop_alpha=regularization["rdrop_alpha"],
        label_smoothing=regularization["label_smoothing"],
        llrd_decay=regularization["llrd_decay"],
        head_lr=cfg["train"].get("head_lr"),
    )
    start = time.perf_counter()
    if resume:
        print(f"[reviewlab] resuming from {resume}")
    output = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    seconds = time.perf_counter() - start
    return Fitted(
        trainer,
        spec,
        tokenizer,
        scaler,
        parts,
        data,
        seconds,
        output.metrics["train_samples_per_second"],
    )


def finetune(
    dataset: str,
    cfg: dict[str, Any],
    eval_cfg: dict[str, Any],
    seed: int,
    root: Path | None = None,
    log_curves: bool = True,
) -> FinetuneResult:
    """Fine-tune ``cfg['model_name_or_path']`` on ``dataset``; write metrics and predictions.

    ``log_curves`` writes DVCLive training curves to ``metrics/<dataset>/finetune_live``."""
    root = root or paths.project_root()
    out = paths.artifacts(dataset, root) / "finetune"
    live_dir = paths.metrics_dir(dataset, root) / "finetune_live" if log_curves else None
    checkpoints = (
        root / "artifacts" / ".cache" / "checkpoints" / f"{dataset}-{cfg.get('name', 'finetune')}"
    )
    fitted = fit(dataset, cfg, seed, checkpoints, root, live_dir)

    name = cfg.get("name", "finetune")
    ci = {"n_resamples": eval_cfg["n_bootstrap"], "level": eval_cfg["ci_level"], "seed": seed}
    entry: dict[str, Any] = {"selected": {"best_step": _best_step(fitted.trainer)}}
    predictions, runtime = [], {"train_seconds": round(fitted.train_seconds, 1)}
    for split in ("valid", "test"):
        start = time.perf_counter()
        rows, estimate, classes, truth = fitted.predict(fitted.parts[split], fitted.data[split])
        runtime[f"{split}_predict_seconds"] = round(time.perf_counter() - start, 1)
        entry[split] = evaluate_split(
            estimate,
            truth.astype(np.int64),
            classes.astype(np.int64),
            ci=ci if split == "test" else None,
        )
        frame = prediction_frame(rows, name, split, estimate, classes)
        predictions.append(frame.assign(label=truth))
    runtime["train_samples_per_second"] = round(fitted.train_samples_per_second, 2)
    runtime["train_rows"] = len(fitted.parts["train"])
    runtime["peak_rss_gib"] = round(peak_rss_gib(), 2)

    metrics = {
        "selection_metric": cfg["selection_metric"],
        "best_on_valid": name,
        "models": {name: entry},
    }
    write_json(paths.metrics_dir(dataset, root) / "finetune.json", metrics)
    write_json(paths.metrics_dir(dataset, root) / "finetune_runtime.json", runtime)
    scaler = fitted.scaler
    save_model(
        fitted.trainer.model,
        out / "model",
        {
            "finetune": cfg,
            "label": fitted.spec.__dict__,
            "scaler": None if scaler is None else scaler.__dict__,
        },
    )
    fitted.tokenizer.save_pretrained(out / "model")
    table = pd.concat(predictions, ignore_index=True)
    table.to_parquet(out / "predictions.parquet", index=False)
    history = pd.DataFrame(fitted.trainer.state.log_history)
    shutil.rmtree(checkpoints, ignore_errors=True)  # complete: nothing left to resume
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


def peak_rss_gib() -> float:
    """Peak resident memory of this process (GiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
