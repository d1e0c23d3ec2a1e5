"""Headline metrics and plot data (stage ``headlines``): what DVC's own commands compare.

The end-to-end checks (`dvc metrics show`, `dvc exp show`, `dvc metrics diff`, `dvc plots
show` on a tiny-profile repro) are in tests/test_compare_e2e.py; here the layout rules, on
small payloads and on the committed metrics.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.errors import ReviewlabError
from reviewlab.core.params import partial, read_params
from reviewlab.reporting import headline_rows
from tests.conftest import ROOT

#: `dvc metrics show` and `dvc exp show` must fit a terminal this wide (issue #17).
WIDTH = 200


def _test(rmse: float, **extra) -> dict:
    return {"rmse": rmse, "mae": 0.4, "accuracy": 0.7, "macro_f1": 0.45, "qwk": 0.6, **extra}


def _payloads() -> dict:
    baselines = {
        "models": {
            "mean_majority": {"test": _test(0.9, rmse_low=0.8, rmse_high=1.0)},
            "lightgbm": {"test": _test(0.65, rmse_low=0.6, rmse_high=0.7)},
        }
    }
    finetune = {"models": {"finetune": {"test": _test(0.55, rmse_low=0.51, rmse_high=0.6)}}}
    runtime = {"train_seconds": 833.6, "peak_rss_gib": 3.18, "train_rows": 8202}
    diff = {"difference": -0.0060664287, "low": -0.0337, "high": 0.0264, "verdict": "inconclusive"}
    summary = {
        "variants": {
            "plain": {"test": {}, "vs_reference": {}},
            "fgm": {"test": {}, "vs_reference": {"rmse": diff, "qwk": {**diff, "low": -0.1}}},
        }
    }
    task = {
        "models": {
            "finetune": {"macro_f1": 0.66, "macro_f1_low": 0.55, "macro_f1_high": 0.75},
            "majority": {"macro_f1": 0.49, "macro_f1_low": 0.48, "macro_f1_high": 0.49},
        }
    }
    bucket = {"recall": 0.1, "ndcg": 0.05, "users": 9, "ndcg_low": 0.04, "ndcg_high": 0.06}
    recommend = {
        "k": 10,
        "models": {
            "als": {"all": bucket, "tail": {**bucket, "ndcg": 0.01}, "coverage": 0.3},
            "popularity": {"all": {**bucket, "ndcg": 0.04}, "tail": bucket, "coverage": 0.02},
        },
    }
    return {
        "baselines": {"amazon": baselines, "clothing": baselines},
        "finetune": ("amazon", finetune, runtime),
        "ablations": ("amazon", summary),
        "tasks": {"polarity": task},
        "recommend": recommend,
        "segments": {
            "k": 3,
            "silhouette": [{"k": 2, "silhouette": 0.1}, {"k": 3, "silhouette": 0.2}],
        },
        "opinions": {"test_agreement": {"spearman_review_aspect": 0.1861}},
    }


def test_every_headline_row_and_its_values():
    rows = headline_rows.headline_metrics(**_payloads())
    assert list(rows) == sorted(rows)
    assert rows["amazon/finetune"] == {
        "rmse": 0.55,
        "rmse_low": 0.51,
        "rmse_high": 0.6,
        "mae": 0.4,
        "accuracy": 0.7,
        "macro_f1": 0.45,
        "qwk": 0.6,
        "train_seconds": 833.6,
        "peak_rss_gib": 3.18,
    }
    assert rows["clothing/lightgbm"] == {"metric": "rmse", "value": 0.65, "low": 0.6, "high": 0.7}
    # the reference variant has no row; a difference keeps 6 digits, like the detail files
    assert "amazon/ablations/plain" not in rows
    assert rows["amazon/ablations/fgm"] == {
        "metric": "rmse_diff",
        "value": -0.006066,
        "low": -0.0337,
        "high": 0.0264,
    }
    assert rows["polarity/majority"] == {
        "metric": "macro_f1",
        "value": 0.49,
        "low": 0.48,
        "high": 0.49,
    }
    assert rows["studies/recommend/popularity"]["metric"] == "ndcg@10"
    assert rows["studies/recommend/popularity"]["value"] == 0.04
    assert rows["studies/segments"] == {"metric": "silhouette", "value": 0.2}  # the chosen k
    assert rows["studies/opinions"] == {"metric": "spearman", "value": 0.1861}


def test_the_finetune_keys_are_its_own_and_the_other_rows_share_four():
    """`dvc exp show` names a column by its key alone only when no other metrics file has
    that key: the fine-tune's must be unique; every other row shares the generic keys."""
    rows = headline_rows.headline_metrics(**_payloads())
    finetune = set(headline_rows.FINETUNE_KEYS + headline_rows.RUNTIME_KEYS)
    assert set(rows.pop("amazon/finetune")) == finetune
    for name, values in rows.items():
        assert set(values) <= set(headline_rows.ROW_KEYS), name
        assert not set(values) & finetune, name
    assert all(
        isinstance(v, int | float) for r in rows.values() for k, v in r.items() if k != "metric"
    )


