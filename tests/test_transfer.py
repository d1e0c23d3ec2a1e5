"""Transfer across stores (issue #26): borrowed models against the target's own, one paired
family, a readable table and findings phrased from the numbers."""

from __future__ import annotations

import numpy as np
import pytest

from reviewlab.core.params import EvaluationParams
from reviewlab.reporting import model_findings
from reviewlab.studies import borrowed
from tests.conftest import evaluation_block
from tests.test_model_findings import blank_free, text

RNG = np.random.default_rng(0)
N = 600


def _scored(truth: np.ndarray, noise: dict[str, float]) -> list[borrowed.Scored]:
    """The target's own encoder, baseline and training mean, then the source's two models;
    ``noise``: each model's prediction noise (more noise, larger RMSE)."""
    names = [
        ("finetune", "clothing", "encoder"),
        ("tfidf_logreg", "clothing", "baseline"),
        ("mean_majority", "clothing", "trivial"),
        ("finetune_from_amazon", "amazon", "encoder"),
        ("lightgbm_from_amazon", "amazon", "baseline"),
    ]
    out = []
    for name, origin, kind in names:
        estimate = (
            np.full(N, truth.mean()) if kind == "trivial" else truth + RNG.normal(0, noise[name], N)
        )
        classes = np.clip(np.rint(estimate), 1, 5).astype(int)
        out.append(borrowed.Scored(name, origin, kind, estimate, classes))
    return out


@pytest.fixture(scope="module")
def payload() -> dict:
    truth = RNG.integers(1, 6, N)
    noise = {
        "finetune": 0.5,
        "tfidf_logreg": 0.55,
        "finetune_from_amazon": 0.6,
        "lightgbm_from_amazon": 0.9,
    }
    evaluation = EvaluationParams.model_validate(evaluation_block(200))
    out = borrowed.compare(_scored(truth, noise), truth, evaluation, seed=0)
    return {"source": "amazon", "target": "clothing", **out}


def test_the_families_compare_each_borrowed_model_with_its_own_kind_and_the_mean(payload):
    rmse = {
        (c["model"], c["reference"]): c
        for family in payload["comparisons"].values()
        for c in family
        if c["metric"] == "rmse"
    }
    assert set(rmse) == {
        ("finetune_from_amazon", "finetune"),
        ("lightgbm_from_amazon", "tfidf_logreg"),
        ("finetune_from_amazon", "lightgbm_from_amazon"),
        ("finetune_from_amazon", "mean_majority"),
        ("lightgbm_from_amazon", "mean_majority"),
    }
    # failure is decided in its own family, as in every other study (Holm within a family)
    assert {c["reference"] for c in payload["comparisons"]["vs_trivial"]} == {"mean_majority"}
    assert rmse[("lightgbm_from_amazon", "tfidf_logreg")]["verdict"] == "worse"
    assert rmse[("finetune_from_amazon", "lightgbm_from_amazon")]["verdict"] == "better"
    assert payload["test_rows"] == N
    assert payload["models"]["lightgbm_from_amazon"]["failed"] is False


def test_a_borrowed_model_no_better_than_the_mean_has_failed():
    truth = RNG.integers(1, 6, N)
    noise = {
        "finetune": 0.5,
        "tfidf_logreg": 0.5,
        "finetune_from_amazon": 0.5,
        "lightgbm_from_amazon": 4.0,
    }
    evaluation = EvaluationParams.model_validate(evaluation_block(100))
    out = borrowed.compare(_scored(truth, noise), truth, evaluation, seed=0)
    assert out["models"]["lightgbm_from_amazon"]["failed"] is True
    assert out["models"]["finetune_from_amazon"]["failed"] is False


def test_table_has_a_row_per_model_and_the_loss_of_each_borrowed_one(payload):
    table = borrowed.table([payload])
    assert list(table["model"]) == list(payload["models"])
    lent = table.set_index("model").loc["finetune_from_amazon"]
    assert lent["trained on"] == "amazon" and lent["verdict"] in ("worse", "inconclusive")
    assert lent["RMSE vs own"].startswith("+")
    assert table.set_index("model").loc["finetune", "verdict"] == ""


def test_findings_say_what_a_store_loses_and_which_model_travels(payload):
    findings = model_findings.transfer([payload, payload], power=0.8)
    words = text(findings)
    assert blank_free(words)
    assert "clothing scored by amazon's models" in words
    assert "the borrowed lightgbm_from_amazon" in words
    assert "fine-tune +" in words and "**worse**" in words  # what the store loses, with a verdict
    assert words.count("paired on the same test rows") == 2  # one head-to-head per pair
    facts = model_findings.transfer_facts([payload], power=0.8)
    head = facts["pairs"][0]["head_to_head"]
    assert (head["model"], head["reference"]) == ("finetune_from_amazon", "lightgbm_from_amazon")
    assert head["verdict"] == "better"


def test_the_encoder_loss_minus_the_baseline_loss_is_one_paired_test(payload):
    """Which travels better: (borrowed encoder - own encoder) - (borrowed baseline - own
    baseline) in test RMSE, on the same resampled rows (a difference-in-differences)."""
    assert payload["counterparts"] == {
        "finetune_from_amazon": "finetune",
        "lightgbm_from_amazon": "tfidf_logreg",
    }
    (travels,) = payload["comparisons"]["travels"]
    assert (travels["model"], travels["reference"], travels["metric"]) == (
        "encoder",
        "baseline",
        borrowed.LOSS,
    )
    rmse = {name: entry["test"]["rmse"] for name, entry in payload["models"].items()}
    expected = (rmse["finetune_from_amazon"] - rmse["finetune"]) - (
        rmse["lightgbm_from_amazon"] - rmse["tfidf_logreg"]
    )
    assert travels["difference"] == pytest.approx(expected, abs=0.01)
    assert travels["low"] < travels["difference"] < travels["high"]
    assert travels["verdict"] == "better"  # the encoder loses 0.1 of RMSE, lightgbm 0.35
    words = text(model_findings.transfer([payload], power=0.8))
    assert "difference-in-differences" in words and "**better**" in words
