"""Generated findings of the stage reports follow the numbers of the results they are given.

Each test builds small stand-ins of a stage's ``Result`` (``SimpleNamespace``) and checks the
facts (numbers, names, verdicts) computed from it; one test per template renders it from such
facts and checks that no number is missing (no ``None``, ``nan`` or template syntax left).
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from reviewlab.reporting import data_findings as df
from reviewlab.reporting import study_findings as sf

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


def test_longtail_facts_follow_the_gaps():
    facts = sf.longtail_facts(**vars(longtail_result({"a": 0.9, "b": 0.7})))
    assert (facts["worse"], facts["models"], facts["verdict"]) == (2, 2, "all")
    assert facts["gaps"] == pytest.approx((0.2, 0.4))
    assert (facts["smallest"], facts["largest"]) == ("b", "a")
    assert facts["best"] == {
        "head": {"model": "a", "rmse": 0.5},
        "tail": {"model": "b", "rmse": 0.7},
    }
    assert facts["sizes"] == {"head": 30, "torso": 20, "tail": 50}
    assert facts["users"] == {"models": 2, "worse": 0, "gaps": (0.0, 0.0)}
    mixed = sf.longtail_facts(**vars(longtail_result({"a": 0.9, "b": 0.4}, users=False)))
    assert (mixed["verdict"], mixed["worse"], mixed["users"]) == ("some", 1, None)
    assert sf.longtail_facts(**vars(longtail_result({"a": 0.3})))["verdict"] == "none"


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


def test_recommend_facts_answer_with_the_tail_share_and_the_head_cost():
    facts = sf.recommend_facts(recommend_result(0.286, head_high=-0.01).metrics)
    assert (facts["users"], facts["items"], facts["k"], facts["best"]) == (1429, 900, 10, "als")
    assert facts["buckets"] == {"tail": 569, "torso": 253, "head": 78}
    assert facts["ndcg"]["content"] == pytest.approx((0.024, 0.014, 0.034))
    assert facts["tail_share"] == {"als": 0.036, "content": 0.286}
    (content,) = facts["text"]
    assert content["more"] and facts["surfaced"] and list(content["groups"]) == ["tail", "head"]
    assert content["groups"]["head"] == {"difference": (-0.02, -0.04, -0.01), "verdict": "worse"}
    other = sf.recommend_facts(recommend_result(0.01, head_high=0.01).metrics)
    assert not other["surfaced"] and other["text"][0]["groups"]["head"]["verdict"] == "inconclusive"


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
        search=search,
        labels=pd.Series([0] * 60 + [1] * 40),
        table=table,
        age_group=age_group,
    )


def test_segments_facts_name_the_collapsed_model_and_the_segments():
    facts = sf.segments_facts(segments_result(task("age_group", 0.154, collapsed=True), 3.9))
    assert (facts["users"], facts["k"], facts["ks"], facts["silhouette"]) == (
        100,
        2,
        [2, 3, 4],
        0.21,
    )
    assert facts["lowest"] == {
        "segment": 1,
        "share": 0.4,
        "mean_rating": 3.9,
        "reviews": 9.5,
        "terms": "pedal, amp",
    }
    assert facts["highest"]["segment"] == 0
    assert facts["task"]["best"] == "tfidf_logreg"  # the failed fine-tune is never best
    assert facts["task"]["versus"]["verdict"] == "better"
    assert facts["task"]["versus"]["difference"] == pytest.approx((0.206, 0.16, 0.26))
    (failed,) = facts["failed"]
    assert (failed["model"], failed["task"]) == ("finetune", "age_group")
    assert failed["why"].startswith("predicts 35-49 for 97% of test rows")
    fine = sf.segments_facts(segments_result(task("age_group", 0.3, collapsed=False), 4.8))
    assert fine["failed"] == [] and fine["lowest"]["segment"] == 0
    assert fine["task"]["others"]["finetune"] == pytest.approx((0.3, 0.28, 0.32))


def opinions_result(tasks: dict) -> SimpleNamespace:
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
    return SimpleNamespace(
        tasks=tasks,
        aspects={"Tops": ["size", "color"], "Dresses": ["dress"]},
        mentions=pd.DataFrame({"sentence": ["x"] * 1234}),
        agreement=agreement,
        products=products,
    )


def opinion_tasks() -> dict:
    return {
        "recommended": task("recommended", 0.8, collapsed=False, binary=True),
        "polarity": task("polarity", 0.154, collapsed=True, binary=True),
    }


def test_opinions_facts_cover_tasks_collapse_and_aspect_agreement():
    result = opinions_result(opinion_tasks())
    facts = sf.opinions_facts(result)
    assert [t["best"] for t in facts["tasks"]] == ["finetune", "tfidf_logreg"]
    assert [(f["model"], f["task"]) for f in facts["failed"]] == [("finetune", "polarity")]
    assert facts["failed"][0]["why"].startswith("predicts 1 for 97% of test rows")
    counts = ("terms", "categories", "mentions", "products", "with_cons")
    assert [facts[key] for key in counts] == [3, 2, 1234, 2, 1]
    assert facts["spearman"] == (0.1861, *df.spearman_ci(0.1861, 3903)) and facts["reliable"]
    assert (facts["pairs"], facts["praised"], facts["criticised"]) == (3903, 4.2718, 3.4965)
    result.agreement["review_aspect_pairs"] = 20  # too few pairs: the CI includes 0
    assert not sf.opinions_facts(result)["reliable"]
    assert sf.aspects_table(result.aspects).loc["Tops", "aspect terms"] == "size, color"


def test_a_task_where_every_trained_model_failed_names_no_best_model():
    failed = task("age_group", 0.1, collapsed=True)
    failed["models"]["tfidf_logreg"] |= {"failed": True, "failure": "not_better"}
    facts = sf.task_facts(failed)
    assert facts["best"] == "majority" and facts["versus"] is None
    assert len(sf.failed_facts([failed])) == 2
    (line,) = sf.index_facts([failed], None, None, None)["tasks"]
    assert line["best"] is None and line["finetune_failure"].startswith("predicts 35-49")
    found = sf.segments(segments_result(failed, 3.9))
    assert "(all failed)" in clean(found) and len(found.summary) == 4


def recommend_json() -> dict:
    """``recommend.json``'s numbers for the index: ALS, content and the paired differences."""
    metrics = recommend_result(0.286, head_high=-0.01).metrics
    return metrics | {"dataset": "amazon"}


