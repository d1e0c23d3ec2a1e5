"""Top-N recommendation: protocol, ranking metrics on hand-made lists, no test leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from reviewlab.core.evaluation.inference import Design
from reviewlab.core.params import EvaluationParams, RecommendParams
from reviewlab.reporting.results import versus_als_facts
from reviewlab.studies import recommenders
from tests.conftest import evaluation_block


def _reviews(n_users: int = 30, n_items: int = 20, per_user: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        for j, item in enumerate(rng.choice(n_items, per_user, replace=False)):
            rows.append(
                {
                    "review_id": f"r{u}-{j}",
                    "user_id": f"u{u}",
                    "item_id": f"i{item}",
                    "timestamp": pd.Timestamp("2020-01-01") + pd.Timedelta(days=int(j)),
                }
            )
    return pd.DataFrame(rows)


def test_leave_last_out_uses_time_then_review_id():
    reviews = pd.DataFrame(
        {
            "review_id": ["a", "b", "c", "d", "e"],
            "user_id": ["u", "u", "u", "u", "v"],
            "timestamp": pd.to_datetime(
                ["2020-01-03", "2020-01-01", "2020-01-03", "2020-01-02", "2020-01-01"]
            ),
        }
    )
    role = recommenders.leave_last_out(reviews)
    assert role.tolist() == ["valid", "train", "test", "train", "test"]


def test_hits_and_ndcg_on_hand_made_rankings():
    recommended = np.array([[3, 1, 2], [0, 1, 2], [5, 6, 7]])
    targets = np.array([3, 2, 9])
    recall, ndcg = recommenders.hits(recommended, targets)
    assert recall.tolist() == [1.0, 1.0, 0.0]
    assert ndcg == pytest.approx([1.0, 1 / np.log2(4), 0.0])


def test_top_n_never_recommends_seen_items():
    scores = np.array([[5.0, 4.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
    seen = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 0, 1]]))
    assert recommenders.top_n(scores, seen, k=2).tolist() == [[1, 3], [2, 1]]


def test_coverage_and_tail_share():
    lists = np.array([[0, 1], [0, 2]])
    buckets = np.array(["head", "tail", "tail", "torso"])
    result = recommenders.evaluate_lists(lists, np.array([1, 3]), buckets)
    assert result["coverage"] == 0.75 and result["tail_share"] == 0.5
    assert result["all"]["recall"] == 0.5 and result["tail"]["users"] == 1


def test_held_out_interactions_never_reach_any_model():
    """Changing the test interactions (their items and their review embeddings) must not
    change a single recommendation list: nothing of them is in any training matrix."""
    reviews = _reviews()
    role = recommenders.leave_last_out(reviews)
    rng = np.random.default_rng(1)
    embeddings = pd.DataFrame(rng.normal(size=(len(reviews), 8)), index=reviews["review_id"])
    cfg = RecommendParams(als_factors=[4], als_regularization=[0.1], hybrid_alpha=[0.5])
    ci = EvaluationParams(**evaluation_block(50))
    result = recommenders.run(reviews, embeddings, cfg, [0.3, 0.6], 0, ci)

    is_test = (role == "test").to_numpy()
    changed = reviews.copy()
    changed.loc[is_test, "item_id"] = np.roll(changed.loc[is_test, "item_id"].to_numpy(), 1)
    other = embeddings.copy()
    other.iloc[is_test] = rng.normal(size=(is_test.sum(), 8))
    again = recommenders.run(changed, other, cfg, [0.3, 0.6], 0, ci)
    assert set(result["models"]) == {"popularity", "als", "content", "hybrid"}
    assert not {"protocol", "findings"} & set(result)  # numbers only: words at render time
    for name in result["lists"]:
        assert result["lists"][name] == again["lists"][name], name


def test_recommendations_exclude_the_users_fitting_items():
    reviews = _reviews(seed=2)
    role = recommenders.leave_last_out(reviews)
    embeddings = pd.DataFrame(
        np.random.default_rng(0).normal(size=(len(reviews), 8)), index=reviews["review_id"]
    )
    cfg = RecommendParams(als_factors=[4], als_regularization=[0.1], hybrid_alpha=[0.5])
    result = recommenders.run(
        reviews, embeddings, cfg, [0.3, 0.6], 0, EvaluationParams(**evaluation_block(20, 0.9))
    )
    items = pd.Index(sorted(reviews["item_id"].unique()))
    fit = reviews[role != "test"]
    test_users = reviews.loc[role == "test", "user_id"].tolist()
    for name, lists in result["lists"].items():
        for user, top in zip(test_users, lists, strict=True):
            seen = set(items.get_indexer(fit.loc[fit["user_id"] == user, "item_id"]))
            assert not seen & set(top), (name, user)


def test_paired_differences_and_their_facts_come_from_the_lists():
    targets = np.array([0, 1, 2, 3])
    buckets = np.array(["head", "head", "tail", "tail"] + ["torso"] * 6)
    lists = {
        "als": np.array([[0, 9], [1, 9], [9, 8], [9, 8]]),  # hits the head users only
        "hybrid": np.array([[0, 9], [1, 9], [2, 9], [3, 9]]),  # hits everyone at rank 1
    }
    design = Design(n_resamples=100)
    diffs = recommenders.paired_differences(lists, targets, buckets, "als", design, 0.005)
    assert diffs["hybrid"]["head"]["ndcg_difference"] == 0.0
    assert diffs["hybrid"]["tail"]["ndcg_difference"] == 1.0
    assert diffs["hybrid"]["all"]["ndcg_difference"] == 0.5
    models = {n: recommenders.evaluate_lists(t, targets, buckets) for n, t in lists.items()}
    facts = versus_als_facts({"models": models, "vs_als": diffs, "k": 10})
    (hybrid,) = facts["models"]
    assert hybrid["name"] == "hybrid" and list(hybrid["groups"]) == ["all", "head", "tail"]
    assert hybrid["groups"]["all"]["difference"][0] == 0.5
    assert hybrid["groups"]["tail"]["difference"][0] == 1.0
    assert hybrid["groups"]["tail"]["verdict"] == "better"
    assert hybrid["groups"]["head"]["verdict"] == "equivalent"
    assert (hybrid["tail_share"], hybrid["coverage"]) == (0.25, 0.5)
    assert facts["reference"] == {"name": "als", "tail_share": 0.0, "coverage": 0.4}
