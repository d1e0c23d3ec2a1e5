"""End to end: `dvc repro` of a copy of the repo on a tiny profile (a few hundred rows).

The tiny profile also plugs in a third dataset through params.yaml alone: a CSV in another
schema, made here from real Amazon rows, read by the generic adapter.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
import yaml

from reviewlab.stages.declared import PIPELINES
from tests.conftest import AMAZON, ROOT

pytestmark = pytest.mark.slow

TINY = {
    "features": {
        "tfidf_word": {"max_features": 2000, "ngram_max": 2, "min_df": 2},
        "tfidf_char": {"max_features": 2000, "ngram_min": 2, "ngram_max": 4, "min_df": 2},
    },
    "baselines.bias_reg": [3, 10],
    "baselines.ridge_alpha": [1],
    "baselines.logreg_C": [10],
    "baselines.lightgbm.n_estimators": 60,
    "evaluation.n_bootstrap": 50,
    "finetune.max_train_rows": 64,
    "finetune.input.max_length": 64,
    "finetune.train.batch_size": 16,
    "finetune.train.max_steps": 4,
    "finetune.train.eval_every": 2,
    "finetune.train.log_every": 1,
    "ablations.seeds": [1, 2],
    "ablations.valid_rows": 20,
    "ablations.train_rows": 16,
    "ablations.test_rows": 24,
    "ablations.robustness.rows": 12,
    "ablations.budget": {
        "max_train_rows": 48,
        "max_valid_rows": 20,
        "input": {"max_length": 64, "head_tokens": 32},
        "train": {"epochs": 1, "max_steps": 4, "batch_size": 16, "eval_every": 2},
    },
    "ablations.tuning": {  # two variants x two trials x one seed
        "variants": ["plain", "fgm"],
        "trials": ["t1", "t2"],
        "seeds": [7],
        "space": {
            "plain": {"t1": {"train": {"lr": 1.0e-4}}, "t2": {"train": {"lr": 3.0e-4}}},
            "fgm": {
                "t1": {"adversarial": {"method": "fgm", "epsilon": 0.03}},
                "t2": {"adversarial": {"method": "fgm", "epsilon": 0.3}},
            },
        },
    },
    # the learning curve: no dataset in the cpu profile; here two sizes x two variants x one seed
    "learning_curve": {
        "datasets": ["amazon"],
        "sizes": [24, 48],
        "seeds": [1],
        "reference": "plain",
        "variants": ["plain", "fgm"],
    },
    "task_budget.test_rows": 40,
    "task_budget.valid_rows": 40,
    "task_budget.logreg_C": [10],
    "task_budget.finetune": {
        "max_train_rows": 120,
        "behaviour_features": False,
        "input": {"max_length": 64, "head_tokens": 32},
        "train": {"epochs": 1, "max_steps": 3, "batch_size": 16, "eval_every": None},
    },
    "embed.max_length": 32,
    "opinions.max_docs": 100,
    "opinions.min_mentions": 2,
    "segments.ks": [2, 3],
    "segments.pca_components": 4,
    "longtail.recommend": {
        "als_factors": [8],
        "als_regularization": [0.1],
        "hybrid_alpha": [0.25, 0.75],
    },
}
TINY_VARIANTS = ("plain", "fgm")  # the reference and one adversarial variant


def _set(params: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        params = params[key]
    params[last] = value


def make_shop_csv(path: Path, n: int = 300) -> None:
    """Real Amazon reviews re-shaped into another schema, plus two malformed rows."""
    with gzip.open(AMAZON, "rt", encoding="utf-8") as handle:
        records = [json.loads(next(handle)) for _ in range(n)]
    frame = pd.DataFrame(
        {
            "Comment ID": [f"c{i}" for i in range(n)],
            "Customer": [r["reviewerID"] for r in records],
            "Product Code": [r["asin"] for r in records],
            "Stars (1-5)": [int(r["overall"]) for r in records],
            "Headline": [r["summary"] for r in records],
            "Comment": [r["reviewText"] for r in records],
            "Posted": pd.to_datetime([r["unixReviewTime"] for r in records], unit="s").strftime(
                "%Y-%m-%d"
            ),
        }
    )
    frame.loc[0, "Stars (1-5)"] = 9  # quarantined: out of range
    frame.loc[1, "Comment"] = ""  # quarantined: missing text
    # one text posted by its user on a second variant of the product (another item id), as
    # in Amazon's 2018 files: the audit fails unless the dataset's `dedupe` keeps one copy
    variants = frame.iloc[10 : 10 + SHOP_VARIANTS].assign(
        **{
            "Comment ID": lambda f: f["Comment ID"] + "v",
            "Product Code": lambda f: f["Product Code"] + "-v2",
        }
    )
    pd.concat([frame, variants]).to_csv(path, index=False)


SHOP_VARIANTS = 40  # rows of shop.csv that repeat a review on another product variant
TRACE = ".opened-files.tsv"  # every file each stage opened during the tiny repro
TERMINAL = "repro-terminal.txt"  # what the tiny repro printed, beside the repo


def _env(**extra_env: str) -> dict[str, str]:
    """This interpreter's environment for `dvc` and the stages it runs."""
    env = {**os.environ, "REVIEWLAB_PYTHON": sys.executable, **extra_env}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def run(cmd: list[str], cwd: Path, **extra_env: str) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, env=_env(**extra_env), capture_output=True, text=True)
    assert result.returncode == 0, (
        f"{cmd} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result


_BUILT: list[Path] = []  # the session's one tiny repo (tests/test_compare_e2e.py imports it too)


@pytest.fixture(scope="session")
def tiny_repo(tmp_path_factory) -> Path:
    """Built once per session even where another module imports this fixture (pytest then
    holds one fixture definition per module, each with its own cache)."""
    if not _BUILT:
        _BUILT.append(_build_tiny_repo(tmp_path_factory))
    return _BUILT[0]


def _build_tiny_repo(tmp_path_factory) -> Path:
    if not AMAZON.is_file():
        pytest.skip("data not pulled; run `make data`")
    work = tmp_path_factory.mktemp("e2e") / "repo"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, work / name)
    shutil.copytree(ROOT / "data", work / "data")
    for generated in ("metrics", "reports", "dvc.lock", "tuning/runs", "tuning/dvc.lock"):
        path = work / generated
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    (work / "data-local").mkdir()  # a new dataset lives outside data/, so data.dvc never changes
    make_shop_csv(work / "data-local" / "shop.csv")

    params = yaml.safe_load((work / "params.yaml").read_text())
    for block in params["datasets"].values():
        block["max_rows"] = 300
        block.pop("finetune", None)  # the headline budgets: the tiny one is TINY's (shop: own)
    params["datasets"]["shop"] = {
        "adapter": "generic",
        "path": "data-local/shop.csv",
        "columns": {
            "review_id": "Comment ID",
            "user_id": "Customer",
            "item_id": "Product Code",
            "rating": "Stars (1-5)",
            "title": "Headline",
            "text": "Comment",
            "timestamp": "Posted",
        },
        "dedupe": ["user_id", "text"],  # one copy of a user's text across product variants
        "finetune": {"seeds": [3, 4]},  # a fine-tune reported as the mean of its seeds
    }
    # a dataset added by params joins the transfer study by params alone, too
    params["transfer"]["shop_to_amazon"] = {"source": "shop", "target": "amazon"}
    for dotted, value in TINY.items():
        _set(params, dotted, value)
    params["ablations"]["grid"] = list(TINY_VARIANTS)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "init", "-q"], work)  # a clone has history; DVCLive needs a commit
    run(["git", "add", "-A"], work)
    run(
        ["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost", "commit", "-qm", "copy"],
        work,
    )
    # the tiny params are written above, not composed from conf/ by `dvc exp run`
    run(["dvc", "config", "--local", "hydra.enabled", "false"], work)
    done = run(["dvc", "repro"], work, REVIEWLAB_TRACE_OPENS=str(work / TRACE))
    (work.parent / TERMINAL).write_text(done.stdout + done.stderr, encoding="utf-8")
    run(["dvc", "repro", "tuning/dvc.yaml"], work, REVIEWLAB_TRACE_OPENS=str(work / TRACE))
    return work


