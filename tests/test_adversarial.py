"""Adversarial training: norm within epsilon, weights restored exactly, gradients as specified."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from reviewlab.core.params import AdversarialParams
from reviewlab.models.encoder.adversarial import adversarial_step

#: The papers' text-classification settings; each test overrides what it checks.
DEFAULTS = {"epsilon": 1.0, "alpha": 0.3, "steps": 3, "init_mag": 0.0}


def adversarial(method: str = "none", **settings) -> AdversarialParams:
    return AdversarialParams(method=method, **{**DEFAULTS, **settings})


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb = nn.Embedding(20, 6).double()
        self.lin = nn.Linear(6, 1).double()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.emb

    def forward(self, input_ids, inputs_embeds=None):
        x = self.emb(input_ids) if inputs_embeds is None else inputs_embeds
        return self.lin(torch.tanh(x).mean(1)).squeeze(-1)


IDS = torch.tensor([[1, 2, 3, 4], [5, 6, 7, 0], [8, 9, 1, 2]])
MASK = torch.ones_like(IDS)
Y = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)


class Recorder:
    """A loss_fn that records the embedding perturbation seen by every forward pass."""

    def __init__(self, model: Tiny):
        self.model, self.original = model, model.emb.weight.detach().clone()
        self.weight_deltas, self.input_deltas = [], []

    def __call__(self, inputs_embeds=None):
        self.weight_deltas.append((self.model.emb.weight.detach() - self.original).clone())
        if inputs_embeds is not None:
            self.input_deltas.append((inputs_embeds - self.model.emb(IDS)).detach().clone())
        return ((self.model(IDS, inputs_embeds) - Y) ** 2).mean()


def grads(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters()}


def grads_at(model: Tiny, weight_delta=None, input_delta=None, scale=1.0):
    """Gradients of the loss at a given perturbation, computed on a fresh copy."""
    clone = copy.deepcopy(model)
    clone.zero_grad()
    if weight_delta is not None:
        clone.emb.weight.data.add_(weight_delta)
    embeds = None if input_delta is None else clone.emb(IDS) + input_delta
    (((clone(IDS, embeds) - Y) ** 2).mean() * scale).backward()
    return grads(clone)


def run(cfg: AdversarialParams):
    model = Tiny()
    before = copy.deepcopy(model)
    recorder = Recorder(model)
    loss = adversarial_step(cfg, model, recorder, IDS, MASK)
    return model, before, recorder, loss


def assert_same(a: dict, b: dict):
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-10, atol=1e-12)


def test_none_is_exactly_the_plain_step():
    model, before, recorder, loss = run(adversarial("none"))
    assert len(recorder.weight_deltas) == 1
    assert_same(grads(model), grads_at(before))
    assert loss == ((before(IDS) - Y) ** 2).mean()


@pytest.mark.parametrize("method", ["fgm", "pgd", "freelb"])
def test_embeddings_restored_bit_exactly(method):
    model, before, _, _ = run(adversarial(method, epsilon=0.5, alpha=0.2, init_mag=0.1))
    assert torch.equal(model.emb.weight, before.emb.weight)
    assert torch.equal(model.lin.weight, before.lin.weight)


def test_fgm_norm_and_gradients():
    cfg = adversarial("fgm", epsilon=0.7)
    model, before, recorder, _ = run(cfg)
    clean, adv_delta = recorder.weight_deltas
    assert torch.count_nonzero(clean) == 0
    assert torch.linalg.vector_norm(adv_delta) == pytest.approx(0.7)
    expected = grads_at(before)
    direction = expected["emb.weight"] / torch.linalg.vector_norm(expected["emb.weight"])
    torch.testing.assert_close(adv_delta, 0.7 * direction)
    adv = grads_at(before, weight_delta=adv_delta)
    assert_same(grads(model), {n: expected[n] + adv[n] for n in expected})


def test_pgd_stays_in_ball_and_adds_last_step_to_clean():
    cfg = adversarial("pgd", epsilon=0.3, alpha=0.2, steps=4)
    model, before, recorder, _ = run(cfg)
    deltas = recorder.weight_deltas[1:]
    assert len(deltas) == 4
    norms = [float(torch.linalg.vector_norm(d)) for d in deltas]
    assert all(n <= 0.3 + 1e-12 for n in norms) and norms[-1] == pytest.approx(0.3)
    clean, last = grads_at(before), grads_at(before, weight_delta=deltas[-1])
    assert_same(grads(model), {n: clean[n] + last[n] for n in clean})


def test_freelb_norm_and_averaged_gradients():
    cfg = adversarial("freelb", epsilon=0.2, alpha=0.1, steps=3, init_mag=0.05)
    torch.manual_seed(1)
    model, before, recorder, _ = run(cfg)
    deltas = recorder.input_deltas
    assert len(deltas) == 3 and not recorder.weight_deltas[0].any()
    for delta in deltas:
        for row in delta:
            assert float(torch.linalg.vector_norm(row)) <= 0.2 + 1e-12
    assert float(torch.linalg.vector_norm(deltas[0][0])) == pytest.approx(0.05)
    parts = [grads_at(before, input_delta=d, scale=1 / 3) for d in deltas]
    assert_same(grads(model), {n: sum(p[n] for p in parts) for n in parts[0]})


def test_freelb_respects_padding():
    cfg = adversarial("freelb", epsilon=0.5, alpha=0.3, steps=2, init_mag=0.1)
    model = Tiny()
    recorder = Recorder(model)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]])
    adversarial_step(cfg, model, recorder, IDS, mask)
    for delta in recorder.input_deltas:
        assert not delta[mask == 0].any()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "vat"},
        {"epsilon": -1},
        {"method": "pgd", "alpha": 0},
        {"method": "freelb", "alpha": 0.0},
        {"steps": 0},
        {"init_mag": -0.1},
    ],
)
def test_invalid_config_is_rejected(kwargs):
    with pytest.raises(ValueError, match="(?i)adversarial"):
        adversarial(**kwargs)


@pytest.mark.parametrize("method", ["none", "fgm"])
def test_alpha_is_only_required_where_there_are_ascent_steps(method):
    assert adversarial(method, alpha=0).alpha == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("method", ["fgm", "pgd", "freelb"])
@pytest.mark.parametrize("init_mag", [0.0, 0.1])
def test_perturbations_live_on_the_model_device(method, init_mag):
    model = Tiny().cuda()
    ids, mask, y = IDS.cuda(), MASK.cuda(), Y.cuda()

    def loss_fn(inputs_embeds=None):
        return ((model(ids, inputs_embeds) - y) ** 2).mean()

    cfg = adversarial(method=method, epsilon=0.1, alpha=0.05, steps=2, init_mag=init_mag)
    loss = adversarial_step(cfg, model, loss_fn, ids, mask)
    assert loss.device.type == "cuda" and torch.isfinite(loss)
    assert all(p.grad is not None and p.grad.device.type == "cuda" for p in model.parameters())
