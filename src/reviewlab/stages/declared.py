"""Each stage is declared once, in dvc.yaml: its command, deps, params and outs. This module
reads that declaration back so the runner and the notebooks use exactly what DVC tracks.

``stage_params("baselines", dataset="amazon")`` is a typed, partial :class:`Params` holding
only the keys the stage's dvc.yaml ``params:`` lists; reading any other key raises.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from reviewlab.core.artifacts import project_root
from reviewlab.core.config import validate_params
from reviewlab.core.params import Params, ParamsError, lookup, partial, read_params

_VAR = re.compile(r"\$\{([^}]+)\}")
#: Set to a file path to record every file a stage opens (tests check them against dvc.yaml).
TRACE_ENV = "REVIEWLAB_TRACE_OPENS"


#: The pipelines: ``dvc.yaml`` (what ``dvc repro`` runs) and the grid's tuning, which
#: ``dvc repro tuning/dvc.yaml`` runs (its stages work from the project root: ``wdir: ..``).
PIPELINES = ("dvc.yaml", "tuning/dvc.yaml")


def dvc_stages(root: Path | None = None) -> dict[str, Any]:
    """The ``stages:`` of every pipeline file, unresolved (``foreach`` / ``matrix`` templates)."""
    root = root or project_root()
    stages: dict[str, Any] = {}
    for name in PIPELINES:
        if (root / name).is_file():
            stages |= yaml.safe_load((root / name).read_text(encoding="utf-8"))["stages"]
    return stages


def resolve(
    stage: str, raw: dict[str, Any], root: Path | None = None, **item: Any
) -> dict[str, Any]:
    """The dvc.yaml entry of one instance of ``stage`` with every ``${...}`` filled in.

    ``item``: ``key=`` for a ``foreach`` stage (the dataset or task name), the matrix axes
    (``variant=``, ``seed=``) for a ``matrix`` stage, nothing for a plain stage.
    """
    stages = dvc_stages(root)
    if stage not in stages:
        raise ParamsError(f"dvc.yaml: no stage '{stage}' (known: {sorted(stages)})")
    entry = stages[stage]
    context: dict[str, Any] = dict(raw)
    if "foreach" in entry:
        over = _substitute(entry["foreach"], context)
        key = item.get("key")
        if key not in over:
            raise ParamsError(
                f"stage '{stage}' runs once per key of {entry['foreach']}: '{key}' is not one "
                f"(known: {sorted(over)}); add a {entry['foreach'][2:-1]}.{key} block to "
                "params.yaml"
            )
        context |= {"key": key, "item": over[key]}
        entry = entry["do"]
    elif "matrix" in entry:
        axes = {axis: _substitute(values, context) for axis, values in entry["matrix"].items()}
        for axis, values in axes.items():
            if item.get(axis) not in (values if isinstance(values, list) else list(values)):
                raise ParamsError(
                    f"stage '{stage}': {axis} '{item.get(axis)}' is not one of {values}"
                )
        context |= {"item": {axis: item[axis] for axis in axes}}
    return {k: v for k, v in _substitute(entry, context).items() if k != "matrix"}


def _substitute(node: Any, context: dict[str, Any]) -> Any:
    if isinstance(node, str):
        whole = _VAR.fullmatch(node)
        if whole:
            return lookup(context, whole.group(1))
        return _VAR.sub(lambda m: str(lookup(context, m.group(1))), node)
    if isinstance(node, list):
        return [_substitute(v, context) for v in node]
    if isinstance(node, dict):
        return {_substitute(k, context): _substitute(v, context) for k, v in node.items()}
    return node


def paths_of(entries: list[Any]) -> list[str]:
    """Paths of a deps / outs / metrics / plots list (entries may carry options)."""
    return [next(iter(e)) if isinstance(e, dict) else e for e in entries or []]


def declared_params(stage: str, raw: dict[str, Any], root: Path | None = None, **item) -> list[str]:
    """The dotted params.yaml keys the stage's dvc.yaml ``params:`` lists."""
    keys: list[str] = []
    for entry in resolve(stage, raw, root, **item).get("params", []):
        keys += list(entry) if isinstance(entry, dict) else [entry]
    return keys


def injected(stage: str, raw: dict[str, Any], root: Path | None = None, **item) -> dict[str, Any]:
    """What the runner hands a stage: ``{dotted key: value}`` for its declared params."""
    return {key: lookup(raw, key) for key in declared_params(stage, raw, root, **item)}


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
        values = injected(stage, raw, root, **item)
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