def _numbers(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from _numbers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _numbers(value)
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield node


def test_every_declared_output_exists(tiny_repo):
    from dvc.repo import Repo

    with Repo(str(tiny_repo)) as repo:
        outs = [Path(out.fs_path) for out in repo.index.outs if Path(out.fs_path).name != "data"]
    assert len(outs) >= 30
    missing = [str(p) for p in outs if not p.exists()]
    assert not missing, missing


def test_metrics_are_finite_and_complete(tiny_repo):
    files = sorted((tiny_repo / "metrics").glob("*/*.json"))
    finetune = json.loads((tiny_repo / "metrics/amazon/finetune.json").read_text())
    assert set(finetune["models"]["finetune"]) == {"selected", "valid", "test", "failed", "failure"}
    versus = finetune["comparisons"]["vs_baselines"]
    assert {c["reference"] for c in versus} == set(
        json.loads((tiny_repo / "metrics/amazon/baselines.json").read_text())["models"]
    )
    assert all(c["verdict"] in ("better", "worse", "equivalent", "inconclusive") for c in versus)
    runtime = json.loads((tiny_repo / "metrics/amazon/finetune_runtime.json").read_text())
    # evaluation and checkpoints inside train() are timed and left out of the training rate
    assert runtime["in_training_eval_seconds"] > 0
    assert runtime["train_samples_per_second_excluding_eval"] > runtime["train_samples_per_second"]
    assert {f.parent.name for f in files} == {
        *("amazon", "clothing", "shop", "tasks", "studies", "transfer")
    }
    for file in files:
        assert all(math.isfinite(x) for x in _numbers(json.loads(file.read_text()))), file
    for dataset in ("amazon", "clothing", "shop"):
        payload = json.loads((tiny_repo / "metrics" / dataset / "baselines.json").read_text())
        assert len(payload["models"]) == 5
        for entry in payload["models"].values():
            for split in ("valid", "test"):
                assert all(v is not None for v in entry[split].values()), (dataset, entry)


def test_progress_reaches_the_terminal_not_the_reports(tiny_repo):
    """Training stages print step / total, ETA and the validation metric while they run; the
    lines never enter an executed notebook or a rendered report."""
    terminal = (tiny_repo.parent / TERMINAL).read_text(encoding="utf-8").splitlines()
    progress = re.compile(r"^\[reviewlab\] (finetune amazon|ablate plain 1): step \d+/4 \(\d+%\), ")
    lines = [line for line in terminal if progress.match(line)]
    assert {progress.match(line)[1] for line in lines} == {"finetune amazon", "ablate plain 1"}
    assert any(line.endswith("(step 4)") and "valid rmse" in line for line in lines), lines
    pages = [*tiny_repo.glob("reports/**/*.html"), *tiny_repo.glob("artifacts/**/*.ipynb")]
    assert len(pages) > 40
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"step \d+/\d+ \(\d+%\)", text), page


