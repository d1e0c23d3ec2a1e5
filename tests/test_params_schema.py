"""params.yaml is checked against a typed schema before any stage does work."""

from __future__ import annotations

import copy
import subprocess
import sys
import time

import pytest
import yaml

from reviewlab.core.config import validate_params
from reviewlab.core.params import ParamsError, read_params
from tests.conftest import ROOT

PARAMS = read_params(ROOT / "params.yaml")


def _broken(path: str, value) -> dict:
    params = copy.deepcopy(PARAMS)
    *parents, last = path.split(".")
    node = params
    for key in parents:
        node = node[key]
    node[last] = value
    return params


def test_committed_params_are_valid():
    assert validate_params(copy.deepcopy(PARAMS))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            "finetune.adversarial.epsilon",
            -1.0,
            "finetune.adversarial.epsilon: Input should be greater",
        ),
        ("split.valid_frac", 1.5, "split.valid_frac: Input should be less than 1"),
        ("split.test_frac", "0.1x", "split.test_frac: Input should be a valid"),
        ("finetune.train.batch_size", "32", "finetune.train.batch_size: Input should be a valid"),
        ("finetune.train.group_by_length", "yes", "group_by_length: Input should be a valid"),
        ("finetune.head", "regresion", "'regression', 'classification' or 'binary'"),
        (
            "finetune.train.lrr",
            1e-4,
            "finetune.train.lrr: unknown key (expected one of: batch_size",
        ),
        (
            "datasets.amazon.adapter",
            "xml",
            "datasets.amazon.adapter: Input should be 'amazon_jsonl'",
        ),
        ("finetune.model_name_or_path", "./no/such/model", "model path './no/such/model' does not"),
        ("evaluation.ci_level", 95, "evaluation.ci_level: Input should be less than 1"),
        ("finetune.dataset", "amazon", "finetune.dataset: the finetune stage runs on every"),
        ("ablations.dataset", "nope", "ablations.dataset 'nope' is not in datasets"),
        ("ablations.reference", "nope", "the reference 'nope' must be in the grid"),
        ("ablations.variants.bad", {"adversarial": {"methd": "fgm"}}, "methd is not a finetune"),
        (
            "ablations.variants.bad",
            {"dropout": {"hidden": 2}},
            "dropout.hidden: Input should be less",
        ),
        ("seeds", [1], "seeds: unknown key (expected one of: ablations, audit, baselines"),
    ],
)
def test_bad_params_fail_naming_the_key(path, value, message):
    with pytest.raises(ParamsError, match=None) as err:
        validate_params(_broken(path, value))
    assert message in str(err.value)


def test_split_fractions_must_leave_training_rows():
    params = _broken("split.valid_frac", 0.5)
    params["split"]["test_frac"] = 0.5
    with pytest.raises(ParamsError, match="leave rows for training"):
        validate_params(params)


def test_hub_ids_and_existing_paths_are_accepted(tmp_path):
    validate_params(_broken("finetune.model_name_or_path", "bert-base-uncased"))
    validate_params(_broken("finetune.model_name_or_path", "google/electra-small-discriminator"))
    validate_params(_broken("finetune.model_name_or_path", str(tmp_path)))


def test_a_stage_with_bad_params_fails_in_seconds(tmp_path):
    """The stage runner validates before starting papermill or loading data."""
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump(_broken("finetune.adversarial.epsilon", -0.5))
    )
    for name in ("dvc.yaml", "pyproject.toml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "reviewlab", "stage", "finetune", "amazon"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "finetune.adversarial.epsilon" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.perf_counter() - start < 30
