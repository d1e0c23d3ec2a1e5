"""Reading ``params.yaml``: the single source of every experiment setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from reviewlab.paths import project_root


def load_params(path: str | Path | None = None, validate: bool = True) -> dict[str, Any]:
    """Parse ``params.yaml`` (default: the project's) and check it against the typed schema
    (:mod:`reviewlab.params_schema`), so bad params fail before any stage does work."""
    file = Path(path) if path else project_root() / "params.yaml"
    with open(file, encoding="utf-8") as handle:
        params = yaml.safe_load(handle)
    if not isinstance(params, dict):
        raise ValueError(
            f"{file}: expected a mapping at the top level, got {type(params).__name__}"
        )
    if validate:
        from reviewlab.params_schema import validate_params

        validate_params(params, str(file))
    return params


def dataset_config(params: dict[str, Any], dataset: str) -> dict[str, Any]:
    """The ``datasets.<name>`` block, with a clear error naming the known datasets."""
    datasets = params.get("datasets") or {}
    if dataset not in datasets:
        raise KeyError(
            f"params.yaml: datasets.{dataset} is not defined (known: {sorted(datasets)})"
        )
    return datasets[dataset]


def select(params: dict[str, Any], dotted: str) -> Any:
    """``select(p, "a.b")`` is ``p["a"]["b"]``, with an error naming the missing key."""
    node: Any = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"params.yaml: key '{dotted}' is not defined (missing '{part}')")
        node = node[part]
    return node
