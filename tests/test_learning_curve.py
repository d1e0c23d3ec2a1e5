"""The learning curve (issue #26 item 4): declared by composition, configured per size, decided
on validation and compared per size through the paired inference."""

from __future__ import annotations

import copy
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import yaml

from reviewlab.core.compose import curve_config, variant_config
from reviewlab.core.config import load_params, validate_params
from reviewlab.core.params import EvaluationParams, LearningCurveParams, ParamsError
from reviewlab.models.encoder.run import _parts
from reviewlab.reporting import curve, grid_report
from reviewlab.stages.declared import pipeline
from tests.conftest import ROOT, evaluation_block
from tests.test_profiles import compose
from tests.test_stage_declarations import profile_pipeline

RAW = yaml.safe_load((ROOT / "params.yaml").read_text())


def test_the_extended_profile_declares_a_curve_paired_at_every_size(tmp_path):
    stages = profile_pipeline("extended")
    composed = validate_params(compose(ROOT / "conf", "extended", tmp_path / "params.yaml"))
    spec = composed.learning_curve
    runs = [name.split("@")[1].split("-") for name in stages if name.startswith("learn@")]
    assert len(runs) == 4 * 4 * 3 == len(spec.sizes) * len(spec.variants) * len(spec.seeds)
    by_point = Counter((d, int(n), int(s)) for d, n, _, s in runs)
    variants = {(d, int(n), int(s)): set() for d, n, _, s in runs}
    for d, n, v, s in runs:
        variants[(d, int(n), int(s))].add(v)
    assert set(by_point.values()) == {len(spec.variants)}  # every variant at every size x seed
    assert all(v == set(spec.variants) for v in variants.values())
    report = stages["learning_curve@amazon"]
    assert "metrics/amazon/learning_curve" in report.deps
    assert "reports/amazon/learning_curve.html" in report.outs


def test_the_default_profile_declares_no_curve():
    names = list(pipeline(ROOT))
    assert not [n for n in names if n.startswith(("learn@", "learning_curve"))]
    assert RAW["learning_curve"]["datasets"] == []


def test_a_run_is_its_variant_with_the_size_as_training_rows():
    params = load_params()
    for size in params.learning_curve.sizes:
        cfg = curve_config(params, "pgd", size)
        assert cfg.max_train_rows == size and cfg.adversarial.method == "pgd"
        same = variant_config(params, "pgd").model_dump() | {"max_train_rows": size}
        assert cfg.model_dump() == same


def test_a_seed_draws_nested_training_rows_shared_by_every_variant():
    params = load_params()
    frame = pd.DataFrame(
        {
            "review_id": [f"r{i}" for i in range(300)],
            "split": ["train"] * 250 + ["valid"] * 25 + ["test"] * 25,
        }
    )

    def trained(variant: str, size: int, seed: int) -> set[str]:
        return set(_parts(frame, curve_config(params, variant, size), seed)["train"]["review_id"])

    small, large = trained("plain", 50, 2), trained("plain", 200, 2)
    assert len(small) == 50 and small < large
    assert trained("fgm", 50, 2) == small  # the paired variant trains on the same rows
    assert trained("plain", 50, 3) != small  # another seed, another sample


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sizes": [1000, 500]}, "must increase"),
        ({"reference": "rdrop"}, "not in its variants"),
        ({"variants": ["plain", "nope"]}, "not in ablations.variants"),
        ({"datasets": ["shop"]}, "learning_curve.datasets 'shop' is not in datasets"),
    ],
)
def test_params_refuse_a_curve_that_cannot_run(change, message):
    raw = copy.deepcopy(RAW)
    raw["learning_curve"] |= change
    with pytest.raises(ParamsError, match=message):
        validate_params(raw)


# ---- the statistics, on constructed runs ---------------------------------------------------

SIZES, SEEDS, ROWS = [100, 400], [1, 2, 3], 300


