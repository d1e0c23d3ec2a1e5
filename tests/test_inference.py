"""The paired inference of core/evaluation/inference.py on data where the truth is known,
Holm and TOST against hand-computed cases, ordinal cut-points and failed-model detection."""

import numpy as np
import pytest
from scipy import stats

from reviewlab.core.evaluation.inference import (
    COLLAPSED_ONTO_RARE_CLASS,
    NOT_BETTER_THAN_TRIVIAL,
    Design,
    _tests,
    bootstrap_scores,
    compare,
    decide,
    failure,
    projected_mde,
)
from reviewlab.core.evaluation.ordinal import decode, fit_cutpoints

TRUE_DIFFERENCE = 0.03


def simulated_grid(rng, seeds=3, rows=300):
    """Per-row losses of two variants x seeds with a large shared seed effect (a seed fixes
    the training sample of both), large shared row difficulty, a small variant x seed
    interaction and row noise; the population difference of mean loss is TRUE_DIFFERENCE."""
    seed_effect = rng.normal(0, 0.05, seeds)[None, :, None]
    difficulty = rng.normal(0, 0.5, rows)[None, None, :]
    interaction = rng.normal(0, 0.01, (2, seeds))[:, :, None]
    noise = rng.normal(0, 0.1, (2, seeds, rows))
    means = np.array([TRUE_DIFFERENCE, 0.0])[:, None, None]
    return means + seed_effect + difficulty + interaction + noise


def _interval(losses, design, blocked):
    point, draws = bootstrap_scores(lambda idx: losses[:, :, idx].mean(-1), losses.shape[2], design)
    result = compare(
        point[0],
        point[1],
        draws[:, 0],
        draws[:, 1],
        higher_is_better=False,
        margin=0.01,
        design=design,
        blocked=blocked,
    )
    return result["low"], result["high"]


def test_seed_blocked_interval_covers_truth_and_is_narrower_than_unpaired():
    rng = np.random.default_rng(0)
    design = Design(n_resamples=200, seed=1)
    covered, blocked_width, unpaired_width = 0, [], []
    for _ in range(200):
        losses = simulated_grid(rng)
        low, high = _interval(losses, design, blocked=True)
        covered += low <= TRUE_DIFFERENCE <= high
        blocked_width.append(high - low)
        low, high = _interval(losses, design, blocked=False)
        unpaired_width.append(high - low)
    assert covered / 200 >= 0.90
    assert np.mean(blocked_width) < 0.5 * np.mean(unpaired_width)


def test_rows_are_shared_between_models():
    """Two models with identical losses differ by exactly 0 on every resample."""
    losses = np.random.default_rng(1).normal(size=(2, 3, 50))
    losses[1] = losses[0]
    low, high = _interval(losses, Design(n_resamples=50), blocked=True)
    assert low == high == 0


def test_holm_against_a_hand_computed_case():
    # p = 0.01, 0.04, 0.03 -> sorted x3, x2, x1: 0.03, 0.06, 0.04 -> monotone 0.03, 0.06, 0.06
    family = [
        {"difference": d, "p_value": p, "p_equivalence": 0.5, "higher_is_better": False}
        for d, p in ((-0.05, 0.01), (0.04, 0.04), (-0.03, 0.03))
    ]
    decided = decide(family, Design())
    assert [c["p_adjusted"] for c in decided] == pytest.approx([0.03, 0.06, 0.06])
    assert [c["verdict"] for c in decided] == ["better", "inconclusive", "inconclusive"]
    unadjusted = decide(family, Design(correction="none"))
    assert [c["verdict"] for c in unadjusted] == ["better", "worse", "better"]


def test_tost_against_a_hand_computed_case():
    design = Design()
    tight = _tests(0.005, 0.004, np.inf, 0.02, design)
    # upper one-sided test: P(Z < (0.005 - 0.02) / 0.004) = Phi(-3.75)
    assert tight["p_equivalence"] == pytest.approx(stats.norm.cdf(-3.75))
    assert tight["p_value"] == pytest.approx(2 * stats.norm.sf(1.25))
    wide = _tests(0.005, 0.01, np.inf, 0.02, design)
    assert wide["p_equivalence"] == pytest.approx(stats.norm.cdf(-1.5))
    verdicts = decide(
        [
            {**tight, "difference": 0.005, "higher_is_better": False},
            {**wide, "difference": 0.005, "higher_is_better": False},
        ],
        design,
    )
    assert [v["verdict"] for v in verdicts] == ["equivalent", "inconclusive"]


