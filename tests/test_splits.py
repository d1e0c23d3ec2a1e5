"""Splits: disjoint, complete, the requested sizes, and each strategy's guarantee."""

import numpy as np
import pandas as pd
import pytest

from reviewlab.data.splits import make_splits, overlap


@pytest.mark.parametrize("strategy", ["stratified", "temporal", "cold_start_user"])
def test_every_row_in_exactly_one_split(reviews, strategy):
    split = make_splits(reviews, strategy, 0.1, 0.2, seed=1)
    assert split.notna().all() and set(split.unique()) == {"train", "valid", "test"}
    counts = split.value_counts()
    assert counts.sum() == len(reviews)
    if strategy != "cold_start_user":  # group splits are approximately sized
        assert counts["test"] == pytest.approx(0.2 * len(reviews), abs=2)
        assert counts["valid"] == pytest.approx(0.1 * len(reviews), abs=2)


def test_stratified_keeps_rating_shares(reviews):
    split = make_splits(reviews, "stratified", 0.2, 0.2, seed=0)
    shares = pd.crosstab(split, reviews["rating"], normalize="index")
    assert (shares.max() - shares.min()).max() < 0.05


def test_seed_fixes_the_split(reviews):
    a = make_splits(reviews, seed=5)
    assert a.equals(make_splits(reviews, seed=5))
    assert not a.equals(make_splits(reviews, seed=6))


def test_temporal_test_is_newest(reviews):
    split = make_splits(reviews, "temporal", 0.1, 0.1)
    ts = reviews["timestamp"]
    assert ts[split == "train"].max() <= ts[split == "valid"].min()
    assert ts[split == "valid"].max() <= ts[split == "test"].min()


def test_cold_start_users_unseen_in_train(reviews):
    split = make_splits(reviews, "cold_start_user", 0.15, 0.15, seed=2)
    assert overlap(reviews, split, "user_id") == {"valid": 0.0, "test": 0.0}
    assert np.mean(split == "test") > 0.05


def test_clear_errors(reviews):
    with pytest.raises(ValueError, match="not one of"):
        make_splits(reviews, "random")
    with pytest.raises(ValueError, match="sum below 1"):
        make_splits(reviews, valid_frac=0.6, test_frac=0.5)
    no_time = reviews.assign(timestamp=pd.NaT)
    with pytest.raises(ValueError, match="timestamp"):
        make_splits(no_time, "temporal")
