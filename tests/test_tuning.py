"""Equal tuning of the ablation grid (pipeline tuning/dvc.yaml): candidates compose over the
budget, every tuned variant gets the same trials, the table chooses by mean validation RMSE,
and params.yaml holds the committed choices."""

from __future__ import annotations

import copy

import pytest

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.compose import trial_config
from reviewlab.core.config import load_params, validate_params
from reviewlab.core.io import read_json, write_json
from reviewlab.core.params import ParamsError, read_params
from reviewlab.reporting import prose
from reviewlab.reporting.grid_report import candidate_label, choice_facts, tuning_choices
from reviewlab.stages import tuning
from tests.conftest import ROOT

PARAMS = load_params()
GRID = PARAMS.ablations


def test_every_tuned_variant_gets_one_candidate_per_trial():
    raw = read_params(ROOT / "params.yaml")
    broken = copy.deepcopy(raw)
    del broken["ablations"]["tuning"]["space"]["fgm"]["t3"]
    with pytest.raises(ParamsError, match=r"tuning\.space\.fgm: needs one candidate per trial"):
        validate_params(broken)
    unknown = copy.deepcopy(raw)
    unknown["ablations"]["tuning"]["variants"].append("nope")
    unknown["ablations"]["tuning"]["space"]["nope"] = raw["ablations"]["tuning"]["space"]["fgm"]
    with pytest.raises(ParamsError, match="variant .nope. is not defined"):
        validate_params(unknown)


def test_a_candidate_composes_over_the_budget_as_its_variant():
    fgm = trial_config(PARAMS, "fgm", "t2")
    assert fgm.name == "fgm" and fgm.adversarial.method == "fgm"
    assert fgm.adversarial.epsilon == GRID.tuning.space["fgm"]["t2"]["adversarial"]["epsilon"]
    assert fgm.max_train_rows == GRID.budget["max_train_rows"]
    assert fgm.train.lr == GRID.budget["train"]["lr"]
    assert trial_config(PARAMS, "plain", "t3").train.lr == 3.0e-4
    with pytest.raises(KeyError):
        trial_config(PARAMS, "fgm", "t9")


def _run(variant: str, trial: str, seed: int, rmse: float, **extra) -> dict:
    return {
        "variant": variant,
        "trial": trial,
        "seed": seed,
        "valid": {"rmse": rmse},
        "selected": {"converged": seed != 1},
        "train_seconds": 10.0 * seed,
        "budget": GRID.budget,
        **extra,
    }


def test_the_table_chooses_the_lowest_mean_per_variant():
    runs = [
        _run("fgm", "t1", 1, 0.70),
        _run("fgm", "t1", 2, 0.80),
        _run("fgm", "t2", 1, 0.74),
        _run("fgm", "t2", 2, 0.74),
        _run("plain", "t1", 1, 0.9),
        _run("plain", "t1", 2, 0.9),
    ]
    table = tuning.tuning_table(runs).set_index(["variant", "trial"])
    assert table.loc[("fgm", "t1"), "mean"] == pytest.approx(0.75)
    assert table.loc[("fgm", "t1"), "sd"] == pytest.approx(0.0707, abs=1e-4)
    assert table.loc[("fgm", "t1"), "per_seed"] == [0.70, 0.80]
    assert table.loc[("fgm", "t1"), "converged"] == 1
    assert table["chosen"].to_dict() == {
        ("fgm", "t1"): False,
        ("fgm", "t2"): True,
        ("plain", "t1"): True,
    }


def _tiny_params(trials: dict[str, dict[str, float]], chosen_epsilon: float):
    """The project's params with two fgm trials and one seed, fgm set to ``chosen_epsilon``."""
    raw = read_params(ROOT / "params.yaml")
    raw["ablations"]["tuning"] |= {
        "variants": ["fgm"],
        "trials": list(trials),
        "seeds": [1],
        "space": {"fgm": {t: {"adversarial": {"method": "fgm", **v}} for t, v in trials.items()}},
    }
    raw["ablations"]["variants"]["fgm"] = {
        "adversarial": {"method": "fgm", "epsilon": chosen_epsilon}
    }
    return validate_params(raw)


def test_the_stage_writes_the_choice_and_flags_unapplied_or_stale_ones(tmp_path):
    trials = {"t1": {"epsilon": 0.1}, "t2": {"epsilon": 0.3}}
    catalogue = Catalogue(root=tmp_path)
    for trial, rmse in (("t1", 0.61), ("t2", 0.65)):
        write_json(catalogue.tuning_metric("amazon", "fgm", trial, 1), _run("fgm", trial, 1, rmse))

    applied = tuning.run(_tiny_params(trials, 0.1), catalogue)
    saved = read_json(catalogue.metric("amazon", "tuning"))
    assert saved["variants"]["fgm"]["chosen"] == "t1"
    assert saved["variants"]["fgm"]["trials"]["t2"]["per_seed"] == [0.65]
    assert saved["variants"]["fgm"]["in_params"] and not saved["variants"]["fgm"]["stale"]
    assert tuning.holds(_tiny_params(trials, 0.1), "fgm", "t1")

    unapplied = tuning.run(_tiny_params(trials, 0.3), catalogue)
    assert not unapplied.choices.loc[0, "in_params"]
    label = unapplied.table.assign(label=[candidate_label(c) for c in unapplied.table.candidate])
    [fact] = choice_facts(unapplied.choices, label)
    assert (fact["label"], fact["in_params"], fact["stale"]) == (
        "adversarial.epsilon=0.1",
        False,
        False,
    )
    assert [(t["label"], t["mean"], t["sd"]) for t in fact["scores"]] == [
        ("adversarial.epsilon=0.1", 0.61, None),
        ("adversarial.epsilon=0.3", 0.65, None),
    ]
    [line] = prose.bullets(tuning_choices(unapplied.choices, label))
    assert "**not applied**" in line and "`ablations.variants.fgm`" in line

    other_budget = {**GRID.budget, "max_train_rows": 100}
    path = catalogue.tuning_metric("amazon", "fgm", "t2", 1)
    write_json(path, _run("fgm", "t2", 1, 0.65, budget=other_budget))
    assert tuning.run(_tiny_params(trials, 0.1), catalogue).choices.loc[0, "stale"]
    assert applied.seeds == [1]


def test_params_hold_the_committed_tuning_choices():
    """The chosen candidates of metrics/<grid dataset>/tuning.json are what the grid runs."""
    path = Catalogue(root=ROOT).metric(GRID.dataset, "tuning")
    if not path.is_file():
        pytest.skip("the tuning pipeline has not run yet (dvc repro tuning/dvc.yaml)")
    saved = read_json(path)
    differ = {
        variant: entry["chosen"]
        for variant, entry in saved["variants"].items()
        if not tuning.holds(PARAMS, variant, entry["chosen"])
    }
    assert not differ, f"set ablations.variants to the tuned candidates: {differ}"
    assert not any(entry["stale"] for entry in saved["variants"].values())
