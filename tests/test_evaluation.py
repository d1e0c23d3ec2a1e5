"""The project's evaluate module against scikit-learn, and bootstrap CI sanity."""

import evaluate
import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
)

from reviewlab.core.evaluation import METRIC_PATH, bootstrap_ci, evaluate_split, load_metric, score


@pytest.fixture(params=[0, 1, 2])
def data(request):
    rng = np.random.default_rng(request.param)
    y = rng.choice([1, 2, 3, 4, 5], 300, p=[0.05, 0.05, 0.1, 0.2, 0.6])
    pred = y + rng.normal(0, 0.9, 300)
    return y, pred


def test_loads_offline_by_path():
    module = evaluate.load(METRIC_PATH)
    assert module.name == "rating_metrics"
    assert load_metric() is load_metric()


def test_matches_sklearn(data):
    y, pred = data
    result = score(pred, y)
    clipped = np.clip(pred, 1, 5)
    classes = np.rint(clipped).astype(int)
    assert result["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, clipped)))
    assert result["mae"] == pytest.approx(mean_absolute_error(y, clipped))
    assert result["accuracy"] == pytest.approx(accuracy_score(y, classes))
    assert result["macro_f1"] == pytest.approx(f1_score(y, classes, average="macro"))
    assert result["qwk"] == pytest.approx(
        cohen_kappa_score(y, classes, weights="quadratic", labels=[1, 2, 3, 4, 5])
    )


def test_explicit_classes_used_for_discrete_metrics(data):
    y, pred = data
    classes = np.full_like(y, 5)
    result = score(pred, y, classes)
    assert result["accuracy"] == pytest.approx(np.mean(y == 5))
    assert result["qwk"] == pytest.approx(0.0)
    assert result["rmse"] == pytest.approx(score(pred, y)["rmse"])


def test_perfect_predictions():
    y = np.array([1, 2, 3, 4, 5, 5])
    result = score(y.astype(float), y)
    assert result["rmse"] == 0 and result["accuracy"] == 1 and result["qwk"] == pytest.approx(1)


def test_bootstrap_ci_brackets_estimate_and_is_seeded(data):
    y, pred = data
    ci = bootstrap_ci(pred, y, n_resamples=300, seed=4)
    point = score(pred, y)
    for metric, bounds in ci.items():
        assert bounds["low"] <= point[metric] <= bounds["high"], metric
        assert bounds["high"] - bounds["low"] > 0
    assert ci == bootstrap_ci(pred, y, n_resamples=300, seed=4)


def test_bootstrap_ci_narrows_with_more_rows():
    rng = np.random.default_rng(0)
    widths = []
    for n in (100, 2500):
        y = rng.integers(1, 6, n)
        pred = y + rng.normal(0, 1, n)
        ci = bootstrap_ci(pred, y, n_resamples=300, seed=0)["rmse"]
        widths.append(ci["high"] - ci["low"])
    assert widths[1] < widths[0] / 3  # ~1/sqrt(25) = 1/5


def test_bootstrap_covers_true_rmse_most_of_the_time():
    """Coverage check: the 90% CI contains the population RMSE in most of 40 repetitions."""
    rng = np.random.default_rng(1)
    big = rng.integers(1, 6, 2_000_000)
    truth = np.sqrt(np.mean((np.clip(big + rng.normal(0, 0.5, big.size), 1, 5) - big) ** 2))
    hits = 0
    for _ in range(40):
        y = rng.integers(1, 6, 400)
        pred = np.clip(y + rng.normal(0, 0.5, 400), 1, 5)
        ci = bootstrap_ci(pred, y, n_resamples=200, level=0.9, seed=int(rng.integers(1e9)))["rmse"]
        hits += ci["low"] <= truth <= ci["high"]
    assert hits >= 30


def test_evaluate_split_adds_bounds(data):
    y, pred = data
    out = evaluate_split(pred, y, ci={"n_resamples": 50, "level": 0.95, "seed": 0})
    assert out["rmse_low"] <= out["rmse"] <= out["rmse_high"] and out["n"] == len(y)
