"""The learning curve: the reference and the candidate variants at several training sizes
(stage ``learn``), the candidate chosen on validation, and its paired comparison with the
reference at each size (one Holm family per metric across the sizes), each run also against
the training mean; the facts its report states (``templates/learning_curve.md.j2``)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from reviewlab.core.params import EvaluationParams, LearningCurveParams
from reviewlab.reporting import grid_report, limitations, prose
from reviewlab.reporting.prose import Findings

#: What chooses the candidate, on validation: the mean over sizes and seeds (lower is better).
METRIC = "rmse"


def label(variant: str, size: int) -> str:
    """One variant at one size as a model name of the comparisons: ``fgm@500``."""
    return f"{variant}@{size}"


def run_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run (the grid's run rows, :func:`grid_report.run_row`, with their ``size``):
    size, variant, seed, the validation and test RMSE, whether its validation loss passed a
    minimum (``converged``) and its training seconds."""
    passed = runs.get("training.min_before_end", pd.Series(False, index=runs.index))
    return pd.DataFrame(
        {
            "size": runs["size"],
            "variant": runs["variant"],
            "seed": runs["seed"],
            "valid_rmse": runs[f"valid.{METRIC}"],
            "test_rmse": runs[f"test.{METRIC}"],
            "converged": passed.fillna(False).astype(bool),
            "train_seconds": runs["train_seconds"],
        }
    )


def choose(table: pd.DataFrame, candidates: list[str]) -> tuple[str, dict[str, float]]:
    """The candidate with the lowest mean validation RMSE over every size and seed, and each
    candidate's mean (test rows play no part)."""
    means = table[table["variant"].isin(candidates)].groupby("variant")["valid_rmse"].mean()
    means = {c: round(float(means[c]), 6) for c in candidates}
    return min(means, key=means.__getitem__), means


def summarise(
    curve: LearningCurveParams,
    evaluation: EvaluationParams,
    runs: pd.DataFrame,
    predictions: pd.DataFrame,
    train_ratings: pd.Series,
) -> dict[str, Any]:
    """The ``learning_curve.json`` payload of one dataset from its runs (:func:`run_table`'s
    input) and their predictions (``size``, ``variant``, ``seed``, ``set``, ...)."""
    table = run_table(runs)
    chosen, valid = choose(table, curve.candidates)
    named = predictions.assign(
        variant=[
            label(v, s) for v, s in zip(predictions["variant"], predictions["size"], strict=True)
        ]
    )
    floor = grid_report.constant_floor(named, train_ratings)
    pairs = [(label(chosen, s), label(curve.reference, s)) for s in curve.sizes]
    diffs = grid_report.differences(named, pairs, evaluation, floor)
    trivial = diffs[(diffs["reference"] == grid_report.TRIVIAL)].set_index("variant")["verdict"]
    points = {
        str(size): {
            variant: _point(table, size, variant, trivial[label(variant, size)])
            for variant in curve.variants
        }
        for size in curve.sizes
    }
    versus = diffs[diffs["reference"] != grid_report.TRIVIAL]
    return {
        "reference": curve.reference,
        "chosen": chosen,
        "choice": {"metric": METRIC, "split": "valid", "means": valid},
        "sizes": list(curve.sizes),
        "seeds": list(curve.seeds),
        "test_rows": int(named.loc[named["set"] == "test", "review_id"].nunique()),
        "train_mean_rmse": floor["rmse"],
        "power": evaluation.power,
        "points": points,
        "comparisons": [_comparison(row) for row in versus.to_dict("records")],
    }


def _point(table: pd.DataFrame, size: int, variant: str, vs_trivial: str) -> dict[str, Any]:
    rows = table[(table["size"] == size) & (table["variant"] == variant)]
    sd = rows["test_rmse"].std(ddof=1)
    return {
        "test_rmse": round(float(rows["test_rmse"].mean()), 6),
        "test_rmse_sd": None if pd.isna(sd) else round(float(sd), 6),
        "valid_rmse": round(float(rows["valid_rmse"].mean()), 6),
        "converged_seeds": int(rows["converged"].sum()),
        "train_seconds": round(float(rows["train_seconds"].mean()), 1),
        "vs_trivial": vs_trivial,
        "failed": vs_trivial != "better",
    }


