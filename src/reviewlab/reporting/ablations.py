"""Aggregating the ablation grid: mean +- std over seeds, paired bootstrap differences against
the reference variant, training cost, robustness to noisy text, and generated findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import norm

from reviewlab.core.evaluation import HIGHER_IS_BETTER, METRICS, load_metric
from reviewlab.core.formatting import with_ci
from reviewlab.core.params import AblationParams, EvaluationParams
from reviewlab.reporting.render import flatten

#: Metrics the report leads with (the rest are in the tables).
HEADLINE = ("rmse", "accuracy")
#: A head predicting one class for at least this share of test rows has collapsed onto it.
COLLAPSED = 0.95
#: The power at which minimum detectable effects are stated.
POWER = 0.8


def run_row(
    variant: str, seed: int, result: dict[str, Any], runtime: dict[str, Any]
) -> dict[str, Any]:
    """One run of the grid as a flat row: variant, seed, its runtime and ``<set>.<metric>``
    for every metric set of its metrics JSON (``test``, ``valid``, noise levels)."""
    row = {"variant": variant, "seed": seed, **runtime}
    for key, value in result.items():
        if isinstance(value, dict):
            row.update({f"{key}.{m}": v for m, v in value.items()})
    return row


def summary(runs: pd.DataFrame, split: str = "test", metrics=METRICS) -> pd.DataFrame:
    """Mean and std over seeds of each metric of ``split``, one row per variant."""
    columns = [f"{split}.{m}" for m in metrics]
    grouped = runs.groupby("variant", sort=False)[columns]
    table = grouped.mean().round(4).astype(str) + " ± " + grouped.std(ddof=1).round(4).astype(str)
    table.columns = list(metrics)
    table.insert(0, "seeds", runs.groupby("variant", sort=False)["seed"].nunique())
    return table


def _matrix(predictions: pd.DataFrame, split: str):
    """Predictions of every run on the same rows: (runs index, rows, estimate, class, truth)."""
    part = predictions[predictions["set"] == split]
    estimate = part.pivot_table(index=["variant", "seed"], columns="review_id", values="prediction")
    classes = part.pivot_table(
        index=["variant", "seed"], columns="review_id", values="predicted_class"
    )
    truth = part.drop_duplicates("review_id").set_index("review_id")["label"]
    if estimate.isna().any().any():
        raise ValueError(f"ablation runs did not all predict the same {split} rows")
    return (
        estimate.index,
        estimate.to_numpy(),
        classes.to_numpy().astype(np.int64),
        truth.loc[estimate.columns].to_numpy(np.int64),
    )


def bootstrap_metrics(
    predictions: pd.DataFrame, n_resamples: int, seed: int, split: str = "test"
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Each run's metrics on the full rows and on ``n_resamples`` shared row resamples.

    Returns (point estimates per run, ``{metric: array[resample, run]}``). Every run is scored
    on the same resampled rows, so differences between runs are paired.
    """
    compute = load_metric()._compute
    runs, estimate, classes, truth = _matrix(predictions, split)
    point = pd.DataFrame(
        [compute(estimate[r], truth, classes[r]) for r in range(len(runs))], index=runs
    )[list(METRICS)]
    rng = np.random.default_rng(seed)
    draws = {m: np.empty((n_resamples, len(runs))) for m in METRICS}
    for b in range(n_resamples):
        idx = rng.integers(0, len(truth), len(truth))
        for r in range(len(runs)):
            result = compute(estimate[r, idx], truth[idx], classes[r, idx])
            for m in METRICS:
                draws[m][b, r] = result[m]
    return point, draws


def minimum_detectable(spread: float, level: float = 0.95, power: float = 0.8) -> float:
    """The smallest true difference a two-sided test at ``level`` detects with ``power``,
    given the bootstrap standard error ``spread`` of the difference: (z_(1-a/2) + z_power) x
    SE (2.80 x SE at 95% / 80%)."""
    return float((norm.ppf(1 - (1 - level) / 2) + norm.ppf(power)) * spread)