def test_index_facts_read_every_study_from_its_numbers():
    opinions = {
        "dataset": "clothing",
        "test_agreement": {
            "spearman_review_aspect": 0.1861,
            "review_aspect_pairs": 3903,
            "mean_stars_praised": 4.27,
            "mean_stars_criticised": 3.5,
        },
    }
    segments = {
        "dataset": "amazon",
        "users": 1429,
        "k": 2,
        "silhouette": [{"k": 2, "silhouette": 0.065}, {"k": 3, "silhouette": 0.05}],
    }
    tasks = [task("recommended", 0.3, collapsed=False), task("age_group", 0.1, collapsed=True)]
    facts = sf.index_facts(tasks, recommend_json(), segments, opinions)
    shown, failed = facts["tasks"]
    assert (shown["best"], shown["finetune_failure"]) == ("tfidf_logreg", "")
    assert shown["finetune"] == pytest.approx((0.3, 0.28, 0.32))  # not the best: shown beside it
    assert failed["finetune"] is None and failed["finetune_failure"].startswith("predicts")
    assert facts["aspects"]["spearman"] == 0.1861 and facts["aspects"]["pairs"] == 3903
    assert facts["segments"] == {"dataset": "amazon", "users": 1429, "k": 2, "silhouette": 0.065}
    (content,) = facts["recommend"]["models"]
    assert content["name"] == "content" and list(content["groups"]) == ["all", "head", "tail"]
    assert sf.index_facts([], None, None, None) == {
        "tasks": [],
        "aspects": None,
        "segments": None,
        "recommend": None,
    }
    lines = sf.index_lines(tasks, recommend_json(), segments, opinions)
    assert len(lines) == 5 and lines[-1].startswith("Recommendation: content vs als")


# ---------------------------------------------------------------- every template renders


def clean(found) -> str:
    """The findings' text, checked for what a missing or undefined number would leave."""
    words = " ".join([*found.summary, found.conclusion])
    for bad in ("None", "nan", "{{", "{%", "  "):
        assert bad not in words, (bad, words)
    assert all(line.strip() for line in found.summary) and found.conclusion.strip()
    return words


def test_longtail_template_renders_each_verdict():
    for tails, users, opening in (
        ({"a": 0.9, "b": 0.7}, True, "On the long tail"),
        ({"a": 0.9, "b": 0.4}, False, "Partly"),
        ({"a": 0.3}, True, "Not on the long tail"),
    ):
        found = sf.longtail(longtail_result(tails, users))
        words = clean(found)
        assert len(found.summary) == 4 and found.conclusion.startswith(opening)
        assert "head 30, torso 20, tail 50" in found.conclusion
        assert ("no user ids" in words) is not users


def test_recommend_template_renders_the_versus_and_the_cost():
    found = sf.recommend(recommend_result(0.286, head_high=-0.01))
    words = clean(found)
    assert 3 <= len(found.summary) <= 5 and found.conclusion.startswith("Yes")
    assert "-0.020 [-0.040, -0.010] (worse)" in words and "content 28.6%" in words
    other = sf.recommend(recommend_result(0.01, head_high=0.01))
    assert clean(other) and other.conclusion.startswith("No")


def test_segments_template_renders_with_and_without_a_failed_model():
    for collapsed in (True, False):
        found = sf.segments(segments_result(task("age_group", 0.154, collapsed), 3.9))
        words = clean(found)
        assert len(found.summary) == 3 + collapsed and ("Failed" in words) is collapsed
        assert "0.210" in found.conclusion and "no substantial structure" in found.conclusion


def test_opinions_template_renders_the_tasks_and_the_agreement():
    found = sf.opinions(opinions_result(opinion_tasks()))
    words = clean(found)
    assert 3 <= len(found.summary) <= 5 and "1,234 times" in words
    assert "weakly (the CI excludes 0)" in found.conclusion


def test_index_template_renders_every_study_and_none():
    segments = {"dataset": "d", "users": 5, "k": 2, "silhouette": [{"k": 2, "silhouette": 0.6}]}
    lines = sf.index_lines(
        [task("polarity", 0.154, collapsed=True)], recommend_json(), segments, None
    )
    for line in lines:
        assert "None" not in line and "{" not in line and "  " not in line
    assert lines[0].startswith("Task **polarity** (clothing): best macro-F1 tfidf_logreg")
    why = "predicts 35-49 for 97% of test rows (training share 30%)"
    assert lines[0].endswith(f"; the fine-tuned encoder failed ({why}).")
    assert lines[1] == "Segments (d, 5 users): k = 2, reasonable structure."
    assert sf.index_lines([], None, None, None) == []
