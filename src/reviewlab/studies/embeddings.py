"""Sentence embeddings of reviews from the pretrained encoder (stage ``embed``).

Mean pooling over the last hidden states, L2-normalised (the sentence-transformers recipe for
all-MiniLM-L6-v2), computed once per review and shared by the customer-segmentation and
content-based recommendation studies. Inference only: no labels are read.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from reviewlab.core import artifacts as paths
from reviewlab.data.text import document
from reviewlab.stages.pipeline_old import load_canonical


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
            batch = tokenizer(
                [texts[i] for i in index],
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            hidden = model(**batch).last_hidden_state
            out[index] = mean_pool(hidden, batch["attention_mask"]).numpy()
    return out


def embed_reviews(dataset: str, cfg: dict[str, Any], root: Path | None = None) -> dict[str, Any]:
    """Embed ``title. text`` of every review of ``dataset``; write vectors + review ids."""
    root = root or paths.project_root()
    reviews = load_canonical(dataset, root)
    docs = document(reviews["title"], reviews["text"])
    start = time.perf_counter()
    vectors = encode_texts(
        docs.tolist(), cfg["model_name_or_path"], cfg["max_length"], cfg["batch_size"]
    )
    seconds = time.perf_counter() - start
    out = embeddings_dir(dataset, root)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "reviews.npy", vectors)
    reviews[["review_id"]].to_parquet(out / "review_ids.parquet", index=False)
    return {"rows": len(vectors), "dim": int(vectors.shape[1]), "seconds": round(seconds, 1)}


def embeddings_dir(dataset: str, root: Path | None = None) -> Path:
    return paths.artifacts(dataset, root) / "embeddings"


def load_embeddings(dataset: str, root: Path | None = None) -> pd.DataFrame:
    """Review embeddings as a frame indexed by ``review_id`` (one column per dimension)."""
    folder = embeddings_dir(dataset, root)
    ids = pd.read_parquet(folder / "review_ids.parquet")["review_id"]
    return pd.DataFrame(np.load(folder / "reviews.npy"), index=pd.Index(ids, name="review_id"))