def paired_differences(
    point: pd.DataFrame,
    draws: dict[str, np.ndarray],
    pairs: list[tuple[str, str]],
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Seed-averaged metric difference (variant - reference) with a two-level bootstrap CI.

    Each bootstrap draw uses the shared resample of test rows (paired: every run is scored on
    the same rows) and, within each variant, a resample of its seeds with replacement, so the
    CI carries both row and seed variance (with 3 seeds the seed level is coarse; a row-only CI
    would call seed luck significant). ``significant``: the CI excludes 0; ``helps``:
    significant and in the good direction; ``mde``: the minimum detectable effect of the
    design (:func:`minimum_detectable`, from the spread of the same draws).
    """
    variants = point.index.get_level_values("variant")
    alpha = (1 - level) / 2
    rng = np.random.default_rng(seed)
    n_draws = next(iter(draws.values())).shape[0]
    rows = []
    for variant, reference in pairs:
        picks = [
            rng.choice(np.flatnonzero(variants == name), size=(n_draws, (variants == name).sum()))
            for name in (variant, reference)
        ]
        for metric in METRICS:
            diff = point.loc[variants == variant, metric].mean() - (
                point.loc[variants == reference, metric].mean()
            )
            a, b = (np.take_along_axis(draws[metric], pick, axis=1).mean(1) for pick in picks)
            low, high = np.nanquantile(a - b, alpha), np.nanquantile(a - b, 1 - alpha)
            spread = float(np.nanstd(a - b, ddof=1))
            significant = bool(low > 0 or high < 0)
            better = diff > 0 if HIGHER_IS_BETTER[metric] else diff < 0
            rows.append(
                {
                    "variant": variant,
                    "reference": reference,
                    "metric": metric,
                    "difference": float(diff),
                    "low": float(low),
                    "high": float(high),
                    "mde": minimum_detectable(spread, level, POWER),
                    "significant": significant,
                    "helps": significant and bool(better),
                    "hurts": significant and not better,
                }
            )
    return pd.DataFrame(rows)


def comparison_pairs(grid: AblationParams, variants: list[str]) -> list[tuple[str, str]]:
    """Every variant against the reference, then the extra ``compare`` pairs."""
    reference = grid.reference
    pairs = [(v, reference) for v in variants if v != reference]
    pairs += [(v, r) for v, r in (grid.compare or {}).items() if r != reference]
    return [(v, r) for v, r in pairs if v in variants and r in variants]


def cost(runs: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Mean training seconds per variant and the ratio to the reference variant."""
    seconds = runs.groupby("variant", sort=False)[["train_seconds", "total_seconds"]].mean()
    seconds["cost_vs_reference"] = (
        seconds["train_seconds"] / seconds.loc[reference, "train_seconds"]
    )
    seconds["peak_rss_gib"] = runs.groupby("variant", sort=False)["peak_rss_gib"].max()
    return seconds.round(2)


def robustness(runs: pd.DataFrame, levels: list[str], metric: str, reference: str) -> pd.DataFrame:
    """Per variant: ``metric`` on the clean noise rows and on each noise level, the drop
    (noisy - clean, mean +- std over seeds), and the drop relative to the reference's drop."""
    table = pd.DataFrame(index=runs["variant"].unique())
    table["clean"] = runs.groupby("variant")[f"test_noise_rows.{metric}"].mean()
    for level in levels:
        drop = runs[f"{level}.{metric}"] - runs[f"test_noise_rows.{metric}"]
        by_variant = drop.groupby(runs["variant"])
        table[level] = runs.groupby("variant")[f"{level}.{metric}"].mean()
        table[f"drop_{level}"] = by_variant.mean()
        table[f"drop_{level}_std"] = by_variant.std(ddof=1)
        table[f"gap_{level}_vs_{reference}"] = (
            table[f"drop_{level}"] - table.loc[reference, f"drop_{level}"]
        )
    return table.round(4)


def findings(
    diffs: pd.DataFrame,
    robust: pd.DataFrame,
    reference: str,
    level_name: str,
    metric: str = "rmse",
) -> list[str]:
    """Plain-language statements generated from the tables (nothing typed by hand)."""
    main = diffs[diffs["reference"] == reference]
    lines = []
    for headline in HEADLINE:
        rows = main[main["metric"] == headline]
        helps = rows[rows["helps"]]["variant"].tolist()
        hurts = rows[rows["hurts"]]["variant"].tolist()
        neutral = rows[~rows["significant"]]["variant"].tolist()
        lines.append(
            f"On test {headline}, {_names(helps) or 'no variant'} "
            f"{'improves' if len(helps) <= 1 else 'improve'} significantly over {reference}; "
            f"{_names(hurts) or 'none'} {'are' if len(hurts) != 1 else 'is'} significantly "
            f"worse; {len(neutral)} of {len(rows)} differences have a 95% CI that includes 0."
        )
    best = main[main["metric"] == metric].sort_values(
        "difference", ascending=not HIGHER_IS_BETTER[metric]
    )
    if len(best):
        top = best.iloc[0]
        lines.append(
            f"Best {metric} difference: {top['variant']} ({top['difference']:+.4f}, 95% CI "
            f"[{top['low']:+.4f}, {top['high']:+.4f}])."
        )
    for _, row in diffs[diffs["reference"] != reference].iterrows():
        if row["metric"] == metric:
            verdict = "significant" if row["significant"] else "not significant"
            difference = with_ci(row["difference"], row["low"], row["high"], 4, sign=True)
            lines.append(
                f"{row['variant']} vs {row['reference']}: {metric} {difference}, {verdict}."
            )
    drops = robust[f"drop_{level_name}"]
    # a model that ignores the text is trivially robust: rank only variants that are not
    # significantly worse than the reference on the clean test rows
    worse = set(main[(main["metric"] == metric) & main["hurts"]]["variant"])
    eligible = drops[[v for v in drops.index if v not in worse]]
    worse_is_up = not HIGHER_IS_BETTER[metric]
    most = eligible.idxmin() if worse_is_up else eligible.idxmax()
    least = eligible.idxmax() if worse_is_up else eligible.idxmin()
    lines.append(
        f"Under {level_name} noise, {metric} changes by {drops[reference]:+.4f} for {reference}. "
        f"Among variants not significantly worse than {reference} on clean {metric}, the most "
        f"robust is {most} ({drops[most]:+.4f}) and the least robust {least} "
        f"({drops[least]:+.4f})."
    )
    if worse:
        lines.append(
            f"Not ranked for robustness (significantly worse on clean {metric}, so a small drop "
            f"under noise says little): {_names(sorted(worse))}."
        )
    return lines


def fit_table(runs: pd.DataFrame) -> pd.DataFrame | None:
    """Per variant (means over seeds): RMSE on the scored training rows, on validation and on
    test, the train-validation gap, the steps trained, the step of the lowest validation loss
    and the share of seeds whose validation loss passed its minimum before training ended."""
    if "train.rmse" not in runs or "valid.rmse" not in runs:
        return None
    grouped = runs.groupby("variant", sort=False)
    table = pd.DataFrame(
        {
            "train_rmse": grouped["train.rmse"].mean(),
            "valid_rmse": grouped["valid.rmse"].mean(),
            "test_rmse": grouped["test.rmse"].mean(),
        }
    )
    table["gap"] = table["valid_rmse"] - table["train_rmse"]
    if "training.eval_loss_min_step" in runs:
        table["steps"] = grouped["training.steps"].mean()
        table["best_step"] = grouped["training.eval_loss_min_step"].mean()
        table["min_before_end"] = grouped["training.min_before_end"].mean()
    return table.round(4)


def fit_findings(fit: pd.DataFrame | None, reference: str) -> list[str]:
    """Whether the reference trains to convergence and overfits within the budget."""
    if fit is None or reference not in fit.index:
        return []
    row = fit.loc[reference]
    line = (
        f"{reference} fits its training rows to RMSE {row['train_rmse']:.3f} against "
        f"{row['valid_rmse']:.3f} on validation (train-validation gap {row['gap']:+.3f})"
    )
    if "min_before_end" in fit:
        line += (
            f"; its validation loss passed its minimum before training ended in "
            f"{row['min_before_end']:.0%} of seeds (lowest at step {row['best_step']:.0f} of "
            f"{row['steps']:.0f} on average)"
            + (
                ": it overfits within the budget, and the checkpoint kept is the best on validation"
                if row["min_before_end"] > 0
                else ": it was still improving when training ended (no overfitting to remedy)"
            )
        )
    return [line + "."]


def mde_findings(diffs: pd.DataFrame, reference: str, metric: str = "rmse") -> list[str]:
    """For each variant against the reference: significant, or smaller than the design's
    minimum detectable effect (80% power), if there at all."""
    rows = diffs[(diffs["reference"] == reference) & (diffs["metric"] == metric)]
    lines = []
    for _, row in rows.iterrows():
        difference = with_ci(row["difference"], row["low"], row["high"], 3, sign=True)
        verdict = (
            "significant"
            if row["significant"]
            else "not significant: a true effect, if there at all, is likely smaller than that"
        )
        lines.append(
            f"{row['variant']} vs {reference}: {metric} {difference}; this design (its seeds "
            f"and test rows) detects a difference of {row['mde']:.3f} with {POWER:.0%} power; "
            f"{verdict}."
        )
    return lines


def constant_floor(predictions: pd.DataFrame, train_ratings: pd.Series) -> dict[str, float]:
    """Scores of text-blind constants on the test rows: the training mean and majority rating."""
    truth = predictions[predictions["set"] == "test"].drop_duplicates("review_id")["label"]
    mean, majority = float(train_ratings.mean()), int(train_ratings.mode().min())
    return {
        "train_mean": round(mean, 4),
        "rmse": round(float(np.sqrt(np.mean((truth - mean) ** 2))), 4),
        "majority": majority,
        "accuracy": round(float(np.mean(truth == majority)), 4),
    }


def majority_shares(predictions: pd.DataFrame, majority: int) -> pd.Series:
    """Per variant, the share of clean test predictions that are the majority rating."""
    test = predictions[predictions["set"] == "test"]
    return (test["predicted_class"] == majority).groupby(test["variant"], sort=False).mean()


def floor_findings(
    floor: dict[str, float],
    reference_test: dict[str, float],
    reference: str,
    shares: pd.Series,
    collapsed: float = COLLAPSED,
) -> list[str]:
    """How far the reference is from a constant, and which variants collapsed onto one."""
    gain = floor["rmse"] - reference_test["rmse"]
    lines = [
        f"For scale: predicting the training mean ({floor['train_mean']:.2f}) on the same test "
        f"rows gives rmse {floor['rmse']:.4f} and the majority rating ({floor['majority']}) "
        f"accuracy {floor['accuracy']:.4f}; {reference} reaches rmse "
        f"{reference_test['rmse']:.4f} ({abs(gain):.4f} {'below' if gain >= 0 else 'above'} "
        f"the mean's) and accuracy {reference_test['accuracy']:.4f}."
    ]
    stuck = shares[shares >= collapsed]
    if len(stuck):
        lines.append(
            f"{_names(stuck.index.tolist())} {'predicts' if len(stuck) == 1 else 'predict'} the "
            f"majority rating for at least "
            f"{collapsed:.0%} of test rows (min {stuck.min():.0%}): their accuracy is the "
            "majority class's, not evidence that they read the text."
        )
    return lines


def _names(items: list[str]) -> str:
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


def forest_plot(diffs: pd.DataFrame, reference: str, collapsed=(), metrics=HEADLINE):
    """Difference vs ``reference`` with its 95% CI, per variant and metric. A variant in
    ``collapsed`` (predicts the majority rating almost always) is drawn hollow in orange and
    labelled: a significant accuracy "gain" there is the majority class's, not a finding."""
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(5.5 * len(metrics), 0.35 * diffs["variant"].nunique() + 1.5)
    )
    for ax, metric in zip(np.atleast_1d(axes), metrics, strict=True):
        rows = diffs[(diffs["metric"] == metric) & (diffs["reference"] == reference)]
        y = np.arange(len(rows))
        stuck = rows["variant"].isin(list(collapsed)).to_numpy()
        colours = np.where(rows["helps"], "tab:green", np.where(rows["hurts"], "tab:red", "grey"))
        colours = np.where(stuck, "tab:orange", colours)
        ax.errorbar(
            rows["difference"],
            y,
            xerr=[rows["difference"] - rows["low"], rows["high"] - rows["difference"]],
            fmt="none",
            ecolor=colours,
        )
        ax.scatter(rows["difference"][~stuck], y[~stuck], c=colours[~stuck], zorder=3)
        ax.scatter(
            rows["difference"][stuck],
            y[stuck],
            facecolors="white",
            edgecolors="tab:orange",
            zorder=3,
        )
        ax.axvline(0, color="black", lw=0.8)
        labels = [
            f"{v} (collapsed)" if s else v for v, s in zip(rows["variant"], stuck, strict=True)
        ]
        ax.set_yticks(y, labels)
        better = "higher" if HIGHER_IS_BETTER[metric] else "lower"
        ax.set_title(f"{metric}: variant - {reference} ({better} is better)")
    fig.tight_layout()
    return fig