def _runs() -> tuple[list[dict], pd.DataFrame, pd.Series]:
    """plain (noise 0.9), ``near`` (noise 0.5: better on test, worse on validation) and ``far``
    (noise 0.6, best on validation); at 100 rows plain is no better than the training mean."""
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 6, ROWS)
    noise = {"plain": 0.9, "near": 0.5, "far": 0.6}
    valid = {"plain": 0.9, "near": 0.8, "far": 0.7}
    runs, tables = [], []
    for size in SIZES:
        for variant, sd in noise.items():
            for seed in SEEDS:
                spread = 3.0 if (variant, size) == ("plain", 100) else sd
                estimate = truth + rng.normal(0, spread, ROWS)
                runs.append(
                    {
                        "size": size,
                        "variant": variant,
                        "seed": seed,
                        "valid": {"rmse": valid[variant] - size / 10_000},
                        "test": {"rmse": float(np.sqrt(np.mean((estimate - truth) ** 2)))},
                        "training": {"min_before_end": seed != 1 or size == 400},
                        "train_seconds": 10.0,
                    }
                )
                tables.append(
                    pd.DataFrame(
                        {
                            "review_id": [f"t{i}" for i in range(ROWS)],
                            "set": "test",
                            "prediction": estimate,
                            "predicted_class": np.clip(np.rint(estimate), 1, 5).astype(int),
                            "label": truth,
                            "size": size,
                            "variant": variant,
                            "seed": seed,
                        }
                    )
                )
    return runs, pd.concat(tables, ignore_index=True), pd.Series(rng.integers(1, 6, 1000))


@pytest.fixture(scope="module")
def payload() -> dict:
    spec = LearningCurveParams(
        datasets=["amazon"],
        sizes=SIZES,
        seeds=SEEDS,
        reference="plain",
        variants=["plain", "near", "far"],
    )
    raw, predictions, train = _runs()
    runs = pd.DataFrame(  # as the stage reads them: the grid's run rows, with their size
        grid_report.run_row(r["variant"], r["seed"], r, {"train_seconds": r["train_seconds"]})
        | {"size": r["size"]}
        for r in raw
    )
    return curve.summarise(
        spec, EvaluationParams(**evaluation_block(200)), runs, predictions, train
    )


def test_the_candidate_is_chosen_on_validation_not_test(payload):
    assert payload["chosen"] == "far"  # "near" is better on test, worse on validation
    assert payload["choice"]["means"]["far"] < payload["choice"]["means"]["near"]


def test_one_paired_comparison_per_size_and_metric_holm_across_sizes(payload):
    rmse = [c for c in payload["comparisons"] if c["metric"] == "rmse"]
    assert [(c["size"], c["model"], c["reference"]) for c in rmse] == [
        (100, "far", "plain"),
        (400, "far", "plain"),
    ]
    assert all(c["verdict"] == "better" and c["difference"] < 0 for c in rmse)
    assert {c["metric"] for c in payload["comparisons"]} >= {"rmse", "mae", "accuracy", "qwk"}


def test_a_run_no_better_than_the_training_mean_fails_and_cannot_pay(payload):
    points = payload["points"]
    assert points["100"]["plain"]["failed"] and not points["400"]["plain"]["failed"]
    assert not points["100"]["far"]["failed"]
    assert points["100"]["plain"]["converged_seeds"] == 2  # seed 1 still improving
    facts = curve.facts(payload)
    assert facts["pays_from"] == 100  # far beats plain and the training mean there
    limits = facts["limits"]
    assert {u["model"] for u in limits["unconverged"]} == {"plain@100", "near@100", "far@100"}
    assert [f["model"] for f in limits["failed"]] == ["plain@100"]


def test_the_report_phrases_the_numbers(payload):
    found = curve.findings(payload)
    assert found.summary[0].startswith("**Chosen on validation**: far")
    assert "from 100 training rows" in found.conclusion
    table = curve.rmse_table(payload)
    assert list(table["training rows"]) == SIZES and set(table["verdict"]) == {"better"}