def test_generic_dataset_plugged_in_by_params(tiny_repo):
    assert (tiny_repo / "data.dvc").read_bytes() == (ROOT / "data.dvc").read_bytes()
    quality = json.loads((tiny_repo / "metrics/shop/data_quality.json").read_text())
    assert quality["rows_read"] == 300 + SHOP_VARIANTS
    assert quality["by_reason"]["rating_out_of_range"] == 1
    assert quality["by_reason"]["missing_text"] == 1
    assert quality["rows_loaded"] == 298 + SHOP_VARIANTS
    prep = json.loads((tiny_repo / "metrics/shop/preprocess.json").read_text())
    assert prep["dedupe_key"] == ["user_id", "text"]
    assert prep["duplicates_removed"] >= SHOP_VARIANTS  # the variants, and any other repeat
    assert (tiny_repo / "reports/shop/baselines.html").is_file()
    index = (tiny_repo / "reports/index.html").read_text()
    assert "shop/baselines.html" in index and "clothing/eda.html" in index
    assert "shop/audit.html" in index


def test_ablation_grid_and_report(tiny_repo):
    runs = sorted((tiny_repo / "metrics/amazon/ablations").glob("*-[0-9].json"))
    assert [p.stem for p in runs] == sorted(f"{v}-{s}" for v in TINY_VARIANTS for s in (1, 2))
    summary = json.loads((tiny_repo / "metrics/amazon/ablations_summary.json").read_text())
    assert summary["runs"] == 4 and set(summary["variants"]) == set(TINY_VARIANTS)
    assert set(summary["variants"]["fgm"]["vs_reference"]) >= {"rmse", "accuracy"}
    assert "findings" not in summary  # phrased at render time from the numbers
    assert summary["budget"]["max_train_rows"] == 48 and summary["test_rows"] == 24
    assert summary["variants"]["plain"]["vs_reference"] == {}  # the reference
    for entry in summary["variants"].values():
        assert entry["vs_training_mean"]["verdict"] in (
            "better",
            "worse",
            "equivalent",
            "inconclusive",
        )
    predictions = pd.read_parquet(
        tiny_repo / "artifacts/amazon/ablations/fgm-1/predictions.parquet"
    )
    counts = predictions["set"].value_counts()
    assert counts["test"] == 24 and counts["noise_25"] == 12 and counts["valid"] == 20
    noisy = set(predictions.loc[predictions["set"] == "noise_25", "review_id"])
    assert noisy <= set(predictions.loc[predictions["set"] == "test", "review_id"])
    assert "amazon/ablations.html" in (tiny_repo / "reports/index.html").read_text()


