"""The Hugging Face ``Trainer`` plus adversarial training, R-Drop, label smoothing for every
head and layer-wise learning-rate decay; the rest is the Trainer's own."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from transformers import Trainer

from reviewlab.core.evaluation import LABEL_METRIC_PATH, load_metric, score
from reviewlab.core.params import AdversarialParams
from reviewlab.models.encoder.adversarial import adversarial_step
from reviewlab.models.encoder.data import LabelSpec
from reviewlab.models.encoder.model import llrd_param_groups, rdrop_loss, task_loss

#: Validation metrics of a binary head during training (NaN ROC-AUC with one class present).
BINARY_METRICS = ("accuracy", "f1", "roc_auc")


class ReviewTrainer(Trainer):
    """``Trainer`` whose loss, training step and optimizer follow the ``finetune`` params; it
    also times the evaluations and checkpoints inside ``train()`` (``side_seconds``)."""

    def __init__(
        self,
        *args: Any,
        labels: LabelSpec,
        adversarial: AdversarialParams,
        rdrop_alpha: float = 0.0,
        label_smoothing: float = 0.0,
        llrd_decay: float = 1.0,
        head_lr: float | None = None,
        class_weight: list[float] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.labels, self.adversarial = labels, adversarial
        self.rdrop_alpha, self.label_smoothing = rdrop_alpha, label_smoothing
        self.llrd_decay, self.head_lr = llrd_decay, head_lr
        self.class_weight = None if class_weight is None else torch.tensor(class_weight)
        self.model_accepts_loss_kwargs = False  # a per-batch mean: the Trainer scales it
        self.side_seconds = {"evaluate": 0.0, "checkpoint": 0.0}

    @contextmanager
    def _timed(self, what: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.side_seconds[what] += time.perf_counter() - start

    def evaluate(self, *args: Any, **kwargs: Any):
        with self._timed("evaluate"):
            return super().evaluate(*args, **kwargs)

    def _save_checkpoint(self, *args: Any, **kwargs: Any):
        with self._timed("checkpoint"):
            return super()._save_checkpoint(*args, **kwargs)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs = dict(inputs)
        labels = inputs.pop("labels")
        head = self.labels.head
        if model.training and self.rdrop_alpha > 0:
            doubled = {k: torch.cat([v, v]) if torch.is_tensor(v) else v for k, v in inputs.items()}
            outputs = model(**doubled)
            first, second = outputs.logits.chunk(2)
            loss = rdrop_loss(
                first, second, labels, head, self.rdrop_alpha, self.label_smoothing, self.weight()
            )
            outputs.logits = first
        else:
            outputs = model(**inputs)
            loss = task_loss(outputs.logits, labels, head, self.label_smoothing, self.weight())
        return (loss, outputs) if return_outputs else loss

    def weight(self) -> torch.Tensor | None:
        """The class weights on the model's device (None: unweighted)."""
        if self.class_weight is not None and self.class_weight.device != self.args.device:
            self.class_weight = self.class_weight.to(self.args.device)
        return self.class_weight

    def training_step(self, model, inputs, num_items_in_batch=None):
        if self.adversarial.method == "none":
            return super().training_step(model, inputs, num_items_in_batch)
        model.train()
        inputs = self._prepare_inputs(inputs)
        scale = 1.0 / self.current_gradient_accumulation_steps

        def loss_fn(**override: torch.Tensor) -> torch.Tensor:
            with self.compute_loss_context_manager():
                return self.compute_loss(model, {**inputs, **override}) * scale

        return adversarial_step(
            self.adversarial,
            self.accelerator.unwrap_model(model),
            loss_fn,
            inputs["input_ids"],
            inputs["attention_mask"],
            backward=self.accelerator.backward,
        )

    def create_optimizer(self, model=None):
        if self.optimizer is None:
            groups = llrd_param_groups(
                self.model,
                self.args.learning_rate,
                self.llrd_decay,
                self.args.weight_decay,
                self.head_lr,
            )
            optimizer_cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(self.args, self.model)
            kwargs.pop("lr", None)
            self.optimizer = optimizer_cls(groups, **kwargs)
        return self.optimizer


def to_predictions(logits: np.ndarray, spec: LabelSpec) -> tuple[np.ndarray, np.ndarray]:
    """Logits -> (continuous estimate, discrete class value) in the label's own units."""
    logits = np.asarray(logits, dtype=np.float64)
    if spec.head == "regression":
        estimate = logits.reshape(-1)
        return estimate, np.rint(estimate)
    if spec.head == "binary":
        probability = 1 / (1 + np.exp(-logits.reshape(-1)))
        return probability, (probability > 0.5).astype(np.int64)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probability = shifted / shifted.sum(axis=1, keepdims=True)
    values = np.asarray(spec.classes, dtype=np.float64)
    return probability @ values, values[probability.argmax(axis=1)]


def references(label_ids: np.ndarray, spec: LabelSpec) -> np.ndarray:
    """Label ids as the Trainer returns them -> values in the label's own units."""
    if spec.head == "classification":
        return np.asarray(spec.classes)[np.asarray(label_ids, dtype=np.int64)]
    return np.asarray(label_ids)


def metrics_fn(spec: LabelSpec):
    """``compute_metrics`` for the Trainer: the project's rating metrics (rating labels) or
    accuracy / F1 / ROC-AUC of the label metric module (binary labels)."""

    def compute(prediction) -> dict[str, float]:
        estimate, classes = to_predictions(prediction.predictions, spec)
        truth = references(prediction.label_ids, spec)
        if spec.head == "binary":
            result = load_metric(LABEL_METRIC_PATH).compute(
                predictions=classes, references=truth.astype(np.int64), scores=estimate, binary=True
            )
            return {k: result[k] for k in BINARY_METRICS}
        result = score(estimate, np.rint(truth).astype(np.int64), classes.astype(np.int64))
        result.pop("n")
        return result

    return compute
