"""Transfer across stores: one store's rating models scored on another store's test reviews.

For a (source, target) pair, the source's fine-tuned encoder (its saved seed) and its baseline
best on validation score the target's test split as shipped: TF-IDF through the source's
vectorizers, classes by the source's validation cut-points, user and item history from the
target's training split (what the borrowed model would read in the target store). Beside them
stand the target's own fine-tune and best baseline and its training mean. One family of paired
comparisons on the target's test rows: each borrowed model against its in-domain counterpart
(what the store loses) and the borrowed encoder against the borrowed baseline (which is the
more accurate on the target); a second, the encoder's loss against the baseline's (a paired
difference-in-differences: which travels better); a third, each borrowed model against the
training mean (not better: failed), as every study decides failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from reviewlab.core.evaluation import HIGHER_IS_BETTER, evaluate_split
from reviewlab.core.evaluation.compare import Runs, compare_models, rmse_drop_fn, verdicts
from reviewlab.core.evaluation.inference import Design, failure
from reviewlab.core.formatting import with_ci
from reviewlab.core.params import EvaluationParams


@dataclass
class Scored:
    """One model's test predictions on the target's rows (in the target table's order)."""

    name: str
    origin: str  # the dataset it was trained on
    kind: str  # encoder | baseline | trivial
    estimate: np.ndarray
    classes: np.ndarray


def borrowed(model: str, source: str) -> str:
    """The name of ``source``'s ``model`` scoring another store: ``lightgbm_from_amazon``."""
    return f"{model}_from_{source}"


def in_domain(
    predictions: pd.DataFrame, name: str, review_ids: pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """(estimate, classes) of model ``name``'s test predictions, aligned on ``review_ids``."""
    rows = predictions[(predictions["model"] == name) & (predictions["split"] == "test")]
    if rows.empty:
        raise ValueError(f"no test predictions of {name} in the target's predictions")
    rows = rows.set_index("review_id").reindex(review_ids)
    missing = int(rows["prediction"].isna().sum())
    if missing:
        raise ValueError(f"{name} has no prediction for {missing} of {len(rows)} test reviews")
    return rows["prediction"].to_numpy(np.float64), rows["predicted_class"].to_numpy(np.int64)


#: The kinds of model a store lends and owns, compared kind with kind.
KINDS = ("encoder", "baseline")


def counterparts(models: Mapping[str, Mapping[str, Any]], target: str) -> dict[str, str]:
    """Each borrowed model (``origin`` not ``target``) -> the target's own model of its kind,
    from ``{name: {"origin", "kind", ...}}`` (a payload's ``models``)."""
    own = {e["kind"]: n for n, e in models.items() if e["origin"] == target}
    return {
        n: own[e["kind"]] for n, e in models.items() if e["origin"] != target and e["kind"] in KINDS
    }


def pairs(models: Mapping[str, Mapping[str, Any]], versus: dict[str, str]) -> list[tuple[str, str]]:
    """The ``borrowed`` family: each borrowed model against the target's own of its kind
    (``versus``: :func:`counterparts`; what the store loses), the borrowed fine-tune against
    the borrowed baseline."""
    lent = {models[n]["kind"]: n for n in versus}
    return [*versus.items(), (lent["encoder"], lent["baseline"])]


def compare(
    scored: list[Scored], truth: np.ndarray, evaluation: EvaluationParams, seed: int
) -> dict[str, Any]:
    """``scored``: the target's own models first (encoder, baseline, trivial), then the
    borrowed ones. Each model's test metrics with CIs, each borrowed model's ``counterparts``;
    three paired families: :func:`pairs`, ``travels`` (:func:`losses`) and each borrowed model
    against the target's training mean (``vs_trivial``: not better on RMSE, it has failed)."""
    ci = evaluation.ci(seed)
    models = {
        s.name: {
            "origin": s.origin,
            "kind": s.kind,
            "test": evaluate_split(s.estimate, truth, s.classes, ci=ci),
        }
        for s in scored
    }
    runs = {s.name: Runs.single(s.estimate, s.classes) for s in scored}
    trivial = next(s.name for s in scored if s.kind == "trivial")
    design = evaluation.design(seed)

    def family(which: list[tuple[str, str]]) -> list[dict[str, Any]]:
        return compare_models(runs, truth, which, HIGHER_IS_BETTER, evaluation.margins, design)

    versus = counterparts(models, scored[0].origin)
    comparisons = {"borrowed": family(pairs(models, versus))}
    comparisons["travels"] = losses(runs, models, versus, truth, evaluation.margin("rmse"), design)
    comparisons["vs_trivial"] = family([(n, trivial) for n in versus])
    for name, verdict in verdicts(comparisons["vs_trivial"], "rmse").items():
        models[name].update(failure(verdict))
    return {
        "test_rows": len(truth),
        "models": models,
        "counterparts": versus,
        "comparisons": comparisons,
    }


#: The ``travels`` family's metric: a borrowed model's test RMSE minus its counterpart's.
LOSS = "rmse_loss"


def losses(
    runs: dict[str, Runs],
    models: Mapping[str, Mapping[str, Any]],
    versus: dict[str, str],
    truth: np.ndarray,
    margin: float,
    design: Design,
) -> list[dict[str, Any]]:
    """The borrowed encoder's loss (its test RMSE minus the target's own encoder's) minus the
    borrowed baseline's (likewise), paired on the same resampled rows: negative, the encoder
    travels better (``versus``: :func:`counterparts`). Stored as ``encoder - baseline`` on
    metric :data:`LOSS`."""
    kinds = {
        models[lent]["kind"]: Runs(
            runs[lent].estimate, runs[lent].classes, clean=runs[own].estimate
        )
        for lent, own in versus.items()
    }
    pair = [("encoder", "baseline")]
    rows = compare_models(
        kinds, truth, pair, {"rmse_drop": False}, {"rmse_drop": margin}, design, rmse_drop_fn
    )
    return [r | {"metric": LOSS} for r in rows]


def table(payloads: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (pair, model): the target store, the model and where it was trained, its
    test RMSE and QWK with 95% CIs and, for a borrowed model, its RMSE minus that of the
    target's own model of its kind [paired 95% CI] with the verdict."""
    rows = []
    for payload in payloads:
        models, kin = payload["models"], payload["counterparts"]
        versus = {
            c["model"]: c
            for c in payload["comparisons"]["borrowed"]
            if c["metric"] == "rmse" and kin.get(c["model"]) == c["reference"]
        }
        for name, entry in models.items():
            test, own = entry["test"], versus.get(name, {})
            rows.append(
                {
                    "store": payload["target"],
                    "model": name + (" (failed)" if entry.get("failed") else ""),
                    "trained on": entry["origin"],
                    "test RMSE": with_ci(test["rmse"], test.get("rmse_low"), test.get("rmse_high")),
                    "test QWK": with_ci(test["qwk"], test.get("qwk_low"), test.get("qwk_high")),
                    "RMSE vs own": with_ci(
                        own.get("difference"), own.get("low"), own.get("high"), sign=True
                    ),
                    "verdict": own.get("verdict", ""),
                }
            )
    return pd.DataFrame(rows)
