"""Token attributions for a fine-tuned :class:`ReviewModel` (captum integrated gradients)."""

from __future__ import annotations

import torch

from reviewlab.models.encoder.model import ReviewModel


def token_attributions(
    model: ReviewModel, tokenizer, batch: dict[str, torch.Tensor], target: int = 0, steps: int = 32
) -> list[list[tuple[str, float]]]:
    """Integrated gradients of output ``target`` w.r.t. the word embeddings, per token.

    The baseline replaces every non-special token by ``[PAD]``; attributions are summed over
    the embedding dimension. Positive values push the prediction up.
    """
    from captum.attr import LayerIntegratedGradients

    model.eval()
    ids, mask = batch["input_ids"], batch["attention_mask"]
    special = torch.tensor(tokenizer.all_special_ids, device=ids.device)
    baseline = torch.where(
        torch.isin(ids, special), ids, torch.full_like(ids, tokenizer.pad_token_id)
    )
    extra = batch.get("extra")

    def forward(input_ids, attention_mask, token_type_ids, extra):
        logits = model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            extra=extra,
        ).logits
        return logits[:, target]

    ig = LayerIntegratedGradients(forward, model.get_input_embeddings())
    attributions = ig.attribute(
        ids,
        baselines=baseline,
        additional_forward_args=(mask, batch.get("token_type_ids"), extra),
        n_steps=steps,
        internal_batch_size=max(1, len(ids)) * 8,
    ).sum(-1)
    out = []
    for row_ids, row_mask, row_attr in zip(ids, mask, attributions, strict=True):
        tokens = tokenizer.convert_ids_to_tokens(row_ids[row_mask.bool()].tolist())
        out.append(list(zip(tokens, row_attr[row_mask.bool()].tolist(), strict=True)))
    return out


def highlight(attributions: list[tuple[str, float]], top: int = 8) -> str:
    """The ``top`` tokens by |attribution| as ``token(+0.12)``, strongest first."""
    ranked = sorted(
        ((t, a) for t, a in attributions if t not in ("[CLS]", "[SEP]", "[PAD]")),
        key=lambda item: -abs(item[1]),
    )
    return ", ".join(f"{t}({a:+.2f})" for t, a in ranked[:top])


def explain_rows(model_dir, rows, top: int = 8, steps: int = 32):
    """Top tokens by integrated-gradients attribution for each review in ``rows``.

    ``rows`` needs ``title``, ``text`` and (for hybrid models) the behaviour columns.
    """
    import pandas as pd
    from transformers import AutoTokenizer

    from reviewlab.models.encoder.model import load_model
    from reviewlab.models.encoder.predict import make_batch

    model, meta = load_model(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    batch = make_batch(rows, tokenizer, meta)
    attributions = token_attributions(model, tokenizer, batch, steps=steps)
    return pd.Series([highlight(a, top) for a in attributions], index=rows.index, name="top_tokens")