def test_satterthwaite_df_between_seeds_minus_one_and_infinity():
    from reviewlab.core.evaluation.inference import satterthwaite

    assert satterthwaite(0.01, 0.0, 3) == pytest.approx(2)  # all seed variance: k - 1
    assert satterthwaite(0.01, 0.01, 3) == np.inf  # all row variance
    assert satterthwaite(0.01, 0.005, 1) == np.inf  # one seed
    assert 2 < satterthwaite(0.01, 0.007, 3) < 10


def test_mde_and_interval_use_t_with_seeds_minus_one_df():
    result = _tests(0.0, 0.01, 2, 0.02, Design())
    multiplier = stats.t(2).ppf(0.975) + stats.t(2).ppf(0.8)
    assert result["mde"] == pytest.approx(multiplier * 0.01)
    assert result["mde"] == pytest.approx(0.0536, abs=1e-4)  # ~5.4 x SE, not 2.8 x SE
    assert result["high"] == pytest.approx(stats.t(2).ppf(0.975) * 0.01)


def test_projected_mde_at_the_measured_seeds_brackets_the_measured_one():
    """Projected to the seeds it was measured with, the MDE spans the normal's multiplier to
    t's with seeds - 1 df; more seeds shrink both ends as sqrt(seeds / planned)."""
    low, high = projected_mde(0.01, 3, 3, Design())
    assert low == pytest.approx((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * 0.01)
    assert high == pytest.approx(_tests(0.0, 0.01, 2, 0.02, Design())["mde"])
    low12, high12 = projected_mde(0.01, 3, 12, Design())
    assert low12 == pytest.approx(low / 2) and low12 < high12 < high / 2


def test_compare_models_finds_a_real_difference_between_single_seed_models():
    from reviewlab.core.evaluation.compare import Runs, compare_models

    rng = np.random.default_rng(2)
    truth = rng.choice([1, 2, 3, 4, 5], 400)
    good, bad = (truth + rng.normal(0, sd, 400) for sd in (0.3, 0.6))
    models = {name: Runs.single(e, np.rint(e)) for name, e in (("good", good), ("bad", bad))}
    [result] = compare_models(
        models, truth, [("good", "bad")], {"rmse": False}, {"rmse": 0.02}, Design()
    )
    assert (result["model"], result["reference"], result["metric"]) == ("good", "bad", "rmse")
    assert result["verdict"] == "better" and result["seeds"] == 1
    assert result["high"] < 0 and result["mde"] > 0


def test_cutpoints_move_off_rounding_for_a_compressed_regressor():
    rng = np.random.default_rng(3)
    truth = rng.choice([4, 5], 500, p=[0.3, 0.7])
    estimate = 4.05 + 0.3 * (truth == 5) + rng.normal(0, 0.05, 500)  # all below 4.5
    rounded = np.mean(np.rint(estimate) == truth)
    cuts = fit_cutpoints(estimate, truth)
    assert cuts == sorted(cuts) and len(cuts) == 4
    assert np.mean(decode(estimate, cuts) == truth) > max(rounded, 0.7) + 0.1


def test_cutpoints_keep_rounding_for_a_perfect_model():
    truth = np.repeat([1, 2, 3, 4, 5], 20)
    assert fit_cutpoints(truth.astype(float), truth) == [1.5, 2.5, 3.5, 4.5]
    assert decode(np.array([1.49, 1.5, 4.7]), [1.5, 2.5, 3.5, 4.5]).tolist() == [1, 2, 5]


def test_failure_relative_to_the_base_rate():
    positive = np.r_[np.ones(96), np.zeros(4)]
    assert not failure("better", positive, {1: 0.948, 0: 0.052})["failed"]
    collapsed = failure("better", np.r_[np.full(99, 2), [0]], {0: 0.4, 2: 0.2})
    assert collapsed["failure"] == COLLAPSED_ONTO_RARE_CLASS
    assert failure("inconclusive", positive, {1: 0.9})["failure"] == NOT_BETTER_THAN_TRIVIAL
    assert failure("worse")["failed"] and not failure(None, positive, {1: 0.5})["failed"]
