"""Comparing experiments with DVC's own commands (issue #17), on the tiny-profile repro.

- `dvc metrics show` is one table of the headline files (stage `headlines`) in 200 columns;
- after `dvc exp run -S datasets.amazon.finetune.train.lr=0.0003`, `dvc exp show
  --only-changed` in a 200-column terminal names the changed param and the fine-tune's headline
  metrics in full,
  and `dvc metrics diff` lists headline metrics only, in 200 columns;
- `dvc plots show` renders every plot dvc.yaml declares, each with data, and `dvc plots diff`
  draws the baseline and the experiment side by side.

The experiment runs in a copy of the session's tiny repo (the other end-to-end tests keep
theirs untouched).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.test_pipeline_e2e import run, tiny_repo  # noqa: F401  (the session fixture)

pytestmark = pytest.mark.slow

WIDTH = 200
EXPERIMENT = "lr3e-4"
CHANGED = "datasets.amazon.finetune.train.lr"  # one dataset's fine-tune
FINETUNE_ROW = "headlines/amazon/finetune.json"


def _fits(text: str) -> list[str]:
    lines = text.splitlines()
    widest = max(lines, key=len)
    assert len(widest) <= WIDTH, f"{len(widest)} characters: {widest[:120]}..."
    return lines


def test_metrics_show_is_the_headline_table_in_200_columns(tiny_repo):  # noqa: F811
    lines = _fits(run(["dvc", "metrics", "show"], tiny_repo).stdout)
    header, rows = lines[0].split(), lines[1:]
    assert header[0] == "Path"
    assert {"rmse", "rmse_low", "rmse_high", "qwk", "train_seconds", "metric", "value"} <= set(
        header
    )
    files = sorted(
        p.relative_to(tiny_repo).as_posix() for p in tiny_repo.glob("headlines/**/*.json")
    )
    assert sorted(row.split()[0] for row in rows) == files  # headlines only, one row each
    assert {f"headlines/{d}/lightgbm.json" for d in ("amazon", "clothing", "shop")} <= set(files)
    assert {"headlines/amazon/ablations/fgm.json", "headlines/polarity/finetune.json"} <= set(files)
    finetune = next(row.split() for row in rows if row.startswith(FINETUNE_ROW))
    assert sum(cell != "-" for cell in finetune[1:]) == 9  # its own nine columns, all filled


def test_plots_show_renders_every_declared_plot_with_data(tiny_repo):  # noqa: F811
    shown = json.loads(run(["dvc", "plots", "show", "--json"], tiny_repo).stdout)
    assert not shown.get("errors"), shown["errors"]
    plots = shown["data"]
    declared = yaml.safe_load((tiny_repo / "dvc.yaml").read_text())["plots"]
    for entry in declared:
        plot_id = next(iter(entry))
        if "$" in plot_id:  # the DVCLive folder: ${ablations.dataset}
            plot_id = plot_id.replace("${ablations.dataset}", "amazon")
        ids = (
            [k for k in plots if k.startswith(plot_id + "/")]
            if (tiny_repo / plot_id).is_dir()
            else [plot_id]
        )
        assert ids, f"{plot_id}: nothing rendered"
        for name in ids:
            (rendered,) = plots[name]
            assert rendered["type"] == "vega"
            assert rendered["content"]["data"]["values"], f"{name}: no data"
    groupings = {  # one long-tail plot per dataset and grouping (clothing has no user ids)
        f"plots/longtail/{f.parent.name}_{row['by']}.csv"
        for f in tiny_repo.glob("metrics/*/longtail.json")
        for row in json.loads(f.read_text())["errors"]
    }
    assert {k for k in plots if k.startswith("plots/longtail/")} == groupings


@pytest.fixture(scope="module")
def experiment(tiny_repo, tmp_path_factory) -> Path:  # noqa: F811
    """A copy of the tiny repo, committed, with one experiment `dvc exp run -S
    datasets.amazon.finetune.train.lr=0.0003` run in its workspace.

    The copy first spells amazon's learning rate out in its own block (the value it trained
    with: `dvc commit` records it without re-running anything), so the experiment re-trains
    amazon's fine-tune alone: the grid, the tasks and the other datasets' fine-tunes read
    `finetune`, which does not change."""
    work = tmp_path_factory.mktemp("compare") / "repo"
    shutil.copytree(tiny_repo, work, symlinks=True)
    params = yaml.safe_load((work / "params.yaml").read_text())
    lr = params["finetune"]["train"]["lr"]
    params["datasets"]["amazon"]["finetune"] = {"train": {"lr": lr}}
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "config", "user.name", "ci"], work)
    run(["git", "config", "user.email", "ci@localhost"], work)
    run(["dvc", "commit", "-f"], work)
    run(["git", "add", "-A"], work)
    run(["git", "commit", "-qm", "tiny baseline"], work)
    assert "changed" not in run(["dvc", "status"], work).stdout
    done = run(["dvc", "exp", "run", "-n", EXPERIMENT, "-S", f"{CHANGED}=0.0003"], work)
    trained = re.findall(r"Running stage '(\w+@[\w-]+)'", done.stdout)
    assert [s for s in trained if s.startswith(("finetune", "ablate", "task"))] == [
        "finetune@amazon"
    ], trained
    return work


def test_exp_show_only_changed_names_the_param_and_the_headlines(experiment):
    """What a user types in a 200-column terminal (`--no-pager` stands for the pager's own
    width): the experiment's row shows the changed param and every fine-tune headline that
    changed, each column named by its key alone and not collapsed to `…`."""
    changed = json.loads(run(["dvc", "metrics", "diff", "--json"], experiment).stdout)
    keys = sorted(changed[FINETUNE_ROW])
    assert "rmse" in keys
    out = run(
        ["dvc", "exp", "show", "--only-changed", "--no-pager"], experiment, COLUMNS=str(WIDTH)
    ).stdout
    lines = _fits(out)
    header = next(line for line in lines if "Experiment" in line)
    assert CHANGED in header
    for key in keys:
        assert f" {key} " in f"{header} ", f"{key} missing from {header!r}"
    assert "headlines/" not in header  # no `<path>:<key>` column: the keys are the fine-tune's
    row = next(line for line in lines if EXPERIMENT in line)
    assert "0.0003" in row


def test_metrics_diff_lists_headlines_only_in_200_columns(experiment):
    out = run(["dvc", "metrics", "diff", "HEAD", EXPERIMENT], experiment).stdout
    lines = _fits(out)
    assert lines[0].split()[:2] == ["Path", "Metric"]
    paths = {line.split()[0] for line in lines[1:]}
    assert FINETUNE_ROW in paths
    assert all(p.startswith("headlines/") for p in paths), paths


def test_plots_diff_draws_the_baseline_and_the_experiment(experiment):
    shown = json.loads(
        run(["dvc", "plots", "diff", "HEAD", EXPERIMENT, "--json"], experiment).stdout
    )["data"]
    for name in ("calibration", "metrics/amazon/finetune_live/plots/metrics/eval/rmse.tsv"):
        (rendered,) = shown[name]
        revisions = {point["rev"] for point in rendered["content"]["data"]["values"]}
        assert len(revisions) == 2, (name, revisions)
