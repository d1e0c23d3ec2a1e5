"""Profiles are DVC's Hydra composition: conf/config.yaml = params.yaml + conf/profile/<name>.

`dvc exp run -S profile=<name>` composes them into params.yaml (DVC's own compose_and_dump,
called here the way DVC calls it); every profile must validate against the schema, the
committed params.yaml must be the cpu profile, and switching profiles must be reversible.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from reviewlab.core.config import validate_params
from reviewlab.reporting.render import flatten
from tests.conftest import ROOT

PROFILES = sorted(p.stem for p in (ROOT / "conf" / "profile").glob("*.yaml"))


def compose(conf: Path, profile: str, out: Path) -> dict:
    from dvc.utils.hydra import compose_and_dump

    compose_and_dump(out, str(conf), None, "config", str(ROOT), [f"profile={profile}"])
    return yaml.safe_load(out.read_text())


def test_the_three_profiles_exist_and_hydra_is_on():
    assert {"cpu", "full", "extended"} <= set(PROFILES)
    config = (ROOT / ".dvc" / "config").read_text()
    assert "[hydra]" in config and "enabled = true" in config.split("[hydra]")[1]
    assert (ROOT / "conf" / "base.yaml").resolve() == (ROOT / "params.yaml").resolve()


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_composes_to_valid_params(profile, tmp_path):
    composed = compose(ROOT / "conf", profile, tmp_path / "params.yaml")
    params = validate_params(composed, f"profile {profile}")
    assert params.profile == profile
    assert set(params.ablations.grid) <= set(params.ablations.variants)


def test_params_yaml_is_the_cpu_profile(tmp_path):
    committed = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert compose(ROOT / "conf", "cpu", tmp_path / "params.yaml") == committed


def test_every_profile_sets_the_same_keys():
    """So that composing any profile over the output of another lands on the same params."""
    sets = {
        p: set(flatten(yaml.safe_load((ROOT / "conf" / "profile" / f"{p}.yaml").read_text())))
        for p in PROFILES
    }
    assert all(keys == sets["cpu"] for keys in sets.values()), sets


@pytest.mark.parametrize("profile", [p for p in PROFILES if p != "cpu"])
def test_switching_profiles_is_reversible(profile, tmp_path):
    """params.yaml -> profile -> cpu gives params.yaml back (values; comments are Hydra's)."""
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)  # base.yaml: a copy of params.yaml
    switched = compose(conf.resolve(), profile, tmp_path / "switched.yaml")
    (conf / "base.yaml").write_text(yaml.safe_dump(switched))
    back = compose(conf.resolve(), "cpu", tmp_path / "back.yaml")
    assert back == yaml.safe_load((ROOT / "params.yaml").read_text())