def cost_gain_plot(diffs: pd.DataFrame, costs: pd.DataFrame, reference: str, metric: str = "rmse"):
    """Training-time ratio vs the difference in ``metric`` (variant - reference, with its 95%
    CI: the same sign as the forest plot), labels staggered so that they do not overlap."""
    rows = diffs[(diffs["metric"] == metric) & (diffs["reference"] == reference)].set_index(
        "variant"
    )
    ratio = costs.loc[rows.index, "cost_vs_reference"]
    fig, ax = plt.subplots(figsize=(8, 4.8))
    ax.errorbar(
        ratio,
        rows["difference"],
        yerr=[rows["difference"] - rows["low"], rows["high"] - rows["difference"]],
        fmt="o",
        capsize=3,
        color="tab:blue",
        ecolor="lightsteelblue",
    )
    for rank, name in enumerate(ratio.sort_values().index):
        ax.annotate(
            name,
            (ratio[name], rows.loc[name, "difference"]),
            fontsize=8,
            xytext=(5, 10 if rank % 2 else -14),
            textcoords="offset points",
        )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xscale("log")
    ticks = [
        t for t in (0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8) if ratio.min() / 1.2 <= t <= ratio.max() * 1.2
    ]
    ax.set_xticks(ticks, [f"{t:g}x" for t in ticks])
    ax.minorticks_off()
    better = "higher" if HIGHER_IS_BETTER[metric] else "lower"
    ax.set_xlabel(f"training time relative to {reference} (log scale)")
    ax.set_ylabel(f"{metric}: variant - {reference} ({better} is better)")
    fig.tight_layout()
    return fig