def test_learning_curve_pairs_the_variants_at_each_size(tiny_repo):
    folder = tiny_repo / "metrics/amazon/learning_curve"
    runs = sorted(p.stem for p in folder.glob("*-[0-9].json"))
    assert runs == sorted(f"{n}-{v}-1" for n in (24, 48) for v in ("plain", "fgm"))
    payload = json.loads((tiny_repo / "metrics/amazon/learning_curve.json").read_text())
    assert payload["chosen"] == "fgm" and payload["sizes"] == [24, 48]  # the one candidate
    assert "max_train_rows" not in payload["budget"]  # each size sets it
    rmse = [c for c in payload["comparisons"] if c["metric"] == "rmse"]
    assert [(c["size"], c["model"], c["reference"]) for c in rmse] == [
        (24, "fgm", "plain"),
        (48, "fgm", "plain"),
    ]
    assert all(c["verdict"] in ("better", "worse", "equivalent", "inconclusive") for c in rmse)
    tested = {  # every run scored the same fixed test rows: the comparisons are paired
        tuple(sorted(t.loc[t["set"] == "test", "review_id"]))
        for t in map(pd.read_parquet, tiny_repo.glob("artifacts/amazon/learning_curve/*/*.parquet"))
    }
    assert len(tested) == 1 and len(next(iter(tested))) == 24
    page = (tiny_repo / "reports/amazon/learning_curve.html").read_text()
    assert "Chosen on validation" in page and "<img" in page
    assert "amazon/learning_curve.html" in (tiny_repo / "reports/index.html").read_text()


def test_a_seeded_finetune_reports_the_mean_of_its_seeds(tiny_repo):
    payload = json.loads((tiny_repo / "metrics/shop/finetune.json").read_text())
    entry = payload["models"]["finetune"]
    assert entry["seeds"] == [3, 4] and [run["seed"] for run in entry["per_seed"]] == [3, 4]
    assert entry["selected"]["saved_seed"] in (3, 4)
    assert {"rmse_sd", "rmse_low", "rmse_high"} <= set(entry["test"])
    assert all(c["seeds"] == 2 for c in payload["comparisons"]["vs_baselines"])
    runtime = json.loads((tiny_repo / "metrics/shop/finetune_runtime.json").read_text())
    assert runtime["seeds"] == 2
    assert "mean of 2 seeds: 3, 4" in (tiny_repo / "reports/shop/finetune.html").read_text()
    saved = pd.read_parquet(tiny_repo / "artifacts/shop/finetune/predictions.parquet")
    assert not saved.duplicated(["split", "review_id"]).any()  # the saved seed's, once each


def test_tuning_pipeline_chooses_on_validation_and_reports(tiny_repo):
    """`dvc repro tuning/dvc.yaml`: every candidate x seed scored on validation only, the
    table with each variant's choice, and a report that says whether params hold it."""
    runs = sorted((tiny_repo / "tuning/runs/amazon").glob("*.json"))
    assert [p.stem for p in runs] == ["fgm-t1-7", "fgm-t2-7", "plain-t1-7", "plain-t2-7"]
    one = json.loads(runs[0].read_text())
    assert set(one) >= {"valid", "selected", "training", "candidate", "budget"}
    assert "test" not in one and one["valid"]["n"] == 20  # ablations.valid_rows
    table = json.loads((tiny_repo / "metrics/amazon/tuning.json").read_text())
    for variant in ("plain", "fgm"):
        entry = table["variants"][variant]
        means = {t: v["mean"] for t, v in entry["trials"].items()}
        assert entry["chosen"] == min(means, key=means.get)
        assert not entry["stale"]
    page = (tiny_repo / "reports/amazon/tuning.html").read_text()
    assert "Equal tuning" in page and "valid RMSE" in page


