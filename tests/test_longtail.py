"""Long-tail buckets: thresholds by cumulative share, training rows only, errors per bucket."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reviewlab.studies.tail import assign_buckets, popularity_buckets, tail_gap
from tests.conftest import evaluation_block


def test_buckets_follow_cumulative_share_of_training_reviews():
    counts = pd.Series({"a": 50, "b": 30, "c": 10, "d": 5, "e": 5, "f": 0})
    buckets = popularity_buckets(counts, [0.3333, 0.6667])
    # shares of reviews before each item: a 0, b .5, c .8, d .9, e .95
    assert buckets.to_dict() == {
        "a": "head",
        "b": "torso",
        "c": "tail",
        "d": "tail",
        "e": "tail",
        "f": "tail",
    }


def test_bad_shares_are_rejected():
    with pytest.raises(ValueError, match="increasing"):
        popularity_buckets(pd.Series({"a": 1}), [0.7, 0.3])


def test_only_training_rows_count_towards_popularity():
    table = pd.DataFrame(
        {
            "item_id": ["x"] * 6 + ["y"] * 2 + ["z"] * 8,
            "split": ["train"] * 6 + ["train"] * 2 + ["test"] * 8,
        }
    )
    buckets = assign_buckets(table, "item_id", [0.5, 0.9])
    assert buckets.iloc[0] == "head"  # 6 of 8 training reviews
    assert buckets.iloc[-1] == "tail"  # z: many test reviews, none in training


def test_anonymous_users_get_no_bucket():
    table = pd.DataFrame({"user_id": ["u", None, "u"], "split": ["train", "train", "test"]})
    buckets = assign_buckets(table, "user_id", [0.3, 0.6])
    assert buckets.iloc[0] == "head" and pd.isna(buckets.iloc[1])


def test_tail_gap_is_tail_minus_head_and_skips_missing_buckets():
    errors = pd.DataFrame(
        {
            "by": ["item"] * 5,
            "model": ["m1", "m1", "m1", "m2", "m2"],
            "bucket": pd.Categorical(
                ["head", "torso", "tail", "torso", "tail"], ["head", "torso", "tail"]
            ),
            "rmse": [0.5, 0.7, 1.0, 0.6, 0.9],
        }
    )
    gap = tail_gap(errors)
    assert gap["model"].tolist() == ["m1"]
    assert gap["tail_minus_head_rmse"].iloc[0] == pytest.approx(0.5)
    assert np.isfinite(gap["tail_minus_head_rmse"]).all()


def _write_predictions(folder, table: pd.DataFrame, model: str) -> None:
    """A model's predictions in the layout every rating stage writes (``split`` column)."""
    folder.mkdir(parents=True)
    rows = table.assign(model=model, prediction=table["rating"] + 0.5, predicted_class=4)
    rows.to_parquet(folder / "predictions.parquet", index=False)


def test_stage_scores_the_baselines_and_the_finetune_of_its_dataset(tmp_path):
    from reviewlab.core.artifacts import Catalogue
    from reviewlab.core.io import read_json
    from reviewlab.core.params import partial
    from reviewlab.stages import longtail

    catalogue = Catalogue(tmp_path)
    table = pd.DataFrame(
        {
            "review_id": [f"r{i}" for i in range(8)],
            "user_id": ["u1", "u1", "u2", "u3", "u1", "u2", "u3", "u4"],
            "item_id": ["a", "a", "a", "b", "a", "b", "c", "c"],
            "split": ["train"] * 4 + ["test"] * 4,
            "rating": [5, 4, 5, 3, 4, 2, 1, 5],
        }
    )
    catalogue.write_table(table, catalogue.features_table("shop"))
    _write_predictions(catalogue.baselines("shop"), table, "mean_majority")
    _write_predictions(catalogue.finetune("shop"), table, "finetune")
    shares = [0.5, 0.9]
    common = {"seed": 0, "longtail.shares": shares, "evaluation": evaluation_block(20)}
    here = longtail.run(partial(common), "shop", catalogue)
    assert set(here.errors["model"]) == {"mean_majority", "finetune"}
    assert here.errors["n"].sum() == 2 * 2 * 4  # test rows x models x groupings (item, user)
    written = read_json(catalogue.metric("shop", "longtail"))
    assert written["shares"] == shares and len(written["errors"]) == len(here.errors)
    versus = {(v["by"], v["bucket"], v["model"]) for v in written["vs_training_mean"]}
    assert ("item", "tail", "finetune") in versus or ("item", "head", "finetune") in versus
