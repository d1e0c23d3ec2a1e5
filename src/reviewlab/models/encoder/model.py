"""The fine-tuned rating model (encoder, mean pooling, optional behaviour features, linear
head), its losses (incl. R-Drop and label smoothing) and layer-wise LR decay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from reviewlab.core.backbone import resolve_model
from reviewlab.core.params import FinetuneParams

CONFIG_FILE = "reviewlab_model.json"
WEIGHTS_FILE = "model.safetensors"


class ReviewModel(nn.Module):
    """Encoder -> masked mean pooling (+ behaviour features) -> dropout -> linear head;
    ``bias`` initialises the head's bias."""

    def __init__(
        self,
        encoder: nn.Module,
        num_outputs: int,
        n_extra: int = 0,
        dropout: float = 0.1,
        bias: list[float] | None = None,
    ):
        super().__init__()
        self.encoder = encoder
        self.n_extra = n_extra
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size + n_extra, num_outputs)
        if bias is not None:
            with torch.no_grad():
                self.head.bias.copy_(torch.as_tensor(bias, dtype=self.head.bias.dtype))

    @property
    def config(self):
        return self.encoder.config

    def get_input_embeddings(self) -> nn.Embedding:
        return self.encoder.get_input_embeddings()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        extra: torch.Tensor | None = None,
        **_: Any,
    ) -> SequenceClassifierOutput:
        hidden = self.encoder(
            input_ids=None if inputs_embeds is not None else input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            inputs_embeds=inputs_embeds,
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        if self.n_extra:
            pooled = torch.cat([pooled, extra.to(pooled.dtype)], dim=-1)
        return SequenceClassifierOutput(logits=self.head(self.dropout(pooled)))


def load_encoder(
    model_name_or_path: str | None,
    attn_implementation: str,
    hidden_dropout: float,
    attention_dropout: float,
) -> nn.Module:
    """The pretrained encoder ``model_name_or_path`` (None: the packaged default), no pooler."""
    from transformers import AutoModel

    return AutoModel.from_pretrained(
        resolve_model(model_name_or_path),
        attn_implementation=attn_implementation,
        hidden_dropout_prob=hidden_dropout,
        attention_probs_dropout_prob=attention_dropout,
        add_pooling_layer=False,
    )


def build_model(
    cfg: FinetuneParams, num_outputs: int, n_extra: int, bias: list[float] | None = None
) -> ReviewModel:
    """The pretrained encoder ``cfg.model_name_or_path`` (LoRA adapters or frozen, as set) with
    a fresh head; ``bias`` (the training prior) makes training start from the baseline."""
    dropout, lora = cfg.dropout, cfg.lora
    encoder = load_encoder(
        cfg.model_name_or_path, cfg.attn_implementation, dropout.hidden, dropout.attention
    )
    if lora.enabled:
        from peft import LoraConfig, get_peft_model

        adapters = LoraConfig(
            r=lora.r,
            lora_alpha=lora.alpha,
            lora_dropout=lora.dropout,
            target_modules=list(lora.target_modules),
        )
        encoder = get_peft_model(encoder, adapters)
    if cfg.freeze_encoder:
        encoder.requires_grad_(False)
    return ReviewModel(encoder, num_outputs, n_extra, dropout.head, bias)


def save_model(model: ReviewModel, folder: Path, meta: dict[str, Any]) -> None:
    """Weights (safetensors), encoder config and everything needed to rebuild and predict."""
    folder.mkdir(parents=True, exist_ok=True)
    if hasattr(model.encoder, "merge_and_unload"):  # LoRA: fold the adapters into the weights
        model.encoder = model.encoder.merge_and_unload()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE))
    model.encoder.config.save_pretrained(folder / "encoder")
    payload = {**meta, "num_outputs": model.head.out_features, "n_extra": model.n_extra}
    (folder / CONFIG_FILE).write_text(json.dumps(payload, indent=2, default=str))


def load_model(folder: Path) -> tuple[ReviewModel, dict[str, Any]]:
    """Rebuild a saved :class:`ReviewModel` (no pretrained download needed)."""
    from transformers import AutoConfig, AutoModel

    meta = json.loads((folder / CONFIG_FILE).read_text())
    encoder = AutoModel.from_config(
        AutoConfig.from_pretrained(folder / "encoder"), add_pooling_layer=False
    )
    model = ReviewModel(encoder, meta["num_outputs"], meta["n_extra"])
    model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
    return model.eval(), meta


def task_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    head: str,
    label_smoothing: float = 0.0,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """MSE (regression), cross-entropy with label smoothing (classification), BCE (binary);
    ``weight``: class weights (classification) or the positive class's weight (binary)."""
    logits = logits.float()
    if head == "regression":
        return F.mse_loss(logits.squeeze(-1), labels.float())
    if head == "binary":
        target = labels.float()
        if label_smoothing:
            target = target * (1 - label_smoothing) + 0.5 * label_smoothing
        return F.binary_cross_entropy_with_logits(logits.squeeze(-1), target, pos_weight=weight)
    return F.cross_entropy(logits, labels.long(), weight=weight, label_smoothing=label_smoothing)


def rdrop_loss(
    logits_a: torch.Tensor,
    logits_b: torch.Tensor,
    labels: torch.Tensor,
    head: str,
    alpha: float,
    label_smoothing: float = 0.0,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """R-Drop (Liang et al., 2021): mean task loss of two dropout passes + ``alpha`` times their
    consistency (symmetric KL of the class distributions; MSE for regression)."""
    loss = 0.5 * (
        task_loss(logits_a, labels, head, label_smoothing, weight)
        + task_loss(logits_b, labels, head, label_smoothing, weight)
    )
    a, b = logits_a.float(), logits_b.float()
    if head == "regression":
        consistency = F.mse_loss(a, b)
    else:
        if head == "binary":
            a, b = torch.cat([-a, a], -1) / 2, torch.cat([-b, b], -1) / 2  # logit -> 2-class
        log_a, log_b = F.log_softmax(a, -1), F.log_softmax(b, -1)
        consistency = 0.5 * (
            F.kl_div(log_a, log_b, log_target=True, reduction="batchmean")
            + F.kl_div(log_b, log_a, log_target=True, reduction="batchmean")
        )
    return loss + alpha * consistency


def llrd_param_groups(
    model: ReviewModel, lr: float, decay: float, weight_decay: float, head_lr: float | None = None
) -> list[dict[str, Any]]:
    """Layer-wise LR decay (Sun et al., 2019): head ``head_lr`` (default ``lr``), top layer
    ``lr``, each layer below ``decay`` times the one above, embeddings ``lr * decay ** n_layers``;
    no weight decay on biases and LayerNorm weights."""
    n_layers = model.encoder.config.num_hidden_layers
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.startswith("head."):
            rate = head_lr or lr
        elif ".layer." in name:
            depth = int(name.split(".layer.")[1].split(".")[0])
            rate = lr * decay ** (n_layers - 1 - depth)
        elif "embeddings" in name:
            rate = lr * decay**n_layers
        else:
            rate = lr
        no_decay = param.ndim < 2 or "LayerNorm" in name or "layer_norm" in name
        groups.setdefault((rate, 0.0 if no_decay else weight_decay), []).append(param)
    return [{"params": p, "lr": r, "weight_decay": wd} for (r, wd), p in groups.items()]