def test_studies_run_and_report(tiny_repo):
    for task in ("recommended", "polarity", "age_group"):
        payload = json.loads((tiny_repo / f"metrics/tasks/{task}.json").read_text())
        labelled_test_rows = sum(payload["rows"]["labels_by_split"]["test"].values())
        assert payload["test_rows"] == min(40, labelled_test_rows)  # the fixed subset or all
        assert {"finetune", "tfidf_logreg", "tfidf_logreg_all_rows", "majority"} <= set(
            payload["models"]
        )
        assert ("vader" in payload["models"]) == (task != "age_group")
    polarity = json.loads((tiny_repo / "metrics/tasks/polarity.json").read_text())
    assert polarity["rows"]["excluded"]["outside_label_definition"] > 0  # the 3-star reviews
    recommend = json.loads((tiny_repo / "metrics/studies/recommend.json").read_text())
    assert set(recommend["models"]) == {"popularity", "als", "content", "hybrid"}
    longtail = json.loads((tiny_repo / "metrics/clothing/longtail.json").read_text())
    assert {row["by"] for row in longtail["errors"]} == {"item"}  # no user ids in clothing
    index = (tiny_repo / "reports/index.html").read_text()
    for page in ("studies/opinions.html", "studies/segments.html", "studies/recommend.html"):
        assert page in index
    assert "amazon/longtail.html" in index


def _instances(repo: Path) -> list[tuple[str, str, dict]]:
    """(address, stage, item) of every stage instance of the tiny profile."""
    from reviewlab.stages.declared import pipeline
    from tests.test_stage_declarations import instance

    return [(name, *instance(entry)) for name, entry in pipeline(repo).items()]


def _declared(repo: Path) -> dict[str, list[str]]:
    """Stage instance -> every path its dvc.yaml entry names (deps, outs, metrics, plots)."""
    from reviewlab.stages.declared import pipeline

    return {name: entry.deps + entry.outs for name, entry in pipeline(repo).items()}


#: Files any stage may open: the pipeline's own files (a report's footer reads its stage's dep
#: hashes through DVC's index, which loads every dvc.yaml, dvc.lock and .dvc file), caches and
#: tools' state.
LOCKS = tuple(str(Path(p).with_suffix(".lock")) for p in PIPELINES)
ANYWHERE = ("params.yaml", *PIPELINES, *LOCKS, "data.dvc", ".gitignore", ".dvcignore", TRACE)
ANYWHERE_UNDER = (".git/", ".dvc/", "src/", "artifacts/.cache/")


def test_every_opened_file_is_declared(tiny_repo):
    """A stage reads only its deps and writes only its outs (``$REVIEWLAB_TRACE_OPENS``
    recorded every file each stage process opened during the tiny repro)."""
    declared = _declared(tiny_repo)
    undeclared = set()
    for line in (tiny_repo / TRACE).read_text().splitlines():
        stage, mode, path = line.split("\t")
        rel = Path(path).resolve()
        if not rel.is_relative_to(tiny_repo.resolve()):
            continue
        rel = rel.relative_to(tiny_repo.resolve()).as_posix()
        if rel in ANYWHERE or rel.startswith(ANYWHERE_UNDER) or "__pycache__" in rel:
            continue
        allowed = declared[stage]
        folder, name = rel.rpartition("/")[0], rel.rpartition("/")[2]
        temp_of_declared = name.startswith(".") and any(  # atomic write: .<name>.XXXX beside it
            folder == Path(p).parent.as_posix() and name.startswith(f".{Path(p).name}.")
            for p in allowed
        )
        if not temp_of_declared and not any(
            rel == p or rel.startswith(p.rstrip("/") + "/") for p in allowed
        ):
            undeclared.add((stage, mode[:1], rel))
    assert not undeclared, sorted(undeclared)


