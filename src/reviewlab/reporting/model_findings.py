"""Generated findings of the rating-model reports: baselines, fine-tuning and the ablation grid.

Every sentence is built from the stage's numbers (test metrics with 95% bootstrap CIs); the
conclusions say whether an interval separates two models, never more than the CIs allow.
"""

from __future__ import annotations

from typing import Any

from reviewlab.core.formatting import metric_with_ci
from reviewlab.reporting.analysis import errors_by, length_buckets
from reviewlab.reporting.page import Findings


def _rmse(entry: dict[str, Any]) -> str:
    return metric_with_ci(entry["test"], "rmse")


def _separated(a: dict[str, Any], b: dict[str, Any], metric: str = "rmse") -> bool:
    """Whether the 95% CIs of two models' test ``metric`` do not overlap."""
    a, b = a["test"], b["test"]
    return a[f"{metric}_high"] < b[f"{metric}_low"] or b[f"{metric}_high"] < a[f"{metric}_low"]


def _runner_up(models: dict[str, Any], best: str) -> str:
    others = {m: e for m, e in models.items() if m != best}
    return min(others, key=lambda m: others[m]["valid"]["rmse"])


def baselines(result: Any, dataset: str) -> Findings:
    """``result``: the ``baselines`` stage's :class:`~reviewlab.models.baselines.Scored`."""
    models, best = result.payload["models"], result.best
    second = _runner_up(models, best)
    chosen = models[best]
    lines = [
        f"Selected on validation RMSE ({chosen['valid']['rmse']:.3f}): **{best}**, test RMSE "
        f"{_rmse(chosen)}, accuracy {metric_with_ci(chosen['test'], 'accuracy')}, macro-F1 "
        f"{metric_with_ci(chosen['test'], 'macro_f1')}.",
        f"Runner-up on validation: {second}, test RMSE {_rmse(models[second])}.",
    ]
    if "mean_majority" in models and best != "mean_majority":
        floor = models["mean_majority"]["test"]["rmse"]
        lines.append(
            f"The text-blind training mean scores test RMSE {_rmse(models['mean_majority'])}: "
            f"{best} is {floor - chosen['test']['rmse']:.3f} lower."
        )
    lines.append(
        f"{len(result.search)} validation grid points were searched; the test split was "
        f"scored once per model, after every choice."
    )
    verdict = "do not overlap" if _separated(chosen, models[second]) else "overlap"
    return Findings(
        lines,
        f"On {dataset}, the best non-neural rating model is **{best}** (test RMSE "
        f"{_rmse(chosen)}). Its 95% CI and the runner-up's ({second}) {verdict}"
        + (
            ": the ranking of the two is not settled by this test set."
            if verdict == "overlap"
            else ": the difference is larger than the test set's sampling noise."
        ),
    )


def finetune(result: Any) -> Findings:
    """``result``: the ``finetune`` stage's Result (metrics, runtime, baselines, test rows)."""
    tuned = result.metrics["models"]["finetune"]
    base = result.baselines["models"]
    best = result.baselines["best_on_valid"]
    test = result.test
    by_rating = errors_by(test, test["rating"], "true rating")
    worst = by_rating["rmse"].idxmax()
    by_length = errors_by(test, length_buckets(result.test_words), "words")
    runtime = result.runtime
    step = tuned["selected"].get("best_step")
    lines = [
        f"Fine-tuned encoder: test RMSE {_rmse(tuned)}, accuracy "
        f"{metric_with_ci(tuned['test'], 'accuracy')}, QWK {metric_with_ci(tuned['test'], 'qwk')}.",
        f"Best baseline (selected on validation): {best}, test RMSE {_rmse(base[best])}.",
        f"Largest error on {worst}-star reviews (n = {by_rating.loc[worst, 'n']}): RMSE "
        f"{by_rating.loc[worst, 'rmse']:.3f}, mean signed error "
        f"{by_rating.loc[worst, 'bias']:+.3f}; "
        f"by length, RMSE runs from {by_length['rmse'].iloc[0]:.3f} ({by_length.index[0]}) to "
        f"{by_length['rmse'].iloc[-1]:.3f} ({by_length.index[-1]}).",
        f"Training: {runtime['train_rows']:,} rows, {runtime['train_seconds'] / 60:.1f} min at "
        f"{runtime['train_samples_per_second']:.1f} samples/s"
        + (f"; checkpoint selected on validation at step {step}." if step else "."),
    ]
    gain = base[best]["test"]["rmse"] - tuned["test"]["rmse"]
    separated = _separated(tuned, base[best])
    conclusion = (
        f"Does fine-tuning beat the baselines? On these test rows the fine-tuned encoder's RMSE "
        f"is {abs(gain):.3f} {'lower' if gain > 0 else 'higher'} than {best}'s, and the two 95% "
        + (
            "CIs do not overlap: the difference exceeds the test set's sampling noise."
            if separated
            else "CIs overlap: this test set cannot separate them."
        )
    )
    return Findings(lines, conclusion)


def ablations(result: Any) -> Findings:
    """``result``: the ``ablations`` stage's Result; its findings are already generated from
    the grid's numbers: the first ones summarise, the rest conclude."""
    lines = list(result.findings)
    summary, rest = lines[:4], lines[4:]
    runs = result.runs
    summary.append(
        f"{len(runs)} runs: {runs['variant'].nunique()} variants x {runs['seed'].nunique()} seeds, "
        f"{int(runs['train_rows'].iloc[0]):,} training rows per run."
    )
    return Findings(summary, " ".join(rest) or "See the differences below.")


def budget_line(result: Any) -> str:
    """The ablation budget in one sentence (plain ints, no numpy reprs)."""
    runs = result.runs
    seeds = ", ".join(str(int(s)) for s in sorted(runs["seed"].unique()))
    return (
        f"Profile {result.profile} on {result.hardware or 'unrecorded hardware'}: "
        f"{len(runs)} runs, seeds {seeds}, {int(runs['train_rows'].iloc[0]):,} training rows "
        f"per run (augmentation adds copies), {result.test_rows or 'all'} test rows scored per "
        f"run; grid time inside the runs: {result.grid_seconds / 60:.1f} min."
    )
