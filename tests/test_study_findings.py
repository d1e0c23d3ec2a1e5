"""Generated findings of the stage reports follow the numbers of the results they are given.

Each test builds small stand-ins of a stage's ``Result`` (``SimpleNamespace``) and checks that
the sentences carry the input's numbers, so a number typed into a sentence would fail when the
inputs change.
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from reviewlab.reporting import data_findings as df
from reviewlab.reporting import study_findings as sf


def text(findings) -> str:
    return " ".join(findings.summary) + " " + findings.conclusion


# ---------------------------------------------------------------- helpers


def longtail_result(tail_rmse: dict[str, float], users: bool = True) -> SimpleNamespace:
    rows = []
    for model, tail in tail_rmse.items():
        for bucket, rmse, n in (("head", 0.5, 30), ("torso", 0.6, 20), ("tail", tail, 50)):
            rows.append({"by": "item", "model": model, "bucket": bucket, "n": n, "rmse": rmse})
            if users:
                rows.append({"by": "user", "model": model, "bucket": bucket, "n": n, "rmse": 0.5})
    errors = pd.DataFrame(rows).assign(mae=lambda f: f["rmse"] / 2)
    gap = errors.pivot_table(index=["by", "model"], columns="bucket", values="rmse")
    gap = (gap["tail"] - gap["head"]).rename("tail_minus_head_rmse").reset_index()
    return SimpleNamespace(errors=errors, gap=gap)


def test_longtail_findings_follow_the_gaps():
    found = sf.longtail(longtail_result({"a": 0.9, "b": 0.7}))
    words = text(found)
    assert "2 of 2 models" in words and "+0.200 to +0.400" in words
    assert (
        "smallest for `b` and largest for `a`" in words
        and "`b` on tail items (RMSE 0.700)" in words
    )
    assert found.conclusion.startswith("On the long tail") and "tail 50" in found.conclusion
    mixed = sf.longtail(longtail_result({"a": 0.9, "b": 0.4}, users=False))
    assert mixed.conclusion.startswith("Partly") and "no user ids" in text(mixed)
    assert sf.longtail(longtail_result({"a": 0.3})).conclusion.startswith("Not on the long tail")


def entry(ndcg: float, tail_share: float) -> dict:
    bounds = {"ndcg": ndcg, "ndcg_low": ndcg - 0.01, "ndcg_high": ndcg + 0.01, "recall": 0.1}
    return {
        "all": bounds,
        "tail": bounds,
        "head": bounds,
        "coverage": 0.4,
        "tail_share": tail_share,
    }


def recommend_result(content_tail: float, head_high: float) -> SimpleNamespace:
    verdict = "worse" if head_high < 0 else "inconclusive"
    diff = {"ndcg_difference": -0.02, "low": -0.04, "high": head_high, "verdict": verdict}
    metrics = {
        "k": 10,
        "users": 1429,
        "items": 900,
        "item_buckets": {"tail": 569, "torso": 253, "head": 78},
        "models": {"als": entry(0.044, 0.036), "content": entry(0.024, content_tail)},
        "vs_als": {"content": {"all": diff, "tail": diff, "head": diff}},
    }
    return SimpleNamespace(metrics=metrics)


def test_recommend_findings_answer_with_the_tail_share_and_the_head_cost():
    found = sf.recommend(recommend_result(0.286, head_high=-0.01))
    words = text(found)
    assert "569 tail, 253 torso, 78 head" in words and "`als` has the highest NDCG@10" in words
    assert "content 28.6%" in words and "als 3.6%" in words
    assert found.conclusion.startswith("Yes") and "at a cost (worse)" in found.conclusion
    assert "-0.020 [-0.040, -0.010] (worse)" in words
    other = sf.recommend(recommend_result(0.01, head_high=0.01))
    assert (
        other.conclusion.startswith("No")
        and "with no cost shown (inconclusive)" in other.conclusion
    )


def task(name: str, finetune_f1: float, collapsed: bool, binary: bool = False) -> dict:
    """A task's metrics: a fine-tune that failed (collapsed onto a rare class) or not, a
    working TF-IDF model and the majority class, with their comparisons to the majority."""

    def model(f1: float, **extra) -> dict:
        return {"macro_f1": f1, "macro_f1_low": f1 - 0.02, "macro_f1_high": f1 + 0.02} | extra

    failure = {"failed": True, "failure": "collapsed_onto_rare_class", "base_rate": 0.3}
    tuned = failure if collapsed else {"failed": False, "failure": None}

    def versus(model_name: str, f1: float) -> dict:
        verdict = "better" if f1 > 0.2 else "inconclusive"
        numbers = {"difference": f1 - 0.154, "low": f1 - 0.2, "high": f1 - 0.1}
        names = {"model": model_name, "reference": "majority", "metric": "macro_f1"}
        return names | numbers | {"verdict": verdict}

    return {
        "task": name,
        "dataset": "clothing",
        "test_rows": 500,
        "classes": None if binary else ["18-34", "35-49", "50-64"],
        "models": {
            "finetune": model(finetune_f1, majority_share=0.97 if collapsed else 0.5)
            | {"majority_prediction": 1}
            | tuned,
            "tfidf_logreg": model(0.36, majority_share=0.4, failed=False),
            "majority": model(0.154, majority_share=1.0, majority_prediction=1, failed=False),
        },
        "comparisons": {
            "vs_majority": [versus("finetune", finetune_f1), versus("tfidf_logreg", 0.36)]
        },
    }


def segments_result(age_group: dict, low_segment_rating: float) -> SimpleNamespace:
    table = pd.DataFrame(
        {
            "users": [60, 40],
            "share": [0.6, 0.4],
            "reviews": [2.0, 9.5],
            "mean_rating": [4.6, low_segment_rating],
            "distinctive_terms": ["strings, tuner", "pedal, amp"],
        },
        index=pd.Index([0, 1], name="segment"),
    )
    search = pd.DataFrame({"k": [2, 3, 4], "silhouette": [0.21, 0.18, 0.12]})
    return SimpleNamespace(
        k=2,
        structure="no substantial structure",
        search=search,
        labels=pd.Series([0] * 60 + [1] * 40),
        table=table,
        age_group=age_group,
    )


def test_segments_findings_name_the_collapsed_model_and_the_segments():
    found = sf.segments(segments_result(task("age_group", 0.154, collapsed=True), 3.9))
    words = text(found)
    assert "100 users" in words and "silhouette 0.210, the highest of k = [2, 3, 4]" in words
    assert "Segment 1 (40% of users, mean 3.90 stars" in words
    assert "`finetune` on `age_group` (predicts 35-49 for 97% of test rows" in words
    assert "`tfidf_logreg`" in found.conclusion and ": better" in found.conclusion
    fine = sf.segments(segments_result(task("age_group", 0.3, collapsed=False), 4.8))
    assert "Failed" not in text(fine) and "Segment 0 (60% of users" in text(fine)
    assert "0.300 [0.280, 0.320]" in text(fine)


def test_opinions_findings_cover_tasks_collapse_and_aspect_agreement():
    tasks = {
        "recommended": task("recommended", 0.8, collapsed=False, binary=True),
        "polarity": task("polarity", 0.154, collapsed=True, binary=True),
    }
    products = {
        "a": pd.DataFrame({"verdict": ["pro", "con"]}),
        "b": pd.DataFrame({"verdict": ["pro"]}),
    }
    agreement = {
        "review_aspect_pairs": 3903,
        "spearman_review_aspect": 0.1861,
        "item_aspect_pairs": 386,
        "spearman_item_aspect": 0.2,
        "mean_stars_praised": 4.2718,
        "mean_stars_criticised": 3.4965,
    }
    result = SimpleNamespace(
        tasks=tasks,
        aspects={"Tops": ["size", "color"], "Dresses": ["dress"]},
        mentions=pd.DataFrame({"sentence": ["x"] * 1234}),
        agreement=agreement,
        products=products,
    )
    found = sf.opinions(result)
    assert 3 <= len(found.summary) <= 5
    words = text(found)
    assert "`finetune` on `polarity` (predicts 1 for 97% of test rows" in words
    assert "recommended" not in words.split("Failed")[1].split(".")[0]
    assert "3 aspect terms over 2 categories, mentioned 1,234 times" in words
    low, high = df.spearman_ci(0.1861, 3903)
    assert f"+0.186 [{low:+.3f}, {high:+.3f}]" in words and "4.27 stars" in words
    assert "1 have at least one con" in words
    assert "weakly (the CI excludes 0)" in found.conclusion
    assert sf.aspects_table(result.aspects).loc["Tops", "aspect terms"] == "size, color"
