"""Review-level tasks: label derivation, the label metric module, configs and params checks."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from reviewlab.core.compose import task_config
from reviewlab.core.config import load_params, validate_params
from reviewlab.core.evaluation import evaluate_labels
from reviewlab.core.params import LabelBins, LabelMap, ParamsError, TaskParams, read_params
from reviewlab.reporting.results import studies_markdown, task_table
from reviewlab.studies.tasks import (
    best_threshold,
    derive,
    derive_labels,
    label_json,
    label_names,
)


def test_column_labels_keep_values_and_count_missing():
    labels, excluded = derive_labels(pd.Series([1.0, 0.0, np.nan, 1.0]), "recommended")
    assert labels.tolist()[:2] == [1.0, 0.0] and np.isnan(labels.iloc[2])
    assert excluded == {"missing_value": 1, "outside_label_definition": 0}


def test_mapped_labels_exclude_and_count_unmapped_values():
    stars = pd.Series([1, 2, 3, 4, 5, 3], dtype="float64")
    spec = LabelMap.model_validate({"from": "rating", "map": {1: 0, 2: 0, 4: 1, 5: 1}})
    labels, excluded = derive_labels(stars, spec)
    assert labels.tolist()[:2] == [0.0, 0.0] and labels.iloc[3:5].tolist() == [1.0, 1.0]
    assert labels.isna().sum() == 2
    assert excluded == {"missing_value": 0, "outside_label_definition": 2}


def test_binned_labels_are_left_closed_and_count_outside_values():
    ages = pd.Series([18, 34, 35, 64, 65, 99, 17, 100, np.nan])
    spec = LabelBins.model_validate({"from": "age", "bins": [18, 35, 65, 100]})
    labels, excluded = derive_labels(ages, spec)
    assert labels.tolist()[:6] == [0, 0, 1, 1, 2, 2]
    assert excluded == {"missing_value": 1, "outside_label_definition": 2}
    assert label_names(spec) == ["18-34", "35-64", "65-99"]
    assert label_names("recommended") is None


def test_label_metrics_match_sklearn_and_cis_bracket_the_estimate():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 300)
    scores = np.clip(truth * 0.3 + rng.uniform(0, 0.7, 300), 0, 1)
    predicted = (scores > 0.5).astype(int)
    ci = {"n_resamples": 200, "level": 0.95, "seed": 1}
    result = evaluate_labels(predicted, truth, scores, binary=True, ci=ci)
    assert result["f1"] == pytest.approx(f1_score(truth, predicted), abs=1e-6)
    assert result["roc_auc"] == pytest.approx(roc_auc_score(truth, scores), abs=1e-6)
    assert result["macro_f1"] == pytest.approx(
        f1_score(truth, predicted, average="macro"), abs=1e-6
    )
    for metric in ("f1", "roc_auc", "accuracy", "macro_f1"):
        assert result[f"{metric}_low"] <= result[metric] <= result[f"{metric}_high"]


def test_undefined_metrics_are_null_not_nan():
    result = evaluate_labels(np.array([1, 1, 0]), np.array([1, 0, 0]), None, binary=True)
    assert result["roc_auc"] is None  # no scores: ROC-AUC is not defined
    multi = evaluate_labels(np.array([0, 1, 2, 2]), np.array([0, 1, 2, 1]), binary=False)
    assert "f1" not in multi and multi["accuracy"] == 0.75


def test_task_config_is_finetune_with_the_shared_budget_and_the_task_label():
    params = load_params()
    cfg = task_config(params, "age_group")
    assert cfg.label_column == "label" and cfg.head == "classification"
    assert cfg.dataset == "task_age_group" and cfg.name == "age_group"
    budget = params.task_budget.finetune
    assert cfg.max_train_rows == budget["max_train_rows"]
    assert cfg.input.max_length == budget["input"]["max_length"]
    assert cfg.adversarial == params.finetune.adversarial  # untouched keys kept


@pytest.mark.parametrize(
    ("dotted", "value", "message"),
    [
        ("tasks.polarity.head", "regression", "tasks.polarity.head"),
        ("tasks.age_group.label", {"from": "age", "bins": [18, 65, 35]}, "strictly increasing"),
        ("tasks.polarity.dataset", "nowhere", "tasks.polarity.dataset 'nowhere'"),
        ("task_budget.finetune", {"max_train_rows": 10, "epochz": 1}, "epochz"),
    ],
)
def test_bad_task_params_fail_naming_the_key(dotted, value, message):
    params = copy.deepcopy(read_params())
    *parents, last = dotted.split(".")
    node = params
    for key in parents:
        node = node[key]
    node[last] = value
    with pytest.raises((ParamsError, KeyError), match=message):
        validate_params(params)


def test_best_threshold_maximises_validation_macro_f1():
    truth = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    scores = np.array([0.6, 0.65, 0.7, 0.8, 0.85, 0.9, 0.92, 0.95, 0.97, 0.99])
    threshold = best_threshold(scores, truth)
    assert 0.7 < threshold <= 0.8  # 0.5 would call everything positive
    predicted = (scores >= threshold).astype(int)
    assert f1_score(truth, predicted, average="macro") == 1.0


def test_label_module_agrees_with_sklearn_on_random_cases():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n, k = int(rng.integers(5, 60)), int(rng.integers(2, 5))
        truth, predicted = rng.integers(0, k, n), rng.integers(0, k, n)
        multi = evaluate_labels(predicted, truth, binary=False)
        expected = f1_score(truth, predicted, average="macro", zero_division=0)
        assert multi["macro_f1"] == pytest.approx(expected, abs=1e-6)
        truth = rng.integers(0, 2, n)
        scores = np.round(rng.random(n), 1)  # ties: ROC-AUC counts them one half
        binary = evaluate_labels((scores > 0.5).astype(int), truth, scores, binary=True)
        assert binary["f1"] == pytest.approx(f1_score(truth, scores > 0.5), abs=1e-6)
        if len(set(truth)) == 2:
            assert binary["roc_auc"] == pytest.approx(roc_auc_score(truth, scores), abs=1e-6)


def test_label_definitions_are_reported_as_params_yaml_writes_them():
    polarity = LabelMap.model_validate({"from": "rating", "map": {1: 0, 2: 0, 4: 1, 5: 1}})
    assert label_json(polarity) == {"from": "rating", "map": {1: 0, 2: 0, 4: 1, 5: 1}}
    ages = LabelBins.model_validate({"from": "age", "bins": [18, 35, 50]})
    assert label_json(ages) == {"from": "age", "bins": [18, 35, 50]}
    assert label_json("recommended") == "recommended"
    tasks = load_params().tasks  # the committed label definitions, round trip
    assert label_json(tasks["polarity"].label) == read_params()["tasks"]["polarity"]["label"]
    assert label_json(tasks["age_group"].label) == read_params()["tasks"]["age_group"]["label"]


def test_derive_keeps_labelled_rows_with_their_features_and_counts_the_rest():
    import scipy.sparse as sp

    from reviewlab.data.features import FeatureSet

    table = pd.DataFrame(
        {
            "review_id": ["a", "b", "c", "d", "e"],
            "split": ["train", "train", "valid", "test", "test"],
            "rating": [5, 3, 1, 4, 2],
        }
    )
    tfidf = {k: sp.csr_matrix(np.arange(10.0).reshape(5, 2)) for k in ("word", "char")}
    canonical = table[["review_id", "rating"]].assign(text=list("vwxyz"))
    task = TaskParams.model_validate(
        {
            "dataset": "shop",
            "label": {"from": "rating", "map": {1: 0, 2: 0, 4: 1, 5: 1}},
            "head": "binary",
        }
    )
    derived = derive("polarity", task, FeatureSet(table, tfidf, []), canonical)
    assert derived.features.table["review_id"].tolist() == ["a", "c", "d", "e"]
    assert derived.features.table["label"].tolist() == [1, 0, 1, 0]
    assert derived.features.tfidf["word"].toarray()[:, 0].tolist() == [0.0, 4.0, 6.0, 8.0]
    assert derived.reviews["review_id"].tolist() == ["a", "c", "d", "e"]
    assert derived.rows["excluded"] == {"missing_value": 0, "outside_label_definition": 1}
    assert derived.rows["labels_by_split"]["test"] == {"0": 1, "1": 1}
    assert derived.rows["rows_in"] == 5 and derived.rows["rows_kept"] == 4
    with pytest.raises(KeyError, match="tasks.age.label: column 'age'"):
        derive(
            "age", task.model_copy(update={"label": "age"}), FeatureSet(table, tfidf, []), canonical
        )


def test_score_models_fail_a_model_collapsed_onto_a_rare_class_only():
    """polarity-like data: 90% positive; a model that predicts "positive" for 97% of rows and
    separates the classes is not failed; one putting 97% of rows on the rare class is."""
    from reviewlab.core.params import EvaluationParams
    from reviewlab.studies.tasks import MAJORITY, score_models
    from tests.conftest import evaluation_block

    rng = np.random.default_rng(0)
    truth = pd.Series((rng.random(300) < 0.9).astype(int), index=[f"r{i}" for i in range(300)])

    def frame(predicted):
        return pd.DataFrame({"review_id": truth.index, "predicted": predicted, "score": np.nan})

    good = truth.to_numpy().copy()
    good[:9] = 1  # a few errors
    rare = np.where(np.arange(300) < 291, 0, 1)
    predictions = {"good": frame(good), "rare": frame(rare), MAJORITY: frame(np.ones(300, int))}
    evaluation = EvaluationParams(**evaluation_block(100))
    models, comparisons = score_models(predictions, truth, True, {1: 0.9, 0: 0.1}, evaluation, 0)
    assert not models["good"]["failed"] and models["good"]["majority_share"] > 0.85
    assert models["rare"]["failure"] == "collapsed_onto_rare_class"
    assert not models[MAJORITY]["failed"]
    verdicts = {(c["model"], c["metric"]): c["verdict"] for c in comparisons}
    assert verdicts[("good", "macro_f1")] == "better"


def task_metrics(failed: bool) -> dict:
    entry = {"macro_f1": 0.154, "macro_f1_low": 0.14, "macro_f1_high": 0.16, "accuracy": 0.45}
    return {
        "task": "age_group",
        "classes": ["18-34", "35-49", "50-64"],
        "models": {
            "finetune": entry
            | {
                "majority_prediction": 1,
                "majority_share": 0.97,
                "base_rate": 0.3,
                "failed": failed,
                "failure": "collapsed_onto_rare_class" if failed else None,
            },
            "tfidf_logreg": entry | {"macro_f1": 0.3, "failed": False},
        },
    }


def test_task_table_and_readme_block_mark_a_failed_model():
    table = task_table(task_metrics(failed=True))
    note = "predicts 35-49 for 97% of test rows (training share 30%)"
    assert table.loc["finetune", "failed"] == note
    assert table.loc["tfidf_logreg", "failed"] == "no"
    assert table.index[0] == "tfidf_logreg" and "macro-F1" in table.columns
    assert task_table(task_metrics(failed=False)).loc["finetune", "failed"] == "no"

    opinions = {
        "dataset": "d",
        "category": "c",
        "mentions": 1,
        "test_agreement": {
            "spearman_review_aspect": 0.1,
            "review_aspect_pairs": 9,
            "spearman_item_aspect": 0.2,
            "item_aspect_pairs": 3,
            "mean_stars_praised": 4.0,
            "mean_stars_criticised": 3.0,
        },
    }
    segments = {
        "dataset": "d",
        "k": 2,
        "users": 5,
        "silhouette": [{"k": 2, "silhouette": 0.3}, {"k": 3, "silhouette": 0.2}],
        "segments": [{"users": 5}],
    }
    diff = {"ndcg_difference": -0.02, "low": -0.03, "high": -0.01, "verdict": "worse"}
    recommend = {
        "dataset": "d",
        "k": 10,
        "models": {
            name: {"all": {"recall": 0.1, "ndcg": 0.05}, "tail": {}, "coverage": c, "tail_share": t}
            for name, c, t in (("als", 0.35, 0.036), ("content", 0.62, 0.286))
        },
        "vs_als": {"content": {"all": diff, "head": diff}},
    }
    block = studies_markdown([task_metrics(failed=True)], opinions, segments, recommend, {})
    assert f"| age_group | finetune (failed: {note}) |" in block
    assert "(silhouette 0.300: weak structure)" in block  # read from the number, not stored
    assert "| content | 0.100 | 0.050 | - | 0.620 | 0.286 |" in block
    content = next(line for line in block.splitlines() if line.startswith("- content vs als"))
    assert content.count("-0.020 [-0.030, -0.010] (worse)") == 2 and "0.286 vs 0.036" in content
    assert "| age_group | tfidf_logreg |" in block
