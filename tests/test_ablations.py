"""Ablation grid: config merging, text noise, paired bootstrap and the facts its findings
state (phrased at render time from ``ablations_summary.json``)."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from reviewlab.core.compose import deep_merge, variant_config
from reviewlab.core.config import load_params
from reviewlab.core.io import write_json
from reviewlab.core.params import RobustnessParams
from reviewlab.data.robustness import perturb, perturb_texts, typo
from reviewlab.models.variants import noise_subset
from reviewlab.reporting import grid_report, model_findings
from tests.conftest import evaluation_block


def changed_fraction(original: list[str], perturbed: list[str]) -> float:
    """Share of words that differ (by position-free multiset count) between the two versions."""
    total = changed = 0
    for a, b in zip(original, perturbed, strict=True):
        before, after = Counter(a.split()), Counter(b.split())
        total += sum(before.values())
        changed += sum((before - after).values())
    return changed / total if total else 0.0


def test_deep_merge_is_strict_and_leaves_base_alone():
    base = {"a": 1, "b": {"c": 2, "d": 3}}
    assert deep_merge(base, {"b": {"c": 9}}, "x") == {"a": 1, "b": {"c": 9, "d": 3}}
    assert base["b"]["c"] == 2
    with pytest.raises(KeyError, match=r"x\.b\.typo is not a finetune parameter"):
        deep_merge(base, {"b": {"typo": 1}}, "x")


def test_every_committed_variant_resolves_on_the_shared_budget():
    params = load_params()
    budget = params.ablations.budget
    for variant in params.ablations.variants:
        cfg = variant_config(params, variant)
        assert cfg.name == variant
        assert cfg.max_train_rows == budget["max_train_rows"]
        assert cfg.train.epochs == budget["train"]["epochs"]
    assert variant_config(params, "pgd").adversarial.method == "pgd"
    assert variant_config(params, "max_length_256").input.max_length == 256
    assert variant_config(params, "plain").input.max_length == budget["input"]["max_length"]
    with pytest.raises(KeyError, match="ablations.variants.nope is not defined"):
        variant_config(params, "nope")


def test_noise_is_seeded_per_row_and_scales_with_level():
    text = " ".join(f"word{i}abc" for i in range(4000))
    rng = np.random.default_rng
    assert perturb(text, 0.0, rng(0)) == text
    assert perturb(text, 0.2, rng(1)) == perturb(text, 0.2, rng(1))
    low, high = (changed_fraction([text], [perturb(text, p, rng(2))]) for p in (0.1, 0.25))
    assert 0.07 < low < 0.13 and 0.2 < high < 0.3
    assert perturb("one two", 1.0, rng(3)).split()  # never empties a review
    texts, keys = ["good strings here", "bad guitar cable"], ["r1", "r2"]
    forward = perturb_texts(texts, keys, 0.5, seed=7)
    assert perturb_texts(texts[::-1], keys[::-1], 0.5, seed=7) == forward[::-1]
    with pytest.raises(ValueError, match="noise level"):
        perturb("x", 1.5, rng(0))


def test_typo_changes_one_letter_or_swaps_two():
    rng = np.random.default_rng(0)
    for _ in range(50):
        out = typo("guitar", rng)
        assert len(out) == 6 and out != "guitar" or sorted(out) == sorted("guitar")
    assert typo("1234", rng) == "1234"


def test_noise_subset_is_fixed():
    test = pd.DataFrame({"review_id": [f"r{i}" for i in range(50)]})
    cfg = RobustnessParams(seed=0, rows=10, levels={})
    assert len(noise_subset(test, cfg)) == 10
    assert noise_subset(test, cfg).equals(noise_subset(test, cfg))
    assert len(noise_subset(test, RobustnessParams(seed=0, rows=None, levels={}))) == 50


def _predictions(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 6, n)
    frames = []
    for variant, noise in (("plain", 0.9), ("good", 0.3), ("twin", 0.9)):
        for seed in (1, 2, 3):
            source = np.random.default_rng(seed) if variant != "good" else rng
            estimate = truth + source.normal(0, noise, n)
            frames.append(_run(truth, estimate, variant, seed))
    return pd.concat(frames, ignore_index=True)


def _run(truth: np.ndarray, estimate: np.ndarray, variant: str, seed: int) -> pd.DataFrame:
    """One run's test predictions in the layout the grid writes."""
    return pd.DataFrame(
        {
            "review_id": [f"r{i}" for i in range(len(truth))],
            "set": "test",
            "prediction": estimate,
            "predicted_class": np.clip(np.rint(estimate), 1, 5).astype(int),
            "label": truth,
            "variant": variant,
            "seed": seed,
        }
    )


