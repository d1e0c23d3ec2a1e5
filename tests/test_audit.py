"""Leakage audit: duplicates across splits, shared entities, the label probe, the verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reviewlab.core.params import AuditParams, FeatureParams
from reviewlab.data import features, leakage

CFG = AuditParams(min_words=3, near_duplicate_cosine=0.8, max_same_user_duplicate_share=0.01)
TINY_TFIDF = FeatureParams.model_validate(
    {
        "tfidf_word": {"max_features": 500, "ngram_max": 1, "min_df": 1},
        "tfidf_char": {"max_features": 500, "ngram_min": 2, "ngram_max": 3, "min_df": 1},
    }
)


def _table(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["review_id", "split", "user_id", "doc"]).assign(
        item_id="i1", timestamp=pd.Timestamp("2014-01-01", tz="UTC")
    )


def test_exact_duplicates_count_pairs_and_same_user():
    table = _table(
        [
            ("r1", "train", "u1", "These strings sound bright and warm"),
            ("r2", "test", "u1", "these strings, sound bright AND warm!"),  # same user, same text
            ("r3", "test", "u2", "These strings sound bright and warm"),  # other user
            ("r4", "valid", "u3", "great"),  # too short to count
            ("r5", "train", "u3", "great"),
            ("r6", "train", None, "a review without a known user here"),
            ("r7", "test", None, "a review without a known user here"),  # unknown: not same
        ]
    )
    dups = leakage.exact_duplicates(table, min_words=3).set_index("pair")
    assert dups.loc["train-test", "duplicate_texts"] == 3
    assert dups.loc["train-test", "same_user"] == 1
    assert dups.loc["train-valid", "duplicate_texts"] == 0


def test_near_duplicates_skip_exact_repeats():
    base = "the tuner holds pitch well and the clip is sturdy enough for stage use"
    table = _table(
        [
            ("r1", "train", "u1", base),
            ("r2", "test", "u2", base.replace("sturdy", "strong")),
            ("r3", "test", "u3", base),  # exact repeat: not a near duplicate
            ("r4", "valid", "u4", "a completely different review about a guitar strap"),
        ]
    )
    counts, pairs = leakage.near_duplicates(table, threshold=0.8, min_words=3)
    assert counts.set_index("pair").loc["train-test", "near_duplicates"] == 1
    assert pairs.iloc[0]["review_id"] == "r2" and pairs.iloc[0]["train_review_id"] == "r1"
    assert counts.set_index("pair").loc["train-valid", "near_duplicates"] == 0


def test_shared_entities():
    table = _table(
        [
            ("r1", "train", "u1", "a b c"),
            ("r2", "test", "u1", "d e f"),
            ("r3", "test", "u2", "g h i"),
            ("r1", "valid", "u9", "j k l"),
        ]
    )
    shared = leakage.shared_entities(table).set_index("split")
    assert shared.loc["test", "user_id_shared"] == 1
    assert shared.loc["valid", "review_id_shared"] == 1


def _reviews(n: int = 60) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    words = ["great", "bad", "tone", "string", "cheap", "solid", "buzz", "warm"]
    reviews = pd.DataFrame(
        {
            "review_id": [f"r{i}" for i in range(n)],
            "user_id": [f"u{i % 7}" for i in range(n)],
            "item_id": [f"i{i % 5}" for i in range(n)],
            "rating": rng.integers(1, 6, n),
            "title": ["t"] * n,
            "text": [" ".join(rng.choice(words, 6)) for _ in range(n)],
            "helpful_votes": pd.array([1] * n, dtype="Int64"),
            "total_votes": pd.array([2] * n, dtype="Int64"),
            "timestamp": pd.Timestamp("2014-01-01", tz="UTC"),
        }
    )
    split = pd.Series(np.where(np.arange(n) % 5 == 0, "test", "train"))
    return reviews, split


def test_label_probe_passes_train_only_features():
    reviews, split = _reviews()
    assert leakage.label_probe(reviews, split, TINY_TFIDF) == []


def test_label_probe_catches_a_feature_computed_with_test_labels(monkeypatch):
    reviews, split = _reviews()
    honest = features.dense_features

    def leaky(frame, split):  # e.g. a global mean that includes the test ratings
        out = honest(frame, split)
        return out.assign(global_mean=float(frame["rating"].mean()))

    monkeypatch.setattr(features, "dense_features", leaky)
    assert leakage.label_probe(reviews, split, TINY_TFIDF) == ["global_mean"]


def test_label_probe_catches_tfidf_fitted_on_all_rows(monkeypatch):
    reviews, split = _reviews()
    honest = features.fit_tfidf
    monkeypatch.setattr(
        features,
        "fit_tfidf",
        lambda docs, s, w, c: honest(docs, pd.Series("train", index=s.index), w, c),
    )
    assert "tfidf_word vocabulary" in leakage.label_probe(reviews, split, TINY_TFIDF)


def _report(**shared) -> dict:
    row = {"review_id_shared": 0, "user_id_shared": 0, "item_id_shared": 0, **shared}
    return {
        "shared": [row],
        "exact_duplicates": [
            {"pair": "train-test", "later_rows": 100, "same_user": 0, "same_user_share": 0.0}
        ],
        "label_probe": [],
        "temporal_violations": 0,
    }


def test_verdict_depends_on_the_split_strategy():
    assert leakage.verdict(_report(user_id_shared=5), "stratified", CFG, "d") == []
    assert (
        "cold_start_user"
        in leakage.verdict(_report(user_id_shared=5), "cold_start_user", CFG, "d")[0]
    )
    assert "two splits" in leakage.verdict(_report(review_id_shared=1), "stratified", CFG, "d")[0]
    dups = [{"pair": "train-test", "later_rows": 100, "same_user": 2, "same_user_share": 0.02}]
    assert (
        "same user"
        in leakage.verdict({**_report(), "exact_duplicates": dups}, "stratified", CFG, "d")[0]
    )
    dups[0]["same_user_share"] = 0.005  # under the allowed share: reported, not failed
    assert leakage.verdict({**_report(), "exact_duplicates": dups}, "stratified", CFG, "d") == []
    with pytest.raises(leakage.LeakageError, match="shop: 2 held-out"):
        leakage.assert_clean({"leakage": ["2 held-out reviews ..."]}, "shop")
