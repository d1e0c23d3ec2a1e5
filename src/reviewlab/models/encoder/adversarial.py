"""Adversarial training on word embeddings: none, FGM, PGD and FreeLB.

Each method runs one training step's forward/backward passes and leaves the summed gradients
in ``.grad``: ``fgm`` (Miyato et al., 2017) adds the backward at ``eps * g / ||g||`` on the
embedding matrix to the clean one; ``pgd`` (Madry et al., 2018) takes ``steps`` ascent steps of
size ``alpha`` projected onto the ``eps`` ball and adds the last step's backward to the clean
one; ``freelb`` (Zhu et al., 2020) perturbs the input embeddings (uniform start of per-example
norm ``init_mag``) and accumulates the backward of ``loss / steps`` at every step. Embedding
weights are restored from a copy, bit-exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from reviewlab.core.params import AdversarialParams

LossFn = Callable[..., torch.Tensor]
Backward = Callable[[torch.Tensor], None]


def _unit(tensor: torch.Tensor) -> torch.Tensor | None:
    norm = torch.linalg.vector_norm(tensor)
    return None if norm == 0 or not torch.isfinite(norm) else tensor / norm


def _unit_or_zero(tensor: torch.Tensor) -> torch.Tensor:
    unit = _unit(tensor)
    return tensor * 0 if unit is None else unit


def _project(delta: torch.Tensor, eps: float) -> torch.Tensor:
    norm = torch.linalg.vector_norm(delta)
    return delta * (eps / norm) if norm > eps else delta


def adversarial_step(
    cfg: AdversarialParams,
    model: nn.Module,
    loss_fn: LossFn,
    input_ids: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
    backward: Backward = torch.Tensor.backward,
) -> torch.Tensor:
    """Run one step's forward/backward passes with ``cfg.method``; return the clean loss.
    ``loss_fn()`` is the batch loss, ``loss_fn(inputs_embeds=...)`` (FreeLB) at given inputs."""
    embedding = model.get_input_embeddings()
    if cfg.method == "freelb":
        return _freelb(cfg, embedding, loss_fn, input_ids, attention_mask, backward)
    loss = loss_fn()
    backward(loss)
    if cfg.method == "fgm":
        _fgm(cfg, embedding.weight, loss_fn, backward)
    elif cfg.method == "pgd":
        _pgd(cfg, embedding.weight, list(model.parameters()), loss_fn, backward)
    return loss.detach()


def _fgm(cfg: AdversarialParams, weight: nn.Parameter, loss_fn: LossFn, backward: Backward):
    direction = None if weight.grad is None else _unit(weight.grad)
    if direction is None:
        return
    backup = weight.data.clone()
    weight.data.add_(cfg.epsilon * direction)
    backward(loss_fn())
    weight.data.copy_(backup)


def _pgd(
    cfg: AdversarialParams,
    weight: nn.Parameter,
    params: list[nn.Parameter],
    loss_fn: LossFn,
    backward: Backward,
):
    if weight.grad is None or _unit(weight.grad) is None:
        return
    with_grad = [p for p in params if p.grad is not None]
    clean = [p.grad.clone() for p in with_grad]
    backup = weight.data.clone()
    for step in range(cfg.steps):
        direction = _unit(weight.grad)
        if direction is not None:  # a vanished gradient leaves the point where it is
            weight.data.add_(cfg.alpha * direction)
            weight.data.copy_(backup + _project(weight.data - backup, cfg.epsilon))
        last = step == cfg.steps - 1
        for p, grad in zip(with_grad, clean, strict=True):
            p.grad.copy_(grad) if last else p.grad.zero_()
        backward(loss_fn())
    weight.data.copy_(backup)


def _freelb(
    cfg: AdversarialParams,
    embedding: nn.Embedding,
    loss_fn: LossFn,
    input_ids: torch.Tensor | None,
    attention_mask: torch.Tensor | None,
    backward: Backward,
) -> torch.Tensor:
    if input_ids is None:
        raise ValueError("FreeLB needs the batch's input_ids")
    mask = (
        (torch.ones_like(input_ids) if attention_mask is None else attention_mask)
        .unsqueeze(-1)
        .to(embedding.weight.dtype)
    )
    shape = (*input_ids.shape, embedding.embedding_dim)
    like = {"dtype": embedding.weight.dtype, "device": embedding.weight.device}
    if cfg.init_mag > 0:
        delta = torch.empty(shape, **like).uniform_(-1, 1) * mask
        delta = _per_example(delta, lambda d: d * (cfg.init_mag / torch.linalg.vector_norm(d)))
    else:
        delta = torch.zeros(shape, **like)
    first_loss = None
    for step in range(cfg.steps):
        delta.requires_grad_()
        loss = loss_fn(inputs_embeds=embedding(input_ids) + delta) / cfg.steps
        backward(loss)
        first_loss = loss.detach() * cfg.steps if first_loss is None else first_loss
        if step == cfg.steps - 1:
            break
        grad = delta.grad.detach()
        step_dir = _per_example(grad, _unit_or_zero)
        delta = (delta.detach() + cfg.alpha * step_dir) * mask
        if cfg.epsilon > 0:
            delta = _per_example(delta, lambda d: _project(d, cfg.epsilon))
    return first_loss


def _per_example(tensor: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    return torch.stack([fn(row) for row in tensor])
