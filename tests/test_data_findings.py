"""Findings of the data stages: the facts each report states follow the stage's numbers, and
every template phrases them without blanks.

Each test builds small stand-ins of a stage's results and checks the *facts* (numbers and
verdicts), not the wording; one render test per template checks the words are complete.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from reviewlab.reporting import data_findings as df


def text(findings) -> str:
    return " ".join(findings.summary) + " " + findings.conclusion


def assert_complete(findings, bullets: tuple[int, int] = (3, 6)) -> None:
    """Rendered findings: a bullet count in range, a conclusion, no blank or missing value."""
    assert bullets[0] <= len(findings.summary) <= bullets[1] and findings.conclusion
    for word in ("None", "nan", "  ", " .", " ,", "( "):
        assert word not in text(findings), word


# ---------------------------------------------------------------- helpers


def test_spearman_ci_brackets_the_estimate_and_narrows_with_more_pairs():
    low, high = df.spearman_ci(0.3, 50)
    assert low < 0.3 < high
    wide, narrow = high - low, np.subtract(*df.spearman_ci(0.3, 5000)[::-1])
    assert narrow < wide
    assert df.spearman_ci(0.3, 3) == (None, None)
    assert df.spearman_ci(float("nan"), 100) == (None, None)


def test_key_values_format_numbers_for_readers():
    table = df.key_values({"n_rows": 12345, "share": 0.123456, "nested": {"a_b": 2.0}, "x": None})
    assert table["value"].tolist() == ["12,345", "0.123", "2", "-"]  # None: not measurable
    assert table.index.tolist() == ["n rows", "share", "nested a b", "x"]
    assert df.key_values({"rho": float("nan")})["value"].tolist() == ["-"]


# ---------------------------------------------------------------- data stages


def quality(read: int, loaded: int, held: int, users: int = 40, **extra) -> dict:
    return {
        "file": "/abs/path/to/data/reviews.csv",
        "rows_read": read,
        "rows_loaded": loaded,
        "rows_quarantined": held,
        "quarantine_rate": held / read,
        "by_reason": {"missing_text": held, "non_utf8": 0},
        "optional_nulled": {"timestamp": 0, "helpful_votes": 0, "total_votes": 0},
        "control_characters_removed": {"title": 0, "text": 0},
        "n_users": users,
        "n_items": 20,
        **extra,
    }


@pytest.mark.parametrize(("read", "loaded", "held"), [(1000, 990, 10), (2500, 2000, 500)])
def test_ingest_facts_follow_the_counts(read, loaded, held):
    facts = df.ingest_facts(quality(read, loaded, held))
    assert (facts["read"], facts["loaded"], facts["held"], facts["missing"]) == (
        read, loaded, held, 0,
    )  # fmt: skip
    assert facts["held_share"] == held / read and facts["loaded_share"] == loaded / read
    assert facts["reasons"] == {"missing text": held}  # zero reasons left out
    assert facts["file"] == "reviews.csv"  # no machine path
    assert facts["per_user"] == loaded / 40 and facts["kept"] == loaded
    found = df.ingest(SimpleNamespace(quality=quality(read, loaded, held)))
    assert_complete(found, (3, 5))
    assert found.conclusion.startswith("Yes")


def test_ingest_flags_unaccounted_rows_missing_users_and_the_subsample():
    facts = df.ingest_facts(quality(1000, 900, 50, users=0, rows_subsampled_to=300))
    assert facts["missing"] == 50 and facts["users"] == 0 and facts["kept"] == 300
    found = df.ingest(SimpleNamespace(quality=quality(1000, 900, 50, users=0)))
    assert_complete(found)
    assert found.conclusion.startswith("Not entirely")


def eda_summary(shares: dict[str, float], tokens: bool = True) -> dict:
    out = {
        "n_reviews": 5000,
        "n_users": 700,
        "n_items": 90,
        "mean_rating": 3.9,
        "rating_share": shares,
        "words_median": 41.0,
        "words_p95": 300.0,
        "item_gini": 0.61,
        "item_reviews_median": 7.0,
    }
    if tokens:
        out |= {
            "tokens_median": 55.0,
            "tokens_p95": 410.4,
            "share_over_128_tokens": 0.3,
            "share_over_256_tokens": 0.12,
            "share_over_512_tokens": 0.01,
        }
    return out


def test_eda_facts_name_the_majority_star_and_the_lengths():
    shares = {"1": 0.05, "2": 0.05, "3": 0.1, "4": 0.5, "5": 0.3}
    facts = df.eda_facts(eda_summary(shares))
    assert (facts["top"], facts["top_share"]) == (4, 0.5)
    assert facts["low_share"] == pytest.approx(0.1) and facts["over_256"] == 0.12
    assert_complete(df.eda(SimpleNamespace(summary=eda_summary(shares))), (4, 4))
    other = df.eda_facts(eda_summary({"1": 0.7, "5": 0.3}, tokens=False))
    assert (other["top"], other["tokens_median"], other["over_256"]) == (1, None, None)
    found = df.eda(SimpleNamespace(summary=eda_summary({"1": 0.7, "5": 0.3}, tokens=False)))
    assert_complete(found, (4, 4))
    assert "1 star " in text(found)  # singular


def feature_result(constant: bool) -> SimpleNamespace:
    rng = np.random.default_rng(0)
    n = 200
    rating = rng.integers(1, 6, n)
    table = pd.DataFrame(
        {
            "split": ["train"] * 160 + ["valid"] * 20 + ["test"] * 20,
            "rating": rating,
            "signal": rating + rng.normal(0, 1.5, n),
            "noise": rng.normal(size=n),
            "flat": np.ones(n) if constant else rng.normal(size=n),
            "user_id": ["u"] * n,
        }
    )
    features = SimpleNamespace(table=table, dense_columns=["signal", "noise", "flat"])
    summary = pd.DataFrame(
        {"rows": [160, 20, 20], "mean_rating": [3.0, 3.1, 2.9], "share_5": [0.2, 0.25, 0.2]},
        index=pd.Index(["train", "valid", "test"], name="split"),
    )
    report = {
        "rows_in": 203,
        "dedupe_key": ["user_id", "item_id", "text"],
        "duplicates_removed": 3,
        "rows_out": 200,
        "split": {"train": 160, "valid": 20, "test": 20},
        "user_seen_in_train": {"valid": 0.9, "test": 0.85},
        "item_seen_in_train": {"valid": 0.7, "test": 0.65},
        "n_features": {"dense": 3, "tfidf_word": 1000, "tfidf_char": 500},
    }
    return SimpleNamespace(features=features, summary=summary, report=report, duplicates=None)


def test_preprocess_skips_constant_features_without_a_warning_and_names_them():
    result = feature_result(constant=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's ConstantInputWarning would raise here
        corr, constant = df.rating_correlations(result.features)
        facts = df.preprocess_facts(result)
        found = df.preprocess(result)
    assert constant == ["flat"] and "flat" not in corr.index
    assert facts["constant"] == ["flat"] and facts["top"] == "signal"
    train = result.features.table.iloc[:160]
    rho = train["signal"].corr(train["rating"], method="spearman")
    low, high = facts["top_rho"][1:]
    assert facts["top_rho"][0] == pytest.approx(rho) and low < rho < high
    assert (facts["rows_in"], facts["rows_out"], facts["duplicates"]) == (203, 200, 3)
    assert facts["spread"] == pytest.approx(5.0)  # share_5: 0.25 vs 0.2, percentage points
    assert facts["user_seen"]["test"] == 0.85 and facts["suspicious"] == []
    assert facts["tfidf"] == {"word": 1000, "char": 500}
    assert_complete(found, (4, 4))
    assert df.preprocess_facts(feature_result(constant=False))["constant"] == []


def test_preprocess_flags_a_suspiciously_perfect_feature():
    result = feature_result(constant=False)
    result.features.table["signal"] = result.features.table["rating"]
    assert df.preprocess_facts(result)["suspicious"] == ["signal"]
    result.features.table["user_id"] = None
    assert df.preprocess_facts(result)["user_seen"] is None
    assert_complete(df.preprocess(result), (4, 4))


def audit_report(strategy: str = "stratified", temporal: int | None = 2051, leakage=()) -> dict:
    report = {
        "strategy": strategy,
        "shared": [
            {"split": s, "rows": 1000, "review_id_shared": 0, "user_id_shared": 800}
            | {"user_id_shared_share": 0.8, "item_id_shared": 990, "item_id_shared_share": 0.99}
            for s in ("valid", "test")
        ],
        "exact_duplicates": [
            {"pair": "train-test", "duplicate_texts": 4, "same_user": 1, "same_user_share": 0.001}
        ],
        "near_duplicates": [{"pair": "train-test", "near_duplicates": 6}],
        "near_duplicates_same_user": 2,
        "label_probe": [],
        "leakage": list(leakage),
    }
    if temporal is not None:
        report["temporal_violations"] = temporal
    return report


@pytest.mark.parametrize("count", [2051, 17])
def test_audit_counts_temporal_violations(count):
    report = audit_report(temporal=count)
    facts = df.audit_facts(report)
    assert (facts["temporal"], facts["held_out"]) == (count, 2000)
    assert facts["temporal_share"] == count / 2000 and facts["leakage"] == []
    assert (facts["duplicate_texts"], facts["same_user"], facts["near"]) == (4, 1, 6)
    assert_complete(df.audit(SimpleNamespace(report=report)), (4, 4))
    checks = df.audit_checks(report)
    row = checks.loc["held-out reviews older than the newest training review"]
    assert row["found"] == f"{count:,} of 2,000" and "temporal" in row["what it means"]


@pytest.mark.parametrize("strategy", ["stratified", "cold_start_user", "cold_start_item"])
def test_audit_without_timestamps_and_with_leakage(strategy):
    report = audit_report(strategy, temporal=None)
    assert df.audit_facts(report)["temporal"] is None
    assert_complete(df.audit(SimpleNamespace(report=report)), (3, 3))
    assert "older than the newest" not in " ".join(df.audit_checks(report).index)
    leaking = audit_report("temporal", 5, ["temporal split: 5 held-out reviews predate training"])
    found = df.audit(SimpleNamespace(report=leaking))
    assert df.audit_facts(leaking)["leakage"] == leaking["leakage"]
    assert found.conclusion.startswith("Yes") and "5 held-out reviews" in found.conclusion


def test_a_dataset_without_user_ids_has_no_user_count():
    from reviewlab.data import profiling
    from tests.conftest import synthetic_reviews

    reviews = synthetic_reviews(50).assign(user_id=None)
    length = pd.DataFrame({"words": reviews["text"].str.split().str.len()})
    assert profiling.summary(reviews, length)["n_users"] is None
