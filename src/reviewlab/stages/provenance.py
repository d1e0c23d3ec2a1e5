"""What ``dvc.lock`` records (or will record, once the running stage ends) for one stage
instance: the md5 of each code and data dependency, hashed by DVC itself, so that a report's
footer names exactly what a reader can compare with ``dvc status`` or the lock file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Locked:
    """A stage instance's dependency hashes and the lock file that records them."""

    lockfile: str  # relative to the project root: ``dvc.lock`` or ``tuning/dvc.lock``
    deps: dict[str, str]  # dep path as dvc.yaml writes it -> md5 (``….dir`` for a folder)


def locked_deps(root: Path, address: str) -> Locked:
    """The path deps of stage ``address`` (``baselines@amazon``, ``tuning``) with DVC's md5 of
    each, as its ``dvc.lock`` entry holds them after ``dvc repro``; params are left out (the
    footer shows them as values)."""
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        stages = [s for s in repo.index.stages if getattr(s, "name", None) == address]
        if len(stages) != 1:
            raise ValueError(f"{len(stages)} DVC stages named '{address}' in {root}")
        (stage,) = stages
        deps = {
            dep.def_path: dep.get_hash().value
            for dep in stage.deps
            if not isinstance(dep, ParamsDependency)
        }
        lockfile = Path(stage.dvcfile.path).with_suffix(".lock")
        return Locked(lockfile.relative_to(root.absolute()).as_posix(), dict(sorted(deps.items())))
