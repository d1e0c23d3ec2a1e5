"""Scoring new reviews with a trained model: ``reviewlab predict``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from reviewlab.data.text import clean
from reviewlab.models.encoder.data import LabelSpec, Standardizer, encode
from reviewlab.models.encoder.model import load_model
from reviewlab.models.encoder.trainer import to_predictions


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or JSON-lines file (optionally .gz) as a DataFrame."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: input file not found")
    if ".csv" in path.suffixes:
        return pd.read_csv(path)
    if ".jsonl" in path.suffixes or ".json" in path.suffixes:
        return pd.read_json(path, lines=True)
    raise ValueError(f"{path}: expected a .csv or .jsonl file")


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


def predict_frame(
    model_dir: Path,
    frame: pd.DataFrame,
    text_column: str = "text",
    title_column: str = "title",
    batch_size: int = 64,
) -> pd.DataFrame:
    """Predictions for every row of ``frame`` (sorted by length internally, returned in order)."""
    from transformers import AutoTokenizer

    if text_column not in frame:
        raise KeyError(
            f"text column '{text_column}' not in the input (columns: {list(frame.columns)}); "
            "pass --text-column"
        )
    rows = pd.DataFrame(
        {
            "text": frame[text_column],
            "title": frame.get(title_column, ""),
        }
    ).join(frame.drop(columns=[c for c in (text_column, title_column) if c in frame]))
    model, meta = load_model(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
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


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if ".jsonl" in path.suffixes:
        frame.to_json(path, orient="records", lines=True)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path
