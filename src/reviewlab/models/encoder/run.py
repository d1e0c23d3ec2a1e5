"""Fine-tuning on a training frame (:func:`fit`), and the one way every fine-tuned model is
scored afterwards (:func:`score_sets`, :func:`runtime`), shared by the ``finetune``,
``ablate``, ``tune`` and ``task`` stages; :func:`evaluate_finetune` is ``finetune``'s report.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from reviewlab.core.evaluation import evaluate_split
from reviewlab.core.evaluation.ordinal import decode, fit_cutpoints
from reviewlab.core.params import FinetuneParams
from reviewlab.core.runtime import peak_rss_gib
from reviewlab.models.encoder.augment import augment_training
from reviewlab.models.encoder.data import BEHAVIOUR_COLUMNS, LabelSpec, Standardizer, build_dataset
from reviewlab.models.encoder.model import build_model
from reviewlab.models.encoder.trainer import ReviewTrainer, metrics_fn, references, to_predictions
from reviewlab.models.predictions import prediction_frame


def bf16_supported() -> bool:
    """bf16 autocast pays off on CUDA and on CPUs with AVX-512 BF16 / AMX."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return "avx512_bf16" in flags or "amx_bf16" in flags


def training_args(cfg: FinetuneParams, checkpoints: Path, seed: int):
    """``TrainingArguments`` from the ``finetune`` params (``train.eval_every: null``: a fixed
    budget, no evaluation or checkpoint during training)."""
    from transformers import TrainingArguments

    t = cfg.train
    use_bf16 = {"auto": bf16_supported(), True: True, False: False}[t.bf16]
    every = t.eval_every
    return TrainingArguments(
        output_dir=str(checkpoints),
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.eval_batch_size,
        gradient_accumulation_steps=t.grad_accum,
        num_train_epochs=t.epochs,
        max_steps=t.max_steps or -1,
        learning_rate=t.lr,
        weight_decay=t.weight_decay,
        warmup_steps=t.warmup_ratio,
        lr_scheduler_type=t.scheduler,
        bf16=use_bf16,
        use_cpu=not torch.cuda.is_available(),
        train_sampling_strategy="group_by_length" if t.group_by_length else "random",
        eval_strategy="steps" if every else "no",
        eval_steps=every,
        save_strategy="steps" if every else "no",
        save_steps=every,
        save_total_limit=1,
        load_best_model_at_end=bool(every),
        metric_for_best_model=cfg.selection_metric,
        greater_is_better=cfg.selection_metric not in ("rmse", "mae", "loss"),
        logging_steps=t.log_every,
        seed=seed,
        data_seed=seed,
        dataloader_num_workers=0,
        label_names=["labels"],
        report_to="none",
        disable_tqdm=False,
    )


@dataclass
class TrainedModel:
    """A trained model with everything needed to score more rows the same way."""

    trainer: Any
    cfg: FinetuneParams
    spec: LabelSpec
    tokenizer: Any
    scaler: Standardizer | None
    parts: dict[str, pd.DataFrame]
    data: dict[str, Any]
    train_seconds: float
    train_samples_per_second: float
    cache_dir: Path | None = None

    @property
    def side_seconds(self) -> dict[str, float]:
        """Seconds inside ``train()`` spent evaluating and checkpointing."""
        return self.trainer.side_seconds

    def encode(self, rows: pd.DataFrame):
        """Tokenise ``rows`` (title, text, label, behaviour columns) like the training rows."""
        return build_dataset(
            rows, self.tokenizer, self.spec, self.cfg.input, self.scaler, self.cache_dir
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


def run_fingerprint(cfg: FinetuneParams, seed: int, parts: dict[str, pd.DataFrame]) -> str:
    """Hash of everything that determines a training run: config, seed and the rows."""
    settings = cfg.model_dump(by_alias=True)
    digest = hashlib.sha256(json.dumps([settings, seed], sort_keys=True, default=str).encode())
    for name in sorted(parts):
        digest.update(pd.util.hash_pandas_object(parts[name], index=False).to_numpy().tobytes())
    return digest.hexdigest()


def prepare_checkpoints(folder: Path, fingerprint: str) -> Path | None:
    """The last complete checkpoint (its ``trainer_state.json``, saved last, parses) of an
    interrupted run with this ``fingerprint``, if any; everything else in ``folder`` (another
    run's checkpoints, a half-written one) is removed."""
    stamp = folder / "run_fingerprint.txt"
    if not stamp.is_file() or stamp.read_text() != fingerprint:
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)
    complete = []
    for checkpoint in folder.glob("checkpoint-*"):
        try:
            json.loads((checkpoint / "trainer_state.json").read_text())
            complete.append(checkpoint)
        except (OSError, ValueError):
            shutil.rmtree(checkpoint)
    return max(complete, key=lambda p: int(p.name.rsplit("-", 1)[1]), default=None)


