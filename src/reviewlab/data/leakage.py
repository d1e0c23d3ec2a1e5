"""Leakage audit of one dataset's splits and features (stage ``audit``): shared ids, users
and items, exact and near-duplicate texts, temporal order, and a label probe (features rebuilt
with held-out labels and texts changed). Real leakage raises :class:`LeakageError`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np
import pandas as pd

from reviewlab.core.errors import ReviewlabError
from reviewlab.core.params import AuditParams, FeatureParams
from reviewlab.data.features import FeatureSet, build_features

PAIRS = (("train", "valid"), ("train", "test"), ("valid", "test"))
NEAR_COLUMNS = [
    "split",
    "cosine",
    "review_id",
    "train_review_id",
    "same_user",
    "text",
    "train_text",
]


class LeakageError(ReviewlabError, RuntimeError):
    """The splits or features leak held-out information; the message lists each finding."""


def normalise(text: str) -> str:
    """Lower case, letters and digits only, single spaces: what counts as "the same text"."""
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def text_keys(docs: pd.Series) -> pd.Series:
    return docs.fillna("").map(lambda t: hashlib.sha1(normalise(t).encode()).hexdigest())


def exact_duplicates(table: pd.DataFrame, min_words: int) -> pd.DataFrame:
    """Per split pair: later-split rows whose normalised text (``min_words`` or more words)
    occurs in the earlier split, and how many of those are by the same (known) user."""
    frame = table.assign(key=text_keys(table["doc"]), words=table["doc"].str.split().str.len())
    frame = frame[frame["words"] >= min_words]
    rows = []
    for first, second in PAIRS:
        a, b = frame[frame["split"] == first], frame[frame["split"] == second]
        hits = b[b["key"].isin(set(a["key"]))]
        known = a[["key", "user_id"]].dropna().drop_duplicates()
        same_user = hits.dropna(subset=["user_id"]).merge(known, on=["key", "user_id"])
        rows.append(
            {
                "pair": f"{first}-{second}",
                "later_rows": len(b),
                "duplicate_texts": len(hits),
                "same_user": len(same_user),
                "same_user_share": round(len(same_user) / max(len(b), 1), 6),
            }
        )
    return pd.DataFrame(rows)


def near_duplicates(
    table: pd.DataFrame, threshold: float, min_words: int, chunk: int = 512
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Held-out rows whose hashed word 1-3-gram vector has cosine >= ``threshold`` with a
    training row of another normalised text: (counts per pair, the pairs, most similar first)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    frame = table[table["doc"].str.split().str.len() >= min_words].reset_index(drop=True)
    keys = text_keys(frame["doc"]).to_numpy()
    vectorizer = HashingVectorizer(ngram_range=(1, 3), n_features=2**20, norm="l2")
    matrix = vectorizer.transform(frame["doc"].fillna(""))
    train = np.flatnonzero(frame["split"].to_numpy() == "train")
    found, counts = [], []
    for held_out in ("valid", "test"):
        rows = np.flatnonzero(frame["split"].to_numpy() == held_out)
        hits = 0
        for start in range(0, len(rows), chunk):
            block = rows[start : start + chunk]
            sims = (matrix[block] @ matrix[train].T).toarray()
            best = sims.argmax(axis=1)
            score = sims[np.arange(len(block)), best]
            for i, j, s in zip(block, train[best], score, strict=True):
                if s >= threshold and keys[i] != keys[j]:
                    hits += 1
                    at = frame.at
                    same_user = at[i, "user_id"] == at[j, "user_id"]
                    found.append(
                        (held_out, round(float(s), 4), at[i, "review_id"], at[j, "review_id"])
                        + (same_user, at[i, "doc"][:160], at[j, "doc"][:160])
                    )
        counts.append({"pair": f"train-{held_out}", "near_duplicates": hits})
    pairs = pd.DataFrame(found, columns=NEAR_COLUMNS)
    return pd.DataFrame(counts), pairs.sort_values("cosine", ascending=False, ignore_index=True)


def shared_entities(table: pd.DataFrame) -> pd.DataFrame:
    """Review ids, users and items of each held-out split that also occur in training."""
    train = table[table["split"] == "train"]
    rows = []
    for held_out in ("valid", "test"):
        part = table[table["split"] == held_out]
        row = {"split": held_out, "rows": len(part)}
        for column in ("review_id", "user_id", "item_id"):
            values = part[column].dropna()
            shared = values.isin(set(train[column].dropna()))
            row[f"{column}_shared"] = int(shared.sum())
            row[f"{column}_shared_share"] = round(float(shared.mean()) if len(values) else 0.0, 6)
        rows.append(row)
    return pd.DataFrame(rows)


def label_probe(
    reviews: pd.DataFrame,
    split: pd.Series,
    feature_cfg: FeatureParams,
    seed: int = 0,
    reference: tuple[Any, dict[str, Any]] | None = None,
) -> list[str]:
    """Features that change when every held-out rating changes and every held-out word is
    spelt backwards (names; empty = none): training rows' dense and TF-IDF features, the
    vocabularies and every row's history features must stay. ``reference``: the stored
    (FeatureSet, vectorizers) of the unchanged data."""
    held_out = (split != "train").to_numpy()
    probe = reviews.copy()
    rng = np.random.default_rng(seed)
    ratings = probe.loc[held_out, "rating"].to_numpy()  # every held-out rating changes
    probe.loc[held_out, "rating"] = (ratings - 1 + rng.integers(1, 5, len(ratings))) % 5 + 1
    probe.loc[held_out, "text"] = probe.loc[held_out, "text"].map(
        lambda t: " ".join(word[::-1] for word in t.split())
    )
    a, va = reference or build_features(reviews, split, feature_cfg)
    b, vb = build_features(probe, split, feature_cfg)
    changed = []
    train = ~held_out
    for column in a.dense_columns:
        x, y = a.table[column].to_numpy(), b.table[column].to_numpy()
        rows = train if not column.startswith(("user_", "item_")) else slice(None)
        if not np.array_equal(x[rows], y[rows], equal_nan=True):
            changed.append(column)
    for kind in a.tfidf:
        if va[kind].vocabulary_ != vb[kind].vocabulary_:
            changed.append(f"tfidf_{kind} vocabulary")
        elif (a.tfidf[kind][train] != b.tfidf[kind][train]).nnz:
            changed.append(f"tfidf_{kind} training rows")
    return changed


def temporal_violations(table: pd.DataFrame) -> int:
    """Held-out reviews older than the newest training review (temporal split only)."""
    newest = table.loc[table["split"] == "train", "timestamp"].max()
    held_out = table[table["split"] != "train"]
    return int((held_out["timestamp"] < newest).sum())


def verdict(report: dict[str, Any], strategy: str, cfg: AuditParams, dataset: str) -> list[str]:
    """The findings that are real leakage under ``strategy`` and the ``audit`` params, each
    naming the setting of ``datasets.<dataset>`` that fixes it where there is one."""
    problems = []
    shared = pd.DataFrame(report["shared"])
    if shared["review_id_shared"].sum():
        problems.append(f"{int(shared['review_id_shared'].sum())} review ids are in two splits")
    for grouped, column in (("cold_start_user", "user_id"), ("cold_start_item", "item_id")):
        if strategy == grouped and shared[f"{column}_shared"].sum():
            problems.append(
                f"{grouped} split: {int(shared[f'{column}_shared'].sum())} held-out reviews "
                f"share a {column} with training"
            )
    if strategy == "temporal" and report.get("temporal_violations"):
        problems.append(
            f"temporal split: {report['temporal_violations']} held-out reviews predate training"
        )
    repeats = [
        f"{row['pair']}: {row['same_user']} of {row['later_rows']} reviews "
        f"({row['same_user_share']:.2%}) repeat a review of the same user in the earlier split "
        f"word for word (allowed: {cfg.max_same_user_duplicate_share:.2%})"
        for row in report["exact_duplicates"]
        if row["same_user_share"] > cfg.max_same_user_duplicate_share
    ]
    if repeats:
        problems += repeats[:-1] + [
            f"{repeats[-1]}. Fix: keep one copy of a user's text with "
            f"`datasets.{dataset}.dedupe: [user_id, text]` (one text posted on several product "
            f"variants), or hold whole users out with `datasets.{dataset}.split: "
            "{strategy: cold_start_user}`"
        ]
    if report["label_probe"]:
        problems.append(f"features computed with held-out data: {report['label_probe']}")
    return problems


def run_audit(
    reviews: pd.DataFrame,
    split: pd.Series,
    stored: FeatureSet,
    vectorizers: dict[str, Any],
    strategy: str,
    feature_cfg: FeatureParams,
    cfg: AuditParams,
    seed: int,
    dataset: str,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Audit the stored features of ``dataset`` against its de-duplicated ``reviews`` and
    their ``split``: the report (``audit.json``; ``report["leakage"]``: the real leakage) and
    the near-duplicate pairs."""
    table = stored.table
    if not reviews["review_id"].astype(str).equals(table["review_id"].astype(str)):
        raise LeakageError(f"{dataset}: the stored features do not match the canonical rows")
    near_counts, near_pairs = near_duplicates(table, cfg.near_duplicate_cosine, cfg.min_words)
    report: dict[str, Any] = {
        "strategy": strategy,
        "shared": shared_entities(table).to_dict(orient="records"),
        "exact_duplicates": exact_duplicates(table, cfg.min_words).to_dict(orient="records"),
        "near_duplicates": near_counts.to_dict(orient="records"),
        "near_duplicates_same_user": int(near_pairs["same_user"].sum()) if len(near_pairs) else 0,
        "label_probe": label_probe(reviews, split, feature_cfg, seed, (stored, vectorizers)),
    }
    if table["timestamp"].notna().all():
        report["temporal_violations"] = temporal_violations(table)
    report["leakage"] = verdict(report, strategy, cfg, dataset)
    return report, near_pairs


def assert_clean(report: dict[str, Any], dataset: str) -> None:
    """Fail the stage (and ``dvc repro``) when the audit found real leakage."""
    if report["leakage"]:
        raise LeakageError(f"{dataset}: " + "; ".join(report["leakage"]))
