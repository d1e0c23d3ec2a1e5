"""Baselines: the bias model recovers known biases; selection never looks at test labels."""

import numpy as np
import pandas as pd
import pytest

from reviewlab.data.features import build_features
from reviewlab.data.splits import make_splits
from reviewlab.models import baselines as bl
from tests.test_features import CFG

BASELINES = {
    "models": ["mean_majority", "user_item_bias", "tfidf_ridge", "tfidf_logreg", "lightgbm"],
    "selection_metric": "rmse",
    "bias_reg": [1, 10],
    "ridge_alpha": [0.3, 3],
    "logreg_C": [1, 10],
    "lightgbm": {
        "n_estimators": 50,
        "learning_rate": 0.1,
        "num_leaves": 7,
        "min_child_samples": 5,
        "colsample_bytree": 0.5,
        "early_stopping_rounds": 10,
    },
}


@pytest.fixture
def feature_set(reviews):
    fs, _ = build_features(reviews, make_splits(reviews, seed=0), CFG)
    return fs


def test_bias_model_recovers_biases():
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 30, 6000), rng.integers(0, 20, 6000)
    bu, bi = rng.normal(0, 0.7, 30), rng.normal(0, 0.7, 20)
    ratings = 3.0 + bu[users] + bi[items] + rng.normal(0, 0.1, 6000)
    mu, b_u, b_i = bl.fit_biases(users, items, ratings, reg=1.0)
    fitted = mu + b_u.reindex(range(30)).to_numpy()[:, None] + b_i.reindex(range(20)).to_numpy()
    assert np.corrcoef(fitted.ravel(), (3 + bu[:, None] + bi).ravel())[0, 1] > 0.99


def test_all_baselines_beat_the_mean(feature_set):
    fitted = {f.name: f for f in bl.run_all(feature_set, BASELINES, seed=0)}
    y = feature_set.table["rating"].to_numpy()[feature_set.rows("test")]
    rmse = {n: float(np.sqrt(np.mean((np.clip(f.test, 1, 5) - y) ** 2))) for n, f in fitted.items()}
    for name in ("user_item_bias", "tfidf_ridge", "tfidf_logreg", "lightgbm"):
        assert rmse[name] < rmse["mean_majority"], (name, rmse)
    assert fitted["tfidf_logreg"].test_classes is not None
    assert len(fitted["tfidf_ridge"].search) == 2


def test_selection_ignores_test_labels(feature_set):
    before = bl.run_all(feature_set, BASELINES, seed=0)
    table = feature_set.table.copy()
    test = table["split"] == "test"
    table.loc[test, "rating"] = np.random.default_rng(9).integers(1, 6, test.sum())
    feature_set.table = table
    after = bl.run_all(feature_set, BASELINES, seed=0)
    for a, b in zip(before, after, strict=True):
        assert a.selected == b.selected, a.name
        if a.name != "mean_majority":
            np.testing.assert_allclose(a.valid, b.valid)


def test_unknown_model_is_named(feature_set):
    with pytest.raises(ValueError, match="unknown \\['svm'\\]"):
        bl.run_all(feature_set, {**BASELINES, "models": ["svm"]}, seed=0)


def test_no_users_still_fits_item_biases(reviews):
    no_users = reviews.assign(user_id=pd.Series([None] * len(reviews), dtype="str"))
    fs, _ = build_features(no_users, make_splits(no_users, seed=0), CFG)
    fitted = bl.user_item_bias(fs, [3.0], "rmse")
    assert np.isfinite(fitted.test).all() and fitted.test.std() > 0