def test_a_task_named_like_a_dataset_is_refused():
    payloads = _payloads()
    payloads["tasks"] = {"amazon": payloads["tasks"]["polarity"]}
    with pytest.raises(ValueError, match="clash"):
        headline_rows.headline_metrics(**payloads)


def test_finetune_payload_with_two_models_is_refused():
    payloads = _payloads()
    dataset, payload, runtime = payloads["finetune"]
    two = {"models": {**payload["models"], "other": payload["models"]["finetune"]}}
    with pytest.raises(ValueError, match="expected one"):
        headline_rows.finetune_row(two, runtime)


def test_calibration_is_the_mean_prediction_per_true_rating_on_test():
    predictions = pd.DataFrame(
        {
            "split": ["test", "test", "test", "valid"],
            "rating": [5, 5, 1, 1],
            "prediction": [4.5, 4.0, 2.0, 9.0],
        }
    )
    table = headline_rows.calibration(predictions)
    assert table.to_dict("records") == [
        {"rating": 1, "predicted": 2.0, "ideal": 1.0, "n": 1},
        {"rating": 5, "predicted": 4.25, "ideal": 5.0, "n": 2},
    ]
    with pytest.raises(ValueError, match="no test rows"):
        headline_rows.calibration(predictions[predictions["split"] == "valid"])


def test_forest_has_a_row_per_metric_and_compared_variant():
    table = headline_rows.forest(_payloads()["ablations"][1])
    assert list(table.columns) == ["metric", "variant", "difference", "low", "high", "verdict"]
    assert table[["metric", "variant"]].values.tolist() == [["rmse", "fgm"], ["qwk", "fgm"]]
    assert table.loc[1, "low"] == -0.1


def test_transfer_forest_has_each_borrowed_model_vs_its_own_and_the_losses():
    def c(model, reference, metric="rmse", d=0.1):
        return {
            "model": model,
            "reference": reference,
            "metric": metric,
            "difference": d,
            "low": d - 0.05,
            "high": d + 0.05,
            "verdict": "worse",
        }

    payload = {
        "target": "clothing",
        "counterparts": {"finetune_from_amazon": "finetune", "lightgbm_from_amazon": "tfidf"},
        "comparisons": {
            "borrowed": [
                c("finetune_from_amazon", "finetune"),
                c("lightgbm_from_amazon", "tfidf"),
                c("finetune_from_amazon", "lightgbm_from_amazon", d=-0.2),  # not vs own
                c("finetune_from_amazon", "finetune", "mae"),
            ],
            "travels": [c("encoder", "baseline", "rmse_loss", d=-0.1)],
        },
    }
    table = headline_rows.transfer_forest([payload])
    assert table["comparison"].tolist() == [
        "clothing: finetune_from_amazon - finetune",
        "clothing: lightgbm_from_amazon - tfidf",
        "clothing: encoder loss - baseline loss",
    ]
    assert table["difference"].tolist() == [0.1, 0.1, -0.1]


def test_longtail_and_recommend_tables_keep_the_bucket_order():
    errors = [
        {"by": by, "model": m, "bucket": b, "n": 1, "rmse": 0.5, "mae": 0.4}
        for by in ("item", "user")
        for m in ("lightgbm", "finetune")
        for b in ("head", "torso", "tail")
    ]
    tables = headline_rows.longtail({"errors": errors})
    assert list(tables) == ["item", "user"]
    assert list(tables["item"].columns) == ["bucket", "model", "rmse", "mae", "n"]
    assert tables["user"]["bucket"].tolist()[:3] == ["head", "torso", "tail"]
    table = headline_rows.recommend(_payloads()["recommend"])
    assert table[["users", "model"]].values.tolist() == [
        ["all", "als"],
        ["all", "popularity"],
        ["tail", "als"],
        ["tail", "popularity"],
    ]