def test_editing_metric_code_makes_every_metric_stage_stale(tiny_repo):
    """Change the metric code: `dvc status` must list every stage whose code runs it."""
    from reviewlab.stages.declared import pipeline
    from tests.test_stage_declarations import stage_code

    module = tiny_repo / "src/reviewlab/core/evaluation/rating_metrics.py"
    original = module.read_text()
    declared = pipeline(tiny_repo)
    expected = set()
    for name, stage, _ in _instances(tiny_repo):
        deps = declared[name].deps
        if any(f.startswith("src/reviewlab/core/evaluation/") for f in stage_code(stage, deps)):
            expected.add(name)
    assert {"finetune@amazon", "ablations", "recommend"} <= expected
    assert any(a.startswith("baselines@") for a in expected)
    assert any(a.startswith("ablate@") for a in expected)
    assert any(a.startswith("task@") for a in expected)
    try:
        module.write_text(original + "\n# an edit to the metric code\n")
        status = json.loads(run(["dvc", "status", "--json"], tiny_repo).stdout)
    finally:
        module.write_text(original)
    stale = {name.rpartition(":")[2] for name in status}  # "tuning/dvc.yaml:tune@..."
    assert any(a.startswith("tune@") for a in expected)
    assert expected <= stale, sorted(expected - stale)


def test_cross_variant_duplicates_fail_the_audit_naming_the_fix(tiny_repo):
    """Without shop's own `dedupe`, the repeated texts leak across splits: the audit stops
    `dvc repro` and names the setting that fixes it; restored, nothing is left to reproduce."""
    params = tiny_repo / "params.yaml"
    original = params.read_text()
    raw = yaml.safe_load(original)
    del raw["datasets"]["shop"]["dedupe"]
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    try:
        failed = subprocess.run(
            ["dvc", "repro", "audit@shop"],
            cwd=tiny_repo,
            env=_env(),
            capture_output=True,
            text=True,
        )
        assert failed.returncode != 0
        said = failed.stdout + failed.stderr
        assert "repeat a review of the same user" in said, said[-3000:]
        assert said.count("datasets.shop.dedupe: [user_id, text]") == 1, said[-3000:]
    finally:
        params.write_text(original)
        run(["dvc", "repro", "audit@shop"], tiny_repo)


def test_nothing_left_to_reproduce(tiny_repo):
    status = run(["dvc", "status"], tiny_repo).stdout
    assert "changed" not in status, status


def test_executed_notebooks_pass_nbval(tiny_repo, tmp_path):
    """Re-run in a copy: each notebook calls its stage, which rewrites that stage's outputs
    (runtime files, the index's dependency hashes) that later tests compare with dvc.lock."""
    work = tmp_path / "repo"
    shutil.copytree(tiny_repo, work, symlinks=True)
    executed = sorted((work / "artifacts").glob("**/notebooks/*.ipynb"))
    # 8 per-dataset stages x 3 datasets + ablations + learning curve + tuning + 4 studies + report
    assert len(executed) == 32
    # every notebook once: the per-dataset stages run the same notebook with other parameters
    # (their clothing and shop copies ran without error in the repro), so re-run amazon's
    notebooks = [str(p) for p in executed if p.parts[-3] not in ("clothing", "shop")]
    assert len(notebooks) == 16
    run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-current-env",
            "--rootdir",
            str(work),
            *notebooks,
        ],
        work,
    )