def _evaluation(n_bootstrap: int = 200):
    from reviewlab.core.params import EvaluationParams

    return EvaluationParams(**evaluation_block(n_bootstrap))


def test_paired_differences_find_the_real_gain_and_no_fake_one():
    diffs = grid_report.differences(
        _predictions(), [("good", "plain"), ("twin", "plain")], _evaluation()
    )
    rmse = diffs[diffs["metric"] == "rmse"].set_index("variant")
    assert rmse.loc["good", "verdict"] == "better" and rmse.loc["good", "difference"] < -0.3
    assert rmse.loc["twin", "difference"] == pytest.approx(0.0, abs=1e-12)  # same seeds' noise
    assert rmse.loc["twin", "verdict"] == "equivalent"
    assert rmse.loc["good", "low"] <= rmse.loc["good", "difference"] <= rmse.loc["good", "high"]
    assert len(rmse.loc["good", "per_seed"]) == 3


def test_one_lucky_seed_is_not_better():
    """A gain carried by one seed of three is seed luck: the t interval (2 df) includes 0."""
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 6, 400)
    noise = {s: np.random.default_rng(s).normal(0, 0.9, 400) for s in (1, 2, 3)}
    frames = []
    for variant in ("plain", "shaky"):
        for seed in (1, 2, 3):
            estimate = truth + (noise[seed] / 3 if (variant, seed) == ("shaky", 1) else noise[seed])
            frames.append(_run(truth, estimate, variant, seed))
    diffs = grid_report.differences(pd.concat(frames), [("shaky", "plain")], _evaluation())
    rmse = diffs[diffs["metric"] == "rmse"].iloc[0]
    assert rmse["difference"] < -0.1
    assert rmse["verdict"] == "inconclusive" and rmse["high"] >= 0


def test_runs_must_share_test_rows():
    predictions = _predictions()
    predictions = predictions.drop(index=predictions.index[-1])
    with pytest.raises(ValueError, match="same test rows"):
        grid_report.variant_runs(predictions)


def test_comparison_pairs():
    from reviewlab.core.params import AblationParams

    grid = AblationParams.model_construct(
        reference="plain", compare={"ls": "cls", "gone": "plain", "x": "missing"}
    )
    assert grid_report.comparison_pairs(grid, ["plain", "ls", "cls"]) == [
        ("ls", "plain"),
        ("cls", "plain"),
        ("ls", "cls"),
    ]


def _grid_params(grid: dict, n_bootstrap: int):
    """The partial params the ``ablations`` stage receives (its dvc.yaml keys)."""
    from reviewlab.core.params import partial

    ablations = {
        "dataset": "shop",
        "valid_rows": 0,
        "train_rows": 0,
        "test_rows": None,
        "tuning": {"variants": [], "trials": ["t1"], "seeds": [1], "space": {}},
        **grid,
        "robustness": {"seed": 0, "rows": None, **grid["robustness"]},
    }
    return partial(
        {
            "profile": "cpu",
            "ablations": ablations,
            "evaluation": evaluation_block(n_bootstrap),
        }
    )


