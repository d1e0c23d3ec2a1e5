"""A saved model on new reviews: predictions (``reviewlab predict``) and token attributions
(captum integrated gradients)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from reviewlab.core.columns import ID_COLUMNS
from reviewlab.data.text import clean
from reviewlab.models.encoder.data import LabelSpec, Standardizer, encode
from reviewlab.models.encoder.model import ReviewModel, load_model
from reviewlab.models.encoder.trainer import to_predictions


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or JSON-lines file (optionally .gz) as a DataFrame, identifiers as text."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: input file not found")
    ids = {column: "string" for column in ID_COLUMNS}
    if ".csv" in path.suffixes:
        return pd.read_csv(path, dtype=ids)
    if ".jsonl" in path.suffixes or ".json" in path.suffixes:
        return pd.read_json(path, lines=True, dtype=ids)
    raise ValueError(f"{path}: expected a .csv or .jsonl file")


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` as JSON lines, parquet or CSV, by the suffix of ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if ".jsonl" in path.suffixes:
        frame.to_json(path, orient="records", lines=True)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def make_batch(rows: pd.DataFrame, tokenizer, meta: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Tokenise ``rows`` exactly as in training and add the scaled behaviour features."""
    cfg = meta["finetune"]["input"]
    titles = rows["title"].fillna("").astype(str).map(clean).tolist()
    texts = rows["text"].fillna("").astype(str).map(clean).tolist()
    enc = encode(
        tokenizer, titles, texts, cfg["max_length"], cfg["head_tokens"], cfg["title_max_tokens"]
    )
    batch = tokenizer.pad(enc, return_tensors="pt", pad_to_multiple_of=cfg["pad_to_multiple_of"])
    batch = {k: v for k, v in batch.items() if k != "offset_mapping"}
    if meta.get("scaler"):
        scaler = Standardizer(**meta["scaler"])
        present = rows.reindex(columns=scaler.columns)  # missing history -> NaN -> training mean
        batch["extra"] = torch.from_numpy(scaler.transform(present))
    return batch


def _load(model_dir: Path) -> tuple[ReviewModel, Any, dict[str, Any]]:
    from transformers import AutoTokenizer

    model, meta = load_model(model_dir)
    return model, AutoTokenizer.from_pretrained(model_dir), meta


def predict_frame(
    model_dir: Path,
    frame: pd.DataFrame,
    text_column: str = "text",
    title_column: str = "title",
    batch_size: int = 64,
) -> pd.DataFrame:
    """Predictions for every row of ``frame`` (sorted by length internally, returned in order)."""
    if text_column not in frame:
        raise KeyError(
            f"text column '{text_column}' not in the input (columns: {list(frame.columns)}); "
            "pass --text-column"
        )
    others = frame.drop(columns=[c for c in (text_column, title_column) if c in frame])
    rows = pd.DataFrame({"text": frame[text_column], "title": frame.get(title_column, "")})
    rows = rows.join(others)
    model, tokenizer, meta = _load(model_dir)
    spec = LabelSpec(**meta["label"])
    order = np.argsort(rows["text"].fillna("").str.len().to_numpy(), kind="stable")
    logits = np.zeros((len(rows), spec.num_outputs))
    with torch.inference_mode():
        for start in tqdm(range(0, len(rows), batch_size), desc="predict", unit="batch"):
            index = order[start : start + batch_size]
            batch = make_batch(rows.iloc[index], tokenizer, meta)
            logits[index] = model(**batch).logits.float().numpy()
    estimate, classes = to_predictions(logits, spec)
    return frame.assign(prediction=estimate, predicted_class=classes)


def token_attributions(
    model: ReviewModel, tokenizer, batch: dict[str, torch.Tensor], target: int = 0, steps: int = 32
) -> list[list[tuple[str, float]]]:
    """Integrated gradients of output ``target`` w.r.t. the word embeddings, summed per token,
    against a baseline with every non-special token ``[PAD]``; positive values push the
    prediction up."""
    from captum.attr import LayerIntegratedGradients

    model.eval()
    ids, mask = batch["input_ids"], batch["attention_mask"]
    special = torch.tensor(tokenizer.all_special_ids, device=ids.device)
    baseline = torch.where(
        torch.isin(ids, special), ids, torch.full_like(ids, tokenizer.pad_token_id)
    )

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
        additional_forward_args=(mask, batch.get("token_type_ids"), batch.get("extra")),
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


def explain_rows(model_dir: Path, rows: pd.DataFrame, top: int = 8, steps: int = 32) -> pd.Series:
    """Top tokens by integrated-gradients attribution for each review in ``rows`` (``title``,
    ``text`` and, for hybrid models, the behaviour columns)."""
    model, tokenizer, meta = _load(model_dir)
    batch = make_batch(rows, tokenizer, meta)
    attributions = token_attributions(model, tokenizer, batch, steps=steps)
    return pd.Series([highlight(a, top) for a in attributions], index=rows.index, name="top_tokens")
