"""Each stage report of the tiny repro states the params its stage instance ran with (issue #15):
its ``<script type="application/json" id="effective-params">`` equals what DVC's own stage list
declares for that instance (``params:`` deps), nested like params.yaml, with the values read
from params.yaml here, independently of the runner.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from reviewlab.reporting.render import flatten
from tests.test_pipeline_e2e import tiny_repo  # noqa: F401  (the session fixture)

INDEX = "reports/index.html"  # the front page (stage `report`, no params), not a stage report


def nested(values: dict, keys: list[str]) -> dict:
    """The dotted ``keys`` of ``values`` as a mapping shaped like ``values``."""
    out: dict = {}
    for key in keys:
        *parents, last = key.split(".")
        source, target = values, out
        for part in parents:
            source, target = source[part], target.setdefault(part, {})
        target[last] = source[last]
    return out


def declared(repo: Path) -> dict[str, dict]:
    """Each stage report (path in the repo) -> its stage instance's declared params."""
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    expected = {}
    with Repo(str(repo)) as dvc:
        for stage in dvc.index.stages:
            params: dict = {}
            for dep in stage.deps:
                if isinstance(dep, ParamsDependency):
                    values = yaml.safe_load(Path(dep.fs_path).read_text(encoding="utf-8"))
                    params |= nested(values, list(dep.params))
            for out in stage.outs:
                if out.def_path.endswith(".html") and out.def_path != INDEX:
                    expected[out.def_path] = params
    return expected


def effective_params(page: Path) -> dict | None:
    """The JSON a report page states as its effective params (None: it states none)."""
    script = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").find(
        "script", id="effective-params", type="application/json"
    )
    return None if script is None else json.loads(script.string)


@pytest.mark.slow
def test_each_report_states_its_stage_params(tiny_repo):  # noqa: F811
    expected = declared(tiny_repo)
    on_disk = [p.relative_to(tiny_repo).as_posix() for p in tiny_repo.glob("reports/*/*.html")]
    assert sorted(expected) == sorted(p for p in on_disk if not p.startswith("reports/plots/"))
    assert any(expected.values())  # the declared params were found at all
    for name, params in expected.items():
        # the footer holds what the runner injected: a declared sub-key (`datasets.amazon`)
        # stays one dotted key there; compare leaf by leaf
        assert flatten(effective_params(tiny_repo / name)) == flatten(params), name
