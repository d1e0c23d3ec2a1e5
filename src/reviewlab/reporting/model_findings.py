"""Generated findings of the rating-model reports: baselines, fine-tuning and the ablation grid.

Every sentence is built from the stage's numbers (test metrics with 95% bootstrap CIs); the
conclusions state the paired verdict of core/evaluation/inference.py, never more.
"""

from __future__ import annotations

from typing import Any

from reviewlab.core.formatting import metric_with_ci, with_ci
from reviewlab.reporting.analysis import errors_by, length_buckets
from reviewlab.reporting.page import Findings
from reviewlab.reporting.results import rmse_comparisons


def _rmse(entry: dict[str, Any]) -> str:
    return metric_with_ci(entry["test"], "rmse")


def _versus(payload: dict[str, Any], model: str, reference: str) -> str:
    """``model - reference`` in test RMSE with its paired 95% CI and verdict, as a phrase."""
    c = rmse_comparisons(payload, model).get(reference)
    if c is None:
        return f"{model} and {reference} were not compared"
    difference = with_ci(c["difference"], c["low"], c["high"], sign=True)
    return (
        f"test RMSE {model} - {reference} (lower is better) {difference}, paired on the same "
        f"test rows: **{c['verdict']}** (equivalence margin ±{c['margin']:g}; this test set "
        f"detects {c['mde']:.3f} with 80% power)"
    )


def _failed(models: dict[str, Any]) -> list[str]:
    failed = [name for name, entry in models.items() if entry.get("failed")]
    if not failed:
        return []
    return [f"Failed (not better than the training mean on test RMSE): {', '.join(failed)}."]


def _runner_up(models: dict[str, Any], best: str) -> str:
    others = {m: e for m, e in models.items() if m != best}
    return min(others, key=lambda m: others[m]["valid"]["rmse"])


def baselines(result: Any, dataset: str) -> Findings:
    """``result``: the ``baselines`` stage's :class:`~reviewlab.models.classical.BaselineRun`."""
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
    lines += _failed(models)
    return Findings(
        lines,
        f"On {dataset}, the non-neural rating model selected on validation is **{best}** "
        f"(test RMSE {_rmse(chosen)}); against the runner-up: "
        f"{_versus(result.payload, best, second)}.",
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
    lines = [
        f"Fine-tuned encoder{_seeds(tuned)}: test RMSE {_rmse(tuned)}, accuracy "
        f"{metric_with_ci(tuned['test'], 'accuracy')}, QWK {metric_with_ci(tuned['test'], 'qwk')}"
        f"{_spread(tuned['test'])}.",
        f"Best baseline (selected on validation): {best}, test RMSE {_rmse(base[best])}.",
        f"Largest error on {worst}-star reviews (n = {by_rating.loc[worst, 'n']}): RMSE "
        f"{by_rating.loc[worst, 'rmse']:.3f}, mean signed error "
        f"{by_rating.loc[worst, 'bias']:+.3f}; "
        f"by length, RMSE runs from {by_length['rmse'].iloc[0]:.3f} ({by_length.index[0]}) to "
        f"{by_length['rmse'].iloc[-1]:.3f} ({by_length.index[-1]}).",
        f"Training: {runtime['train_rows']:,} rows, {runtime['train_seconds'] / 60:.1f} min at "
        f"{runtime['train_samples_per_second']:.1f} samples/s{_per_seed(runtime)}; "
        f"{_converged(tuned['selected'], len(tuned.get('seeds', [])))}",
    ]
    versus = _versus(result.metrics, "finetune", best)
    if tuned.get("failed"):
        lines.append("The fine-tune failed: it is not better than the training mean on RMSE.")
    conclusion = (
        f"Does fine-tuning beat the best baseline ({best})? {versus[0].upper()}{versus[1:]}."
    )
    return Findings(lines, conclusion)


def _seeds(entry: dict[str, Any]) -> str:
    """`` (mean of 3 seeds: 1, 2, 3)`` for a fine-tune trained with several seeds."""
    seeds = entry.get("seeds", [])
    return f" (mean of {len(seeds)} seeds: {', '.join(map(str, seeds))})" if seeds else ""


def _per_seed(runtime: dict[str, Any]) -> str:
    """`` (3 seeds, 12.3 min each)`` where the runtime sums several seeds."""
    seeds = runtime.get("seeds", 1)
    return (
        f" ({seeds} seeds, {runtime['train_seconds'] / 60 / seeds:.1f} min each)"
        if seeds > 1
        else ""
    )


def _spread(test: dict[str, Any]) -> str:
    """``; across seeds RMSE varies by sd 0.004, QWK by 0.006`` where there are seeds."""
    if "rmse_sd" not in test:
        return ""
    return (
        f"; across seeds the RMSE varies by sd {test['rmse_sd']:.3f}, QWK by {test['qwk_sd']:.3f}"
    )


def _converged(selected: dict[str, Any], seeds: int = 1) -> str:
    """Whether validation stopped improving before training ended (in each of ``seeds``
    runs), in words."""
    step, last = selected.get("best_step"), selected.get("last_eval_step")
    if step is None or last is None:
        return "no checkpoint selection (trained for its whole budget)."
    if seeds > 1:
        state = "converged" if selected["converged"] else "**unconverged**"
        return (
            f"{state} in {selected['converged_seeds']} of {seeds} seeds (a seed converged when "
            "its validation best came before its last evaluation); the saved model is seed "
            f"{selected['saved_seed']}, the best on validation."
        )
    if selected["converged"]:
        return (
            f"converged: validation was best at step {step}, before the last evaluation ({last})."
        )
    return (
        f"**unconverged**: validation was still improving at the last evaluation (step {last}), "
        "so a longer budget may do better."
    )


def ablations(result: Any) -> Findings:
    """``result``: the ``ablations`` stage's Result; its findings are already generated from
    the grid's numbers: the verdicts per variant conclude, the others summarise."""
    summary = [line for line in result.findings if line not in result.conclusion]
    rest = result.conclusion
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