def test_build_writes_summary_and_generated_findings(tmp_path):
    from reviewlab.core.artifacts import Catalogue
    from reviewlab.stages import ablations

    predictions = _predictions()
    levels = {"noise_10": 0.1}
    for (variant, seed), part in predictions.groupby(["variant", "seed"]):
        folder = tmp_path / "artifacts" / "shop" / "ablations" / f"{variant}-{seed}"
        folder.mkdir(parents=True)
        noisy = part.assign(set="noise_10", prediction=part["prediction"] + 0.5)
        pd.concat([part, noisy]).drop(columns=["variant", "seed"]).to_parquet(
            folder / "predictions.parquet"
        )
        base = 0.5 if variant == "good" else 0.9
        metrics = {m: base for m in ("rmse", "mae", "accuracy", "macro_f1", "qwk")}
        out = tmp_path / "metrics" / "shop" / "ablations"
        write_json(
            out / f"{variant}-{seed}.json",
            {
                "variant": variant,
                "seed": seed,
                "valid": metrics,
                "test": metrics,
                "test_noise_rows": metrics,
                "noise_10": {**metrics, "rmse": base + (0.1 if variant == "good" else 0.3)},
            },
        )
        write_json(
            out / f"{variant}-{seed}_runtime.json",
            {
                "train_seconds": 20.0 if variant == "good" else 10.0,
                "total_seconds": 30.0,
                "peak_rss_gib": 2.0,
                "train_rows": 100,
            },
        )
    features = tmp_path / "artifacts" / "shop" / "features"
    features.mkdir()
    pd.DataFrame({"split": ["train"] * 3 + ["test"], "rating": [4, 5, 5, 1]}).to_parquet(
        features / "table.parquet"
    )
    stale = out / "removed-1.json"  # a variant no longer in params: never read
    stale.write_text("not json")
    grid = {
        "reference": "plain",
        "compare": {},
        "budget": {"max_train_rows": 100},
        "robustness": {"levels": levels},
        "variants": {"plain": {}, "good": {}, "twin": {}, "removed": {}},
        "grid": ["plain", "good", "twin"],  # a defined variant outside the grid: never read
        "seeds": [1, 2, 3],
    }
    catalogue = Catalogue(tmp_path)
    with pytest.raises(FileNotFoundError, match="plain-4.json"):
        ablations.run(_grid_params({**grid, "seeds": [1, 2, 3, 4]}, 5), catalogue)
    result = ablations.run(_grid_params(grid, 100), catalogue)
    assert result.cost.loc["good", "cost_vs_reference"] == 2.0
    assert result.robustness.loc["good", "drop_noise_10"] == pytest.approx(0.1)
    summary = json.loads((tmp_path / "metrics" / "shop" / "ablations_summary.json").read_text())
    assert "findings" not in summary and summary == result.metrics  # words: at render time
    assert summary["runs"] == 9 and summary["test_rows"] is None
    assert summary["budget"] == {"max_train_rows": 100} and summary["seeds"] == [1, 2, 3]
    good = summary["variants"]["good"]
    assert good["vs_reference"]["rmse"]["verdict"] == "better"
    assert set(good["vs_reference"]["rmse"]) >= {"difference", "low", "high", "mde", "margin"}
    verdicts = ("better", "worse", "equivalent", "inconclusive")
    assert good["robustness"]["noise_10"]["verdict"] in verdicts
    assert good["vs_training_mean"]["verdict"] == "better" and not good["failed"]
    facts = model_findings.ablations_facts(result)
    assert facts["reference"] == "plain" and facts["max_train_rows"] == 100
    assert facts["floor"]["train_mean"] == pytest.approx(14 / 3, abs=1e-4)
    assert facts["floor_gap"] == pytest.approx(facts["floor"]["rmse"] - 0.9, abs=1e-6)
    assert facts["below_floor"] and facts["train_rows"] == 100 and facts["failed"] == []
    rmse = facts["groups"][0]
    assert (rmse["metric"], rmse["count"], rmse["margin"]) == ("rmse", 2, 0.02)
    assert (rmse["better"], rmse["equivalent"], rmse["worse"]) == (["good"], ["twin"], [])
    assert list(facts["verdicts"]) == ["good", "twin"]
    assert facts["robustness"]["level"] == "noise_10"
    assert facts["robustness"]["rise"] == pytest.approx(0.3)
    assert facts["robustness"]["variants"]["good"]["verdict"] == "worse"  # rises 0.1 + 0.5 vs 0.3
    found = model_findings.ablations(result)
    assert len(found.summary) == 5 and found.conclusion.count("**") == 4
    assert "4.5 min" in model_findings.budget_line(result)  # 9 runs x 30 s


