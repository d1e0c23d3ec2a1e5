"""Baselines: the bias model recovers known biases; selection never looks at test labels."""

import numpy as np
import pandas as pd
import pytest

from reviewlab.core.params import BaselineParams
from reviewlab.data.features import build_features
from reviewlab.data.splits import make_splits
from reviewlab.models import classical
from tests.conftest import evaluation_block
from tests.test_features import CFG

RAW_BASELINES = {
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
BASELINES = BaselineParams.model_validate(RAW_BASELINES)


@pytest.fixture
def feature_set(reviews):
    fs, _ = build_features(reviews, make_splits(reviews, seed=0), CFG)
    return fs


def test_bias_model_recovers_biases():
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 30, 6000), rng.integers(0, 20, 6000)
    bu, bi = rng.normal(0, 0.7, 30), rng.normal(0, 0.7, 20)
    ratings = 3.0 + bu[users] + bi[items] + rng.normal(0, 0.1, 6000)
    mu, b_u, b_i = classical.fit_biases(users, items, ratings, reg=1.0)
    fitted = mu + b_u.reindex(range(30)).to_numpy()[:, None] + b_i.reindex(range(20)).to_numpy()
    assert np.corrcoef(fitted.ravel(), (3 + bu[:, None] + bi).ravel())[0, 1] > 0.99


def test_all_baselines_beat_the_mean(feature_set):
    fitted = {f.name: f for f in classical.run_all(feature_set, BASELINES, seed=0)}
    y = feature_set.table["rating"].to_numpy()[feature_set.rows("test")]
    rmse = {n: float(np.sqrt(np.mean((np.clip(f.test, 1, 5) - y) ** 2))) for n, f in fitted.items()}
    for name in ("user_item_bias", "tfidf_ridge", "tfidf_logreg", "lightgbm"):
        assert rmse[name] < rmse["mean_majority"], (name, rmse)
    assert fitted["tfidf_logreg"].test_classes is not None
    assert len(fitted["tfidf_ridge"].search) == 2


def test_selection_ignores_test_labels(feature_set):
    before = classical.run_all(feature_set, BASELINES, seed=0)
    table = feature_set.table.copy()
    test = table["split"] == "test"
    table.loc[test, "rating"] = np.random.default_rng(9).integers(1, 6, test.sum())
    feature_set.table = table
    after = classical.run_all(feature_set, BASELINES, seed=0)
    for a, b in zip(before, after, strict=True):
        assert a.selected == b.selected, a.name
        if a.name != "mean_majority":
            np.testing.assert_allclose(a.valid, b.valid)


def test_unknown_model_is_named(feature_set):
    with pytest.raises(ValueError, match="unknown \\['svm'\\]"):
        # the schema already rejects it: build the block unvalidated to reach run_all's check
        unvalidated = BaselineParams.model_construct(**{**RAW_BASELINES, "models": ["svm"]})
        classical.run_all(feature_set, unvalidated, seed=0)


def test_no_users_still_fits_item_biases(reviews):
    no_users = reviews.assign(user_id=pd.Series([None] * len(reviews), dtype="str"))
    fs, _ = build_features(no_users, make_splits(no_users, seed=0), CFG)
    fitted = classical.user_item_bias(fs, [3.0], "rmse")
    assert np.isfinite(fitted.test).all() and fitted.test.std() > 0


#: The params preprocess and audit read beyond split and features: the dataset's block (its
#: own dedupe / split) and the global dedupe key.
SHOP = {
    "datasets.shop": {
        "adapter": "generic",
        "path": "shop.csv",
        "columns": {"text": "t", "rating": "r"},
    },
    "dedupe": ["user_id", "item_id", "text"],
}


