"""Review files in the wild (issue #25): optional fields never cost a review, invisible and
control characters, JSON arrays given as JSON Lines, errors naming the path as written,
per-dataset de-duplication and splits for one text posted on several product variants."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewlab.core.compose import dedupe_key, split_config
from reviewlab.core.params import AuditParams, DatasetParams, Params, read_params
from reviewlab.data import leakage
from reviewlab.data.features import deduplicate, deduplicated_splits
from reviewlab.data.loaders import DataLoadError, load_reviews
from reviewlab.data.splits import make_splits

COLUMNS = {"text": "body", "rating": "stars", "timestamp": "when", "helpful_votes": "votes"}
TEXT_ONLY = {"text": "body", "rating": "stars"}


def generic(path: Path, columns: dict | None = None, **extra) -> DatasetParams:
    return DatasetParams(adapter="generic", path=str(path), columns=columns or COLUMNS, **extra)


def jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


# 1 ---------------------------------------------------------------- optional fields


def test_an_unparsable_optional_value_is_nulled_and_counted_not_quarantined(tmp_path):
    records = [
        {"body": "thousands", "stars": 5, "when": 1400000000, "votes": "1,341"},
        {"body": "negative votes", "stars": 4, "when": "2014-05-13", "votes": -2},
        {"body": "fractional votes", "stars": 3, "when": "2014-05-13T10:00:00", "votes": 1.5},
        {"body": "bad date", "stars": 2, "when": "next tuesday", "votes": "12"},
        {"body": "separator in the wrong place", "stars": 1, "when": None, "votes": "13,41"},
    ]
    result = load_reviews(generic(jsonl(tmp_path / "r.jsonl", records)), "wild")
    reviews = result.reviews
    assert len(reviews) == 5 and result.quality["rows_quarantined"] == 0
    assert reviews["helpful_votes"].tolist()[:1] == [1341]
    assert reviews["helpful_votes"].isna().tolist() == [False, True, True, False, True]
    assert reviews["timestamp"].isna().tolist() == [False, False, False, True, True]
    assert str(reviews["timestamp"][0].date()) == "2014-05-13"  # unix seconds still parse
    quality = result.quality
    assert quality["optional_nulled"] == {"timestamp": 1, "helpful_votes": 3, "total_votes": 0}
    assert quality["optional_nulled_examples"]["timestamp"] == [
        {"source_row": 4, "value": "next tuesday"}
    ]
    assert [e["value"] for e in quality["optional_nulled_examples"]["helpful_votes"]] == [
        "-2",
        "1.5",
        "13,41",
    ]


def test_strict_optional_quarantines_the_row_as_before(tmp_path):
    records = [
        {"body": "fine", "stars": 5, "when": 1400000000, "votes": "1,341"},
        {"body": "bad date", "stars": 2, "when": "next tuesday", "votes": 1},
    ]
    cfg = generic(jsonl(tmp_path / "r.jsonl", records), strict_optional=True, max_quarantine_rate=1)
    result = load_reviews(cfg, "wild")
    assert result.reviews["helpful_votes"].tolist() == [1341]  # separators parse in both modes
    assert result.quarantine[["source_row", "reason", "field"]].values.tolist() == [
        [2, "bad_value", "timestamp"]
    ]
    assert result.quality["optional_nulled"]["timestamp"] == 0


garbage = st.one_of(
    st.text(max_size=12),
    st.integers(-5, 10**7),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.sampled_from(["1,341", "12,345,678", "1,34", ",", "2014-13-45", "-0", "3.0"]),
)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(when=garbage, votes=garbage)
def test_optional_values_never_decide_a_rows_fate(tmp_path_factory, when, votes):
    path = tmp_path_factory.mktemp("opt") / "r.jsonl"
    jsonl(path, [{"body": "a real review", "stars": 4, "when": when, "votes": votes}])
    result = load_reviews(generic(path), "wild")
    assert len(result.reviews) == 1 and result.quality["rows_quarantined"] == 0
    row = result.reviews.iloc[0]
    nulled = result.quality["optional_nulled"]
    votes_given = votes is not None and str(votes).strip() != ""
    assert nulled["helpful_votes"] == int(votes_given and pd.isna(row["helpful_votes"]))
    if not pd.isna(row["helpful_votes"]):
        assert row["helpful_votes"] >= 0


# 3 ---------------------------------------------------------------- invisible and control text


@pytest.mark.parametrize("text", ["\u200b", " \ufeff\u200b\n", "\u2060\t", "\x00\x01 "])
def test_a_text_of_only_invisible_characters_is_missing_text(tmp_path, text):
    path = jsonl(tmp_path / "r.jsonl", [{"body": "ok", "stars": 5}, {"body": text, "stars": 5}])
    result = load_reviews(generic(path, TEXT_ONLY, max_quarantine_rate=1), "wild")
    assert result.quarantine["reason"].tolist() == ["missing_text"]
    assert len(result.reviews) == 1


def test_control_characters_are_removed_and_counted(tmp_path):
    records = [
        {"body": "nul\x00 inside\x07 and\ttab\nnewline", "stars": 5},
        {"body": "clean", "stars": 4},
        {"body": "zero\u200bwidth kept inside a real text", "stars": 3},
    ]
    result = load_reviews(generic(jsonl(tmp_path / "r.jsonl", records), TEXT_ONLY), "wild")
    assert result.reviews["text"].tolist() == [
        "nul inside and\ttab\nnewline",
        "clean",
        "zero\u200bwidth kept inside a real text",
    ]
    assert result.quality["control_characters_removed"] == {"title": 0, "text": 1}


# 4 ---------------------------------------------------------------- file shapes and paths


@pytest.mark.parametrize(
    "content",
    [
        '[{"body": "a", "stars": 5}, {"body": "b", "stars": 4}]\n',
        '[\n  {"body": "a", "stars": 5},\n  {"body": "b", "stars": 4}\n]\n',
    ],
)
def test_a_json_array_given_as_jsonl_says_so(tmp_path, content):
    (tmp_path / "data-local").mkdir()
    (tmp_path / "data-local" / "shop.jsonl").write_text(content)
    cfg = DatasetParams(adapter="generic", path="data-local/shop.jsonl", columns=TEXT_ONLY)
    with pytest.raises(DataLoadError) as err:
        load_reviews(cfg, "shop", root=tmp_path)
    message = str(err.value)
    assert message.startswith("data-local/shop.jsonl:1: the file is a JSON array")
    assert "JSON Lines" in message and "jq -c" in message and str(tmp_path) not in message


def test_errors_name_the_path_as_written_in_params(tmp_path):
    cfg = DatasetParams(adapter="generic", path="data-local/nope.csv", columns=COLUMNS)
    with pytest.raises(DataLoadError, match=r"^data-local/nope.csv: file not found"):
        load_reviews(cfg, "shop", root=tmp_path)
    (tmp_path / "data-local").mkdir()
    (tmp_path / "data-local" / "bad.csv").write_text("body,stars\nx,9\ny,8\n")
    cfg = DatasetParams(adapter="generic", path="data-local/bad.csv", columns=TEXT_ONLY)
    with pytest.raises(DataLoadError) as err:
        load_reviews(cfg, "shop", root=tmp_path)
    assert str(err.value).startswith("data-local/bad.csv: 2 of 2 rows")
    assert str(tmp_path) not in str(err.value)


# 2 ---------------------------------------------------------------- cross-variant duplicates


def variants(n_users: int = 30, per_user: int = 4) -> pd.DataFrame:
    """Each user posts each text on two variants (item ids) of one product."""
    rows = []
    for u in range(n_users):
        for k in range(per_user):
            text = f"user {u} says review number {k} is about this product in detail"
            for variant in ("a", "b"):
                rows.append(
                    {
                        "user_id": f"u{u}",
                        "item_id": f"p{u % 7}{variant}",
                        "text": text,
                        "rating": 1 + (u + k) % 5,
                    }
                )
    return pd.DataFrame(rows)


def test_a_dataset_level_dedupe_key_removes_cross_variant_repeats():
    reviews = variants()
    kept, repeats = deduplicate(reviews)  # the global key: (user, item, text)
    assert len(repeats) == 0
    kept, repeats = deduplicate(reviews, ["user_id", "text"])
    assert len(kept) == len(repeats) == len(reviews) // 2
    assert not kept.duplicated(["user_id", "text"]).any()


def test_cold_start_item_keeps_held_out_items_out_of_training():
    reviews = variants()
    split = make_splits(reviews, "cold_start_item", 0.2, 0.2, seed=3)
    train_items = set(reviews.loc[split == "train", "item_id"])
    assert not set(reviews.loc[split != "train", "item_id"]) & train_items
    assert (split == "test").any() and (split == "valid").any()


def _params(**dataset) -> Params:
    raw = read_params()
    raw["datasets"]["shop"] = {
        "adapter": "generic",
        "path": "x.csv",
        "columns": {"text": "t", "rating": "r"},
        **dataset,
    }
    return Params.model_validate(raw)


def test_dataset_settings_fall_back_to_the_global_ones():
    plain = _params()
    assert dedupe_key(plain, "shop") == ["user_id", "item_id", "text"]
    assert split_config(plain, "shop") == plain.split
    own = _params(dedupe=["user_id", "text"], split={"strategy": "cold_start_item"})
    assert dedupe_key(own, "shop") == ["user_id", "text"]
    merged = split_config(own, "shop")
    assert merged.strategy == "cold_start_item" and merged.test_frac == plain.split.test_frac


def test_the_audit_names_the_setting_that_fixes_cross_variant_leakage():
    reviews = variants()
    kept, _, split = deduplicated_splits(
        reviews, ["user_id", "item_id", "text"], _params().split, seed=0
    )
    table = kept.assign(split=split.to_numpy(), doc=kept["text"])
    dups = leakage.exact_duplicates(table, min_words=5).to_dict(orient="records")
    report = {
        "shared": [{"review_id_shared": 0, "user_id_shared": 0, "item_id_shared": 0}],
        "exact_duplicates": dups,
        "label_probe": [],
    }
    problems = leakage.verdict(
        report,
        "stratified",
        AuditParams(min_words=5, near_duplicate_cosine=0.9, max_same_user_duplicate_share=0.005),
        "shop",
    )
    said = "; ".join(problems)
    assert problems and said.count("datasets.shop.dedupe: [user_id, text]") == 1  # once
    assert "datasets.shop.split: {strategy: cold_start_user}" in problems[-1]
    kept, repeats, split = deduplicated_splits(reviews, ["user_id", "text"], _params().split, 0)
    table = kept.assign(split=split.to_numpy(), doc=kept["text"])
    fixed = leakage.exact_duplicates(table, min_words=5)
    assert fixed["same_user"].sum() == 0 and len(repeats) == len(reviews) // 2
