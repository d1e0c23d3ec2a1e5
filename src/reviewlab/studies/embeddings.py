"""Sentence embeddings of reviews from the pretrained encoder (stage ``embed``): L2-normalised
mean pooling (the sentence-transformers recipe of all-MiniLM-L6-v2), shared by the segmentation
and content-based recommendation studies. Inference only: no labels are read.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from reviewlab.core.params import EmbedParams
from reviewlab.data.text import document


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors where ``mask`` is 1, L2-normalised."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


def encode_texts(
    texts: list[str], model_name_or_path: str | None, max_length: int, batch_size: int
) -> np.ndarray:
    """One unit-length vector per text; batches of similar length to avoid padding work."""
    from transformers import AutoModel, AutoTokenizer

    from reviewlab.core.backbone import resolve_model

    torch.set_num_threads(os.cpu_count() or 1)
    folder = resolve_model(model_name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    order = np.argsort([len(i) for i in ids], kind="stable")
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            index = order[start : start + batch_size]
            chunk = [texts[i] for i in index]
            batch = tokenizer(
                chunk, truncation=True, max_length=max_length, padding=True, return_tensors="pt"
            )
            hidden = model(**batch).last_hidden_state
            out[index] = mean_pool(hidden, batch["attention_mask"]).numpy()
    return out


@dataclass
class Embedded:
    """One vector per review, the review ids in the same order, and what it took."""

    vectors: np.ndarray  # rows x dim, float32, unit length
    review_ids: pd.DataFrame  # one column, ``review_id``
    report: dict[str, Any]  # rows, dim, seconds (the ``embed`` stage's runtime)


def embed_reviews(reviews: pd.DataFrame, cfg: EmbedParams) -> Embedded:
    """Embed ``title. text`` of every review of the canonical ``reviews``."""
    docs = document(reviews["title"], reviews["text"])
    start = time.perf_counter()
    vectors = encode_texts(docs.tolist(), cfg.model_name_or_path, cfg.max_length, cfg.batch_size)
    seconds = time.perf_counter() - start
    report = {"rows": len(vectors), "dim": int(vectors.shape[1]), "seconds": round(seconds, 1)}
    return Embedded(vectors, reviews[["review_id"]], report)