def test_killed_finetune_resumes_from_its_last_checkpoint(tiny_repo):
    """SIGKILL `dvc repro` mid-training: nothing half-written passes as complete, and the
    next `dvc repro` resumes from the last checkpoint and ends with the same metrics.

    `--no-run-cache` makes both runs behave like a first run of this config (otherwise DVC
    would simply restore the earlier complete run from its run cache)."""
    metrics = tiny_repo / "metrics/amazon/finetune.json"
    before = metrics.read_bytes()
    checkpoints = tiny_repo / "artifacts/.cache/checkpoints/amazon-finetune-42"  # the seed
    proc = subprocess.Popen(
        ["dvc", "repro", "-f", "-s", "--no-run-cache", "finetune@amazon"],
        cwd=tiny_repo,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while not list(checkpoints.glob("checkpoint-*/trainer_state.json")):
        assert proc.poll() is None, "finetune ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.5)  # let the Trainer finish writing that state file
    family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    for member in family:  # dvc, the stage command, papermill and its kernel (own session)
        member.kill()
    psutil.wait_procs(family, timeout=60)
    proc.wait()
    assert not metrics.exists()
    assert "finetune" in run(["dvc", "status", "finetune@amazon"], tiny_repo).stdout
    run(["dvc", "repro", "-s", "--no-run-cache", "finetune@amazon"], tiny_repo)
    executed = (tiny_repo / "artifacts/amazon/notebooks/finetune.ipynb").read_text()
    assert "[reviewlab] resuming from amazon-finetune-42/checkpoint-" in executed
    page = (tiny_repo / "reports/amazon/finetune.html").read_text()
    assert "resuming from" not in page and str(tiny_repo) not in page  # a log line, stderr
    assert metrics.read_bytes() == before
    assert not checkpoints.exists()  # finished runs leave nothing to resume


def _metrics(repo: Path) -> dict[Path, bytes]:
    """Every metrics file except wall-clock timings, which legitimately vary: *_runtime.json
    and DVCLive's summary (it logs evaluation runtime and samples/s)."""
    files = (repo / "metrics").glob("**/*.json")
    timing = ("_runtime.json",)
    return {
        p: p.read_bytes()
        for p in files
        if not p.name.endswith(timing) and p.parent.name != "finetune_live"
    }


def test_forced_rerun_gives_identical_metrics(tiny_repo):
    """Baselines bit for bit; the fine-tuned model too (fixed seeds, same threads, CPU).
    Forced: every stage of amazon from ingest to the baselines, and the fine-tuning (the other
    datasets run the same code)."""
    before = _metrics(tiny_repo)
    assert any("finetune" in p.name for p in before)
    run(["dvc", "repro", "-f", "baselines@amazon", "finetune@amazon"], tiny_repo)
    assert _metrics(tiny_repo) == before


def test_predict_with_the_ensemble_reproduces_its_test_predictions(tiny_repo, tmp_path):
    """`reviewlab predict --ensemble` on amazon's test reviews, as raw reviews (text, title,
    ids): every member rebuilt from its saved model and features recomputed from the text give
    the ensemble stage's own test predictions."""
    reviews = pd.read_parquet(tiny_repo / "artifacts/amazon/canonical/reviews.parquet")
    stacked = pd.read_parquet(tiny_repo / "artifacts/amazon/ensemble/predictions.parquet")
    test = stacked[stacked["split"] == "test"].set_index("review_id")
    rows = reviews.set_index("review_id").loc[test.index].reset_index()
    source, target = tmp_path / "new.jsonl", tmp_path / "scored.csv"
    rows.drop(columns=["rating"]).to_json(source, orient="records", lines=True)
    args = ["predict", "--ensemble", "amazon", "--input", str(source), "--output", str(target)]
    run(["bin/reviewlab", *args], tiny_repo)
    scored = pd.read_csv(target, dtype={"review_id": str}).set_index("review_id").loc[test.index]
    assert len(scored) == len(test)
    assert (scored["prediction"] - test["prediction"]).abs().max() < 1e-4
    assert (scored["predicted_class"] == test["predicted_class"]).mean() > 0.99


def test_transfer_scores_each_store_with_the_other_ones_models(tiny_repo):
    payload = json.loads((tiny_repo / "metrics/transfer/amazon_to_clothing.json").read_text())
    clothing = pd.read_parquet(tiny_repo / "artifacts/clothing/features/table.parquet")
    assert payload["test_rows"] == (clothing["split"] == "test").sum()
    origins = {name: entry["origin"] for name, entry in payload["models"].items()}
    assert sorted(origins.values()) == ["amazon", "amazon", "clothing", "clothing", "clothing"]
    rmse = {
        (c["model"], c["reference"])
        for family in payload["comparisons"].values()
        for c in family
        if c["metric"] == "rmse"
    }
    assert rmse >= {("finetune_from_amazon", "finetune"), ("finetune_from_amazon", "mean_majority")}
    page = (tiny_repo / "reports/studies/transfers.html").read_text()
    for pair in ("clothing scored by amazon", "amazon scored by clothing", "amazon scored by shop"):
        assert pair in page
    assert "transfers.html" in (tiny_repo / "reports/index.html").read_text()
