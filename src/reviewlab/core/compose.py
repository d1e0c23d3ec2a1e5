"""Composed ``finetune`` configs: a dataset's fine-tune, an ablation variant or a task is a
partial ``finetune`` block merged key by key over ``finetune`` (<- a shared budget); an
unknown key is an error."""

from __future__ import annotations

import copy
from typing import Any

from reviewlab.core.artifacts import task_dataset
from reviewlab.core.params import FinetuneParams, Params, SplitParams

#: The column of a derived task dataset that holds the task's label.
TASK_LABEL = "label"


def deep_merge(base: dict[str, Any], override: dict[str, Any], where: str) -> dict[str, Any]:
    """``base`` with ``override`` merged in; every key of ``override`` must exist in ``base``."""
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if key not in merged:
            raise KeyError(
                f"params.yaml: {where}.{key} is not a finetune parameter (known: {sorted(merged)})"
            )
        if isinstance(value, dict) and isinstance(merged[key], dict):
            merged[key] = deep_merge(merged[key], value, f"{where}.{key}")
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def merged_finetune(
    base: FinetuneParams, *layers: tuple[dict[str, Any] | None, str]
) -> FinetuneParams:
    """``base`` with each ``(override, where)`` merged in turn, validated strictly."""
    cfg = base.model_dump(by_alias=True)
    for override, where in layers:
        cfg = deep_merge(cfg, override or {}, where)
    return FinetuneParams.model_validate(cfg)


def dataset_config(params: Params, dataset: str) -> FinetuneParams:
    """The fine-tune of ``dataset``: finetune <- ``datasets.<dataset>.finetune``."""
    overrides = params.datasets[dataset].finetune
    return merged_finetune(
        params.finetune,
        (overrides, f"datasets.{dataset}.finetune"),
        ({"dataset": dataset}, "datasets"),
    )


def variant_config(params: Params, variant: str) -> FinetuneParams:
    """The full ``finetune`` config of ``variant``: finetune <- budget <- variant overrides."""
    grid = params.ablations
    if variant not in grid.variants:
        raise KeyError(
            f"params.yaml: ablations.variants.{variant} is not defined "
            f"(known: {sorted(grid.variants)})"
        )
    return merged_finetune(
        params.finetune,
        (grid.budget, "ablations.budget"),
        (grid.variants[variant], f"ablations.variants.{variant}"),
        ({"name": variant}, "ablations"),
    )


def curve_config(params: Params, variant: str, size: int) -> FinetuneParams:
    """One run of the learning curve: ``variant``'s config with ``size`` training rows."""
    return merged_finetune(
        variant_config(params, variant), ({"max_train_rows": size}, "learning_curve.sizes")
    )


def trial_config(params: Params, variant: str, trial: str) -> FinetuneParams:
    """The config of one tuning candidate: finetune <- budget <- the candidate (which sets all
    of the variant's own settings, so the variant's entry in ``ablations.variants`` can take
    the chosen candidate without changing what was tuned)."""
    grid = params.ablations
    candidate = grid.tuning.space[variant][trial]
    return merged_finetune(
        params.finetune,
        (grid.budget, "ablations.budget"),
        (candidate, f"ablations.tuning.space.{variant}.{trial}"),
        ({"name": variant}, "ablations"),
    )


def task_config(params: Params, name: str) -> FinetuneParams:
    """The full ``finetune`` config of task ``name``: finetune <- task_budget <- label/head."""
    task = params.tasks[name]
    overrides = {
        "label_column": TASK_LABEL,
        "head": task.head,
        "selection_metric": "loss",
        "dataset": task_dataset(name),
        "name": name,
    }
    return merged_finetune(
        params.finetune,
        (params.task_budget.finetune, "task_budget.finetune"),
        (overrides, f"tasks.{name}"),
    )


def split_config(params: Params, dataset: str) -> SplitParams:
    """The split of ``dataset``: ``split`` <- ``datasets.<dataset>.split``."""
    own = params.datasets[dataset].split
    given = own.model_dump(exclude_none=True) if own is not None else {}
    return SplitParams.model_validate({**params.split.model_dump(), **given})


def dedupe_key(params: Params, dataset: str) -> list[str]:
    """The columns that identify a repeated review of ``dataset``: its own ``dedupe`` or the
    global one."""
    return list(params.datasets[dataset].dedupe or params.dedupe)
