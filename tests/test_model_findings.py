"""Facts of the rating-model reports (baselines, fine-tune, index rating lines) follow the
numbers of the results they are given, and every template renders them without a blank.

Each test builds small stand-ins of a stage's ``Result`` (``SimpleNamespace``); the ablation
grid's facts are tested in tests/test_ablations.py.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from reviewlab.reporting import front, model_findings
from reviewlab.reporting.results import results_frame


def text(findings) -> str:
    return " ".join(findings.summary) + " " + findings.conclusion


def blank_free(words: str) -> bool:
    return not any(gap in words for gap in ("None", "nan", "{", "}"))


def _test(rmse: float, accuracy: float = 0.69) -> dict:
    metrics = {"rmse": rmse, "accuracy": accuracy, "macro_f1": 0.32, "qwk": 0.62}
    return metrics | {f"{m}_{end}": v + d for m, v in metrics.items() for end, d in
                      (("low", -0.04), ("high", 0.04))}  # fmt: skip


def _entry(valid: float, test: float, failed: bool = False) -> dict:
    failure = "not_better_than_trivial" if failed else None  # as the inference writes it
    return {"valid": {"rmse": valid}, "test": _test(test), "failed": failed, "failure": failure}


def _rmse(model: str, reference: str, difference: float, verdict: str) -> dict:
    return {
        "model": model,
        "reference": reference,
        "metric": "rmse",
        "difference": difference,
        "low": difference - 0.03,
        "high": difference + 0.03,
        "margin": 0.02,
        "mde": 0.045,
        "verdict": verdict,
    }


def _baselines() -> dict:
    """A realistic ``baselines.json``: lightgbm selected, tfidf_ridge failed."""
    models = {
        "mean_majority": _entry(0.88, 0.896),
        "tfidf_ridge": _entry(0.70, 0.90, failed=True),
        "tfidf_logreg": _entry(0.66, 0.689),
        "lightgbm": _entry(0.636, 0.653),
    }
    comparisons = {
        "vs_best": [_rmse("lightgbm", "tfidf_logreg", -0.036, "better")],
        "vs_trivial": [_rmse("lightgbm", "mean_majority", -0.243, "better")],
    }
    return {"best_on_valid": "lightgbm", "models": models, "comparisons": comparisons}


def test_baselines_facts_and_findings():
    facts = model_findings.baselines_facts(_baselines(), 17, "amazon", 0.8)
    assert (facts["best"], facts["second"], facts["valid_rmse"]) == (
        "lightgbm",
        "tfidf_logreg",
        0.636,
    )
    assert facts["gain"] == pytest.approx(0.243) and facts["failed"] == ["tfidf_ridge"]
    assert facts["comparison"]["verdict"] == "better"
    assert facts["comparison"]["difference"] == -0.036
    run = SimpleNamespace(
        payload=_baselines(), best="lightgbm", search=pd.DataFrame(index=range(17))
    )
    found = model_findings.baselines(run, "amazon", 0.9)
    assert len(found.summary) == 5 and blank_free(text(found))
    assert (
        "0.243" in text(found) and "-0.036" in found.conclusion and "**better**" in found.conclusion
    )
    assert "90% power" in found.conclusion  # the design's power, not a typed one
    unmatched = model_findings.comparison(_baselines(), "lightgbm", "tfidf_ridge", 0.8)
    assert unmatched == {"model": "lightgbm", "reference": "tfidf_ridge", "power": 0.8}


def _finetune_result(selected: dict, seeds: list[int], runtime_seeds: int = 1) -> SimpleNamespace:
    rng = np.random.default_rng(0)
    rating = np.repeat([1, 2, 3, 4, 5], 40)
    prediction = rating + rng.normal(0, 0.3, 200) + np.where(rating == 3, 0.8, 0.0)
    test = pd.DataFrame(
        {
            "rating": rating,
            "prediction": prediction,
            "predicted_class": np.rint(prediction).clip(1, 5),
        }
    )
    tuned = {"test": _test(0.555) | {"rmse_sd": 0.0042, "qwk_sd": 0.0061}, "selected": selected}
    tuned |= {"seeds": seeds} if seeds else {}
    metrics = {
        "models": {"finetune": tuned},
        "comparisons": {"vs_best": [_rmse("finetune", "lightgbm", -0.098, "better")]},
    }
    runtime = {"train_seconds": 1015.0, "train_samples_per_second": 8.09, "train_rows": 8202}
    runtime |= {"seeds": runtime_seeds} if runtime_seeds > 1 else {}
    words = pd.Series(np.arange(200) * 3 + 5)
    return SimpleNamespace(
        metrics=metrics, runtime=runtime, baselines=_baselines(), test=test, test_words=words
    )


SEEDED = {"best_step": 70, "last_eval_step": 80, "converged": True, "saved_seed": 2}
SELECTIONS = [
    ({"best_step": 40, "last_eval_step": 80, "converged": True}, []),
    ({"best_step": 80, "last_eval_step": 80, "converged": False}, []),
    ({"best_step": None}, []),
    ({**SEEDED, "converged_seeds": 2}, [1, 2, 3]),
]


@pytest.mark.parametrize(("selected", "seeds"), SELECTIONS)
def test_finetune_facts_and_findings(selected, seeds):
    result = _finetune_result(selected, seeds, runtime_seeds=len(seeds) or 1)
    facts = model_findings.finetune_facts(result, 0.8)
    assert (
        facts["worst"]["rating"] == 3 and facts["worst"]["n"] == 40 and facts["worst"]["bias"] > 0.6
    )
    assert (
        facts["shortest"]["words"] == "5-154 words"
        and facts["longest"]["words"] == "453-602 words"
        and facts["train_minutes"] == pytest.approx(16.9167, abs=1e-4)
    )
    assert facts["minutes_per_seed"] == (pytest.approx(1015 / 60 / 3) if seeds else None)
    assert facts["selection"]["converged"] == selected.get("converged")
    assert facts["selection"]["several"] == (len(seeds) > 1)
    assert facts["comparison"]["verdict"] == "better" and facts["best"] == "lightgbm"
    found = model_findings.finetune(result, 0.8)
    assert len(found.summary) == 4 and blank_free(text(found))
    assert "8,202 rows, 16.9 min" in text(found) and "-0.098" in found.conclusion


def test_selection_facts_say_whether_validation_stopped_improving():
    selected = {**SEEDED, "converged": False, "converged_seeds": 1}
    several = model_findings.selection(selected, 3)
    assert (several["step"], several["last"], several["seeds"]) == (70, 80, 3)
    assert several["several"] and several["converged"] is False
    assert (several["converged_seeds"], several["saved_seed"]) == (1, 2)
    assert model_findings.selection({"best_step": None})["step"] is None


@pytest.mark.parametrize(("converged", "expected"), [(0, "converged in 0 of 3"), (3, "in all 3")])
def test_several_seeds_say_how_many_converged(converged, expected):
    """The count is of converged seeds: "unconverged in 0 of 3" once read as all converged."""
    selected = {**SEEDED, "converged": converged == 3, "converged_seeds": converged}
    found = text(model_findings.finetune(_finetune_result(selected, [1, 2, 3], 3), 0.8))
    assert re.search(rf"(?<!un){expected}", " ".join(found.split()))
    assert ("unconverged" in found) == (converged < 3)


def test_rating_facts_per_dataset():
    versus = _rmse("finetune", "lightgbm", -0.098, "better")
    fine = {"models": {"finetune": _entry(0.60, 0.555)}, "comparisons": {"vs_best": [versus]}}
    solo = _baselines()
    solo["models"]["lightgbm"]["failed"] = True
    solo["comparisons"]["vs_trivial"][0]["verdict"] = "worse"
    payloads = [("amazon", "baselines", _baselines()), ("amazon", "finetune", fine)]
    table = results_frame([*payloads, ("shop", "baselines", solo)])
    amazon, shop = front.rating_facts(table)["datasets"]
    assert (amazon["model"], amazon["reference"], amazon["finetuned"]) == (
        "finetune",
        "lightgbm",
        True,
    )
    assert amazon["versus"]["difference"] == -0.098
    assert amazon["rmse"] == pytest.approx([0.555, 0.515, 0.595])
    assert (shop["model"], shop["reference"]) == ("lightgbm", "mean_majority")
    assert shop["failed"] and not shop["finetuned"]
    assert shop["versus"]["verdict"] == "worse"
    lines = front.rating_findings(table)
    assert len(lines) == 2 and all(blank_free(line) for line in lines)
    assert "-0.098" in lines[0] and "**worse**" in lines[1]