# ---- on the committed metrics --------------------------------------------------------------
def _committed() -> dict:
    """The payloads the stage reads, from the committed metrics/ (what main shows)."""
    raw = read_params(ROOT / "params.yaml")
    catalogue = Catalogue(ROOT)
    read = catalogue.read_metric
    grid = raw["ablations"]["dataset"]
    return {
        "baselines": {d: read(d, "baselines") for d in raw["datasets"]},
        "finetune": (grid, read(grid, "finetune"), read(grid, "finetune_runtime")),
        "ablations": (grid, read(grid, "ablations_summary")),
        "tasks": {t: read("tasks", t) for t in raw["tasks"]},
        "recommend": read("studies", "recommend"),
        "segments": read("studies", "segments"),
        "opinions": read("studies", "opinions"),
    }


def _dvc(args: list[str], cwd: Path) -> str:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "COLUMNS": str(WIDTH)}
    done = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_dvc_metrics_show_of_the_committed_results_fits_200_columns(tmp_path):
    """DVC's own table of main's headlines (computed from the committed metrics/, without
    the fine-tune's predictions): one row per file, every line at most 200 characters."""
    rows = headline_rows.headline_metrics(**_committed())
    for name, payload in rows.items():
        path = Path(Catalogue(tmp_path).headline(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2) + "\n")
    (tmp_path / "dvc.yaml").write_text("metrics:\n  - headlines\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    _dvc(["init", "-q"], tmp_path)
    lines = _dvc(["metrics", "show"], tmp_path).splitlines()
    assert len(lines) == 1 + len(rows)
    assert max(map(len, lines)) <= WIDTH, max(map(len, lines))
    header = lines[0].split()
    assert header[0] == "Path"
    assert set(header[1:]) == set(
        headline_rows.FINETUNE_KEYS + headline_rows.RUNTIME_KEYS + headline_rows.ROW_KEYS
    )


def test_stage_writes_headlines_and_plots_and_removes_stale_files(tmp_path):
    from reviewlab.stages import headlines

    shutil.copytree(ROOT / "metrics", tmp_path / "metrics")
    raw = read_params(ROOT / "params.yaml")
    catalogue = Catalogue(tmp_path)
    finetune = raw["ablations"]["dataset"]  # the calibration plot: the grid dataset's fine-tune
    predictions = catalogue.predictions(catalogue.finetune(finetune))
    params = partial(
        {
            "datasets": raw["datasets"],
            "tasks": raw["tasks"],
            "transfer": raw["transfer"],
            "ablations.dataset": finetune,
        }
    )
    with pytest.raises(ReviewlabError, match="predictions.parquet is missing"):
        headlines.run(params, catalogue)
    predictions.parent.mkdir(parents=True)
    pd.DataFrame(
        {"split": ["test", "test"], "rating": [1, 5], "prediction": [2.0, 4.5]}
    ).to_parquet(predictions)
    stale = catalogue.headline("amazon/removed_model")
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    result = headlines.run(params, catalogue)
    assert not stale.exists()
    written = sorted(
        p.relative_to(catalogue.headlines_dir()).with_suffix("").as_posix()
        for p in catalogue.headlines_dir().rglob("*.json")
    )
    assert written == list(result.metrics)
    assert (
        json.loads(catalogue.headline(f"{finetune}/finetune").read_text())
        == (result.metrics[f"{finetune}/finetune"])
    )
    plots = sorted(
        p.relative_to(catalogue.plots_dir()).as_posix()
        for p in catalogue.plots_dir().rglob("*.csv")
    )
    assert plots == sorted(f"{name}.csv" for name in result.plots)
    assert {"calibration.csv", "ablations.csv", "recommend.csv", "transfer.csv"} <= set(plots)
    assert all(not pd.read_csv(catalogue.plot_data(n)).empty for n in result.plots)


def test_readme_shows_dvc_metrics_show_of_the_committed_headlines(root):
    """docs/experiments.md pastes `dvc metrics show` as DVC prints it on main
    (`reviewlab readme` regenerates the block)."""
    from reviewlab.stages.report import dvc_output

    if not Catalogue(root).headlines_dir().is_dir():
        pytest.skip("headlines/ not generated yet: run `bin/reviewlab stage headlines`")
    readme = (root / "docs" / "experiments.md").read_text()
    block = readme.split("<!-- metrics-show:start -->\n", 1)[1].split("<!-- metrics-show:end -->")[
        0
    ]
    shown = dvc_output(root, "metrics", "show")
    assert block == f"```text\n$ dvc metrics show\n{shown.rstrip()}\n```\n", (
        "run `reviewlab readme`"
    )
    assert max(map(len, shown.splitlines())) <= WIDTH
