"""The Limitations block (issue #24): its facts follow the numbers (unconverged runs, failed or
collapsed models, budgets other than the headline's, tests too weak for their margin) and
every template that shows it renders them without a blank."""

from __future__ import annotations

import pandas as pd
import pytest

from reviewlab.reporting import front, grid_report, limitations, model_findings, prose
from reviewlab.reporting.results import results_frame
from tests.test_ablations import _summary
from tests.test_model_findings import _baselines, _entry, _finetune_result, _rmse, blank_free


def test_low_power_keeps_the_tests_whose_mde_exceeds_the_margin():
    weak, strong = _rmse("a", "b", 0.01, "inconclusive"), _rmse("c", "b", 0.01, "equivalent")
    strong["mde"] = 0.015
    assert limitations.low_power([weak, strong, {"model": "d", "reference": "b"}]) == [
        {"model": "a", "reference": "b", "mde": 0.045, "margin": 0.02}
    ]


@pytest.mark.parametrize(
    ("selected", "seeds", "improving"),
    [
        ({"best_step": 40, "last_eval_step": 80, "converged": True}, 1, None),
        ({"best_step": 80, "last_eval_step": 80, "converged": False}, 1, 1),
        ({"best_step": 70, "last_eval_step": 80, "converged": False, "converged_seeds": 1}, 3, 2),
        ({"best_step": None}, 1, None),
    ],
)
def test_a_run_still_improving_at_its_last_evaluation_is_unconverged(selected, seeds, improving):
    found = limitations.unconverged_run("finetune", selected, seeds)
    assert [u["improving"] for u in found] == ([] if improving is None else [improving])


def test_budget_names_only_what_differs():
    assert limitations.budget("plain", 0.7, "finetune", 0.55, test_rows=(100, 100)) == []
    (found,) = limitations.budget(
        "plain", 0.7, "finetune", 0.55, training_rows=(500, 8202), test_rows=(100, 100)
    )
    assert found["differences"] == [{"what": "training rows", "here": 500, "headline": 8202}]


def test_page_facts_carry_their_limitations():
    base = model_findings.baselines_facts(_baselines(), 17, "amazon", 0.8)["limits"]
    assert [f["model"] for f in base["failed"]] == ["tfidf_ridge"]
    assert {(p["reference"], p["mde"]) for p in base["low_power"]} == {
        ("tfidf_logreg", 0.045),
        ("mean_majority", 0.045),
    }
    stuck = {"best_step": 80, "last_eval_step": 80, "converged": False}
    tuned = model_findings.finetune_facts(_finetune_result(stuck, []), 0.8)["limits"]
    assert tuned["unconverged"][0]["step"] == 80 and tuned["power"] == 0.8
    done = {"best_step": 40, "last_eval_step": 80, "converged": True}
    assert not model_findings.finetune_facts(_finetune_result(done, []), 0.8)["limits"][
        "unconverged"
    ]


def test_grid_limits_flag_unconverged_failed_collapsed_and_weak_tests():
    summary = _summary()
    summary["variants"]["cls"]["failed"] = True
    summary["variants"]["plain"]["fit"]["min_before_end"] = 1 / 3
    found = grid_report.grid_facts(summary)["limits"]
    assert found["unconverged"] == [{"model": "plain", "share": pytest.approx(2 / 3)}]
    assert [f["model"] for f in found["failed"]] == ["cls"]
    assert found["collapsed"] == [{"model": "cls", "share": 0.9712}]
    assert [(p["model"], p["mde"]) for p in found["low_power"]] == [("fgm", 0.032), ("cls", 0.032)]


def _index_inputs():
    fine = {"models": {"finetune": _entry(0.60, 0.555)}, "comparisons": {"vs_best": []}}
    fine["models"]["finetune"]["selected"] = {"best_step": 9, "last_eval_step": 9}
    table = results_frame([("amazon", "baselines", _baselines()), ("amazon", "finetune", fine)])
    table["n"] = 1026
    return table, {"amazon": _summary()}, {"amazon": (fine, {"train_rows": 8202})}


