"""Each stage is declared once, in dvc.yaml: its command, deps, params and outs. This module
reads that declaration back so the runner and the notebooks use exactly what DVC tracks.

``stage_params("baselines", dataset="amazon")`` is a typed, partial :class:`Params` holding
only the keys the stage's dvc.yaml ``params:`` lists; reading any other key raises.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reviewlab.core.artifacts import project_root
from reviewlab.core.config import validate_params
from reviewlab.core.params import Params, ParamsError, lookup, partial, read_params

#: Set to a file path to record every file a stage opens (tests check them against dvc.yaml).
TRACE_ENV = "REVIEWLAB_TRACE_OPENS"


#: The pipelines: ``dvc.yaml`` (what ``dvc repro`` runs) and the grid's tuning, which
#: ``dvc repro tuning/dvc.yaml`` runs (its stages work from the project root: ``wdir: ..``).
PIPELINES = ("dvc.yaml", "tuning/dvc.yaml")
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Declared:
    """One stage instance as DVC resolves it (``foreach`` / ``matrix`` and ``${}`` filled in);
    paths are relative to the project root."""

    name: str  # DVC's name: ``ingest@amazon``, ``ablate@plain-1``, ``report``
    cmd: str
    deps: list[str]  # paths; params.yaml's entries are in ``params``
    outs: list[str]  # outs, metrics and plots
    params: list[str]  # the dotted params.yaml keys of its ``params:``


def pipeline(root: Path | None = None) -> dict[str, Declared]:
    """Every stage instance of every pipeline file, by name, in declaration order, resolved by
    DVC's own resolver (``dvc.parsing.DataResolver``, the code ``dvc repro`` runs).

    Not ``Repo().index``: it also parses both ``dvc.lock`` files with a pure-Python YAML
    parser (whole process 2.37 s against 1.09 s, medians beside a training run; the
    hand-written resolver this replaced took 0.39 s: docs/development.md)."""
    from dvc.parsing import DataResolver
    from dvc.repo import Repo

    root = Path(root or project_root()).absolute()
    stages: dict[str, Declared] = {}
    with Repo(str(root), uninitialized=True) as repo:  # a plain folder too (tests)
        for file in PIPELINES:
            if not (root / file).is_file():
                continue
            folder = os.path.dirname(file) or "."
            text = (root / file).read_text(encoding="utf-8")
            context = str(root / folder)  # absolute: DVC resolves params.yaml from it
            resolved = DataResolver(repo, context, yaml.load(text, Loader=_YamlLoader)).resolve()
            for name, entry in resolved["stages"].items():
                stages[name] = _declared(name, entry, os.path.join(folder, entry.get("wdir", ".")))
    return stages


def _declared(name: str, entry: dict[str, Any], wdir: str) -> Declared:
    def paths(*kinds: str) -> list[str]:
        found = [
            next(iter(e)) if isinstance(e, dict) else e for k in kinds for e in entry.get(k, [])
        ]
        return [os.path.normpath(os.path.join(wdir, p)) for p in found]

    keys: list[str] = []  # a ``{file: [keys]}`` entry names keys of another params file
    for e in entry.get("params", []):
        keys += [k for ks in e.values() for k in ks] if isinstance(e, dict) else [e]
    return Declared(name, entry["cmd"], paths("deps"), paths("outs", "metrics", "plots"), keys)


def stage_names(root: Path | None = None) -> list[str]:
    """The stages of every pipeline file in declaration order (a foreach / matrix stage once)."""
    return list(dict.fromkeys(name.split("@")[0] for name in pipeline(root)))


def declared(stage: str, root: Path | None = None, **item: Any) -> Declared:
    """One instance of ``stage``: ``key=`` for a ``foreach`` stage (the dataset or task name),
    the matrix axes (``variant=``, ``seed=``) for a ``matrix`` stage, nothing for a plain one."""
    name = address(stage, **item)
    stages = pipeline(root)
    if name in stages:
        return stages[name]
    known = sorted(n.split("@", 1)[1] for n in stages if n.startswith(f"{stage}@"))
    if not known and stage not in stages:
        raise ParamsError(f"{' and '.join(PIPELINES)}: no stage '{stage}'")
    given = name.split("@", 1)[1] if "@" in name else "(none)"
    raise ParamsError(
        f"stage '{stage}': '{given}' is not one of its instances (known: {known}); a dataset "
        "or task needs its block in params.yaml (datasets.<name>, tasks.<name>), a grid run "
        "its variant and seed in ablations.grid and ablations.seeds"
    )


def injected(entry: Declared, raw: dict[str, Any]) -> dict[str, Any]:
    """What the runner hands a stage: ``{dotted key: value}`` for its declared params."""
    return {key: lookup(raw, key) for key in entry.params}


def stage_params(
    stage: str, values: dict[str, Any] | None = None, root: Path | None = None, **item
) -> Params:
    """The typed, partial params of one stage instance.

    ``values``: the runner's injection (papermill parameter ``params``); ``None`` (a notebook
    opened by hand) reads params.yaml, validates it whole and takes the same keys from it.
    """
    trace_opens(address(stage, **item))
    if values is None:
        raw = read_params((root or project_root()) / "params.yaml")
        validate_params(raw)
        values = injected(declared(stage, root, **item), raw)
    return partial(values)


def address(stage: str, **item: Any) -> str:
    """DVC's name of one stage instance: ``ingest@amazon``, ``ablate@plain-1``, ``finetune``."""
    if "key" in item:
        return f"{stage}@{item['key']}"
    return f"{stage}@{'-'.join(str(v) for v in item.values())}" if item else stage


def trace_opens(stage: str) -> None:
    """With ``$REVIEWLAB_TRACE_OPENS`` set, append every file this process opens to that file
    (``stage<TAB>mode<TAB>path``): the dependency tests compare them with dvc.yaml."""
    target = os.environ.get(TRACE_ENV)
    if not target or getattr(trace_opens, "installed", False):
        return
    trace_opens.installed = True  # type: ignore[attr-defined]
    log = open(target, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (lives with the process)

    def hook(event: str, args: tuple) -> None:
        if event != "open" or not isinstance(args[0], str | Path) or args[0] == target:
            return
        path = os.path.abspath(args[0])
        if isinstance(args[1], str):
            mode = args[1]
        else:  # os.open: flags
            mode = "w" if args[2] & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) else "r"
        # files only: not folders, and not a read that fails or is relative to a dir_fd
        if os.path.isdir(path) or ("r" in mode and "+" not in mode and not os.path.isfile(path)):
            return
        log.write(f"{stage}\t{mode}\t{path}\n")

    sys.addaudithook(hook)