def _comparison(row: dict[str, Any]) -> dict[str, Any]:
    """A comparison row as stored: ``size`` split out of the ``variant@size`` names."""
    model, size = row["variant"].split("@")
    keep = ("metric", "difference", "low", "high", "p_adjusted", "mde", "margin", "verdict")
    return {
        "size": int(size),
        "model": model,
        "reference": row["reference"].split("@")[0],
        **{k: row[k] for k in keep},
    }


def rmse_table(payload: dict[str, Any]) -> pd.DataFrame:
    """Per size: each variant's mean test RMSE (± sd over seeds) and the chosen candidate's
    paired difference from the reference with its CI and verdict."""
    rows = []
    for size in payload["sizes"]:
        points = payload["points"][str(size)]
        row: dict[str, Any] = {"training rows": size}
        for variant, p in points.items():
            sd = "" if p["test_rmse_sd"] is None else f" ± {p['test_rmse_sd']:.3f}"
            row[variant] = f"{p['test_rmse']:.3f}{sd}"
        c = _rmse(payload, size)
        row["difference [95% CI]"] = f"{c['difference']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}]"
        row["verdict"] = c["verdict"]
        rows.append(row)
    return pd.DataFrame(rows)


def _rmse(payload: dict[str, Any], size: int) -> dict[str, Any]:
    return next(c for c in payload["comparisons"] if c["size"] == size and c["metric"] == METRIC)


def curve_plot(payload: dict[str, Any]):
    """Test RMSE against training rows (log scale), one line per variant (mean, ± sd over
    seeds), the training mean as the floor every model must beat."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    sizes = payload["sizes"]
    for variant in payload["points"][str(sizes[0])]:
        points = [payload["points"][str(s)][variant] for s in sizes]
        mean = np.array([p["test_rmse"] for p in points])
        sd = np.array([p["test_rmse_sd"] or 0.0 for p in points])
        width = 2.4 if variant in (payload["chosen"], payload["reference"]) else 1.0
        ax.errorbar(sizes, mean, yerr=sd, marker="o", capsize=3, lw=width, label=variant)
    ax.axhline(payload["train_mean_rmse"], color="grey", ls="--", lw=1, label="training mean")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    ax.set_xlabel("training rows")
    ax.set_ylabel("test RMSE (lower is better)")
    ax.set_title(
        f"Learning curve: {payload['chosen']} (chosen on validation) vs {payload['reference']}"
    )
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def findings(payload: dict[str, Any]) -> Findings:
    """The report's summary, conclusion and limitations (``learning_curve.md.j2``)."""
    return prose.findings("learning_curve", facts(payload))


def facts(payload: dict[str, Any]) -> dict[str, Any]:
    """What the learning-curve template phrases."""
    rmse = [
        _rmse(payload, size)
        | {"failed": [v for v, p in payload["points"][str(size)].items() if p["failed"]]}
        for size in payload["sizes"]
    ]
    seeds = len(payload["seeds"])
    unconverged, failed = [], []
    for size in payload["sizes"]:
        for variant, p in payload["points"][str(size)].items():
            if p["converged_seeds"] < seeds:
                share = 1 - p["converged_seeds"] / seeds
                unconverged.append({"model": label(variant, size), "share": share})
            if p["failed"]:
                failed.append(
                    {"model": label(variant, size), "why": "not better than the training mean"}
                )
    low = [
        c | {"model": label(c["model"], c["size"]), "reference": label(c["reference"], c["size"])}
        for c in rmse
    ]
    chosen = payload["chosen"]
    pays = [c["size"] for c in rmse if c["verdict"] == "better" and chosen not in c["failed"]]
    return {
        **{k: payload[k] for k in ("reference", "chosen", "choice", "sizes", "test_rows", "power")},
        "seeds": seeds,
        "rmse": rmse,
        "pays_from": pays[0] if pays else None,
        "limits": limitations.limits(
            payload["power"],
            unconverged=unconverged,
            failed=failed,
            low_power=limitations.low_power(low),
        ),
    }