#: Threads of one job where several share the machine (``REVIEWLAB_THREADS=1 dvc queue start
#: --jobs 2``): an execution setting, not a param, so it never changes a stage's hash.
THREADS_ENV = "REVIEWLAB_THREADS"


def job_threads() -> int:
    """Torch threads for this process: ``$REVIEWLAB_THREADS``, else every core."""
    return int(os.environ.get(THREADS_ENV) or 0) or os.cpu_count() or 1


#: Seed of the validation subset (``max_valid_rows``): fixed, so every variant and seed of a
#: grid selects its checkpoint on the same rows.
VALID_SUBSET_SEED = 0


def fit(
    frame: pd.DataFrame,
    cfg: FinetuneParams,
    seed: int,
    checkpoints: Path,
    cache_dir: Path | None = None,
    live_dir: Path | None = None,
) -> TrainedModel:
    """Train ``cfg.model_name_or_path`` on the training split of the training frame ``frame``.

    With ``train.eval_every``, every evaluation saves a checkpoint to ``checkpoints``, the best
    on ``selection_metric`` is restored at the end (early stopping), and an interrupted run with
    the same config, seed and data resumes. ``cache_dir`` keeps the tokenised rows;
    ``live_dir`` logs DVCLive curves."""
    from transformers import AutoTokenizer, set_seed

    from reviewlab.core.backbone import resolve_model

    torch.set_num_threads(cfg.train.threads or job_threads())
    parts = _parts(frame, cfg, seed)
    train = parts["train"]
    spec = LabelSpec.fit(cfg.label_column, cfg.head, train[cfg.label_column])
    scaler = Standardizer.fit(train, BEHAVIOUR_COLUMNS) if cfg.behaviour_features else None
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(cfg.model_name_or_path))
    data = {
        k: build_dataset(v, tokenizer, spec, cfg.input, scaler, cache_dir) for k, v in parts.items()
    }

    resume = prepare_checkpoints(checkpoints, run_fingerprint(cfg, seed, parts))
    set_seed(seed)
    n_extra = len(BEHAVIOUR_COLUMNS) if scaler else 0
    model = build_model(cfg, spec.num_outputs, n_extra, spec.initial_bias(train[spec.column]))
    trainer = _trainer(model, cfg, spec, tokenizer, data, train, checkpoints, seed, live_dir)
    start = time.perf_counter()
    if resume:
        # stderr: a log line, not part of the executed notebook's report
        print(f"[reviewlab] resuming from {resume.parent.name}/{resume.name}", file=sys.stderr)
    output = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    seconds, rate = time.perf_counter() - start, output.metrics["train_samples_per_second"]
    return TrainedModel(
        trainer, cfg, spec, tokenizer, scaler, parts, data, seconds, rate, cache_dir
    )


def _parts(frame: pd.DataFrame, cfg: FinetuneParams, seed: int) -> dict[str, pd.DataFrame]:
    """The rows trained on (a seeded subsample, augmented), the validation rows checkpoints
    are selected on (a fixed subset, the same for every seed) and the test rows."""
    train = frame[frame["split"] == "train"]
    if cfg.max_train_rows and len(train) > cfg.max_train_rows:
        train = train.sample(n=cfg.max_train_rows, random_state=seed)
    train = augment_training(train, cfg.augment, seed)
    valid = frame[frame["split"] == "valid"]
    if cfg.max_valid_rows and len(valid) > cfg.max_valid_rows:
        valid = valid.sample(n=cfg.max_valid_rows, random_state=VALID_SUBSET_SEED)
    return {"train": train, "valid": valid, "test": frame[frame["split"] == "test"]}


