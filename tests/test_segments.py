"""Customer segmentation: training-only profiles, choice of k, distinctive terms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from reviewlab.reporting.prose import structure
from reviewlab.studies.segmentation import choose_k, distinctive_terms, user_profiles


def test_profiles_hold_behaviour_and_unit_mean_embeddings():
    train = pd.DataFrame(
        {
            "review_id": ["a", "b", "c"],
            "user_id": ["u", "u", "v"],
            "rating": [5, 3, 1],
            "helpful_votes": [2.0, 1.0, 0.0],
            "timestamp": pd.to_datetime(["2020-01-01", "2020-01-11", "2020-03-01"]),
        }
    )
    embeddings = pd.DataFrame([[1.0, 0.0], [0.0, 1.0], [3.0, 4.0]], index=["a", "b", "c"])
    profiles = user_profiles(train, embeddings)
    u = profiles.loc["u"]
    assert (u["reviews"], u["mean_rating"], u["rating_std"]) == (2, 4.0, 1.0)
    assert (u["helpful_votes"], u["tenure_days"]) == (3.0, 10.0)
    assert u[["e0", "e1"]].to_numpy() == pytest.approx([2**-0.5, 2**-0.5])
    assert profiles.loc["v", ["e0", "e1"]].to_numpy() == pytest.approx([0.6, 0.8])


def test_choose_k_finds_three_separated_groups():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    x = np.vstack([c + rng.normal(0, 0.5, (40, 2)) for c in centres])
    k, table = choose_k(x, [2, 3, 4, 5], seed=0)
    assert k == 3 and table["silhouette"].max() > 0.8
    assert structure(table["silhouette"].max()) == "strong structure"
    assert structure(0.06).startswith("no substantial structure")


def test_distinctive_terms_are_those_above_the_average():
    rows = [[1.0, 0, 0.1, 2.0], [1.0, 0, 0.1, 2.0], [0, 1.0, 0.1, 0], [0, 1.0, 0.1, 0]]
    tfidf = sp.csr_matrix(np.array(rows))
    labels = pd.Series([0, 1], index=["u", "v"])
    vocabulary = np.array(["guitar", "drum", "great", "the"])  # "the": a stop word, skipped
    terms = distinctive_terms(tfidf, vocabulary, np.array(["u", "u", "v", "v"]), labels, 1)
    assert terms == {0: ["guitar"], 1: ["drum"]}
