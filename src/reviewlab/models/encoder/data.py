"""Fine-tuning inputs: head+tail tokenisation of ``title [SEP] text`` (once, through
``datasets.map``, cached by content), labels and behaviour features."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reviewlab.core.params import InputParams
from reviewlab.data.text import clean

HEADS = ("regression", "classification", "binary")
#: Behaviour features (train-only statistics from ``preprocess``) for the hybrid model.
BEHAVIOUR_COLUMNS = ["user_n", "user_mean", "user_std", "item_n", "item_mean", "item_std"]


def training_frame(table: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """The features ``table`` (split, history statistics) joined with the cleaned title and
    text of the canonical ``reviews``."""
    canonical = reviews.drop(columns=["user_id", "item_id", "rating", "timestamp"])
    frame = table.merge(canonical, on="review_id", how="left", validate="one_to_one")
    frame["title"] = frame["title"].fillna("").map(clean)
    frame["text"] = frame["text"].map(clean)
    return frame


def head_tail(ids: list[int], budget: int, head: int) -> list[int]:
    """Keep the first ``head`` and the last ``budget - head`` items when there are too many."""
    if len(ids) <= budget:
        return ids
    head = min(head, budget)
    tail = budget - head
    return ids[:head] + (ids[len(ids) - tail :] if tail else [])


def _cut(text: str, offsets: list[tuple[int, int]], budget: int, head: int) -> str:
    """``text`` reduced to its first ``head`` and last ``budget - head`` tokens (by offsets)."""
    kept = head_tail(list(range(len(offsets))), budget, head)
    if len(kept) == len(offsets):
        return text
    head = min(head, budget)
    front = text[: offsets[kept[head - 1]][1]] if head else ""
    back = text[offsets[kept[head]][0] :] if len(kept) > head else ""
    return f"{front} {back}".strip()


def encode(
    tokenizer, titles: list[str], texts: list[str], max_length: int, head: int, title_max: int
) -> dict[str, list[list[int]]]:
    """``[CLS] title [SEP] text [SEP]`` (no title: ``[CLS] text [SEP]``) within ``max_length``:
    the title's first ``title_max`` tokens, the text's first ``head`` and last tokens (head+tail
    truncation, Sun et al., 2019), cut on token boundaries in the string before the tokenizer
    adds its own special tokens (any tokenizer family works)."""
    plain = {"add_special_tokens": False, "return_offsets_mapping": True}
    title_enc, text_enc = tokenizer(titles, **plain), tokenizer(texts, **plain)
    pairs, singles = [], []
    for i, (title, text) in enumerate(zip(titles, texts, strict=True)):
        title = _cut(title, title_enc["offset_mapping"][i], title_max, title_max)
        n_title = min(len(title_enc["input_ids"][i]), title_max)
        specials = tokenizer.num_special_tokens_to_add(pair=n_title > 0)
        budget = max(1, max_length - specials - n_title)
        body = _cut(text, text_enc["offset_mapping"][i], budget, min(head, budget))
        (pairs if n_title else singles).append((i, title, body))
    out: dict[int, dict[str, list[int]]] = {}
    for group, is_pair in ((pairs, True), (singles, False)):
        if not group:
            continue
        index, first, second = zip(*group, strict=True)
        args = (list(first), list(second)) if is_pair else (list(second),)
        enc = tokenizer(*args, truncation=True, max_length=max_length)
        for row, i in enumerate(index):
            out[i] = {k: enc[k][row] for k in enc}
    return {k: [out[i][k] for i in range(len(texts))] for k in out[0]}


@dataclass
class LabelSpec:
    """How a label column becomes model targets (and back)."""

    column: str
    head: str
    classes: list[Any] = field(default_factory=list)  # classification: sorted class values
    positive: Any = None  # binary: the value counted as 1

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ValueError(f"finetune.head '{self.head}' is not one of {HEADS}")

    @property
    def num_outputs(self) -> int:
        return len(self.classes) if self.head == "classification" else 1

    @classmethod
    def fit(cls, column: str, head: str, train_values: pd.Series, positive: Any = None):
        values = sorted(pd.unique(train_values.dropna()).tolist())
        if head == "binary" and positive is None:
            if len(values) != 2:
                raise ValueError(f"binary head: '{column}' has {len(values)} values {values[:5]}")
            positive = values[1]
        return cls(column, head, values if head == "classification" else [], positive)

    def initial_bias(self, train_values: pd.Series) -> list[float]:
        """Head bias that predicts the training prior: mean, log class shares, or log-odds."""
        targets = self.targets(train_values)
        if self.head == "regression":
            return [float(targets.mean())]
        if self.head == "binary":
            p = float(np.clip(targets.mean(), 1e-4, 1 - 1e-4))
            return [float(np.log(p / (1 - p)))]
        shares = np.bincount(targets, minlength=len(self.classes)) / len(targets)
        return np.log(np.clip(shares, 1e-4, None)).tolist()

    def balanced_weights(self, train_values: pd.Series) -> list[float]:
        """Class weights n / (k * count) (binary: the positive weight, negatives / positives),
        so that a rare class weighs as much in the loss as a common one."""
        targets = self.targets(train_values)
        if self.head == "regression":
            raise ValueError(
                "finetune.class_weights: balanced needs a classification or binary head"
            )
        if self.head == "binary":
            positives = float(targets.sum())
            return [(len(targets) - positives) / max(positives, 1.0)]
        counts = np.bincount(targets, minlength=len(self.classes)).astype(float)
        return (len(targets) / (len(counts) * np.clip(counts, 1, None))).tolist()

    def targets(self, values: pd.Series) -> np.ndarray:
        if self.head == "regression":
            return values.to_numpy(dtype=np.float32)
        if self.head == "binary":
            return (values == self.positive).to_numpy(dtype=np.float32)
        index = {v: i for i, v in enumerate(self.classes)}
        unknown = set(values.unique()) - set(index)
        if unknown:
            raise ValueError(f"label '{self.column}': values {sorted(unknown)} not seen in train")
        return values.map(index).to_numpy(dtype=np.int64)


@dataclass
class Standardizer:
    """Train-split mean/std scaling of behaviour features; NaN (no history) becomes 0 = mean."""

    columns: list[str]
    mean: list[float]
    std: list[float]

    @classmethod
    def fit(cls, frame: pd.DataFrame, columns: list[str]) -> Standardizer:
        mean = frame[columns].mean().fillna(0.0)
        std = frame[columns].std(ddof=0).replace(0, 1.0).fillna(1.0)
        return cls(columns, mean.tolist(), std.tolist())

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        values = (frame[self.columns].to_numpy(dtype=np.float64) - self.mean) / self.std
        return np.nan_to_num(values, nan=0.0).astype(np.float32)


def _cache_key(tokenizer, columns: dict[str, Any], cfg: InputParams) -> str:
    """Content hash of everything the tokenised dataset depends on (stable across runs)."""
    digest = hashlib.sha256()
    lengths = [cfg.max_length, cfg.head_tokens, cfg.title_max_tokens]
    digest.update(json.dumps([tokenizer.name_or_path, lengths]).encode())
    for name in sorted(columns):
        digest.update(
            np.asarray(columns[name]).tobytes()
            if name != "title" and name != "text"
            else "\x1f".join(columns[name]).encode("utf-8", "surrogatepass")
        )
    return digest.hexdigest()[:24]


def build_dataset(
    frame: pd.DataFrame,
    tokenizer,
    labels: LabelSpec,
    cfg: InputParams,
    scaler: Standardizer | None = None,
    cache_dir: Path | None = None,
):
    """A tokenised ``datasets.Dataset`` (input ids, labels, optional ``extra`` features, length);
    ``cache_dir``: where ``datasets`` keeps the tokenised rows, keyed by their content."""
    import datasets

    columns = {
        "title": frame["title"].fillna("").astype(str).tolist(),
        "text": frame["text"].astype(str).tolist(),
        "labels": labels.targets(frame[labels.column]),
    }
    if scaler is not None:
        columns["extra"] = scaler.transform(frame).tolist()
    raw = datasets.Dataset.from_dict(columns)
    key = _cache_key(tokenizer, columns, cfg)
    lengths = (cfg.max_length, cfg.head_tokens, cfg.title_max_tokens)
    encoded = raw.map(
        lambda batch: encode(tokenizer, batch["title"], batch["text"], *lengths),
        batched=True,
        remove_columns=["title", "text"],
        cache_file_name=None if cache_dir is None else str(cache_dir / f"{key}.arrow"),
        desc="tokenise",
    )
    return encoded.map(lambda row: {"length": len(row["input_ids"])}, desc="lengths")
