"""Generated findings of the rating-model reports: baselines, fine-tuning, the stacked ensemble
and the ablation grid.

Each report's facts (test metrics with 95% bootstrap CIs, the paired verdicts of
core/evaluation/inference.py) are computed here; ``templates/<report>.md.j2`` phrases them.
"""

from __future__ import annotations

from typing import Any

from reviewlab.reporting import grid_report, limitations, prose
from reviewlab.reporting.analysis import errors_by, length_buckets
from reviewlab.reporting.page import Findings
from reviewlab.reporting.results import rmse_comparisons

#: What a finding keeps of a paired comparison.
COMPARISON = ("difference", "low", "high", "verdict", "margin", "mde")


def comparison(payload: dict[str, Any], model: str, reference: str, power: float) -> dict[str, Any]:
    """``model - reference`` in test RMSE (paired CI, verdict, margin, the effect detectable
    with ``power``: params ``evaluation.power``); the names alone where it was not compared."""
    c = rmse_comparisons(payload, model).get(reference, {})
    kept = {k: c[k] for k in COMPARISON if k in c}
    return {"model": model, "reference": reference, "power": power, **kept}


def _runner_up(models: dict[str, Any], best: str) -> str:
    others = {m: e for m, e in models.items() if m != best}
    return min(others, key=lambda m: others[m]["valid"]["rmse"])


def baselines_facts(
    payload: dict[str, Any], grid_points: int, dataset: str, power: float
) -> dict[str, Any]:
    """The numbers of the ``baselines`` report, from ``baselines.json``."""
    models, best = payload["models"], payload["best_on_valid"]
    second = _runner_up(models, best)
    chosen = models[best]["test"]
    floor = models["mean_majority"]["test"] if "mean_majority" in models else None
    floor = None if best == "mean_majority" else floor
    return {
        "dataset": dataset,
        "best": best,
        "valid_rmse": models[best]["valid"]["rmse"],
        "test": chosen,
        "second": second,
        "second_test": models[second]["test"],
        "floor_test": floor,
        "gain": floor["rmse"] - chosen["rmse"] if floor else None,
        "grid_points": grid_points,
        "failed": [name for name, entry in models.items() if entry.get("failed")],
        "comparison": comparison(payload, best, second, power),
        "limits": limitations.limits(
            power,
            failed=limitations.failed(models),
            low_power=limitations.low_power(list(rmse_comparisons(payload, best).values())),
        ),
    }


def baselines(result: Any, dataset: str, power: float) -> Findings:
    """``result``: the ``baselines`` stage's :class:`~reviewlab.models.classical.BaselineRun`;
    ``power``: the design's (params ``evaluation.power``)."""
    facts = baselines_facts(result.payload, len(result.search), dataset, power)
    return prose.findings("baselines", facts)


def finetune_facts(result: Any, power: float) -> dict[str, Any]:
    """The numbers of the ``finetune`` report: the Result's metrics, runtime, baselines and test
    predictions (errors by true rating and by length quartile)."""
    tuned = result.metrics["models"]["finetune"]
    best = result.baselines["best_on_valid"]
    test, runtime, seeds = result.test, result.runtime, tuned.get("seeds", [])
    by_rating = errors_by(test, test["rating"], "true rating")
    worst = by_rating["rmse"].idxmax()
    buckets = length_buckets(result.test_words)  # shortest first (not sorted as text)
    by_length = errors_by(test, buckets, "words").reindex(buckets.cat.categories)
    runs = runtime.get("seeds", 1)
    versus = comparison(result.metrics, "finetune", best, power)
    chosen = selection(tuned["selected"], len(seeds))
    return {
        "seeds": seeds,
        "test": tuned["test"],
        "best": best,
        "best_test": result.baselines["models"][best]["test"],
        "worst": {
            "rating": int(worst),
            "n": int(by_rating.loc[worst, "n"]),
            "rmse": float(by_rating.loc[worst, "rmse"]),
            "bias": float(by_rating.loc[worst, "bias"]),
        },
        "shortest": {"words": str(by_length.index[0]), "rmse": float(by_length["rmse"].iloc[0])},
        "longest": {"words": str(by_length.index[-1]), "rmse": float(by_length["rmse"].iloc[-1])},
        "train_rows": runtime["train_rows"],
        "train_minutes": runtime["train_seconds"] / 60,
        "samples_per_second": runtime["train_samples_per_second"],
        "runtime_seeds": runs,
        "minutes_per_seed": runtime["train_seconds"] / 60 / runs if runs > 1 else None,
        "selection": chosen,
        "failed": bool(tuned.get("failed")),
        "comparison": versus,
        "limits": limitations.limits(
            power,
            unconverged=limitations.unconverged_run("finetune", tuned["selected"], len(seeds)),
            failed=limitations.failed({"finetune": tuned}),
            low_power=limitations.low_power([versus]),
        ),
    }