def definitions(variants: dict[str, dict[str, Any] | None]) -> pd.DataFrame:
    """Each variant's overrides as ``key = value`` lines, never truncated."""
    rows = {
        name: "; ".join(f"{k} = {v}" for k, v in flatten(spec or {}).items()) or "(none)"
        for name, spec in variants.items()
    }
    return pd.DataFrame({"overrides of the budgeted finetune params": rows}).rename_axis("variant")


@dataclass
class GridReport:
    """Every table of the ablation report, the findings, and the two metrics payloads
    (``ablations_summary.json``, ``ablations_runtime.json``)."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    valid: pd.DataFrame | None
    differences: pd.DataFrame
    cost: pd.DataFrame
    robustness: pd.DataFrame
    fit: pd.DataFrame | None  # train / validation / test RMSE, gap, where the loss bottomed
    findings: list[str]
    collapsed: list[str]  # variants predicting the majority rating for >= COLLAPSED of rows
    metrics: dict[str, Any]
    runtime: dict[str, Any]


def summarise(
    grid: AblationParams,
    evaluation: EvaluationParams,
    runs: pd.DataFrame,
    predictions: pd.DataFrame,
    train_ratings: pd.Series,
    profile: str = "",
) -> GridReport:
    """The report of the grid from its ``runs`` (:func:`run_row` rows), their ``predictions``
    (with ``variant`` and ``seed`` columns) and the training split's ratings."""
    reference, levels = grid.reference, list(grid.robustness.levels)
    ci = evaluation.ci(seed=0)  # the same resampled test rows for every run
    point, draws = bootstrap_metrics(predictions, ci["n_resamples"], seed=ci["seed"])
    variants = list(dict.fromkeys(runs["variant"]))
    diffs = paired_differences(point, draws, comparison_pairs(grid, variants), ci["level"])
    costs = cost(runs, reference)
    robust = robustness(runs, levels, "rmse", reference)
    test_means = {
        v: {m: round(float(runs.loc[runs["variant"] == v, f"test.{m}"].mean()), 6) for m in METRICS}
        for v in variants
    }
    floor = constant_floor(predictions, train_ratings)
    shares = majority_shares(predictions, floor["majority"])
    collapsed = shares[shares >= COLLAPSED].index.tolist()
    fit = fit_table(runs)
    lines = [
        *floor_findings(floor, test_means[reference], reference, shares),
        *fit_findings(fit, reference),
        *mde_findings(diffs, reference),
        *findings(diffs, robust, reference, levels[-1]),
    ]
    machines = sorted(runs["hardware"].dropna().unique()) if "hardware" in runs else []
    metrics = {
        "profile": profile,
        "hardware": "; ".join(machines),
        "budget": grid.budget,
        "seeds": sorted(runs["seed"].unique().tolist()),
        "runs": len(runs),
        "constant_floor": floor,
        "findings": lines,
        "variants": {
            v: {
                "test": test_means[v],
                "vs_reference": {
                    r["metric"]: {
                        k: r[k] for k in ("difference", "low", "high", "mde", "significant")
                    }
                    for _, r in diffs[
                        (diffs["variant"] == v) & (diffs["reference"] == reference)
                    ].iterrows()
                },
                "rmse_drop": {lvl: float(robust.loc[v, f"drop_{lvl}"]) for lvl in levels},
                "majority_share": round(float(shares[v]), 4),
                "collapsed": v in collapsed,
                **({} if fit is None else {"fit": {k: float(x) for k, x in fit.loc[v].items()}}),
            }
            for v in variants
        },
    }
    runtime = {
        "grid_seconds": round(float(runs["total_seconds"].sum()), 1),
        "cost_vs_reference": costs["cost_vs_reference"].to_dict(),
        "train_seconds": costs["train_seconds"].to_dict(),
        "peak_rss_gib": float(costs["peak_rss_gib"].max()),
    }
    return GridReport(
        runs=runs,
        summary=summary(runs),
        valid=summary(runs, "valid") if "valid.rmse" in runs else None,
        differences=diffs,
        cost=costs,
        robustness=robust,
        fit=fit,
        findings=lines,
        collapsed=collapsed,
        metrics=metrics,
        runtime=runtime,
    )