def test_preprocess_audit_and_baselines_stages_on_synthetic_reviews(reviews, tmp_path):
    """The three stage modules chained in a scratch project: each writes its files through
    the catalogue and returns what its notebook shows."""
    from reviewlab.core.artifacts import Catalogue
    from reviewlab.core.params import partial
    from reviewlab.stages import audit, baselines, preprocess
    from tests.test_features import RAW_CFG

    catalogue = Catalogue(tmp_path)
    catalogue.write_table(reviews, catalogue.reviews("shop"))
    values = {
        "seed": 0,
        "datasets.shop": {
            "adapter": "generic",
            "path": "shop.csv",
            "columns": {"text": "t", "rating": "r"},
        },
        "dedupe": ["user_id", "item_id", "text"],
        "split": {"strategy": "stratified", "valid_frac": 0.1, "test_frac": 0.2},
        "features": RAW_CFG,
        "audit": {
            "min_words": 3,
            "near_duplicate_cosine": 0.99,
            "max_same_user_duplicate_share": 0,
        },
        "baselines": RAW_BASELINES,
        "evaluation": evaluation_block(20, 0.9),
    }
    params = partial(values)

    pre = preprocess.run(params, "shop", catalogue)
    assert catalogue.read_metric("shop", "preprocess") == pre.report
    assert pre.report["split"] == {"train": 280, "valid": 40, "test": 80}
    assert pre.summary["rows"].sum() == len(pre.features.table) == len(reviews)

    checked = audit.run(params, "shop", catalogue)
    assert checked.report["leakage"] == [] and checked.report["label_probe"] == []
    assert catalogue.read_metric("shop", "audit") == checked.report

    result = baselines.run(params, "shop", catalogue)
    written = catalogue.read_metric("shop", "baselines")
    assert written["best_on_valid"] == result.best and result.best != "mean_majority"
    assert list(written["models"]) == RAW_BASELINES["models"] == list(result.table.index)
    assert "rmse_low" in written["models"]["tfidf_ridge"]["test"]
    folder = catalogue.baselines("shop")
    stored = pd.read_parquet(catalogue.predictions(folder))
    pd.testing.assert_frame_equal(stored, result.predictions)
    assert len(pd.read_csv(catalogue.search(folder))) == len(result.search) == 2 + 2 + 2
    _saved_models_score_new_reviews_as_in_the_stage(catalogue, reviews, stored)


def _saved_models_score_new_reviews_as_in_the_stage(catalogue, reviews, stored):
    """Each saved baseline, given the test reviews as new reviews (features recomputed from
    their text, history looked up in the training split), predicts what the stage stored."""
    import joblib

    from reviewlab.data.features import FeatureSet, featurize

    scorers = joblib.load(catalogue.scorers(catalogue.baseline_models("shop")))
    assert list(scorers) == RAW_BASELINES["models"]
    trained = FeatureSet.load(catalogue.features("shop"))
    test = stored[stored["split"] == "test"]
    ids = test.drop_duplicates("review_id")["review_id"]
    new = reviews.set_index("review_id").loc[ids].reset_index().drop(columns="rating")
    fs = featurize(new, trained, FeatureSet.load_vectorizers(catalogue.features("shop")))
    for name, scorer in scorers.items():
        estimate, classes = scorer.predict(fs, np.arange(len(new)))
        expected = test[test["model"] == name].set_index("review_id").loc[ids]
        np.testing.assert_allclose(estimate, expected["prediction"], rtol=0, atol=1e-9)
        assert (classes == expected["predicted_class"].to_numpy()).all(), name


def test_audit_stage_writes_its_report_then_fails_on_leakage(reviews, tmp_path):
    from reviewlab.core.artifacts import Catalogue
    from reviewlab.core.params import partial
    from reviewlab.data.leakage import LeakageError
    from reviewlab.stages import audit, preprocess
    from tests.test_features import RAW_CFG

    leaky = reviews.copy()  # one user repeats the same review on many items
    leaky.loc[:79, "user_id"] = "u0"
    leaky.loc[:79, "text"] = "the very same review text written again"
    catalogue = Catalogue(tmp_path)
    catalogue.write_table(leaky, catalogue.reviews("shop"))
    params = partial(
        {
            "seed": 0,
            **SHOP,
            "split": {"strategy": "stratified", "valid_frac": 0.1, "test_frac": 0.2},
            "features": RAW_CFG,
            "audit": {
                "min_words": 3,
                "near_duplicate_cosine": 0.9,
                "max_same_user_duplicate_share": 0,
            },
        }
    )
    preprocess.run(params, "shop", catalogue)
    with pytest.raises(LeakageError, match="shop: .*same user"):
        audit.run(params, "shop", catalogue)
    assert catalogue.read_metric("shop", "audit")["leakage"]
