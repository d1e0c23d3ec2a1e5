"""Loading params.yaml: the schema (:mod:`reviewlab.core.params`) plus the finetune configs
every ablation variant and task composes to (:mod:`reviewlab.core.compose`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reviewlab.core.artifacts import project_root
from reviewlab.core.compose import task_config, variant_config
from reviewlab.core.params import Params, ParamsError, problems, read_params


def load_params(path: str | Path | None = None) -> Params:
    """Parse and validate ``params.yaml``: the typed :class:`Params` every stage receives."""
    file = Path(path) if path else project_root() / "params.yaml"
    return validate_params(read_params(file), str(file))


def validate_params(raw: dict[str, Any], source: str = "params.yaml") -> Params:
    """Check ``raw`` against :class:`Params`, then every ablation variant and task as the full
    ``finetune`` block it composes to."""
    try:
        params = Params.model_validate(raw)
    except ValidationError as err:
        raise ParamsError(*problems(err, source)) from None
    configs = [
        (f"ablations.variants.{v} (merged over finetune <- budget)", variant_config, v)
        for v in params.ablations.variants
    ]
    configs += [
        (f"tasks.{t} (merged over finetune <- task_budget.finetune)", task_config, t)
        for t in params.tasks
    ]
    for where, build, name in configs:
        try:  # every variant and task must still be a valid finetune block
            build(params, name)
        except ValidationError as err:
            raise ParamsError(*problems(err, source, where)) from None
        except KeyError as err:
            raise ParamsError(f"{source}: {err.args[0]}") from None
    return params