def markdown(summary_json: dict[str, Any], timing: dict[str, Any]) -> str:
    """README block: one row per variant (differences vs the reference, cost, noise) + findings."""
    levels = list(next(iter(summary_json["variants"].values()))["rmse_drop"])
    where = (
        f"Profile `{summary_json['profile']}` on {summary_json['hardware']}: "
        if summary_json.get("profile")
        else ""
    )
    lines = [
        f"{where}{summary_json['runs']} runs (seeds {summary_json['seeds']}), budget "
        f"`{summary_json['budget']}`; grid time inside the runs "
        f"{timing['grid_seconds'] / 60:.0f} min (wall time with process start-ups: see Timings). "
        "Differences: seed-averaged variant minus reference on the same test rows; 95% CI "
        "from a two-level bootstrap (test rows, paired; seeds within each variant); "
        "* = CI excludes 0.",
        "",
        "| variant | test RMSE | ΔRMSE [95% CI] | Δaccuracy [95% CI] | cost | RMSE drop "
        + " / ".join(levels)
        + " |",
        "|---|---|---|---|---|---|",
    ]
    for name, v in summary_json["variants"].items():
        cells = []
        for metric in ("rmse", "accuracy"):
            d = v["vs_reference"].get(metric)
            cell = "—" if d is None else with_ci(d["difference"], d["low"], d["high"], sign=True)
            cells.append(cell.replace(" [", "* [", 1) if d and d["significant"] else cell)
        drops = " / ".join(f"{v['rmse_drop'][lvl]:+.3f}" for lvl in levels)
        lines.append(
            f"| {name} | {v['test']['rmse']:.3f} | {cells[0]} | {cells[1]} | "
            f"{timing['cost_vs_reference'][name]:.1f}x | {drops} |"
        )
    lines += ["", *[f"- {line}" for line in summary_json["findings"]]]
    return "\n".join(lines) + "\n"


def readme_block(grids: dict[str, tuple[dict[str, Any], dict[str, Any]]]) -> str:
    """README block ``ablations``: :func:`markdown` of each dataset's (summary, runtime)."""
    return "\n".join(
        f"**{dataset}**: " + markdown(summary, runtime)
        for dataset, (summary, runtime) in grids.items()
    )