def _trainer(
    model: torch.nn.Module,
    cfg: FinetuneParams,
    spec: LabelSpec,
    tokenizer: Any,
    data: dict[str, Any],
    train: pd.DataFrame,
    checkpoints: Path,
    seed: int,
    live_dir: Path | None,
) -> ReviewTrainer:
    """The Trainer of one run, with early stopping, DVCLive curves and progress lines."""
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    from transformers.utils.notebook import NotebookProgressCallback

    from reviewlab.models.encoder.progress import TrainingProgress

    callbacks: list[Any] = [TrainingProgress(cfg.selection_metric)]
    if cfg.train.eval_every:
        patience = cfg.train.early_stopping_patience
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=patience))
    if live_dir is not None:
        callbacks.append(_curves_callback(live_dir))
    regularization, balanced = cfg.regularization, cfg.class_weights == "balanced"
    collator = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=cfg.input.pad_to_multiple_of)
    trainer = ReviewTrainer(
        model=model,
        args=training_args(cfg, checkpoints, seed),
        train_dataset=data["train"],
        eval_dataset=data["valid"],
        processing_class=tokenizer,
        data_collator=collator,
        compute_metrics=metrics_fn(spec),
        callbacks=callbacks,
        labels=spec,
        adversarial=cfg.adversarial,
        rdrop_alpha=regularization.rdrop_alpha,
        label_smoothing=regularization.label_smoothing,
        llrd_decay=regularization.llrd_decay,
        head_lr=cfg.train.head_lr,
        class_weight=spec.balanced_weights(train[spec.column]) if balanced else None,
    )
    # TrainingProgress replaces the Trainer's progress bars and printed log dicts
    for printer in (NotebookProgressCallback, ProgressCallback, PrinterCallback):
        trainer.remove_callback(printer)
    return trainer


@dataclass
class RowPredictions:
    """A fitted model's predictions on one set of rows."""

    rows: pd.DataFrame  # the rows, in prediction order
    estimate: np.ndarray  # continuous estimate (regression value, expected class, probability)
    classes: np.ndarray  # predicted class value
    truth: np.ndarray  # true label value
    seconds: float  # encoding (unless given) and prediction time

    def metrics(self, ci: dict[str, Any] | None = None) -> dict[str, Any]:
        """Rating metrics (rounded; with bootstrap ``ci`` bounds), as every metrics JSON has."""
        return evaluate_split(
            self.estimate, self.truth.astype(np.int64), self.classes.astype(np.int64), ci=ci
        )


def score_sets(
    fitted: TrainedModel, sets: dict[str, pd.DataFrame], encoded: dict[str, Any] | None = None
) -> dict[str, RowPredictions]:
    """Predict every named set of rows, in order; ``encoded``: sets already tokenised, by name
    (e.g. ``fitted.data``)."""
    scored = {}
    for name, rows in sets.items():
        start = time.perf_counter()
        data = encoded[name] if encoded is not None and name in encoded else fitted.encode(rows)
        ordered, estimate, classes, truth = fitted.predict(rows, data)
        scored[name] = RowPredictions(
            ordered, estimate, classes, truth, time.perf_counter() - start
        )
    return scored


def runtime(
    fitted: TrainedModel,
    predicted: dict[str, RowPredictions] | None = None,
    eval_seconds: float | None = None,
    total_seconds: float | None = None,
    train_rows: bool = True,
) -> dict[str, Any]:
    """Cost of a run, in this order: ``train_seconds``, each ``predicted`` set's seconds, the
    training throughput, in-training evaluation, ``train_rows``, the ``eval_seconds`` and
    ``total_seconds`` given, and this process's ``peak_rss_gib``."""
    report: dict[str, Any] = {"train_seconds": round(fitted.train_seconds, 1)}
    for name, scored in (predicted or {}).items():
        report[f"{name}_predict_seconds"] = round(scored.seconds, 1)
    report["train_samples_per_second"] = round(fitted.train_samples_per_second, 2)
    side = fitted.side_seconds
    if side:  # evaluation and checkpoints inside train(): the training-only throughput too
        samples = fitted.train_samples_per_second * fitted.train_seconds
        training = fitted.train_seconds - sum(side.values())
        report["in_training_eval_seconds"] = round(side["evaluate"], 1)
        report["in_training_checkpoint_seconds"] = round(side["checkpoint"], 1)
        report["train_samples_per_second_excluding_eval"] = round(samples / training, 2)
    if train_rows:
        report["train_rows"] = len(fitted.parts["train"])
    if eval_seconds is not None:
        report["eval_seconds"] = round(eval_seconds, 1)
    if total_seconds is not None:
        report["total_seconds"] = round(total_seconds, 1)
    report["peak_rss_gib"] = round(peak_rss_gib(), 2)
    return report