def selection(selected: dict[str, Any], seeds: int = 1) -> dict[str, Any]:
    """Checkpoint selection: the best and last evaluated steps, whether validation stopped
    improving before training ended (in how many of ``seeds`` runs), the seed saved."""
    return {
        "step": selected.get("best_step"),
        "last": selected.get("last_eval_step"),
        "converged": selected.get("converged"),
        "seeds": seeds,
        "several": seeds > 1,
        "converged_seeds": selected.get("converged_seeds"),
        "saved_seed": selected.get("saved_seed"),
    }


def finetune(result: Any, power: float) -> Findings:
    """``result``: the ``finetune`` stage's Result (metrics, runtime, baselines, test rows);
    ``power``: the design's (params ``evaluation.power``)."""
    return prose.findings("finetune", finetune_facts(result, power))


def ensemble_facts(result: Any, power: float) -> dict[str, Any]:
    """The numbers of the ``ensemble`` report: the stack (``ensemble`` stage Result), its
    members' metrics and its paired verdicts against each."""
    stacked, members = result.metrics["models"]["stacked"], result.members
    best = min(members, key=lambda m: members[m]["valid"]["rmse"])
    versus = rmse_comparisons(result.metrics, "stacked")
    tuned = members.get("finetune")
    unconverged = (
        limitations.unconverged_run("finetune", tuned["selected"], len(tuned.get("seeds", [1])))
        if tuned
        else []
    )
    return {
        "members": list(members),
        "selected": stacked["selected"],
        "valid_rmse": stacked["valid"]["rmse"],
        "test": stacked["test"],
        "best": best,
        "best_test": members[best]["test"],
        "comparison": comparison(result.metrics, "stacked", best, power),
        "verdicts": {ref: c["verdict"] for ref, c in versus.items()},
        "heaviest": result.weights.abs().idxmax(),
        "saved_seed": tuned["selected"].get("saved_seed") if tuned else None,
        "failed": bool(stacked.get("failed")),
        "limits": limitations.limits(
            power,
            unconverged=unconverged,
            failed=limitations.failed({"stacked": stacked}),
            low_power=limitations.low_power(list(versus.values())),
        ),
    }


def ensemble(result: Any, power: float) -> Findings:
    """``result``: the ``ensemble`` stage's Result; ``power``: params ``evaluation.power``."""
    return prose.findings("ensemble", ensemble_facts(result, power))


def ablations_facts(result: Any) -> dict[str, Any]:
    """The grid's facts (:func:`~reviewlab.reporting.grid_report.grid_facts` of its summary
    JSON) and the run-level numbers only the ``ablations`` Result holds."""
    facts = grid_report.grid_facts(result.metrics)
    train_rows = int(result.runs["train_rows"].iloc[0])
    facts["limits"]["budgets"] = limitations.budget(
        f"{facts['reference']} in this grid",
        facts["reference_test"]["rmse"],
        "the headline fine-tune (finetune report)",
        None,
        training_rows=(train_rows, result.split_rows["train"]),
        test_rows=(facts["test_rows"] or result.split_rows["test"], result.split_rows["test"]),
    )
    return {**facts, "train_rows": train_rows, "grid_minutes": result.grid_seconds / 60}


def ablations(result: Any) -> Findings:
    """``result``: the ``ablations`` stage's Result; the verdicts per variant conclude."""
    return prose.findings("ablations", ablations_facts(result))


def budget_line(result: Any) -> str:
    """The ablation budget in one sentence."""
    return prose.line("ablations", ablations_facts(result), "budget_line")


def transfer_facts(payloads: list[dict[str, Any]], power: float) -> dict[str, Any]:
    """The numbers of the ``transfers`` report: per pair (``metrics/transfer/<pair>.json``),
    each borrowed model against the target's own of its kind (the payload's ``counterparts``),
    the borrowed encoder against the borrowed baseline (paired test RMSE) and the encoder's
    loss against the baseline's (``travels``)."""
    pairs, low = [], []
    for payload in payloads:
        models = payload["models"]
        kinds = {
            models[lent]["kind"]: {
                "own": own,
                "lent": lent,
                "own_test": models[own]["test"],
                "lent_test": models[lent]["test"],
                "versus": comparison(payload, lent, own, power),
            }
            for lent, own in payload["counterparts"].items()
        }
        head = comparison(payload, kinds["encoder"]["lent"], kinds["baseline"]["lent"], power)
        (travels,) = payload["comparisons"]["travels"]
        rmse = [c for c in payload["comparisons"]["borrowed"] if c["metric"] == "rmse"]
        named = {"model": "the encoder's loss", "reference": "the baseline's loss"}
        low += limitations.low_power([*rmse, travels | named])
        pairs.append(
            {
                **{k: payload[k] for k in ("source", "target", "test_rows")},
                **kinds,
                "head_to_head": head,
                "travels": travels | {"power": power},
                "failed": limitations.failed(models),
            }
        )
    failed = [f for p in pairs for f in p["failed"]]
    return {"pairs": pairs, "limits": limitations.limits(power, failed=failed, low_power=low)}


def transfer(payloads: list[dict[str, Any]], power: float) -> Findings:
    """``payloads``: every pair's ``metrics/transfer/<pair>.json``; ``power``: the design's."""
    return prose.findings("transfer", transfer_facts(payloads, power))