def test_index_limits_explain_two_plain_scores_and_two_mean_baselines():
    table, grids, finetunes = _index_inputs()
    grids["amazon"]["test_rows"] = 500
    found = front.index_limits(table, grids, finetunes)
    grid_plain, grid_mean = sorted(found["budgets"], key=lambda b: b["headline"])
    assert (grid_mean["rmse"], grid_mean["headline_rmse"]) == (0.8964, 0.896)
    assert grid_mean["differences"] == [{"what": "test rows", "here": 500, "headline": 1026}]
    assert (grid_plain["rmse"], grid_plain["headline_rmse"]) == (0.6984, 0.555)
    assert [d["what"] for d in grid_plain["differences"]] == ["training rows", "test rows"]
    assert [u["model"] for u in found["unconverged"]] == ["finetune (amazon)"]
    grids["amazon"]["test_rows"] = None  # all test rows: the training mean is the baseline's
    assert len(front.index_limits(table, grids, finetunes)["budgets"]) == 1


def test_the_limits_block_renders_every_kind_and_the_all_clear():
    table, grids, finetunes = _index_inputs()
    grids["amazon"]["variants"]["cls"]["failed"] = True
    lines = front.index_limitations(table, grids, finetunes)
    kinds = [line.split("**")[1] for line in lines]
    assert set(kinds) == {"Unconverged", "Failed", "Collapsed", "Different budget", "Low power"}
    assert all(blank_free(line) for line in lines)
    clear = prose.bullets(prose.macro("rating", {"limits": limitations.limits(0.8)}, "limitations"))
    assert len(clear) == 1 and "**" not in clear[0]


@pytest.mark.parametrize("template", ["baselines", "finetune", "ablations"])
def test_each_model_page_renders_its_limitations(template):
    stuck = {"best_step": 80, "last_eval_step": 80, "converged": False}
    facts = {
        "baselines": lambda: model_findings.baselines_facts(_baselines(), 17, "amazon", 0.8),
        "finetune": lambda: model_findings.finetune_facts(_finetune_result(stuck, []), 0.8),
        "ablations": lambda: {
            **grid_report.grid_facts(_summary()),
            "train_rows": 500,
            "grid_minutes": 10.0,
        },
    }[template]()
    found = prose.findings(template, facts)
    assert found.limitations and all(blank_free(line) for line in found.limitations)
    assert all(line.startswith("**Low power**") or "**" in line for line in found.limitations)


def test_tuning_limits_name_chosen_candidates_still_improving():
    table = pd.DataFrame(
        {
            "variant": ["fgm", "fgm", "pgd"],
            "label": ["eps=0.1", "eps=0.5", "eps=0.1"],
            "chosen": [True, False, True],
            "converged": [1, 0, 3],
            "per_seed": [[0.7, 0.71, 0.69], [0.8, 0.8, 0.8], [0.7, 0.7, 0.7]],
        }
    )
    found = grid_report.tuning_limits(table)["unconverged"]
    assert found == [{"model": "fgm (eps=0.1)", "share": pytest.approx(2 / 3)}]
    lines = prose.bullets(grid_report.tuning_limitations(table))
    assert len(lines) == 1 and lines[0].startswith("**Unconverged**") and blank_free(lines[0])


def test_the_index_says_why_a_shown_model_failed():
    table, grids, finetunes = _index_inputs()
    finetunes["amazon"][0]["models"]["finetune"] |= {
        "failed": True,
        "failure": "collapsed_onto_rare_class",
    }
    table = results_frame(
        [("amazon", "baselines", _baselines()), ("amazon", "finetune", finetunes["amazon"][0])]
    ).assign(n=1026)
    (failed,) = front.index_limits(table, {}, finetunes)["failed"]
    assert failed == {"model": "finetune (amazon)", "why": "collapsed onto one class"}


def test_low_power_comparisons_share_one_bullet_per_margin():
    weak = [_rmse(m, "plain", 0.01, "inconclusive") for m in ("fgm", "pgd", "rdrop")]
    weak[1]["mde"] = 0.031
    facts = {"limits": limitations.limits(0.8, low_power=limitations.low_power(weak))}
    (line,) = prose.bullets(prose.macro("rating", facts, "limitations"))
    assert line.startswith("**Low power**: 3 comparisons could only detect")
    assert "fgm - plain 0.045, pgd - plain 0.031, rdrop - plain 0.045" in line
    assert "(80% power)" in line and "0.020 that matters" in line
