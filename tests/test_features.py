"""Features: train-only history with leave-one-out, TF-IDF fitted on train, dedup counted."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from reviewlab.core.params import FeatureParams
from reviewlab.data.features import build_features, deduplicate, history_stats
from reviewlab.data.splits import make_splits

RAW_CFG = {
    "tfidf_word": {"max_features": 500, "ngram_max": 2, "min_df": 1},
    "tfidf_char": {"max_features": 500, "ngram_min": 2, "ngram_max": 3, "min_df": 1},
}
CFG = FeatureParams.model_validate(RAW_CFG)


def test_history_never_reads_valid_or_test_labels(reviews):
    split = make_splits(reviews, seed=0)
    before = history_stats(reviews, split, "user_id", "user")
    shuffled = reviews.copy()
    held_out = (split != "train").to_numpy()
    shuffled.loc[held_out, "rating"] = np.random.default_rng(1).integers(1, 6, held_out.sum())
    after = history_stats(shuffled, split, "user_id", "user")
    pd.testing.assert_frame_equal(before, after)


def test_leave_one_out_on_train(reviews):
    split = make_splits(reviews, seed=0)
    stats = history_stats(reviews, split, "user_id", "user")
    train = reviews[split == "train"]
    for idx in train.index[:25]:
        others = train[(train["user_id"] == reviews.at[idx, "user_id"]) & (train.index != idx)]
        assert stats.at[idx, "user_n"] == len(others)
        if len(others):
            assert stats.at[idx, "user_mean"] == pytest.approx(others["rating"].mean())
            assert stats.at[idx, "user_std"] == pytest.approx(
                others["rating"].std(ddof=0), abs=1e-9
            )
        else:
            assert np.isnan(stats.at[idx, "user_mean"])


def test_test_rows_see_all_train_rows(reviews):
    split = make_splits(reviews, seed=0)
    stats = history_stats(reviews, split, "item_id", "item")
    train = reviews[split == "train"]
    idx = reviews.index[split == "test"][0]
    mates = train[train["item_id"] == reviews.at[idx, "item_id"]]
    assert stats.at[idx, "item_n"] == len(mates)
    assert stats.at[idx, "item_mean"] == pytest.approx(mates["rating"].mean())


def test_missing_users_get_no_history(reviews):
    no_users = reviews.assign(user_id=pd.Series([None] * len(reviews), dtype="str"))
    split = make_splits(no_users, seed=0)
    stats = history_stats(no_users, split, "user_id", "user")
    assert (stats["user_n"] == 0).all() and stats["user_mean"].isna().all()


def test_tfidf_vocabulary_comes_from_train_only(reviews):
    frame = reviews.copy()
    split = make_splits(frame, seed=0)
    frame.loc[split == "test", "text"] = "zzzsecretword appears only in test"
    fs, vectorizers = build_features(frame, split, CFG)
    assert "zzzsecretword" not in vectorizers["word"].vocabulary_
    assert fs.tfidf["word"].shape[0] == len(frame)
    assert fs.table["split"].tolist() == split.astype(str).tolist()
    assert np.isfinite(
        fs.table[fs.dense_columns]
        .drop(columns=[c for c in fs.dense_columns if c.endswith(("_mean", "_std", "ratio"))])
        .to_numpy()
    ).all()


def test_deduplicate_counts_repeats(reviews):
    doubled = pd.concat(
        [reviews, reviews.iloc[:5].assign(review_id=lambda d: d["review_id"] + "x")]
    )
    kept, removed = deduplicate(doubled.reset_index(drop=True))
    assert len(kept) == len(reviews) and len(removed) == 5
    assert len(kept) + len(removed) == len(doubled)


def test_saved_features_are_byte_identical_across_processes(reviews, tmp_path):
    """DVC hashes the features folder: two runs of the same build must write the same bytes."""
    reviews.to_parquet(tmp_path / "reviews.parquet")
    script = (
        "import sys, pandas as pd\n"
        "from pathlib import Path\n"
        "from reviewlab.core.params import FeatureParams\n"
        "from reviewlab.data.features import build_features\n"
        "from reviewlab.data.splits import make_splits\n"
        f"frame = pd.read_parquet({str(tmp_path / 'reviews.parquet')!r})\n"
        f"cfg = FeatureParams.model_validate({RAW_CFG!r})\n"
        "fs, vectorizers = build_features(frame, make_splits(frame, seed=0), cfg)\n"
        "fs.save(Path(sys.argv[1]), vectorizers)\n"
    )
    for run in ("a", "b"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / run)], check=True)
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert "vectorizers.joblib" in files
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
