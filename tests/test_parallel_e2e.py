"""Scaling out through DVC's own queue changes no number.

Two grid runs of the tiny profile execute as two parallel queue jobs (`dvc exp run --queue`,
`dvc exp run --run-all --jobs 2`, each job with REVIEWLAB_THREADS=1: cores / jobs) and must
give byte-identical metrics and predictions to the same runs done one after the other in the
workspace with the same threads per run. (The thread count itself moves fp32 sums in the last
digit, so "same threads" is part of the contract: docs/experiments.md.)
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.test_pipeline_e2e import run, tiny_repo  # noqa: F401  (the session's tiny repo)

pytestmark = pytest.mark.slow

RUNS = ("plain-1", "fgm-1")


def _lock_hash(lock: dict, run_name: str) -> str:
    stage = lock["stages"][f"ablate@{run_name}"]
    out = next(o for o in stage["outs"] if o["path"].endswith(f"ablations/{run_name}"))
    return out["md5"]


def test_two_parallel_queue_jobs_match_one_job(tiny_repo, tmp_path):  # noqa: F811
    work = tmp_path / "repo"
    shutil.copytree(tiny_repo, work, symlinks=True)
    git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost"]
    run([*git, "add", "-A"], work)
    run([*git, "commit", "-qm", "tiny pipeline done"], work)
    for name in RUNS:
        run(["dvc", "exp", "run", "--queue", "-f", "-s", f"ablate@{name}", "-n", f"q-{name}"], work)
    run(["dvc", "exp", "run", "--run-all", "--jobs", "2"], work, REVIEWLAB_THREADS="1")
    for name in RUNS:  # the same runs, one job at a time, in the workspace
        run(["dvc", "repro", "-f", "-s", f"ablate@{name}"], work, REVIEWLAB_THREADS="1")
    lock = yaml.safe_load((work / "dvc.lock").read_text())
    for name in RUNS:
        ref = subprocess.run(
            ["git", "for-each-ref", "--format=%(refname)", f"refs/exps/**/q-{name}"],
            cwd=work,
            capture_output=True,
            text=True,
        ).stdout.split()
        assert len(ref) == 1, f"experiment q-{name} not found: {ref}"
        metric = f"metrics/amazon/ablations/{name}.json"
        queued = run(["git", "show", f"{ref[0]}:{metric}"], work).stdout
        assert queued == (work / metric).read_text(), f"{name}: metrics differ"
        queued_lock = yaml.safe_load(run(["git", "show", f"{ref[0]}:dvc.lock"], work).stdout)
        assert _lock_hash(queued_lock, name) == _lock_hash(lock, name), f"{name}: predictions"
