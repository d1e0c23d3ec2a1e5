"""The stacked ensemble (issue #26): fitted on validation only, out of fold there, phrased from
its numbers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from reviewlab.models import stacking
from reviewlab.reporting import model_findings
from tests.test_model_findings import _entry, _rmse, blank_free, text

RNG = np.random.default_rng(0)


def _members(n: int, split: str, truth: np.ndarray) -> pd.DataFrame:
    """Two members on ``n`` reviews: ``good`` tracks the rating, ``noise`` does not."""
    ids = [f"{split}-{i}" for i in range(n)]
    good = truth + RNG.normal(0, 0.4, n)
    return pd.concat(
        [
            pd.DataFrame({"model": m, "split": split, "review_id": ids, "prediction": p})
            for m, p in (("good", good), ("noise", RNG.uniform(1, 5, n)))
        ]
    )


def _table(n: int, split: str, truth: np.ndarray) -> pd.DataFrame:
    ids = [f"{split}-{i}" for i in range(n)]
    return pd.DataFrame({"review_id": ids, "split": split, "rating": truth, "user_n": 3})


def _data(n: int = 300):
    truth = {s: RNG.integers(1, 6, n) for s in ("valid", "test")}
    predictions = pd.concat([_members(n, s, truth[s]) for s in truth])
    table = pd.concat([_table(n, s, truth[s]) for s in truth], ignore_index=True)
    return predictions, table, truth


def test_stack_leans_on_the_informative_member_and_is_out_of_fold_on_validation():
    predictions, table, truth = _data()
    x = {s: stacking.inputs(predictions, ["good", "noise"], table, ["user_n"], s) for s in truth}
    assert list(x["valid"].columns) == ["good", "noise", "log1p_user_n"]
    stacked = stacking.stack(x["valid"], truth["valid"], x["test"], [0.1, 1, 10], 5, seed=0)
    assert abs(stacked.weights["good"]) > 5 * abs(stacked.weights["noise"])
    in_sample = stacking.stacker([0.1, 1, 10]).fit(x["valid"], truth["valid"]).predict(x["valid"])
    assert not np.allclose(stacked.valid, np.clip(in_sample, 1, 5))  # cross-fitted
    rmse = {
        "stack": np.sqrt(np.mean((stacked.test - truth["test"]) ** 2)),
        "good": np.sqrt(np.mean((x["test"]["good"] - truth["test"]) ** 2)),
    }
    assert rmse["stack"] < rmse["good"]
    assert set(np.unique(stacked.test_classes)) <= {1, 2, 3, 4, 5}
    moved = stacking.stack(x["valid"], truth["valid"], x["test"] + 1, [0.1, 1, 10], 5, seed=0)
    np.testing.assert_array_equal(moved.valid, stacked.valid)  # test rows never fit anything


def test_inputs_keep_the_rows_every_member_scored_and_name_a_missing_member():
    predictions, table, truth = _data(20)
    partial = predictions.drop(predictions.index[(predictions["model"] == "good")][:3])
    assert len(stacking.inputs(partial, ["good", "noise"], table, [], "valid")) == 17
    with pytest.raises(ValueError, match=r"no valid predictions of \['bert'\]"):
        stacking.inputs(predictions, ["good", "bert"], table, [], "valid")


def test_ensemble_findings_follow_the_verdicts():
    versus = [
        _rmse("stacked", "lightgbm", -0.04, "better"),
        _rmse("stacked", "finetune", -0.01, "inconclusive"),
    ]
    stacked = {**_entry(0.6, 0.58), "selected": {"alpha": 10.0, "folds": 5, "valid_rows": 1000}}
    tuned = {**_entry(0.59, 0.6), "selected": {"best_step": 8, "last_eval_step": 8}}
    result = SimpleNamespace(
        metrics={"models": {"stacked": stacked}, "comparisons": {"vs_members": versus}},
        members={"finetune": tuned, "lightgbm": _entry(0.64, 0.65)},
        weights=pd.Series({"finetune": 0.5, "lightgbm": -0.7}),
    )
    facts = model_findings.ensemble_facts(result, 0.8)
    assert facts["best"] == "finetune" and facts["heaviest"] == "lightgbm"
    assert facts["verdicts"] == {"lightgbm": "better", "finetune": "inconclusive"}
    assert facts["comparison"]["verdict"] == "inconclusive"
    assert [u["model"] for u in facts["limits"]["unconverged"]] == ["finetune"]
    found = model_findings.ensemble(result, 0.8)
    assert blank_free(text(found)) and "1,000 validation rows" in text(found)
