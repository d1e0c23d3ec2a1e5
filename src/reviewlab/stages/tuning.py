"""Stage ``tuning`` (pipeline ``tuning/dvc.yaml``): the table that chose each grid variant's
settings.

Reads every declared tuning run (``ablations.tuning``: variants x trials x seeds; stage
``tune``), averages the validation RMSE over seeds per candidate, marks each variant's best
and checks that ``ablations.variants`` holds it and that the runs used the current budget.
Writes ``metrics/<dataset>/tuning.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.compose import trial_config, variant_config
from reviewlab.core.io import read_json
from reviewlab.core.params import Params

#: What chooses: the validation RMSE averaged over the tuning seeds (lower is better).
METRIC = "rmse"


@dataclass
class Result:
    table: pd.DataFrame  # per variant x trial: candidate, mean, sd, per seed, converged, chosen
    choices: pd.DataFrame  # one row per variant: chosen trial, its candidate, in params, stale
    seeds: list[int]
    budget: dict[str, Any]


def run(params: Params, catalogue: Catalogue | None = None) -> Result:
    """Summarise the tuning runs; write ``tuning.json``."""
    catalogue = catalogue or Catalogue()
    grid = params.ablations
    tuning = grid.tuning
    runs = [
        read_json(catalogue.tuning_metric(grid.dataset, variant, trial, seed))
        for variant in tuning.variants
        for trial in tuning.trials
        for seed in tuning.seeds
    ]
    table = tuning_table(runs, METRIC)
    table["candidate"] = [
        tuning.space[v][t] for v, t in zip(table["variant"], table["trial"], strict=True)
    ]
    stale = {r["variant"] for r in runs if r["budget"] != grid.budget}
    choices = pd.DataFrame(
        {
            "variant": variant,
            "chosen": trial,
            "candidate": tuning.space[variant][trial],
            "in_params": holds(params, variant, trial),
            "stale": variant in stale,
        }
        for variant, trial in table.loc[table["chosen"], ["variant", "trial"]].itertuples(
            index=False
        )
    )
    catalogue.write_metric(grid.dataset, "tuning", _payload(table, choices, tuning.seeds))
    return Result(table, choices, tuning.seeds, grid.budget)


def tuning_table(runs: list[dict[str, Any]], metric: str = "rmse") -> pd.DataFrame:
    """One row per variant x trial of the tuning runs (stage ``tune``): the validation
    ``metric`` as mean, standard deviation and per seed, how many runs converged within the
    budget and the mean training seconds; ``chosen`` marks each variant's lowest mean."""
    frame = pd.DataFrame(
        {
            "variant": r["variant"],
            "trial": r["trial"],
            "seed": r["seed"],
            "value": r["valid"][metric],
            "converged": bool(r["selected"].get("converged")),
            "train_seconds": r["train_seconds"],
        }
        for r in runs  # in params order: variants, trials, seeds
    )
    table = frame.groupby(["variant", "trial"], sort=False).agg(
        mean=("value", "mean"),
        sd=("value", "std"),
        per_seed=("value", list),
        seeds=("seed", "size"),
        converged=("converged", "sum"),
        train_seconds=("train_seconds", "mean"),
    )
    table = table.reset_index()
    best = table.groupby("variant")["mean"].transform("min")
    table["chosen"] = table["mean"] == best
    return table


def holds(params: Params, variant: str, trial: str) -> bool:
    """Whether ``ablations.variants.<variant>`` trains exactly the tuned candidate ``trial``."""
    return variant_config(params, variant) == trial_config(params, variant, trial)


def _payload(table: pd.DataFrame, choices: pd.DataFrame, seeds: list[int]) -> dict[str, Any]:
    variants: dict[str, Any] = {}
    for row in choices.itertuples(index=False):
        trials = table[table["variant"] == row.variant]
        variants[row.variant] = {
            "chosen": row.chosen,
            "in_params": bool(row.in_params),
            "stale": bool(row.stale),
            "trials": {
                t.trial: {
                    "mean": round(float(t.mean), 6),
                    "sd": round(float(t.sd), 6) if len(seeds) > 1 else None,
                    "per_seed": [round(float(v), 6) for v in t.per_seed],
                    "converged": int(t.converged),
                    "train_seconds": round(float(t.train_seconds), 1),
                }
                for t in trials.itertuples(index=False)
            },
        }
    return {"metric": METRIC, "split": "valid", "seeds": seeds, "variants": variants}
