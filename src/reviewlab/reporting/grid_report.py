"""Aggregating the ablation grid: mean +- std over seeds, paired bootstrap differences against
the reference variant, training cost, robustness to noisy text, and the facts its findings state
(phrased at render time by ``templates/ablations.md.j2``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from reviewlab.core.evaluation import HIGHER_IS_BETTER, METRICS
from reviewlab.core.evaluation.compare import Runs, compare_models, rmse_drop_fn
from reviewlab.core.evaluation.inference import Design, projected_mde
from reviewlab.core.formatting import MISSING, with_ci
from reviewlab.core.params import AblationParams, EvaluationParams
from reviewlab.reporting import limitations, prose
from reviewlab.reporting.render import flatten

#: Metrics the report leads with (the rest are in the tables).
HEADLINE = ("rmse", "accuracy")
#: A head predicting one class for at least this share of test rows has collapsed onto it.
COLLAPSED = 0.95
#: The text-blind reference every variant must beat: the training mean (rating), majority class.
TRIVIAL = "training_mean"


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
    mean, sd = grouped.mean(), grouped.std(ddof=1)
    table = mean.map("{:.3f}".format) + sd.map(lambda s: "" if pd.isna(s) else f" ± {s:.3f}")
    table.columns = list(metrics)
    table.insert(0, "seeds", runs.groupby("variant", sort=False)["seed"].nunique())
    return table


def variant_runs(
    predictions: pd.DataFrame, split: str = "test", ids: pd.Index | None = None
) -> tuple[dict[str, Runs], np.ndarray, pd.Index]:
    """Every variant's runs on the rows of ``split`` (``ids``: those rows, in that order), one
    array row per seed, seeds in the same order for every variant; the truth and the row ids."""
    part = predictions[predictions["set"] == split]
    estimate = part.pivot_table(index=["variant", "seed"], columns="review_id", values="prediction")
    classes = part.pivot_table(
        index=["variant", "seed"], columns="review_id", values="predicted_class"
    )
    if estimate.isna().any().any():
        raise ValueError(f"ablation runs did not all predict the same {split} rows")
    ids = estimate.columns if ids is None else ids
    truth = part.drop_duplicates("review_id").set_index("review_id")["label"]
    seeds = {v: tuple(estimate.loc[v].index) for v in estimate.index.get_level_values("variant")}
    if len(set(seeds.values())) > 1:
        raise ValueError(f"ablation variants ran different seeds: {seeds}")
    runs = {
        v: Runs(estimate.loc[v, ids].to_numpy(), classes.loc[v, ids].to_numpy().astype(np.int64))
        for v in seeds
    }
    return runs, truth.loc[ids].to_numpy(np.int64), ids


def _table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Decided comparisons as a frame: ``variant`` (the model compared), ``reference``,
    ``metric``, the numbers, ``verdict``; ``helps`` / ``hurts``: verdict better / worse."""
    table = pd.DataFrame(rows).rename(columns={"model": "variant"})
    table["helps"], table["hurts"] = table["verdict"] == "better", table["verdict"] == "worse"
    return table