@dataclass
class Evaluated:
    """The ``finetune`` stage's report of a fitted model."""

    metrics: dict[str, Any]  # finetune.json: selection metric, model entry (valid, test + CIs)
    runtime: dict[str, Any]
    predictions: pd.DataFrame  # validation and test predictions (+ label)
    history: pd.DataFrame  # the Trainer's log history


def decode_on_valid(scored: dict[str, RowPredictions]) -> list[float]:
    """A regression head's classes from cut-points fitted on the ``valid`` estimates
    (:mod:`reviewlab.core.evaluation.ordinal`), set on every scored set in place."""
    cuts = fit_cutpoints(scored["valid"].estimate, scored["valid"].truth)
    for result in scored.values():
        result.classes = decode(result.estimate, cuts)
    return cuts


def evaluate_finetune(fitted: TrainedModel, ci: dict[str, Any]) -> Evaluated:
    """Score validation and test (test with bootstrap ``ci``) in the baselines' layout; a
    regression head's classes come from cut-points fitted on validation."""
    name = fitted.cfg.name
    scored = score_sets(fitted, {s: fitted.parts[s] for s in ("valid", "test")}, fitted.data)
    entry: dict[str, Any] = {"selected": convergence(fitted.trainer)}
    if fitted.spec.head == "regression":
        entry["selected"]["cutpoints"] = decode_on_valid(scored)
    predictions = []
    for split, result in scored.items():
        entry[split] = result.metrics(ci if split == "test" else None)
        frame = prediction_frame(result.rows, name, split, result.estimate, result.classes)
        predictions.append(frame.assign(label=result.truth))
    metrics = {
        "selection_metric": fitted.cfg.selection_metric,
        "best_on_valid": name,
        "models": {name: entry},
    }
    return Evaluated(
        metrics,
        runtime(fitted, predicted=scored),
        pd.concat(predictions, ignore_index=True),
        pd.DataFrame(fitted.trainer.state.log_history),
    )


def model_meta(fitted: TrainedModel) -> dict[str, Any]:
    """What a saved model needs to be rebuilt and to predict (``save_model``'s ``meta``)."""
    scaler = fitted.scaler
    return {
        "finetune": fitted.cfg.model_dump(by_alias=True),
        "label": fitted.spec.__dict__,
        "scaler": None if scaler is None else scaler.__dict__,
    }


def _rows_in_prediction_order(trainer, dataset, rows: pd.DataFrame, spec: LabelSpec, label_ids):
    """Length-grouped evaluation reorders rows: replay its (seeded) sampler, check the labels."""
    sampler = trainer._get_eval_sampler(dataset)
    order = list(sampler) if sampler is not None else list(range(len(rows)))
    ordered = rows.iloc[order]
    if not np.allclose(spec.targets(ordered[spec.column]), np.asarray(label_ids).reshape(-1)):
        raise RuntimeError("prediction rows could not be aligned with their reviews")
    return ordered


def convergence(trainer: Any) -> dict[str, Any]:
    """The selected checkpoint: ``best_step``, ``last_eval_step`` and whether the run
    ``converged`` (the best checkpoint precedes the last evaluation: validation stopped
    improving before training ended)."""
    checkpoint = trainer.state.best_model_checkpoint
    best = int(checkpoint.rsplit("-", 1)[1]) if checkpoint else None
    evals = [int(h["step"]) for h in trainer.state.log_history if "eval_loss" in h]
    out: dict[str, Any] = {"best_step": best}
    if best is not None and evals:
        out |= {"last_eval_step": evals[-1], "converged": best < evals[-1]}
    return out


def _curves_callback(live_dir: Path) -> Any:
    """DVCLive's Trainer callback logging the curves only, not its own copy of the params
    (params.yaml and dvc.lock record them)."""
    from dvclive import Live
    from transformers.integrations import DVCLiveCallback

    class CurvesCallback(DVCLiveCallback):
        def setup(self, args, state, model) -> None:
            self._initialized = True

    live = Live(dir=str(live_dir), dvcyaml=None, save_dvc_exp=False, report=None)
    return CurvesCallback(live=live)