def test_majority_shares_count_clean_test_rows():
    predictions = pd.DataFrame(
        {
            "variant": ["plain"] * 4 + ["cls"] * 4,
            "set": ["test"] * 3 + ["noise"] + ["test"] * 4,
            "predicted_class": [5, 4, 3, 5, 5, 5, 5, 4],
        }
    )
    shares = grid_report.majority_shares(predictions, 5)
    assert shares.to_dict() == {"plain": pytest.approx(1 / 3), "cls": 0.75}


def _comparison(difference: float, verdict: str, margin: float = 0.02) -> dict:
    return {
        "difference": difference,
        "low": difference - 0.03,
        "high": difference + 0.03,
        "seeds": 3,
        "per_seed": [difference - 0.01, difference, difference + 0.01],
        "margin": margin,
        "se": 0.0081,
        "mde": 0.032,
        "verdict": verdict,
    }


def _variant(test_rmse: float, verdicts: dict[str, str] | None, **extra) -> dict:
    """One variant of ``ablations_summary.json`` (``verdicts``: None for the reference)."""
    vs = {m: _comparison(0.01, v) for m, v in (verdicts or {}).items()}
    robust = {} if verdicts is None else {"noise_10": _comparison(0.0, "equivalent")}
    return {
        "test": {"rmse": test_rmse, "accuracy": 0.69},
        "vs_reference": vs,
        "vs_training_mean": _comparison(-0.2, "better"),
        "failed": False,
        "robustness": robust,
        "rmse_drop": {"noise_10": 0.0127},
        "majority_share": 0.8,
        "collapsed": False,
        **extra,
    }


def _summary() -> dict:
    """A realistic ``ablations_summary.json``: a fitted reference, one variant collapsed onto
    the majority rating, one failed."""
    fit = {"train_rmse": 0.3336, "valid_rmse": 0.6707, "test_rmse": 0.6984, "gap": 0.3371}
    fit |= {"steps": 124.3333, "best_step": 91.0, "min_before_end": 1.0}
    return {
        "profile": "cpu",
        "hardware": "AMD EPYC, 2 cores, no GPU",
        "budget": {"max_train_rows": 500, "input": {"max_length": 64}},
        "seeds": [1, 2, 3],
        "runs": 9,
        "test_rows": 1026,
        "reference": "plain",
        "inference": {"level": 0.95, "power": 0.8, "correction": "holm"},
        "constant_floor": {"train_mean": 4.4885, "rmse": 0.8964, "majority": 5, "accuracy": 0.68},
        "variants": {
            "plain": _variant(0.6984, None, fit=fit),
            "fgm": _variant(0.71, {"rmse": "inconclusive", "accuracy": "worse"}),
            "cls": _variant(
                0.9, {"rmse": "worse", "accuracy": "better"}, majority_share=0.9712, collapsed=True
            ),
        },
    }