def differences(
    predictions: pd.DataFrame,
    pairs: list[tuple[str, str]],
    evaluation: EvaluationParams,
    floor: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Every (variant, reference) pair on every test metric (one Holm family per metric), and
    with ``floor`` every variant against the training mean on RMSE (reference
    :data:`TRIVIAL`): paired on the test rows, seeds as blocks."""
    runs, truth, _ = variant_runs(predictions)
    design = evaluation.design(0)
    table = _table(compare_models(runs, truth, pairs, HIGHER_IS_BETTER, evaluation.margins, design))
    if floor is None:
        return table
    constant = np.full(len(truth), floor["train_mean"])
    runs[TRIVIAL] = Runs.single(constant, np.full(len(truth), floor["majority"]))
    trivial = [(v, TRIVIAL) for v in runs if v != TRIVIAL]
    rows = compare_models(runs, truth, trivial, {"rmse": False}, evaluation.margins, design)
    return pd.concat([table, _table(rows)], ignore_index=True)


def robustness_differences(
    predictions: pd.DataFrame, levels: list[str], reference: str, evaluation: EvaluationParams
) -> pd.DataFrame:
    """Per noise level, each variant's RMSE rise (noisy - clean copies of the same rows) minus
    the reference's, paired and seed-blocked: negative = more robust than the reference."""
    tables = []
    for level in levels:
        noisy, truth, ids = variant_runs(predictions, level)
        clean, _, _ = variant_runs(predictions, "test", ids)
        for name, runs in noisy.items():
            runs.clean = clean[name].estimate
        pairs = [(v, reference) for v in noisy if v != reference]
        rows = compare_models(
            noisy,
            truth,
            pairs,
            {"rmse_drop": False},
            {"rmse_drop": evaluation.margin("rmse")},
            evaluation.design(0),
            rmse_drop_fn,
        )
        tables.append(_table(rows).assign(level=level))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


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


def forest_plot(diffs: pd.DataFrame, reference: str, collapsed=(), metrics=HEADLINE):
    """Difference vs ``reference`` with its 95% CI, per variant and metric. A variant in
    ``collapsed`` (predicts the majority rating almost always) is drawn hollow in orange and
    labelled: a significant accuracy "gain" there is the majority class's, not a finding."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(10, 0.35 * diffs["variant"].nunique() + 1.5))
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
        ax.invert_yaxis()  # top to bottom in the order of :func:`difference_table`
        better = "higher" if HIGHER_IS_BETTER[metric] else "lower"
        ax.set_title(f"{metric}: variant - {reference} ({better} is better)")
    fig.tight_layout()
    return fig


def difference_table(diffs: pd.DataFrame, metrics=HEADLINE) -> pd.DataFrame:
    """Per (variant, reference), in the forest plot's order: each metric's difference
    (variant - reference) with its 95% CI, verdict and minimum detectable effect."""
    rows = diffs[diffs["metric"].isin(metrics)]
    pairs = list(dict.fromkeys(zip(rows["variant"], rows["reference"], strict=True)))
    table = pd.DataFrame(index=pd.MultiIndex.from_tuples(pairs, names=["variant", "reference"]))
    for metric in metrics:
        part = rows[rows["metric"] == metric].set_index(["variant", "reference"])
        cells = part.apply(
            lambda r: with_ci(r["difference"], r["low"], r["high"], sign=True), axis=1
        )
        better = "higher" if HIGHER_IS_BETTER[metric] else "lower"
        table[f"{metric} difference [95% CI] ({better} is better)"] = cells
        table[f"{metric} verdict"] = part["verdict"]
        table[f"{metric} MDE"] = part["mde"]
    return table


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
    """Every table of the ablation report and the two metrics payloads
    (``ablations_summary.json``, ``ablations_runtime.json``)."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    valid: pd.DataFrame | None
    differences: pd.DataFrame
    cost: pd.DataFrame
    robustness: pd.DataFrame
    robust_differences: pd.DataFrame  # RMSE rise under noise, variant - reference, decided
    fit: pd.DataFrame | None  # train / validation / test RMSE, gap, where the loss bottomed
    collapsed: list[str]  # variants predicting the majority rating for >= COLLAPSED of rows
    metrics: dict[str, Any]
    runtime: dict[str, Any]


#: What ablations_summary.json keeps of each comparison.
COMPARISON_KEYS = (
    "difference", "low", "high", "se", "seeds", "per_seed", "p_value", "p_adjusted",
    "different", "margin", "p_equivalence", "mde", "verdict",
)  # fmt: skip


def _entries(table: pd.DataFrame, variant: str, reference: str, key: str = "metric") -> dict:
    if table.empty:
        return {}
    rows = table[(table["variant"] == variant) & (table["reference"] == reference)]
    return {r[key]: {k: r[k] for k in COMPARISON_KEYS} for _, r in rows.iterrows()}


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
    variants = list(dict.fromkeys(runs["variant"]))
    floor = constant_floor(predictions, train_ratings)
    diffs = differences(predictions, comparison_pairs(grid, variants), evaluation, floor)
    robust = robustness(runs, levels, "rmse", reference)
    robust_diffs = robustness_differences(predictions, levels, reference, evaluation)
    shares = majority_shares(predictions, floor["majority"])
    fit = fit_table(runs)
    test = {
        v: {m: round(float(runs.loc[runs["variant"] == v, f"test.{m}"].mean()), 6) for m in METRICS}
        for v in variants
    }
    failed = set(diffs.loc[(diffs["reference"] == TRIVIAL) & ~diffs["helps"], "variant"])
    entries = {
        v: {
            "test": test[v],
            "vs_reference": _entries(diffs, v, reference),
            "vs_training_mean": _entries(diffs, v, TRIVIAL).get("rmse"),
            "failed": v in failed,
            "robustness": _entries(robust_diffs, v, reference, "level"),
            "rmse_drop": {lvl: float(robust.loc[v, f"drop_{lvl}"]) for lvl in levels},
            "majority_share": round(float(shares[v]), 4),
            "collapsed": bool(shares[v] >= COLLAPSED),
            **({} if fit is None else {"fit": {k: float(x) for k, x in fit.loc[v].items()}}),
        }
        for v in variants
    }
    metrics = _summary_json(grid, runs, profile, floor, entries, evaluation)
    return _report(runs, diffs, robust, robust_diffs, fit, metrics, reference)


def _summary_json(grid, runs, profile, floor, entries, evaluation) -> dict[str, Any]:
    machines = sorted(runs["hardware"].dropna().unique()) if "hardware" in runs else []
    test_rows = int(runs["test.n"].iloc[0]) if "test.n" in runs else None
    return {
        "profile": profile,
        "hardware": "; ".join(machines),
        "budget": grid.budget,
        "seeds": sorted(runs["seed"].unique().tolist()),
        "runs": len(runs),
        "test_rows": test_rows,
        "reference": grid.reference,
        "inference": {
            "sign": "variant - reference",
            "level": evaluation.ci_level,
            "power": evaluation.power,
            "correction": evaluation.correction,
            "family": "the grid's comparisons on one metric",
        },
        "constant_floor": floor,
        "variants": entries,
    }


def _report(runs, diffs, robust, robust_diffs, fit, metrics, reference) -> GridReport:
    costs = cost(runs, reference)
    runtime = {
        "grid_seconds": round(float(runs["total_seconds"].sum()), 1),
        "cost_vs_reference": costs["cost_vs_reference"].to_dict(),
        "train_seconds": costs["train_seconds"].to_dict(),
        "peak_rss_gib": float(costs["peak_rss_gib"].max()),
    }
    collapsed = [v for v, e in metrics["variants"].items() if e["collapsed"]]
    return GridReport(
        runs=runs,
        summary=summary(runs),
        valid=summary(runs, "valid") if "valid.rmse" in runs else None,
        differences=diffs,
        cost=costs,
        robustness=robust,
        robust_differences=robust_diffs,
        fit=fit,
        collapsed=collapsed,
        metrics=metrics,
        runtime=runtime,
    )


VERDICTS = ("better", "worse", "equivalent", "inconclusive")


def grid_facts(summary: dict[str, Any]) -> dict[str, Any]:
    """The numbers and verdicts the grid's findings state, from ``ablations_summary.json``."""
    variants, reference = summary["variants"], summary["reference"]
    ref, floor, budget = variants[reference], summary["constant_floor"], summary["budget"]
    stuck = [e["majority_share"] for e in variants.values() if e["collapsed"]]
    fit = ref.get("fit")
    return {
        **{k: summary[k] for k in ("profile", "hardware", "budget", "seeds", "runs", "test_rows")},
        "reference": reference,
        "variant_count": len(variants),
        "max_train_rows": budget.get("max_train_rows"),
        "max_length": budget.get("input", {}).get("max_length"),
        "level": summary["inference"]["level"],
        "power": summary["inference"]["power"],
        "floor": floor,
        "reference_test": ref["test"],
        "floor_gap": abs(floor["rmse"] - ref["test"]["rmse"]),
        "below_floor": floor["rmse"] >= ref["test"]["rmse"],
        "collapsed": [v for v, e in variants.items() if e["collapsed"]],
        "collapsed_min": min(stuck, default=None),
        "collapse_share": COLLAPSED,
        "failed": sorted(v for v, e in variants.items() if e["failed"]),
        "fit": fit,
        "overfits": bool(fit and fit.get("min_before_end", 0) > 0),
        "groups": [g for g in (_group(variants, m) for m in HEADLINE) if g["count"]],
        "verdicts": {
            v: e["vs_reference"]["rmse"] for v, e in variants.items() if e["vs_reference"]
        },
        "robustness": _robust(variants, reference),
        "limits": grid_limits(variants, reference, summary["inference"]["power"]),
    }


def grid_limits(variants: dict[str, Any], reference: str, power: float) -> dict[str, Any]:
    """The grid's Limitations facts: variants still improving, failed, collapsed, and the RMSE
    comparisons with the reference too weak to detect the margin (the budget: the caller's)."""
    rmse = {
        v: e["vs_reference"]["rmse"] for v, e in variants.items() if "rmse" in e["vs_reference"]
    }
    return limitations.limits(
        power,
        unconverged=limitations.unconverged_variants(variants),
        failed=[
            {"model": v, "why": limitations.FAILURES["not_better_than_trivial"]}
            for v, e in variants.items()
            if e["failed"]
        ],
        collapsed=[
            {"model": v, "share": e["majority_share"]}
            for v, e in variants.items()
            if e["collapsed"]
        ],
        low_power=limitations.low_power(
            [{"model": v, "reference": reference, **c} for v, c in rmse.items()]
        ),
    )


def _group(variants: dict[str, Any], metric: str) -> dict[str, Any]:
    """The variants in each verdict against the reference on ``metric``."""
    rows = {
        v: e["vs_reference"][metric] for v, e in variants.items() if metric in e["vs_reference"]
    }
    return {
        "metric": metric,
        "higher_is_better": HIGHER_IS_BETTER[metric],
        "count": len(rows),
        "margin": next(iter(rows.values()))["margin"] if rows else None,
        **{
            verdict: [v for v, c in rows.items() if c["verdict"] == verdict] for verdict in VERDICTS
        },
    }


def _robust(variants: dict[str, Any], reference: str) -> dict[str, Any] | None:
    """Under the strongest (last) noise level: the reference's RMSE rise and each variant's
    rise minus it (by name), or None without noise levels."""
    levels = list(variants[reference]["rmse_drop"])
    rows = {
        v: e["robustness"][levels[-1]]
        for v, e in sorted(variants.items())
        if levels and levels[-1] in e["robustness"]
    }
    if not rows:
        return None
    return {
        "level": levels[-1],
        "rise": variants[reference]["rmse_drop"][levels[-1]],
        "variants": rows,
    }


def grid_lines(summary: dict[str, Any]) -> list[str]:
    """Every finding of the grid, one sentence each (the index page and the README block)."""
    return prose.bullets(prose.macro("ablations", grid_facts(summary), "lines"))


def markdown(summary_json: dict[str, Any], timing: dict[str, Any]) -> str:
    """README block: one row per variant (differences vs the reference, cost, noise) + findings."""
    facts = {**grid_facts(summary_json), "grid_minutes": timing["grid_seconds"] / 60}
    lines = [
        prose.line("ablations", facts, "readme"),
        "",
        "| variant | test RMSE | ΔRMSE [95% CI] | verdict | Δaccuracy [95% CI] | verdict | cost |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, v in summary_json["variants"].items():
        cells = []
        for metric in ("rmse", "accuracy"):
            d = v["vs_reference"].get(metric)
            cells += (
                [MISSING, "reference"]
                if d is None
                else [with_ci(d["difference"], d["low"], d["high"], sign=True), d["verdict"]]
            )
        lines.append(
            f"| {name} | {v['test']['rmse']:.3f} | {' | '.join(cells)} | "
            f"{timing['cost_vs_reference'][name]:.1f}x |"
        )
    lines += ["", *[f"- {line}" for line in grid_lines(summary_json)]]
    return "\n".join(lines) + "\n"


#: Seeds at which :func:`power_table` projects the grid's minimum detectable effects.
PLANNED_SEEDS = (3, 5, 6, 8, 10)


def power_table(summary_json: dict[str, Any], timing: dict[str, Any]) -> str:
    """Docs block ``grid-power``: each variant's test-RMSE MDE against the reference, measured
    at the grid's seeds and projected to :data:`PLANNED_SEEDS` (:func:`projected_mde`: normal
    .. Student's t), and the grid's wall time scaled to each number of seeds."""
    info, seeds = summary_json["inference"], len(summary_json["seeds"])
    design = Design(level=info["level"], power=info["power"])
    lines = [
        f"the test-RMSE difference against {summary_json['reference']} each variant could detect"
        f" ({info['level']:.0%} two-sided test, {info['power']:.0%} power), measured at {seeds}"
        " seeds and projected (normal .. Student's t), with the grid's wall time:",
        "",
        f"| variant | MDE at {seeds} seeds (measured) | "
        + " | ".join(f"{n} seeds" for n in PLANNED_SEEDS)
        + " |",
        "|---" * (2 + len(PLANNED_SEEDS)) + "|",
    ]
    for name, variant in summary_json["variants"].items():
        if d := variant["vs_reference"].get("rmse"):
            spans = [projected_mde(d["se"], seeds, n, design) for n in PLANNED_SEEDS]
            cells = [f"{low:.3f}-{high:.3f}" for low, high in spans]
            lines.append(f"| {name} | {d['mde']:.3f} | " + " | ".join(cells) + " |")
    minutes = timing["grid_seconds"] / 60
    lines.append(
        f"| grid wall time | {minutes:.0f} min | "
        + " | ".join(f"~{minutes * n / seeds:.0f} min" for n in PLANNED_SEEDS)
        + " |"
    )
    return "\n".join(lines) + "\n"


def readme_block(
    grids: dict[str, tuple[dict[str, Any], dict[str, Any]]],
    render: Callable[[dict[str, Any], dict[str, Any]], str] = markdown,
) -> str:
    """A generated block (``ablations``: :func:`markdown`, ``grid-power``: :func:`power_table`)
    of each dataset's (summary, runtime)."""
    return "\n".join(
        f"**{dataset}**: " + render(summary, runtime)
        for dataset, (summary, runtime) in grids.items()
    )


# ---- equal tuning (stage `tuning`) -------------------------------------------------------


def candidate_label(candidate: dict[str, Any]) -> str:
    """A tuning candidate as its settings: ``adversarial.epsilon=0.1, ...`` (method omitted)."""
    flat = flatten(candidate)
    return ", ".join(f"{k}={v}" for k, v in flat.items() if not k.endswith(".method"))


def choice_facts(choices: pd.DataFrame, table: pd.DataFrame) -> list[dict[str, Any]]:
    """Per tuned variant: its choice (``label``), every candidate's mean and sd of validation
    RMSE, and whether ``ablations.variants`` holds the choice (``in_params``) on the budget it
    was tuned on (``stale``: not)."""
    return [
        {
            "variant": row.variant,
            "label": candidate_label(row.candidate),
            "scores": table.loc[table["variant"] == row.variant, ["label", "mean", "sd"]]
            .astype(object)
            .where(lambda f: f.notna(), None)
            .to_dict("records"),
            "stale": bool(row.stale),
            "in_params": bool(row.in_params),
        }
        for row in choices.itertuples(index=False)
    ]


def tuning_choices(choices: pd.DataFrame, table: pd.DataFrame) -> str:
    """:func:`choice_facts` as the page's Markdown bullet list (``templates/tuning.md.j2``)."""
    return prose.macro("tuning", {"tuned": choice_facts(choices, table)}, "choices")


def tuning_limits(table: pd.DataFrame) -> dict[str, Any]:
    """The tuning page's Limitations facts: each chosen candidate (``label``: its settings)
    whose runs were still improving at their last evaluation in some tuning seed."""
    chosen = table[table["chosen"]]
    return limitations.limits(
        None,
        unconverged=[
            {"model": f"{r.variant} ({r.label})", "share": 1 - r.converged / len(r.per_seed)}
            for r in chosen.itertuples(index=False)
            if r.converged < len(r.per_seed)
        ],
    )


def tuning_limitations(table: pd.DataFrame) -> str:
    """:func:`tuning_limits` as the page's Markdown bullet list (``templates/tuning.md.j2``)."""
    return prose.macro("tuning", {"limits": tuning_limits(table)}, "limitations")


def tuning_plot(table: pd.DataFrame):
    """Mean validation RMSE ± one sd per candidate, one panel per variant; choices filled."""
    variants = list(dict.fromkeys(table["variant"]))
    fig, axes = plt.subplots(
        1, len(variants), figsize=(min(2.6 * len(variants) + 1, 10), 3.2), sharey=True
    )
    for ax, variant in zip(np.atleast_1d(axes), variants, strict=True):
        rows = table[table["variant"] == variant].reset_index(drop=True)
        x = np.arange(len(rows))
        ax.errorbar(x, rows["mean"], yerr=rows["sd"].fillna(0), fmt="none", ecolor="grey")
        chosen = rows["chosen"].to_numpy()
        ax.scatter(x[chosen], rows["mean"][chosen], color="tab:blue", zorder=3)
        ax.scatter(x[~chosen], rows["mean"][~chosen], facecolors="white", edgecolors="tab:blue")
        ax.set_xticks(x, rows["label"], rotation=30, ha="right", fontsize=8)
        ax.set_title(variant)
    np.atleast_1d(axes)[0].set_ylabel("validation RMSE (lower is better)")
    fig.tight_layout()
    return fig