def test_grid_facts_come_from_the_summary_numbers():
    summary = _summary()
    summary["variants"]["cls"]["failed"] = True
    facts = grid_report.grid_facts(summary)
    assert facts["reference"] == "plain" and facts["variant_count"] == 3
    assert (facts["max_train_rows"], facts["max_length"], facts["test_rows"]) == (500, 64, 1026)
    assert facts["floor_gap"] == pytest.approx(0.198) and facts["below_floor"]
    assert facts["collapsed"] == ["cls"] and facts["collapsed_min"] == 0.9712
    assert facts["failed"] == ["cls"] and facts["overfits"]
    assert facts["power"] == 0.8 and facts["collapse_share"] == grid_report.COLLAPSED
    assert list(facts["verdicts"]) == ["fgm", "cls"]
    assert list(facts["robustness"]["variants"]) == ["cls", "fgm"]  # by name
    assert facts["robustness"]["rise"] == 0.0127
    summary["variants"]["plain"]["fit"]["min_before_end"] = 0.0
    summary["variants"]["plain"]["test"]["rmse"] = 0.95
    facts = grid_report.grid_facts(summary)
    assert not facts["overfits"] and not facts["below_floor"]
    assert facts["floor_gap"] == pytest.approx(0.0536)


def test_power_table_projects_each_compared_variant_and_the_grid_time():
    summary = _summary()
    table = grid_report.power_table(summary, {"grid_seconds": 600.0})
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert [r.split(" | ")[0] for r in rows[1:]] == ["| fgm", "| cls", "| grid wall time"]
    mde = summary["variants"]["fgm"]["vs_reference"]["rmse"]["mde"]
    assert rows[1].split(" | ")[1] == f"{mde:.3f}"
    assert rows[-1].endswith("| ~20 min | ~27 min | ~33 min |")  # 10 min at 3 seeds: 6, 8, 10


def test_grid_findings_render_every_sentence_from_the_summary():
    summary = _summary()
    summary["variants"]["cls"]["failed"] = True
    lines = grid_report.grid_lines(summary)
    # budget, floor, collapsed, failed, fit, 2 metric groups, 2 verdicts, robustness
    assert len(lines) == 10
    text = "\n".join(lines)
    assert "None" not in text and "nan" not in text and "{" not in text
    assert "0.8964" in text and "1,026" in text and "95%" in text and "97%" in text
    costs = {"plain": 1.0, "fgm": 1.5, "cls": 1.1}
    block = grid_report.markdown(summary, {"grid_seconds": 600.0, "cost_vs_reference": costs})
    assert block.count("\n- ") == 10 and "grid time inside the runs 10 min" in block
    bare = _summary()
    for entry in bare["variants"].values():
        entry.pop("fit", None)
        entry["robustness"], entry["rmse_drop"] = {}, {}
    assert len(grid_report.grid_lines(bare)) == 7  # no fit, no failed, no robustness


def test_constant_floor_scores_the_test_rows_once():
    rows = pd.DataFrame(
        {
            "review_id": ["a", "b", "a", "b"],
            "set": ["test", "test", "test", "noise"],
            "label": [5, 3, 5, 3],
        }
    )
    floor = grid_report.constant_floor(rows, pd.Series([4, 5, 5, 3]))
    assert floor == {
        "train_mean": 4.25,
        "rmse": pytest.approx(1.0308, abs=1e-4),
        "majority": 5,
        "accuracy": 0.5,
    }


def test_grid_facts_group_variants_by_verdict():
    variants = {"plain": _variant(0.7, None)}
    for name, verdict in (("fgm", "inconclusive"), ("pgd", "worse"), ("rdrop", "equivalent")):
        variants[name] = _variant(0.7, {m: verdict for m in grid_report.HEADLINE})
    groups = grid_report.grid_facts({**_summary(), "variants": variants})["groups"]
    assert [(g["metric"], g["higher_is_better"], g["count"]) for g in groups] == [
        ("rmse", False, 3),
        ("accuracy", True, 3),
    ]
    assert (groups[0]["better"], groups[0]["worse"]) == ([], ["pgd"])
    assert (groups[0]["equivalent"], groups[0]["inconclusive"]) == (["rdrop"], ["fgm"])
